import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network,
  Rng,
  Scheduler,
  ipFromString as ip,
  natPresets,
  type NetworkOpts,
  type SimHost,
  type UdpSocket,
} from '../../host-sim/net/index.js';

interface Rx {
  t: number;
  src: string;
  data: number[];
}

function world(seed = 1, opts?: NetworkOpts) {
  const sched = new Scheduler();
  const net = new Network(sched, new Rng(seed), opts);
  return { sched, net };
}

/** Binds a UDP port and records what arrives. */
function listen(h: SimHost, port: number, sched: Scheduler): { sock: UdpSocket; rx: Rx[] } {
  const rx: Rx[] = [];
  const sock = h.udpBind(port, (srcIp, srcPort, data) => {
    rx.push({ t: sched.nowUs, src: `${srcIp >>> 24}.${(srcIp >>> 16) & 255}.${(srcIp >>> 8) & 255}.${srcIp & 255}:${srcPort}`, data: [...data] });
  });
  return { sock, rx };
}

const b = (...xs: number[]) => new Uint8Array(xs);

test('UDP public ↔ public: delay = both access links + core delay, payload copied', () => {
  const { sched, net } = world(1, { coreDelayUs: 15_000 });
  const a = net.addHost('a', '1.0.0.1', { link: { delayUs: 2_000 } });
  const c = net.addHost('c', '2.0.0.2', { link: { delayUs: 30_000 } });
  const sa = listen(a, 1000, sched);
  const sc = listen(c, 2000, sched);
  const buf = b(1, 2, 3);
  sched.at(1_000, () => {
    assert.equal(sa.sock.send(ip('2.0.0.2'), 2000, buf), true);
    buf[0] = 99; // the network copied the payload
  });
  sched.runUntil(1_000_000);
  assert.deepEqual(sc.rx, [{ t: 1_000 + 2_000 + 15_000 + 30_000, src: '1.0.0.1:1000', data: [1, 2, 3] }]);
  sc.sock.send(ip('1.0.0.1'), 1000, b(4));
  sched.runUntil(2_000_000);
  assert.deepEqual(sa.rx, [{ t: 1_000_000 + 47_000, src: '2.0.0.2:2000', data: [4] }]);
  // defaults: 5 ms access links, 10 ms core → 20 ms
  const w = world();
  const x = w.net.addHost('x', '3.0.0.1');
  const y = w.net.addHost('y', '3.0.0.2');
  const ry = listen(y, 9, w.sched);
  x.udpBind(0, () => {}).send(ip('3.0.0.2'), 9, b(0));
  w.sched.runUntil(100_000);
  assert.equal(ry.rx[0].t, 20_000);
});

test('UDP: jitter stays within bounds and reorders datagrams', () => {
  const { sched, net } = world(3);
  const a = net.addHost('a', '1.0.0.1', { link: { delayUs: 1_000, jitterUs: 4_000 } });
  const c = net.addHost('c', '2.0.0.2', { link: { delayUs: 1_000, jitterUs: 4_000 } });
  const s = a.udpBind(1, () => {});
  const rc = listen(c, 2, sched);
  for (let i = 0; i < 200; i++) sched.at(i * 1_000, () => s.send(ip('2.0.0.2'), 2, b(i)));
  sched.runUntil(1_000_000);
  assert.equal(rc.rx.length, 200);
  const order = rc.rx.map((r) => r.data[0]);
  assert.notDeepEqual(order, [...order].sort((p, q) => p - q), 'expected some reordering');
  for (const r of rc.rx) {
    const sentAt = r.data[0] * 1_000;
    const d = r.t - sentAt;
    assert.ok(d >= 12_000 && d <= 20_000, `delay ${d}`);
  }
});

test('UDP: loss, unknown destination and unbound port are counted as drops', () => {
  const { sched, net } = world(4);
  const a = net.addHost('a', '1.0.0.1', { link: { loss: 0.3 } });
  const c = net.addHost('c', '2.0.0.2');
  const s = a.udpBind(1, () => {});
  const rc = listen(c, 2, sched);
  for (let i = 0; i < 1000; i++) s.send(ip('2.0.0.2'), 2, b(1));
  s.send(ip('9.9.9.9'), 2, b(1)); // nobody there
  s.send(ip('2.0.0.2'), 3, b(1)); // nobody bound (may itself be lost)
  sched.runUntil(1_000_000);
  assert.ok(rc.rx.length > 620 && rc.rx.length < 780, `${rc.rx.length}`);
  assert.equal(net.stats.noRoute, 1);
  assert.equal(net.stats.loss + rc.rx.length + net.stats.noListener + net.stats.noRoute, 1002);
  assert.ok(!s.send(ip('2.0.0.2'), 2, new Uint8Array(65508)), 'oversize datagram refused');
  s.close();
  assert.ok(!s.send(ip('2.0.0.2'), 2, b(1)), 'closed socket refuses');
  assert.throws(() => c.udpBind(2, () => {}), /EADDRINUSE/);
});

