// Per-subframe LPC filters from interpolated LSFs (RFC 3951 3.2.6 / 4.1).
// Decoder: synthesis filters A(z) and bandwidth-expanded A(z/0.9025).
// Encoder: synthesis filters from the quantised LSFs and perceptual
// weighting filters A(z/0.4222) from the unquantised ones.

import { LSF_WEIGHT_20MS, LSF_WEIGHT_30MS, CHIRP_SYNT, CHIRP_WEIGHT } from "./tables";
import { EncoderState } from "./encoder_state";
import { LPC_FILTERORDER } from "./defs";
import { at } from "./spl_math";
import { copy16 } from "./spl_vector";
import { lsfInterpToPoly, bwExpand } from "./lsf_to_poly";

const ORD1: i32 = LPC_FILTERORDER + 1;
const LP = new StaticArray<i16>(ORD1);

/**
 * Decoder: fill syntdenum/weightdenum (nsub x 11, Q12) from the dequantised
 * LSFs (lsfdeq: 1 or 2 vectors) and the previous frame's LSF (lsfold,
 * updated in place).
 */
export function decoderInterpolateLsf(
  syntdenum: usize, weightdenum: usize, lsfdeq: usize, lsfold: usize, is30: bool, nsub: i32
): void {
  const len = LPC_FILTERORDER;
  const lpLen = len + 1;
  const lp = changetype<usize>(LP);
  const chirp = changetype<usize>(CHIRP_SYNT);
  const lsfdeq2 = at(lsfdeq, len);
  let pos = 0;
  if (is30) {
    // subframe 1 between old and first LSF, 2..6 between first and second
    lsfInterpToPoly(lp, lsfold, lsfdeq, <i32>unchecked(LSF_WEIGHT_30MS[0]), len);
    copy16(syntdenum, lp, lpLen);
    bwExpand(weightdenum, lp, chirp, lpLen);
    pos = lpLen;
    for (let i = 1; i < 6; i++) {
      lsfInterpToPoly(lp, lsfdeq, lsfdeq2, <i32>unchecked(LSF_WEIGHT_30MS[i]), len);
      copy16(at(syntdenum, pos), lp, lpLen);
      bwExpand(at(weightdenum, pos), lp, chirp, lpLen);
      pos += lpLen;
    }
    copy16(lsfold, lsfdeq2, len);
  } else {
    for (let i = 0; i < nsub; i++) {
      lsfInterpToPoly(lp, lsfold, lsfdeq, <i32>unchecked(LSF_WEIGHT_20MS[i]), len);
      copy16(at(syntdenum, pos), lp, lpLen);
      bwExpand(at(weightdenum, pos), lp, chirp, lpLen);
      pos += lpLen;
    }
    copy16(lsfold, lsfdeq, len);
  }
}

/** Interpolate quantised (synthesis) and unquantised (weighting) LSFs per subframe. */
export function encoderInterpolateLsf(syntdenum: usize, weightdenum: usize, lsf: usize, lsfdeq: usize, st: EncoderState): void {
  const len = LPC_FILTERORDER;
  const lp = changetype<usize>(LP);
  const chirpW = changetype<usize>(CHIRP_WEIGHT);
  const lsfold = st.lsfold;
  const lsfdeqold = st.lsfdeqold;
  if (st.mode == 30) {
    const lsf2 = at(lsf, len);
    const lsfdeq2 = at(lsfdeq, len);
    lsfInterpToPoly(lp, lsfdeqold, lsfdeq, <i32>unchecked(LSF_WEIGHT_30MS[0]), len);
    copy16(syntdenum, lp, ORD1);
    lsfInterpToPoly(lp, lsfold, lsf, <i32>unchecked(LSF_WEIGHT_30MS[0]), len);
    bwExpand(weightdenum, lp, chirpW, ORD1);
    let pos = ORD1;
    for (let i = 1; i < st.nsub; i++) {
      const w = <i32>unchecked(LSF_WEIGHT_30MS[i]);
      lsfInterpToPoly(lp, lsfdeq, lsfdeq2, w, len);
      copy16(at(syntdenum, pos), lp, ORD1);
      lsfInterpToPoly(lp, lsf, lsf2, w, len);
      bwExpand(at(weightdenum, pos), lp, chirpW, ORD1);
      pos += ORD1;
    }
    copy16(lsfold, lsf2, len);
    copy16(lsfdeqold, lsfdeq2, len);
  } else {
    let pos = 0;
    for (let i = 0; i < st.nsub; i++) {
      const w = <i32>unchecked(LSF_WEIGHT_20MS[i]);
      lsfInterpToPoly(lp, lsfdeqold, lsfdeq, w, len);
      copy16(at(syntdenum, pos), lp, ORD1);
      lsfInterpToPoly(lp, lsfold, lsf, w, len);
      bwExpand(at(weightdenum, pos), lp, chirpW, ORD1);
      pos += ORD1;
    }
    copy16(lsfold, lsf, len);
    copy16(lsfdeqold, lsfdeq, len);
  }
}
