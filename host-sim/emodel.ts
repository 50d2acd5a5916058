/**
 * ITU-T G.107 E-model (06/2015 edition, §7 and Annex B): the transmission rating R of a call and its
 * MOS estimate, written from the Recommendation's formulas. All inputs default to G.107 Table 3's
 * default values, with which R = 93.2.
 *
 *   R = Ro − Is − Id − Ie,eff + A
 *
 * Codec impairments (Ie, Bpl) come from ITU-T G.113 Appendix I for G.711; iLBC's were measured
 * (tools/bench-jitter-emodel.ts; see CODEC_IMPAIRMENTS below).
 * Loss burstiness enters through BurstR (G.107 §7.5), estimated from the observed loss pattern as a
 * two-state Markov chain: BurstR = 1/(p + q).
 */

export interface EModelParams {
  /** Send / receive loudness ratings, dB (defaults 8, 2). */
  SLR: number; RLR: number;
  /** Sidetone masking rating, listener sidetone rating, dB (15, 18). */
  STMR: number; LSTR: number;
  /** D-factors of the handsets (3, 3). */
  Ds: number; Dr: number;
  /** Talker echo loudness rating, weighted echo path loss, dB (65, 110). */
  TELR: number; WEPL: number;
  /** Mean one-way delay of the echo path, round-trip delay in a 4-wire loop, absolute delay, ms (0, 0, 0). */
  T: number; Tr: number; Ta: number;
  /** Quantizing distortion units (1). */
  qdu: number;
  /** Equipment impairment factor, packet-loss robustness factor (0, 4.3). */
  Ie: number; Bpl: number;
  /** Random packet-loss probability, % (0), and burst ratio (1 = random loss). */
  Ppl: number; BurstR: number;
  /** Circuit noise at the 0 dBr point (dBm0p), noise floor at the receive side (dBmp) (−70, −64). */
  Nc: number; Nfor: number;
  /** Room noise at the send / receive side, dB(A) (35, 35). */
  Ps: number; Pr: number;
  /** Advantage factor (0). */
  A: number;
  /** Delay sensitivity: minimum perceivable delay mT (100 ms) and sensitivity sT (1). */
  mT: number; sT: number;
}

/** G.107 Table 3 default values. */
export const EMODEL_DEFAULTS: Readonly<EModelParams> = Object.freeze({
  SLR: 8, RLR: 2, STMR: 15, LSTR: 18, Ds: 3, Dr: 3, TELR: 65, WEPL: 110, T: 0, Tr: 0, Ta: 0, qdu: 1,
  Ie: 0, Bpl: 4.3, Ppl: 0, BurstR: 1, Nc: -70, Nfor: -64, Ps: 35, Pr: 35, A: 0, mT: 100, sT: 1,
});

export interface EModelResult {
  R: number;
  Ro: number; Is: number; Id: number; IeEff: number;
  /** Parts of Id: talker echo, listener echo, absolute delay. */
  Idte: number; Idle: number; Idd: number;
  mos: number;
}

const lg = Math.log10;

/** R and its parts for the given parameters (missing ones take the G.107 defaults). */
export function eModel(p: Partial<EModelParams> = {}): EModelResult {
  const q: EModelParams = { ...EMODEL_DEFAULTS, ...p };
  const OLR = q.SLR + q.RLR;
  // §7.2 basic signal-to-noise ratio
  const Pre = q.Pr + 10 * lg(1 + Math.pow(10, (10 - q.LSTR) / 10));
  const Nos = q.Ps - q.SLR - q.Ds - 100 + 0.004 * (q.Ps - OLR - q.Ds - 14) ** 2;
  const Nor = q.RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2;
  const Nfo = q.Nfor + q.RLR;
  const No = 10 * lg(10 ** (q.Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10));
  const Ro = 15 - 1.5 * (q.SLR + No);
  // §7.3 simultaneous impairments
  const Xolr = OLR + 0.2 * (64 + No - q.RLR);
  const Iolr = 20 * (Math.pow(1 + (Xolr / 8) ** 8, 1 / 8) - Xolr / 8);
  const STMRo = -10 * lg(10 ** (-q.STMR / 10) + Math.exp(-q.T / 4) * 10 ** (-q.TELR / 10));
  const Ist = 12 * Math.pow(1 + ((STMRo - 13) / 6) ** 8, 1 / 8)
    - 28 * Math.pow(1 + ((STMRo + 1) / 19.4) ** 35, 1 / 35)
    - 13 * Math.pow(1 + ((STMRo - 3) / 33) ** 13, 1 / 13) + 29;
  const Q = 37 - 15 * lg(q.qdu);
  const G = 1.07 + 0.258 * Q + 0.0602 * Q * Q;
  const Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9;
  const Z = 46 / 30 - G / 40;
  const Iq = 15 * lg(1 + 10 ** Y + 10 ** Z);
  const Is = Iolr + Ist + Iq;
  // §7.4 delay impairments
  const Roe = -1.5 * (No - q.RLR);
  let TERV = q.TELR - 40 * lg((1 + q.T / 10) / (1 + q.T / 150)) + 6 * Math.exp(-0.3 * q.T * q.T);
  if (q.STMR < 9) TERV += Ist / 2;
  const Re = 80 + 2.5 * (TERV - 14);
  const Idte = ((Roe - Re) / 2 + Math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-q.T));
  const Rle = 10.5 * (q.WEPL + 7) * Math.pow(q.Tr + 1, -0.25);
  const Idle = (Ro - Rle) / 2 + Math.sqrt((Ro - Rle) ** 2 / 4 + 169);
  let Idd = 0;
  if (q.Ta > q.mT) {
    const X = lg(q.Ta / q.mT) / lg(2);
    const e = 6 * q.sT;
    Idd = 25 * (Math.pow(1 + X ** e, 1 / e) - 3 * Math.pow(1 + (X / 3) ** e, 1 / e) + 2);
  }
  const Id = Idte + Idle + Idd;
  // §7.5 equipment impairment with packet loss
  const IeEff = ieEff(q.Ie, q.Bpl, q.Ppl, q.BurstR);
  const R = Ro - Is - Id - IeEff + q.A;
  return { R, Ro, Is, Id, IeEff, Idte, Idle, Idd, mos: rToMos(R) };
}

