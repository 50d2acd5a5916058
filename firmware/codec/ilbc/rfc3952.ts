// RFC 3952: iLBC in RTP (one or more whole frames per packet, mode from the
// SDP `mode=` parameter) and the iLBC storage (file) format ("#!iLBC20\n" /
// "#!iLBC30\n" followed by frames). Pure code: no imports from the host, no
// allocation. Every reader checks lengths before it reads, so any bytes
// (random, truncated, hostile) give a result or an error code, never a trap.
//
//   RTP payload (§3.1-3.2): N >= 1 frames of ONE mode back to back,
//                           N x 38 bytes (20 ms) or N x 50 bytes (30 ms).
//   SDP (§5):               a=fmtp:<pt> mode=20|30; no `mode` means 30; if
//                           offer and answer differ, both use 30.
//   Storage (§4.1):         magic "#!iLBC20\n" or "#!iLBC30\n" (9 ASCII
//                           bytes), then the frames of that mode.

import {
  ERR_BUFFER_SMALL, ERR_MODE, ERR_NULL, ERR_PAYLOAD_LENGTH, ERR_STORAGE_HEADER,
  ilbcFrameBytes,
} from "./index";

/** Mode used when the SDP has no `mode` parameter (RFC 3952 §5). */
export const ILBC_DEFAULT_MODE: i32 = 30;
/** Length of the storage-format magic "#!iLBC20\n" / "#!iLBC30\n". */
export const ILBC_STORAGE_HEADER_BYTES: i32 = 9;

const CH_HASH: u8 = 0x23; // '#'
const CH_BANG: u8 = 0x21; // '!'
const CH_LF: u8 = 0x0a;
const CH_0: i32 = 0x30;
const CH_SEMI: i32 = 0x3b; // ';'
const CH_EQ: i32 = 0x3d; // '='

// ------------------------------------------------------------- RTP payload

/**
 * Number of frames in an RTP payload of `len` bytes for a mode (RFC 3952
 * §3.2: whole frames only, all of the same mode). Returns 1.. frames,
 * ERR_MODE if modeMs is not 20 or 30, or ERR_PAYLOAD_LENGTH if len is <= 0
 * or not a multiple of the frame size (38 / 50 bytes).
 */
export function ilbcPayloadFrames(len: i32, modeMs: i32): i32 {
  const nb = ilbcFrameBytes(modeMs);
  if (nb == 0) return ERR_MODE;
  if (len <= 0 || len % nb != 0) return ERR_PAYLOAD_LENGTH;
  return len / nb;
}

/**
 * Payload bytes for `frames` frames of a mode (frames * 38 or * 50).
 * Returns ERR_MODE for a bad mode, ERR_PAYLOAD_LENGTH if frames < 1 or the
 * size would not fit in an i32.
 */
export function ilbcPayloadBytes(frames: i32, modeMs: i32): i32 {
  const nb = ilbcFrameBytes(modeMs);
  if (nb == 0) return ERR_MODE;
  if (frames < 1 || frames > i32.MAX_VALUE / nb) return ERR_PAYLOAD_LENGTH;
  return frames * nb;
}

/**
 * Mode of a payload inferred from its length alone (RFC 3952 §3.2 lets a
 * receiver tell the modes apart by length): 20 if len is a multiple of 38
 * only, 30 if a multiple of 50 only; when it is a multiple of both (950,
 * 1900, ... bytes) `preferredModeMs` (the negotiated mode) decides.
 * Returns ERR_PAYLOAD_LENGTH if it is a multiple of neither (or <= 0), and
 * ERR_MODE if the length is ambiguous and preferredModeMs is not 20 or 30.
 */
export function ilbcPayloadMode(len: i32, preferredModeMs: i32): i32 {
  if (len <= 0) return ERR_PAYLOAD_LENGTH;
  const is20 = len % 38 == 0;
  const is30 = len % 50 == 0;
  if (is20 && is30) return ilbcFrameBytes(preferredModeMs) != 0 ? preferredModeMs : ERR_MODE;
  if (is20) return 20;
  if (is30) return 30;
  return ERR_PAYLOAD_LENGTH;
}

// ---------------------------------------------------------------------- SDP

@inline function lowerAscii(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

@inline function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09;
}

/**
 * iLBC mode from an SDP fmtp parameter list (ASCII, `len` bytes at `p`,
 * e.g. "mode=20" or "ptime=40; mode=30"; RFC 3952 §5). Parameters are
 * separated by ';', names compare case-insensitively, blanks around names,
 * '=' and values are ignored. Returns 20 or 30 from the first `mode`
 * parameter, ILBC_DEFAULT_MODE (30) when there is none (or len == 0), or
 * ERR_MODE when its value is missing or anything but 20 or 30; ERR_NULL for a null
 * pointer with len > 0.
 */
