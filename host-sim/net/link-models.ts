/**
 * Delay and loss models for simulated links (issue #6). A `LinkModel` decides, packet by packet, how
 * long a packet takes through a link or that it is lost; put one in `LinkParams.model` of a host or
 * middlebox link (network.ts then uses it instead of delay/jitter/loss), or call `transit()` directly to
 * make a packet trace (tools/bench-jitter.ts).
 *
 * Building blocks, combined by `composeLink`:
 *  - delay: constant, uniform jitter, Pareto jitter (heavy tail: queueing bursts on a busy link);
 *  - spikes: the link stalls for a while and then delivers the backlog at once (Wi-Fi scan, 3G
 *    handover), or the path changes to a slower/faster route for a while (route change, delay step);
 *  - loss: Bernoulli, or Gilbert–Elliott (two-state Markov chain, each state with its own loss
 *    probability: bursty loss);
 *  - `fifo`: a single queue never reorders (arrival times made non-decreasing).
 * `g1050Profile()` builds paths in the style of the ITU-T G.1050 / TIA-921 network model (LAN, access
 * and core segments of a well-managed, partially managed or unmanaged network at a severity level), and
 * `recordTrace`/`replayTrace` write and replay one line per packet.
 *
 * Models are stateful (Markov state, pending spikes) and draw all randomness from the `Rng` passed to
 * `transit()` — the link's own stream in network.ts — so one seed reproduces a run exactly. Times are µs.
 */
import type { Rng } from './rng.js';
import type { LinkModel } from './types.js';

export type { LinkModel } from './types.js';

/** `transit()` result for a lost packet. */
export const LOST = -1;

// ---------------------------------------------------------------------------------------------
// delay

/** Per-packet delay of a link (≥ 0, µs). */
export interface DelayModel {
  /** Smallest delay it produces, µs. */
  readonly minUs: number;
  delayUs(nowUs: number, rng: Rng): number;
}

/** Always `delayUs`. */
export function constantDelay(delayUs: number): DelayModel {
  checkNonNeg('delayUs', delayUs);
  return { minUs: delayUs, delayUs: () => delayUs };
}

/** `delayUs` plus a uniform random extra in [0, jitterUs] (what LinkParams.jitterUs does). */
export function uniformJitter(delayUs: number, jitterUs: number): DelayModel {
  checkNonNeg('delayUs', delayUs);
  checkNonNeg('jitterUs', jitterUs);
  return { minUs: delayUs, delayUs: (_t, rng) => delayUs + rng.float() * jitterUs };
}

export interface ParetoOpts {
  /** Scale x_m of the Pareto law, µs: the extra delay is x_m·(U^(−1/α) − 1) ≥ 0. */
  scaleUs: number;
  /** Shape α (> 1 for a finite mean x_m/(α−1); smaller = heavier tail). */
  shape: number;
  /** Largest extra delay, µs (a real queue is finite). Default 10 s. */
  capUs?: number;
}

/**
 * `delayUs` plus a Pareto-distributed extra: mean scale/(shape − 1), P(extra > x) = (1 + x/scale)^−shape
 * (a Lomax law: Pareto shifted to start at 0).
 */