test('port-restricted cone NAT: EIM mapping, APD filtering, port preservation', () => {
  const { sched, net } = world(5);
  const nat = net.addNat('nat', '5.5.5.5', {}); // default preset: port-restricted cone
  const inside = net.addHost('in', '192.168.1.10', { behind: nat });
  const A = net.addHost('A', '8.0.0.1');
  const B = net.addHost('B', '8.0.0.2');
  const si = listen(inside, 5000, sched);
  const sA = listen(A, 1000, sched);
  const sA2 = listen(A, 1001, sched);
  const sB = listen(B, 2000, sched);

  // unsolicited inbound before any outbound: no mapping
  sA.sock.send(ip('5.5.5.5'), 5000, b(0));
  sched.runUntil(100_000);
  assert.equal(si.rx.length, 0);
  assert.equal(net.stats.natNoMapping, 1);

  si.sock.send(ip('8.0.0.1'), 1000, b(1));
  si.sock.send(ip('8.0.0.2'), 2000, b(2));
  sched.runUntil(200_000);
  // outbound created a mapping; same external port toward both destinations (EIM), preserved
  assert.equal(sA.rx[0].src, '5.5.5.5:5000');
  assert.equal(sB.rx[0].src, '5.5.5.5:5000');
  const maps = nat.mappings();
  assert.equal(maps.length, 1);
  assert.deepEqual(
    { proto: maps[0].proto, internalIp: maps[0].internalIp, internalPort: maps[0].internalPort, externalPort: maps[0].externalPort },
    { proto: 'udp', internalIp: ip('192.168.1.10'), internalPort: 5000, externalPort: 5000 },
  );

  // reply from the contacted address+port passes; another port of the same host is filtered
  sA.sock.send(ip('5.5.5.5'), 5000, b(10));
  sA2.sock.send(ip('5.5.5.5'), 5000, b(11));
  // a third party that was never contacted is filtered
  const C = net.addHost('C', '8.0.0.3');
  C.udpBind(3000, () => {}).send(ip('5.5.5.5'), 5000, b(12));
  // traffic to an unmapped external port: no mapping
  sA.sock.send(ip('5.5.5.5'), 5001, b(13));
  sched.runUntil(300_000);
  assert.deepEqual(si.rx.map((r) => [r.src, r.data[0]]), [['8.0.0.1:1000', 10]]);
  assert.equal(net.stats.natFiltered, 2);
  assert.equal(net.stats.natNoMapping, 2);
});

test('NAT mapping expires after 120 s idle; only outbound traffic refreshes it', () => {
  const { sched, net } = world(6);
  const nat = net.addNat('nat', '5.5.5.5', natPresets['port-restricted-cone']);
  const inside = net.addHost('in', '10.0.0.2', { behind: nat });
  const A = net.addHost('A', '8.0.0.1');
  const si = listen(inside, 4000, sched);
  const sA = listen(A, 1000, sched);
  // outbound at t=0 reaches the NAT at 5 ms; A's packets reach the NAT 15 ms after sending
  si.sock.send(ip('8.0.0.1'), 1000, b(0));
  sched.at(60_000_000, () => sA.sock.send(ip('5.5.5.5'), 4000, b(1))); // inbound does not refresh
  sched.at(119_000_000, () => sA.sock.send(ip('5.5.5.5'), 4000, b(2))); // idle 119.01 s: alive
  sched.at(121_000_000, () => sA.sock.send(ip('5.5.5.5'), 4000, b(3))); // idle 121.01 s: expired
  sched.runUntil(122_000_000);
  assert.deepEqual(si.rx.map((r) => r.data[0]), [1, 2]);
  assert.equal(net.stats.natNoMapping, 1);
  assert.equal(nat.mappings().length, 0);

  // keep-alives from inside every 100 s keep the mapping (and its port) alive
  const { sched: s2, net: n2 } = world(6);
  const nat2 = n2.addNat('nat', '5.5.5.5', {});
  const in2 = n2.addHost('in', '10.0.0.2', { behind: nat2 });
  const A2 = n2.addHost('A', '8.0.0.1');
  const si2 = listen(in2, 4000, s2);
  const sA2 = listen(A2, 1000, s2);
  for (let t = 0; t <= 300_000_000; t += 100_000_000) s2.at(t, () => si2.sock.send(ip('8.0.0.1'), 1000, b(0)));
  s2.at(390_000_000, () => sA2.sock.send(ip('5.5.5.5'), 4000, b(7))); // 90 s after the last refresh
  s2.runUntil(400_000_000);
  assert.deepEqual(si2.rx.map((r) => r.data[0]), [7]);
  assert.equal(new Set(sA2.rx.map((r) => r.src)).size, 1);
});

