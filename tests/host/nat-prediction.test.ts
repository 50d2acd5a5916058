// Issue #4 (rest): port prediction for symmetric NATs that allocate ports sequentially, and the UDP keep-alive
// interval learned from the NAT's binding lifetime (RFC 5780 §4.6 style), on the real firmware in the simulator.
//   node --import tsx --test tests/host/nat-prediction.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import lenaWav from 'audio-lena/wav';
import { decodeWav } from '../../host-sim/audio-io.js';
import { backboneWorld, type World } from '../../host-sim/world.js';
import { attachPhone, directPossible, type Preset } from '../../host-sim/presets.js';
import { scriptedCall } from '../../host-sim/call-flow.js';
import { natPresets } from '../../host-sim/net/network.js';

const speech = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm.subarray(0, 8000 * 2);

/** A call between two presets; `block` (optional) installs faults once the world exists. */
function call(caller: Preset, callee: Preset, seed: number, block?: (w: World) => void) {
  const w = backboneWorld(seed);
  try {
    attachPhone(w, 'alice', caller, { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    attachPhone(w, 'bob', callee, { user: 'bob', password: 'bob-pass-22', register: true }, 1_000_000);
    block?.(w);
    const f = scriptedCall(w, 'alice', 'bob', { speech });
    const ev = (n: string, name: string) => w.events.filter((e) => e.node === n && e.name === name);
    return { f, ev };
  } finally { w.close(); }
}

test('NAT discovery recognises sequential port allocation behind a symmetric NAT (and not behind a random one)', () => {
  const w = backboneWorld(31);
  try {
    attachPhone(w, 'seq', 'symmetric-sequential', { user: 'seqphone', password: 'password-1', register: true }, 1_000_000);
    attachPhone(w, 'rnd', 'symmetric', { user: 'rndphone', password: 'password-1', register: true }, 1_000_000);
    w.runUntil(() => !!(w.find('seq', 'nat.type') && w.find('rnd', 'nat.type')), 20_000_000);
    const seq = w.find('seq', 'nat.type')!, rnd = w.find('rnd', 'nat.type')!;
    assert.equal(seq.kv.mapping, 'address-and-port-dependent');
    assert.equal(seq.kv.sequential, '1');
    assert.equal(seq.kv.portDelta, '1');
    assert.equal(rnd.kv.mapping, 'address-and-port-dependent');
    assert.equal(rnd.kv.sequential, '0');
  } finally { w.close(); }
});

for (const [caller, callee] of [['symmetric-sequential', 'port-restricted-cone'], ['port-restricted-cone', 'symmetric-sequential']] as [Preset, Preset][]) {
  test(`${caller} → ${callee}: direct UDP through port prediction; relayed without it`, () => {
    assert.equal(directPossible(caller, callee).possible, true, 'theory (with prediction) allows it');
    const seqSide = caller === 'symmetric-sequential' ? 'alice' : 'bob';
    const eimSide = seqSide === 'alice' ? 'bob' : 'alice';
    const withP = call(caller, callee, 41);
    assert.ok(withP.f.ok, `call carried audio (${withP.f.failure ?? ''})`);
    assert.equal(withP.f.path, 'direct-udp');
    assert.equal(withP.ev(seqSide, 'nat.predict').length, 1, 'the symmetric side measured its prediction base');
    // the EIM side confirmed the path on one of the predicted ports (base + k·delta, k ≥ 1)
    const ok = withP.ev(eimSide, 'punch.ok');
    assert.ok(ok.length >= 1 && Number(ok[0].kv.predicted) >= 1, `punch.ok on a predicted port: ${JSON.stringify(ok.map((e) => e.kv))}`);

    // The same call with the prediction probe dropped (UDP from the symmetric phone's sockets other than its
    // main one, from 0.3 s after its NAT discovery — when the binding-lifetime tests have opened theirs — on):
    // no prediction is sent, and the call stays on the relay.
    const without = call(caller, callee, 41, (w) => {
      let mainPort = -1, armed = false;
      w.onEvent((e) => { if (e.node === seqSide && e.name === 'nat.type') w.sched.after(300_000, () => { armed = true; }); });
      w.net.addFault((p) => {
        if (p.from !== seqSide || p.proto !== 'udp') return false;
        if (mainPort < 0) mainPort = p.srcPort; // the first datagram (login probe) is from the main socket
        return armed && p.srcPort !== mainPort;
      });
    });
    assert.ok(without.f.ok, `call carried audio (${without.f.failure ?? ''})`);
    assert.equal(without.ev(seqSide, 'nat.predict').length, 0, 'no prediction base');
    assert.match(without.f.path ?? '', /^relay-/, 'relayed without prediction');
  });
}

test('a random-port symmetric NAT is not predictable: symmetric → port-restricted-cone stays on the relay', () => {
  assert.equal(directPossible('symmetric', 'port-restricted-cone').possible, false);
  const r = call('symmetric', 'port-restricted-cone', 43);
  assert.ok(r.f.ok);
  assert.match(r.f.path ?? '', /^relay-/);
  assert.equal(r.ev('alice', 'nat.predict').length, 0);
});

/** Outbound UDP times of `name`'s main socket (observed as the sender emits them), from the world's start. */
function watchMainSocket(w: World, name: string): number[] {
  const times: number[] = [];
  let mainPort = -1;
  w.net.addFault((p) => {
    if (p.from !== name || p.proto !== 'udp') return false;
    if (mainPort < 0) mainPort = p.srcPort;
    if (p.srcPort === mainPort) times.push(w.sched.nowUs);
    return false;
  });
  return times;
}

for (const [timeoutS, expectMs] of [[15, 7500], [120, 20000]] as const) {
  test(`keep-alive interval learned from the binding lifetime: NAT UDP timeout ${timeoutS} s → keep-alives every ${expectMs / 1000} s`, () => {
    const w = backboneWorld(50 + timeoutS);
    try {
      const nat = w.net.addNat('alice-nat', '203.0.113.9', { ...natPresets['port-restricted-cone'], udpTimeoutUs: timeoutS * 1_000_000 });
      const alice = w.addNode('alice', '192.168.9.10', { user: 'alice', password: 'alice-pass-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
      const tx = watchMainSocket(w, 'alice');
      w.runUntil(() => false, 4 * 60_000_000);
      const life = alice.events.filter((e) => e.name === 'nat.lifetime');
      assert.equal(life.length, 1, 'one lifetime measurement');
      assert.equal(Number(life[0].kv.keepaliveMs), expectMs, `learned interval (${JSON.stringify(life[0].kv)})`);
      if (timeoutS === 15) assert.equal(life[0].kv.lifetimeMsAtLeast, '10000', 'the 15 s test failed, the 10 s test survived');
      // From login on, the main socket never stays silent as long as the NAT's timeout (the binding is never
      // lost), and after the measurement the gaps are the learned interval (never above the 20 s cap).
      const login = alice.events.find((e) => e.name === 'login.ok')!.timeUs;
      const learned = life[0].timeUs;
      const after = tx.filter((t) => t >= login);
      let maxGap = 0, maxGapLearned = 0;
      for (let i = 1; i < after.length; i++) {
        const g = after[i] - after[i - 1];
        maxGap = Math.max(maxGap, g);
        if (after[i - 1] >= learned + expectMs * 1000) maxGapLearned = Math.max(maxGapLearned, g);
      }
      const end = w.sched.nowUs - after[after.length - 1];
      assert.ok(Math.max(maxGap, end) < timeoutS * 1_000_000, `max silence ${Math.max(maxGap, end) / 1e6} s < ${timeoutS} s`);
      assert.ok(maxGapLearned <= expectMs * 1000 + 1000 && maxGapLearned >= expectMs * 1000 - 1000, `keep-alive gap after learning ${maxGapLearned / 1e6} s ≈ ${expectMs / 1000} s`);
      assert.ok(maxGapLearned <= 20_000_000 + 1000, 'never above the 20 s cap');
      assert.equal(alice.events.filter((e) => e.name === 'nat.changed').length, 0, 'the binding never changed');
      assert.equal(alice.events.filter((e) => e.name === 'login.ok').length, 1, 'no re-login');
      // the binding to the supernode is alive at the end
      const live = nat.mappings().filter((m) => m.proto === 'udp' && m.internalIp === alice.host.ip && m.expiresUs > w.sched.nowUs);
      assert.ok(live.length >= 1);
    } finally { w.close(); }
  });
}
