// Vector helpers with WebRtcSpl_* semantics (max/abs searches, correlations,
// copies). All pointers address raw i16 (or i32 where noted) arrays.

import { rd, wr, rd32, wr32 } from "./spl_math";

/** Largest |x| over len samples, clamped to 32767. */
export function maxAbsW16(p: usize, len: i32): i32 {
  let m: i32 = 0;
  for (let i = 0; i < len; i++) {
    let v = rd(p, i);
    if (v < 0) v = -v;
    if (v > m) m = v;
  }
  return m > 32767 ? 32767 : m;
}

/** The element with the largest magnitude (sign kept; ties prefer the minimum). */
export function maxAbsElementW16(p: usize, len: i32): i32 {
  let mn: i32 = 32767;
  let mx: i32 = -32768;
  for (let i = 0; i < len; i++) {
    const v = rd(p, i);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  if (mn == mx || mn < -mx) return mn;
  return mx;
}

/** Largest |x| of an i32 array (abs(INT32_MIN) saturates to INT32_MAX). */
export function maxAbsW32(p: usize, len: i32): i32 {
  let m: u32 = 0;
  for (let i = 0; i < len; i++) {
    let v = rd32(p, i);
    const a: u32 = <u32>(v < 0 ? -v : v);
    if (a > m) m = a;
  }
  return m > 0x7fffffff ? 0x7fffffff : <i32>m;
}

/** Index of the first maximum of an i32 array. */
export function maxIndexW32(p: usize, len: i32): i32 {
  let m: i32 = i32.MIN_VALUE;
  let idx: i32 = 0;
  for (let i = 0; i < len; i++) {
    const v = rd32(p, i);
    if (v > m) {
      m = v;
      idx = i;
    }
  }
  return idx;
}

/** Maximum value of an i32 array. */
export function maxValueW32(p: usize, len: i32): i32 {
  let m: i32 = i32.MIN_VALUE;
  for (let i = 0; i < len; i++) {
    const v = rd32(p, i);
    if (v > m) m = v;
  }
  return m;
}

/** sum((a[i]*b[i]) >> scale) accumulated in 64 bits, saturated to int32. */
export function dotProductWithScale(a: usize, b: usize, len: i32, scale: i32): i32 {
  let sum: i64 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const pa = a + <usize>(i << 1);
    const pb = b + <usize>(i << 1);
    const t0 = (<i32>load<i16>(pa) * <i32>load<i16>(pb)) >> scale;
    const t1 = (<i32>load<i16>(pa, 2) * <i32>load<i16>(pb, 2)) >> scale;
    const t2 = (<i32>load<i16>(pa, 4) * <i32>load<i16>(pb, 4)) >> scale;
    const t3 = (<i32>load<i16>(pa, 6) * <i32>load<i16>(pb, 6)) >> scale;
    sum += <i64>t0 + <i64>t1 + <i64>t2 + <i64>t3;
  }
  for (; i < len; i++) sum += <i64>((rd(a, i) * rd(b, i)) >> scale);
  if (sum > 0x7fffffff) return 0x7fffffff;
  if (sum < -0x80000000) return i32.MIN_VALUE;
  return <i32>sum;
}

/** out32[k] = sum_j (s1[j]*s2[j + k*step]) >> shifts, wrapping int32 sums. */
export function crossCorrelation(
  out32: usize, s1: usize, s2: usize, dimSeq: i32, dimCorr: i32, shifts: i32, step: i32
): void {
  let q = s2;
  const inc = <usize>(step << 1);
  for (let k = 0; k < dimCorr; k++) {
    let c: i32 = 0;
    let j = 0;
    for (; j + 3 < dimSeq; j += 4) {
      const pa = s1 + <usize>(j << 1);
      const pb = q + <usize>(j << 1);
      c += (<i32>load<i16>(pa) * <i32>load<i16>(pb)) >> shifts;
      c += (<i32>load<i16>(pa, 2) * <i32>load<i16>(pb, 2)) >> shifts;
      c += (<i32>load<i16>(pa, 4) * <i32>load<i16>(pb, 4)) >> shifts;
      c += (<i32>load<i16>(pa, 6) * <i32>load<i16>(pb, 6)) >> shifts;
    }
    for (; j < dimSeq; j++) c += (rd(s1, j) * rd(q, j)) >> shifts;
    wr32(out32, k, c);
    q += inc;
  }
}

