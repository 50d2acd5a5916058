/**
 * `npm run bench:jitter` — the jitter buffer benchmark of issue #6.
 *
 * For every network condition (tools/bench-jitter-conditions.ts) and seed, one packet trace is made;
 * the firmware's adaptive buffer and the same buffer code in fixed mode (60 ms and 120 ms) all play
 * that trace (tools/bench-jitter-lib.ts drives build/jitter-harness.wasm). Per buffer, pooled over the
 * seeds: mean and p95 added delay (capture → speaker minus packetization minus the trace's fastest
 * transit), late loss (packets that arrived after their audio was played / packets sent), concealment
 * (share of played time that was invented) and the E-model MOS (host-sim/emodel.ts, from the mean
 * mouth-to-ear delay, the codec's Ie/Bpl, concealment as effective loss and the observed burstiness).
 *
 * Writes out/jitter-bench.json in exactly the schema and out/jitter-bench-details.json
 * (per-condition descriptions, raw counters, the ±200 ppm one-hour drift runs, LAN mouth-to-ear), and
 * prints a table.
 *
 * Options: --codec ilbc20|ilbc30|pcmu (default ilbc20), --seconds N per trace (default 180),
 * --seeds N (default 3), --drift-minutes N (default 60), --out DIR (default out).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import lenaWav from 'audio-lena/wav';
import { decodeWav } from '../host-sim/audio-io.js';
import { Rng, composeLink, uniformJitter } from '../host-sim/net/index.js';
import { callQuality } from '../host-sim/emodel.js';
import { FRAME_SAMPLES, JitterHarness, runTrace, sendTimes, type BufferSpec, type CodecName, type RunResult } from './bench-jitter-lib.js';
import { CONDITIONS, conditionTrace } from './bench-jitter-conditions.js';
import { runScenario } from '../host-sim/scenario.js';

interface Args { codec: CodecName; seconds: number; seeds: number; driftMinutes: number; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { codec: 'ilbc20', seconds: 180, seeds: 3, driftMinutes: 60, out: 'out' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    const num = () => { const n = Number(v); if (!Number.isFinite(n) || n <= 0) fail(`${k} needs a positive number`); i++; return n; };
    if (k === '--codec') { if (!(v in FRAME_SAMPLES)) fail(`unknown codec '${v}' (ilbc20, ilbc30, pcmu, pcma)`); a.codec = v as CodecName; i++; }
    else if (k === '--seconds') a.seconds = num();
    else if (k === '--seeds') a.seeds = Math.round(num());
    else if (k === '--drift-minutes') a.driftMinutes = num();
    else if (k === '--out') { if (!v) fail('--out needs a directory'); a.out = v; i++; }
    else fail(`unknown option ${k}`);
  }
  return a;
}

function fail(msg: string): never {
  process.stderr.write(`bench:jitter: ${msg}\n`);
  process.exit(1);
}

const BUFFERS: Record<'adaptive' | 'fixed60' | 'fixed120', BufferSpec> = {
  adaptive: { kind: 'adaptive' },
  fixed60: { kind: 60 },
  fixed120: { kind: 120 },
};

interface Pooled {
  added: number[]; e2e: number[]; late: number; sent: number; concealed: number; out: number;
  burstR: number[]; accelerateOps: number; decelerateOps: number; expandEvents: number; heapGrowth: number;
}

function pool(p: Pooled, r: RunResult, sent: number): void {
  for (const v of r.addedMs) p.added.push(v);
  for (const v of r.e2eMs) p.e2e.push(v);
  p.late += r.stats.late; p.sent += sent;
  p.concealed += r.concealment * r.stats.samplesOut; p.out += r.stats.samplesOut;
  p.burstR.push(r.burstR);
  p.accelerateOps += r.stats.accelerateOps; p.decelerateOps += r.stats.decelerateOps; p.expandEvents += r.stats.expandEvents;
  p.heapGrowth = Math.max(p.heapGrowth, r.heapGrowth);
}

const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0);
const pct = (a: number[], q: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0; };
const r1 = (x: number) => Math.round(x * 10) / 10;
const r4 = (x: number) => Math.round(x * 10000) / 10000;

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;
  const hx = new JitterHarness();
  const frame = FRAME_SAMPLES[args.codec];
  const count = Math.round((args.seconds * 8000) / frame);
  const payloads = hx.encodeFrames(args.codec, lena, Math.max(count, 1));
  const conditions: unknown[] = [];
  const details: Record<string, unknown>[] = [];
  for (const c of CONDITIONS) {
    const pooled: Record<string, Pooled> = {};
    let netLost = 0, netSent = 0;
    for (const name of Object.keys(BUFFERS)) pooled[name] = { added: [], e2e: [], late: 0, sent: 0, concealed: 0, out: 0, burstR: [], accelerateOps: 0, decelerateOps: 0, expandEvents: 0, heapGrowth: 0 };
    for (let seed = 1; seed <= args.seeds; seed++) {
      const trace = conditionTrace(c, seed, count, frame);
      netLost += trace.filter((e) => e.arrivalUs === null).length; netSent += trace.length;
      for (const [name, spec] of Object.entries(BUFFERS)) pool(pooled[name], runTrace(hx, spec, { codec: args.codec, trace, payloads }), trace.length);
    }
    const buffers: Record<string, unknown> = {};
    const extra: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(pooled)) {
      const concealment = p.out ? p.concealed / p.out : 0;
      const q = callQuality({ mouthToEarMs: mean(p.e2e), codec: args.codec, pplPct: concealment * 100, burstR: mean(p.burstR) });
      buffers[name] = { meanAddedMs: r1(mean(p.added)), p95AddedMs: r1(pct(p.added, 0.95)), lateLoss: r4(p.sent ? p.late / p.sent : 0), concealment: r4(concealment), mos: Math.round(q.mos * 100) / 100 };
      extra[name] = { meanMouthToEarMs: r1(mean(p.e2e)), R: q.R, burstR: q.BurstR, accelerateOps: p.accelerateOps, decelerateOps: p.decelerateOps, expandEvents: p.expandEvents, heapGrowthBytes: p.heapGrowth };
    }
    conditions.push({ name: c.name, buffers });
    details.push({ name: c.name, description: c.description, networkLoss: r4(netLost / netSent), packets: netSent, buffers: extra });
  }
  const drift = [200, -200].map((ppm) => driftRun(hx, args.codec, ppm, args.driftMinutes, payloads, args.seeds));
  const m2e = scenarioMouthToEar(lena, args.out);
  const lan = details[0].buffers as Record<string, { meanMouthToEarMs: number }>;
  fs.mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, 'jitter-bench.json');
  fs.writeFileSync(file, JSON.stringify({ conditions }, null, 2) + '\n');
  const dfile = path.join(args.out, 'jitter-bench-details.json');
  fs.writeFileSync(dfile, JSON.stringify({
    codec: args.codec, secondsPerTrace: args.seconds, seeds: args.seeds,
    definitions: {
      addedMs: 'capture-to-speaker delay of each 10 ms block with audio, minus packetization (one frame) and minus the fastest transit of the trace',
      lateLoss: 'packets that arrived after their audio had been played (or passed over) / packets sent',
      concealment: 'share of the played time produced by concealment (expand), from the first to the last block with audio',
      mos: 'ITU-T G.107 Annex B from R with Ta = mean mouth-to-ear, codec Ie/Bpl, Ppl = concealment, BurstR observed',
    },
    conditions: details, drift, lanMouthToEarMs: lan.adaptive.meanMouthToEarMs, scenarioMouthToEar: m2e,
  }, null, 2) + '\n');
  printTable(conditions as TableRow[], details, drift, args);
  for (const m of m2e) process.stdout.write(`mouth-to-ear in the simulator (click at alice's mic → bob's speaker, firmware.wasm): ${m.network} ${m.codec}: ${m.clickMs ?? m.error} ms` + (m.R !== undefined ? ` (R ${m.R}, MOS ${m.mos})` : '') + '\n');
  process.stdout.write(`\nwrote ${file} and ${dfile} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

interface TableRow { name: string; buffers: Record<string, { meanAddedMs: number; p95AddedMs: number; lateLoss: number; concealment: number; mos: number }> }

function printTable(rows: TableRow[], details: Record<string, unknown>[], drift: ReturnType<typeof driftRun>[], args: Args): void {
  const L: string[] = [];
  L.push(`jitter buffer benchmark — ${args.codec}, ${args.seeds} × ${args.seconds} s per condition; added delay mean/p95 ms, late loss %, concealment %, MOS`);
  L.push(`${'condition'.padEnd(10)} ${'net loss'.padStart(8)} │ ${['adaptive', 'fixed 60 ms', 'fixed 120 ms'].map((s) => s.padEnd(33)).join('│ ')}`);
  rows.forEach((r, i) => {
    const nl = ((details[i].networkLoss as number) * 100).toFixed(2) + '%';
    const cell = (b: TableRow['buffers'][string]) =>
      `${b.meanAddedMs.toFixed(1).padStart(6)}/${b.p95AddedMs.toFixed(1).padStart(6)} ${(b.lateLoss * 100).toFixed(2).padStart(5)}% ${(b.concealment * 100).toFixed(2).padStart(5)}% ${b.mos.toFixed(2).padStart(4)} `;
    L.push(`${r.name.padEnd(10)} ${nl.padStart(8)} │ ${cell(r.buffers.adaptive)}│ ${cell(r.buffers.fixed60)}│ ${cell(r.buffers.fixed120)}`);
  });
  L.push('');
  L.push(`LAN mouth-to-ear (adaptive, ${args.codec}): ${(details[0].buffers as Record<string, { meanMouthToEarMs: number }>).adaptive.meanMouthToEarMs} ms (capture → speaker, incl. ${FRAME_SAMPLES[args.codec] / 8} ms packetization)`);
  for (const d of drift) {
    L.push(`drift ${d.ppm > 0 ? '+' : ''}${d.ppm} ppm for ${d.minutes} min (adaptive): delay after the first minute ${d.delayMinMs}…${d.delayMaxMs} ms (first/last 5 min mean ${d.firstMeanMs} → ${d.lastMeanMs}), ` +
      `concealment ${(d.concealment * 100).toFixed(3)}%, longest concealment ${d.longestExpandMs} ms, accelerate ${d.accelerateOps}, decelerate ${d.decelerateOps}, drift estimate ${d.driftEstimatePpm} ppm` +
      `; fixed 60 ms: delay ${d.fixed60.firstMeanMs} → ${d.fixed60.lastMeanMs} ms, late ${(d.fixed60.lateLoss * 100).toFixed(1)}%`);
  }
  process.stdout.write(L.join('\n') + '\n');
}

/** The default scenario on a LAN-like and on the default (50 ms RTT) world: mouth-to-ear by click. */
function scenarioMouthToEar(lena: Int16Array, outDir: string) {
  const out: { network: string; codec: string; clickMs?: number; R?: number; mos?: number; error?: string }[] = [];
  for (const [network, lan, codec] of [['LAN', true, 'ilbc20'], ['LAN', true, 'pcmu'], ['WAN 50 ms RTT', false, 'ilbc20']] as const) {
    try {
      const r = runScenario({ scenario: 'default', seed: 1, input: lena, inputName: 'lena', codec, outDir: path.join(outDir, 'jitter-bench-m2e'), lan });
      out.push({ network, codec, clickMs: r.audio?.mouthToEarClickMs, R: r.quality?.R, mos: r.quality?.mos, ...(r.ok ? {} : { error: r.failure }) });
    } catch (e) {
      out.push({ network, codec, error: (e as Error).message });
    }
  }
  return out;
}

