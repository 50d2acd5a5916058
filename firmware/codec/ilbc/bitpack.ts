// Bit packing and unpacking of iLBC frames (RFC 3951 section 3.8).
//
// A frame is a big-endian bit string. Parameters are split into ULP classes
// (class 1 bits first, then class 2, then class 3), so one parameter can be
// spread over several places. Each layout below is the ordered list of pieces
// (parameter slot, number of bits, bit position of the piece inside the
// parameter value). The final bit of every frame is the "empty frame" flag.

import { P_LSF, P_CB, P_GAIN, P_IDXMAX, P_STATE_FIRST, P_IDXVEC, P_START, P_EMPTY, P_SIZE } from "./defs";
import { rd, wr } from "./spl_math";

// Each piece is packed as (slot << 8) | (nbits << 4) | shift.
const LAYOUT_20 = new StaticArray<u16>(160);
const LAYOUT_30 = new StaticArray<u16>(200);
let n20: i32 = 0;
let n30: i32 = 0;

function put(is30: bool, slot: i32, nbits: i32, shift: i32): void {
  const v = <u16>((slot << 8) | (nbits << 4) | shift);
  if (is30) unchecked((LAYOUT_30[n30++] = v));
  else unchecked((LAYOUT_20[n20++] = v));
}

function lsf(m: bool, i: i32, n: i32, s: i32): void { put(m, P_LSF + i, n, s); }
function cb(m: bool, i: i32, n: i32, s: i32): void { put(m, P_CB + i, n, s); }
function gain(m: bool, i: i32, n: i32, s: i32): void { put(m, P_GAIN + i, n, s); }
function vec(m: bool, from: i32, to: i32, n: i32, s: i32): void {
  for (let i = from; i < to; i++) put(m, P_IDXVEC + i, n, s);
}

function build20(): void {
  const m = false;
  // class 1
  lsf(m, 0, 6, 0); lsf(m, 1, 7, 0); lsf(m, 2, 3, 4); lsf(m, 2, 4, 0);
  put(m, P_START, 2, 0); put(m, P_STATE_FIRST, 1, 0); put(m, P_IDXMAX, 6, 0);
  cb(m, 0, 3, 4); cb(m, 0, 3, 1); gain(m, 0, 2, 3); gain(m, 1, 1, 3);
  cb(m, 3, 7, 1); gain(m, 3, 1, 4); gain(m, 4, 1, 3); gain(m, 6, 1, 4);
  // class 2
  vec(m, 0, 57, 1, 2);
  gain(m, 1, 1, 2); gain(m, 3, 2, 2); gain(m, 4, 1, 2); gain(m, 6, 1, 3); gain(m, 7, 2, 2);
  // class 3
  vec(m, 0, 57, 2, 0);
  cb(m, 0, 1, 0); cb(m, 1, 7, 0); cb(m, 2, 6, 1); cb(m, 2, 1, 0);
  gain(m, 0, 3, 0); gain(m, 1, 2, 0); gain(m, 2, 3, 0);
  cb(m, 3, 1, 0); cb(m, 4, 6, 1); cb(m, 4, 1, 0); cb(m, 5, 7, 0); cb(m, 6, 8, 0);
  cb(m, 7, 8, 0); cb(m, 8, 8, 0);
  gain(m, 3, 2, 0); gain(m, 4, 2, 0); gain(m, 5, 3, 0); gain(m, 6, 3, 0);
  gain(m, 7, 2, 0); gain(m, 8, 3, 0);
}