test('symmetric NAT uses a different external port per destination and filters by endpoint', () => {
  const { sched, net } = world(7);
  const nat = net.addNat('sym', '6.6.6.6', natPresets.symmetric);
  const inside = net.addHost('in', '192.168.0.5', { behind: nat });
  const A = net.addHost('A', '8.0.0.1');
  const B = net.addHost('B', '8.0.0.2');
  const si = listen(inside, 5000, sched);
  const sA = listen(A, 1000, sched);
  const sA2 = listen(A, 1001, sched);
  const sB = listen(B, 2000, sched);
  si.sock.send(ip('8.0.0.1'), 1000, b(1));
  si.sock.send(ip('8.0.0.1'), 1001, b(2));
  si.sock.send(ip('8.0.0.2'), 2000, b(3));
  si.sock.send(ip('8.0.0.1'), 1000, b(4)); // reuses the first mapping
  sched.runUntil(100_000);
  const pA = sA.rx.map((r) => r.src);
  assert.equal(pA.length, 2);
  assert.equal(pA[0], pA[1]);
  const ports = new Set([sA.rx[0].src, sA2.rx[0].src, sB.rx[0].src]);
  assert.equal(ports.size, 3, `expected 3 distinct mappings, got ${[...ports]}`);
  assert.equal(nat.mappings().length, 3);
  // B knows the port A saw (e.g. learned from a STUN server at A), but that mapping is bound to A
  const portSeenByA = Number(sA.rx[0].src.split(':')[1]);
  sB.sock.send(ip('6.6.6.6'), portSeenByA, b(9));
  // replies on the right mapping pass
  sA.sock.send(ip('6.6.6.6'), portSeenByA, b(10));
  sB.sock.send(ip('6.6.6.6'), Number(sB.rx[0].src.split(':')[1]), b(11));
  sched.runUntil(200_000);
  assert.deepEqual(si.rx.map((r) => r.data[0]).sort(), [10, 11]);
  assert.equal(net.stats.natFiltered, 1);
});

test('full-cone and restricted-cone filtering', () => {
  const { sched, net } = world(8);
  const full = net.addNat('full', '5.0.0.1', natPresets['full-cone']);
  const restr = net.addNat('restr', '5.0.0.2', natPresets['restricted-cone']);
  const hf = net.addHost('hf', '192.168.1.2', { behind: full });
  const hr = net.addHost('hr', '192.168.1.2', { behind: restr }); // same private address, other realm
  const A = net.addHost('A', '8.0.0.1');
  const C = net.addHost('C', '8.0.0.3');
  const sf = listen(hf, 7000, sched);
  const sr = listen(hr, 7000, sched);
  const sA1 = listen(A, 1000, sched);
  const sA2 = listen(A, 1001, sched);
  const sC = listen(C, 3000, sched);
  sf.sock.send(ip('8.0.0.1'), 1000, b(0));
  sr.sock.send(ip('8.0.0.1'), 1000, b(0));
  sched.runUntil(100_000);
  // full cone (EIF): anyone may send to the mapping
  sA2.sock.send(ip('5.0.0.1'), 7000, b(1));
  sC.sock.send(ip('5.0.0.1'), 7000, b(2));
  // restricted cone (ADF): any port of a contacted address, but not other addresses
  sA2.sock.send(ip('5.0.0.2'), 7000, b(3));
  sC.sock.send(ip('5.0.0.2'), 7000, b(4));
  sched.runUntil(200_000);
  assert.deepEqual(sf.rx.map((r) => r.data[0]), [1, 2]);
  assert.deepEqual(sr.rx.map((r) => [r.src, r.data[0]]), [['8.0.0.1:1001', 3]]);
  assert.equal(net.stats.natFiltered, 1);
  assert.equal(sA1.rx.length, 2);
});

