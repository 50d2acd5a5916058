// End-to-end scenarios of issue #2 on the real build/firmware.wasm in the deterministic simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import lenaWav from 'audio-lena/wav';
import { runScenario, type ScenarioName } from '../../host-sim/scenario.js';
import { decodeWav } from '../../host-sim/audio-io.js';

const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;
const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `sim-${tag}-`));

/** codec: 'offer' = the phones' default offer (iLBC 30 preferred); otherwise force that codec. */
function run(scenario: ScenarioName, seed = 1, input = lena, codec: 'pcmu' | 'ilbc30' | 'ilbc20' | 'offer' = 'pcmu') {
  const outDir = tmp(scenario);
  return { outDir, report: runScenario({ scenario, seed, input, inputName: 'lena', codec: codec === 'offer' ? undefined : codec, outDir }) };
}

test('default offer negotiates iLBC 30 ms, and bob hears exactly what the codec alone produces (the network adds nothing)', () => {
  const { report } = run('default', 1, lena, 'offer');
  assert.equal(report.ok, true, report.failure);
  assert.equal(report.codec, 'ilbc30');
  assert.equal(report.path, 'direct-udp');
  assert.ok(report.audio!.snrVsCodecDb! >= 90, `vs codec alone: ${report.audio!.snrVsCodecDb} dB`);
  // 30 ms frames: 50 B payload + 12 B RTP header + 16 B AEAD tag (issue #7, sec/srtp.ts) ≈ 33 packets/s.
  const m = report.phones.alice.media!;
  assert.equal(Math.round(m.bytesSent / m.packetsSent), 78);
});

test('iLBC 20 ms forced with --codec ilbc20 is what both phones use', () => {
  const { report } = run('default', 2, lena.subarray(0, 8000 * 4), 'ilbc20');
  assert.equal(report.codec, 'ilbc20');
  assert.ok(report.audio!.snrVsCodecDb! >= 90);
  const m = report.phones.bob.media!;
  assert.equal(Math.round(m.bytesSent / m.packetsSent), 66); // 38 B iLBC 20 ms frame + 12 B RTP + 16 B tag
});

test('default scenario with G.711: both phones log in, alice behind a port-restricted NAT reaches bob directly over UDP, speech SNR >= 30 dB', () => {
  const { report } = run('default');
  assert.equal(report.ok, true, report.failure);
  assert.equal(report.phones.alice.loggedIn, true);
  assert.equal(report.phones.bob.loggedIn, true);
  assert.equal(report.phones.alice.nat?.public, false, 'alice is behind the NAT');
  assert.equal(report.phones.bob.nat?.public, true, 'bob is public');
  assert.equal(report.search?.found, true);
  assert.equal(report.path, 'direct-udp', 'hole punching through the port-restricted cone NAT');
  assert.equal(report.callSetup?.signaling, 'direct-tcp', 'bob is publicly reachable, so signaling goes end to end');
  assert.ok(report.audio!.snrDb >= 30, `SNR ${report.audio!.snrDb} dB`);
  // 20 ms packets both ways for the whole talk (≈ 12.3 s of input + 0.5 s).
  assert.ok(report.phones.alice.media!.packetsSent > 600);
  assert.equal(report.phones.bob.media!.lost, 0);
  assert.ok(fs.statSync(report.audio!.micWav).size > 150_000 && fs.statSync(report.audio!.speakerWav).size > 150_000);
});

test('firewall scenario: bob behind a UDP-blocking firewall logs in over TCP and the call is relayed over TCP', () => {
  const { report } = run('firewall');
  assert.equal(report.ok, true, report.failure);
  assert.equal(report.phones.bob.nat?.udp, false);
  assert.equal(report.path, 'relay-tcp');
  assert.equal(report.callSetup?.signaling, 'via-supernodes');
  assert.ok(report.audio!.snrDb >= 30, `SNR ${report.audio!.snrDb} dB`);
});

test('login with a wrong password fails with a clear message on the phone and in the report', () => {
  const { report } = run('wrong-password');
  assert.equal(report.phones.alice.loggedIn, false);
  assert.equal(report.phones.alice.loginFailure, 'bad-credentials');
  assert.match(report.phones.alice.lcd.join('\n'), /Login failed: password/);
  assert.equal(report.phones.bob.loggedIn, true, 'the other phone is unaffected');
  assert.equal(report.ok, false);
});

test('the default scenario is reproducible from its seed: report and WAVs byte for byte (CLI, twice)', () => {
  const outDir = tmp('repro');
  const hashes = () => ['call-report.json', 'alice-mic.wav', 'bob-speaker.wav']
    .map((f) => crypto.createHash('sha256').update(fs.readFileSync(path.join(outDir, f))).digest('hex'));
  const sim = (seed: number) => execFileSync(process.execPath, ['dist/sim.js', 'run', '--seed', String(seed), '--out', outDir], { encoding: 'utf8' });
  sim(42); const first = hashes();
  sim(42); const second = hashes();
  assert.deepEqual(second, first);
  sim(43); const other = hashes();
  assert.notEqual(other[0], first[0], 'another seed gives another run (ports, jitter, timings)');
});

test('the CLI rejects bad arguments with one clear line and a non-zero exit', () => {
  for (const [args, msg] of [[['--scenario', 'nope'], /unknown scenario 'nope'/], [['--input', '/nonexistent.wav'], /input file not found/],
    [['--seed', 'x'], /integer/], [['--codec', 'opus'], /unknown codec/]] as [string[], RegExp][]) {
    const r = spawnSync(process.execPath, ['dist/sim.js', 'run', ...args, '--out', tmp('bad')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, msg);
    assert.ok(r.stderr.trim().split('\n').length <= 2, `short error for ${args.join(' ')}: ${r.stderr}`);
  }
});
