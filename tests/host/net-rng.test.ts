import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../host-sim/net/index.js';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.u32());

test('same seed → same sequence; different seeds → different sequences', () => {
  assert.deepEqual(draw(new Rng(42), 100), draw(new Rng(42), 100));
  assert.notDeepEqual(draw(new Rng(42), 100), draw(new Rng(43), 100));
  // large (53-bit) seeds are distinguished too
  assert.notDeepEqual(draw(new Rng(2 ** 52 + 1), 10), draw(new Rng(2 ** 52 + 2), 10));
  assert.notDeepEqual(draw(new Rng(1), 10), draw(new Rng(1 + 2 ** 32), 10));
});

test('u32/float/int/range stay in range', () => {
  const r = new Rng(7);
  for (let i = 0; i < 10_000; i++) {
    const u = r.u32();
    assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    const g = r.range(-3, 3);
    assert.ok(Number.isInteger(g) && g >= -3 && g <= 3);
  }
  assert.throws(() => r.int(0));
  assert.throws(() => r.range(5, 4));
});

test('int(n) is roughly uniform and range() covers both ends', () => {
  const r = new Rng(99);
  const counts = new Array(10).fill(0);
  const N = 100_000;
  for (let i = 0; i < N; i++) counts[r.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - N / 10) < 600, `bucket ${c}`);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(r.range(1, 3));
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
  let mean = 0;
  for (let i = 0; i < N; i++) mean += r.float();
  assert.ok(Math.abs(mean / N - 0.5) < 0.01);
});

test('split is deterministic, label-dependent and independent of parent consumption', () => {
  const p1 = new Rng(5);
  const p2 = new Rng(5);
  draw(p2, 1000); // consume the parent: must not change the child
  assert.deepEqual(draw(p1.split('nat'), 50), draw(p2.split('nat'), 50));
  // a sibling's consumption does not perturb another child
  const a1 = p1.split('a');
  const b1 = p1.split('b');
  const a2 = p2.split('a');
  draw(b1, 500);
  assert.deepEqual(draw(a1, 50), draw(a2, 50));
  // different labels / parents → different streams, and child ≠ parent
  assert.notDeepEqual(draw(p1.split('a'), 50), draw(p1.split('b'), 50));
  assert.notDeepEqual(draw(new Rng(5).split('x'), 50), draw(new Rng(6).split('x'), 50));
  assert.notDeepEqual(draw(new Rng(5).split('x'), 50), draw(new Rng(5), 50));
  // nested splits are stable too
  assert.deepEqual(draw(new Rng(5).split('x').split('y'), 20), draw(new Rng(5).split('x').split('y'), 20));
  assert.notDeepEqual(draw(new Rng(5).split('x').split('y'), 20), draw(new Rng(5).split('y').split('x'), 20));
});

test('split streams are not correlated with each other', () => {
  const root = new Rng(1);
  const a = root.split('host:1');
  const b = root.split('host:2');
  let same = 0;
  for (let i = 0; i < 10_000; i++) if ((a.u32() & 1) === (b.u32() & 1)) same++;
  assert.ok(Math.abs(same - 5000) < 300, `${same}`);
});

test('chance, pick and shuffle are deterministic', () => {
  const r1 = new Rng(3);
  const r2 = new Rng(3);
  assert.deepEqual(r1.shuffle([1, 2, 3, 4, 5, 6, 7, 8]), r2.shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.equal(r1.pick(['a', 'b', 'c']), r2.pick(['a', 'b', 'c']));
  assert.equal(r1.chance(0), false);
  assert.equal(r1.chance(1), true);
});
