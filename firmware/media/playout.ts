/**
 * Playout decisions, taken once per output block (10 ms) by the jitter buffer (jitter.ts):
 *
 *   NORMAL      play decoded audio as it is
 *   ACCELERATE  play it faster: remove one pitch period (tsm.ts) — delay above target
 *   DECELERATE  play it slower: insert one pitch period (preemptive expand) — delay below target
 *   EXPAND      no audio for the playout position: conceal (codec PLC or plc.ts)
 *   MERGE       first real audio after an expand, cross-faded into the concealment
 *
 * "Delay" is the playout delay above the network's floor (delay-estimator.ts): how much later than the
 * fastest possible packet the sample now playing is heard. The target is the quantile of the relative
 * delays. The band around it is asymmetric: below target means late packets soon, so deceleration starts
 * after `decMarginUs`; above target costs only delay, so acceleration waits for max(`accMinUs`, target/16)
 * — as wide as the 10 ms block granularity of playout, so a steady stream is never stretched back and forth.
 */
export const OP_SILENCE: i32 = 0;
export const OP_NORMAL: i32 = 1;
export const OP_ACCELERATE: i32 = 2;
export const OP_DECELERATE: i32 = 3;
export const OP_EXPAND: i32 = 4;
export const OP_MERGE: i32 = 5;

export class PlayoutPolicy {
  /** Smallest excess over target that triggers accelerate, µs. */
  accMinUs: i64 = 12_000;
  /** The excess must also exceed target >> accShift (a sixteenth of the target). */
  accShift: i32 = 4;
  /** Shortfall under target that triggers decelerate, µs. */
  decMarginUs: i64 = 1_000;
  /** Decelerate may overshoot the target by this much (a period shorter than the shortfall may not
   *  exist: the smallest period searched is 2.5 ms), µs. */
  decOvershootUs: i64 = 5_000;
  /** Similarity needed to accelerate / decelerate (Q14), and to accelerate when far above target. */
  corrAccQ14: i32 = 13_107;   // 0.80
  corrDecQ14: i32 = 9_830;    // 0.60
  corrFastQ14: i32 = 8_192;   // 0.50
  /** Excess (µs) above which acceleration accepts `corrFastQ14`. */
  fastExcessUs: i64 = 60_000;
  /** Delay at which the first packet of a stream is played (before statistics exist), µs. */
  initialDelayUs: i64 = 8_000;
  /** Added to the quantile target: covers the floor estimate's own noise, µs. */
  safetyUs: i64 = 1_000;
  /** Bounds of the target, µs. */
  minTargetUs: i64 = 0;
  maxTargetUs: i64 = 800_000;

  /** Excess over target above which the buffer accelerates. */
  accThresholdUs(targetUs: i64): i64 {
    const q = targetUs >> this.accShift;
    return q > this.accMinUs ? q : this.accMinUs;
  }

  /** NORMAL, ACCELERATE or DECELERATE for the current delay against the target (µs). */
  decide(delayUs: i64, targetUs: i64): i32 {
    const excess = delayUs - targetUs;
    if (excess > this.accThresholdUs(targetUs)) return OP_ACCELERATE;
    if (excess < -this.decMarginUs) return OP_DECELERATE;
    return OP_NORMAL;
  }

  /** Similarity required to accelerate with this excess (µs). */
  accCorrQ14(excessUs: i64): i32 { return excessUs > this.fastExcessUs ? this.corrFastQ14 : this.corrAccQ14; }

  /** The target from the estimator's quantile (µs above floor). */
  target(quantileUs: i64): i64 {
    let t = quantileUs + this.safetyUs;
    if (t < this.minTargetUs) t = this.minTargetUs;
    if (t > this.maxTargetUs) t = this.maxTargetUs;
    return t;
  }
}
