// Scalar fixed-point helpers with the exact semantics of the WebRTC signal
// processing library (WebRtcSpl_*) that the fixed-point iLBC is built on.
// Memory access helpers: all codec buffers are raw little-endian i16/i32
// arrays addressed by byte pointer + element index (index may be negative,
// e.g. for filter state stored in front of a buffer).

/** Read i16 element `i` of the array at `p` (sign-extended). */
@inline export function rd(p: usize, i: i32): i32 {
  return <i32>load<i16>(p + <usize>(i << 1));
}

/** Write the low 16 bits of `v` to i16 element `i` of the array at `p`. */
@inline export function wr(p: usize, i: i32, v: i32): void {
  store<i16>(p + <usize>(i << 1), <i16>v);
}

/** Read i32 element `i` of the array at `p`. */
@inline export function rd32(p: usize, i: i32): i32 {
  return load<i32>(p + <usize>(i << 2));
}

/** Write i32 element `i` of the array at `p`. */
@inline export function wr32(p: usize, i: i32, v: i32): void {
  store<i32>(p + <usize>(i << 2), v);
}

/** Pointer to element `i` of the i16 array at `p`. */
@inline export function at(p: usize, i: i32): usize {
  return p + <usize>(i << 1);
}

/** Pointer to element `i` of the i32 array at `p`. */
@inline export function at32(p: usize, i: i32): usize {
  return p + <usize>(i << 2);
}

/** Truncate to int16 and sign-extend (C cast to int16_t). */
@inline export function s16(v: i32): i32 {
  return <i32><i16>v;
}

/** Saturate a 32-bit value to the int16 range. */
@inline export function sat16(v: i32): i32 {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

@inline export function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

@inline export function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/** abs() of an int32 as C does it (abs(INT32_MIN) stays INT32_MIN). */
@inline export function iabs(a: i32): i32 {
  return a >= 0 ? a : -a;
}

/** Number of bits needed to represent the unsigned value n (0 for n = 0). */
@inline export function sizeInBits(n: u32): i32 {
  return 32 - <i32>clz<u32>(n);
}

/** Left shifts needed to normalise a signed 32-bit value (0 for 0). */
@inline export function normW32(a: i32): i32 {
  if (a == 0) return 0;
  return <i32>clz<u32>(<u32>(a < 0 ? ~a : a)) - 1;
}

/** Left shifts needed to normalise an unsigned 32-bit value (0 for 0). */
@inline export function normU32(a: u32): i32 {
  if (a == 0) return 0;
  return <i32>clz<u32>(a);
}

/** Left shifts needed to normalise a signed 16-bit value (0 for 0). */
@inline export function normW16(a: i32): i32 {
  if (a == 0) return 0;
  return <i32>clz<u32>(<u32>(a < 0 ? ~a : a)) - 17;
}

/** Shift left for c >= 0, arithmetic shift right by -c otherwise. */
@inline export function shiftW32(x: i32, c: i32): i32 {
  return c >= 0 ? x << c : x >> -c;
}

/** Truncating 32/16 division; a zero divisor yields INT32_MAX. */
export function divW32W16(num: i32, den: i32): i32 {
  if (den == 0) return 0x7fffffff;
  if (den == -1) return -num; // avoids the INT32_MIN / -1 trap; wraps like x86 would
  return num / den;
}

/** Truncating 32/16 division returning the low 16 bits (WebRtcSpl_DivW32W16ResW16). */
export function divW32W16ResW16(num: i32, den: i32): i32 {
  return s16(divW32W16(num, den));
}

/** Floor of the square root of a non-negative 32-bit value (bitwise method). */
export function sqrtFloor(value: i32): i32 {
  let root: i32 = 0;
  for (let n = 15; n >= 0; n--) {
    const t: i32 = (root + (1 << n)) << n;
    if (value >= t) {
      value -= t;
      root |= 2 << n;
    }
  }
  return root >> 1;
}
