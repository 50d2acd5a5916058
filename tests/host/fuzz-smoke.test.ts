// Fuzzing smoke run (CI): every target of `npm run fuzz` for a small fixed number of inputs (deterministic:
// counts, not seconds), and every crash the fuzzer ever found (tests/fuzz/regressions/*.json) replayed on the
// current build — none may trap or hang again. The long runs are `npm run fuzz` (tools/fuzz.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TARGET_NAMES, makeTarget } from '../fuzz/targets.js';
import { loadRegression, replay, runTarget } from '../fuzz/runner.js';
import type { Target } from '../fuzz/target.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const regDir = path.join(root, 'tests/fuzz/regressions');

/** Inputs per target: a few seconds in all (a firmware boot per fw.storage input; scrypt per login). */
const STEPS: Record<string, number> = {
  'fw.sn.udp': 250, 'fw.sn.tcp': 150, 'fw.phone.udp': 250, 'fw.phone.tcp': 150, 'fw.phone.http': 100, 'fw.sn.uart': 150, 'fw.phone.uart': 150,
  'fw.storage': 8, 'fw.storage.records': 2000, 'codec.ilbc': 200, 'codec.ilbc-file': 100, 'server.frame': 300, 'server.login': 20, 'server.update': 120,
};

test('every fuzz target runs a short smoke budget without traps or hangs', async () => {
  for (const name of TARGET_NAMES) {
    const t = await makeTarget(name);
    try {
      const n = STEPS[name] ?? 100;
      const r = runTarget(t, { seed: 7, maxSteps: n });
      assert.equal(r.inputs, n, `${name} ran its inputs`);
      assert.deepEqual(r.findings.map((f) => `${f.kind}: ${f.message}`), [], `${name}: no findings`);
      assert.equal(r.traps + r.hangs, 0, name);
      assert.ok(r.coverage > 1, `${name} observed behaviour (${r.coverage})`);
    } finally { t.close?.(); }
  }
});

test('every recorded crash (tests/fuzz/regressions) replays without a trap or hang', async () => {
  const files = fs.existsSync(regDir) ? fs.readdirSync(regDir).filter((f) => f.endsWith('.json')).sort() : [];
  for (const f of files) {
    const r = loadRegression(path.join(regDir, f));
    assert.ok((TARGET_NAMES as readonly string[]).includes(r.target), `${f}: known target ${r.target}`);
    const t = await makeTarget(r.target);
    try {
      assert.equal(replay(t, r.steps), null, `${f} (${r.found.slice(0, 100)}) no longer fails`);
    } finally { t.close?.(); }
  }
});

test('the runner reports a trap, minimizes its input and tells a hang from a trap', () => {
  // A toy target whose "parser" traps on 0xAB after it saw 0x01, and hangs (watchdog) on 0xCD.
  let armed = false;
  const toy: Target = {
    name: 'toy', kind: 'firmware', parsers: 'toy', resetEvery: 1000,
    fresh() { armed = false; },
    gen(rng) { return { op: 'b', a: 0, b: 0, data: Uint8Array.of([1, 2, 3, 0xab, 0xcd][rng.below(5)]) }; },
    run(s) {
      const v = s.data[0];
      if (v === 1) armed = true;
      if (v === 0xab && armed) throw new WebAssembly.RuntimeError('unreachable');
      return { tokens: [`v${v}`], kinds: ['toy'], hang: v === 0xcd ? 'watchdog: deadline never advances' : undefined };
    },
    learn() {},
  };
  const r = runTarget(toy, { seed: 3, maxSteps: 200 });
  assert.ok(r.traps > 0 && r.hangs > 0);
  const trap = r.findings.find((f) => f.kind === 'trap');
  assert.ok(trap && /wasm trap: unreachable/.test(trap.message), 'the RuntimeError is a trap');
  assert.deepEqual(trap!.steps.map((s) => s.data[0]), [1, 0xab], 'minimized to the two steps that matter');
  assert.ok(r.findings.some((f) => f.kind === 'hang' && f.steps.length === 1));
});

test('a trap inside firmware.wasm reaches the fuzzer as a trap with its wasm frames', async () => {
  const t = await makeTarget('fw.sn.udp');
  t.fresh();
  // Wreck the firmware's memory (every pointer becomes 0xFFFFFFFF): the next call must trap, not pass silently.
  const rig = (t as unknown as { rig: { node: { ex: { memory: WebAssembly.Memory } } } }).rig;
  new Uint8Array(rig.node.ex.memory.buffer).fill(0xff);
  const out = t.run({ op: 'udp', a: 0, b: 0, data: Uint8Array.of(0x01, 0, 0, 0, 1) });
  assert.match(out.trap ?? '', /^trap: .* at wasm:\/\/wasm\//);
});

test('npm run fuzz rejects an unknown target with one line and exit status 2', () => {
  const p = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'tools/fuzz.ts'), '--target', 'no.such'], { cwd: root, encoding: 'utf8' });
  assert.equal(p.status, 2);
  assert.equal(p.stderr.trim(), "fuzz: unknown target 'no.such' (try --list)");
});
