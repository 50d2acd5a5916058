// Enhancer front end (RFC 3951 4.6): maintains the 640-sample enhancer
// history, estimates pitch per 80-sample block on a 2x downsampled signal,
// blends the concealed frame into the first received frame after a loss
// (backward PLC), then enhances the new blocks (with 40/80 samples delay).

import { DecoderState } from "./decoder_state";
import { DOWNSAMPLE_LP_COEFS } from "./tables";
import {
  ENH_BUFL, ENH_BUFL_FILTEROVERHEAD, ENH_BLOCKL, ENH_BLOCKL_HALF, ENH_NBLOCKS_TOT, BLOCKL_MAX,
  FILTERORDER_DS_PLUS1, FACTOR_DS, DELAY_DS,
} from "./defs";
import { rd, wr, rd32, wr32, at, s16, sizeInBits, normW32, shiftW32, divW32W16, sqrtFloor, imax, imin } from "./spl_math";
import {
  maxAbsW16, maxAbsElementW16, maxIndexW32, dotProductWithScale, crossCorrelation, copy16, scaleVector,
} from "./spl_vector";
import { downsampleFast } from "./spl_filter";
import { enhanceBlock } from "./enh_smooth";

const DOWNSAMPLED = new StaticArray<i16>((BLOCKL_MAX + 120) >> 1);
const CORR32 = new StaticArray<i32>(50);
const CORRMAX = new StaticArray<i32>(3);
const LAGMAX = new StaticArray<i32>(3);
const CORR16 = new StaticArray<i16>(3);
const EN16 = new StaticArray<i16>(3);
const TOTSH = new StaticArray<i16>(3);

/** Enhance the residual `inp` (one frame) into `out`; returns the pitch lag estimate. */
export function enhancerInterface(out: usize, inp: usize, st: DecoderState): i32 {
  const blockl = st.blockl;
  const inLen = blockl + 120;
  const enhBuf = st.enhBuf;
  const period = st.enhPeriod;
  const downsampled = changetype<usize>(DOWNSAMPLED);
  const plcPred = downsampled; // reused once the pitch search is done
  const corr32 = changetype<usize>(CORR32);
  const corrmax = changetype<usize>(CORRMAX);
  const lagmax = changetype<usize>(LAGMAX);
  const corr16 = changetype<usize>(CORR16);
  const en16 = changetype<usize>(EN16);
  const totsh = changetype<usize>(TOTSH);
  let lag: i32 = 20;
  let tlag: i32 = 20;

  copy16(enhBuf, at(enhBuf, blockl), ENH_BUFL - blockl);
  copy16(at(enhBuf, ENH_BUFL - blockl), inp, blockl);

  const is30 = st.mode == 30;
  const plcBlockl = is30 ? ENH_BLOCKL : 40;
  const newBlocks = is30 ? 3 : 2;
  const startPos = is30 ? 320 : 440;

  for (let i = 0; i < ENH_NBLOCKS_TOT - newBlocks; i++) wr32(period, i, rd32(period, i + newBlocks));

  downsampleFast(
    at(enhBuf, ENH_BUFL - inLen), inLen + ENH_BUFL_FILTEROVERHEAD, downsampled, inLen >> 1,
    changetype<usize>(DOWNSAMPLE_LP_COEFS), FILTERORDER_DS_PLUS1, FACTOR_DS, DELAY_DS
  );

  // pitch estimation per new block in the downsampled domain
  for (let iblock = 0; iblock < newBlocks; iblock++) {
    const target = at(downsampled, 60 + iblock * ENH_BLOCKL_HALF);
    const regressor = at(target, -10);
    const max16 = maxAbsW16(at(regressor, -50), ENH_BLOCKL_HALF + 50 - 1);
    let shifts = sizeInBits(<u32>(max16 * max16)) - 25;
    shifts = imax(0, shifts);
    crossCorrelation(corr32, target, regressor, ENH_BLOCKL_HALF, 50, shifts, -1);

    // three best candidates, masking +/-2 around each pick
    for (let i = 0; i < 2; i++) {
      const lm = maxIndexW32(corr32, 50);
      wr32(lagmax, i, lm);
      wr32(corrmax, i, rd32(corr32, lm));
      const start = imax(2, lm) - 2;
      const stop = imin(47, lm) + 2;
      for (let k = start; k <= stop; k++) wr32(corr32, k, 0);
    }
    const lm2 = maxIndexW32(corr32, 50);
    wr32(lagmax, 2, lm2);
    wr32(corrmax, 2, rd32(corr32, lm2));

    for (let i = 0; i < 3; i++) {
      const corrSh = 15 - sizeInBits(<u32>rd32(corrmax, i));
      const r = at(regressor, -rd32(lagmax, i));
      const ener = dotProductWithScale(r, r, ENH_BLOCKL_HALF, shifts);
      const enerSh = 15 - sizeInBits(<u32>ener);
      const c = s16(shiftW32(rd32(corrmax, i), corrSh));
      wr(corr16, i, (c * c) >> 16);
      wr(en16, i, shiftW32(ener, enerSh));
      wr(totsh, i, enerSh - 2 * corrSh);
    }

    let ind = 0;
    for (let i = 1; i < 3; i++) {
      if (rd(totsh, ind) > rd(totsh, i)) {
        const sh = imin(31, rd(totsh, ind) - rd(totsh, i));
        if (rd(corr16, ind) * rd(en16, i) < (rd(corr16, i) * rd(en16, ind)) >> sh) ind = i;
      } else {
        const sh = imin(31, rd(totsh, i) - rd(totsh, ind));
        if ((rd(corr16, ind) * rd(en16, i)) >> sh < rd(corr16, i) * rd(en16, ind)) ind = i;
      }
    }

    lag = rd32(lagmax, ind) + 10;
    wr32(period, ENH_NBLOCKS_TOT - newBlocks + iblock, lag * 8);
    if (st.prevEnhPl == 1) {
      if (iblock == 0) tlag = lag * 2;
    } else {
      if (iblock == 1) tlag = lag * 2;
    }
    lag *= 2;
  }

  if (st.prevEnhPl == 1) {
    lag = backwardPlcMix(inp, st, enhBuf, plcPred, plcBlockl, tlag, corr32);
  }

  for (let iblock = 0; iblock < newBlocks; iblock++) {
    enhanceBlock(at(out, iblock * ENH_BLOCKL), enhBuf, ENH_BUFL, iblock * ENH_BLOCKL + startPos, period, ENH_NBLOCKS_TOT);
  }
  return lag;
}

