// Start-state encoding (RFC 3951 3.5): circular all-pass filtering of the
// start-state residual, scale (max amplitude) quantisation, and noise-
// shaped 3-bit scalar quantisation of the samples in the weighted domain.

import { STATE_SQ3, CHOOSE_FRG_QUANT, STATE_SCALE } from "./tables";
import { LPC_FILTERORDER, STATE_SHORT_LEN_30MS, SUBL } from "./defs";
import { rd, wr, sizeInBits, s16, imax } from "./spl_math";
import { maxAbsW16, copy16, zero16, scaleVectorWithSat } from "./spl_vector";
import { filterARFastQ12, filterMAFastQ12 } from "./spl_filter";

const ORD1: i32 = LPC_FILTERORDER + 1;
const NUMERATOR = new StaticArray<i16>(ORD1);
const RES_LONG = new StaticArray<i16>(2 * STATE_SHORT_LEN_30MS + LPC_FILTERORDER);
const SAMPLE_MA = new StaticArray<i16>(2 * STATE_SHORT_LEN_30MS);
const SYNT_OUT = new StaticArray<i16>(LPC_FILTERORDER + STATE_SHORT_LEN_30MS);
const IN_WEIGHTED = new StaticArray<i16>(STATE_SHORT_LEN_30MS + LPC_FILTERORDER);

/** Index of the nearest entry of the sorted table cb (size n) to x. */
function sortSq(x: i32, cb: usize, n: i32): i32 {
  if (x <= rd(cb, 0)) return 0;
  let i = 0;
  while (x > rd(cb, i) && i < n - 1) i++;
  if (x > ((rd(cb, i) + rd(cb, i - 1) + 1) >> 1)) return i;
  return i - 1;
}

/** Analysis-by-synthesis scalar quantisation with noise feedback through weightDenum. */
function absQuant(stateFirst: i32, shortLen: i32, inp: usize, weightDenum: usize, idxVec: usize): void {
  const syntOutBuf = changetype<usize>(SYNT_OUT);
  const inwVec = changetype<usize>(IN_WEIGHTED);
  zero16(syntOutBuf, LPC_FILTERORDER + STATE_SHORT_LEN_30MS);
  zero16(inwVec, LPC_FILTERORDER);
  let syntOut = syntOutBuf + <usize>(LPC_FILTERORDER << 1);
  let inw = inwVec + <usize>(LPC_FILTERORDER << 1);
  const q0 = stateFirst ? SUBL : shortLen - SUBL;
  const q1 = stateFirst ? shortLen - SUBL : SUBL;
  filterARFastQ12(inp, inw, weightDenum, ORD1, q0);
  filterARFastQ12(inp + <usize>(q0 << 1), inw + <usize>(q0 << 1), weightDenum + <usize>(ORD1 << 1), ORD1, q1);

  const sq3 = changetype<usize>(STATE_SQ3);
  let wd = weightDenum;
  let k = 0;
  for (let sec = 0; sec < 2; sec++) {
    const n = sec == 0 ? q0 : q1;
    for (let m = 0; m < n; m++) {
      filterARFastQ12(syntOut, syntOut, wd, ORD1, 1);
      const toQW32 = rd(inw, 0) - rd(syntOut, 0);
      let toQ32 = toQW32 << 2;
      if (toQ32 > 32767) toQ32 = 32767;
      else if (toQ32 < -32768) toQ32 = -32768;
      let index: i32;
      if (toQW32 < -7577) index = 0;
      else if (toQW32 > 8151) index = 7;
      else index = sortSq(s16(toQ32), sq3, 8);
      wr(idxVec, k++, index);
      const t16a = s16((rd(sq3, index) + 2) >> 2);
      wr(syntOut, 0, t16a + rd(inw, 0) - toQW32);
      syntOut += 2;
      inw += 2;
    }
    wd += <usize>(ORD1 << 1);
  }
}

/**
 * Quantise the start state `residual` (shortLen samples). Writes the scale
 * index (returned) and the sample indices into idxVec.
 */
export function stateSearch(
  residual: usize, syntDenum: usize, weightDenum: usize, shortLen: i32, stateFirst: i32, idxVec: usize
): i32 {
  const numerator = changetype<usize>(NUMERATOR);
  const resLongVec = changetype<usize>(RES_LONG);
  const sampleMa = changetype<usize>(SAMPLE_MA);
  const resLong = resLongVec + <usize>(LPC_FILTERORDER << 1);
  const sampleAr = resLong;

  const mx = maxAbsW16(residual, shortLen);
  let scaleRes = sizeInBits(<u32>mx) - 12;
  scaleRes = imax(0, scaleRes);
  for (let i = 0; i < ORD1; i++) wr(numerator, i, rd(syntDenum, LPC_FILTERORDER - i) >> scaleRes);

  copy16(resLong, residual, shortLen);
  zero16(resLong + <usize>(shortLen << 1), shortLen);
  zero16(resLongVec, LPC_FILTERORDER);
  filterMAFastQ12(resLong, sampleMa, numerator, ORD1, shortLen + LPC_FILTERORDER);
  zero16(sampleMa + <usize>((shortLen + LPC_FILTERORDER) << 1), shortLen - LPC_FILTERORDER);
  filterARFastQ12(sampleMa, sampleAr, syntDenum, ORD1, 2 * shortLen);
  for (let k = 0; k < shortLen; k++) wr(sampleAr, k, rd(sampleAr, k) + rd(sampleAr, k + shortLen));

  const maxVal = maxAbsW16(sampleAr, shortLen);
  let maxValSq: i32;
  if ((maxVal << scaleRes) < 23170) maxValSq = (maxVal * maxVal) << (2 + 2 * scaleRes);
  else maxValSq = i32.MAX_VALUE;
  let index = 0;
  for (let i = 0; i < 63; i++) {
    if (maxValSq >= <i32>unchecked(CHOOSE_FRG_QUANT[i])) index = i + 1;
    else break;
  }
  const scale = <i32>unchecked(STATE_SCALE[index]);
  const shift = index < 27 ? 4 : 9;
  scaleVectorWithSat(sampleAr, sampleAr, scale, shortLen, shift - scaleRes);
  absQuant(stateFirst, shortLen, sampleAr, weightDenum, idxVec);
  return index;
}
