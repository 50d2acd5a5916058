// All benchmarks in one run: `npm run bench` (not a timed test; figures go
// to stdout). Each subsystem contributes one section; add a new one to
// SECTIONS below (the jitter buffer and the conference mixer are next).
//
//   npm run bench [-- --only ilbc[,other]] [--frames N] [--rounds R] [--json]
//
// --json prints one JSON object { machine, sections: { name: data } }
// instead of the tables, for reports and regression tracking.

import { cpus, loadavg } from "node:os";
import { formatIlbcBench, runIlbcBench, type IlbcBenchOptions } from "./ilbc-bench.js";
import { formatMixerBench, runMixerBench } from "./mixer-bench.js";

interface BenchOptions extends IlbcBenchOptions {}

/** One benchmark section: measures, then renders its figures as text lines. */
interface BenchSection<T = unknown> {
  /** Name for --only. */
  name: string;
  /** Heading printed above the table. */
  title: string;
  run(opts: BenchOptions): Promise<T>;
  format(data: T, opts: BenchOptions): string[];
}

function section<T>(s: BenchSection<T>): BenchSection {
  return s as BenchSection;
}

const SECTIONS: BenchSection[] = [
  section({
    name: "ilbc",
    title: "iLBC codec (RFC 3951): us per frame, % of real time, heap growth, vs native WebRTC C (gcc -O2)",
    run: (opts) => runIlbcBench(opts),
    format: (rows, opts) => formatIlbcBench(rows, opts),
  }),
  // section({ name: "jitter", title: "Jitter buffer ...", run: ..., format: ... }),
  section({
    name: "mixer",
    title: "Conference mixer (issue #8): us of CPU per 20 ms frame, all N-1 mixes, normalisation and soft limiter",
    run: (opts) => runMixerBench({ frames: opts.frames, rounds: opts.rounds }),
    format: (rows) => formatMixerBench(rows),
  }),
];

function parseArgs(argv: string[]): { opts: BenchOptions; only: string[] | null; json: boolean } {
  const opts: BenchOptions = {};
  let only: string[] | null = null;
  let json = false;
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--only") only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (a === "--frames") opts.frames = num(a, argv[++i]);
    else if (a === "--rounds") opts.rounds = num(a, argv[++i]);
    else if (a === "--json") json = true;
    else throw new Error(`unknown argument ${a} (use --only NAME[,NAME], --frames N, --rounds R, --json)`);
  }
  const unknown = (only ?? []).filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(", ")} (have: ${SECTIONS.map((s) => s.name).join(", ")})`);
  return { opts, only, json };
}

async function main(): Promise<void> {
  const { opts, only, json } = parseArgs(process.argv.slice(2));
  const cpu = cpus();
  const machine = `${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores, node ${process.version} (${process.platform}-${process.arch})`;
  const chosen = SECTIONS.filter((s) => !only || only.includes(s.name));
  const results: Record<string, unknown> = {};
  const load1 = loadavg()[0];
  if (!json) {
    console.log(`bench: ${machine}`);
    // Timings are best-of-N, but a busy machine still inflates them.
    if (load1 > cpu.length * 0.5) console.log(`warning: load average ${load1.toFixed(1)} on ${cpu.length} cores; figures are inflated, rerun on an idle machine`);
  }
  for (const s of chosen) {
    const data = await s.run(opts);
    results[s.name] = data;
    if (!json) console.log(`\n== ${s.title}\n${s.format(data, opts).join("\n")}`);
  }
  if (json) console.log(JSON.stringify({ machine, loadAverage1m: load1, sections: results }, null, 2));
}

main().catch((e: Error) => {
  process.stderr.write(`error: ${e.message}\n`);
  process.exitCode = 1;
});
