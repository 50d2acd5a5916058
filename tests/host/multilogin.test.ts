// Issue #8, multiple logins: one user on three phones (public, NAT, UDP-blocking firewall). The index holds a
// record per device, a call rings all three, the first answer wins and the others stop ringing within 1 s,
// IMs arrive on all three, and the user shows online while any phone is (host-sim/scenarios/multilogin.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runMultilogin, RING_STOP_BOUND_MS, BOB_PHONES } from '../../host-sim/scenarios/multilogin.js';

for (const seed of [1, 7]) {
  test(`user logged in on three phones: all ring, first answer wins, the others stop within 1 s; IMs on all (seed ${seed})`, () => {
    const r = runMultilogin({ seed, outDir: '/tmp' });
    assert.deepEqual(r.failures, []);
    assert.equal(r.ok, true);
    assert.equal(r.searchDevices, 3, 'the search returns every live device');
    assert.deepEqual(r.call?.rang, BOB_PHONES, 'the INVITE rang every device');
    assert.equal(r.call?.answeredBy, 'bob2');
    assert.equal(r.call?.callerAnswered, true);
    for (const n of ['bob1', 'bob3']) {
      const v = r.call?.ringStopMs[n];
      assert.ok(v !== undefined && v >= 0 && v <= RING_STOP_BOUND_MS, `${n} stopped ringing ${v} ms after the answer`);
    }
    for (const n of BOB_PHONES) {
      const d = r.im!.perDevice[n];
      assert.deepEqual(d, { received: 3, inOrder: true, exactlyOnce: true, contentOk: true }, n);
    }
    assert.equal(r.im!.receipts, 9, 'a receipt per message per device');
    assert.equal(r.presence?.oneDeviceLeftDevices, 1, 'online while any device is: the last phone still gets IMs');
    assert.equal(r.presence?.allOffHeld, true, 'all phones off: offline, the IM is held');
  });
}
