/**
 * The fuzzing loop: generate a step, run it, keep steps that show new behaviour in the corpus, and turn a
 * trap or hang into a minimized, replayable step sequence.
 *
 * Guidance: wasm gives no edge coverage here, so "coverage" is behavioural — the set of (input kind, what
 * the code under test did) pairs: messages sent (type), events and log lines (numbers stripped), flash
 * writes, console output, codec return codes, server status codes. A step that adds a pair is kept and
 * mutated further, as a coverage-guided fuzzer keeps inputs that reach new edges.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { FuzzRng } from './rng.js';
import { hex, unhex, type Outcome, type Step, type Target } from './target.js';

export interface Finding {
  target: string;
  kind: 'trap' | 'hang';
  message: string;
  /** Minimized steps that reproduce it from `fresh()`. */
  steps: Step[];
}

export interface TargetResult {
  target: string;
  kind: string;
  parsers: string;
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  traps: number;
  hangs: number;
  /** Distinct behaviour pairs seen (the coverage signal). */
  coverage: number;
  /** Steps kept because they showed new behaviour. */
  kept: number;
  /** Inputs per parser / message type. */
  perKind: Record<string, number>;
  findings: Finding[];
}

export interface RunOpts {
  seed: number;
  /** Wall-clock budget (the CLI); the smoke test uses `maxSteps` instead, so it is deterministic. */
  seconds?: number;
  maxSteps?: number;
  /** Called before each step with the number of steps run so far, and with -1 while replaying (the worker's heartbeat). */
  beat?: (count: number) => void;
  /** Steps slower than this count as hangs (ms of wall clock; default 5000). */
  slowMs?: number;
  /**
   * Locate mode (after the watchdog killed a worker): regenerate the same sequence and stop before running
   * step number `stopBefore`; it is returned, with the steps since the last fresh state, as a hang finding.
   */
  stopBefore?: number;
}

function failure(o: Outcome): { kind: 'trap' | 'hang'; message: string } | null {
  if (o.trap) return { kind: 'trap', message: o.trap };
  if (o.hang) return { kind: 'hang', message: o.hang };
  return null;
}

/** Runs one step, turning a host exception into a trap (for host code that is the bug we look for). */
export function runStep(t: Target, s: Step): Outcome {
  try {
    return t.run(s);
  } catch (e) {
    const err = e as Error;
    const where = (err?.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' | ');
    return { trap: `${err instanceof WebAssembly.RuntimeError ? 'wasm trap' : 'uncaught ' + (err?.name ?? 'exception')}: ${err?.message ?? String(e)} ${where}`, tokens: [], kinds: [] };
  }
}

/** Replays steps on fresh state; returns the first failure, or null. `alive` is called every step. */
export function replay(t: Target, steps: Step[], alive?: () => void): { kind: 'trap' | 'hang'; message: string } | null {
  t.fresh();
  for (const s of steps) {
    alive?.();
    const f = failure(runStep(t, s));
    if (f) return f;
  }
  return null;
}

const sameFailure = (a: { kind: string; message: string }, b: { kind: string; message: string } | null) =>
  !!b && a.kind === b.kind && a.message.slice(0, 60) === b.message.slice(0, 60);

/**
 * Shrinks a failing sequence (ddmin-style chunk removal), within `budget` replays and `stepBudget` replayed
 * steps in all (a long sequence of a stateful target is kept as it is rather than minimized for minutes).
 */
export function minimize(t: Target, steps: Step[], f: { kind: string; message: string }, budget = 300, alive?: () => void, stepBudget = 100_000): Step[] {
  const last = steps[steps.length - 1];
  if (sameFailure(f, replay(t, [last], alive))) return [last];
  let cur = steps;
  let chunk = Math.max(1, cur.length >> 1);
  while (chunk >= 1 && budget > 0 && stepBudget > 0) {
    let removed = false;
    for (let i = 0; i + 1 < cur.length && budget > 0 && stepBudget > 0; i += chunk) {
      const cand = cur.slice(0, i).concat(cur.slice(Math.min(i + chunk, cur.length - 1)));
      if (cand.length === cur.length) continue;
      budget--;
      stepBudget -= cand.length;
      if (sameFailure(f, replay(t, cand, alive))) { cur = cand; removed = true; i -= chunk; }
    }
    if (!removed) chunk >>= 1;
  }
  return cur;
}

export function runTarget(t: Target, o: RunOpts): TargetResult {
  const rng = new FuzzRng(o.seed);
  const seen = new Set<string>();
  const perKind: Record<string, number> = {};
  const findings: Finding[] = [];
  const sigs = new Set<string>();
  let inputs = 0, traps = 0, hangs = 0, kept = 0;
  const t0 = performance.now();
  const deadline = o.seconds !== undefined ? t0 + o.seconds * 1000 : Infinity;
  const maxSteps = o.maxSteps ?? Infinity;
  const slowMs = o.slowMs ?? 5000;
  t.fresh();
  let log: Step[] = [];
  while (inputs < maxSteps) {
    if ((inputs & 15) === 0 && performance.now() >= deadline) break;
    o.beat?.(inputs);
    const step = t.gen(rng);
    log.push(step);
    if (inputs === o.stopBefore) {
      findings.push({ target: t.name, kind: 'hang', message: `step ${inputs} never returned (killed by the watchdog)`, steps: log });
      hangs++;
      break;
    }
    const s0 = performance.now();
    const out = runStep(t, step);
    const dt = performance.now() - s0;
    inputs++;
    const k0 = out.kinds[0] ?? step.op;
    for (const k of out.kinds) perKind[k] = (perKind[k] ?? 0) + 1;
    let fresh = false;
    if (!seen.has(k0)) { seen.add(k0); fresh = true; }
    for (const tok of out.tokens) { const key = `${k0}|${tok}`; if (!seen.has(key)) { seen.add(key); fresh = true; } }
    if (fresh) { t.learn(step); kept++; }
    let f = failure(out);
    if (!f && dt > slowMs) f = { kind: 'hang', message: `step took ${Math.round(dt)} ms (budget ${slowMs} ms)` };
    if (f) {
      if (f.kind === 'trap') traps++; else hangs++;
      const sig = `${f.kind}:${f.message.slice(0, 60)}`;
      if (!sigs.has(sig) && findings.length < 20) {
        sigs.add(sig);
        const steps = dt > slowMs ? [step] : minimize(t, log, f, 300, () => o.beat?.(-1));
        findings.push({ target: t.name, kind: f.kind, message: f.message, steps });
      }
      t.fresh(); log = [];
    } else if (out.reset || log.length >= t.resetEvery) { t.fresh(); log = []; }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    target: t.name, kind: t.kind, parsers: t.parsers, inputs, seconds: Math.round(seconds * 10) / 10,
    inputsPerSecond: Math.round(inputs / Math.max(seconds, 1e-6)), traps, hangs, coverage: seen.size, kept, perKind, findings,
  };
}

/** The regression file format (tests/fuzz/regressions/*.json). */
export interface Regression { target: string; found: string; fixed?: string; steps: Array<{ op: string; a: number; b: number; data: string }> }

export function toRegression(f: Finding): Regression {
  return { target: f.target, found: `${f.kind}: ${f.message}`, steps: f.steps.map((s) => ({ op: s.op, a: s.a, b: s.b, data: hex(s.data) })) };
}

export function loadRegression(file: string): { target: string; steps: Step[]; found: string } {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Regression;
  return { target: r.target, found: r.found, steps: r.steps.map((s) => ({ op: s.op, a: s.a, b: s.b, data: unhex(s.data) })) };
}
