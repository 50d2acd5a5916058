import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "../codec/g711/g711";
import { IlbcDecoder, IlbcEncoder, ILBC_20MS_BYTES, ILBC_30MS_BYTES } from "../codec/ilbc/index";

/**
 * Codec dispatch by RTP payload type. G.711 uses its static types (RFC 3551 §6: PCMU 0, PCMA 8);
 * iLBC has a dynamic type in RTP (RFC 3952 §4) whose mode our signaling fixes: 97 = iLBC 30 ms
 * (`mode=30`), 98 = iLBC 20 ms (`mode=20`) — see docs/protocol.md. One frame per packet: 20 ms for
 * G.711 and iLBC 20, 30 ms for iLBC 30. Codec state (iLBC) lives here, allocated once and reset per call.
 */
export const PT_PCMU: u8 = 0;
export const PT_PCMA: u8 = 8;
export const PT_ILBC30: u8 = 97;
export const PT_ILBC20: u8 = 98;

/** Clock rate in Hz of a payload type (RFC 3551 Table 4; RFC 3952 §4: 8000 for iLBC). */
export function codecRateHz(pt: u8): i32 { return 8000; }

/** Samples per packet we send. */
export function codecFrameSamples(pt: u8): i32 { return pt == PT_ILBC30 ? 240 : 160; }

export function codecSupported(pt: u8): bool { return pt == PT_PCMU || pt == PT_PCMA || pt == PT_ILBC30 || pt == PT_ILBC20; }

let enc20: IlbcEncoder | null = null;
let enc30: IlbcEncoder | null = null;
let dec20: IlbcDecoder | null = null;
let dec30: IlbcDecoder | null = null;

function encoder(pt: u8): IlbcEncoder {
  if (pt == PT_ILBC20) { let e = enc20; if (e === null) { e = new IlbcEncoder(20); enc20 = e; } return e; }
  let e = enc30; if (e === null) { e = new IlbcEncoder(30); enc30 = e; } return e;
}

function decoder(pt: u8): IlbcDecoder {
  if (pt == PT_ILBC20) { let d = dec20; if (d === null) { d = new IlbcDecoder(20, true); dec20 = d; } return d; }
  let d = dec30; if (d === null) { d = new IlbcDecoder(30, true); dec30 = d; } return d;
}

/** Starts a new stream for `pt` (iLBC encoder/decoder state back to their initial values). */
export function codecReset(pt: u8): void {
  if (pt == PT_ILBC20 || pt == PT_ILBC30) { encoder(pt).reset(); decoder(pt).reset(); }
}

/** Encodes one frame (`n` = codecFrameSamples(pt) samples) into out; returns payload bytes, or -1. */
export function codecEncode(pt: u8, pcm: usize, n: i32, out: usize): i32 {
  if (pt == PT_PCMU) { encodeUlaw(pcm, n, out); return n; }
  if (pt == PT_PCMA) { encodeAlaw(pcm, n, out); return n; }
  if (pt == PT_ILBC20 || pt == PT_ILBC30) {
    if (n != codecFrameSamples(pt)) return -1;
    return encoder(pt).encode(pcm, out);
  }
  return -1;
}

/**
 * Decodes one packet's payload into out (capacity `cap` samples); returns samples, or a negative value
 * for an unknown type, a payload that is not one whole frame, or an oversize result.
 */
export function codecDecode(pt: u8, payload: usize, len: i32, out: usize, cap: i32): i32 {
  if (pt == PT_PCMU) { if (len > cap) return -1; decodeUlaw(payload, len, out); return len; }
  if (pt == PT_PCMA) { if (len > cap) return -1; decodeAlaw(payload, len, out); return len; }
  if (pt == PT_ILBC20 || pt == PT_ILBC30) {
    if (len != (pt == PT_ILBC20 ? ILBC_20MS_BYTES : ILBC_30MS_BYTES) || cap < codecFrameSamples(pt)) return -1;
    return decoder(pt).decode(payload, len, out);
  }
  return -1;
}

