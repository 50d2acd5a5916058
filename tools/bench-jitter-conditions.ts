/**
 * The network conditions of `npm run bench:jitter`, from a clean LAN to a bad Wi-Fi/3G-like path with
 * delay spikes and bursty loss. Each is a link model (host-sim/net/link-models.ts) through which one
 * packet trace is made per run; every buffer then plays that same trace.
 */
import {
  Rng, bernoulliLoss, composeLink, delaySpikes, g1050Profile, gilbertElliott, gilbertFromStats, paretoJitter,
  routeChanges, uniformJitter, type LinkModel, type TraceEntry,
} from '../host-sim/net/index.js';
import { sendTimes } from './bench-jitter-lib.js';

export interface Condition {
  name: string;
  description: string;
  model: () => LinkModel;
}

/** Pareto extra delay with the given mean (µs) and shape. */
const pareto = (baseUs: number, meanUs: number, shape: number, capUs = 2_000_000) =>
  paretoJitter(baseUs, { scaleUs: meanUs * (shape - 1), shape, capUs });

export const CONDITIONS: Condition[] = [
  {
    name: 'lan',
    description: 'clean LAN: 0.3 ms + uniform 0–1 ms jitter, no loss',
    model: () => composeLink({ delay: uniformJitter(300, 1_000) }),
  },
  {
    name: 'g1050-A',
    description: 'G.1050-style well-managed network (class A, severity 0.5)',
    model: () => g1050Profile('A', 0.5).model,
  },
  {
    name: 'dsl',
    description: 'DSL: 25 ms + Pareto jitter (mean 5 ms, α 2.5), 0.5 % random loss',
    model: () => composeLink({ delay: pareto(25_000, 5_000, 2.5), loss: bernoulliLoss(0.005) }),
  },
  {
    name: 'g1050-B',
    description: 'G.1050-style partially managed network (class B, severity 0.5)',
    model: () => g1050Profile('B', 0.5).model,
  },
  {
    name: 'wifi-busy',
    description: 'busy Wi-Fi: 15 ms + Pareto jitter (mean 12 ms, α 2, ≤ 400 ms), Gilbert–Elliott loss 2 % (bursts of 2.5), stalls of 50–250 ms every ~10 s',
    model: () => composeLink({
      delay: pareto(15_000, 12_000, 2.0, 400_000),
      loss: gilbertElliott(gilbertFromStats(0.02, 2.5)),
      events: [delaySpikes({ ratePerS: 0.1, stallMinUs: 50_000, stallMaxUs: 250_000 })],
    }),
  },
  {
    name: 'g1050-C',
    description: 'G.1050-style unmanaged network / Internet (class C, severity 0.5)',
    model: () => g1050Profile('C', 0.5).model,
  },
  {
    name: '3g-bad',
    description: 'bad 3G: 70 ms + Pareto jitter (mean 20 ms, α 2.2, ≤ 300 ms, in order), Gilbert–Elliott loss 4 % (bursts of 4), stalls of 200–700 ms every ~20 s, route changes (−20…+80 ms for 5–20 s, ~1/min)',
    model: () => composeLink({
      delay: pareto(70_000, 20_000, 2.2, 300_000),
      loss: gilbertElliott(gilbertFromStats(0.04, 4)),
      events: [
        delaySpikes({ ratePerS: 0.05, stallMinUs: 200_000, stallMaxUs: 700_000 }),
        routeChanges({ ratePerS: 1 / 60, stepMinUs: -20_000, stepMaxUs: 80_000, holdMinUs: 5_000_000, holdMaxUs: 20_000_000 }),
      ],
      fifo: true,
    }),
  },
];

/** The packet trace of one condition: `count` packets of `frame` samples, sender clock `ppm` fast. */
export function conditionTrace(c: Condition, seed: number, count: number, frame: number, ppm = 0): TraceEntry[] {
  const rng = new Rng(seed).split('bench-jitter:' + c.name);
  const model = c.model();
  return sendTimes(count, frame, ppm, 1_000_000).map((t) => {
    const d = model.transit(t, rng);
    return { sendUs: t, arrivalUs: d < 0 ? null : t + d };
  });
}
