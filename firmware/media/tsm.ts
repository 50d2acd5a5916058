import { energy, periodForward, pitchCorrQ14 } from "./pitch";

/**
 * Time-scale modification of decoded speech, pitch-synchronous overlap-add in the WSOLA family:
 * the buffer is shortened or lengthened by exactly one period `p` of its own waveform, found as the
 * lag of best self-similarity (pitch.ts). Removing or repeating whole periods changes duration without
 * changing pitch; the seam is a linear cross-fade over the whole period, so no sample jumps.
 *
 *   accelerate:  x[0..p) ⤬ x[p..2p)  then x[2p..)        (len − p samples)
 *   decelerate:  x[0..p), x[p..2p) ⤬ x[0..p), x[p..)     (len + p samples)
 *   (a ⤬ b: fade a out while fading b in, weight i/p)
 *
 * Speech is modified only where it is periodic enough (correlation ≥ `corrMinQ14`) or quiet
 * (mean energy below `TSM_QUIET_ENERGY`, where any lag works and the largest allowed is used).
 * Operates in place on i16 samples at `buf`; no allocation.
 */

/** Window of the similarity measure, samples at 8 kHz (10 ms). */
export const TSM_WIN_8K: i32 = 80;
/** Mean energy per sample below which a segment counts as quiet: RMS ≈ −50 dBov, (32768·10^(−50/20))². */
export const TSM_QUIET_ENERGY: i64 = 10_737;

/** Similarity (Q14) behind the last accelerate/decelerate decision (16384 for quiet segments). */
export let tsmLastCorrQ14: i32 = 0;

/**
 * The period to cut or insert at buf: pMax for a quiet stretch (no pitch to keep), else the best-correlated
 * period in [pMin, pMax] over `win` samples; 0 when that correlation is under corrMinQ14 (the change is declined).
 * Sets tsmLastCorrQ14.
 */
function tsmPeriod(buf: usize, pMin: i32, pMax: i32, win: i32, corrMinQ14: i32): i32 {
  if (energy(buf, pMax + win) <= TSM_QUIET_ENERGY * <i64>(pMax + win)) { tsmLastCorrQ14 = 16384; return pMax; }
  const p = periodForward(buf, pMin, pMax, win);
  tsmLastCorrQ14 = pitchCorrQ14;
  return pitchCorrQ14 < corrMinQ14 ? 0 : p;
}

/**
 * Removes one period in [pMin, pMax] from the `len` samples at buf. Returns the samples removed (0 if
 * the signal is neither periodic nor quiet enough, or too short: needs len ≥ max(2·pMax, pMax + win)).
 */
export function tsmAccelerate(buf: usize, len: i32, pMin: i32, pMax: i32, win: i32, corrMinQ14: i32): i32 {
  if (pMax > len - win) pMax = len - win;
  if (pMax > (len >> 1)) pMax = len >> 1;
  if (pMin < 1 || pMax < pMin) return 0;
  const p = tsmPeriod(buf, pMin, pMax, win, corrMinQ14);
  if (p == 0) return 0;
  crossfade(buf, buf, buf + (<usize>p << 1), p);
  memory.copy(buf + (<usize>p << 1), buf + (<usize>(2 * p) << 1), <usize>(len - 2 * p) << 1);
  return p;
}

/**
 * Inserts one period in [pMin, pMax] into the `len` samples at buf (room for `cap`). Returns the
 * samples added (0 if declined; needs len ≥ max(2·pMax, pMax + win) and cap ≥ len + pMax).
 */
export function tsmDecelerate(buf: usize, len: i32, cap: i32, pMin: i32, pMax: i32, win: i32, corrMinQ14: i32): i32 {
  if (pMax > len - win) pMax = len - win;
  if (pMax > (len >> 1)) pMax = len >> 1;
  if (pMax > cap - len) pMax = cap - len;
  if (pMin < 1 || pMax < pMin) return 0;
  const p = tsmPeriod(buf, pMin, pMax, win, corrMinQ14);
  if (p == 0) return 0;
  // x[p..len) moves to [2p..len+p); then [p..2p) = x[p..2p) ⤬ x[0..p)
  memory.copy(buf + (<usize>(2 * p) << 1), buf + (<usize>p << 1), <usize>(len - p) << 1);
  crossfade(buf + (<usize>p << 1), buf + (<usize>(2 * p) << 1), buf, p);
  return p;
}

/** out[i] = a[i]·(n−i)/n + b[i]·i/n for i < n (out may equal a). */
function crossfade(out: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const wQ15 = (i << 15) / n;
    const va = <i32>load<i16>(a + (<usize>i << 1));
    const vb = <i32>load<i16>(b + (<usize>i << 1));
    store<i16>(out + (<usize>i << 1), <i16>((va * (32768 - wQ15) + vb * wQ15 + 16384) >> 15));
  }
}
