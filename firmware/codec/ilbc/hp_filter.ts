// Second-order high-pass filters (RFC 3951 3.1 encoder input, 4.8 decoder
// output), direct form with a double-precision (hi/lo) output state.
//   input filter:  output = 0.5 * HP(x)   (Q13 rounding, sat. to 2^28)
//   output filter: output = 2.0 * HP(x)   (Q11 rounding, sat. to 2^26)

import { rd, wr, s16 } from "./spl_math";

/**
 * Filter len samples of `signal` in place. ba = {b0, b1, b2, -a1, -a2} (Q12/Q13),
 * y = {yhi[n-1], ylo[n-1], yhi[n-2], ylo[n-2]}, x = {x[n-1], x[n-2]}.
 */
function hpFilter(signal: usize, ba: usize, y: usize, x: usize, len: i32, outShift: i32, satMax: i32): void {
  const b0 = rd(ba, 0), b1 = rd(ba, 1), b2 = rd(ba, 2), a1 = rd(ba, 3), a2 = rd(ba, 4);
  const roundAdd = 1 << (outShift - 1);
  const satMin = -satMax - 1;
  let y0 = rd(y, 0), y1 = rd(y, 1), y2 = rd(y, 2), y3 = rd(y, 3);
  let x0 = rd(x, 0), x1 = rd(x, 1);
  for (let i = 0; i < len; i++) {
    let t: i32 = y1 * a1 + y3 * a2;
    t = t >> 15;
    t += y0 * a1 + y2 * a2;
    t = t << 1;
    const s = rd(signal, i);
    t += s * b0 + x0 * b1 + x1 * b2;
    x1 = x0;
    x0 = s;
    let tb = t + roundAdd;
    tb = tb > satMax ? satMax : tb < satMin ? satMin : tb;
    wr(signal, i, tb >> outShift);
    y2 = y0;
    y3 = y1;
    if (t > 268435455) t = i32.MAX_VALUE;
    else if (t < -268435456) t = i32.MIN_VALUE;
    else t = t << 3;
    y0 = s16(t >> 16);
    y1 = s16((t & 0xffff) >> 1);
  }
  wr(y, 0, y0); wr(y, 1, y1); wr(y, 2, y2); wr(y, 3, y3);
  wr(x, 0, x0); wr(x, 1, x1);
}

/** Encoder input high-pass (halves the signal). */
export function hpInput(signal: usize, ba: usize, y: usize, x: usize, len: i32): void {
  hpFilter(signal, ba, y, x, len, 13, 268435455);
}

/** Decoder output high-pass (doubles the signal, saturating). */
export function hpOutput(signal: usize, ba: usize, y: usize, x: usize, len: i32): void {
  hpFilter(signal, ba, y, x, len, 11, 67108863);
}