/** dst[-j] = src[j] for j in [0, len). `dst` points at the last destination slot. */
export function copyReversed(dst: usize, src: usize, len: i32): void {
  for (let j = 0; j < len; j++) wr(dst, -j, rd(src, j));
}

/** Copy len i16 samples (overlap-safe). */
@inline export function copy16(dst: usize, src: usize, len: i32): void {
  if (len > 0) memory.copy(dst, src, <usize>(len << 1));
}

/** Zero len i16 samples. */
@inline export function zero16(dst: usize, len: i32): void {
  if (len > 0) memory.fill(dst, 0, <usize>(len << 1));
}

/** out[i] = (in[i] * gain) >> shift, truncated to int16. */
export function scaleVector(inp: usize, out: usize, gain: i32, len: i32, shift: i32): void {
  for (let i = 0; i < len; i++) wr(out, i, (rd(inp, i) * gain) >> shift);
}

/** out[i] = sat16((in[i] * gain) >> shift). */
export function scaleVectorWithSat(inp: usize, out: usize, gain: i32, len: i32, shift: i32): void {
  for (let i = 0; i < len; i++) {
    const v = (rd(inp, i) * gain) >> shift;
    wr(out, i, v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
}

/** out[i] = int16((g1*a[i]) >> s1) + int16((g2*b[i]) >> s2). */
export function scaleAndAddVectors(
  a: usize, g1: i32, s1: i32, b: usize, g2: i32, s2: i32, out: usize, len: i32
): void {
  for (let i = 0; i < len; i++) {
    const x = <i32><i16>((g1 * rd(a, i)) >> s1);
    const y = <i32><i16>((g2 * rd(b, i)) >> s2);
    wr(out, i, x + y);
  }
}

/** out[i] += int16((in[i]*gain + add) >> shift). */
export function addAffineVectorToVector(
  out: usize, inp: usize, gain: i32, add: i32, shift: i32, len: i32
): void {
  for (let i = 0; i < len; i++) {
    wr(out, i, rd(out, i) + <i32><i16>((rd(inp, i) * gain + add) >> shift));
  }
}

/** out[i] = int16((in[i]*gain + add) >> shift). */
export function affineTransformVector(
  out: usize, inp: usize, gain: i32, add: i32, shift: i32, len: i32
): void {
  for (let i = 0; i < len; i++) wr(out, i, (rd(inp, i) * gain + add) >> shift);
}

/** out[i] = (in[i] * win[i]) >> shift. */
export function elementwiseMult(out: usize, inp: usize, win: usize, len: i32, shift: i32): void {
  for (let i = 0; i < len; i++) wr(out, i, (rd(inp, i) * rd(win, i)) >> shift);
}

/** out[i] = (in[i] * win[-i]) >> shift (window read backwards). */
export function reverseOrderMult(out: usize, inp: usize, win: usize, len: i32, shift: i32): void {
  for (let i = 0; i < len; i++) wr(out, i, (rd(inp, i) * rd(win, -i)) >> shift);
}

/** out[i] = (a[i] + b[i]) >> shift. */
export function addVectorsAndShift(out: usize, a: usize, b: usize, len: i32, shift: i32): void {
  for (let i = 0; i < len; i++) wr(out, i, (rd(a, i) + rd(b, i)) >> shift);
}

/** i32 vector shift: right by s for s > 0, left by -s otherwise. */
export function vectorBitShiftW32(out: usize, len: i32, inp: usize, s: i32): void {
  if (s > 0) {
    for (let i = 0; i < len; i++) wr32(out, i, rd32(inp, i) >> s);
  } else {
    for (let i = 0; i < len; i++) wr32(out, i, rd32(inp, i) << -s);
  }
}
