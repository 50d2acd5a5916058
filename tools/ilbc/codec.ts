// wasm entry of the `npm run ilbc` tool (tools/ilbc.ts): whole-file encode
// to, and decode from, the RFC 3952 storage format with the firmware's own
// codec (firmware/codec/ilbc). Built to build/ilbc-tool.wasm by
// `npm run build:ilbc`. The host copies a file into the buffer returned by
// buffer(), calls one function, and reads the result from buffer().
// Imports nothing but env.abort.

import { ERR_CORRUPT_FRAME, IlbcDecoder, IlbcEncoder, ilbcFrameBytes, ilbcFrameSamples } from "../../firmware/codec/ilbc/index";
import {
  IlbcFrameReader, ilbcStorageBytes, ilbcStorageWriteHeader, ILBC_STORAGE_HEADER_BYTES,
} from "../../firmware/codec/ilbc/rfc3952";

// Host-visible buffers: 0 = input, 1 = output, 2 = loss pattern.
const slots: StaticArray<u8>[] = [new StaticArray<u8>(0), new StaticArray<u8>(0), new StaticArray<u8>(0)];
const reader = new IlbcFrameReader();
let corrupt: i32 = 0;

/** Address of host buffer `slot` (0..2) with room for at least n bytes (contents not kept on growth). */
export function buffer(slot: i32, n: i32): usize {
  if (slot < 0 || slot > 2 || n < 0) return 0;
  if (slots[slot].length < n) slots[slot] = new StaticArray<u8>(n);
  return changetype<usize>(slots[slot]);
}

/**
 * Encodes `frames` whole frames of 8 kHz PCM (int16 LE in buffer 0) into a
 * storage file in buffer 1: "#!iLBC<mode>\n" + frames (RFC 3952 §4.1).
 * Returns the file's byte length, or a negative ERR_* code.
 */
export function encodeFile(modeMs: i32, frames: i32): i32 {
  const total = ilbcStorageBytes(frames, modeMs);
  if (total < 0) return total;
  const ns = ilbcFrameSamples(modeMs);
  const nb = ilbcFrameBytes(modeMs);
  const pcm = buffer(0, frames * ns * 2);
  const out = buffer(1, total);
  const h = ilbcStorageWriteHeader(out, total, modeMs);
  if (h < 0) return h;
  const enc = new IlbcEncoder(modeMs);
  for (let i = 0; i < frames; i++) {
    const r = enc.encode(pcm + <usize>(i * ns * 2), out + <usize>(ILBC_STORAGE_HEADER_BYTES + i * nb));
    if (r < 0) return r;
  }
  return total;
}

/**
 * Opens the storage file of `len` bytes in buffer 0. Returns its mode (20
 * or 30) or ERR_STORAGE_HEADER; frameCount() and trailingBytes() describe
 * the body.
 */
export function openFile(len: i32): i32 {
  return reader.openStorage(buffer(0, len), len);
}

export function frameCount(): i32 { return reader.frameCount; }
export function trailingBytes(): i32 { return reader.trailingBytes; }

/**
 * Decodes every frame of the opened file into buffer 1 (int16 LE, 160/240
 * samples per frame). With `useLoss`, buffer 2 holds one int16 per frame:
 * 0 = lost (packet-loss concealment instead of decoding), otherwise
 * received. An undecodable frame gives silence and is counted
 * (corruptFrames()). Returns the samples written, or a negative ERR_* code.
 */
export function decodeFile(enhancer: bool, useLoss: bool): i32 {
  const mode = reader.modeMs;
  const n = reader.frameCount;
  const ns = ilbcFrameSamples(mode);
  const out = buffer(1, n * ns * 2);
  const loss = useLoss ? buffer(2, n * 2) : 0;
  const dec = new IlbcDecoder(mode, enhancer);
  corrupt = 0;
  reader.rewind();
  for (let i = 0; i < n; i++) {
    const frame = reader.next();
    const o = out + <usize>(i * ns * 2);
    const lost = loss != 0 && load<i16>(loss + <usize>(i * 2)) == 0;
    const r = lost ? dec.decodePlc(o) : dec.decode(frame, reader.frameBytes, o);
    if (r == ERR_CORRUPT_FRAME) corrupt++;
    else if (r < 0) return r;
  }
  return n * ns;
}

/** Frames of the last decodeFile() that were undecodable (output as silence). */
export function corruptFrames(): i32 { return corrupt; }
