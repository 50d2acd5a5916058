import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../host-sim/net/index.js';

test('events run in time order, equal times in FIFO order', () => {
  const s = new Scheduler();
  const log: string[] = [];
  s.at(300, () => log.push('c'));
  s.at(100, () => log.push('a1'));
  s.at(200, () => log.push('b'));
  s.at(100, () => log.push('a2'));
  s.at(100, () => log.push('a3'));
  s.runUntil(1000);
  assert.deepEqual(log, ['a1', 'a2', 'a3', 'b', 'c']);
  assert.equal(s.nowUs, 1000);
});

test('clock equals event time inside callbacks; after() is relative; past events run now', () => {
  const s = new Scheduler();
  const seen: Array<[string, number]> = [];
  s.at(500, () => {
    seen.push(['x', s.nowUs]);
    s.after(250, () => seen.push(['y', s.nowUs]));
    s.at(10, () => seen.push(['past', s.nowUs])); // in the past → runs at 500, after x
    s.at(500, () => seen.push(['same', s.nowUs]));
  });
  s.runUntil(10_000);
  assert.deepEqual(seen, [
    ['x', 500],
    ['past', 500],
    ['same', 500],
    ['y', 750],
  ]);
});

test('runUntil stops at the bound and leaves later events pending', () => {
  const s = new Scheduler();
  let n = 0;
  s.at(100, () => n++);
  s.at(200, () => n++);
  s.at(201, () => n++);
  s.runUntil(200);
  assert.equal(n, 2);
  assert.equal(s.nowUs, 200);
  assert.equal(s.pending(), 1);
  s.runUntil(150); // never moves backwards
  assert.equal(s.nowUs, 200);
  s.runUntil(300);
  assert.equal(n, 3);
  assert.equal(s.pending(), 0);
});

test('cancel removes an event; pending() counts live events only', () => {
  const s = new Scheduler();
  const log: number[] = [];
  const h1 = s.at(10, () => log.push(1));
  const h2 = s.at(20, () => log.push(2));
  s.at(30, () => log.push(3));
  assert.equal(s.pending(), 3);
  s.cancel(h2);
  s.cancel(h2); // idempotent
  assert.equal(s.pending(), 2);
  s.runUntil(15);
  s.cancel(h1); // already ran: no effect on the count
  assert.equal(s.pending(), 1);
  s.runUntil(100);
  assert.deepEqual(log, [1, 3]);
  assert.equal(s.pending(), 0);
});

test('an event can cancel a later event scheduled for the same time', () => {
  const s = new Scheduler();
  const log: string[] = [];
  let h: ReturnType<Scheduler['at']> | null = null;
  s.at(5, () => {
    log.push('first');
    s.cancel(h);
  });
  h = s.at(5, () => log.push('second'));
  s.runUntil(10);
  assert.deepEqual(log, ['first']);
});

test('runWhile stops when the predicate turns false, or at the limit', () => {
  const s = new Scheduler();
  let count = 0;
  for (let i = 1; i <= 10; i++) s.at(i * 100, () => count++);
  assert.equal(s.runWhile(() => count < 4, 10_000), true);
  assert.equal(count, 4);
  assert.equal(s.nowUs, 400);
  assert.equal(s.runWhile(() => true, 650), false);
  assert.equal(count, 6);
  assert.equal(s.nowUs, 650);
  assert.equal(s.runWhile(() => true, 5000), false); // queue drained: clock goes to the limit
  assert.equal(count, 10);
  assert.equal(s.nowUs, 5000);
});

test('argument form avoids closures and step() runs one event', () => {
  const s = new Scheduler();
  const got: number[] = [];
  const fn = (x: number) => got.push(x);
  s.at(2, fn, 20);
  s.at(1, fn, 10);
  assert.equal(s.peekTime(), 1);
  assert.equal(s.step(), true);
  assert.deepEqual(got, [10]);
  assert.equal(s.nowUs, 1);
  assert.equal(s.step(), true);
  assert.equal(s.step(), false);
  assert.deepEqual(got, [10, 20]);
});

test('re-entrant run is rejected', () => {
  const s = new Scheduler();
  s.at(1, () => assert.throws(() => s.runUntil(5), /re-entrant/));
  s.runUntil(2);
});

test('heap order matches a sorted reference on random input, with many cancellations', () => {
  const s = new Scheduler();
  // simple LCG so the test does not depend on the Rng under test elsewhere
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const expected: Array<[number, number]> = [];
  const got: Array<[number, number]> = [];
  for (let i = 0; i < 20_000; i++) {
    const t = Math.floor(rnd() * 1000);
    const h = s.at(t, (id: number) => got.push([s.nowUs, id]), i);
    if (rnd() < 0.6) s.cancel(h); // exercises compaction
    else expected.push([t, i]);
  }
  expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.equal(s.pending(), expected.length);
  s.runUntil(1000);
  assert.deepEqual(got, expected);
});

// Speed is a benchmark figure (npm run bench), not a timed test: this one checks a million queued events all run, in order.
test('runs a million queued events, each once, in time order', () => {
  const s = new Scheduler();
  let n = 0;
  let last = -1;
  let ordered = true;
  const fn = () => {
    n++;
    if (s.nowUs < last) ordered = false;
    last = s.nowUs;
  };
  for (let i = 0; i < 1_000_000; i++) s.at((i * 7919) % 1_000_003, fn);
  s.runUntil(2_000_000);
  assert.equal(n, 1_000_000);
  assert.ok(ordered);
  assert.equal(s.pending(), 0);
});