export function ilbcModeFromFmtp(p: usize, len: i32): i32 {
  if (len <= 0) return ILBC_DEFAULT_MODE;
  if (p == 0) return ERR_NULL;
  let i = 0;
  while (i < len) {
    // one parameter: [i, end)
    let end = i;
    while (end < len && <i32>load<u8>(p + <usize>end) != CH_SEMI) end++;
    const mode = fmtpModeParam(p, i, end);
    if (mode != 0) return mode;
    i = end + 1;
  }
  return ILBC_DEFAULT_MODE;
}

/** 20/30 if [from, to) is a `mode` parameter with that value, ERR_MODE for another value, 0 if not `mode`. */
function fmtpModeParam(p: usize, from: i32, to: i32): i32 {
  let i = from;
  while (i < to && isSpace(<i32>load<u8>(p + <usize>i))) i++;
  if (to - i < 4) return 0;
  if (lowerAscii(<i32>load<u8>(p + <usize>i)) != 0x6d || lowerAscii(<i32>load<u8>(p + <usize>i + 1)) != 0x6f ||
      lowerAscii(<i32>load<u8>(p + <usize>i + 2)) != 0x64 || lowerAscii(<i32>load<u8>(p + <usize>i + 3)) != 0x65) return 0;
  i += 4;
  if (i < to) {
    const c = <i32>load<u8>(p + <usize>i);
    if (c != CH_EQ && !isSpace(c)) return 0; // e.g. "modex=1": another parameter
  }
  while (i < to && isSpace(<i32>load<u8>(p + <usize>i))) i++;
  if (i >= to || <i32>load<u8>(p + <usize>i) != CH_EQ) return ERR_MODE; // "mode" without a value
  i++;
  while (i < to && isSpace(<i32>load<u8>(p + <usize>i))) i++;
  let e = to;
  while (e > i && isSpace(<i32>load<u8>(p + <usize>e - 1))) e--;
  if (e - i != 2 || <i32>load<u8>(p + <usize>i + 1) != CH_0) return ERR_MODE;
  const d = <i32>load<u8>(p + <usize>i);
  return d == CH_0 + 2 ? 20 : d == CH_0 + 3 ? 30 : ERR_MODE;
}

/**
 * Mode both ends use after offer/answer (RFC 3952 §5): 20 ms only when both
 * sides ask for 20, otherwise 30 (also when a side's value is invalid).
 */
export function ilbcNegotiateMode(localModeMs: i32, remoteModeMs: i32): i32 {
  return localModeMs == 20 && remoteModeMs == 20 ? 20 : 30;
}

// ------------------------------------------------------------------ storage

/**
 * Mode of a storage file from its first bytes (RFC 3952 §4.1): 20 for
 * "#!iLBC20\n", 30 for "#!iLBC30\n". Returns ERR_STORAGE_HEADER for anything
 * else, including fewer than 9 bytes; ERR_NULL for a null pointer.
 */
export function ilbcStorageMode(p: usize, len: i32): i32 {
  if (len < ILBC_STORAGE_HEADER_BYTES) return ERR_STORAGE_HEADER;
  if (p == 0) return ERR_NULL;
  if (load<u8>(p) != CH_HASH || load<u8>(p + 1) != CH_BANG || load<u8>(p + 2) != 0x69 /* i */ ||
      load<u8>(p + 3) != 0x4c /* L */ || load<u8>(p + 4) != 0x42 /* B */ || load<u8>(p + 5) != 0x43 /* C */ ||
      <i32>load<u8>(p + 7) != CH_0 || load<u8>(p + 8) != CH_LF) return ERR_STORAGE_HEADER;
  const d = <i32>load<u8>(p + 6);
  return d == CH_0 + 2 ? 20 : d == CH_0 + 3 ? 30 : ERR_STORAGE_HEADER;
}

/**
 * Writes the 9-byte storage header for a mode at `out` (capacity `cap`
 * bytes). Returns 9, ERR_MODE, ERR_BUFFER_SMALL or ERR_NULL.
 */
