import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network,
  Rng,
  Scheduler,
  firewallPresets,
  ipFromString as ip,
  natPresets,
  type CapturedPacket,
  type NetworkOpts,
  type SimHost,
  type TcpConn,
} from '../../host-sim/net/index.js';

function world(seed = 1, opts?: NetworkOpts) {
  const sched = new Scheduler();
  const net = new Network(sched, new Rng(seed), opts);
  return { sched, net };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A listener that records accepted connections, their data and close reasons. */
function server(h: SimHost, port: number, sched: Scheduler) {
  const st = {
    conns: [] as TcpConn[],
    data: [] as Uint8Array[],
    closes: [] as string[],
    acceptedAt: -1,
    listener: null as unknown as { close(): void },
  };
  st.listener = h.tcpListen(port, (c) => {
    st.conns.push(c);
    st.acceptedAt = sched.nowUs;
    c.setHandlers({ onData: (d) => st.data.push(d.slice()), onClose: (r) => st.closes.push(r) });
  });
  return st;
}

function client(h: SimHost, dst: string, port: number, sched: Scheduler) {
  const st = {
    conn: null as unknown as TcpConn,
    connectedAt: -1,
    closedAt: -1,
    closes: [] as string[],
    data: [] as Uint8Array[],
  };
  st.conn = h.tcpConnect(ip(dst), port, {
    onConnect: () => (st.connectedAt = sched.nowUs),
    onData: (d) => st.data.push(d.slice()),
    onClose: (r) => {
      st.closes.push(r);
      st.closedAt = sched.nowUs;
    },
  });
  return st;
}

test('TCP connect / accept / data / FIN close between public hosts', () => {
  const { sched, net } = world(1);
  const A = net.addHost('A', '1.0.0.1');
  const B = net.addHost('B', '2.0.0.1');
  const srv = server(B, 80, sched);
  const cli = client(A, '2.0.0.1', 80, sched);
  assert.equal(cli.conn.state, 'connecting');
  assert.equal(cli.conn.send(new Uint8Array(1)), false, 'send before open is refused');
  sched.runUntil(1_000_000);
  assert.equal(cli.connectedAt, 40_000); // SYN 20 ms + SYN-ACK 20 ms
  assert.equal(srv.acceptedAt, 60_000); // plus the handshake ACK's one-way trip
  assert.equal(srv.conns[0].remoteIp, ip('1.0.0.1'));
  assert.equal(srv.conns[0].remotePort, cli.conn.localPort);
  assert.equal(srv.conns[0].localPort, 80);
  assert.equal(cli.conn.state, 'open');

  const msg = new TextEncoder().encode('hello world');
  cli.conn.send(msg);
  srv.conns[0].send(new TextEncoder().encode('hi'));
  sched.runUntil(2_000_000);
  assert.equal(new TextDecoder().decode(concat(srv.data)), 'hello world');
  assert.equal(new TextDecoder().decode(concat(cli.data)), 'hi');

  cli.conn.close();
  assert.equal(cli.conn.state, 'closed');
  assert.equal(cli.conn.send(msg), false);
  sched.runUntil(3_000_000);
  assert.deepEqual(srv.closes, ['closed']);
  assert.equal(srv.conns[0].state, 'closed');
  assert.deepEqual(cli.closes, [], 'the closing side gets no onClose');
  assert.equal(A.tcpConnectionCount(), 0);
  assert.equal(B.tcpConnectionCount(), 0);
  // counters: payload once, wire = payload + 40 B per segment (SYN, data, FIN / SYN-ACK, data)
  assert.equal(A.counters.tcpPayloadSent, 11);
  assert.equal(B.counters.tcpPayloadRecv, 11);
  assert.equal(A.counters.wireSent, 11 + 3 * 40);
  assert.equal(B.counters.wireSent, 2 + 2 * 40);
  assert.equal(A.counters.wireRecv, B.counters.wireSent);
  assert.equal(B.counters.wireRecv, A.counters.wireSent);
});

test('TCP delivers 200 KB intact and in order under 20 % loss with jitter', () => {
  // With the default give-up rule (a segment lost 5× in a row kills the connection) a 20 % loss link
  // kills ~5 % of such transfers (0.2^5 per segment × ~180 segments); this test is about
  // reliability and ordering, so it allows more retries. The 5-loss rule is tested separately.
  const { sched, net } = world(22, { tcpMaxLosses: 12 }); // (seed where the 3 SYN attempts are not all lost)
  const A = net.addHost('A', '1.0.0.1', { link: { delayUs: 8_000, jitterUs: 6_000, loss: 0.2 } });
  const B = net.addHost('B', '2.0.0.1', { link: { delayUs: 3_000, jitterUs: 6_000 } });
  const srv = server(B, 443, sched);
  const gen = new Rng(777);
  const payload = new Uint8Array(200_000);
  for (let i = 0; i < payload.length; i++) payload[i] = gen.u32() & 255;
  const back = payload.slice(0, 50_000).reverse();
  let sentBack = false;
  const cli = A.tcpConnect(ip('2.0.0.1'), 443, {
    onConnect: () => {
      // random-size chunks, some larger than one segment
      let o = 0;
      while (o < payload.length) {
        const n = Math.min(1 + gen.int(5000), payload.length - o);
        assert.ok(cli.send(payload.subarray(o, o + n)));
        o += n;
      }
    },
    onData: (d) => got.push(d.slice()),
    onClose: (r) => assert.fail(`client closed: ${r}`),
  });
  const got: Uint8Array[] = [];
  sched.runWhile(() => {
    if (!sentBack && srv.conns.length) {
      sentBack = srv.conns[0].send(back);
    }
    return concat(srv.data).length < payload.length || concat(got).length < back.length;
  }, 120_000_000);
  assert.deepEqual(concat(srv.data), payload);
  assert.deepEqual(concat(got), back);
  assert.ok(net.stats.loss > 30, `expected real losses, got ${net.stats.loss}`);
  // retransmissions show up on the wire, not in the payload counters
  assert.equal(A.counters.tcpPayloadSent, 200_000);
  assert.ok(A.counters.wireSent > 200_000 + 40 * Math.ceil(200_000 / 1460) + 5 * 1460);
  assert.equal(B.counters.tcpPayloadRecv, 200_000);
});

test('TCP: an early segment waits for its lost predecessor (strict in-order delivery)', () => {
  const { sched, net } = world(3);
  const A = net.addHost('A', '1.0.0.1');
  const B = net.addHost('B', '2.0.0.1');
  const srv = server(B, 80, sched);
  const cli = client(A, '2.0.0.1', 80, sched);
  sched.runUntil(100_000);
  const arrivals: number[] = [];
  srv.conns[0].setHandlers({ onData: (d) => arrivals.push(sched.nowUs, d[0]) });
  // lose exactly the first data segment: make A's link lossy just for it
  A.link.loss = 1;
  cli.conn.send(new Uint8Array(1460).fill(1));
  A.link.loss = 0;
  cli.conn.send(new Uint8Array(1460).fill(2));
  sched.runUntil(2_000_000);
  // segment 2 arrived at 120 ms but waited; segment 1 retransmitted at 100 ms + RTO (200 ms)
  assert.deepEqual(arrivals, [320_000, 1, 320_000, 2]);
});

test('TCP connect to a port without listener is refused', () => {
  const { sched, net } = world(4);
  const A = net.addHost('A', '1.0.0.1');
  net.addHost('B', '2.0.0.1');
  const cli = client(A, '2.0.0.1', 5060, sched);
  sched.runUntil(1_000_000);
  assert.deepEqual(cli.closes, ['refused']);
  assert.equal(cli.closedAt, 40_000);
  assert.equal(cli.connectedAt, -1);
  assert.equal(net.stats.noListener, 1);
});

test('TCP connect times out 7 s after the first SYN, with SYNs at 0, 1 s and 3 s', () => {
  const { sched, net } = world(5);
  const fw = net.addFirewall('fw', firewallPresets['udp-blocked']);
  const inside = net.addHost('in', '3.0.0.1', { behind: fw });
  const A = net.addHost('A', '1.0.0.1');
  server(inside, 80, sched);
  const syns: number[] = [];
  net.addTap((p) => {
    if (p.flags?.syn && p.where === 'host:A') syns.push(p.timeUs);
  });
  const cli = client(A, '3.0.0.1', 80, sched);
  sched.runUntil(20_000_000);
  assert.deepEqual(syns, [0, 1_000_000, 3_000_000]);
  assert.deepEqual(cli.closes, ['timeout']);
  assert.equal(cli.closedAt, 7_000_000);
  assert.equal(net.stats.firewall, 3);
  // a caller may give up earlier: no callback, no further SYNs
  const c2 = client(A, '3.0.0.1', 80, sched);
  sched.runUntil(21_500_000);
  c2.conn.close();
  sched.runUntil(40_000_000);
  assert.deepEqual(c2.closes, []);
  assert.equal(syns.length, 5);
});

test('firewall: UDP blocked both ways, outbound TCP allowed, inbound SYN dropped', () => {
  const { sched, net } = world(6);
  const fw = net.addFirewall('fw', firewallPresets['udp-blocked']);
  const inside = net.addHost('in', '3.0.0.1', { behind: fw });
  const A = net.addHost('A', '1.0.0.1');
  let udpIn = 0;
  let udpOut = 0;
  const si = inside.udpBind(5000, () => udpIn++);
  const sa = A.udpBind(6000, () => udpOut++);
  si.send(ip('1.0.0.1'), 6000, new Uint8Array(10));
  sa.send(ip('3.0.0.1'), 5000, new Uint8Array(10));
  sched.runUntil(100_000);
  assert.equal(udpIn + udpOut, 0);
  assert.equal(net.stats.firewall, 2);

  const srv = server(A, 443, sched);
  const cli = client(inside, '1.0.0.1', 443, sched);
  sched.runUntil(200_000);
  assert.ok(cli.connectedAt > 0);
  cli.conn.send(new Uint8Array([1, 2, 3]));
  srv.conns[0].send(new Uint8Array([4, 5])); // replies on an inside-opened connection pass
  sched.runUntil(400_000);
  assert.deepEqual([...concat(srv.data)], [1, 2, 3]);
  assert.deepEqual([...concat(cli.data)], [4, 5]);
  // inbound connection attempt is dropped at the firewall: the SYNs never reach the inside host
  const insideSrv = server(inside, 8080, sched);
  const recvBefore = inside.counters.packetsRecv;
  const fwBefore = net.stats.firewall;
  const inbound = client(A, '3.0.0.1', 8080, sched);
  sched.runUntil(10_000_000);
  assert.deepEqual(inbound.closes, ['timeout']);
  assert.equal(inside.counters.packetsRecv, recvBefore);
  assert.equal(net.stats.firewall - fwBefore, 3);
  assert.equal(insideSrv.conns.length, 0);
  // hosts behind the same firewall talk freely (LAN), UDP included
  const other = net.addHost('in2', '3.0.0.2', { behind: fw });
  let lan = 0;
  other.udpBind(1, () => lan++);
  si.send(ip('3.0.0.2'), 1, new Uint8Array(1));
  sched.runUntil(11_000_000);
  assert.equal(lan, 1);
});

test('tcp-80-443 firewall: port 5000 fails, 443 works; optional RST rejection', () => {
  const { sched, net } = world(7);
  const fw = net.addFirewall('corp', firewallPresets['tcp-80-443']);
  const fwRej = net.addFirewall('corp2', { ...firewallPresets['tcp-80-443'], rejectWithRst: true });
  const inside = net.addHost('in', '3.0.0.1', { behind: fw });
  const inside2 = net.addHost('in2', '3.0.0.2', { behind: fwRej });
  const S = net.addHost('S', '1.0.0.1');
  server(S, 5000, sched);
  const s443 = server(S, 443, sched);
  const bad = client(inside, '1.0.0.1', 5000, sched);
  const good = client(inside, '1.0.0.1', 443, sched);
  const rejected = client(inside2, '1.0.0.1', 5000, sched);
  sched.runUntil(8_000_000);
  assert.deepEqual(bad.closes, ['timeout']);
  assert.equal(bad.connectedAt, -1);
  assert.ok(good.connectedAt > 0 && good.closes.length === 0);
  assert.equal(s443.conns.length, 1);
  assert.deepEqual(rejected.closes, ['refused']);
  assert.equal(rejected.closedAt, 10_000); // RST from the firewall: access link there and back
});

test('TCP through a NAT: the server sees the public mapping; inbound SYN without mapping dropped', () => {
  const { sched, net } = world(8);
  const nat = net.addNat('nat', '5.5.5.5', {});
  const inside = net.addHost('in', '192.168.1.2', { behind: nat });
  const S = net.addHost('S', '1.0.0.1');
  const srv = server(S, 80, sched);
  const cli = client(inside, '1.0.0.1', 80, sched);
  sched.runUntil(1_000_000);
  assert.equal(srv.conns[0].remoteIp, ip('5.5.5.5'));
  assert.equal(srv.conns[0].remotePort, nat.mappings().find((m) => m.proto === 'tcp')!.externalPort);
  assert.equal(cli.conn.remoteIp, ip('1.0.0.1'));
  server(inside, 22, sched);
  const inbound = client(S, '5.5.5.5', 22, sched);
  sched.runUntil(10_000_000);
  assert.deepEqual(inbound.closes, ['timeout']);
  assert.equal(net.stats.natNoMapping, 3);
});

test('TCP: an expired NAT mapping kills the connection; the sender times out, the other side learns nothing', () => {
  const { sched, net } = world(9);
  const nat = net.addNat('nat', '5.5.5.5', { tcpTimeoutUs: 30_000_000 });
  const inside = net.addHost('in', '192.168.1.2', { behind: nat });
  const S = net.addHost('S', '1.0.0.1');
  const srv = server(S, 80, sched);
  const cli = client(inside, '1.0.0.1', 80, sched);
  sched.runUntil(1_000_000);
  cli.conn.send(new Uint8Array(10)); // activity keeps it alive
  sched.runUntil(20_000_000);
  assert.equal(nat.mappings().length, 1);
  sched.runUntil(60_000_000); // idle > 30 s
  assert.equal(nat.mappings().length, 0);
  cli.conn.send(new Uint8Array(10));
  sched.runUntil(70_000_000);
  assert.deepEqual(cli.closes, ['timeout']);
  // 5 transmissions, each dropped at the NAT, RTO = 200 ms apart
  assert.equal(cli.closedAt, 60_000_000 + 4 * 200_000 + 5_000);
  assert.deepEqual(srv.closes, []);
  assert.equal(srv.conns[0].state, 'open');
  // the server's own data dies the same way
  srv.conns[0].send(new Uint8Array(5));
  sched.runUntil(80_000_000);
  assert.deepEqual(srv.closes, ['timeout']);
  assert.equal(srv.data.length, 1);
});

test('TCP simultaneous open through two port-restricted cone NATs (hole punching)', () => {
  const { sched, net } = world(10);
  const n1 = net.addNat('n1', '5.0.0.1', {});
  const n2 = net.addNat('n2', '5.0.0.2', {});
  const h1 = net.addHost('h1', '10.0.0.1', { behind: n1 });
  const h2 = net.addHost('h2', '10.0.0.1', { behind: n2 });
  const got1: number[] = [];
  const got2: number[] = [];
  let up1 = -1;
  let up2 = -1;
  const c1 = h1.tcpConnect(ip('5.0.0.2'), 7002, { onConnect: () => (up1 = sched.nowUs), onData: (d) => got1.push(...d) }, { localPort: 7001 });
  // h2 starts a bit later: h1's first SYN is dropped at n2, h2's SYN passes n1 (it matches h1's SYN)
  let c2!: TcpConn;
  sched.at(30_000, () => {
    c2 = h2.tcpConnect(ip('5.0.0.1'), 7001, { onConnect: () => (up2 = sched.nowUs), onData: (d) => got2.push(...d) }, { localPort: 7002 });
  });
  sched.runUntil(2_000_000);
  assert.ok(up1 > 0 && up2 > 0, `both ends open (${up1}, ${up2})`);
  assert.equal(c1.remotePort, 7002);
  c1.send(new Uint8Array([1, 2]));
  c2.send(new Uint8Array([3]));
  sched.runUntil(3_000_000);
  assert.deepEqual(got2, [1, 2]);
  assert.deepEqual(got1, [3]);
  assert.ok(net.stats.natFiltered + net.stats.natNoMapping >= 1, 'the first SYN was dropped');

  // without the peer's SYN, a SYN to a port-restricted NAT never gets in
  const lone = client(h1, '5.0.0.2', 7999, sched);
  sched.runUntil(12_000_000);
  assert.deepEqual(lone.closes, ['timeout']);
});

test('TCP capture: SYN / SYN-ACK / data carry consistent seq and ack numbers', () => {
  const { sched, net } = world(11);
  const A = net.addHost('A', '1.0.0.1');
  const B = net.addHost('B', '2.0.0.1');
  const caps: CapturedPacket[] = [];
  net.addTap((p) => caps.push(p));
  const srv = server(B, 80, sched);
  const cli = client(A, '2.0.0.1', 80, sched);
  sched.runUntil(100_000);
  cli.conn.send(new Uint8Array(3000));
  sched.runUntil(200_000);
  srv.conns[0].send(new Uint8Array(7));
  sched.runUntil(300_000);
  const syn = caps.find((p) => p.flags?.syn && !p.flags.ack)!;
  const synAck = caps.find((p) => p.flags?.syn && p.flags.ack)!;
  assert.equal(synAck.ackNo, (syn.seq! + 1) >>> 0);
  const data = caps.filter((p) => p.where === 'host:A' && p.payload.length > 0);
  assert.deepEqual(data.map((p) => (p.seq! - syn.seq!) >>> 0), [1, 1461, 2921]);
  assert.ok(data.every((p) => p.ackNo === ((synAck.seq! + 1) >>> 0)));
  const reply = caps.find((p) => p.where === 'host:B' && p.payload.length === 7)!;
  assert.equal(reply.seq, (synAck.seq! + 1) >>> 0);
  assert.equal(reply.ackNo, (syn.seq! + 1 + 3000) >>> 0);
  assert.equal(reply.srcPort, 80);
});

test('TCP: talking to an endpoint that no longer exists gets a RST (onClose reset)', () => {
  const { sched, net } = world(12);
  const A = net.addHost('A', '1.0.0.1');
  const B = net.addHost('B', '2.0.0.1');
  const srv = server(B, 80, sched);
  const cli = client(A, '2.0.0.1', 80, sched);
  sched.runUntil(1_000_000);
  // A's link goes down; the server's data is lost 5 times and the server side gives up
  A.link.loss = 1;
  srv.conns[0].send(new Uint8Array([9]));
  sched.runUntil(3_000_000);
  assert.deepEqual(srv.closes, ['timeout']);
  assert.deepEqual(cli.closes, []);
  assert.equal(cli.conn.state, 'open', 'the client learned nothing');
  // link back up: the client's next segment finds no endpoint and is answered by a RST
  A.link.loss = 0;
  cli.conn.send(new Uint8Array([1]));
  sched.runUntil(4_000_000);
  assert.deepEqual(cli.closes, ['reset']);
  assert.equal(cli.closedAt, 3_000_000 + 40_000);
  assert.equal(srv.data.length, 0);
});

test('TCP: a FIN that overtakes lost data waits for it; onClose comes after all bytes', () => {
  const { sched, net } = world(13);
  const A = net.addHost('A', '1.0.0.1');
  const B = net.addHost('B', '2.0.0.1');
  const events: string[] = [];
  B.tcpListen(80, (c) => c.setHandlers({ onData: (d) => events.push(`data ${d[0]} @${sched.nowUs}`), onClose: (r) => events.push(`close ${r} @${sched.nowUs}`) }));
  const cli = client(A, '2.0.0.1', 80, sched);
  sched.runUntil(100_000);
  A.link.loss = 1; // the data segment is lost once...
  cli.conn.send(new Uint8Array([7]));
  A.link.loss = 0;
  cli.conn.close(); // ...while the FIN gets through first (arrives at 120 ms)
  sched.runUntil(1_000_000);
  assert.deepEqual(events, ['data 7 @320000', 'close closed @320000']);
  assert.equal(A.tcpConnectionCount(), 0, 'closing side lingers until its data is delivered, then goes');
});

test('TCP simultaneous open through a stateful firewall: inbound SYN dropped, outbound SYN opens it', () => {
  const { sched, net } = world(14);
  const fw = net.addFirewall('fw', firewallPresets['udp-blocked']);
  const inside = net.addHost('in', '3.0.0.1', { behind: fw });
  const P = net.addHost('P', '1.0.0.1');
  let upIn = -1;
  let upP = -1;
  // Both send SYNs at t=0. The inside SYN opens the flow at 5 ms; P's SYN reaches the firewall at
  // 15 ms and, although it matches that flow, is dropped (inbound SYNs always are).
  P.tcpConnect(ip('3.0.0.1'), 7000, { onConnect: () => (upP = sched.nowUs) }, { localPort: 9000 });
  inside.tcpConnect(ip('1.0.0.1'), 9000, { onConnect: () => (upIn = sched.nowUs) }, { localPort: 7000 });
  sched.runUntil(2_000_000);
  assert.equal(net.stats.firewall, 1);
  assert.equal(upP, 20_000); // P (connecting) got the inside SYN: simultaneous open, answers SYN-ACK
  assert.equal(upIn, 40_000); // the SYN-ACK passes: it belongs to a flow opened from inside
});
