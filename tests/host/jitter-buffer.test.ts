// The firmware's jitter buffer (firmware/media/jitter.ts and friends) driven from the host through
// build/jitter-harness.wasm (tests/jitter/harness.ts, built here if stale) with packet traces from the
// link models: reordering, duplicates, clock drift, delay spikes, SSRC change / timestamp jump, pitch
// under time-stretching, and no allocation on the hot path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rng, composeLink, constantDelay, delaySpikes, paretoJitter, uniformJitter, type LinkModel, type TraceEntry,
} from '../../host-sim/net/index.js';
import { JitterHarness, OP, runTrace, sendTimes, type CodecName } from '../../tools/bench-jitter-lib.js';

const hx = new JitterHarness();

/** A 20 ms-frame trace of `seconds` through `model`, sender clock `ppm` fast. */
function trace(model: LinkModel, seconds: number, seed = 1, ppm = 0): TraceEntry[] {
  const rng = new Rng(seed);
  return sendTimes(Math.round(seconds * 50), 160, ppm, 1_000_000).map((t) => {
    const d = model.transit(t, rng);
    return { sendUs: t, arrivalUs: d < 0 ? null : t + d };
  });
}

/** Speech-like test signal: a 200 Hz tone with a slow on/off envelope (pauses let time-stretching work). */
function voice(n: number, hz = 200): Int16Array {
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const env = Math.sin((Math.PI * (i % 12000)) / 12000) > 0.3 ? 1 : 0;
    x[i] = Math.round(env * 8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  }
  return x;
}

const payloadsFor = (codec: CodecName, n: number, signal = voice(160 * 50 * 60)) => hx.encodeFrames(codec, signal, n);

test('reordered and duplicated packets: every duplicate is dropped and counted, nothing is lost, late loss ≤ 1 %', () => {
  // iid jitter of 0–60 ms on 20 ms packets reorders about a third of them
  const tr = trace(composeLink({ delay: uniformJitter(20_000, 60_000) }), 60);
  const payloads = payloadsFor('pcmu', tr.length);
  const dups = [];
  for (let k = 5; k < tr.length; k += 37) dups.push({ arrivalUs: tr[k].arrivalUs! + 3_000, index: k });
  for (let k = 11; k < tr.length; k += 101) dups.push({ arrivalUs: tr[k].arrivalUs! + 500_000, index: k }); // very late copies
  const r = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: tr, payloads, extra: dups });
  assert.ok(r.stats.reordered > tr.length / 10, `reordered ${r.stats.reordered}`);
  assert.equal(r.stats.duplicates, dups.length);
  assert.equal(r.stats.lost, 0);
  assert.ok(r.lateLoss <= 0.01, `late ${r.lateLoss}`);
  assert.ok(r.p95AddedMs < 80, `p95 ${r.p95AddedMs}`);
});