export function ilbcStorageWriteHeader(out: usize, cap: i32, modeMs: i32): i32 {
  if (ilbcFrameBytes(modeMs) == 0) return ERR_MODE;
  if (cap < ILBC_STORAGE_HEADER_BYTES) return ERR_BUFFER_SMALL;
  if (out == 0) return ERR_NULL;
  store<u8>(out, CH_HASH);
  store<u8>(out + 1, CH_BANG);
  store<u8>(out + 2, 0x69);
  store<u8>(out + 3, 0x4c);
  store<u8>(out + 4, 0x42);
  store<u8>(out + 5, 0x43);
  store<u8>(out + 6, <u8>(CH_0 + modeMs / 10));
  store<u8>(out + 7, <u8>CH_0);
  store<u8>(out + 8, CH_LF);
  return ILBC_STORAGE_HEADER_BYTES;
}

/**
 * Bytes of a storage file holding `frames` frames of a mode (header
 * included). Returns ERR_MODE, or ERR_PAYLOAD_LENGTH if frames < 0 or the
 * size does not fit in an i32.
 */
export function ilbcStorageBytes(frames: i32, modeMs: i32): i32 {
  const nb = ilbcFrameBytes(modeMs);
  if (nb == 0) return ERR_MODE;
  if (frames < 0 || frames > (i32.MAX_VALUE - ILBC_STORAGE_HEADER_BYTES) / nb) return ERR_PAYLOAD_LENGTH;
  return ILBC_STORAGE_HEADER_BYTES + frames * nb;
}

// ------------------------------------------------------------ frame reader

/**
 * Walks the frames of an RTP payload or a storage file in place (no copy,
 * no allocation): open one, then call next() until it returns 0.
 *
 *   const r = new IlbcFrameReader();          // once, at init
 *   if (r.openPayload(p, len, 30) > 0) for (let f = r.next(); f != 0; f = r.next()) dec.decode(f, r.frameBytes, out);
 */
export class IlbcFrameReader {
  /** 20 or 30 once opened, 0 otherwise. */
  modeMs: i32 = 0;
  /** 38 or 50 once opened. */
  frameBytes: i32 = 0;
  /** Whole frames available. */
  frameCount: i32 = 0;
  /** Storage only: bytes after the last whole frame (a truncated file); 0 for a payload. */
  trailingBytes: i32 = 0;
  /** Frames returned by next() so far. */
  index: i32 = 0;
  private first: usize = 0;

  /**
   * Opens an RTP payload of `len` bytes at `p` in a known mode (RFC 3952
   * §3.2). Returns the frame count (>= 1), or ERR_MODE / ERR_PAYLOAD_LENGTH
   * (not whole frames) / ERR_NULL; on error the reader is empty.
   */
  openPayload(p: usize, len: i32, modeMs: i32): i32 {
    this.clear();
    const n = ilbcPayloadFrames(len, modeMs);
    if (n < 0) return n;
    if (p == 0) return ERR_NULL;
    this.set(p, modeMs, n, 0);
    return n;
  }

  /**
   * Opens a storage file of `len` bytes at `p` (RFC 3952 §4.1). Returns the
   * mode (20 or 30) or ERR_STORAGE_HEADER / ERR_NULL; on error the reader is
   * empty. A file cut inside a frame opens with its whole frames and reports
   * the rest in trailingBytes (the caller decides whether that is an error).
   */
  openStorage(p: usize, len: i32): i32 {
    this.clear();
    const mode = ilbcStorageMode(p, len);
    if (mode < 0) return mode;
    const nb = ilbcFrameBytes(mode);
    const body = len - ILBC_STORAGE_HEADER_BYTES;
    this.set(p + <usize>ILBC_STORAGE_HEADER_BYTES, mode, body / nb, body % nb);
    return mode;
  }

  /** Address of the next frame (frameBytes bytes), or 0 after the last one. */
  next(): usize {
    if (this.index >= this.frameCount) return 0;
    const f = this.first + <usize>(this.index * this.frameBytes);
    this.index++;
    return f;
  }

  /** Address of frame i (0-based), or 0 if out of range; does not move the cursor. */
  frameAt(i: i32): usize {
    if (i < 0 || i >= this.frameCount) return 0;
    return this.first + <usize>(i * this.frameBytes);
  }

  /** Back to the first frame. */
  rewind(): void {
    this.index = 0;
  }

  private set(first: usize, modeMs: i32, frames: i32, trailing: i32): void {
    this.first = first;
    this.modeMs = modeMs;
    this.frameBytes = ilbcFrameBytes(modeMs);
    this.frameCount = frames;
    this.trailingBytes = trailing;
  }

  private clear(): void {
    this.set(0, 0, 0, 0);
    this.index = 0;
  }
}
