// Packet loss concealment (RFC 3951 4.5 / appendix A.14, fixed point):
// pitch-synchronous repetition of the last residual mixed with a random
// (lagged-residual) noise component, with gain attenuation over consecutive
// losses. When no loss occurred, it just records the state for later use.

import { DecoderState } from "./decoder_state";
import { LPC_FILTERORDER, BLOCKL_MAX } from "./defs";
import { PLC_PER_SQR, PLC_PITCH_FACT, PLC_PF_SLOPE } from "./tables";
import { rd, wr, at, s16, sizeInBits, normW32, shiftW32, iabs, divW32W16, imin } from "./spl_math";
import { maxAbsW16, dotProductWithScale, copy16 } from "./spl_vector";

const RANDVEC = new StaticArray<i16>(BLOCKL_MAX);
let ccCorr: i32 = 0;
let ccEner: i32 = 0;

/** Correlation and energy of the last sRange samples of buffer at `lag`. */
function compCorr(buffer: usize, lag: i32, bLen: i32, sRange: i32, scale: i32): void {
  const w = at(buffer, bLen - sRange - lag);
  ccCorr = dotProductWithScale(at(buffer, bLen - sRange), w, sRange, scale);
  ccEner = dotProductWithScale(w, w, sRange, scale);
  if (ccEner == 0) {
    ccCorr = 0;
    ccEner = 1;
  }
}

/** (int16)(shiftW32(x, -s))^2 >> 15 */
@inline function sqNorm(x: i32, s: i32): i32 {
  const t = s16(shiftW32(x, -s));
  return s16((t * t) >> 15);
}

/**
 * pli = 1: conceal one frame into plcResidual / plcLpc.
 * pli = 0: copy decresidual / lpc through and remember them.
 */
export function doThePlc(
  st: DecoderState, plcResidual: usize, plcLpc: usize, pli: i32, decresidual: usize, lpc: usize, inlag: i32
): void {
  const blockl = st.blockl;
  const prevRes = st.prevResidual;
  if (pli == 1) {
    st.consPLICount += 1;
    let lag: i32;
    let maxPerSquare: i32;
    if (st.prevPLI != 1) {
      const mx = maxAbsW16(prevRes, blockl);
      let scale3 = (sizeInBits(<u32>mx) << 1) - 25;
      if (scale3 < 0) scale3 = 0;
      st.prevScale = scale3;

      lag = inlag - 3;
      const corrLen = imin(60, blockl - (inlag + 3));
      compCorr(prevRes, lag, blockl, corrLen, scale3);
      let cross = ccCorr;
      let ener = ccEner;
      let shiftMax = sizeInBits(<u32>iabs(cross)) - 15;
      let crossSquareMax = sqNorm(cross, shiftMax);
      let enerComp: i32 = 0;

      for (let j = inlag - 2; j <= inlag + 3; j++) {
        compCorr(prevRes, j, blockl, corrLen, scale3);
        const crossComp = ccCorr;
        enerComp = ccEner;
        const shift1 = sizeInBits(<u32>iabs(crossComp)) - 15;
        const crossSquare = sqNorm(crossComp, shift1);
        const shift2 = sizeInBits(<u32>ener) - 15;
        const measure = s16(shiftW32(ener, -shift2)) * crossSquare;
        const shift3 = sizeInBits(<u32>enerComp) - 15;
        const maxMeasure = s16(shiftW32(enerComp, -shift3)) * crossSquareMax;
        let t1: i32, t2: i32;
        if (2 * shiftMax + shift3 > 2 * shift1 + shift2) {
          t1 = s16(imin(31, 2 * shiftMax + shift3 - 2 * shift1 - shift2));
          t2 = 0;
        } else {
          t1 = 0;
          t2 = s16(imin(31, 2 * shift1 + shift2 - 2 * shiftMax - shift3));
        }
        if (measure >> t1 > maxMeasure >> t2) {
          lag = j;
          crossSquareMax = crossSquare;
          cross = crossComp;
          shiftMax = shift1;
          ener = enerComp;
        }
      }

      // periodicity^2 of the best lag, in Q15
      const e2 = dotProductWithScale(at(prevRes, blockl - corrLen), at(prevRes, blockl - corrLen), corrLen, scale3);
      if (e2 > 0 && enerComp > 0) {
        const scale1 = s16(normW32(e2) - 16);
        const a = s16(shiftW32(e2, scale1));
        const scale2 = s16(normW32(ener) - 16);
        const b = s16(shiftW32(ener, scale2));
        const denom = s16((a * b) >> 16);
        const totscale = s16(scale1 + scale2 - 1);
        const c1 = s16(shiftW32(cross, totscale >> 1));
        const c2 = s16(shiftW32(cross, totscale - (totscale >> 1)));
        maxPerSquare = s16(divW32W16(c1 * c2, denom));
      } else {
        maxPerSquare = 0;
      }
    } else {
      lag = st.prevLag;
      maxPerSquare = st.perSquare;
    }

    // attenuation over consecutive losses (only the first branch can trigger)
    let useGain: i32 = 32767;
    if (st.consPLICount * blockl > 320) useGain = 29491;

    let pitchfact: i32;
    if (maxPerSquare > 7868) {
      pitchfact = 32767;
    } else if (maxPerSquare > 839) {
      let ind = 5;
      while (maxPerSquare < <i32>unchecked(PLC_PER_SQR[ind]) && ind > 0) ind--;
      const t = <i32>unchecked(PLC_PITCH_FACT[ind]) +
        ((<i32>unchecked(PLC_PF_SLOPE[ind]) * (maxPerSquare - <i32>unchecked(PLC_PER_SQR[ind]))) >> 11);
      pitchfact = s16(imin(t, 32767));
    } else {
      pitchfact = 0;
    }

    const useLag = lag < 80 ? 2 * lag : lag;
    const threshold = blockl * 900;
    let energy: i32 = 0;
    const randvec = changetype<usize>(RANDVEC);
    let seed = st.seed;
    for (let i = 0; i < blockl; i++) {
      seed = s16(seed * 31821 + 13849);
      const randlag = 53 + (seed & 63);
      wr(randvec, i, randlag > i ? rd(prevRes, blockl + i - randlag) : rd(prevRes, i - randlag));
      const p = useLag > i ? rd(prevRes, blockl + i - useLag) : rd(plcResidual, i - useLag);
      let totGain: i32;
      if (i < 80) totGain = useGain;
      else if (i < 160) totGain = s16((31130 * useGain) >> 15);
      else totGain = s16((29491 * useGain) >> 15);
      const mix = (pitchfact * p + (32767 - pitchfact) * rd(randvec, i) + 16384) >> 15;
      const v = s16((totGain * mix) >> 15);
      wr(plcResidual, i, v);
      if (energy < threshold) energy += v * v;
    }
    st.seed = seed;
    if (energy < threshold) copy16(plcResidual, randvec, blockl);

    copy16(plcLpc, st.prevLpc, LPC_FILTERORDER + 1);
    st.prevLag = lag;
    st.perSquare = maxPerSquare;
  } else {
    copy16(plcResidual, decresidual, blockl);
    copy16(plcLpc, lpc, LPC_FILTERORDER + 1);
    st.consPLICount = 0;
  }
  st.prevPLI = pli;
  copy16(st.prevLpc, plcLpc, LPC_FILTERORDER + 1);
  copy16(st.prevResidual, plcResidual, blockl);
}
