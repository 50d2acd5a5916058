// Power-cut safety (issue #9): power is cut at a random flash operation — torn halfway through — while a phone
// is being flashed over serial or is updating itself over the air, ≥ 200 seeds each. After power comes back the
// phone must boot a valid signed image (the old or the new one), and finishing the job must leave it on the new
// image, confirmed. Seeds are deterministic; a failure names its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../host-sim/net/rng.js';
import { makeBench, runFor, signedImage, consoleCommand } from '../../host-sim/bootrom-bench.js';
import { startSimFlash } from '../../host-sim/uart-line.js';

const SEEDS = Number(process.env.POWERCUT_SEEDS ?? 200);
const v1 = signedImage(1);
const v2 = signedImage(2);

function serialRun(seed: number, cutAt: number | null, cutFraction: number) {
  const b = makeBench(seed, { supernode: false });
  const p = b.phone('alice', '198.51.100.50', { factory: v1, rom: { bootWindowUs: 200_000 } });
  runFor(b.w, 1_000_000);
  const opsBefore = p.flash.ops;
  if (cutAt !== null) { p.flash.cutAtOp = opsBefore + cutAt; p.flash.cutFraction = cutFraction; }
  const { session, line } = startSimFlash(b.w.sched, b.w.rng.split('line'), p, v2, { attentionTimeoutMs: 5000 });
  b.w.runUntil(() => session.finished || p.mode === 'off', b.w.sched.nowUs + 200_000_000);
  if (p.mode === 'off') line.unplug(); // the tool gives up; its retries must not reach the rebooted phone
  runFor(b.w, 7_000_000); // the new image's trial and confirmation, unless cut
  return { b, p, session, line, ops: p.flash.ops - opsBefore };
}

/** Half the cuts anywhere, half among the last operations (verification, trial boot, confirmation). */
function cutPoint(r: Rng, total: number): number { return r.int(2) === 0 ? r.int(total) : total - 1 - r.int(Math.min(12, total)); }

function assertAlive(b: ReturnType<typeof makeBench>, p: ReturnType<typeof serialRun>['p'], seed: number, where: string): number {
  assert.equal(p.mode, 'firmware', `seed ${seed} (${where}): phone runs firmware, not stuck in ROM/bootloader (${p.romLog.slice(-3).map((l) => l.line).join(' | ')})`);
  const st = consoleCommand(b.w, p, 'status');
  const m = /firmware=v(\d) slot [AB]/.exec(st);
  assert.ok(m, `seed ${seed} (${where}): console answers: ${st}`);
  return Number(m![1]);
}

test(`power cut at a random point of a serial flash never bricks the phone (${SEEDS} seeds)`, () => {
  const full = serialRun(0, null, 0);
  assert.equal(full.session.state, 'done', full.session.error);
  const total = full.ops;
  assert.ok(total > 60, `a full flash is ${total} flash operations`);
  full.b.w.close();
  const seen = { old: 0, new: 0, resumed: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = new Rng(seed);
    const { b, p } = serialRun(seed, cutPoint(r, total), r.float());
    assert.equal(p.mode, 'off', `seed ${seed}: the cut happened`);
    runFor(b.w, 500_000);
    p.powerOn();
    runFor(b.w, 8_000_000);
    const v = assertAlive(b, p, seed, 'after the cut');
    if (v === 1) seen.old++; else seen.new++;
    // Finish the job: flash again (resuming where the journal says) and end on v2, confirmed.
    if (v === 1) {
      const { session } = startSimFlash(b.w.sched, b.w.rng.split('line2'), p, v2, { attentionTimeoutMs: 5000 });
      b.w.runUntil(() => session.finished, b.w.sched.nowUs + 200_000_000);
      assert.equal(session.state, 'done', `seed ${seed}: re-flash: ${session.error}`);
      if (session.resumedAt > 0) seen.resumed++;
      runFor(b.w, 7_000_000);
    }
    assert.equal(assertAlive(b, p, seed, 'after finishing'), 2);
    assert.equal(p.rom.state.minVersion, 2, `seed ${seed}: v2 confirmed`);
    b.w.close();
  }
  assert.ok(seen.old > 0 && seen.new > 0, `cuts landed before and after the switch (${JSON.stringify(seen)})`);
  assert.ok(seen.resumed > 0, `some re-flashes resumed from the journal (${JSON.stringify(seen)})`);
});

function otaRun(seed: number, cutAt: number | null, cutFraction: number) {
  const b = makeBench(seed, { supernode: false });
  b.updates.publish(v2);
  const p = b.phone('alice', '198.51.100.50', { factory: v1, rom: { bootWindowUs: 200_000 } });
  const opsBefore = p.flash.ops;
  if (cutAt !== null) { p.flash.cutAtOp = opsBefore + cutAt; p.flash.cutFraction = cutFraction; }
  b.w.runUntil(() => p.mode === 'off' || (p.rom?.state.minVersion === 2), b.w.sched.nowUs + 120_000_000);
  return { b, p, ops: p.flash.ops - opsBefore };
}

test(`power cut at a random point of an over-the-air update never bricks the phone (${SEEDS} seeds)`, () => {
  const full = otaRun(0, null, 0);
  assert.equal(full.p.rom.state.minVersion, 2, 'without a cut the update installs and confirms');
  const total = full.ops;
  full.b.w.close();
  const seen = { old: 0, new: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = new Rng(1000 + seed);
    const { b, p } = otaRun(seed, cutPoint(r, total), r.float());
    assert.equal(p.mode, 'off', `seed ${seed}: the cut happened`);
    runFor(b.w, 500_000);
    p.powerOn();
    runFor(b.w, 3_000_000);
    const v = assertAlive(b, p, seed, 'after the cut');
    if (v === 1) seen.old++; else seen.new++;
    // Left alone, the phone finishes the update by itself (check, download again, install when idle, confirm).
    b.w.runUntil(() => p.rom.state.minVersion === 2 && p.mode === 'firmware', b.w.sched.nowUs + 200_000_000);
    runFor(b.w, 1_000_000);
    assert.equal(assertAlive(b, p, seed, 'after the update completes'), 2);
    b.w.close();
  }
  assert.ok(seen.old > 0 && seen.new > 0, `cuts landed before and after the switch (${JSON.stringify(seen)})`);
});
