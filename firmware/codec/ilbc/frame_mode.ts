// The frame-size parameters that differ between iLBC's two modes (RFC 3951 section 1: 20 ms frames of
// 160 samples in 38 bytes, 30 ms frames of 240 samples in 50 bytes), shared by the encoder and decoder states.

import {
  BLOCKL_20MS, BLOCKL_30MS, NSUB_20MS, NSUB_30MS, NASUB_20MS, NASUB_30MS, LPC_N_20MS, LPC_N_30MS,
  NO_OF_BYTES_20MS, NO_OF_BYTES_30MS, STATE_SHORT_LEN_20MS, STATE_SHORT_LEN_30MS,
} from "./defs";

export class FrameMode {
  /** Frame length, ms: 20 or 30. */
  mode: i32 = 20;
  /** Samples per frame (160 or 240). */
  blockl: i32 = BLOCKL_20MS;
  /** Sub-blocks of 40 samples per frame (4 or 6). */
  nsub: i32 = NSUB_20MS;
  /** Analysis sub-blocks (2 or 4). */
  nasub: i32 = NASUB_20MS;
  /** LPC sets per frame (1 or 2). */
  lpcN: i32 = LPC_N_20MS;
  /** Bytes per encoded frame (38 or 50). */
  noOfBytes: i32 = NO_OF_BYTES_20MS;
  /** Length of the start state's scalar-quantised part, samples (57 or 58). */
  stateShortLen: i32 = STATE_SHORT_LEN_20MS;

  /** Sets the parameters of `mode` (30 → 30 ms, anything else → 20 ms). */
  setMode(mode: i32): void {
    const is30 = mode == 30;
    this.mode = is30 ? 30 : 20;
    this.blockl = is30 ? BLOCKL_30MS : BLOCKL_20MS;
    this.nsub = is30 ? NSUB_30MS : NSUB_20MS;
    this.nasub = is30 ? NASUB_30MS : NASUB_20MS;
    this.lpcN = is30 ? LPC_N_30MS : LPC_N_20MS;
    this.noOfBytes = is30 ? NO_OF_BYTES_30MS : NO_OF_BYTES_20MS;
    this.stateShortLen = is30 ? STATE_SHORT_LEN_30MS : STATE_SHORT_LEN_20MS;
  }
}
