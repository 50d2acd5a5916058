// Link models (host-sim/net/link-models.ts): their statistics match their parameters, traces round-trip,
// and plugged into the simulated network they keep one seed = one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Network, Rng, Scheduler, bernoulliLoss, composeLink, constantDelay, delaySpikes, formatTrace, g1050Profile, gilbertElliott,
  gilbertFromStats, ipFromString as ip, makeTrace, paretoJitter, parseTrace, recordTrace, replayTrace, routeChanges, uniformJitter,
  type TraceEntry,
} from '../../host-sim/net/index.js';

const near = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b} (±${rel * 100} %)`);

test('Gilbert–Elliott: loss rate p/(p+r) and mean burst length 1/r match the parameters', () => {
  for (const [loss, burst] of [[0.02, 2.5], [0.05, 4], [0.1, 1.5]]) {
    const ge = gilbertElliott(gilbertFromStats(loss, burst));
    const rng = new Rng(11);
    let lost = 0, runs = 0, prev = false;
    const n = 400_000;
    for (let i = 0; i < n; i++) {
      const l = ge.lost(i, rng);
      if (l) { lost++; if (!prev) runs++; }
      prev = l;
    }
    near(lost / n, loss, 0.05, `loss rate (${loss}, ${burst})`);
    near(lost / runs, burst, 0.05, `mean burst (${loss}, ${burst})`);
  }
  // Elliott's general form: loss probability 0.5 in the bad state, 0.01 in the good one
  const ge = gilbertElliott({ p: 0.02, r: 0.2, lossGood: 0.01, lossBad: 0.5 });
  const rng = new Rng(5);
  let lost = 0;
  for (let i = 0; i < 400_000; i++) if (ge.lost(i, rng)) lost++;
  const pb = 0.02 / 0.22;
  near(lost / 400_000, pb * 0.5 + (1 - pb) * 0.01, 0.05, 'GE loss');
});

test('Bernoulli loss, uniform and Pareto jitter have the configured rate, bounds and mean', () => {
  const rng = new Rng(2);
  const b = bernoulliLoss(0.03);
  let lost = 0;
  for (let i = 0; i < 200_000; i++) if (b.lost(i, rng)) lost++;
  near(lost / 200_000, 0.03, 0.05, 'bernoulli');
  const u = uniformJitter(10_000, 4_000);
  let mn = Infinity, mx = -Infinity, sum = 0;
  for (let i = 0; i < 100_000; i++) { const d = u.delayUs(i, rng); mn = Math.min(mn, d); mx = Math.max(mx, d); sum += d; }
  assert.ok(mn >= 10_000 && mx <= 14_000, `${mn} ${mx}`);
  near(sum / 100_000, 12_000, 0.01, 'uniform mean');
  // Lomax: mean = scale/(α − 1) = 10 ms; P(X > x) = (1 + x/scale)^−α
  const p = paretoJitter(5_000, { scaleUs: 15_000, shape: 2.5 });
  const xs = Array.from({ length: 400_000 }, () => p.delayUs(0, rng) - 5_000);
  near(xs.reduce((a, v) => a + v, 0) / xs.length, 10_000, 0.05, 'pareto mean');
  near(xs.filter((x) => x > 30_000).length / xs.length, Math.pow(1 + 2, -2.5), 0.05, 'pareto tail');
  assert.ok(Math.min(...xs.slice(0, 1000)) >= 0);
});

test('delay spikes hold packets until the stall ends; route changes shift the delay for a while', () => {
  const rng = new Rng(8);
  const link = composeLink({ delay: constantDelay(20_000), events: [delaySpikes({ ratePerS: 0.2, stallUs: 300_000 })] });
  const trace = makeTrace(link, rng, 50 * 600, 20_000); // 10 minutes
  const stalled = trace.filter((e) => e.arrivalUs! - e.sendUs > 20_000);
  // ≈ 0.2/s × 600 s × 300 ms of stall = 36 s → ≈ 6 % of the packets (Poisson, so wide bounds)
  assert.ok(stalled.length > 0.03 * trace.length && stalled.length < 0.09 * trace.length, `${stalled.length}`);
  for (const e of stalled) assert.ok(e.arrivalUs! - e.sendUs <= 320_000);
  // a stalled burst leaves together
  const arrivals = new Map<number, number>();
  for (const e of stalled) arrivals.set(Math.round(e.arrivalUs!), (arrivals.get(Math.round(e.arrivalUs!)) ?? 0) + 1);
  assert.ok([...arrivals.values()].some((c) => c >= 10), 'bursts of ≥ 10 packets arrive at the same instant');

  const rc = composeLink({ delay: constantDelay(30_000), events: [routeChanges({ ratePerS: 0.05, stepMinUs: 50_000, stepMaxUs: 50_000, holdMinUs: 5_000_000, holdMaxUs: 5_000_000 })] });
  const t2 = makeTrace(rc, new Rng(9), 50 * 600, 20_000);
  const delays = new Set(t2.map((e) => Math.round(e.arrivalUs! - e.sendUs)));
  assert.deepEqual([...delays].sort((a, b) => a - b), [30_000, 80_000]);
});

test('FIFO links never reorder; non-FIFO jitter does', () => {
  const mk = (fifo: boolean) => makeTrace(composeLink({ delay: uniformJitter(10_000, 60_000), fifo }), new Rng(4), 5000, 20_000);
  const reorders = (t: TraceEntry[]) => t.filter((e, i) => i > 0 && e.arrivalUs! < t[i - 1].arrivalUs!).length;
  assert.equal(reorders(mk(true)), 0);
  assert.ok(reorders(mk(false)) > 100);
});

test('G.1050-style profiles: class A is better than B, B better than C (delay, jitter, loss)', () => {
  const stats = (cls: 'A' | 'B' | 'C') => {
    const t = makeTrace(g1050Profile(cls, 0.5).model, new Rng(1).split(cls), 50 * 300, 20_000);
    const d = t.filter((e) => e.arrivalUs !== null).map((e) => e.arrivalUs! - e.sendUs).sort((a, b) => a - b);
    return { loss: 1 - d.length / t.length, p50: d[d.length >> 1], spread: d[Math.floor(d.length * 0.99)] - d[0] };
  };
  const a = stats('A'), b = stats('B'), c = stats('C');
  assert.ok(a.p50 < b.p50 && b.p50 < c.p50, JSON.stringify({ a, b, c }));
  assert.ok(a.spread < b.spread && b.spread < c.spread, JSON.stringify({ a, b, c }));
  assert.ok(a.loss < 0.001 && a.loss <= b.loss && b.loss < c.loss, JSON.stringify({ a, b, c }));
  assert.throws(() => g1050Profile('B', 2), /severity/);
});

test('traces: one line per packet, parsed back exactly; replay gives every packet its recorded fate', () => {
  const rec: TraceEntry[] = [];
  const link = recordTrace(composeLink({ delay: paretoJitter(15_000, { scaleUs: 5_000, shape: 2 }), loss: bernoulliLoss(0.1) }), rec);
  const rng = new Rng(21);
  for (let i = 0; i < 500; i++) link.transit(i * 20_000, rng);
  const text = formatTrace(rec.map((e) => ({ sendUs: Math.round(e.sendUs), arrivalUs: e.arrivalUs === null ? null : Math.round(e.arrivalUs) })), 'test');
  assert.equal(text.split('\n').filter((l) => l && !l.startsWith('#')).length, 500);
  assert.match(text, /^\d+ lost$/m);
  const parsed = parseTrace(text);
  const replay = replayTrace(parsed);
  parsed.forEach((e, i) => {
    const d = replay.transit(i * 20_000, rng);
    assert.equal(d < 0 ? null : i * 20_000 + d, e.arrivalUs === null ? null : e.arrivalUs - e.sendUs + i * 20_000);
  });
  assert.throws(() => parseTrace('# x\n100 200\n300 fish\n'), /line 3/);
  assert.throws(() => parseTrace('500 400\n'), /arrival before send/);
});

test('a link model on a host link drives the simulated network, and one seed gives one run', () => {
  const run = (seed: number) => {
    const sched = new Scheduler();
    const net = new Network(sched, new Rng(seed));
    const model = composeLink({ delay: paretoJitter(10_000, { scaleUs: 8_000, shape: 2 }), loss: gilbertElliott(gilbertFromStats(0.1, 3)) });
    const a = net.addHost('a', '1.0.0.1', { link: { model } });
    const b = net.addHost('b', '1.0.0.2', { link: { delayUs: 1_000, jitterUs: 0, loss: 0 } });
    const got: string[] = [];
    b.udpBind(9, (_s, _p, d) => got.push(`${sched.nowUs} ${d[0] | (d[1] << 8)}`));
    const s = a.udpBind(9, () => {});
    for (let i = 0; i < 2000; i++) sched.at(i * 20_000, () => s.send(ip('1.0.0.2'), 9, new Uint8Array([i & 255, i >> 8])));
    sched.runUntil(60_000_000);
    return { got, loss: net.stats.loss };
  };
  const r1 = run(7), r2 = run(7), r3 = run(8);
  assert.deepEqual(r1.got, r2.got);
  assert.notDeepEqual(r1.got, r3.got);
  near(r1.loss / 2000, 0.1, 0.3, 'model loss counted as link loss');
  assert.equal(r1.got.length + r1.loss, 2000);
  // delays: 10 ms model base + 1 ms b's link + the default core delay between sites (10 ms) at least
  const first = r1.got.map((l) => Number(l.split(' ')[0]) - Number(l.split(' ')[1]) * 20_000);
  assert.ok(Math.min(...first) >= 21_000);
});
