// iLBC codec benchmark: µs per frame for encode / decode / PLC in 20 and
// 30 ms modes (after warm-up), % of real time, and heap bytes allocated per
// frame, printed beside native WebRTC reference figures.
//
// Timing uses build/ilbc-harness.wasm (incremental GC runtime, as in the
// firmware). Heap growth is measured exactly with build/ilbc-harness-stub.wasm
// (bump allocator: any allocation moves the heap top).
//
//   node --import tsx tools/ilbc-bench.ts [--frames N] [--rounds R]
//   npm run bench          (tools/bench.ts: this table among all benchmarks)
//
// Uses build/ilbc-harness.wasm (built on demand) and ../shared/vectors
// speech when present (a synthetic voiced signal otherwise).

import { existsSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const wasmPath = resolve(root, "build/ilbc-harness.wasm");
const stubPath = resolve(root, "build/ilbc-harness-stub.wasm");
const speechPath = resolve(root, "../shared/vectors/ilbc/webrtc/alsa8k.s16");

export interface IlbcBenchOptions {
  /** Frames per timed run (default 300). */
  frames?: number;
  /** Timed runs per figure; the best one counts (default 10). */
  rounds?: number;
}

/** Native reference (WebRTC fixed-point C, gcc -O2, measured on this kind of machine), µs per frame. */
export const ILBC_NATIVE_US: Record<string, number> = {
  "encode 20": 51.9, "encode 30": 94.2, "decode 20": 16.0, "decode 30": 25.8,
};

/** Goal of issue #3: at most this many times the native time. */
export const ILBC_GOAL_X_NATIVE = 1.5;

function ensureBuilt(): void {
  const asc = resolve(root, "node_modules/assemblyscript/bin/asc.js");
  for (const [file, target] of [[wasmPath, "release"], [stubPath, "stub"]]) {
    if (!existsSync(file)) {
      execFileSync(process.execPath, [asc, "--config", "tests/ilbc/asconfig.json", "--target", target], { cwd: root, stdio: "inherit" });
    }
  }
}

interface Harness {
  memory: WebAssembly.Memory;
  slotPtr(slot: number, n: number): number;
  newEncoder(mode: number): number;
  newDecoder(mode: number, enh: number): number;
  encodeStream(h: number, pcm: number, n: number, out: number): number;
  decodeStream(h: number, bits: number, n: number, out: number, loss: number): number;
  plcStream(h: number, n: number, out: number): number;
  heapMark(): number;
}

async function load(file: string): Promise<Harness> {
  const { instance } = await WebAssembly.instantiate(readFileSync(file), {
    env: { abort: () => { throw new Error("wasm abort"); } },
  });
  return instance.exports as unknown as Harness;
}

function speech(samples: number): Int16Array {
  if (existsSync(speechPath)) {
    const b = readFileSync(speechPath);
    const s = new Int16Array(b.buffer, b.byteOffset, b.length >> 1);
    const out = new Int16Array(samples);
    for (let i = 0; i < samples; i++) out[i] = s[i % s.length];
    return out;
  }
  const out = new Int16Array(samples);
  let seed = 12345;
  for (let i = 0; i < samples; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = ((seed >>> 16) & 0x3ff) - 512;
    out[i] = Math.round(6000 * Math.sin((2 * Math.PI * 140 * i) / 8000) * (1 + 0.5 * Math.sin(i / 900)) + noise);
  }
  return out;
}

export interface IlbcBenchRow {
  /** "encode" | "decode" | "plc" */
  op: string;
  modeMs: number;
  /** µs per frame, best round. */
  us: number;
  /** Percent of real time (us / frame duration). */
  realTimePct: number;
  /** Native reference µs per frame, or null (no reference for PLC). */
  nativeUs: number | null;
  /** Heap bytes allocated per frame (bump-allocator build; must be 0). */
  heapBytesPerFrame: number;
}

/** Best-of-rounds µs per frame, after two warm-up runs (JIT tier-up, first touch). */
function timeIt(fn: () => void, frames: number, rounds: number): number {
  fn();
  fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return (best * 1000) / frames;
}

/** Exact heap bytes allocated per frame by `op`, on the bump-allocator build. */
function heapPerFrame(stub: Harness, frames: number, mode: number, op: "encode" | "decode" | "plc", pcm: Int16Array): number {
  const nb = mode === 20 ? 38 : 50;
  const pcmPtr = stub.slotPtr(0, pcm.byteLength);
  const bitsPtr = stub.slotPtr(1, frames * nb);
  const outPtr = stub.slotPtr(2, pcm.byteLength);
  new Int16Array(stub.memory.buffer, pcmPtr, pcm.length).set(pcm);
  const enc = stub.newEncoder(mode);
  const dec = stub.newDecoder(mode, 1);
  stub.encodeStream(enc, pcmPtr, frames, bitsPtr);
  const probe = -stub.heapMark() + stub.heapMark();
  const m0 = stub.heapMark();
  if (op === "encode") stub.encodeStream(enc, pcmPtr, frames, bitsPtr);
  else if (op === "decode") stub.decodeStream(dec, bitsPtr, frames, outPtr, 0);
  else stub.plcStream(dec, frames, outPtr);
  const m1 = stub.heapMark();
  return (m1 - m0 - probe) / frames;
}

/** Times encode / decode / PLC in both modes; heap growth from the stub build. */
export async function runIlbcBench(opts: IlbcBenchOptions = {}): Promise<IlbcBenchRow[]> {
  const frames = opts.frames ?? 300;
  const rounds = opts.rounds ?? 10;
  ensureBuilt();
  const x = await load(wasmPath);
  const stub = await load(stubPath);
  const rows: IlbcBenchRow[] = [];
  const row = (op: string, modeMs: number, us: number, heap: number) => {
    rows.push({ op, modeMs, us, realTimePct: (us / (modeMs * 1000)) * 100, nativeUs: ILBC_NATIVE_US[`${op} ${modeMs}`] ?? null, heapBytesPerFrame: heap });
  };
  for (const mode of [20, 30]) {
    const ns = mode === 20 ? 160 : 240;
    const nb = mode === 20 ? 38 : 50;
    const pcm = speech(frames * ns);
    const pcmPtr = x.slotPtr(0, pcm.byteLength);
    const bitsPtr = x.slotPtr(1, frames * nb);
    const outPtr = x.slotPtr(2, pcm.byteLength);
    new Int16Array(x.memory.buffer, pcmPtr, pcm.length).set(pcm);

    const enc = x.newEncoder(mode);
    const e = timeIt(() => { x.encodeStream(enc, pcmPtr, frames, bitsPtr); }, frames, rounds);
    row("encode", mode, e, heapPerFrame(stub, frames, mode, "encode", pcm));

    const dec = x.newDecoder(mode, 1);
    const d = timeIt(() => { x.decodeStream(dec, bitsPtr, frames, outPtr, 0); }, frames, rounds);
    row("decode", mode, d, heapPerFrame(stub, frames, mode, "decode", pcm));

    const plc = x.newDecoder(mode, 1);
    x.decodeStream(plc, bitsPtr, 10, outPtr, 0);
    const p = timeIt(() => { x.plcStream(plc, frames, outPtr); }, frames, rounds);
    row("plc", mode, p, heapPerFrame(stub, frames, mode, "plc", pcm));
  }
  return rows;
}

/** The table as text lines (no trailing newline). */
export function formatIlbcBench(rows: IlbcBenchRow[], opts: IlbcBenchOptions = {}): string[] {
  const pad = (s: string, n: number) => s.padStart(n);
  const lines = [
    `iLBC (AssemblyScript -> wasm, node ${process.version}), ${opts.frames ?? 300} frames x ${opts.rounds ?? 10} rounds, best round`,
    `${"op".padEnd(10)}${pad("us/frame", 10)}${pad("% RT", 8)}${pad("native us", 11)}${pad("x native", 10)}${pad("heap B/frame", 14)}`,
  ];
  for (const r of rows) {
    const nat = r.nativeUs;
    lines.push(
      `${`${r.op} ${r.modeMs}`.padEnd(10)}${pad(r.us.toFixed(1), 10)}${pad(r.realTimePct.toFixed(3), 8)}` +
        `${pad(nat ? nat.toFixed(1) : "-", 11)}${pad(nat ? (r.us / nat).toFixed(2) : "-", 10)}${pad(r.heapBytesPerFrame.toFixed(1), 14)}`,
    );
  }
  const over = rows.filter((r) => r.nativeUs && r.us / r.nativeUs > ILBC_GOAL_X_NATIVE).map((r) => `${r.op} ${r.modeMs}`);
  const heap = rows.filter((r) => r.heapBytesPerFrame !== 0).map((r) => `${r.op} ${r.modeMs}`);
  lines.push(
    `goal <= ${ILBC_GOAL_X_NATIVE}x native: ${over.length ? `missed by ${over.join(", ")}` : "met"}; ` +
      `heap growth per frame: ${heap.length ? `NOT zero for ${heap.join(", ")}` : "0 everywhere"}`,
  );
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const argNum = (name: string, dflt: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const opts = { frames: argNum("--frames", 300), rounds: argNum("--rounds", 10) };
  console.log(formatIlbcBench(await runIlbcBench(opts), opts).join("\n"));
}
