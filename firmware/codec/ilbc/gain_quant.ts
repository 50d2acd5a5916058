// Gain quantisation and dequantisation for the three codebook stages
// (RFC 3951 3.6.4.2 / 4.4): 5, 4 and 3 bit tables, each scaled by the
// previous stage's gain (lower bound 0.1).

import { GAIN_SQ5, GAIN_SQ4, GAIN_SQ3 } from "./tables";
import { s16 } from "./spl_math";

@inline function gainTable(stage: i32): usize {
  return stage == 0 ? changetype<usize>(GAIN_SQ5) : stage == 1 ? changetype<usize>(GAIN_SQ4) : changetype<usize>(GAIN_SQ3);
}

@inline function tbl(t: usize, i: i32): i32 {
  return <i32>load<i16>(t + <usize>(i << 1));
}

/** Dequantised gain (Q14) for `index` at `stage`, relative to maxIn (Q14). */
export function gainDequant(index: i32, maxIn: i32, stage: i32): i32 {
  let scale = s16(maxIn >= 0 ? maxIn : -maxIn);
  if (scale < 1638) scale = 1638;
  return s16((scale * tbl(gainTable(stage), index) + 8192) >> 14);
}

/**
 * Quantise gain (Q14) relative to maxIn at `stage`; writes the index to
 * out[0] (i16) and returns the quantised gain (Q14).
 */
export function gainQuant(gain: i32, maxIn: i32, stage: i32, indexOut: usize): i32 {
  const scale = maxIn > 1638 ? maxIn : 1638;
  const cb = gainTable(stage);
  const cblen = 32 >> stage;
  const noChecks = 4 - stage;
  const gainW32 = gain << 14;
  let loc = cblen >> 1;
  let noMoves = loc;
  for (let i = noChecks; i > 0; i--) {
    noMoves >>= 1;
    const m1 = scale * tbl(cb, loc) - gainW32;
    if (0 > m1) loc += noMoves;
    else loc -= noMoves;
  }
  const m1 = scale * tbl(cb, loc);
  if (gainW32 > m1) {
    const m2 = scale * tbl(cb, loc + 1);
    if (m2 - gainW32 < gainW32 - m1) loc += 1;
  } else {
    const m2 = scale * tbl(cb, loc - 1);
    if (gainW32 - m2 <= m1 - gainW32) loc -= 1;
  }
  if (loc > cblen - 1) loc = cblen - 1;
  store<i16>(indexOut, <i16>loc);
  return s16((scale * tbl(cb, loc) + 8192) >> 14);
}
