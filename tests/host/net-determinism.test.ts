import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, Rng, Scheduler, ipFromString as ip, natPresets, type NetHost } from '../../host-sim/net/index.js';

/**
 * A mixed scenario (NATs, jitter, loss, UDP + TCP) returning the delivery trace:
 * one line per datagram / TCP chunk received, with its time.
 */
function scenario(seed: number, extraHost = false) {
  const sched = new Scheduler();
  const net = new Network(sched, new Rng(seed));
  const trace: string[] = [];
  const tapSent = { packets: 0, wire: 0 };
  net.addTap((p) => {
    if (!p.where.startsWith('host:')) return;
    tapSent.packets++;
    tapSent.wire += p.payload.length + (p.proto === 'udp' ? 28 : 40);
  });
  const n1 = net.addNat('n1', '5.0.0.1', natPresets['full-cone']);
  const n2 = net.addNat('n2', '5.0.0.2', natPresets.symmetric);
  const link = { delayUs: 4_000, jitterUs: 8_000, loss: 0.1 };
  const hosts = [
    net.addHost('p1', '1.0.0.1', { link }),
    net.addHost('p2', '1.0.0.2', { link }),
    net.addHost('h1', '10.0.0.1', { behind: n1, link }),
    net.addHost('h2', '10.0.0.1', { behind: n2, link }),
  ];
  if (extraHost) {
    // an unrelated host with its own traffic must not perturb the others
    const x = net.addHost('zz', '9.9.9.9', { link });
    const sx = x.udpBind(1, () => {});
    for (let i = 0; i < 50; i++) sched.at(i * 3_000, () => sx.send(ip('9.9.9.9'), 1, new Uint8Array(4)));
  }
  // public hosts echo each datagram to the source they saw (back in through the NAT mappings)
  const socks = hosts.map((h, k) =>
    h.udpBind(4000, (src, port, d) => {
      trace.push(`${sched.nowUs} udp ${h.name} <- ${src}:${port} #${d[0]}`);
      if (k < 2 && d[0] < 100) socks[k].send(src, port, new Uint8Array([d[0] + 100]));
    }),
  );
  const dsts = [ip('1.0.0.1'), ip('1.0.0.2')];
  for (let i = 0; i < 60; i++) {
    const k = i % hosts.length;
    sched.at(i * 2_000, () => socks[k].send(dsts[i % 2], 4000, new Uint8Array([i])));
  }
  hosts[1].tcpListen(80, (c) => c.setHandlers({ onData: (d) => trace.push(`${sched.nowUs} tcp p2 ${d.length}`) }));
  const c = hosts[2].tcpConnect(ip('1.0.0.2'), 80, {
    onConnect: () => {
      for (let i = 0; i < 20; i++) c.send(new Uint8Array(700 + i));
    },
  });
  sched.runUntil(30_000_000);
  return { trace, net, hosts: hosts as NetHost[], tapSent };
}

test('same seed → identical trace; different seed → different trace', () => {
  const a = scenario(1234);
  const b = scenario(1234);
  assert.ok(a.trace.length > 40, `trace too short: ${a.trace.length}`);
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.net.stats, b.net.stats);
  const c = scenario(1235);
  assert.notDeepEqual(a.trace, c.trace);
});

test('adding an unrelated host does not perturb the other hosts’ randomness', () => {
  const a = scenario(77);
  const b = scenario(77, true);
  assert.deepEqual(a.trace, b.trace);
});

test('counters add up: host counters, network stats and wire bytes', () => {
  const { net, hosts, tapSent } = scenario(4321);
  const s = net.stats;
  const sum = (f: (h: NetHost) => number) => hosts.reduce((n, h) => n + f(h), 0);
  // everything is drained by now: sent = delivered + drops (noListener is a subset of delivered)
  assert.equal(s.sent, sum((h) => h.counters.packetsSent));
  assert.equal(s.delivered, sum((h) => h.counters.packetsRecv));
  assert.equal(s.sent, s.delivered + s.noRoute + s.natNoMapping + s.natFiltered + s.firewall + s.loss + s.hairpin);
  assert.ok(s.loss > 0, JSON.stringify(s));
  // the capture tap saw every packet once as sent by its host, with matching wire sizes
  assert.equal(tapSent.packets, s.sent);
  assert.equal(tapSent.wire, sum((h) => h.counters.wireSent));
  assert.ok(sum((h) => h.counters.wireRecv) < tapSent.wire);
  // UDP-only host: wire = payload + 28 B per datagram
  const p1 = hosts[0].counters;
  assert.equal(p1.wireSent, p1.udpPayloadSent + 28 * p1.packetsSent);
  // TCP: every payload byte sent was received exactly once
  assert.equal(hosts[2].counters.tcpPayloadSent, hosts[1].counters.tcpPayloadRecv);
  assert.equal(hosts[2].counters.tcpPayloadSent, 20 * 700 + 190);
});

test('10,000 hosts behind 1,000 NATs exchange traffic (scale behaviour; speed is a benchmark figure)', () => {
  const sched = new Scheduler();
  const net = new Network(sched, new Rng(99));
  const servers: NetHost[] = [];
  for (let i = 0; i < 10; i++) servers.push(net.addHost(`srv${i}`, 0x08000000 + i));
  let got = 0;
  for (const s of servers) s.udpBind(3478, (src, port) => {
    got++;
    echo.get(s)!.send(src, port, new Uint8Array(20));
  });
  const echo = new Map(servers.map((s) => [s, s.udpBind(3479, () => {})]));
  let replies = 0;
  const presets = Object.values(natPresets);
  for (let n = 0; n < 1000; n++) {
    const nat = net.addNat(`nat${n}`, 0x50000000 + n, { ...presets[n % presets.length], ...{ filtering: 'endpoint-independent' as const } });
    for (let k = 0; k < 10; k++) {
      const h = net.addHost(`h${n}.${k}`, 0xc0a80000 + k + 2, { behind: nat, link: { delayUs: 3_000, jitterUs: 2_000, loss: 0.01 } });
      const sock = h.udpBind(5000, () => replies++);
      for (let j = 0; j < 5; j++) sched.at(j * 20_000 + k * 100, () => sock.send(0x08000000 + ((n + j) % 10), 3478, new Uint8Array(40)));
    }
  }
  assert.equal(net.hosts().length, 10_010);
  sched.runUntil(10_000_000);
  assert.ok(got > 49_000 && replies > 48_000, `${got} ${replies}`);
});
