// Start-state localisation (RFC 3951 3.3-3.4): pick the 80-sample block (two
// subframes) of highest windowed residual energy, then whether the scalar
// start state covers its first or its last 57/58 samples.

import { START_SEQ_ENERGY_WIN } from "./tables";
import { NSUB_MAX, SUBL, STATE_LEN } from "./defs";
import { rd32, wr32, sizeInBits, imax, at } from "./spl_math";
import { maxAbsW16, maxValueW32, maxIndexW32, dotProductWithScale } from "./spl_vector";

const SSQ_EN = new StaticArray<i32>(NSUB_MAX - 1);

/** Returns the 1-based index of the first subframe of the start state. */
export function frameClassify(residual: usize, blockl: i32, nsub: i32, is20: bool): i32 {
  const en = changetype<usize>(SSQ_EN);
  const mx = maxAbsW16(residual, blockl);
  let scale = sizeInBits(<u32>(mx * mx)) - 24;
  let scale1 = imax(0, scale);
  // 76-sample energies (the 2 edge samples on each side are left out)
  for (let n = 0; n < nsub - 1; n++) {
    const p = residual + <usize>((2 + n * 40) << 1);
    wr32(en, n, dotProductWithScale(p, p, 76, scale1));
  }
  const maxW32 = maxValueW32(en, nsub - 1);
  scale = sizeInBits(<u32>maxW32) - 20;
  scale1 = imax(0, scale);
  const winOff = is20 ? 1 : 0;
  for (let n = 0; n < nsub - 1; n++) {
    wr32(en, n, (rd32(en, n) >> scale1) * <i32>unchecked(START_SEQ_ENERGY_WIN[n + winOff]));
  }
  return maxIndexW32(en, nsub - 1) + 1;
}

/**
 * 1 if the scalar start state should be the first shortLen samples of the
 * 80-sample block starting at subframe startIdx (1-based), 0 for the last.
 */
export function chooseStateFirst(residual: usize, startIdx: i32, shortLen: i32): i32 {
  let index = (startIdx - 1) * SUBL;
  const mx = maxAbsW16(at(residual, index), 2 * SUBL);
  const scale = imax(0, sizeInBits(<u32>(mx * mx)) - 25);
  const en1 = dotProductWithScale(at(residual, index), at(residual, index), shortLen, scale);
  index += STATE_LEN - shortLen;
  const en2 = dotProductWithScale(at(residual, index), at(residual, index), shortLen, scale);
  return en1 > en2 ? 1 : 0;
}