test('±200 ppm sender clock drift for 20 minutes: the delay neither grows nor collapses, no concealment bursts', () => {
  const model = composeLink({ delay: uniformJitter(5_000, 5_000) });
  for (const ppm of [200, -200]) {
    const tr = trace(model, 20 * 60, 3, ppm);
    const payloads = payloadsFor('pcmu', 3000);
    let run = 0, longest = 0;
    const r = runTrace(hx, { kind: 'adaptive' }, {
      codec: 'pcmu', trace: tr, payloads: tr.map((_, k) => payloads[k % payloads.length]), senderPpm: ppm,
      onBlock: (_t, op) => { if (op === OP.EXPAND) run += 10; else { longest = Math.max(longest, run); run = 0; } },
    });
    const a = r.addedMs;
    const mean = (from: number, to: number) => { let s = 0; for (let i = from; i < to; i++) s += a[i]; return s / (to - from); };
    const first = mean(6000, 36000), last = mean(a.length - 30000, a.length); // minutes 1–6 vs the last 5
    let mx = -Infinity, mn = Infinity;
    for (let i = 6000; i < a.length; i++) { mx = Math.max(mx, a[i]); mn = Math.min(mn, a[i]); }
    // 20 min × 200 ppm = 240 ms of drift: a fixed buffer would gain or lose that much
    assert.ok(Math.abs(last - first) < 10, `${ppm} ppm: mean delay ${first.toFixed(1)} → ${last.toFixed(1)} ms`);
    assert.ok(mx < 45 && mn > 0, `${ppm} ppm: delay range ${mn.toFixed(1)}…${mx.toFixed(1)} ms`);
    assert.ok(longest <= 20, `${ppm} ppm: longest concealment ${longest} ms`);
    assert.ok(r.concealment < 0.001, `${ppm} ppm: concealment ${r.concealment}`);
    assert.ok(Math.abs(r.driftPpm - ppm) <= 20, `${ppm} ppm: estimated ${r.driftPpm}`);
    assert.ok(ppm > 0 ? r.stats.accelerateOps > 0 : r.stats.decelerateOps > 0, JSON.stringify(r.ops));
  }
  // the fixed buffer on the same path does drift by the full amount
  const tr = trace(model, 20 * 60, 3, 200);
  const payloads = payloadsFor('pcmu', 3000);
  const f = runTrace(hx, { kind: 60 }, { codec: 'pcmu', trace: tr, payloads: tr.map((_, k) => payloads[k % payloads.length]), senderPpm: 200 });
  assert.ok(f.addedMs[f.addedMs.length - 1] - f.addedMs[6000] > 200, 'fixed buffer grew by ≈ 240 ms');
});

test('a delay spike (link stalls 400 ms) is ridden out without late loss and the delay comes back within seconds', () => {
  const tr = trace(composeLink({ delay: uniformJitter(20_000, 4_000) }), 40);
  // stall at 20 s: packets sent in [20 s, 20.4 s) all arrive at 20.4 s + 20 ms
  const stallAt = 21_000_000;
  const spiky = tr.map((e) => (e.sendUs >= stallAt && e.sendUs < stallAt + 400_000 ? { ...e, arrivalUs: stallAt + 420_000 } : e));
  const payloads = payloadsFor('pcmu', tr.length);
  const delays: [number, number][] = [];
  const r = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: spiky, payloads, onBlock: (t, op, h) => { if (op !== OP.SILENCE) delays.push([t, Number(hx.ex.delayUs(h, BigInt(Math.round(t)))) / 1000]); } });
  assert.equal(r.stats.late, 0);
  assert.equal(r.stats.lost, 0);
  const at = (t: number) => delays.find(([tt]) => tt >= t)![1];
  const before = at(stallAt - 1_000_000);
  assert.ok(at(stallAt + 500_000) > before + 300, 'the spike was absorbed by waiting (delay grew)');
  assert.ok(at(stallAt + 5_000_000) < before + 30, `back near the target 5 s later: ${before} → ${at(stallAt + 5_000_000)}`);
  assert.ok(Number(hx.ex.targetUs(0)) >= 0);
});

test('rare spikes do not hold the target up: the stall counts once, not once per packet', () => {
  const tr = trace(composeLink({ delay: uniformJitter(20_000, 4_000), events: [delaySpikes({ ratePerS: 1 / 30, stallUs: 300_000 })] }), 120, 5);
  const payloads = payloadsFor('pcmu', tr.length);
  const r = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: tr, payloads });
  assert.ok(r.p95AddedMs < 40, `p95 ${r.p95AddedMs} ms`);
  assert.equal(r.stats.late, 0);
});

test('a new SSRC and a timestamp jump mid-call restart the timeline; audio goes on', () => {
  const tr = trace(composeLink({ delay: constantDelay(10_000) }), 30);
  const payloads = payloadsFor('pcmu', tr.length);
  // from packet 500 on: another SSRC (a new sender), from packet 1000 on: timestamps 1 hour ahead
  const cut = tr.map((e, k) => ({ ...e, arrivalUs: k >= 500 ? null : e.arrivalUs }));
  const extra = tr.slice(500).map((e, i) => ({ arrivalUs: e.arrivalUs!, index: 500 + i, ssrc: 0xabc, tsOffset: 500 + i >= 1000 ? 8000 * 3600 : 0, seqOffset: 7000 }));
  let audioAfter = 0;
  const r = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: cut, payloads, extra, onBlock: (t, _op, h) => { if (t > 21_500_000 && hx.ex.blockHasAudio(h)) audioAfter++; } });
  assert.equal(r.stats.ssrcChanges, 1);
  assert.equal(r.stats.tsJumps, 1);
  assert.ok(audioAfter > 900, `blocks with audio after the jump: ${audioAfter}`);
  assert.ok(Number(hx.ex.targetUs(0)) < 100_000);
});

