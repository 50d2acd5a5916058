/**
 * Drives the firmware's jitter buffer (build/jitter-harness.wasm, compiled from firmware/media by
 * tests/jitter/harness.ts) with a packet trace, the way a phone would: a sender captures speech in
 * frames, packetizes it into RTP every frame (its sample clock may drift), the trace says when each
 * packet arrives (or that it is lost), and the receiver asks the buffer for one 10 ms block every 10 ms
 * of its own clock. Used by `npm run bench:jitter` (tools/bench-jitter.ts) and the host tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TraceEntry } from '../host-sim/net/link-models.js';
import { callQuality } from '../host-sim/emodel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = path.join(root, 'build/jitter-harness.wasm');
/** Same harness with AssemblyScript's stub runtime (bump allocator, never frees): heap growth is exact. */
const stubPath = path.join(root, 'build/jitter-harness-stub.wasm');

export const OP = { SILENCE: 0, NORMAL: 1, ACCELERATE: 2, DECELERATE: 3, EXPAND: 4, MERGE: 5 } as const;
export const PT = { pcmu: 0, pcma: 8, ilbc30: 97, ilbc20: 98 } as const;
export type CodecName = keyof typeof PT;
export const FRAME_SAMPLES: Record<CodecName, number> = { pcmu: 160, pcma: 160, ilbc20: 160, ilbc30: 240 };
const STAT = [
  'received', 'duplicates', 'late', 'lost', 'samplesOut', 'samplesConcealed', 'samplesAccelerated', 'samplesDecelerated',
  'accelerateOps', 'decelerateOps', 'expandEvents', 'merges', 'reordered', 'ssrcChanges', 'tsJumps', 'framesPlayed',
  'framesLost', 'lossRuns', 'overflow', 'bad', 'blocks', 'blocksConcealed', 'maxDelayUs', 'burstRQ10',
] as const;
export type StatName = (typeof STAT)[number];

export interface HarnessExports {
  memory: WebAssembly.Memory;
  pcmInPtr(): number; pcmOutPtr(): number; payloadPtr(): number; heapMark(): number;
  newBuffer(adaptive: number, fixedDelayMs: number): number;
  tune(h: number, accMinUs: bigint, decMarginUs: bigint, initialDelayUs: bigint, safetyUs: bigint, tailPpm: number, forgetPackets: number): void;
  tune2(h: number, accShift: number, fastExcessUs: bigint, corrFastQ14: number, corrAccQ14: number): void;
  resetBuffer(h: number): void;
  encode(pt: number, n: number): number;
  resetCodec(pt: number): void;
  put(h: number, pt: number, seq: number, ts: number, ssrc: number, len: number, nowUs: bigint): number;
  pull(h: number, n: number, nowUs: bigint): number;
  blockTs(h: number): number; blockHasAudio(h: number): number;
  delayUs(h: number, nowUs: bigint): bigint; targetUs(h: number): bigint; driftPpm(h: number): number;
  packetCount(h: number): number; decodedSamples(h: number): number;
  stat(h: number, k: number): bigint;
  statsText(h: number): number; textPtr(): number;
  accelerate(len: number, pMin: number, pMax: number, win: number, corrMinQ14: number): number;
  decelerate(len: number, pMin: number, pMax: number, win: number, corrMinQ14: number): number;
  lastCorrQ14(): number;
  newPlc(rateHz: number): number; plcPush(h: number, n: number): void; plcConceal(h: number, n: number): void;
  plcMerge(h: number, n: number): number; plcPitch(h: number): number;
}

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of fs.readdirSync(p)) t = Math.max(t, newestMtime(path.join(p, e)));
  return t;
}

/** Builds build/jitter-harness.wasm if it is missing or older than its sources. */
export function ensureHarness(): void {
  const src = Math.max(newestMtime(path.join(root, 'firmware/media')), newestMtime(path.join(root, 'firmware/codec')), newestMtime(path.join(root, 'tests/jitter')));
  for (const [file, target] of [[wasmPath, 'release'], [stubPath, 'stub']]) {
    if (fs.existsSync(file) && fs.statSync(file).mtimeMs >= src) continue;
    execFileSync(process.execPath, [path.join(root, 'node_modules/assemblyscript/bin/asc.js'), '--config', 'tests/jitter/asconfig.json', '--target', target], { cwd: root, stdio: 'inherit' });
  }
}

