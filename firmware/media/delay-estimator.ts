/**
 * Network delay statistics of one stream, from packet arrivals only (receiver clock; the sender's
 * clock is known only through RTP timestamps, RFC 3550 §6.4.1).
 *
 * For every packet the *transit* is `arrivalUs − timestampUs` (an unknown constant plus the one-way
 * delay plus the clock offset accumulated by drift). Two things are tracked:
 *
 * 1. The *floor*: the transit of the fastest packets. Minima are kept per 1 s block over the last
 *    `DRIFT_BLOCKS` s; their trend (Theil–Sen median of pairwise slopes, robust to spikes) is the clock
 *    drift between sender and receiver, and each block minimum of the last `FLOOR_BLOCKS` s is projected
 *    along it to "now". The floor is the smallest projection. So the floor follows drift (±200 ppm = ±0.2 ms/s) smoothly, drops at
 *    once when the path gets faster, and rises (route change to a slower path) once the old minima have
 *    left the window.
 * 2. The *relative delay* r = transit − floor of every packet goes into a histogram (2 ms bins up to 1 s)
 *    whose old entries decay exponentially (forgetting factor per packet, `FORGET_PACKETS` ≈ 10 s of
 *    memory at 50 packets/s; the first packets are averaged uniformly so the estimate is usable at once).
 *    The playout target is the (1 − tail) quantile of r: a packet with r above the target would be late.
 *    When the floor jumps (not a drift step), the histogram is shifted by the jump so that old entries
 *    keep meaning "delay above the floor". Packets that arrive in a burst right behind a more-delayed
 *    packet are not counted (one delay event, one vote).
 *
 * Integer arithmetic: µs in i64, probabilities in Q30, drift in ppb (parts per 10^9).
 */
export const FLOOR_BLOCK_US: i64 = 1_000_000;
/** Blocks kept for the drift slope (32 s) and, of those, the newest used for the floor (16 s). */
export const DRIFT_BLOCKS: i32 = 32;
export const FLOOR_BLOCKS: i32 = 16;
/** Block pairs closer than this are not used for the drift slope (their noise would dominate). */
const SLOPE_PAIR_MIN_US: i64 = 8_000_000;
/** Arrivals closer than this to the previous one are a burst (a queue or a stalled link draining). */
const BURST_GAP_US: i64 = 2_000;
/** Largest drift believed, ppb (1000 ppm): anything larger is a measurement artefact. */
const DRIFT_MAX_PPB: i64 = 1_000_000;
export const HIST_BIN_US: i64 = 2000;
export const HIST_BINS: i32 = 500;
const ONE_Q30: u32 = 1 << 30;

export class DelayEstimator {
  /**
   * Probability mass allowed above the target, Q30 (1.5 %). Late loss stays well below this because an
   * underrun with nothing newer buffered waits instead of dropping (jitter.ts): the tail mostly costs
   * concealment, not late packets. Tuned with `npm run bench:jitter`.
   */
  tailQ30: u32 = <u32>(<f64>ONE_Q30 * 0.015);
  /**
   * Memory of the histogram, packets (forgetting factor 1 − 1/forgetPackets; 3000 ≈ 60 s at 50/s). A
   * rise in jitter moves the quantile within about tail × memory packets (≈ 1 s); a fall takes the memory.
   */
  forgetPackets: i32 = 3000;

  private blkMin: StaticArray<i64> = new StaticArray<i64>(DRIFT_BLOCKS);
  private blkAt: StaticArray<i64> = new StaticArray<i64>(DRIFT_BLOCKS);
  private blkCount: i32 = 0;
  private blkHead: i32 = 0;
  private curStartUs: i64 = 0;
  private curMin: i64 = 0;
  private curMinAt: i64 = 0;
  private curHas: bool = false;
  private slopes: StaticArray<i64> = new StaticArray<i64>(DRIFT_BLOCKS * DRIFT_BLOCKS / 2);
  private prevArrivalUs: i64 = 0;
  private prevRelUs: i64 = 0;
  /** Packets not entered in the histogram because they arrived in a burst behind a later one. */
  burstSkipped: u32 = 0;
  /** Drift estimate: transit change per time, ppb (+: the sender's clock is slow). */
  driftPpb: i64 = 0;

