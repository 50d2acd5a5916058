// Issue #4 behaviours on the real firmware in the simulator: NAT discovery, the preset matrix against RFC 4787
// theory, login and signaling budgets, UDP keep-alives, and path fallback/upgrade during a call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import lenaWav from 'audio-lena/wav';
import { decodeWav } from '../../host-sim/audio-io.js';
import { World, backboneWorld } from '../../host-sim/world.js';
import { PRESETS, attachPhone, directPossible, TRAITS } from '../../host-sim/presets.js';
import { runPair } from '../../host-sim/matrix.js';
import { scriptedCall } from '../../host-sim/call-flow.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';
import { natPresets, type Nat } from '../../host-sim/net/network.js';

const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;

const world = (seed: number) => backboneWorld(seed);

test('NAT discovery (RFC 5780 style, supernodes as reflectors) classifies every NAT preset and a public host', () => {
  const w = world(5);
  try {
    const names = ['public', 'full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric'] as const;
    names.forEach((p, i) => attachPhone(w, `p${i}`, p, { user: `phone${i}`, password: 'password-1', register: true }, 1_000_000));
    w.runUntil(() => names.every((_, i) => w.find(`p${i}`, 'nat.type')), 20_000_000);
    names.forEach((p, i) => {
      const e = w.find(`p${i}`, 'nat.type');
      assert.ok(e, `${p}: discovery finished`);
      const t = TRAITS[p];
      assert.equal(e!.kv.mapping, t.mapping, `${p} mapping`);
      if (t.nat) assert.equal(e!.kv.filtering, t.filtering, `${p} filtering`);
      else assert.equal(e!.kv.filtering, 'endpoint-independent', 'a public host filters nothing');
      // stored in flash (KEY_NAT = 5)
      assert.ok(w.node(`p${i}`).flash.read(5), `${p}: result in flash`);
    });
    // and shown on the debug console
    const sym = w.node('p4');
    const before = sym.uart.out.length;
    sym.uartInput(new TextEncoder().encode('nat\r'));
    w.runUntil(() => false, w.sched.nowUs + 1000);
    assert.match(Buffer.from(sym.uart.out.slice(before)).toString(), /mapping=address-and-port-dependent filtering=address-and-port-dependent/);
  } finally { w.close(); }
});

test('every ordered pair of the presets (9 × 9) connects and carries audio; media is direct exactly where RFC 4787 theory allows', () => {
  const speech = lena.subarray(0, 8000 * 1.5);
  let k = 0;
  const failures: string[] = [];
  for (const a of PRESETS) for (const b of PRESETS) {
    const { result: r } = runPair(a, b, 900 + k++, speech);
    const theory = directPossible(a, b);
    if (!r.ok) failures.push(`${a}→${b}: ${r.failure}`);
    else if (r.directAchieved !== theory.possible) failures.push(`${a}→${b}: path ${r.path}, theory says direct ${theory.possible ? 'possible' : 'impossible'}`);
    else if (theory.possible && r.path !== `direct-${theory.transport}`) failures.push(`${a}→${b}: path ${r.path}, expected direct-${theory.transport}`);
    else if (!theory.possible && !r.path!.startsWith('relay')) failures.push(`${a}→${b}: unexpected path ${r.path}`);
    if (r.loginMsCaller !== null) {
      const budget = TRAITS[a].udp ? 1500 : 5000;
      if (r.loginMsCaller > budget) failures.push(`${a}: login took ${r.loginMsCaller} ms > ${budget} ms`);
    }
    if ((r.signalingBytes ?? 0) > 6000) failures.push(`${a}→${b}: call setup signaling ${r.signalingBytes} B > 6 KB`);
  }
  assert.deepEqual(failures, []);
});