function build30(): void {
  const m = true;
  // class 1
  lsf(m, 0, 6, 0); lsf(m, 1, 7, 0); lsf(m, 2, 3, 4); lsf(m, 2, 4, 0);
  lsf(m, 3, 6, 0); lsf(m, 4, 6, 1); lsf(m, 4, 1, 0); lsf(m, 5, 7, 0);
  put(m, P_START, 3, 0); put(m, P_STATE_FIRST, 1, 0); put(m, P_IDXMAX, 4, 2); put(m, P_IDXMAX, 2, 0);
  cb(m, 0, 4, 3); gain(m, 0, 1, 4); gain(m, 1, 1, 3); cb(m, 3, 6, 2);
  gain(m, 3, 1, 4); gain(m, 4, 1, 3);
  // class 2
  vec(m, 0, 58, 1, 2);
  cb(m, 0, 2, 1); gain(m, 0, 1, 3); gain(m, 1, 1, 2); cb(m, 3, 1, 1);
  cb(m, 6, 1, 7); cb(m, 6, 6, 1); cb(m, 9, 7, 1); cb(m, 12, 3, 5); cb(m, 12, 4, 1);
  gain(m, 3, 2, 2); gain(m, 4, 2, 1); gain(m, 6, 2, 3); gain(m, 7, 2, 2);
  gain(m, 9, 1, 4); gain(m, 10, 1, 3); gain(m, 12, 1, 4); gain(m, 13, 1, 3);
  // class 3
  vec(m, 0, 58, 2, 0);
  cb(m, 0, 1, 0); cb(m, 1, 7, 0); cb(m, 2, 4, 3); cb(m, 2, 3, 0);
  gain(m, 0, 3, 0); gain(m, 1, 2, 0); gain(m, 2, 3, 0);
  cb(m, 3, 1, 0); cb(m, 4, 4, 3); cb(m, 4, 3, 0); cb(m, 5, 7, 0); cb(m, 6, 1, 0);
  cb(m, 7, 5, 3); cb(m, 7, 3, 0); cb(m, 8, 8, 0); cb(m, 9, 1, 0); cb(m, 10, 4, 4);
  cb(m, 10, 4, 0); cb(m, 11, 8, 0); cb(m, 12, 1, 0); cb(m, 13, 3, 5);
  cb(m, 13, 5, 0); cb(m, 14, 8, 0); gain(m, 3, 2, 0); gain(m, 4, 1, 0);
  gain(m, 5, 3, 0); gain(m, 6, 3, 0); gain(m, 7, 2, 0); gain(m, 8, 3, 0);
  gain(m, 9, 4, 0); gain(m, 10, 1, 2); gain(m, 10, 2, 0); gain(m, 11, 3, 0);
  gain(m, 12, 4, 0); gain(m, 13, 3, 0); gain(m, 14, 3, 0);
}

build20();
build30();

/**
 * Unpack one frame of `nbytes` (38 or 50) bytes into the parameter record
 * `par` (i16[P_SIZE]). Sets par[P_EMPTY] to the value of the last bit.
 */
export function unpackBits(frame: usize, par: usize, is30: bool): void {
  for (let i = 0; i < P_SIZE; i++) wr(par, i, 0);
  const layout = is30 ? LAYOUT_30 : LAYOUT_20;
  const n = is30 ? n30 : n20;
  let bitPos: i32 = 0;
  for (let k = 0; k < n; k++) {
    const e = <i32>unchecked(layout[k]);
    const slot = e >> 8;
    const nb = (e >> 4) & 15;
    const sh = e & 15;
    let v: i32 = 0;
    for (let b = 0; b < nb; b++) {
      const byte = <i32>load<u8>(frame + <usize>(bitPos >> 3));
      v = (v << 1) | ((byte >> (7 - (bitPos & 7))) & 1);
      bitPos++;
    }
    wr(par, slot, rd(par, slot) | (v << sh));
  }
  const last = <i32>load<u8>(frame + <usize>(bitPos >> 3));
  wr(par, P_EMPTY, (last >> (7 - (bitPos & 7))) & 1);
}

/** Pack the parameter record into `nbytes` bytes at `frame` (last bit = 0). */
export function packBits(par: usize, frame: usize, is30: bool): void {
  const nbytes = is30 ? 50 : 38;
  for (let i = 0; i < nbytes; i++) store<u8>(frame + <usize>i, 0);
  const layout = is30 ? LAYOUT_30 : LAYOUT_20;
  const n = is30 ? n30 : n20;
  let bitPos: i32 = 0;
  for (let k = 0; k < n; k++) {
    const e = <i32>unchecked(layout[k]);
    const slot = e >> 8;
    const nb = (e >> 4) & 15;
    const sh = e & 15;
    const v = rd(par, slot) >> sh;
    for (let b = nb - 1; b >= 0; b--) {
      if ((v >> b) & 1) {
        const a = frame + <usize>(bitPos >> 3);
        store<u8>(a, <u8>(<i32>load<u8>(a) | (0x80 >> (bitPos & 7))));
      }
      bitPos++;
    }
  }
}

/** Total bits described by the layout (excluding the empty flag); for self-checks. */
export function layoutBits(is30: bool): i32 {
  const layout = is30 ? LAYOUT_30 : LAYOUT_20;
  const n = is30 ? n30 : n20;
  let t = 0;
  for (let k = 0; k < n; k++) t += (<i32>unchecked(layout[k]) >> 4) & 15;
  return t;
}
