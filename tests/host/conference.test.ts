// Issue #8: conferencing and blind transfer, as the scenarios of `npm start -- --scenario conference|transfer`
// run them (host-sim/scenarios/conference.ts, transfer.ts). Needs build/firmware.wasm (npm run build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConference, GAP_LIMIT_MS, type ConferenceReport } from '../../host-sim/scenarios/conference.js';
import { runConferencePaths } from '../../host-sim/scenarios/conference-paths.js';
import { runTransfer } from '../../host-sim/scenarios/transfer.js';
import { runConferenceCrash } from '../../host-sim/scenarios/conference-crash.js';

/** The seed-1 conference scenario, run once for the tests of this file that read its report. */
let mainRun: ConferenceReport | undefined;
const mainConference = () => (mainRun ??= runConference({ seed: 1 }));

test('a 5-party conference (two parties behind UDP-blocking firewalls) gives every party the exact N−1 mix and survives the host hanging up', () => {
  const r = mainConference();
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

// Issue #8 gap 1: conference legs go through the path selection of a call (candidates, hole punching with port
// prediction, direct UDP where RFC 4787 allows it, relay-udp / relay-tcp otherwise, the direct-path watchdog).
test('conference legs, added later or re-established at a handover, get a direct UDP path to public and cone-NAT participants; UDP-blocked ones join over relay-tcp', () => {
  const r = mainConference();
  assert.equal(r.ok, true, r.failure);
  const leg = (host: string, peer: string) => r.legs.find((l) => l.host === host && l.peer === peer);
  // alice (port-restricted cone) adds bob (public): punched.
  assert.equal(leg('alice', 'bob')?.path, 'direct-udp');
  assert.ok(leg('alice', 'bob')!.punchMs! > 0);
  // bob hosts after the election and calls everyone again: public ↔ symmetric NAT is direct too (bob's open
  // filter learns carol's mapping from her PUNCH); alice (port-restricted) ↔ carol (symmetric) cannot be.
  assert.equal(leg('bob', 'carol')?.path, 'direct-udp');
  assert.equal(leg('alice', 'carol')?.path, 'relay-udp');
  for (const l of r.legs.filter((x) => x.peer === 'dave' || x.peer === 'erin')) assert.equal(l.path, 'relay-tcp', `${l.host}→${l.peer}`);
  // The call the conference started from keeps its path.
  assert.equal(r.relayedCall.pathBefore, 'relay-tcp');
  assert.equal(r.relayedCall.staysRelayed, true);
});

test('conference legs from a host behind a NAT: direct to cone NATs and (by port prediction) to a sequential symmetric NAT; a leg falls back to the relay when its direct path dies, without dropping', () => {
  const r = runConferencePaths({ seed: 1 });
  assert.equal(r.ok, true, r.failure);
  const leg = (peer: string) => r.legs.find((l) => l.peer === peer)!;
  assert.equal(leg('carol').path, 'direct-udp'); // port-restricted cone ↔ port-restricted cone
  // symmetric NAT with sequential ports: its late prediction base (NAT_INFO on the leg) lets the host punch it.
  assert.equal(leg('frank').path, 'direct-udp');
  assert.ok(leg('frank').predictedPort! >= 1, `frank reached on a predicted port (k=${leg('frank').predictedPort})`);
  assert.equal(leg('bob').fallbacks, 1); // full cone: direct, then cut
  assert.equal(leg('erin').path, 'relay-tcp');
  assert.equal(r.relayedCall.pathBefore, 'relay-tcp');
  assert.equal(r.relayedCall.staysRelayed, true);
  // Cut mid-conference: both ends notice within the watchdog's 100 ms (plus a frame), the leg goes on relayed.
  assert.ok(r.fallback!.hostDetectMs! <= 200, `host detected after ${r.fallback!.hostDetectMs} ms`);
  assert.ok(r.fallback!.peerDetectMs! <= 200, `bob detected after ${r.fallback!.peerDetectMs} ms`);
  assert.ok(r.fallback!.hostRelayPackets! > 100, `${r.fallback!.hostRelayPackets} leg packets on the relay after the cut`);
  assert.ok(r.fallback!.bobSilenceMs! <= 200, `bob heard ${r.fallback!.bobSilenceMs} ms of silence`);
  for (const [n, s] of Object.entries(r.snr!)) assert.equal(s.snrDb, 99, `${n}: ${s.snrDb} dB`);
});

test('each conference leg negotiates its codec like a call: iLBC legs, each with codec state of its own, mixed at 8 kHz', () => {
  const r = runConferencePaths({ seed: 1, codecs: ['ilbc30', 'ilbc20', 'pcmu', 'pcma'] });
  assert.equal(r.ok, true, r.failure);
  for (const l of r.legs) assert.equal(l.codec, 'ilbc30', `alice→${l.peer}`);
  // A lossy codec cannot be bit-exact: against an independent run of the iLBC reference (other frame
  // boundaries and state) the mix still matches far above the codec's own noise floor for the host (one
  // pass), and at the level of two codec passes for the participants (seed 1: host 15.4 dB, participants
  // 6.4–6.8 dB; 4.1–4.4 dB against the uncoded mix, codec alone 9.3 dB). With the legs sharing the phone's
  // iLBC state instead (tried), every party scored 1.0–1.6 dB.
  assert.ok(r.codecAloneDb! > 5, `codec alone ${r.codecAloneDb} dB`);
  assert.ok(r.snr!.alice.snrDb >= r.codecAloneDb!, `host ${r.snr!.alice.snrDb} dB`);
  for (const n of Object.keys(r.snr!).filter((x) => x !== 'alice')) {
    assert.ok(r.snr![n].snrDb >= 4, `${n}: ${r.snr![n].snrDb} dB against the tandem-coded mix`);
    assert.ok(r.snrUncoded![n].snrDb >= r.codecAloneDb! - 7, `${n}: ${r.snrUncoded![n].snrDb} dB against the uncoded mix`);
  }
});

// Issue #8 gap 2: a host that crashes (power cut: no BYE, no HANDOVER) does not end the conference. The others
// notice its silence (300 ms), agree on the successor from the last CONF_ROSTER and rejoin it
// (firmware/call/conf-failover.ts; host-sim/scenarios/conference-crash.ts).
test('the host of a 5-party conference loses power: the other 4 agree on the successor and hear the exact N−1 mix again within 1 s', () => {
  const r = runConferenceCrash({ seed: 1, parties: 5 });
  assert.equal(r.ok, true, r.failure);
  // bob (public) hosted after the election; alice scores highest of the rest (ties by name with carol).
  assert.equal(r.crash?.host, 'bob');
  assert.equal(r.crash?.successor, 'alice');
  assert.equal(r.crash?.agreed, true);
  assert.deepEqual(r.hosts.map((h) => `${h.host}:${h.by}`), ['alice:add', 'bob:handover', 'alice:failover']);
  // Before: all five hear the exact mix of the other four; after: the four survivors the mix of the other three.
  assert.equal(Object.keys(r.snrBefore!).length, 5);
  for (const [n, s] of Object.entries(r.snrBefore!)) assert.ok(s.snrDb >= 40, `${n}: ${s.snrDb} dB before the crash`);
  assert.deepEqual(Object.keys(r.snrAfter!).sort(), ['alice', 'carol', 'dave', 'erin']);
  for (const [n, s] of Object.entries(r.snrAfter!)) assert.ok(s.snrDb >= 40, `${n}: ${s.snrDb} dB after the crash`);
  // Every survivor detected the silence (300 ms + its path delay, never before the timeout) and the audible gap
  // — last old audio to the first 100 ms of the correct new mix — stays within 1 s.
  for (const [n, g] of Object.entries(r.crash!.gaps)) {
    assert.ok(g.detectMs !== undefined && g.detectMs >= 300 && g.detectMs < 600, `${n}: detected after ${g.detectMs} ms`);
    assert.ok(g.gapMs > 0 && g.gapMs <= GAP_LIMIT_MS, `${n}: gap ${g.gapMs} ms`);
  }
  // The firewalled phones rejoined over relay-tcp.
  for (const p of ['dave', 'erin']) assert.equal(r.legs.find((l) => l.host === 'alice' && l.peer === p)?.path, 'relay-tcp');
});

test('a participant that only lost its own network for 1 s (false alarm) keeps the host: no takeover, the exact mix again after', () => {
  const r = runConferenceCrash({ seed: 1, parties: 5, outage: { node: 'carol', ms: 1000 } });
  assert.equal(r.ok, true, r.failure);
  const o = r.outage!;
  // carol noticed the host's silence, but the host came back before her turn (rank 1: 3 s) to take over.
  assert.ok(o.lostMs !== undefined && o.lostMs >= 300 && o.lostMs < 600, `lost after ${o.lostMs} ms`);
  assert.ok(o.backMs !== undefined && o.backMs >= 1000 && o.backMs < 1500, `back after ${o.backMs} ms`);
  assert.equal(o.failovers, 0);
  assert.deepEqual(o.hostsAfter, []);
  for (const [n, s] of Object.entries(o.snr)) assert.ok(s.snrDb >= 40, `${n}: ${s.snrDb} dB after the outage`);
});
