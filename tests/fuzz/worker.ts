/**
 * Worker thread of `npm run fuzz` (tools/fuzz.ts): runs one target and posts its result. The main thread
 * watches `heartbeat[0]` (steps run); if it stops moving the worker is terminated and a hang is recorded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeTarget } from './targets.js';
import { runTarget } from './runner.js';
import { hex } from './target.js';

const { name, seconds, seed, heartbeat, stopBefore } = workerData as { name: string; seconds: number; seed: number; heartbeat: SharedArrayBuffer; stopBefore?: number };
const hb = new Int32Array(heartbeat);
const t = await makeTarget(name);
// hb[0]: steps run (where a hang happened); hb[1]: liveness, bumped at every step and every replayed step.
const r = runTarget(t, { seed, seconds: stopBefore === undefined ? seconds : undefined, stopBefore, beat: (n) => { if (n >= 0) Atomics.store(hb, 0, n); Atomics.add(hb, 1, 1); } });
t.close?.();
parentPort!.postMessage({ ...r, findings: r.findings.map((f) => ({ ...f, steps: f.steps.map((s) => ({ op: s.op, a: s.a, b: s.b, data: hex(s.data) })) })) });
