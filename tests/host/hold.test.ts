// Issue #8: hold and resume (host-sim/scenarios/hold.ts, `npm start -- --scenario hold`). Needs build/firmware.wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runHold } from '../../host-sim/scenarios/hold.js';

test('a 10-minute hold behind a NAT with a 120 s mapping timeout keeps the binding open and the call resumes both ways', () => {
  const r = runHold({ seed: 1 });
  assert.equal(r.ok, true, r.failure);
  // One keep-alive every 3 s from each side, and they arrive.
  assert.ok(r.keepalives.aliceSent >= 199 && r.keepalives.aliceSent <= 201, `alice sent ${r.keepalives.aliceSent}`);
  assert.ok(r.keepalives.bobSent >= 199 && r.keepalives.bobSent <= 201, `bob sent ${r.keepalives.bobSent}`);
  assert.ok(r.keepalives.bobReceived >= r.keepalives.aliceSent - 1);
  assert.ok(r.keepalives.aliceReceived >= r.keepalives.bobSent - 1);
  // NAT binding and direct path survive: same mapping, no fallback, direct UDP again after resume.
  assert.equal(r.natBinding.kept, true);
  assert.equal(r.fallbacksDuringHold, 0);
  assert.equal(r.pathBefore, 'direct-udp');
  assert.equal(r.pathAfter, 'direct-udp');
  // The held party hears the hold tone (440 Hz, 0.3 s every 4 s); audio flows both ways after resume.
  assert.ok(r.holdToneAtBob.peak > 1000);
  assert.ok(r.holdToneAtBob.onMsPer4s >= 250 && r.holdToneAtBob.onMsPer4s <= 350);
  assert.ok(r.afterResume.aliceToBobPackets >= 200 && r.afterResume.bobToAlicePackets >= 200);
  // Hold from the other side works the same way.
  assert.equal(r.remoteHold?.aliceHeardTone, true);
  assert.equal(r.remoteHold?.resumedBothWays, true);
});
