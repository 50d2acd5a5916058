// Adaptive codebook vector construction and 3-stage excitation decoding
// (RFC 3951 4.3-4.4): plain lag vectors, the augmented (short-lag
// interpolated) section, and the filtered (expanded) codebook sections.

import { CB_FILTERS_REV, CB_ALPHA } from "./tables";
import { SUBL, CB_HALFFILTERLEN, CB_FILTERLEN, CB_NSTAGES } from "./defs";
import { rd, wr, imin } from "./spl_math";
import { copy16, zero16, elementwiseMult, reverseOrderMult, addVectorsAndShift } from "./spl_vector";
import { filterMAFastQ12 } from "./spl_filter";
import { gainDequant } from "./gain_quant";

const AUG_TMP = new StaticArray<i16>(4);
const FILT_TMP = new StaticArray<i16>(SUBL + 5);
const CBVEC0 = new StaticArray<i16>(SUBL);
const CBVEC1 = new StaticArray<i16>(SUBL);
const CBVEC2 = new StaticArray<i16>(SUBL);

/**
 * Build the augmented codebook vector for lag `index` (20..39): the last
 * `index` samples before `buffer` repeated, with a 4-sample crossfade.
 */
export function createAugmentedVec(index: i32, buffer: usize, cbVec: usize): void {
  const interpLen = imin(index, 4);
  const ilow = index - interpLen;
  copy16(cbVec, buffer - <usize>(index << 1), index);
  const ppo = buffer - <usize>(interpLen << 1);
  const ppi = buffer - <usize>((index + interpLen) << 1);
  const tmp = changetype<usize>(AUG_TMP);
  const alpha = changetype<usize>(CB_ALPHA);
  const dst = cbVec + <usize>(ilow << 1);
  elementwiseMult(dst, ppi, alpha, interpLen, 15);
  reverseOrderMult(tmp, ppo, alpha + <usize>((interpLen - 1) << 1), interpLen, 15);
  addVectorsAndShift(dst, dst, tmp, interpLen, 0);
  copy16(cbVec + <usize>(index << 1), buffer - <usize>(index << 1), imin(SUBL - index, index));
}

/**
 * Construct codebook vector `index` of length cbveclen from the codebook
 * memory mem[0..lMem). mem[-4..-1] and mem[lMem..lMem+3] are used as
 * zero padding for the expansion filter. Returns false for an index that
 * is invalid for a short vector.
 */
export function getCbVec(cbvec: usize, mem: usize, index: i32, lMem: i32, cbveclen: i32): bool {
  let baseSize = lMem - cbveclen + 1;
  if (cbveclen == SUBL) baseSize += cbveclen >> 1;

  if (index < lMem - cbveclen + 1) {
    const k = index + cbveclen;
    copy16(cbvec, mem + <usize>((lMem - k) << 1), cbveclen);
  } else if (index < baseSize) {
    const k = 2 * (index - (lMem - cbveclen + 1)) + cbveclen;
    createAugmentedVec(k >> 1, mem + <usize>(lMem << 1), cbvec);
  } else if (index - baseSize < lMem - cbveclen + 1) {
    const memInd = lMem - (index - baseSize + cbveclen);
    zero16(mem - <usize>(CB_HALFFILTERLEN << 1), CB_HALFFILTERLEN);
    zero16(mem + <usize>(lMem << 1), CB_HALFFILTERLEN);
    filterMAFastQ12(mem + <usize>((memInd + 4) << 1), cbvec, changetype<usize>(CB_FILTERS_REV), CB_FILTERLEN, cbveclen);
  } else {
    if (cbveclen < SUBL) return false;
    const memInd = lMem - cbveclen - CB_FILTERLEN;
    zero16(mem + <usize>(lMem << 1), CB_HALFFILTERLEN);
    const tb = changetype<usize>(FILT_TMP);
    filterMAFastQ12(mem + <usize>((memInd + 7) << 1), tb, changetype<usize>(CB_FILTERS_REV), CB_FILTERLEN, cbveclen + 5);
    const lag = (cbveclen << 1) - 20 + index - baseSize - lMem - 1;
    createAugmentedVec(lag, tb + <usize>((SUBL + 5) << 1), cbvec);
  }
  return true;
}

/** Decode one excitation vector: sum of three gain-scaled codebook vectors. */
export function cbConstruct(
  decvector: usize, index: usize, gainIndex: usize, mem: usize, lMem: i32, veclen: i32
): bool {
  const g0 = gainDequant(rd(gainIndex, 0), 16384, 0);
  const g1 = gainDequant(rd(gainIndex, 1), g0, 1);
  const g2 = gainDequant(rd(gainIndex, 2), g1, 2);
  const v0 = changetype<usize>(CBVEC0);
  const v1 = changetype<usize>(CBVEC1);
  const v2 = changetype<usize>(CBVEC2);
  if (!getCbVec(v0, mem, rd(index, 0), lMem, veclen)) return false;
  if (!getCbVec(v1, mem, rd(index, 1), lMem, veclen)) return false;
  if (!getCbVec(v2, mem, rd(index, 2), lMem, veclen)) return false;
  for (let j = 0; j < veclen; j++) {
    const a = g0 * rd(v0, j) + g1 * rd(v1, j) + g2 * rd(v2, j);
    wr(decvector, j, (a + 8192) >> 14);
  }
  return true;
}

export const CB_STAGES: i32 = CB_NSTAGES;
