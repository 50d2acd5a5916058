// Public API of the iLBC codec (RFC 3951), fixed point, bit-exact with the
// WebRTC fixed-point implementation. Pure code: no host imports.
//
//   20 ms mode: 160 samples <-> 38 bytes (15.2 kbit/s)
//   30 ms mode: 240 samples <-> 50 bytes (13.33 kbit/s)
//
// PCM is 8 kHz mono int16 in linear memory; frames are raw RFC 3951 bytes.

import { DecoderState } from "./decoder_state";
import { decodeFrame } from "./decoder";
import { EncoderState } from "./encoder_state";
import { encodeFrame } from "./encoder";
import { zero16 } from "./spl_vector";

export const ILBC_SAMPLE_RATE: i32 = 8000;
export const ILBC_20MS_SAMPLES: i32 = 160;
export const ILBC_30MS_SAMPLES: i32 = 240;
export const ILBC_20MS_BYTES: i32 = 38;
export const ILBC_30MS_BYTES: i32 = 50;
export const ILBC_MAX_SAMPLES: i32 = 240;
export const ILBC_MAX_BYTES: i32 = 50;

/** Constructor got a mode other than 20 or 30. */
export const ERR_MODE: i32 = -1;
/** decode(): frame length does not match the configured mode. */
export const ERR_FRAME_LENGTH: i32 = -2;
/** decode(): the frame content was undecodable; output is silence and the decoder was reset. */
export const ERR_CORRUPT_FRAME: i32 = -3;
/** A null buffer pointer was passed. */
export const ERR_NULL: i32 = -4;
/** RFC 3952 payload: empty, or not a whole number of frames of the mode. */
export const ERR_PAYLOAD_LENGTH: i32 = -5;
/** RFC 3952 storage: the file does not start with "#!iLBC20\n" or "#!iLBC30\n". */
export const ERR_STORAGE_HEADER: i32 = -6;
/** An output buffer is too small for the result. */
export const ERR_BUFFER_SMALL: i32 = -7;

/** Samples per frame for a mode (0 if the mode is invalid). */
export function ilbcFrameSamples(modeMs: i32): i32 {
  return modeMs == 20 ? ILBC_20MS_SAMPLES : modeMs == 30 ? ILBC_30MS_SAMPLES : 0;
}

/** Bytes per encoded frame for a mode (0 if the mode is invalid). */
export function ilbcFrameBytes(modeMs: i32): i32 {
  return modeMs == 20 ? ILBC_20MS_BYTES : modeMs == 30 ? ILBC_30MS_BYTES : 0;
}

export class IlbcEncoder {
  readonly modeMs: i32;
  readonly frameSamples: i32;
  readonly frameBytes: i32;
  private readonly valid: bool;
  private state: EncoderState;

  constructor(modeMs: i32) {
    this.valid = modeMs == 20 || modeMs == 30;
    this.modeMs = modeMs;
    this.frameSamples = ilbcFrameSamples(modeMs);
    this.frameBytes = ilbcFrameBytes(modeMs);
    this.state = new EncoderState(modeMs == 30 ? 30 : 20);
  }

  /** Encode frameSamples int16 samples at `pcm` into frameBytes bytes at `out`. */
  encode(pcm: usize, out: usize): i32 {
    if (!this.valid) return ERR_MODE;
    if (pcm == 0 || out == 0) return ERR_NULL;
    encodeFrame(this.state, pcm, out);
    return this.frameBytes;
  }

  /** Return to the initial state (start of a new stream). */
  reset(): void {
    this.state.init(this.state.mode);
  }
}

export class IlbcDecoder {
  readonly modeMs: i32;
  readonly frameSamples: i32;
  readonly frameBytes: i32;
  private readonly valid: bool;
  private state: DecoderState;

  constructor(modeMs: i32, enhancer: bool = true) {
    this.valid = modeMs == 20 || modeMs == 30;
    this.modeMs = modeMs;
    this.frameSamples = ilbcFrameSamples(modeMs);
    this.frameBytes = ilbcFrameBytes(modeMs);
    this.state = new DecoderState(modeMs == 30 ? 30 : 20, enhancer);
  }

  /**
   * Decode one frame of `len` bytes into frameSamples samples at `out`.
   * A frame whose "empty frame" bit is set, or whose start-state index is
   * invalid, is concealed like a lost frame (as the reference does).
   */
  decode(frame: usize, len: i32, out: usize): i32 {
    if (!this.valid) return ERR_MODE;
    if (len != this.frameBytes) return ERR_FRAME_LENGTH;
    if (frame == 0 || out == 0) return ERR_NULL;
    if (decodeFrame(this.state, frame, out, true) != 0) {
      zero16(out, this.frameSamples);
      return ERR_CORRUPT_FRAME;
    }
    return this.frameSamples;
  }

  /** Produce one concealed frame for a lost packet. */
  decodePlc(out: usize): i32 {
    if (!this.valid) return ERR_MODE;
    if (out == 0) return ERR_NULL;
    decodeFrame(this.state, 0, out, false);
    return this.frameSamples;
  }

  /** Return to the initial state. */
  reset(): void {
    this.state.init(this.state.mode, this.state.useEnhancer);
  }
}
