import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "../codec/g711/g711";

/**
 * Codec dispatch by RTP payload type (RFC 3551 §6 static types). Frame = 20 ms at 8 kHz for G.711.
 */
export const PT_PCMU: u8 = 0;
export const PT_PCMA: u8 = 8;

/** Clock rate in Hz of a payload type (RFC 3551 Table 4). */
export function codecRateHz(pt: u8): i32 { return 8000; }

/** Samples per packet we send (20 ms). */
export function codecFrameSamples(pt: u8): i32 { return 160; }

export function codecSupported(pt: u8): bool { return pt == PT_PCMU || pt == PT_PCMA; }

/** Encodes `n` samples at pcm into out; returns payload bytes, or -1 for an unknown type. */
export function codecEncode(pt: u8, pcm: usize, n: i32, out: usize): i32 {
  if (pt == PT_PCMU) { encodeUlaw(pcm, n, out); return n; }
  if (pt == PT_PCMA) { encodeAlaw(pcm, n, out); return n; }
  return -1;
}

/** Decodes a payload into out (capacity `cap` samples); returns samples, or -1 for unknown type/oversize. */
export function codecDecode(pt: u8, payload: usize, len: i32, out: usize, cap: i32): i32 {
  if (len > cap) return -1;
  if (pt == PT_PCMU) { decodeUlaw(payload, len, out); return len; }
  if (pt == PT_PCMA) { decodeAlaw(payload, len, out); return len; }
  return -1;
}
