// LSF split vector quantisation and dequantisation (RFC 3951 3.2.4 / 4.1):
// three memoryless exhaustive-search codebooks of dimension 3, 3 and 4, and
// the LSF stability check (minimum separation and range limits).

import { LSF_CB, LSF_DIM_CB, LSF_SIZE_CB } from "./tables";
import { LPC_FILTERORDER, LSF_NSPLIT } from "./defs";
import { rd, wr, s16 } from "./spl_math";

/** Nearest codevector (squared error) of dimension dim among nCb; writes Xq and returns the index. */
function vqSearch(xq: usize, cb: usize, x: usize, nCb: i32, dim: i32): i32 {
  let minDist: i32 = i32.MAX_VALUE;
  let minIdx = 0;
  let pos = 0;
  for (let j = 0; j < nCb; j++) {
    let dist: i32 = 0;
    for (let i = 0; i < dim; i++) {
      const t = s16(rd(x, i) - rd(cb, pos + i));
      dist += t * t;
    }
    if (dist < minDist) {
      minDist = dist;
      minIdx = j;
    }
    pos += dim;
  }
  for (let i = 0; i < dim; i++) wr(xq, i, rd(cb, minIdx * dim + i));
  return minIdx;
}

/** Split-VQ one LSF vector (Q13): quantised vector into qx, 3 indices into index. */
function splitVq(qx: usize, index: usize, x: usize): void {
  let cb = changetype<usize>(LSF_CB);
  let off = 0;
  for (let s = 0; s < LSF_NSPLIT; s++) {
    const dim = <i32>unchecked(LSF_DIM_CB[s]);
    const size = <i32>unchecked(LSF_SIZE_CB[s]);
    const idx = vqSearch(qx + <usize>(off << 1), cb, x + <usize>(off << 1), size, dim);
    wr(index, s, idx);
    cb += <usize>((dim * size) << 1);
    off += dim;
  }
}

/** Quantise lpcN LSF vectors. */
export function lsfQuant(lsfdeq: usize, index: usize, lsf: usize, lpcN: i32): void {
  splitVq(lsfdeq, index, lsf);
  if (lpcN == 2) {
    splitVq(lsfdeq + <usize>(LPC_FILTERORDER << 1), index + <usize>(LSF_NSPLIT << 1), lsf + <usize>(LPC_FILTERORDER << 1));
  }
}

/** Dequantise lpcN (1 or 2) LSF vectors (Q13) from the split-VQ indices. */
export function lsfDequant(lsfdeq: usize, index: usize, lpcN: i32): void {
  for (let set = 0; set < lpcN; set++) {
    let pos = 0;
    let cbPos = 0;
    for (let i = 0; i < LSF_NSPLIT; i++) {
      const dim = <i32>unchecked(LSF_DIM_CB[i]);
      const idx = rd(index, set * LSF_NSPLIT + i);
      for (let j = 0; j < dim; j++) {
        wr(lsfdeq, set * LPC_FILTERORDER + pos + j, <i32>unchecked(LSF_CB[cbPos + idx * dim + j]));
      }
      pos += dim;
      cbPos += <i32>unchecked(LSF_SIZE_CB[i]) * dim;
    }
  }
}

/** Enforce a 50 Hz minimum distance and the [0, 4000 Hz] range (two passes). */
export function lsfCheck(lsf: usize, dim: i32, noAn: i32): i32 {
  const eps: i32 = 319; // 0.039 in Q13
  const eps2: i32 = 160; // eps / 2
  const maxlsf: i32 = 25723; // 3.14
  const minlsf: i32 = 82; // 0.01
  let change = 0;
  for (let n = 0; n < 2; n++) {
    for (let m = 0; m < noAn; m++) {
      for (let k = 0; k < dim - 1; k++) {
        const pos = m * dim + k;
        const a = rd(lsf, pos);
        const b = rd(lsf, pos + 1);
        if (b - a < eps) {
          if (b < a) {
            wr(lsf, pos + 1, a + eps2);
            wr(lsf, pos, rd(lsf, pos + 1) - eps2);
          } else {
            wr(lsf, pos, a - eps2);
            wr(lsf, pos + 1, b + eps2);
          }
          change = 1;
        }
        if (rd(lsf, pos) < minlsf) {
          wr(lsf, pos, minlsf);
          change = 1;
        }
        if (rd(lsf, pos) > maxlsf) {
          wr(lsf, pos, maxlsf);
          change = 1;
        }
      }
    }
  }
  return change;
}
