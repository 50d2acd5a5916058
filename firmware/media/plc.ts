import { periodBackward } from "./pitch";

/**
 * Generic packet-loss concealment for codecs without their own (G.711), after the method of
 * ITU-T G.711 Appendix I (pitch waveform repetition with fade), written for this buffer:
 *
 * - History: the last 48.75 ms of output (390 samples at 8 kHz) — enough for three periods of the
 *   lowest pitch searched plus a quarter period of overlap.
 * - At the start of an erasure the pitch period P is the lag (5–15 ms) of best normalised correlation
 *   between the last 20 ms of history and the history P earlier. The synthetic signal loops over the last
 *   P samples of history; the end of the loop is cross-faded over P/4 into the samples that precede its
 *   start, so the loop wraps without a step.
 * - After 10 ms of erasure the loop grows to the last 2P samples, after 20 ms to 3P (less buzzy than one
 *   period repeated for long); the play position maps onto the longer loop without a jump.
 * - Gain is 1 for the first 10 ms, then falls linearly by 20 % per 10 ms: silence after 60 ms.
 * - At the first good samples the synthetic signal goes on for 4 ms (+4 ms per extra 10 ms of erasure,
 *   at most 10 ms) and is cross-faded into the real signal.
 * Differences from Appendix I: no 3.75 ms output delay (the start of an erasure is smoothed by starting
 * the loop at the natural successor of the last period instead of an overlap-add into delayed output),
 * and the generator works sample by sample so any block length can be concealed.
 * Integer arithmetic (gains Q15); preallocated; rate 8 or 16 kHz.
 */
export const PLC_MAX_RATE_HZ: i32 = 16000;
const HIST_MAX: i32 = 390 * 2;

export class GenericPlc {
  /** Samples per ms (8 at 8 kHz). */
  private spm: i32 = 8;
  private histLen: i32 = 390;
  private hist: StaticArray<i16> = new StaticArray<i16>(HIST_MAX);
  private loop: StaticArray<i16> = new StaticArray<i16>(HIST_MAX);
  private pMin: i32 = 40;
  private pMax: i32 = 120;
  /** Current pitch period and loop (1, 2 or 3 periods). */
  pitch: i32 = 0;
  private periods: i32 = 0;
  private loopLen: i32 = 0;
  private loopPos: i32 = 0;
  /** True while an erasure is in progress (from the first concealed sample to the merge). */
  active: bool = false;
  /** Samples concealed in the current erasure. */
  erased: i32 = 0;

  constructor(rateHz: i32 = 8000) { this.setRate(rateHz); }

  setRate(rateHz: i32): void {
    this.spm = rateHz >= 16000 ? 16 : 8;
    this.histLen = 390 * this.spm / 8;
    this.pMin = 5 * this.spm;
    this.pMax = 15 * this.spm;
    this.reset();
  }

  reset(): void {
    for (let i = 0; i < HIST_MAX; i++) unchecked(this.hist[i] = 0);
    this.active = false; this.erased = 0;
  }

  /** Records `n` samples that were played (real or concealed) as history. */
  push(p: usize, n: i32): void {
    const h = changetype<usize>(this.hist);
    if (n >= this.histLen) { memory.copy(h, p + (<usize>(n - this.histLen) << 1), <usize>this.histLen << 1); return; }
    const keep = this.histLen - n;
    memory.copy(h, h + (<usize>n << 1), <usize>keep << 1);
    memory.copy(h + (<usize>keep << 1), p, <usize>n << 1);
  }

  /** Writes `n` samples of concealment to out (starting an erasure if none is in progress). */
  conceal(out: usize, n: i32): void {
    if (!this.active) this.begin();
    for (let i = 0; i < n; i++) store<i16>(out + (<usize>i << 1), this.next());
  }

  /**
   * Ends an erasure: cross-fades the synthetic continuation into the `n` real samples at `io`
   * (in place). Returns the samples blended (0 if no erasure was in progress).
   */
  merge(io: usize, n: i32): i32 {
    if (!this.active) return 0;
    const tenMs = 10 * this.spm;
    const blocks = (this.erased + tenMs - 1) / tenMs;
    let len = 4 * this.spm * (blocks < 1 ? 1 : blocks);
    if (len > tenMs) len = tenMs;
    if (len > n) len = n;
    for (let i = 0; i < len; i++) {
      const wQ15 = ((i + 1) << 15) / (len + 1);
      const real = <i32>load<i16>(io + (<usize>i << 1));
      const syn = <i32>this.next();
      store<i16>(io + (<usize>i << 1), <i16>((real * wQ15 + syn * (32768 - wQ15) + 16384) >> 15));
    }
    this.active = false;
    this.erased = 0;
    return len;
  }

  private begin(): void {
    const h = changetype<usize>(this.hist);
    this.pitch = periodBackward(h, this.histLen, this.pMin, this.pMax, 20 * this.spm);
    this.active = true;
    this.erased = 0;
    this.periods = 0;
    this.loopPos = 0;
    this.build(1);
  }

  /** Loop over the last k periods of history, its end cross-faded into what precedes its start. */
  private build(k: i32): void {
    const h = changetype<usize>(this.hist);
    const len = k * this.pitch;
    const start = this.histLen - len;
    const ola = this.pitch >> 2;
    const lp = changetype<usize>(this.loop);
    memory.copy(lp, h + (<usize>start << 1), <usize>len << 1);
    for (let j = 0; j < ola; j++) {
      const wQ15 = ((j + 1) << 15) / (ola + 1);
      const a = <i32>load<i16>(h + (<usize>(this.histLen - ola + j) << 1));
      const b = <i32>load<i16>(h + (<usize>(start - ola + j) << 1));
      store<i16>(lp + (<usize>(len - ola + j) << 1), <i16>((a * (32768 - wQ15) + b * wQ15 + 16384) >> 15));
    }
    // the old loop (last (k−1)·P samples) is the tail of the new one: keep the play position
    if (this.periods > 0) this.loopPos += (k - this.periods) * this.pitch;
    this.periods = k;
    this.loopLen = len;
  }

  private next(): i16 {
    const tenMs = 10 * this.spm;
    if (this.erased == tenMs && this.periods < 2) this.build(2);
    else if (this.erased == 2 * tenMs && this.periods < 3) this.build(3);
    let gainQ15 = 32768;
    if (this.erased >= tenMs) {
      // −20 % per 10 ms after the first 10 ms: zero at 60 ms
      gainQ15 = 32768 - (this.erased - tenMs) * 32768 / (5 * tenMs);
      if (gainQ15 < 0) gainQ15 = 0;
    }
    const v = <i32>unchecked(this.loop[this.loopPos]);
    this.loopPos++;
    if (this.loopPos >= this.loopLen) this.loopPos = 0;
    if (this.erased < 0x3fffffff) this.erased++;
    return <i16>((v * gainQ15 + 16384) >> 15);
  }
}
