// Conference mixer benchmark (issue #8): µs of CPU per 20 ms frame (160 samples at 8 kHz) for N parties —
// one N−1 mix for every party, firmware/media/mixer.ts compiled alone (tools/mixer/harness.ts →
// build/mixer-harness.wasm, built on demand). Warm-up first (V8 runs a long wasm call in its baseline
// tier until the optimised code is ready), then the best of `rounds` timed calls of `frames` frames each.
//
//   node --import tsx tools/mixer-bench.ts [--frames N] [--rounds R]
//   npm run bench          (tools/bench.ts: section "mixer")

import { existsSync, readFileSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const wasmPath = resolve(root, "build/mixer-harness.wasm");
const sources = [resolve(root, "firmware/media/mixer.ts"), resolve(root, "tools/mixer/harness.ts")];

export interface MixerBenchOptions { frames?: number; rounds?: number }
export interface MixerBenchRow { parties: number; usPerFrame: number; pctRealTime: number; mixesPerFrame: number }

function ensureBuilt(): void {
  const stale = !existsSync(wasmPath) || sources.some((s) => statSync(s).mtimeMs > statSync(wasmPath).mtimeMs);
  if (stale) {
    const asc = resolve(root, "node_modules/assemblyscript/bin/asc.js");
    execFileSync(process.execPath, [asc, "--config", "tools/mixer/asconfig.json", "--target", "release"], { cwd: root, stdio: "inherit" });
  }
}

export async function runMixerBench(o: MixerBenchOptions = {}): Promise<MixerBenchRow[]> {
  ensureBuilt();
  const frames = o.frames ?? 2000;
  const rounds = o.rounds ?? 10;
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { env: { abort() { throw new Error("mixer harness abort"); } } });
  const ex = instance.exports as unknown as { fill(n: number): void; run(frames: number, n: number, parties: number): number };
  const n = 160;
  ex.fill(n);
  const rows: MixerBenchRow[] = [];
  for (const parties of [2, 5, 10, 16]) {
    for (let i = 0; i < 20; i++) ex.run(200, n, parties); // warm-up: many short calls tier the code up
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      ex.run(frames, n, parties);
      best = Math.min(best, performance.now() - t0);
    }
    const us = (best * 1000) / frames;
    rows.push({ parties, usPerFrame: Math.round(us * 100) / 100, pctRealTime: Math.round((us / 20_000) * 100 * 1000) / 1000, mixesPerFrame: parties });
  }
  return rows;
}

export function formatMixerBench(rows: MixerBenchRow[]): string[] {
  const L = ["parties  us/20ms frame  % of real time  (N−1 mixes per frame)"];
  for (const r of rows) L.push(`${String(r.parties).padStart(7)}  ${r.usPerFrame.toFixed(2).padStart(13)}  ${r.pctRealTime.toFixed(3).padStart(14)}  ${r.mixesPerFrame}`);
  return L;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const get = (f: string) => { const i = args.indexOf(f); return i >= 0 ? Number(args[i + 1]) : undefined; };
  runMixerBench({ frames: get("--frames"), rounds: get("--rounds") }).then((r) => console.log(formatMixerBench(r).join("\n")))
    .catch((e: Error) => { process.stderr.write(`error: ${e.message}\n`); process.exitCode = 1; });
}