export function paretoJitter(delayUs: number, o: ParetoOpts): DelayModel {
  checkNonNeg('delayUs', delayUs);
  if (!(o.scaleUs >= 0) || !(o.shape > 0)) throw new RangeError('paretoJitter: scaleUs ≥ 0 and shape > 0 required');
  const cap = o.capUs ?? 10_000_000;
  const inv = -1 / o.shape;
  return {
    minUs: delayUs,
    delayUs: (_t, rng) => {
      const u = 1 - rng.float(); // (0, 1]
      return delayUs + Math.min(cap, o.scaleUs * (Math.pow(u, inv) - 1));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// spikes and route changes

export interface SpikeOpts {
  /** Mean events per second (Poisson process). */
  ratePerS: number;
  /** Stall length of one event, µs: packets sent during [t0, t0 + stall) all leave at t0 + stall. */
  stallUs?: number;
  /** Alternatively: random stall length, uniform in [min, max] µs. */
  stallMinUs?: number;
  stallMaxUs?: number;
}

/** Extra delay added by events that start at random times (state: the current event). */
export interface EventModel {
  extraUs(nowUs: number, rng: Rng): number;
}

/**
 * Delay spikes: at Poisson instants t0 the link stalls for S µs and then delivers its backlog at once
 * (the arrivals bunch up: a jitter buffer sees nothing, then a burst). A packet sent at t in [t0, t0+S)
 * waits t0 + S − t extra.
 */
export function delaySpikes(o: SpikeOpts): EventModel {
  if (!(o.ratePerS >= 0)) throw new RangeError('delaySpikes: ratePerS ≥ 0 required');
  const lo = o.stallMinUs ?? o.stallUs ?? 0, hi = o.stallMaxUs ?? o.stallUs ?? 0;
  if (!(lo >= 0) || !(hi >= lo)) throw new RangeError('delaySpikes: bad stall length');
  let next = -1, start = -Infinity, end = -Infinity;
  return {
    extraUs(now, rng) {
      if (o.ratePerS === 0) return 0;
      if (next < 0) next = now + expUs(o.ratePerS, rng);
      while (now >= next) {
        start = next;
        end = next + lo + rng.float() * (hi - lo);
        next = end + expUs(o.ratePerS, rng);
      }
      return now >= start && now < end ? end - now : 0;
    },
  };
}

export interface RouteChangeOpts {
  /** Mean route changes per second (Poisson). */
  ratePerS: number;
  /** Delay change while on the other route, µs (uniform in [min, max]; negative = faster route). */
  stepMinUs: number;
  stepMaxUs: number;
  /** How long the other route lasts, µs (uniform in [min, max]). */
  holdMinUs: number;
  holdMaxUs: number;
}

/** Route changes: for a random hold time the one-way delay is shifted by a random step (a flap). */
export function routeChanges(o: RouteChangeOpts): EventModel {
  if (!(o.ratePerS >= 0) || !(o.holdMaxUs >= o.holdMinUs) || !(o.stepMaxUs >= o.stepMinUs)) throw new RangeError('routeChanges: bad options');
  let next = -1, start = -Infinity, end = -Infinity, step = 0;
  return {
    extraUs(now, rng) {
      if (o.ratePerS === 0) return 0;
      if (next < 0) next = now + expUs(o.ratePerS, rng);
      while (now >= next) {
        start = next;
        end = next + o.holdMinUs + rng.float() * (o.holdMaxUs - o.holdMinUs);
        step = o.stepMinUs + rng.float() * (o.stepMaxUs - o.stepMinUs);
        next = end + expUs(o.ratePerS, rng);
      }
      return now >= start && now < end ? step : 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// loss

/** Per-packet loss decision (stateful for bursty models). */
export interface LossModel {
  lost(nowUs: number, rng: Rng): boolean;
}

export function noLoss(): LossModel { return { lost: () => false }; }

/** Independent loss with probability p. */
export function bernoulliLoss(p: number): LossModel {
  checkProb('p', p);
  return { lost: (_t, rng) => p > 0 && rng.float() < p };
}

export interface GilbertElliottOpts {
  /** P(good → bad) per packet. */
  p: number;
  /** P(bad → good) per packet. */
  r: number;
  /** Loss probability in the good state (default 0) and in the bad state (default 1). */
  lossGood?: number;
  lossBad?: number;
}

/**
 * Gilbert–Elliott: a two-state Markov chain stepped once per packet; the packet is lost with the
 * current state's loss probability. Stationary P(bad) = p/(p+r); with lossGood = 0, lossBad = 1 (the
 * Gilbert model) the loss rate is p/(p+r) and loss bursts have mean length 1/r.
 */
export interface GilbertElliott extends LossModel {
  /** True while in the bad state. */
  readonly bad: boolean;
}

export function gilbertElliott(o: GilbertElliottOpts): GilbertElliott {
  checkProb('p', o.p); checkProb('r', o.r);
  const lg = o.lossGood ?? 0, lb = o.lossBad ?? 1;
  checkProb('lossGood', lg); checkProb('lossBad', lb);
  let bad = false, init = false;
  return {
    get bad() { return bad; },
    lost(_t, rng) {
      if (!init) { init = true; bad = o.p + o.r > 0 && rng.float() < o.p / (o.p + o.r); }
      else bad = bad ? !(rng.float() < o.r) : rng.float() < o.p;
      const pl = bad ? lb : lg;
      return pl > 0 && rng.float() < pl;
    },
  };
}

/** Gilbert model with a given loss rate (0..1) and mean loss burst length (packets, ≥ 1). */
export function gilbertFromStats(lossRate: number, meanBurst: number): GilbertElliottOpts {
  checkProb('lossRate', lossRate);
  if (!(meanBurst >= 1)) throw new RangeError('meanBurst must be ≥ 1 packet');
  if (lossRate >= 1) return { p: 1, r: 0 };
  const r = 1 / meanBurst;
  return { p: (r * lossRate) / (1 - lossRate), r };
}

// ---------------------------------------------------------------------------------------------
// composition

export interface LinkSpec {
  delay: DelayModel;
  loss?: LossModel;
  /** Extra-delay events (spikes, route changes), summed. */
  events?: EventModel[];
  /** Keep packets in order (a single FIFO queue); default false. */
  fifo?: boolean;
}

/** One link from its parts: loss first, then base delay + jitter + events (+ FIFO ordering). */
export function composeLink(s: LinkSpec): LinkModel {
  let lastArrival = -Infinity;
  return {
    baseUs: s.delay.minUs,
    transit(now, rng) {
      if (s.loss && s.loss.lost(now, rng)) return LOST;
      let d = s.delay.delayUs(now, rng);
      if (s.events) for (const e of s.events) d += e.extraUs(now, rng);
      if (s.fifo) {
        if (now + d < lastArrival) d = lastArrival - now;
        lastArrival = now + d;
      }
      return Math.max(0, d);
    },
  };
}

/** Several links one after another (delays add; lost if any loses it). */
export function chainLinks(...links: LinkModel[]): LinkModel {
  return {
    baseUs: links.reduce((a, l) => a + l.baseUs, 0),
    transit(now, rng) {
      let t = now;
      for (const l of links) {
        const d = l.transit(t, rng);
        if (d < 0) return LOST;
        t += d;
      }
      return t - now;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// G.1050 / TIA-921 style profiles

/** Network class of ITU-T G.1050 §7.1's service test profiles. */
export type G1050Class = 'A' | 'B' | 'C';

export interface G1050Path {
  name: string;
  model: LinkModel;
  /** The settings the path was built from (for reports). */
  settings: Record<string, number>;
}

/**
 * A voice path in the style of the ITU-T G.1050 (TIA-921) network model: LAN → access → core → access
 * → LAN, each segment adding delay, jitter and loss, for one of the Recommendation's three network
 * classes — A "well-managed" (managed IP network, little jitter, loss ≲ 0.05 %), B "partially
 * managed" (some congestion, jitter tens of ms, loss ≲ 2 %), C "unmanaged" (the Internet: heavy-tailed
 * jitter up to hundreds of ms, bursty loss up to several %, route flaps) — at a severity 0 (best) … 1
 * (worst of the class). The core contributes the base delay, route flaps (delay steps) and link failures
 * (loss bursts); the access links the queueing jitter (Pareto) and congestion loss (Gilbert–Elliott); the
 * LANs small jitter. The numbers are ours, chosen inside the ranges the Recommendation's text describes
 * for each class; they are not its tables.
 */
export function g1050Profile(cls: G1050Class, severity = 0.5): G1050Path {
  if (!(severity >= 0 && severity <= 1)) throw new RangeError('severity must be in [0, 1]');
  const lerp = (a: number, b: number) => a + (b - a) * severity;
  const p = {
    A: { coreUs: lerp(20_000, 60_000), accessJitterUs: lerp(200, 2_000), shape: 3.0, lossPct: lerp(0, 0.05), burst: 1.5, flapPerH: lerp(0, 1), flapUs: lerp(2_000, 10_000), failPerH: 0, lanJitterUs: 300 },
    B: { coreUs: lerp(30_000, 90_000), accessJitterUs: lerp(1_500, 8_000), shape: 2.5, lossPct: lerp(0.1, 2), burst: 2, flapPerH: lerp(1, 6), flapUs: lerp(5_000, 40_000), failPerH: lerp(0, 2), lanJitterUs: 1_000 },
    C: { coreUs: lerp(40_000, 150_000), accessJitterUs: lerp(5_000, 25_000), shape: 2.2, lossPct: lerp(1, 6), burst: 3, flapPerH: lerp(6, 30), flapUs: lerp(10_000, 120_000), failPerH: lerp(2, 20), lanJitterUs: 3_000 },
  }[cls];
  const lan = () => composeLink({ delay: uniformJitter(200, p.lanJitterUs), fifo: true });
  // access: a queue (FIFO) with heavy-tailed waiting time (mean accessJitterUs) and bursty congestion
  // loss (half of the path's loss on each access link)
  const access = () => composeLink({
    delay: paretoJitter(2_000, { scaleUs: p.accessJitterUs * (p.shape - 1), shape: p.shape, capUs: 8 * p.accessJitterUs * p.shape }),
    loss: p.lossPct > 0 ? gilbertElliott(gilbertFromStats(p.lossPct / 100 / 2, p.burst)) : noLoss(),
    fifo: true,
  });
  // core: base delay, route flaps (delay steps of ± flapUs for 5–60 s), link failures (all lost for 0.1–2 s)
  const events: EventModel[] = [];
  if (p.flapPerH > 0) events.push(routeChanges({ ratePerS: p.flapPerH / 3600, stepMinUs: -p.flapUs / 2, stepMaxUs: p.flapUs, holdMinUs: 5_000_000, holdMaxUs: 60_000_000 }));
  const failure = p.failPerH > 0 ? outages(p.failPerH / 3600, 100_000, 2_000_000) : noLoss();
  const core = composeLink({ delay: uniformJitter(p.coreUs, p.coreUs * 0.02), loss: failure, events });
  return {
    name: `G.1050-style ${cls}${severity === 0.5 ? '' : ` (severity ${severity})`}`,
    model: chainLinks(lan(), access(), core, access(), lan()),
    settings: { ...p, severity },
  };
}

/** Outages: at Poisson instants (ratePerS) every packet is lost for a uniform [min, max] µs. */
export function outages(ratePerS: number, minUs: number, maxUs: number): LossModel {
  if (!(ratePerS >= 0) || !(minUs >= 0) || !(maxUs >= minUs)) throw new RangeError('outages: bad options');
  let next = -1, start = -Infinity, end = -Infinity;
  return {
    lost(now, rng) {
      if (ratePerS === 0) return false;
      if (next < 0) next = now + expUs(ratePerS, rng);
      while (now >= next) {
        start = next;
        end = next + minUs + rng.float() * (maxUs - minUs);
        next = end + expUs(ratePerS, rng);
      }
      return now >= start && now < end;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// traces

/** One packet of a trace: when it was sent and when it arrived (null = lost), µs. */
export interface TraceEntry {
  sendUs: number;
  arrivalUs: number | null;
}

/** Text form: a comment header, then one line per packet `send_us arrival_us` or `send_us lost`. */
export function formatTrace(entries: readonly TraceEntry[], comment = ''): string {
  const lines = ['# packet trace v1: send_us arrival_us|lost' + (comment ? ` — ${comment}` : '')];
  for (const e of entries) lines.push(`${Math.round(e.sendUs)} ${e.arrivalUs === null ? 'lost' : Math.round(e.arrivalUs)}`);
  return lines.join('\n') + '\n';
}

/** Parses `formatTrace` text (blank lines and `#` comments ignored). Throws with the line number. */
export function parseTrace(text: string): TraceEntry[] {
  const out: TraceEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?|lost)$/.exec(line);
    if (!m) throw new Error(`trace line ${i + 1}: expected "send_us arrival_us|lost", got "${line}"`);
    const sendUs = Number(m[1]);
    const arrivalUs = m[2] === 'lost' ? null : Number(m[2]);
    if (arrivalUs !== null && arrivalUs < sendUs) throw new Error(`trace line ${i + 1}: arrival before send`);
    out.push({ sendUs, arrivalUs });
  });
  return out;
}

/** Wraps a model so every packet's fate is appended to `into` (send time, arrival or lost). */
export function recordTrace(model: LinkModel, into: TraceEntry[]): LinkModel {
  return {
    baseUs: model.baseUs,
    transit(now, rng) {
      const d = model.transit(now, rng);
      into.push({ sendUs: now, arrivalUs: d < 0 ? null : now + d });
      return d;
    },
  };
}

/**
 * Replays a trace: the i-th packet through the link gets the i-th entry's fate (its delay
 * arrival − send, or lost), whatever its own send time. Past the end every packet gets the last
 * entry's delay (or `baseUs` for an empty trace). Draws no random numbers.
 */
export function replayTrace(entries: readonly TraceEntry[]): LinkModel {
  let i = 0;
  let lastDelay = 0;
  let base = Infinity;
  for (const e of entries) if (e.arrivalUs !== null) base = Math.min(base, e.arrivalUs - e.sendUs);
  if (!Number.isFinite(base)) base = 0;
  return {
    baseUs: base,
    transit() {
      if (i >= entries.length) return entries.length === 0 ? base : lastDelay;
      const e = entries[i++];
      if (e.arrivalUs === null) return LOST;
      lastDelay = e.arrivalUs - e.sendUs;
      return lastDelay;
    },
  };
}

/** Sends one packet every `intervalUs` from `startUs` through `model` and returns the trace. */
export function makeTrace(model: LinkModel, rng: Rng, count: number, intervalUs: number, startUs = 0): TraceEntry[] {
  const out: TraceEntry[] = [];
  for (let k = 0; k < count; k++) {
    const t = startUs + k * intervalUs;
    const d = model.transit(t, rng);
    out.push({ sendUs: t, arrivalUs: d < 0 ? null : t + d });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function expUs(ratePerS: number, rng: Rng): number {
  return (-Math.log(1 - rng.float()) / ratePerS) * 1e6;
}

function checkNonNeg(name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite number ≥ 0`);
}

function checkProb(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1]`);
}
