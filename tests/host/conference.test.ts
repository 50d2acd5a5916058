// Issue #8: conferencing and blind transfer, as the scenarios of `npm start -- --scenario conference|transfer`
// run them (host-sim/scenarios/conference.ts, transfer.ts). Needs build/firmware.wasm (npm run build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConference, GAP_LIMIT_MS } from '../../host-sim/scenarios/conference.js';
import { runTransfer } from '../../host-sim/scenarios/transfer.js';

test('a 5-party conference (two parties behind UDP-blocking firewalls) gives every party the exact N−1 mix and survives the host hanging up', () => {
  const r = runConference({ seed: 1 });
  assert.equal(r.ok, true, r.failure);
  // Election: the public phone (bob) takes over hosting from alice, who started the conference.
  assert.equal(r.election?.winner, 'bob');
  assert.deepEqual(r.hosts.map((h) => h.host), ['alice', 'bob', 'alice']);
  // Every participant hears the mix of the other four (G.711 reference signals, own delays): bit-exact here.
  assert.equal(Object.keys(r.snr5!).length, 5);
  for (const [n, s] of Object.entries(r.snr5!)) assert.ok(s.snrDb >= 40, `${n}: ${s.snrDb} dB`);
  for (const [n, s] of Object.entries(r.snr4!)) assert.ok(s.snrDb >= 40, `${n}: ${s.snrDb} dB after the handover`);
  // The host hung up: the conference went on under alice, with an audio gap under 1 s for everyone.
  assert.equal(r.handover?.leavingHost, 'bob');
  assert.equal(r.handover?.successor, 'alice');
  assert.ok(r.handover!.maxGapMs <= GAP_LIMIT_MS, `gap ${r.handover!.maxGapMs} ms`);
  // The firewalled phones joined through the relay (TCP on their side), and alice's relayed call stayed relayed.
  assert.ok(r.legs.some((l) => l.peer === 'dave') && r.legs.some((l) => l.peer === 'erin'));
  assert.equal(r.relayedCall.pathBefore, 'relay-tcp');
  assert.equal(r.relayedCall.staysRelayed, true);
});

test('blind transfer: the transferee ends the call and reaches the target by itself', () => {
  const r = runTransfer({ seed: 1 });
  assert.equal(r.ok, true, r.failure);
  assert.equal(r.bobEnded, 'transferred');
  assert.equal(r.aliceEnded, 'transferred');
  assert.ok(r.newCall!.carolReceived > 100 && r.newCall!.aliceReceived > 100);
});
