// LPC analysis arithmetic (RFC 3951 3.2.1): autocorrelation with dynamic
// scaling, lag windowing in double precision, and the Levinson-Durbin
// recursion in hi/lo 32-bit precision (WebRtcSpl semantics).

import { rd, wr, rd32, wr32, s16, sizeInBits, normW32, iabs, divW32W16 } from "./spl_math";
import { maxAbsW16, vectorBitShiftW32 } from "./spl_vector";

const MAXORD: i32 = 10;
const R_HI = new StaticArray<i16>(MAXORD + 1);
const R_LO = new StaticArray<i16>(MAXORD + 1);
const A_HI = new StaticArray<i16>(MAXORD + 1);
const A_LO = new StaticArray<i16>(MAXORD + 1);
const AU_HI = new StaticArray<i16>(MAXORD + 1);
const AU_LO = new StaticArray<i16>(MAXORD + 1);

/** Autocorrelation r[0..order] of x (len samples); returns the scaling used. */
export function autoCorrelation(x: usize, len: i32, order: i32, r: usize): i32 {
  const smax = maxAbsW16(x, len);
  let scaling = 0;
  if (smax != 0) {
    const nbits = sizeInBits(<u32>len);
    const t = normW32(smax * smax);
    scaling = t > nbits ? 0 : nbits - t;
  }
  for (let i = 0; i <= order; i++) {
    let sum: i32 = 0;
    for (let j = 0; j < len - i; j++) sum += (rd(x, j) * rd(x, i + j)) >> scaling;
    wr32(r, i, sum);
  }
  return scaling;
}

/** z = x * w (w in Q31), hi/lo multiplication after normalising x. */
export function window32W32(z: usize, x: usize, w: usize, n: i32): void {
  const ls = s16(normW32(rd32(x, 0)));
  vectorBitShiftW32(x, n, x, -ls);
  for (let i = 0; i < n; i++) {
    const xv = rd32(x, i);
    const yv = rd32(w, i);
    const xHi = s16(xv >> 16);
    const yHi = s16(yv >> 16);
    const xLo = s16((xv - (xHi << 16)) >> 1);
    const yLo = s16((yv - (yHi << 16)) >> 1);
    const t = ((xHi * yHi) << 1) + ((xHi * yLo) >> 14);
    wr32(z, i, t + ((xLo * yHi) >> 14));
  }
  vectorBitShiftW32(z, n, z, ls);
}

/** num / (den_hi:den_lo) in Q31 via a Newton-Raphson reciprocal. */
export function divW32HiLow(num: i32, denHi: i32, denLo: i32): i32 {
  const approx = s16(divW32W16(0x1fffffff, denHi));
  let t: i32 = ((denHi * approx) << 1) + (((denLo * approx) >> 15) << 1);
  t = 0x7fffffff - t;
  let tHi = s16(t >> 16);
  let tLo = s16((t - (tHi << 16)) >> 1);
  t = ((tHi * approx) + ((tLo * approx) >> 15)) << 1;
  tHi = s16(t >> 16);
  tLo = s16((t - (tHi << 16)) >> 1);
  const nHi = s16(num >> 16);
  const nLo = s16((num - (nHi << 16)) >> 1);
  t = nHi * tHi + ((nHi * tLo) >> 15) + ((nLo * tHi) >> 15);
  return t << 3;
}

@inline function hi16(v: i32): i32 { return s16(v >> 16); }
@inline function lo16(v: i32, h: i32): i32 { return s16((v - (h << 16)) >> 1); }