  private hist: StaticArray<u32> = new StaticArray<u32>(HIST_BINS);
  /** Part of the last floor jumps not yet applied to the histogram (|·| < one bin), µs. */
  private shiftPendingUs: i64 = 0;
  private lastFloorUs: i64 = 0;
  private lastAtUs: i64 = 0;
  private timed: bool = false;
  /** Packets in the histogram (saturates). */
  packets: i32 = 0;
  /** Cached quantile, µs above the floor. */
  private targetCacheUs: i64 = 0;
  private targetDirty: bool = true;
  private cachedTailQ30: u32 = 0;

  constructor() { this.reset(); }

  /** Forgets everything (new call). */
  reset(): void {
    for (let i = 0; i < HIST_BINS; i++) unchecked(this.hist[i] = 0);
    this.packets = 0;
    this.shiftPendingUs = 0;
    this.targetDirty = true;
    this.resetTiming();
  }

  /** Forgets the floor and drift but keeps the delay histogram (new SSRC, timestamp jump: same network). */
  resetTiming(): void {
    this.blkCount = 0; this.blkHead = 0; this.curHas = false; this.timed = false;
    this.driftPpb = 0;
  }

  /** Records one packet: arrival time and transit (arrival − RTP timestamp in µs). */
  update(arrivalUs: i64, transitUs: i64): void {
    if (!this.timed) {
      this.curStartUs = arrivalUs; this.curMin = transitUs; this.curMinAt = arrivalUs; this.curHas = true;
      this.timed = true;
      this.lastFloorUs = transitUs; this.lastAtUs = arrivalUs;
      this.prevArrivalUs = arrivalUs - FLOOR_BLOCK_US; this.prevRelUs = 0;
    }
    if (arrivalUs - this.curStartUs >= FLOOR_BLOCK_US) this.closeBlock(arrivalUs);
    if (!this.curHas || transitUs < this.curMin) { this.curMin = transitUs; this.curMinAt = arrivalUs; this.curHas = true; }
    const floor = this.floorAt(arrivalUs);
    // A floor change beyond what drift explains shifts the meaning of old histogram entries.
    const expected = this.lastFloorUs + this.project(arrivalUs - this.lastAtUs);
    this.shiftPendingUs += floor - expected;
    const bins = <i32>(this.shiftPendingUs / HIST_BIN_US);
    if (bins != 0) { this.shiftHist(bins); this.shiftPendingUs -= <i64>bins * HIST_BIN_US; }
    this.lastFloorUs = floor; this.lastAtUs = arrivalUs;
    const rel = transitUs - floor;
    // A packet arriving right behind a more-delayed one (a stalled link or a queue releasing its backlog)
    // says nothing new about lateness: the first of the burst decided it. Counting each delay event once
    // keeps a rare spike from holding the target up for the histogram's whole memory; frequent spikes
    // still reach the tail quantile.
    const burst = arrivalUs - this.prevArrivalUs < BURST_GAP_US && rel <= this.prevRelUs;
    this.prevArrivalUs = arrivalUs;
    if (burst) { this.burstSkipped++; return; }
    this.prevRelUs = rel;
    this.addSample(rel + this.shiftPendingUs);
  }

  /** The floor projected to time `atUs` (µs, same units as transits). */
  floorAt(atUs: i64): i64 {
    let f: i64 = this.curHas ? this.curMin + this.project(atUs - this.curMinAt) : i64.MAX_VALUE;
    const n = this.blkCount < FLOOR_BLOCKS ? this.blkCount : FLOOR_BLOCKS;
    for (let k = 0; k < n; k++) {
      const i = (this.blkHead + DRIFT_BLOCKS - 1 - k) % DRIFT_BLOCKS;
      const v = unchecked(this.blkMin[i]) + this.project(atUs - unchecked(this.blkAt[i]));
      if (v < f) f = v;
    }
    return f == i64.MAX_VALUE ? 0 : f;
  }

  /** True once at least one packet was seen since the last timing reset. */
  hasFloor(): bool { return this.timed; }

  /** Relative delay that only the `tail` fraction of packets exceeds, µs above the floor. */
  quantileUs(): i64 {
    if (this.targetDirty || this.cachedTailQ30 != this.tailQ30) {
      this.targetCacheUs = this.computeQuantile();
      this.targetDirty = false;
      this.cachedTailQ30 = this.tailQ30;
    }
    const q = this.targetCacheUs - this.shiftPendingUs;
    return q > 0 ? q : 0;
  }

  /** Sender clock error against ours, ppm (rounded; + = the sender's clock runs fast, so packets come
   *  ever earlier and the buffer would grow). */
  driftPpm(): i32 { return -<i32>((this.driftPpb + (this.driftPpb >= 0 ? 500 : -500)) / 1000); }