test('hole punching: port-restricted cone host ↔ public host works once both send', () => {
  const { sched, net } = world(9);
  const nat = net.addNat('nat', '5.5.5.5', {});
  const c = net.addHost('c', '192.168.1.7', { behind: nat });
  const P = net.addHost('P', '7.7.7.7');
  const sc = listen(c, 5000, sched);
  const sp = listen(P, 4000, sched);
  // P only: never gets through
  for (let i = 0; i < 5; i++) sched.at(i * 20_000, () => sp.sock.send(ip('5.5.5.5'), 5000, b(i)));
  sched.runUntil(200_000);
  assert.equal(sc.rx.length, 0);
  // c punches (both now send); P's next packets pass
  sched.at(200_000, () => sc.sock.send(ip('7.7.7.7'), 4000, b(100)));
  for (let i = 0; i < 5; i++) sched.at(200_000 + i * 20_000, () => sp.sock.send(ip('5.5.5.5'), 5000, b(10 + i)));
  sched.runUntil(400_000);
  // P's packet sent at 200 ms reaches the NAT at 215 ms, after c's punch created the mapping at 205 ms
  assert.deepEqual(sc.rx.map((r) => r.data[0]), [10, 11, 12, 13, 14]);
  assert.deepEqual(sp.rx.map((r) => [r.src, r.data[0]]), [['5.5.5.5:5000', 100]]);
});

test('hole punching between two port-restricted cone NATs (first packet lost, then both ways)', () => {
  const { sched, net } = world(10);
  const n1 = net.addNat('n1', '5.0.0.1', {});
  const n2 = net.addNat('n2', '5.0.0.2', {});
  const c1 = net.addHost('c1', '10.0.0.1', { behind: n1 });
  const c2 = net.addHost('c2', '10.0.0.1', { behind: n2 });
  const s1 = listen(c1, 6000, sched);
  const s2 = listen(c2, 6001, sched);
  // both learned each other's public endpoint via a rendezvous server (ports are preserved)
  for (let i = 0; i < 4; i++) {
    sched.at(i * 50_000, () => s1.sock.send(ip('5.0.0.2'), 6001, b(i)));
    sched.at(30_000 + i * 50_000, () => s2.sock.send(ip('5.0.0.1'), 6000, b(i)));
  }
  sched.runUntil(1_000_000);
  assert.deepEqual(s2.rx.map((r) => r.data[0]), [1, 2, 3]); // c1's first packet hit n2 before c2 punched
  assert.deepEqual(s1.rx.map((r) => r.data[0]), [0, 1, 2, 3]);
  assert.equal(net.stats.natFiltered + net.stats.natNoMapping, 1);
});

test('hosts behind the same NAT talk on private addresses without core delay or translation', () => {
  const { sched, net } = world(11);
  const nat = net.addNat('nat', '5.5.5.5', {});
  const h1 = net.addHost('h1', '192.168.1.2', { behind: nat, link: { delayUs: 1_000 } });
  const h2 = net.addHost('h2', '192.168.1.3', { behind: nat, link: { delayUs: 2_000 } });
  const s1 = listen(h1, 100, sched);
  const s2 = listen(h2, 200, sched);
  s1.sock.send(ip('192.168.1.3'), 200, b(1));
  sched.runUntil(100_000);
  assert.deepEqual(s2.rx, [{ t: 3_000, src: '192.168.1.2:100', data: [1] }]);
  assert.equal(nat.mappings().length, 0);
  // a private address that is not in this realm is not reachable
  s1.sock.send(ip('192.168.1.99'), 200, b(2));
  sched.runUntil(200_000);
  assert.equal(net.stats.noRoute, 1);
});

