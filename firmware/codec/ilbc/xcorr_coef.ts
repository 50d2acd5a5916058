// Lag search maximising crossCorr^2 / energy without division (used to find
// the pitch lag for PLC when the enhancer is off).

import { rd, s16, normW32, shiftW32, imin, imax, at } from "./spl_math";
import { maxAbsW16, dotProductWithScale } from "./spl_vector";

/**
 * Search `searchLen` lags of `regressor` (moving by step = +1 or -1) against
 * `target` (subl samples); returns best lag index + offset.
 */
export function xcorrCoef(target: usize, regressor: usize, subl: i32, searchLen: i32, offset: i32, step: i32): i32 {
  let ccSqMax: i32 = 0;
  let enMax: i32 = 32767;
  let totscaleMax: i32 = -500;
  let maxlag: i32 = 0;
  let pos: i32 = 0;
  let mx: i32;
  let rpBeg: i32, rpEnd: i32; // element offsets relative to regressor
  if (step == 1) {
    mx = maxAbsW16(regressor, subl + searchLen - 1);
    rpBeg = 0;
    rpEnd = subl;
  } else {
    mx = maxAbsW16(at(regressor, -searchLen), subl + searchLen - 1);
    rpBeg = -1;
    rpEnd = subl - 1;
  }
  const shifts = mx > 5000 ? 2 : 0;
  let energy = dotProductWithScale(regressor, regressor, subl, shifts);
  for (let k = 0; k < searchLen; k++) {
    const cc = dotProductWithScale(target, at(regressor, pos), subl, shifts);
    if (energy > 0 && cc > 0) {
      const ccScale = s16(normW32(cc) - 16);
      const ccMod = s16(shiftW32(cc, ccScale));
      const enScale = s16(normW32(energy) - 16);
      const enMod = s16(shiftW32(energy, enScale));
      const ccSq = s16((ccMod * ccMod) >> 16);
      const totscale = s16(enScale - (ccScale << 1));
      let scalediff = s16(totscale - totscaleMax);
      scalediff = imax(imin(scalediff, 31), -31);
      let newCrit: i32, maxCrit: i32;
      if (scalediff < 0) {
        newCrit = (ccSq * enMax) >> -scalediff;
        maxCrit = ccSqMax * enMod;
      } else {
        newCrit = ccSq * enMax;
        maxCrit = (ccSqMax * enMod) >> scalediff;
      }
      if (newCrit > maxCrit) {
        ccSqMax = ccSq;
        enMax = enMod;
        totscaleMax = totscale;
        maxlag = k;
      }
    }
    pos += step;
    const e = rd(regressor, rpEnd);
    const b = rd(regressor, rpBeg);
    energy += step * ((e * e - b * b) >> shifts);
    rpBeg += step;
    rpEnd += step;
  }
  return maxlag + offset;
}