test('UDP bindings are kept alive: after 5 idle minutes behind a NAT with a 30 s UDP timeout, the binding to the supernode is fresh', () => {
  const w = world(6);
  try {
    const nat = w.net.addNat('alice-nat', '203.0.113.9', { ...natPresets['port-restricted-cone'], udpTimeoutUs: 30_000_000 });
    const alice = w.addNode('alice', '192.168.9.10', { user: 'alice', password: 'alice-pass-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
    w.runUntil(() => false, 5 * 60_000_000);
    const snIp = w.node('sn1').host.ip;
    void snIp;
    const live = (nat as Nat).mappings().filter((m) => m.proto === 'udp' && m.internalIp === alice.host.ip && m.expiresUs > w.sched.nowUs);
    assert.ok(live.length >= 1, 'a live UDP mapping for alice');
    assert.ok(live.some((m) => w.sched.nowUs - m.lastActivityUs <= 20_000_000), 'refreshed within the last 20 s');
    assert.equal(alice.events.filter((e) => e.name === 'login.ok').length, 1, 'no re-login was needed');
  } finally { w.close(); }
});

test('mid-call: when the direct path dies the call falls back to the relay within 200 ms of audio, and survives', () => {
  const w = world(7);
  try {
    attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    attachPhone(w, 'bob', 'public', { user: 'bob', password: 'bob-pass-22', register: true }, 1_000_000);
    const alice = w.node('alice'), bob = w.node('bob');
    let cutAt = 0;
    const f = scriptedCall(w, 'alice', 'bob', {
      speech: lena.subarray(0, 8000 * 6),
      onActive: (world) => world.sched.after(3_000_000, () => {
        cutAt = world.sched.nowUs;
        const natIp = alice.host.ip; // alice's packets are seen with her private source at emit time
        world.net.addFault((p) => p.proto === 'udp' && ((p.from === 'alice' && p.dstIp === bob.host.ip) || (p.from === 'bob' && p.dstIp !== natIp && !world.supernodes.some((s) => s.ip === p.dstIp))));
      }),
    });
    assert.ok(cutAt > 0, 'the path was cut mid-call');
    assert.equal(f.ok, true, f.failure);
    for (const n of ['alice', 'bob']) {
      const fb = w.find(n, 'media.fallback');
      assert.ok(fb, `${n} fell back`);
      assert.ok(fb!.timeUs - cutAt <= 200_000, `${n} detected within 200 ms (${(fb!.timeUs - cutAt) / 1000} ms)`);
      const end = w.find(n, 'call.ended')!;
      assert.ok(+end.kv.sentRelayUdp > 50, `${n} continued on the relay (${end.kv.sentRelayUdp} packets)`);
      assert.ok(+end.kv.sentDirectUdp > 50, `${n} had used the direct path before`);
      // audio lost across the switch: packets sent direct after the cut, at most 200 ms worth
      assert.ok(+end.kv.concealed10ms * 10 <= 200, `${n}: ${+end.kv.concealed10ms * 10} ms of audio concealed over the whole call (≤ 200 ms)`);
    }
  } finally { w.close(); }
});

test('a call that starts on the relay moves to the direct path when one appears', () => {
  const w = world(8);
  try {
    attachPhone(w, 'alice', 'full-cone', { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    attachPhone(w, 'bob', 'public', { user: 'bob', password: 'bob-pass-22', register: true }, 1_000_000);
    const bob = w.node('bob');
    // Direct UDP between the phones is blocked until 5 s into the call.
    const heal = w.net.addFault((p) => p.proto === 'udp' &&
      ((p.from === 'bob' && !w.supernodes.some((s) => s.ip === p.dstIp)) || (p.from === 'alice' && p.dstIp === bob.host.ip)));
    const f = scriptedCall(w, 'alice', 'bob', {
      speech: Int16Array.from({ length: 8000 * 25 }, (_, i) => lena[i % lena.length]),
      onActive: (world) => world.sched.after(5_000_000, heal),
    });
    assert.equal(f.ok, true, f.failure);
    const end = w.find('alice', 'call.ended')!;
    assert.ok(+end.kv.sentRelayUdp > 100, 'started on the relay');
    assert.ok(+end.kv.sentDirectUdp > 100, 'moved to the direct path');
    assert.ok(w.find('alice', 'punch.ok'), 'hole punching succeeded after the path appeared');
  } finally { w.close(); }
});

test('a supernode enforces its relay quota; the refused caller relays through another supernode and both calls carry audio', () => {
  // Two calls that need a relay (symmetric ↔ port-restricted), supernodes allowed one relayed call each.
  const w = new World({ seed: 11 });
  try {
    w.addLoginServer('198.51.100.10');
    const sns = ['198.51.100.21', '198.51.100.22'];
    for (const ip of sns) w.bootstrapEntry(ip);
    sns.forEach((ip, i) => { const n = w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: 33033 }); void n; });
    for (const n of ['sn1', 'sn2']) {
      const node = w.node(n);
      const text = new TextDecoder().decode(node.flash.read(1)!) + 'snMaxRelays=1\n';
      node.flash.write(1, new TextEncoder().encode(text));
    }
    attachPhone(w, 'alice', 'symmetric', { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    attachPhone(w, 'bob', 'port-restricted-cone', { user: 'bob', password: 'bob-pass-22', register: true }, 1_000_000);
    attachPhone(w, 'carol', 'symmetric', { user: 'carol', password: 'carol-pass-3', register: true }, 1_000_000);
    attachPhone(w, 'dave', 'port-restricted-cone', { user: 'dave', password: 'dave-pass-44', register: true }, 1_000_000);
    // alice → bob and carol → dave at the same time (carol's call starts while alice's is up).
    const speech = Int16Array.from({ length: 8000 * 4 }, (_, i) => lena[i]);
    w.sched.at(4_000_000, () => {
      const t = w.typeKeys(w.node('carol'), multiTapKeys('dave'), 120_000);
      w.sched.at(t + 200_000, () => w.node('carol').pressKey(KEY.SEND));
    });
    w.onEvent((e) => {
      if (e.node === 'dave' && e.name === 'call.incoming') w.sched.after(200_000, () => w.node('dave').hook(true));
      if (e.node === 'carol' && e.name === 'call.answered') { w.node('carol').audio.mic.set(speech); w.node('carol').audio.mic.start(); w.sched.after(4_000_000, () => w.node('carol').hook(false)); }
    });
    const f = scriptedCall(w, 'alice', 'bob', { speech });
    assert.equal(f.ok, true, f.failure);
    w.runUntil(() => !!w.find('dave', 'call.ended'), w.sched.nowUs + 20_000_000);
    const carolEnd = w.find('carol', 'call.ended'), daveEnd = w.find('dave', 'call.ended');
    assert.ok(carolEnd && daveEnd, 'second call ended');
    assert.ok(+daveEnd!.kv.rtpRecv > 0.9 * +carolEnd!.kv.rtpSent, `carol → dave carried (${daveEnd!.kv.rtpRecv}/${carolEnd!.kv.rtpSent})`);
    assert.ok(+carolEnd!.kv.rtpRecv > 0.9 * +daveEnd!.kv.rtpSent, 'dave → carol carried');
    // No supernode ever relayed more calls for its clients than its quota.
    for (const n of ['sn1', 'sn2']) {
      const starts = w.events.filter((e) => e.node === n && e.name === 'sn.relay.start');
      assert.ok(starts.every((e) => +e.kv.active <= 1), `${n} kept to its quota`);
    }
    assert.ok(w.events.some((e) => e.name === 'sn.relay.quota'), 'the quota was reached at least once');
    assert.ok(w.events.some((e) => e.name === 'relay.switch'), 'a refused phone switched relay');
  } finally { w.close(); }
});

test('a full supernode sheds new clients (BUSY) and the phone logs in through the next-fastest one', () => {
  // sn3, the only one with room, sits behind a 20 ms slower link, so a full one always answers the probes first
  // (with equal links which one is first depends on the seed's jitter draws, i.e. on all traffic before).
  const w = new World({ seed: 12 });
  w.addLoginServer('198.51.100.10');
  const ips = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
  for (const ip of ips) w.bootstrapEntry(ip);
  ips.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: 33033 }, i === 2 ? { link: { ...w.accessLink, delayUs: 22_500 } } : {}));
  try {
    for (const n of ['sn1', 'sn2', 'sn3']) {
      const node = w.node(n);
      const full = n !== 'sn3'; // only sn3 has room
      const text = new TextDecoder().decode(node.flash.read(1)!) + (full ? 'snMaxClients=0\n' : '');
      node.flash.write(1, new TextEncoder().encode(text));
    }
    attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok'), 20_000_000), 'alice logs in');
    assert.equal(w.find('alice', 'login.ok')!.kv.sn, '198.51.100.23:33033', 'through the supernode with room');
    assert.ok(w.find('alice', 'sn.busy'), 'a full SN said BUSY first (sn1 or sn2 answers the probes first)');
  } finally { w.close(); }
});
