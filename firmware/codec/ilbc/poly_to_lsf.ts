// LPC -> LSF conversion (RFC 3951 3.2.3): root search of the symmetric and
// antisymmetric polynomials on a cosine grid with Chebyshev evaluation,
// bisection and linear interpolation, then LSP -> LSF via an acos table.

import { COS_GRID, COS_TABLE, ACOS_DERIV, LSP_MEAN } from "./tables";
import { COS_GRID_POINTS } from "./defs";
import { rd, wr, s16, normW32, divW32W16 } from "./spl_math";
import { copy16 } from "./spl_vector";

const F_POLY = new StaticArray<i16>(12); // f1[0..5], f2[0..5] in Q10
const LSP = new StaticArray<i16>(10);

/** C(x) = T0 + f1 T1 + ... + f4 T4 + f5/2 for x (Q15) and f (Q10); result saturated. */
export function chebyshev(x: i32, f: usize): i32 {
  let b2: i32 = 0x1000000;
  let t1: i32 = (x << 10) + (rd(f, 1) << 14);
  for (let i = 2; i < 5; i++) {
    const t2 = t1;
    const hi = s16(t1 >> 16);
    const lo = s16((t1 - (hi << 16)) >> 1);
    t1 = ((hi * x + ((lo * x) >> 15)) << 2) - b2 + (rd(f, i) << 14);
    b2 = t2;
  }
  const hi = s16(t1 >> 16);
  const lo = s16((t1 - (hi << 16)) >> 1);
  t1 = ((hi * x) << 1) + (((lo * x) >> 15) << 1) - b2 + (rd(f, 5) << 13);
  if (t1 > 33553408) return 32767;
  if (t1 < -33554432) return -32768;
  return s16(t1 >> 10);
}

/** LPC (Q12, order 10) to LSP (Q15); falls back to oldLsp if not all roots are found. */
export function polyToLsp(a: usize, lsp: usize, oldLsp: usize): void {
  const f = changetype<usize>(F_POLY);
  const f1 = f;
  const f2 = f + 12;
  wr(f1, 0, 1024);
  wr(f2, 0, 1024);
  for (let i = 0; i < 5; i++) {
    const ai = rd(a, i + 1);
    const a10 = rd(a, 10 - i);
    wr(f1, i + 1, ((ai + a10) >> 2) - rd(f1, i));
    wr(f2, i + 1, ((ai - a10) >> 2) + rd(f2, i));
  }
  let sel = 0;
  let found = 0;
  let xlow = <i32>unchecked(COS_GRID[0]);
  let ylow = chebyshev(xlow, f1);
  for (let j = 1; j < COS_GRID_POINTS && found < 10; j++) {
    let xhigh = xlow;
    let yhigh = ylow;
    const fp = sel ? f2 : f1;
    xlow = <i32>unchecked(COS_GRID[j]);
    ylow = chebyshev(xlow, fp);
    if (ylow * yhigh <= 0) {
      for (let i = 0; i < 4; i++) {
        const xmid = s16((xlow >> 1) + (xhigh >> 1));
        const ymid = chebyshev(xmid, fp);
        if (ylow * ymid <= 0) {
          yhigh = ymid;
          xhigh = xmid;
        } else {
          ylow = ymid;
          xlow = xmid;
        }
      }
      const x = s16(xhigh - xlow);
      let y = s16(yhigh - ylow);
      let xint: i32;
      if (y == 0) {
        xint = xlow;
      } else {
        const sign = y;
        y = s16(y < 0 ? -y : y);
        const shifts = s16(normW32(y) - 16);
        y = s16(y << shifts);
        y = s16(divW32W16(536838144, y));
        let t = (x * y) >> (19 - shifts);
        y = s16(t & 0xffff);
        if (sign < 0) y = s16(-y);
        t = (ylow * y) >> 10;
        xint = s16(xlow - s16(t & 0xffff));
      }
      wr(lsp, found, xint);
      found++;
      if (found < 10) {
        xlow = xint;
        sel ^= 1;
        ylow = chebyshev(xlow, sel ? f2 : f1);
      }
    }
  }
  if (found < 10) copy16(lsp, oldLsp, 10);
}

/** LSP (Q15, increasing frequency) to LSF (Q13) by table-based acos. */
export function lspToLsf(lsp: usize, lsf: usize, m: i32): void {
  let k = 63;
  for (let i = m - 1; i >= 0; i--) {
    const l = rd(lsp, i);
    while (<i32>unchecked(COS_TABLE[k]) - l < 0 && k > 0) k--;
    const diff = s16(l - <i32>unchecked(COS_TABLE[k]));
    const tmp = s16((<i32>unchecked(ACOS_DERIV[k]) * diff) >> 11);
    const freq = s16((k << 9) + tmp);
    wr(lsf, i, (freq * 25736) >> 15);
  }
}

/** LPC (Q12) to LSF (Q13). */
export function polyToLsf(lsf: usize, a: usize): void {
  const lsp = changetype<usize>(LSP);
  polyToLsp(a, lsp, changetype<usize>(LSP_MEAN));
  lspToLsf(lsp, lsf, 10);
}