/**
 * First good frame after a loss: predict the end of the concealed frame
 * backwards from the new frame and cross-fade it into the enhancer history.
 */
function backwardPlcMix(
  inp: usize, st: DecoderState, enhBuf: usize, plcPred: usize, plcBlockl: i32, tlag: i32, corr32: usize
): i32 {
  const blockl = st.blockl;
  const target = inp;
  const regressor = at(inp, tlag - 1);
  const max16 = maxAbsElementW16(regressor, plcBlockl + 3 - 1);
  const maxTarget = maxAbsElementW16(target, plcBlockl + 3 - 1);
  let prod = max16 * maxTarget;
  if (prod < 0) prod = -prod;
  const maxVal: i64 = <i64>plcBlockl * <i64>prod;
  const factor = <i32>(maxVal >> 31);
  const shifts = factor == 0 ? 0 : 31 - normW32(factor);
  crossCorrelation(corr32, target, regressor, plcBlockl, 3, shifts, 1);
  const lag = maxIndexW32(corr32, 3) + tlag - 1;

  if (lag > plcBlockl) {
    copy16(plcPred, at(inp, lag - plcBlockl), plcBlockl);
  } else {
    copy16(at(plcPred, plcBlockl - lag), inp, lag);
    copy16(plcPred, at(enhBuf, ENH_BUFL - blockl - plcBlockl + lag), plcBlockl - lag);
  }

  // limit the energy of the backward prediction to 4x the forward PLC
  const fwd = at(enhBuf, ENH_BUFL - blockl - plcBlockl);
  let mx = maxAbsW16(fwd, plcBlockl);
  const m2 = maxAbsW16(plcPred, plcBlockl);
  mx = imax(mx, m2);
  let scale = 22 - normW32(mx);
  scale = imax(scale, 0);
  let t2 = dotProductWithScale(fwd, fwd, plcBlockl, scale);
  let t1 = dotProductWithScale(plcPred, plcPred, plcBlockl, scale);
  if (t1 > 0 && t1 >> 2 > t2) {
    const scale1 = normW32(t1);
    t1 = shiftW32(t1, scale1 - 16);
    t2 = shiftW32(t2, scale1);
    const enChange = s16(divW32W16(t2, s16(t1)));
    const sqrtEnChange = s16(sqrtFloor(enChange << 14));
    scaleVector(plcPred, plcPred, sqrtEnChange, plcBlockl - 16, 14);
    const inc = s16(2048 - (sqrtEnChange >> 3));
    let win: i32 = 0;
    for (let i = plcBlockl - 16; i < plcBlockl; i++) {
      wr(plcPred, i, (rd(plcPred, i) * (sqrtEnChange + (win >> 1))) >> 14);
      win = s16(win + inc);
    }
  }

  // cross-fade the forward PLC tail with the backward prediction
  const inc2 = plcBlockl == 40 ? 400 : 202;
  let win: i32 = 0;
  for (let i = 0; i < plcBlockl; i++) {
    win = s16(win + inc2);
    const idx = ENH_BUFL - 1 - blockl - i;
    let v = s16((rd(enhBuf, idx) * win) >> 14);
    v += s16(((16384 - win) * rd(plcPred, plcBlockl - 1 - i)) >> 14);
    wr(enhBuf, idx, v);
  }
  return lag;
}