  @inline private project(dtUs: i64): i64 { return dtUs * this.driftPpb / 1_000_000_000; }

  private closeBlock(nowUs: i64): void {
    if (this.curHas) {
      unchecked(this.blkMin[this.blkHead] = this.curMin);
      unchecked(this.blkAt[this.blkHead] = this.curMinAt);
      this.blkHead = (this.blkHead + 1) % DRIFT_BLOCKS;
      if (this.blkCount < DRIFT_BLOCKS) this.blkCount++;
      this.updateDrift();
    }
    this.curHas = false;
    this.curStartUs = nowUs;
  }

  /** Theil–Sen: the median of the slopes between block minima far enough apart. */
  private updateDrift(): void {
    let n = 0;
    // (ring order does not matter: each pair's slope uses its own two times)
    for (let a = 0; a < this.blkCount; a++) {
      for (let b = a + 1; b < this.blkCount; b++) {
        const dt = unchecked(this.blkAt[b]) - unchecked(this.blkAt[a]);
        const adt = dt < 0 ? -dt : dt;
        if (adt < SLOPE_PAIR_MIN_US) continue;
        let s = (unchecked(this.blkMin[b]) - unchecked(this.blkMin[a])) * 1_000_000_000 / dt;
        if (s > DRIFT_MAX_PPB) s = DRIFT_MAX_PPB; else if (s < -DRIFT_MAX_PPB) s = -DRIFT_MAX_PPB;
        // insertion sort as we go (n ≤ 120)
        let j = n++;
        while (j > 0 && unchecked(this.slopes[j - 1]) > s) { unchecked(this.slopes[j] = this.slopes[j - 1]); j--; }
        unchecked(this.slopes[j] = s);
      }
    }
    if (n < 3) return;
    this.driftPpb = (n & 1) != 0 ? unchecked(this.slopes[n >> 1]) : (unchecked(this.slopes[(n >> 1) - 1]) + unchecked(this.slopes[n >> 1])) / 2;
  }

  private addSample(relUs: i64): void {
    let bin = relUs <= 0 ? 0 : <i32>(relUs / HIST_BIN_US);
    if (bin >= HIST_BINS) bin = HIST_BINS - 1;
    // Uniform average over the first packets, then exponential forgetting.
    if (this.packets < 0x7fffffff) this.packets++;
    const memory = this.packets < this.forgetPackets ? this.packets : this.forgetPackets;
    const incQ30 = ONE_Q30 / <u32>memory;
    const keepQ30 = <u64>(ONE_Q30 - incQ30);
    for (let i = 0; i < HIST_BINS; i++) unchecked(this.hist[i] = <u32>((<u64>this.hist[i] * keepQ30) >> 30));
    unchecked(this.hist[bin] += incQ30);
    this.targetDirty = true;
  }

  /** Moves the histogram `bins` bins down (floor rose) or up (floor fell); mass piles at the ends. */
  private shiftHist(bins: i32): void {
    if (bins > 0) {
      let low: u32 = 0;
      for (let i = 0; i <= bins && i < HIST_BINS; i++) low += unchecked(this.hist[i]);
      for (let i = 1; i < HIST_BINS; i++) unchecked(this.hist[i] = i + bins < HIST_BINS ? this.hist[i + bins] : 0);
      unchecked(this.hist[0] = low);
    } else {
      const up = -bins;
      let high: u32 = 0;
      for (let i = HIST_BINS - 1 - up; i < HIST_BINS; i++) if (i >= 0) high += unchecked(this.hist[i]);
      for (let i = HIST_BINS - 2; i >= 0; i--) unchecked(this.hist[i] = i - up >= 0 ? this.hist[i - up] : 0);
      unchecked(this.hist[HIST_BINS - 1] = high);
    }
    this.targetDirty = true;
  }

  private computeQuantile(): i64 {
    if (this.packets == 0) return 0;
    let acc: u32 = 0;
    for (let b = HIST_BINS - 1; b >= 0; b--) {
      const p = unchecked(this.hist[b]);
      if (acc + p > this.tailQ30) {
        // interpolate inside the bin (mass assumed uniform within it)
        const need = <i64>(this.tailQ30 - acc);
        return <i64>(b + 1) * HIST_BIN_US - (p > 0 ? need * HIST_BIN_US / <i64>p : 0);
      }
      acc += p;
    }
    return 0;
  }
}
