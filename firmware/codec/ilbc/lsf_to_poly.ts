// LSF -> LSP -> LPC polynomial conversion, LSF interpolation and LPC
// bandwidth expansion (RFC 3951 3.2.5 / 4.1), fixed point.

import { COS_TABLE, COS_DERIV } from "./tables";
import { rd, wr, rd32, wr32, s16 } from "./spl_math";

// Per-call scratch (module level, never kept across calls).
const LSP_BUF = new StaticArray<i16>(10);
const LSF_TMP = new StaticArray<i16>(10);
const POLY_F1 = new StaticArray<i32>(6);
const POLY_F2 = new StaticArray<i32>(6);

/** out = (coef*in1 + (1-coef)*in2) with rounding; coef in Q14. */
export function interpolateVec(out: usize, in1: usize, in2: usize, coef: i32, len: i32): void {
  const inv = 16384 - coef;
  for (let i = 0; i < len; i++) {
    wr(out, i, (coef * rd(in1, i) + inv * rd(in2, i) + 8192) >> 14);
  }
}

/** LSF (Q13, 0..pi) to LSP (Q15 cosines) via table + linear interpolation. */
export function lsfToLsp(lsf: usize, lsp: usize, m: i32): void {
  for (let i = 0; i < m; i++) {
    const freq = s16((rd(lsf, i) * 20861) >> 15); // 1/(2pi) in Q17
    let k = freq >> 8;
    const diff = freq & 0xff;
    if (k > 63) k = 63;
    const t = <i32>unchecked(COS_DERIV[k]) * diff;
    wr(lsp, i, <i32>unchecked(COS_TABLE[k]) + s16(t >> 12));
  }
}

/** Expand one of the two LSP polynomials (every other LSP) into f[0..5] in Q24. */
export function lspPoly(lsp: usize, f: usize): void {
  wr32(f, 0, 16777216);
  wr32(f, 1, rd(lsp, 0) * -1024);
  let li = 2;
  for (let i = 2; i <= 5; i++) {
    const l = rd(lsp, li);
    wr32(f, i, rd32(f, i - 2));
    for (let j = i; j > 1; j--) {
      const prev = rd32(f, j - 1);
      const hi = s16(prev >> 16);
      const lo = s16((prev & 0xffff) >> 1);
      const t = 4 * hi * l + 4 * ((lo * l) >> 15);
      wr32(f, j, rd32(f, j) + rd32(f, j - 2) - t);
    }
    wr32(f, 1, rd32(f, 1) - (l << 10));
    li += 2;
  }
}

/** LSF (Q13) to LPC coefficients a[0..10] (Q12, a[0] = 4096). */
export function lsfToPoly(a: usize, lsf: usize): void {
  const lsp = changetype<usize>(LSP_BUF);
  const f1 = changetype<usize>(POLY_F1);
  const f2 = changetype<usize>(POLY_F2);
  lsfToLsp(lsf, lsp, 10);
  lspPoly(lsp, f1);
  lspPoly(lsp + 2, f2);
  for (let i = 5; i > 0; i--) {
    wr32(f1, i, rd32(f1, i) + rd32(f1, i - 1));
    wr32(f2, i, rd32(f2, i) - rd32(f2, i - 1));
  }
  wr(a, 0, 4096);
  for (let i = 1; i <= 5; i++) {
    const p = rd32(f1, i);
    const q = rd32(f2, i);
    wr(a, i, (p + q + 4096) >> 13);
    wr(a, 11 - i, (p - q + 4096) >> 13);
  }
}

/** out[i] = round(coef[i] * in[i]), coef Q15; out[0] = in[0]. */
export function bwExpand(out: usize, inp: usize, coef: usize, len: i32): void {
  wr(out, 0, rd(inp, 0));
  for (let i = 1; i < len; i++) {
    wr(out, i, (rd(coef, i) * rd(inp, i) + 16384) >> 15);
  }
}

/** Interpolate two LSF vectors with weight coef (Q14) and convert to LPC. */
export function lsfInterpToPoly(a: usize, lsf1: usize, lsf2: usize, coef: i32, len: i32): void {
  const lsftmp = changetype<usize>(LSF_TMP);
  interpolateVec(lsftmp, lsf1, lsf2, coef, len);
  lsfToPoly(a, lsftmp);
}