test('time-stretching keeps the pitch: a 250 Hz tone through a jittery path stays at 250 Hz (±2 %)', () => {
  const tone = new Int16Array(160 * 50 * 30);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 250 * i) / 8000));
  const tr = trace(composeLink({ delay: paretoJitter(20_000, { scaleUs: 15_000, shape: 2.5, capUs: 200_000 }) }), 30, 9);
  const r = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: tr, payloads: hx.encodeFrames('pcmu', tone, tr.length), keepAudio: true });
  assert.ok(r.stats.accelerateOps + r.stats.decelerateOps > 10, JSON.stringify(r.ops));
  const a = r.audio!;
  let first = -1, last = -1, n = 0;
  for (let i = 8000; i < a.length - 16000; i++) if (a[i - 1] < 0 && a[i] >= 0) { if (first < 0) first = i; else n++; last = i; }
  const hz = (8000 * n) / (last - first);
  assert.ok(Math.abs(hz - 250) < 5, `${hz.toFixed(2)} Hz`);
});

test('the hot path allocates nothing (put/pull over a lossy, jittery minute, G.711 and iLBC)', () => {
  const hx = new JitterHarness(true); // stub runtime: nothing is ever freed, so any allocation shows
  const payloadsFor = (codec: CodecName, n: number) => hx.encodeFrames(codec, voice(160 * 50 * 60), n);
  for (const codec of ['pcmu', 'ilbc20'] as CodecName[]) {
    const tr = trace(composeLink({ delay: paretoJitter(20_000, { scaleUs: 10_000, shape: 2 }) }), 60, 4).map((e, k) => (k % 17 === 3 ? { ...e, arrivalUs: null } : e));
    // codec state is created on first use (firmware/media/codec.ts): a short call first
    runTrace(hx, { kind: 'adaptive' }, { codec, trace: tr.slice(0, 50), payloads: payloadsFor(codec, 50) });
    const r = runTrace(hx, { kind: 'adaptive' }, { codec, trace: tr, payloads: payloadsFor(codec, tr.length) });
    assert.equal(r.heapGrowth, 0, `${codec}: heap grew by ${r.heapGrowth} B`);
    assert.ok(r.stats.expandEvents > 50 && r.stats.merges > 50);
  }
});

test('adaptive vs fixed on the same trace: less delay than a fixed 60 ms buffer at no more late loss', () => {
  const tr = trace(composeLink({ delay: paretoJitter(25_000, { scaleUs: 7_500, shape: 2.5 }) }), 120, 12);
  const payloads = payloadsFor('pcmu', tr.length);
  const a = runTrace(hx, { kind: 'adaptive' }, { codec: 'pcmu', trace: tr, payloads });
  const f = runTrace(hx, { kind: 60 }, { codec: 'pcmu', trace: tr, payloads });
  assert.ok(a.p95AddedMs < f.p95AddedMs, `p95 ${a.p95AddedMs} vs ${f.p95AddedMs}`);
  assert.ok(a.lateLoss <= Math.max(0.01, f.lateLoss), `late ${a.lateLoss} vs ${f.lateLoss}`);
  assert.match(a.text, /jbDelayMs=[\d.]+ jbTargetMs=[\d.]+ .*lateLoss=0\.\d{4} concealment=0\.\d{4} accelRate=0\.\d{4} decelRate=0\.\d{4} expandEvents=\d+ driftPpm=-?\d+ burstR=[\d.]+/);
});
