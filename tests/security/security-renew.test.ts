// Certificate renewal (issue #7, firmware/sec/renew.ts): certificates live 24 h, a desk phone stays logged in
// for weeks. A phone renews its certificate at 80 % of its life over the Noise_IK LOGIN exchange, while online,
// and re-publishes its presence with the new one; after 25 h its peers still accept its calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backboneWorld } from '../../host-sim/world.ts';
import { consoleLine } from '../../host-sim/scenarios/buddies.ts';

const H = 3_600_000_000;

test('a phone online for 30 simulated hours renews its certificate before expiry, re-publishes, and its calls are accepted after 25 h', () => {
  const w = backboneWorld(71, 3);
  try {
    const alice = w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 1_000_000 });
    const bob = w.addNode('bob', '198.51.100.50', { user: 'bob', password: 'bob-secret-1', register: true }, { bootAtUs: 1_000_000 });
    assert.ok(w.runUntil(() => !!w.find('alice', 'cert.ok') && !!w.find('bob', 'cert.ok'), 30_000_000), 'both logged in with a certificate');
    const loginAt = w.find('alice', 'login.ok')!.timeUs;
    const validS = Number(w.find('alice', 'cert.ok')!.kv.validS);
    assert.equal(validS, 24 * 3600, 'the login server issues 24 h certificates');

    w.runUntil(() => false, 25 * H);
    const renewed = w.events.filter((e) => e.node === 'alice' && e.name === 'cert.renewed');
    assert.ok(renewed.length >= 1, 'alice renewed her certificate');
    // The first renewal at 80 % of the life: 19.2 h after login (± the exchange's round trip).
    const first = renewed[0].timeUs - loginAt;
    assert.ok(first >= 0.8 * 24 * H && first < 0.8 * 24 * H + 60_000_000, `first renewal at ${(first / H).toFixed(2)} h`);
    assert.ok(!w.events.some((e) => (e.node === 'alice' || e.node === 'bob') && e.name === 'cert.renew.fail'), 'no failed renewal');
    assert.ok(!w.events.some((e) => e.node === 'alice' && e.name === 'login.ok' && e.timeUs > loginAt), 'still the first session (no re-login)');
    // Re-published: a supernode accepted alice's PUBLISH after the renewal.
    assert.ok(w.events.some((e) => e.name === 'sn.publish' && e.kv.user === 'alice' && e.timeUs >= renewed[0].timeUs), 'presence re-published with the new certificate');
    assert.ok(!w.events.some((e) => e.name === 'sn.publish.refused'), 'no supernode refused a PUBLISH');

    // After 25 h (her first certificate expired at 24 h): alice calls bob, bob's phone verifies her certificate and rings.
    let t0 = w.sched.nowUs;
    consoleLine(alice, 'dial bob');
    assert.ok(w.runUntil(() => w.events.some((e) => e.node === 'bob' && e.name === 'call.incoming' && e.timeUs >= t0), t0 + 15_000_000), 'bob rings for alice after 25 h');
    assert.ok(w.runUntil(() => w.events.some((e) => e.node === 'alice' && e.name === 'call.ringing' && e.timeUs >= t0), t0 + 15_000_000), 'alice accepts bob\'s RINGING certificate');
    consoleLine(alice, 'hangup');
    w.runUntil(() => false, w.sched.nowUs + 5_000_000);
    assert.ok(!w.events.some((e) => e.name === 'sec.call' && e.kv.result === 'refused'), 'no call handshake refused');

    // Up to 30 h: a second renewal (at 80 % of the second certificate), and bob's calls to alice are accepted.
    w.runUntil(() => false, 30 * H);
    t0 = w.sched.nowUs;
    consoleLine(bob, 'dial alice');
    assert.ok(w.runUntil(() => w.events.some((e) => e.node === 'alice' && e.name === 'call.incoming' && e.timeUs >= t0), t0 + 15_000_000), 'alice rings for bob after 30 h');
    assert.ok(w.runUntil(() => w.events.some((e) => e.node === 'bob' && e.name === 'call.ringing' && e.timeUs >= t0), t0 + 15_000_000), 'bob accepts alice\'s RINGING certificate after 30 h');
    assert.ok(!w.events.some((e) => e.name === 'sec.call' && e.kv.result === 'refused'), 'no call handshake refused');
    assert.ok(!w.events.some((e) => (e.node === 'alice' || e.node === 'bob') && e.name === 'cert.renew.fail'), 'no failed renewal');
  } finally { w.close(); }
});