/** A fresh instance of the harness (each has its own memory and buffers). */
export class JitterHarness {
  readonly ex: HarnessExports;
  /** `stub`: the build whose allocator never frees, so heapMark() differences count every allocation. */
  constructor(stub = false) {
    ensureHarness();
    const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(stub ? stubPath : wasmPath)), {
      env: { abort: (_m: number, _f: number, line: number, col: number) => { throw new Error(`jitter harness abort at ${line}:${col}`); } },
    });
    this.ex = inst.exports as unknown as HarnessExports;
  }
  i16(ptr: number, n: number): Int16Array { return new Int16Array(this.ex.memory.buffer, ptr, n); }
  u8(ptr: number, n: number): Uint8Array { return new Uint8Array(this.ex.memory.buffer, ptr, n); }
  stat(h: number, name: StatName): number { return Number(this.ex.stat(h, STAT.indexOf(name))); }
  stats(h: number): Record<StatName, number> {
    const o = {} as Record<StatName, number>;
    for (const k of STAT) o[k] = this.stat(h, k);
    return o;
  }
  statsText(h: number): string {
    const n = this.ex.statsText(h);
    return String.fromCharCode(...new Uint16Array(this.ex.memory.buffer, this.ex.textPtr(), n));
  }
  /** Encodes consecutive frames of `pcm` (looped) for `count` packets; returns one payload per packet. */
  encodeFrames(codec: CodecName, pcm: Int16Array, count: number): Uint8Array[] {
    const n = FRAME_SAMPLES[codec];
    const out: Uint8Array[] = [];
    this.ex.resetCodec(PT[codec]);
    const frame = new Int16Array(n);
    for (let k = 0; k < count; k++) {
      for (let i = 0; i < n; i++) frame[i] = pcm[(k * n + i) % pcm.length];
      this.i16(this.ex.pcmInPtr(), n).set(frame);
      const len = this.ex.encode(PT[codec], n);
      if (len <= 0) throw new Error(`encode failed for ${codec}`);
      out.push(this.u8(this.ex.payloadPtr(), len).slice());
    }
    return out;
  }
}

export interface BufferSpec {
  /** 'adaptive' or a fixed delay in ms. */
  kind: 'adaptive' | number;
  tune?: { accMinUs?: number; decMarginUs?: number; initialDelayUs?: number; safetyUs?: number; tailPpm?: number; forgetPackets?: number; accShift?: number; fastExcessUs?: number; corrFastQ14?: number; corrAccQ14?: number };
}

export interface RunOpts {
  codec: CodecName;
  /** Packet fates: entry k is RTP packet k (timestamp ts0 + k·frame). */
  trace: readonly TraceEntry[];
  /** Encoded payloads, one per packet (encodeFrames). */
  payloads: readonly Uint8Array[];
  /** Sender clock error, ppm (+: its sample clock is fast). The trace's send times already include it. */
  senderPpm?: number;
  /** Receiver's first pull time, µs (default: the first send time). */
  startUs?: number;
  /** Stop pulling at this time (default: last arrival + 1 s). */
  endUs?: number;
  /** Keep the played samples (for audio checks). */
  keepAudio?: boolean;
  /** Called after every pull (for tests): time, op. */
  onBlock?: (tUs: number, op: number, h: number) => void;
  /** Extra packets to inject (duplicates, other SSRC): [arrivalUs, packetIndex, ssrc?, tsOffset?]. */
  extra?: { arrivalUs: number; index: number; ssrc?: number; tsOffset?: number; seqOffset?: number }[];
  ssrc?: number;
}

export interface RunResult {
  /** Added delay per block with audio: end-to-end minus framing minus the trace's fastest transit, ms. */
  addedMs: Float64Array;
  /** End-to-end (capture → speaker) delay per block with audio, ms. */
  e2eMs: Float64Array;
  meanAddedMs: number; p95AddedMs: number; meanE2eMs: number;
  /** Late packets / packets sent. */
  lateLoss: number;
  /** Concealed samples / samples played. */
  concealment: number;
  /** Lost (never arrived) packets / sent. */
  networkLoss: number;
  burstR: number;
  mos: number; R: number;
  stats: Record<StatName, number>;
  text: string;
  ops: Record<string, number>;
  audio?: Int16Array;
  /** Heap growth while running (bytes): the hot path must not allocate. */
  heapGrowth: number;
  driftPpm: number;
}

