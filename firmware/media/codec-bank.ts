import { IlbcDecoder, IlbcEncoder, ILBC_20MS_BYTES, ILBC_30MS_BYTES } from "../codec/ilbc/index";
import {
  codecDecode, codecEncode, codecFrameSamples, codecRateHz, codecSamplesFor, codecSupported, DECODER_FRAME_MAX, MediaDecoder,
  PT_ILBC20, PT_ILBC30, PT_PCMA, PT_PCMU,
} from "./codec";

/**
 * (Issue #8.) Codec state of its own for one media stream that is not the phone's call: a conference host
 * runs one stream per leg, each with the payload type that leg negotiated, and iLBC (RFC 3951) keeps
 * encoder and decoder state per stream (LPC/LSF memories, the decoder's PLC and enhancer history), so two
 * legs must not share the phone-wide instances of media/codec.ts (which belong to the ordinary call).
 * G.711 is stateless and goes straight to the shared functions.
 *
 * Every payload type we support is 8 kHz narrowband (codecRateHz), the rate of the conference mixer, so a
 * leg's decoded audio goes into the mix and the mix into its encoder without resampling.
 *
 * Memory: the iLBC encoder/decoder pair is allocated on the first iLBC use of the bank (one mode at a time;
 * a different mode replaces it) and kept for the leg slot's next use. Nothing is allocated per packet.
 */
export class CodecBank {
  private encMode: i32 = 0;
  private enc: IlbcEncoder | null = null;
  private dec: IlbcDecoder | null = null;
  private decoders: StaticArray<BankDecoder>;

  constructor() {
    this.decoders = new StaticArray<BankDecoder>(4);
    this.decoders[0] = new BankDecoder(this, PT_PCMU);
    this.decoders[1] = new BankDecoder(this, PT_PCMA);
    this.decoders[2] = new BankDecoder(this, PT_ILBC20);
    this.decoders[3] = new BankDecoder(this, PT_ILBC30);
  }

  /** iLBC mode (20 or 30 ms) of a payload type, 0 for the others. */
  private static modeOf(pt: u8): i32 { return pt == PT_ILBC20 ? 20 : pt == PT_ILBC30 ? 30 : 0; }

  /** The iLBC pair for `pt`'s mode (created, or replaced when the mode differs). */
  private ensure(pt: u8): void {
    const mode = CodecBank.modeOf(pt);
    if (mode == 0 || (this.encMode == mode && this.enc !== null)) return;
    this.enc = new IlbcEncoder(mode);
    this.dec = new IlbcDecoder(mode, true);
    this.encMode = mode;
  }

  /** New stream with payload type `pt`: codec state back to its initial values. */
  reset(pt: u8): void {
    if (CodecBank.modeOf(pt) == 0) return;
    this.ensure(pt);
    const e = this.enc; if (e !== null) e.reset();
    const d = this.dec; if (d !== null) d.reset();
  }

  /** As codecEncode (media/codec.ts): one frame of `n` samples at `pcm` into `out`; payload bytes, or -1. */
  encode(pt: u8, pcm: usize, n: i32, out: usize): i32 {
    const mode = CodecBank.modeOf(pt);
    if (mode == 0) return codecEncode(pt, pcm, n, out);
    if (n != codecFrameSamples(pt)) return -1;
    this.ensure(pt);
    const e = this.enc;
    return e !== null ? e.encode(pcm, out) : -1;
  }

  /** As codecDecode: samples written, or < 0 (unknown type, not one whole frame, no room). */
  decode(pt: u8, payload: usize, len: i32, out: usize, cap: i32): i32 {
    const mode = CodecBank.modeOf(pt);
    if (mode == 0) return codecDecode(pt, payload, len, out, cap);
    if (len != (mode == 20 ? ILBC_20MS_BYTES : ILBC_30MS_BYTES) || cap < codecFrameSamples(pt)) return -1;
    this.ensure(pt);
    const d = this.dec;
    return d !== null ? d.decode(payload, len, out) : -1;
  }

  /** The codec's own concealment of one lost frame (iLBC PLC), or -1 when it has none. */
  conceal(pt: u8, out: usize, cap: i32): i32 {
    if (CodecBank.modeOf(pt) == 0 || cap < codecFrameSamples(pt)) return -1;
    this.ensure(pt);
    const d = this.dec;
    return d !== null ? d.decodePlc(out) : -1;
  }

  /** The jitter buffer's decoder for `pt` on this bank's state, or null when we cannot decode it. */
  decoderFor(pt: u8): MediaDecoder | null {
    if (!codecSupported(pt)) return null;
    for (let i = 0; i < 4; i++) if (this.decoders[i].pt == pt) return this.decoders[i];
    return null;
  }

  /** Decoder reset of a new stream (new SSRC), for BankDecoder. */
  resetDecoder(pt: u8): void {
    if (CodecBank.modeOf(pt) == 0) return;
    this.ensure(pt);
    const d = this.dec; if (d !== null) d.reset();
  }
}

/** media/codec.ts PtDecoder over a CodecBank's state. */
class BankDecoder extends MediaDecoder {
  constructor(public bank: CodecBank, public pt: u8) {
    super();
    this.frameSamples = codecFrameSamples(pt);
    this.rateHz = codecRateHz(pt);
  }

  samplesFor(len: i32): i32 { return codecSamplesFor(this.pt, len); }

  decode(payload: usize, len: i32, out: usize, cap: i32): i32 { return this.bank.decode(this.pt, payload, len, out, cap); }

  conceal(out: usize, cap: i32): i32 {
    const n = this.bank.conceal(this.pt, out, cap);
    return n > 0 ? n : 0;
  }

  hasPlc(): bool { return this.pt == PT_ILBC20 || this.pt == PT_ILBC30; }

  reset(): void { this.bank.resetDecoder(this.pt); }
}