test('hairpinning: looped back with translated source when enabled, dropped when disabled', () => {
  for (const hairpinning of [true, false]) {
    const { sched, net } = world(12);
    const nat = net.addNat('nat', '5.5.5.5', { ...natPresets['full-cone'], hairpinning });
    const h1 = net.addHost('h1', '192.168.1.2', { behind: nat });
    const h2 = net.addHost('h2', '192.168.1.3', { behind: nat });
    const S = net.addHost('S', '8.0.0.1');
    listen(S, 3478, sched);
    const s1 = listen(h1, 5001, sched);
    const s2 = listen(h2, 5002, sched);
    s1.sock.send(ip('8.0.0.1'), 3478, b(0));
    s2.sock.send(ip('8.0.0.1'), 3478, b(0)); // h2's public endpoint is 5.5.5.5:5002
    sched.runUntil(100_000);
    sched.at(100_000, () => s1.sock.send(ip('5.5.5.5'), 5002, b(42)));
    sched.runUntil(200_000);
    if (hairpinning) {
      assert.deepEqual(s2.rx, [{ t: 110_000, src: '5.5.5.5:5001', data: [42] }]);
    } else {
      assert.equal(s2.rx.length, 0);
      assert.equal(net.stats.hairpin, 1);
    }
  }
});

test('nested NAT (home NAT behind carrier-grade NAT)', () => {
  const { sched, net } = world(13);
  const cgn = net.addNat('cgn', '203.0.113.1', { ...natPresets['port-restricted-cone'], portAssignment: 'sequential' });
  const home1 = net.addNat('home1', '100.64.0.2', { behind: cgn });
  const home2 = net.addNat('home2', '100.64.0.3', { behind: cgn });
  const a = net.addHost('a', '192.168.1.2', { behind: home1 });
  const c = net.addHost('c', '192.168.1.2', { behind: home2 });
  const S = net.addHost('S', '8.0.0.1');
  const sa = listen(a, 5000, sched);
  const sc = listen(c, 5000, sched);
  const ss = listen(S, 3478, sched);
  sa.sock.send(ip('8.0.0.1'), 3478, b(1));
  sched.runUntil(100_000);
  assert.equal(ss.rx[0].src, '203.0.113.1:1024');
  assert.equal(ss.rx[0].t, 20_000);
  ss.sock.send(ip('203.0.113.1'), 1024, b(2));
  // inside the CGN realm, home2 reaches home1's (CGN-side) address without core delay
  sc.sock.send(ip('100.64.0.2'), 5000, b(3)); // filtered by home1: a never contacted c
  sched.runUntil(200_000);
  assert.deepEqual(sa.rx.map((r) => [r.src, r.data[0]]), [['8.0.0.1:3478', 2]]);
  assert.equal(net.stats.natFiltered, 1);
  assert.equal(home1.mappings()[0].externalPort, 5000);
  assert.equal(cgn.mappings()[0].internalIp, ip('100.64.0.2'));
});

test('port forward (static mapping) accepts unsolicited traffic', () => {
  const { sched, net } = world(14);
  const nat = net.addNat('nat', '5.5.5.5', natPresets.symmetric);
  const h = net.addHost('h', '192.168.1.2', { behind: nat });
  const A = net.addHost('A', '8.0.0.1');
  const sh = listen(h, 33000, sched);
  const sA = listen(A, 1, sched);
  nat.addPortForward('udp', 40000, h, 33000);
  sA.sock.send(ip('5.5.5.5'), 40000, b(1));
  sh.sock.send(ip('8.0.0.1'), 1, b(2));
  sched.runUntil(100_000);
  assert.deepEqual(sh.rx.map((r) => r.data[0]), [1]);
  assert.equal(sA.rx[0].src, '5.5.5.5:40000');
  nat.removePortForward('udp', 40000);
  sA.sock.send(ip('5.5.5.5'), 40000, b(3));
  sched.runUntil(200_000);
  assert.equal(sh.rx.length, 1);
});

test('topology errors: duplicate names and addresses', () => {
  const { net } = world();
  const nat = net.addNat('nat', '5.5.5.5', {});
  net.addHost('a', '1.1.1.1');
  assert.throws(() => net.addHost('a', '1.1.1.2'), /duplicate/);
  assert.throws(() => net.addHost('b', '1.1.1.1'), /in use/);
  assert.throws(() => net.addHost('c', '5.5.5.5'), /in use/);
  net.addHost('d', '10.0.0.1', { behind: nat });
  assert.throws(() => net.addHost('e', '10.0.0.1', { behind: nat }), /in use/);
  const fw = net.addFirewall('fw', { blockUdp: true });
  assert.throws(() => net.addHost('f', '1.1.1.1', { behind: fw }), /in use/); // firewall hosts are public
});