/** One long call at ±ppm sender clock error over a mildly jittery LAN-like path. */
function driftRun(hx: JitterHarness, codec: CodecName, ppm: number, minutes: number, payloads: Uint8Array[], _seeds: number) {
  const frame = FRAME_SAMPLES[codec];
  const count = Math.round((minutes * 60 * 8000) / frame);
  const model = composeLink({ delay: uniformJitter(5_000, 5_000) });
  const rng = new Rng(11).split(`drift:${ppm}`);
  const trace = sendTimes(count, frame, ppm, 1_000_000).map((t) => { const d = model.transit(t, rng); return { sendUs: t, arrivalUs: d < 0 ? null : t + d }; });
  const looped = Array.from({ length: count }, (_, k) => payloads[k % payloads.length]);
  const run = (spec: BufferSpec) => {
    let longest = 0, cur = 0;
    const r = runTrace(hx, spec, {
      codec, trace, payloads: looped, senderPpm: ppm,
      onBlock: (_t, op) => {
        // a run of concealment counts once audio resumes (not the silence after the stream ended)
        if (op === 4) cur += 10; else { longest = Math.max(longest, cur); cur = 0; }
      },
    });
    return { r, longest };
  };
  const a = run({ kind: 'adaptive' });
  const f = run({ kind: 60 });
  // added delay per block with audio (6000 blocks = the first minute is left out of min/max)
  const e2eAfter = (res: RunResult) => Array.from(res.addedMs.slice(6000));
  const span = (res: RunResult, from: number, to: number) => { const a = res.addedMs; return mean(Array.from(a.slice(Math.floor(from * a.length), Math.floor(to * a.length)))); };
  const steady = e2eAfter(a.r);
  const fivePart = Math.min(0.5, 5 / minutes);
  return {
    ppm, minutes,
    delayMinMs: r1(steady.reduce((m, v) => Math.min(m, v), Infinity)), delayMaxMs: r1(steady.reduce((m, v) => Math.max(m, v), -Infinity)),
    firstMeanMs: r1(span(a.r, 0, fivePart)), lastMeanMs: r1(span(a.r, 1 - fivePart, 1)),
    concealment: r4(a.r.concealment), longestExpandMs: a.longest, expandEvents: a.r.stats.expandEvents,
    accelerateOps: a.r.stats.accelerateOps, decelerateOps: a.r.stats.decelerateOps, lateLoss: r4(a.r.lateLoss),
    driftEstimatePpm: a.r.driftPpm,
    fixed60: { firstMeanMs: r1(span(f.r, 0, fivePart)), lastMeanMs: r1(span(f.r, 1 - fivePart, 1)), lateLoss: r4(f.r.lateLoss), concealment: r4(f.r.concealment) },
  };
}

main();