/** Plays one trace through one buffer. */
export function runTrace(hx: JitterHarness, spec: BufferSpec, o: RunOpts): RunResult {
  const ex = hx.ex;
  const h = ex.newBuffer(spec.kind === 'adaptive' ? 1 : 0, spec.kind === 'adaptive' ? 0 : spec.kind);
  const t = spec.tune ?? {};
  const big = (v: number | undefined) => BigInt(Math.round(v ?? -1));
  ex.tune(h, big(t.accMinUs), big(t.decMarginUs), big(t.initialDelayUs), big(t.safetyUs), t.tailPpm ?? -1, t.forgetPackets ?? -1);
  ex.tune2(h, t.accShift ?? -1, big(t.fastExcessUs), t.corrFastQ14 ?? -1, t.corrAccQ14 ?? -1);
  ex.resetCodec(PT[o.codec]);
  const frame = FRAME_SAMPLES[o.codec];
  const fsHz = 8000 * (1 + (o.senderPpm ?? 0) * 1e-6);
  const pt = PT[o.codec];
  const ts0 = 0x12345678 >>> 0;
  const ssrc = o.ssrc ?? 0x5eed;
  const arrivals: { t: number; k: number; ssrc: number; tsOff: number; seqOff: number }[] = [];
  let minTransit = Infinity;
  o.trace.forEach((e, k) => {
    if (e.arrivalUs === null) return;
    arrivals.push({ t: e.arrivalUs, k, ssrc, tsOff: 0, seqOff: 0 });
    minTransit = Math.min(minTransit, e.arrivalUs - e.sendUs);
  });
  for (const x of o.extra ?? []) arrivals.push({ t: x.arrivalUs, k: x.index, ssrc: x.ssrc ?? ssrc, tsOff: x.tsOffset ?? 0, seqOff: x.seqOffset ?? 0 });
  arrivals.sort((a, b) => a.t - b.t || a.k - b.k);
  // capture time of sample s of the stream (s = 0 is the first sample of packet 0): packet k is sent when
  // its last sample has been captured, so capture(s) = send(0) − frame/fs + s/fs
  const send0 = o.trace[0].sendUs;
  const captureUs = (s: number) => send0 + ((s - frame) / fsHz) * 1e6;
  const framingUs = (frame / fsHz) * 1e6;
  const startUs = o.startUs ?? send0;
  const lastArrival = arrivals.length ? arrivals[arrivals.length - 1].t : send0;
  const endUs = o.endUs ?? lastArrival + 1_000_000;
  const block = 80;
  const nBlocks = Math.floor((endUs - startUs) / 10_000);
  const added: number[] = [];
  const e2e: number[] = [];
  const ops: Record<string, number> = { silence: 0, normal: 0, accelerate: 0, decelerate: 0, expand: 0, merge: 0 };
  const opName = ['silence', 'normal', 'accelerate', 'decelerate', 'expand', 'merge'];
  const audio = o.keepAudio ? new Int16Array(nBlocks * block) : undefined;
  const payPtr = ex.payloadPtr();
  let ai = 0;
  // concealment is counted from the first to the last block that played audio (not the silence after
  // the stream ended)
  let concealedIn = 0, outIn = 0, pendConcealed = 0, pendOut = 0, seenAudio = false;
  let prevConcealed = 0;
  const heapCal = ex.heapMark();
  const heap0 = ex.heapMark();
  const markBytes = heap0 - heapCal;
  for (let j = 0; j < nBlocks; j++) {
    const tPull = startUs + j * 10_000;
    while (ai < arrivals.length && arrivals[ai].t <= tPull) {
      const a = arrivals[ai++];
      const p = o.payloads[a.k];
      hx.u8(payPtr, p.length).set(p);
      ex.put(h, pt, (a.k + a.seqOff) & 0xffff, (ts0 + a.k * frame + a.tsOff) >>> 0, a.ssrc, p.length, BigInt(Math.round(a.t)));
    }
    const op = ex.pull(h, block, BigInt(Math.round(tPull)));
    ops[opName[op]]++;
    if (audio) audio.set(hx.i16(ex.pcmOutPtr(), block), j * block);
    const concealedNow = Number(ex.stat(h, 5));
    if (op !== OP.SILENCE || seenAudio) { pendConcealed += concealedNow - prevConcealed; pendOut += block; }
    prevConcealed = concealedNow;
    if (ex.blockHasAudio(h)) {
      seenAudio = true;
      concealedIn += pendConcealed; outIn += pendOut; pendConcealed = 0; pendOut = 0;
      const s = (ex.blockTs(h) - ts0) >>> 0;
      if (s < 0x80000000) {
        const d = tPull - captureUs(s);
        e2e.push(d / 1000);
        added.push((d - framingUs - minTransit) / 1000);
      }
    }
    o.onBlock?.(tPull, op, h);
  }
  const heapGrowth = ex.heapMark() - heap0 - markBytes;
  const stats = hx.stats(h);
  const sent = o.trace.length;
  const lost = o.trace.filter((e) => e.arrivalUs === null).length;
  const sorted = Float64Array.from(added).sort();
  const mean = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return a.length ? s / a.length : 0; };
  const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] : 0;
  const concealment = outIn > 0 ? concealedIn / outIn : 0;
  const burstR = stats.burstRQ10 / 1024;
  const meanE2e = mean(e2e);
  const q = callQuality({ mouthToEarMs: meanE2e, codec: o.codec, pplPct: concealment * 100, burstR });
  return {
    addedMs: Float64Array.from(added), e2eMs: Float64Array.from(e2e),
    meanAddedMs: mean(added), p95AddedMs: p95, meanE2eMs: meanE2e,
    lateLoss: sent ? stats.late / sent : 0, concealment, networkLoss: sent ? lost / sent : 0, burstR,
    mos: q.mos, R: q.R, stats, text: hx.statsText(h), ops, audio, heapGrowth, driftPpm: ex.driftPpm(h),
  };
}

/**
 * Send times of `count` packets of `frame` samples from a sender whose sample clock runs `ppm` fast,
 * starting at `startUs` (packet k leaves when its last sample is captured).
 */
export function sendTimes(count: number, frame: number, ppm = 0, startUs = 0): number[] {
  const fsHz = 8000 * (1 + ppm * 1e-6);
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push(startUs + (((k + 1) * frame) / fsHz) * 1e6);
  return out;
}
