/**
 * Call quality from the E-model (ITU-T G.107 (06/2015) §7, simplified: default values for every parameter
 * except delay and packet loss), as LCD bars.
 *   R = 93.2 − Id − Ie,eff
 *   Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)                      (d: one-way mouth-to-ear delay, ms)
 *   Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)              (Ppl: packet loss, %; BurstR = 1)
 * G.711 values from ITU-T G.113 Appendix I: Ie = 0, Bpl = 4.3 without packet-loss concealment, 25.1 with it
 * (the phone conceals: media/plc.ts). iLBC values measured by tools/bench-jitter-emodel.ts (P.834-style; the
 * method and its uncertainty are in that tool's header and host-sim/emodel.ts CODEC_IMPAIRMENTS — keep in step).
 */
export function emodelR(delayMs: f64, lossPct: f64, ie: f64, bpl: f64): f64 {
  const d = delayMs < 0 ? 0 : delayMs;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = lossPct < 0 ? 0 : lossPct > 100 ? 100 : lossPct;
  const ieEff = ie + (95 - ie) * ppl / (ppl + bpl);
  const r = 93.2 - id - ieEff;
  return r < 0 ? 0 : r > 100 ? 100 : r;
}

/** RTP payload types (firmware/media/codec.ts): PCMU 0, PCMA 8, iLBC 30 ms 97, iLBC 20 ms 98. */
const PT_ILBC30: i32 = 97;
const PT_ILBC20: i32 = 98;

/** Equipment impairment factor Ie of the codec with payload type `pt` (G.711 and unknown: 0). */
export function codecIe(pt: i32): f64 {
  if (pt == PT_ILBC20) return 19;
  if (pt == PT_ILBC30) return 23;
  return 0;
}

/** Packet-loss robustness factor Bpl of the codec with payload type `pt`, with its concealment (G.711: 25.1). */
export function codecBpl(pt: i32): f64 {
  if (pt == PT_ILBC20) return 49.7;
  if (pt == PT_ILBC30) return 42.9;
  return 25.1;
}

/** Bars 0..4 from R by the G.107 Annex B user-satisfaction bands (≥ 90, 80, 70, 60). */
export function emodelBars(r: f64): i32 {
  if (r >= 90) return 4;
  if (r >= 80) return 3;
  if (r >= 70) return 2;
  if (r >= 60) return 1;
  return 0;
}

/** "[####]" style meter of `bars` out of 4. */
export function barsText(bars: i32): string {
  let s = "[";
  for (let i = 0; i < 4; i++) s += i < bars ? "#" : ".";
  return s + "]";
}
