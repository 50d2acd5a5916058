// Thin test/bench harness around the iLBC codec API. Compiled on its own to
// build/ilbc-harness.wasm (see tests/ilbc/asconfig.json); the host side
// exchanges data through preallocated buffers whose addresses are exported.

import {
  IlbcEncoder, IlbcDecoder, ILBC_MAX_SAMPLES, ILBC_MAX_BYTES,
} from "../../firmware/codec/ilbc/index";
import { layoutBits } from "../../firmware/codec/ilbc/bitpack";

const PCM_IN = new StaticArray<i16>(ILBC_MAX_SAMPLES);
const PCM_OUT = new StaticArray<i16>(ILBC_MAX_SAMPLES);
const BYTES = new StaticArray<u8>(ILBC_MAX_BYTES * 4);

const encoders: IlbcEncoder[] = [];
const decoders: IlbcDecoder[] = [];
const slots: StaticArray<u8>[] = [new StaticArray<u8>(0), new StaticArray<u8>(0), new StaticArray<u8>(0), new StaticArray<u8>(0)];

export function pcmInPtr(): usize { return changetype<usize>(PCM_IN); }
export function pcmOutPtr(): usize { return changetype<usize>(PCM_OUT); }
export function bytesPtr(): usize { return changetype<usize>(BYTES); }

/** A host-visible buffer of at least n bytes in slot 0..3 (allocated at setup time only). */
export function slotPtr(slot: i32, n: i32): usize {
  if (slots[slot].length < n) slots[slot] = new StaticArray<u8>(n);
  return changetype<usize>(slots[slot]);
}

/** New encoder; returns its handle. */
export function newEncoder(modeMs: i32): i32 {
  encoders.push(new IlbcEncoder(modeMs));
  return encoders.length - 1;
}

/** New decoder; returns its handle. */
export function newDecoder(modeMs: i32, enhancer: bool): i32 {
  decoders.push(new IlbcDecoder(modeMs, enhancer));
  return decoders.length - 1;
}

/** Encode PCM_IN into BYTES. */
export function encode(h: i32): i32 {
  return encoders[h].encode(changetype<usize>(PCM_IN), changetype<usize>(BYTES));
}

/** Decode `len` bytes from BYTES into PCM_OUT. */
export function decode(h: i32, len: i32): i32 {
  return decoders[h].decode(changetype<usize>(BYTES), len, changetype<usize>(PCM_OUT));
}

/** Conceal one lost frame into PCM_OUT. */
export function decodePlc(h: i32): i32 {
  return decoders[h].decodePlc(changetype<usize>(PCM_OUT));
}

/** Encode n consecutive frames from pcm into out; returns bytes written or the first error. */
export function encodeStream(h: i32, pcm: usize, n: i32, out: usize): i32 {
  const e = encoders[h];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = e.encode(pcm + <usize>(i * e.frameSamples * 2), out + <usize>(i * e.frameBytes));
    if (r < 0) return r;
    total += r;
  }
  return total;
}

/**
 * Decode n consecutive frames from bits into out. loss (may be 0) holds one
 * i16 per frame: 0 = lost (conceal), otherwise decode. Returns samples
 * written or the first error code.
 */
export function decodeStream(h: i32, bits: usize, n: i32, out: usize, loss: usize): i32 {
  const d = decoders[h];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = out + <usize>(i * d.frameSamples * 2);
    const lost = loss != 0 && load<i16>(loss + <usize>(i * 2)) == 0;
    const r = lost ? d.decodePlc(o) : d.decode(bits + <usize>(i * d.frameBytes), d.frameBytes, o);
    if (r < 0) return r;
    total += r;
  }
  return total;
}

/** n concealed frames in a row into out (PLC only). */
export function plcStream(h: i32, n: i32, out: usize): i32 {
  const d = decoders[h];
  let total = 0;
  for (let i = 0; i < n; i++) total += d.decodePlc(out + <usize>(i * d.frameSamples * 2));
  return total;
}

/** Reset a codec instance to its initial state. */
export function resetEncoder(h: i32): void { encoders[h].reset(); }
export function resetDecoder(h: i32): void { decoders[h].reset(); }

/** Bits described by the packing layout excluding the empty-frame flag (303 / 399). */
export function packedBits(modeMs: i32): i32 {
  return layoutBits(modeMs == 30);
}

import { ERR_MODE, ERR_FRAME_LENGTH, ERR_CORRUPT_FRAME, ERR_NULL } from "../../firmware/codec/ilbc/index";

/** Error codes of the public API, for the host tests. */
export function errMode(): i32 { return ERR_MODE; }
export function errFrameLength(): i32 { return ERR_FRAME_LENGTH; }
export function errCorruptFrame(): i32 { return ERR_CORRUPT_FRAME; }
export function errNull(): i32 { return ERR_NULL; }

/**
 * Address of a fresh zero-length allocation. Under the stub (bump) runtime
 * the difference between two marks is exactly the bytes allocated in
 * between (plus one probe), which lets the host prove "no allocation per
 * frame".
 */
export function heapMark(): usize {
  return changetype<usize>(new StaticArray<u8>(0));
}
