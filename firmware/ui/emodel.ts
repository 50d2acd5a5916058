/**
 * Call quality from the E-model (ITU-T G.107 (06/2015) §7, simplified: default values for every parameter
 * except delay and packet loss), as LCD bars.
 *   R = 93.2 − Id − Ie,eff
 *   Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)                      (d: one-way mouth-to-ear delay, ms)
 *   Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)              (Ppl: packet loss, %; BurstR = 1)
 * G.711 values from ITU-T G.113 Appendix I: Ie = 0, Bpl = 4.3 without packet-loss concealment (v0 plays
 * silence for a lost frame), 25.1 with it.
 */
export function emodelR(delayMs: f64, lossPct: f64, ie: f64, bpl: f64): f64 {
  const d = delayMs < 0 ? 0 : delayMs;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = lossPct < 0 ? 0 : lossPct > 100 ? 100 : lossPct;
  const ieEff = ie + (95 - ie) * ppl / (ppl + bpl);
  const r = 93.2 - id - ieEff;
  return r < 0 ? 0 : r > 100 ? 100 : r;
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