/** Levinson-Durbin: A (Q12, order+1) and reflection coefs K from R. Returns 1 if stable. */
export function levinsonDurbin(R: usize, A: usize, K: usize, order: i32): i32 {
  const rHi = changetype<usize>(R_HI), rLo = changetype<usize>(R_LO);
  const aHi = changetype<usize>(A_HI), aLo = changetype<usize>(A_LO);
  const uHi = changetype<usize>(AU_HI), uLo = changetype<usize>(AU_LO);
  let norm = s16(normW32(rd32(R, 0)));
  for (let i = 0; i <= order; i++) {
    const t = rd32(R, i) << norm;
    const h = hi16(t);
    wr(rHi, i, h);
    wr(rLo, i, lo16(t, h));
  }
  let t2 = rd32(R, 1) << norm;
  let t3 = iabs(t2);
  let t1 = divW32HiLow(t3, rd(rHi, 0), rd(rLo, 0));
  if (t2 > 0) t1 = -t1;
  let kHi = hi16(t1);
  let kLo = lo16(t1, kHi);
  wr(K, 0, kHi);
  t1 >>= 4;
  let h = hi16(t1);
  wr(aHi, 1, h);
  wr(aLo, 1, lo16(t1, h));
  t1 = (((kHi * kLo) >> 14) + kHi * kHi) * 2;
  t1 = iabs(t1);
  t1 = 0x7fffffff - t1;
  let tmpHi = hi16(t1);
  let tmpLo = lo16(t1, tmpHi);
  t1 = (rd(rHi, 0) * tmpHi + ((rd(rHi, 0) * tmpLo) >> 15) + ((rd(rLo, 0) * tmpHi) >> 15)) << 1;
  let alphaExp = s16(normW32(t1));
  t1 = t1 << alphaExp;
  let alphaHi = hi16(t1);
  let alphaLo = lo16(t1, alphaHi);

  for (let i = 2; i <= order; i++) {
    t1 = 0;
    for (let j = 1; j < i; j++) {
      t1 += rd(rHi, j) * rd(aHi, i - j) * 2 +
        (((rd(rHi, j) * rd(aLo, i - j)) >> 15) + ((rd(rLo, j) * rd(aHi, i - j)) >> 15)) * 2;
    }
    t1 = t1 * 16;
    t1 += (rd(rHi, i) << 16) + (rd(rLo, i) << 1);
    t2 = iabs(t1);
    t3 = divW32HiLow(t2, alphaHi, alphaLo);
    if (t1 > 0) t3 = -t3;
    norm = s16(normW32(t3));
    if (alphaExp <= norm || t3 == 0) {
      t3 = t3 << alphaExp;
    } else {
      t3 = t3 > 0 ? 0x7fffffff : i32.MIN_VALUE;
    }
    kHi = hi16(t3);
    kLo = lo16(t3, kHi);
    wr(K, i - 1, kHi);
    if (iabs(kHi) > 32750) return 0;
    for (let j = 1; j < i; j++) {
      let t = (rd(aHi, j) << 16) + (rd(aLo, j) << 1);
      t += (kHi * rd(aHi, i - j) + ((kHi * rd(aLo, i - j)) >> 15) + ((kLo * rd(aHi, i - j)) >> 15)) * 2;
      h = hi16(t);
      wr(uHi, j, h);
      wr(uLo, j, lo16(t, h));
    }
    t3 >>= 4;
    h = hi16(t3);
    wr(uHi, i, h);
    wr(uLo, i, lo16(t3, h));
    t1 = (((kHi * kLo) >> 14) + kHi * kHi) * 2;
    t1 = iabs(t1);
    t1 = 0x7fffffff - t1;
    tmpHi = hi16(t1);
    tmpLo = lo16(t1, tmpHi);
    t1 = (alphaHi * tmpHi + ((alphaHi * tmpLo) >> 15) + ((alphaLo * tmpHi) >> 15)) << 1;
    norm = s16(normW32(t1));
    t1 = t1 << norm;
    alphaHi = hi16(t1);
    alphaLo = lo16(t1, alphaHi);
    alphaExp = s16(alphaExp + norm);
    for (let j = 1; j <= i; j++) {
      wr(aHi, j, rd(uHi, j));
      wr(aLo, j, rd(uLo, j));
    }
  }
  wr(A, 0, 4096);
  for (let i = 1; i <= order; i++) {
    const t = (rd(aHi, i) << 16) + (rd(aLo, i) << 1);
    wr(A, i, ((t * 2) + 32768) >> 16);
  }
  return 1;
}
