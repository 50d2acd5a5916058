// Enhancer pitch-synchronous segment search (RFC 3951 4.6.2): correlation
// of a candidate region against the current block, 4x upsampling of the
// correlation, and fractional-delay extraction of the best segment.

import { ENH_POLYPHASER } from "./tables";
import { ENH_BLOCKL, ENH_SLOP, ENH_CORRDIM, ENH_UPS0, ENH_VECTL, ENH_FL0, ENH_FLO_MULT2_PLUS1 } from "./defs";
import { rd, wr, rd32, wr32, sizeInBits } from "./spl_math";
import { maxAbsW16, maxAbsW32, maxIndexW32, crossCorrelation, copy16, zero16, addAffineVectorToVector } from "./spl_vector";
import { filterMAFastQ12 } from "./spl_filter";

const CORR_UPS = new StaticArray<i32>(ENH_CORRDIM * ENH_UPS0);
const CORR_TMP = new StaticArray<i32>(ENH_CORRDIM);
const CORR16 = new StaticArray<i16>(ENH_CORRDIM);
const VECT = new StaticArray<i16>(ENH_VECTL);
const FILT = new StaticArray<i16>(7);

/** Cross correlation of seq2 (dim2) against every position of seq1 (dim1), overflow-safe shift. */
export function myCorr(corr: usize, seq1: usize, dim1: i32, seq2: usize, dim2: i32): void {
  const max1 = <u64>(maxAbsW16(seq1, dim1) + 1);
  const max2 = <u64>(maxAbsW16(seq2, dim2) + 1);
  const prod: u64 = <u64>(<u32>(max1 * max2)) * <u64>dim2;
  let rs = 33 - <i32>clz<u64>(prod);
  if (rs < 0) rs = 0;
  crossCorrelation(corr, seq2, seq1, dim2, dim1 - dim2 + 1, rs, 1);
}

@inline function poly(j: i32, k: i32): i32 {
  return <i32>unchecked(ENH_POLYPHASER[j * 7 + k]);
}

/** 4x upsampling of a 5-sample sequence, zeros outside (polyphase filters). */
export function enhUpsample(useq: usize, seq: usize): void {
  // left overhang: outputs i = 2, 3, 4
  for (let j = 0; j < ENH_UPS0; j++) {
    for (let i = 2; i <= 4; i++) {
      let acc: i32 = 0;
      for (let k = 0; k <= i; k++) acc += rd(seq, i - k) * poly(j, 1 + k);
      wr32(useq, (i - 2) * ENH_UPS0 + j, acc);
    }
  }
  // right overhang: outputs i = 1, 2
  for (let j = 0; j < ENH_UPS0; j++) {
    for (let i = 1; i <= 2; i++) {
      let acc: i32 = 0;
      for (let k = 0; k < 5 - i; k++) acc += rd(seq, 4 - k) * poly(j, i + 1 + k);
      wr32(useq, 12 + (i - 1) * ENH_UPS0 + j, acc);
    }
  }
}

/**
 * Find the segment near estSegPos (Q2) that best matches the current block
 * at centerStartPos, at quarter-sample resolution; add it (scaled by gain,
 * Q16) to `surround`. Returns the refined start position (Q2).
 */
export function refiner(
  idata: usize, idatal: i32, centerStartPos: i32, estSegPos: i32, surround: usize, gain: i32
): i32 {
  const estRounded = (estSegPos - 2) >> 2;
  const searchStart = estRounded < ENH_SLOP ? 0 : estRounded - ENH_SLOP;
  let searchEnd = estRounded + ENH_SLOP;
  if (searchEnd + ENH_BLOCKL >= idatal) searchEnd = idatal - ENH_BLOCKL - 1;
  const corrdim = searchEnd + 1 - searchStart;

  const corrTmp = changetype<usize>(CORR_TMP);
  const corrVec = changetype<usize>(CORR16);
  const corrUps = changetype<usize>(CORR_UPS);
  myCorr(corrTmp, idata + <usize>(searchStart << 1), corrdim + ENH_BLOCKL - 1, idata + <usize>(centerStartPos << 1), ENH_BLOCKL);

  const maxtemp = maxAbsW32(corrTmp, corrdim);
  const scalefact = sizeInBits(<u32>maxtemp) - 15;
  for (let i = 0; i < corrdim; i++) {
    wr(corrVec, i, scalefact > 0 ? rd32(corrTmp, i) >> scalefact : rd32(corrTmp, i));
  }
  for (let i = corrdim; i < ENH_CORRDIM; i++) wr(corrVec, i, 0);

  enhUpsample(corrUps, corrVec);
  const tloc = maxIndexW32(corrUps, ENH_UPS0 * corrdim);
  const updStartPos = searchStart * 4 + tloc + 4;
  const tloc2 = (tloc + 3) >> 2;

  const vect = changetype<usize>(VECT);
  if (ENH_FL0 > searchStart + tloc2) {
    const st = ENH_FL0 - searchStart - tloc2;
    zero16(vect, st);
    copy16(vect + <usize>(st << 1), idata, ENH_VECTL - st);
  } else {
    const st = searchStart + tloc2 - ENH_FL0;
    if (st + ENH_VECTL > idatal) {
      const en = st + ENH_VECTL - idatal;
      copy16(vect, idata + <usize>(st << 1), ENH_VECTL - en);
      zero16(vect + <usize>((ENH_VECTL - en) << 1), en);
    } else {
      copy16(vect, idata + <usize>(st << 1), ENH_VECTL);
    }
  }

  // fractional delay filter (polyphase branch reversed)
  const filt = changetype<usize>(FILT);
  const ph = tloc2 * ENH_UPS0 - tloc;
  for (let i = 0; i < 7; i++) wr(filt, 6 - i, poly(ph, i));
  filterMAFastQ12(vect + 12, vect, filt, ENH_FLO_MULT2_PLUS1, ENH_BLOCKL);

  addAffineVectorToVector(surround, vect, gain, 32768, 16, ENH_BLOCKL);
  return updStartPos;
}

/**
 * Index of the element of arr (i32, len) closest to value. Elements are
 * compared as unsigned 64-bit sizes (a negative entry acts as a huge one),
 * matching the reference's size_t arithmetic.
 */
export function nearestNeighbor(arr: usize, value: i32, len: i32): i32 {
  let best: i32 = 0;
  let minDiff: u64 = 0xffffffffffffffff;
  const v: u64 = <u64><i64>value;
  for (let i = 0; i < len; i++) {
    const a: u64 = <u64><i64>rd32(arr, i);
    const d: u64 = a < v ? v - a : a - v;
    if (d < minDiff) {
      best = i;
      minDiff = d;
    }
  }
  return best;
}
