// Codebook search criteria (RFC 3951 3.6.4): correlations with the
// augmented vectors, the normalised (corr^2 / energy) criterion per lag, and
// the running best candidate with its (clamped) gain.

import { SUBL } from "./defs";
import { rd, rd32, wr32, s16, normW32, shiftW32, imax, imin, at } from "./spl_math";
import { maxAbsW32, maxIndexW32, dotProductWithScale } from "./spl_vector";

/** Correlations of target with the augmented vectors of lags low..high. */
export function augmentedCbCorr(
  target: usize, buffer: usize, interp: usize, crossDot: usize, low: i32, high: i32, scale: i32
): void {
  let ip = interp;
  let k = 0;
  for (let lag = low; lag <= high; lag++) {
    const ilow = lag - 4;
    const src = buffer - <usize>(lag << 1);
    let c = dotProductWithScale(target, src, ilow, scale);
    c += dotProductWithScale(at(target, ilow), ip, 4, scale);
    ip += 8;
    c += dotProductWithScale(at(target, lag), src, SUBL - lag, scale);
    wr32(crossDot, k++, c);
  }
}

// Results of cbSearchCore.
export let coreBestIndex: i32 = 0;
export let coreBestCrit: i32 = 0;
export let coreBestCritSh: i32 = 0;

/** Best index of cDot^2 * invEnergy over `range` lags (all brought to one Q domain). */
export function cbSearchCore(cDot: usize, range: i32, stage: i32, invEnergy: usize, invEnergyShift: usize, crit: usize): void {
  if (stage == 0) {
    for (let i = 0; i < range; i++) wr32(cDot, i, imax(0, rd32(cDot, i)));
  }
  const maxW32 = maxAbsW32(cDot, range);
  const sh = normW32(maxW32);
  let mx: i32 = -32768;
  for (let i = 0; i < range; i++) {
    const t16 = s16((rd32(cDot, i) << sh) >> 16);
    const sq = s16((t16 * t16) >> 16);
    const c = sq * rd(invEnergy, i);
    wr32(crit, i, c);
    if (c != 0) mx = imax(rd(invEnergyShift, i), mx);
  }
  if (mx == -32768) mx = 0;
  for (let i = 0; i < range; i++) {
    const t = imin(16, mx - rd(invEnergyShift, i));
    wr32(crit, i, shiftW32(rd32(crit, i), -t));
  }
  const best = maxIndexW32(crit, range);
  coreBestIndex = best;
  coreBestCrit = rd32(crit, best);
  coreBestCritSh = s16(32 - 2 * sh + mx);
}

// Running best over the search sections of one stage.
export let bestCritMax: i32 = 0;
export let bestShTotMax: i32 = 0;
export let bestIndex: i32 = 0;
export let bestGain: i32 = 0;

export function resetBest(): void {
  bestCritMax = 0;
  bestShTotMax = -100;
  bestIndex = 0;
  bestGain = 0;
}

/** Keep the new candidate if its criterion is larger; derive its gain (Q14, |g| <= 1.3). */
export function cbUpdateBestIndex(
  critNew: i32, critNewSh: i32, indexNew: i32, cDotNew: i32, invEnergyNew: i32, energyShiftNew: i32
): void {
  let shOld: i32, shNew: i32;
  if (critNewSh > bestShTotMax) {
    shOld = imin(31, critNewSh - bestShTotMax);
    shNew = 0;
  } else {
    shOld = 0;
    shNew = imin(31, bestShTotMax - critNewSh);
  }
  if (critNew >> shNew > bestCritMax >> shOld) {
    const t16 = 16 - normW32(cDotNew);
    let scaleTmp = s16(-energyShiftNew - t16 + 31);
    scaleTmp = imin(31, scaleTmp);
    const g = (s16(shiftW32(cDotNew, -t16)) * invEnergyNew) >> scaleTmp;
    if (g > 21299) bestGain = 21299;
    else if (g < -21299) bestGain = -21299;
    else bestGain = s16(g);
    bestCritMax = critNew;
    bestShTotMax = critNewSh;
    bestIndex = indexNew;
  }
}