/** Codec's own concealment of one lost frame (iLBC PLC, RFC 3951 §4.5); -1 when the codec has none. */
export function codecConceal(pt: u8, out: usize, cap: i32): i32 {
  if ((pt == PT_ILBC20 || pt == PT_ILBC30) && cap >= codecFrameSamples(pt)) return decoder(pt).decodePlc(out);
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Decoder interface of the jitter buffer (issue #6). One preallocated instance per payload type; the
// jitter buffer calls decode() for every packet it plays and conceal() for every frame it must invent.
// A codec with its own packet-loss concealment (iLBC, RFC 3951 §4.5, IlbcDecoder.decodePlc through
// codecConceal) returns its frame there; one without (G.711) returns 0 and the buffer runs its generic
// concealment (firmware/media/plc.ts, ITU-T G.711 Appendix I style). A new codec = its cases in the
// functions above (codecConceal if it has a PLC) + one instance in codecDecoderFor().

/** Largest frame any decoder may return, samples (60 ms at 16 kHz). */
export const DECODER_FRAME_MAX: i32 = 960;

export class MediaDecoder {
  /** Samples per decoded frame at `rateHz` (the size of a conceal() frame). */
  frameSamples: i32 = 160;
  rateHz: i32 = 8000;

  /** Samples a payload of `len` bytes decodes to (0 if the length is impossible for this codec). */
  samplesFor(len: i32): i32 { return 0; }

  /** Decodes one payload into `out` (room for `cap` samples). Returns samples written, or < 0 on error
   *  (the buffer then conceals that frame). Must not trap on any input. */
  decode(payload: usize, len: i32, out: usize, cap: i32): i32 { return -1; }

  /** The codec's own concealment of one lost frame into `out` (room for `cap`): samples written, or 0
   *  when the codec has no PLC (the generic one is used). */
  conceal(out: usize, cap: i32): i32 { return 0; }

  /** True when conceal() produces audio (the buffer then skips its generic PLC and merge cross-fade:
   *  the codec smooths its first good frame after a loss itself). */
  hasPlc(): bool { return false; }

  /** Start of a new stream (new SSRC or timestamp jump). */
  reset(): void {}
}

/** Samples a `len`-byte payload of type `pt` decodes to; 0 when the length is not valid for the type. */
export function codecSamplesFor(pt: u8, len: i32): i32 {
  if (pt == PT_PCMU || pt == PT_PCMA) return len > 0 && len <= DECODER_FRAME_MAX ? len : 0;
  if (pt == PT_ILBC20) return len == ILBC_20MS_BYTES ? 160 : 0;
  if (pt == PT_ILBC30) return len == ILBC_30MS_BYTES ? 240 : 0;
  return 0;
}

/** The decoder of one payload type, over the dispatch functions above. */
export class PtDecoder extends MediaDecoder {
  constructor(public pt: u8) {
    super();
    this.frameSamples = codecFrameSamples(pt);
    this.rateHz = codecRateHz(pt);
  }

  samplesFor(len: i32): i32 { return codecSamplesFor(this.pt, len); }

  decode(payload: usize, len: i32, out: usize, cap: i32): i32 { return codecDecode(this.pt, payload, len, out, cap); }

  conceal(out: usize, cap: i32): i32 {
    const n = codecConceal(this.pt, out, cap);
    return n > 0 ? n : 0;
  }

  hasPlc(): bool { return this.pt == PT_ILBC20 || this.pt == PT_ILBC30; }

  reset(): void { if (this.hasPlc()) decoder(this.pt).reset(); }
}

const decoderPcmu = new PtDecoder(PT_PCMU);
const decoderPcma = new PtDecoder(PT_PCMA);
const decoderIlbc20 = new PtDecoder(PT_ILBC20);
const decoderIlbc30 = new PtDecoder(PT_ILBC30);

/** The (preallocated) decoder for a payload type, or null when we cannot decode it. */
export function codecDecoderFor(pt: u8): MediaDecoder | null {
  if (pt == PT_PCMU) return decoderPcmu;
  if (pt == PT_PCMA) return decoderPcma;
  if (pt == PT_ILBC20) return decoderIlbc20;
  if (pt == PT_ILBC30) return decoderIlbc30;
  return null;
}
