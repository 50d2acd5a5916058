// FIR/IIR filter kernels in Q12 with WebRtcSpl_* saturation and rounding.

import { rd, wr } from "./spl_math";

/**
 * All-pole (AR) filter, coefficients in Q12 with coef[0] the gain on the input.
 * out[-(order)..-1] must hold the filter state. In-place use (inp == out) works.
 */
export function filterARFastQ12(inp: usize, out: usize, coef: usize, coefLen: i32, len: i32): void {
  for (let i = 0; i < len; i++) {
    let sum: i64 = 0;
    for (let j = coefLen - 1; j > 0; j--) {
      sum += <i64>(rd(coef, j) * rd(out, i - j));
    }
    let o: i64 = <i64>(rd(coef, 0) * rd(inp, i)) - sum;
    if (o > 134215679) o = 134215679;
    else if (o < -134217728) o = -134217728;
    wr(out, i, <i32>((o + 2048) >> 12));
  }
}

/** All-zero (MA) filter, Q12 coefficients; reads inp[-(coefLen-1)..len-1]. */
export function filterMAFastQ12(inp: usize, out: usize, coef: usize, coefLen: i32, len: i32): void {
  for (let i = 0; i < len; i++) {
    let o: i32 = 0;
    for (let j = 0; j < coefLen; j++) {
      o += rd(coef, j) * rd(inp, i - j);
    }
    if (o > 134215679) o = 134215679;
    else if (o < -134217728) o = -134217728;
    wr(out, i, (o + 2048) >> 12);
  }
}

/** FIR low-pass + decimation: out[k] = sat16((2048 + sum c[j]*in[delay + k*factor - j]) >> 12). */
export function downsampleFast(
  inp: usize, inLen: i32, out: usize, outLen: i32, coef: usize, coefLen: i32, factor: i32, delay: i32
): i32 {
  const endpos = delay + factor * (outLen - 1) + 1;
  if (outLen <= 0 || coefLen <= 0 || inLen < endpos) return -1;
  let k = 0;
  for (let i = delay; i < endpos; i += factor) {
    let s: i32 = 2048;
    for (let j = 0; j < coefLen; j++) {
      s += rd(coef, j) * rd(inp, i - j);
    }
    s >>= 12;
    wr(out, k++, s > 32767 ? 32767 : s < -32768 ? -32768 : s);
  }
  return 0;
}