/** G.107 §7.5: Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl); Ppl in %. */
export function ieEff(Ie: number, Bpl: number, Ppl: number, BurstR = 1): number {
  if (!(Ppl > 0)) return Ie;
  return Ie + ((95 - Ie) * Ppl) / (Ppl / BurstR + Bpl);
}

/**
 * G.107 Annex B: MOS (conversational quality estimate) from R. The cubic dips slightly below 1 for
 * 0 < R < 6.5; the result is kept in the scale's range [1, 4.5].
 */
export function rToMos(R: number): number {
  if (R <= 0) return 1;
  if (R >= 100) return 4.5;
  return Math.max(1, 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6);
}

/**
 * BurstR from a loss pattern (true = lost), G.107 §7.5: fit a two-state Markov chain,
 * p = P(lost | previous received), q = P(received | previous lost), BurstR = 1/(p + q).
 * 1 for random loss; > 1 when losses cluster. Returns 1 when there is no loss (or no transition).
 */
export function burstRatio(lost: ArrayLike<boolean>): number {
  let n0 = 0, n1 = 0, t01 = 0, t10 = 0;
  for (let i = 1; i < lost.length; i++) {
    if (lost[i - 1]) { n1++; if (!lost[i]) t10++; } else { n0++; if (lost[i]) t01++; }
  }
  if (n1 === 0 || n0 === 0) return 1;
  const p = t01 / n0, q = t10 / n1;
  return p + q > 0 ? 1 / (p + q) : 1;
}

/** Codec impairment values: Ie and Bpl (G.107 §7.5) with the codec's own (or our generic) PLC. */
export interface CodecImpairment { Ie: number; Bpl: number; source: string }

/**
 * - G.711 (PCMU/PCMA): ITU-T G.113 Appendix I — Ie = 0; Bpl = 25.1 with packet-loss concealment
 *   (G.711 Appendix I; ours is written after it), 4.3 without.
 * - iLBC: G.113 Appendix I has no iLBC entry; measured by tools/bench-jitter-emodel.ts in the manner of ITU-T
 *   P.834 (`node --import tsx tools/bench-jitter-emodel.ts`, 48 s of speech, out/emodel-codecs.json): a Bark
 *   spectral distortion instrument calibrated on reference codecs with G.113 Ie values (G.711, G.726
 *   40/32/24/16, G.723.1 6.3, GSM-FR via ffmpeg) gives Ie 19 (20 ms) / 23 (30 ms) — ± 16 (leave-one-out RMS
 *   of the calibration; it ranks the references with Spearman ρ 0.86); the loss part calibrated on G.711 with
 *   Appendix-I-style PLC (Bpl 25.1) gives Bpl 49.7 / 42.9 (iLBC's PLC degrades less per lost frame than
 *   G.711's; the instrument compresses Bpl toward the reference — silence insertion measures 17.2 where G.113
 *   says 4.3 — so these are if anything low). Rerun the tool after a codec or PLC change and copy its values
 *   here and into firmware/ui/emodel.ts.
 */
export const CODEC_IMPAIRMENTS: Record<string, CodecImpairment> = {
  pcmu: { Ie: 0, Bpl: 25.1, source: 'ITU-T G.113 App. I (G.711 with App. I PLC)' },
  pcma: { Ie: 0, Bpl: 25.1, source: 'ITU-T G.113 App. I (G.711 with App. I PLC)' },
  pcmuNoPlc: { Ie: 0, Bpl: 4.3, source: 'ITU-T G.113 App. I (G.711 without PLC)' },
  ilbc20: { Ie: 19, Bpl: 49.7, source: 'measured: tools/bench-jitter-emodel.ts (P.834-style, Ie ± 16)' },
  ilbc30: { Ie: 23, Bpl: 42.9, source: 'measured: tools/bench-jitter-emodel.ts (P.834-style, Ie ± 16)' },
};

export interface CallQualityInput {
  /** Mean mouth-to-ear delay, ms (Ta; T = Ta and Tr = 2·Ta: an echo-cancelled VoIP path). */
  mouthToEarMs: number;
  codec: string;
  /** Effective packet loss (network + late + concealed time), %. */
  pplPct: number;
  burstR?: number;
}

export interface CallQuality {
  R: number; mos: number; Ie: number; Bpl: number; IeEff: number; Id: number;
  Ta: number; Ppl: number; BurstR: number;
}

/** R and MOS of one direction of a call: default G.107 values except delay, codec and loss. */
export function callQuality(i: CallQualityInput): CallQuality {
  const ci = CODEC_IMPAIRMENTS[i.codec] ?? CODEC_IMPAIRMENTS.pcmu;
  const Ta = Math.max(0, i.mouthToEarMs);
  const BurstR = Math.max(1, i.burstR ?? 1);
  const r = eModel({ Ta, T: Ta, Tr: 2 * Ta, Ie: ci.Ie, Bpl: ci.Bpl, Ppl: Math.max(0, i.pplPct), BurstR });
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    R: round(r.R), mos: round(r.mos), Ie: ci.Ie, Bpl: ci.Bpl, IeEff: round(r.IeEff), Id: round(r.Id),
    Ta: round(Ta, 1), Ppl: round(i.pplPct, 3), BurstR: round(BurstR),
  };
}
