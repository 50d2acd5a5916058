/**
 * Measures the E-model codec impairments of iLBC (Ie, Bpl: ITU-T G.107 §7.5), which ITU-T G.113 Appendix I
 * does not list, and checks the method on G.711, which it does.
 *
 *   node --import tsx tools/bench-jitter-emodel.ts [--seconds 48]
 *
 * Method (an "equivalent impairment" measurement with an objective distortion measure instead of a
 * listening test):
 * 1. Instrument: Bark spectral distortion (BSD) of the degraded speech against the original: 32 ms Hann
 *    frames (16 ms hop), power in critical bands (Zwicker's Bark scale, 0–4 kHz), compressed to loudness
 *    (power^0.23), squared loudness difference over the reference's squared loudness, averaged over active
 *    speech frames; the degraded signal is first aligned (best cross-correlation lag).
 * 2. Calibration: conditions whose E-model impairment is known from G.107/G.113 —
 *    - MNRU (ITU-T P.810) noise at Q = 0…35 dB: impairment R(default) − R(qdu), qdu = 10^((37 − Q)/15)
 *      (G.107's Q = 37 − 15·log10 qdu: an MNRU at Q dB is Q dB of equivalent quantizing distortion);
 *    - G.711 with lost 20 ms frames replaced by silence (no PLC) at 1–20 % random loss: Ie,eff with
 *      G.113's Bpl = 4.3.
 *    A monotone map BSD → impairment is fitted (piecewise linear in log BSD over the sorted points).
 * 3. Measurement, through the phone's own playout path (the firmware jitter buffer in the harness, constant
 *    network delay so no time-stretching): iLBC 20 and 30 ms at 0 % loss give Ie; iLBC with its own PLC at
 *    1–20 % random loss gives Ie,eff(Ppl), and Bpl is the least-squares fit of G.107's formula. G.711 with
 *    our Appendix-I-style PLC is measured the same way (G.113: Bpl = 25.1) as a check of the method.
 * The speech is lena (audio-lena) looped to `--seconds`. Printed, and written to out/emodel-codecs.json.
 */
import * as fs from 'node:fs';
import lenaWav from 'audio-lena/wav';
import { decodeWav } from '../host-sim/audio-io.js';
import { Rng } from '../host-sim/net/index.js';
import { eModel, ieEff } from '../host-sim/emodel.js';
import { FRAME_SAMPLES, JitterHarness, runTrace, type CodecName } from './bench-jitter-lib.js';

const RATE = 8000;

// ---------------------------------------------------------------------------------- instrument

function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k), wi = Math.sin(ang * k);
        const ar = re[i + k + len / 2], ai = im[i + k + len / 2];
        const xr = ar * wr - ai * wi, xi = ar * wi + ai * wr;
        re[i + k + len / 2] = re[i + k] - xr; im[i + k + len / 2] = im[i + k] - xi;
        re[i + k] += xr; im[i + k] += xi;
      }
    }
  }
}

const N = 256;
const bark = (f: number) => 13 * Math.atan(0.00076 * f) + 3.5 * Math.atan((f / 7500) ** 2);
const BAND = Array.from({ length: N / 2 }, (_, k) => Math.min(17, Math.floor(bark((k * RATE) / N))));
const HANN = Float64Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));

function loudness(x: ArrayLike<number>, at: number): Float64Array {
  const re = new Float64Array(N), im = new Float64Array(N);
  for (let i = 0; i < N; i++) re[i] = (x[at + i] ?? 0) * HANN[i];
  fft(re, im);
  const band = new Float64Array(18);
  for (let k = 1; k < N / 2; k++) band[BAND[k]] += re[k] * re[k] + im[k] * im[k];
  for (let b = 0; b < 18; b++) band[b] = Math.pow(band[b] + 1, 0.23);
  return band;
}

/** Lag (0…maxLag) of deg against ref by cross-correlation. */
function lagOf(ref: Int16Array, deg: Int16Array, maxLag = 400): number {
  let best = 0, bestC = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let c = 0;
    for (let i = 0; i + lag < deg.length && i < ref.length; i += 3) c += ref[i] * deg[i + lag];
    if (c > bestC) { bestC = c; best = lag; }
  }
  return best;
}

/** Bark spectral distortion of deg against ref (aligned), over active frames. */
export function bsd(ref: Int16Array, deg: Int16Array): number {
  const lag = lagOf(ref, deg);
  let e = 0, n = 0;
  let maxE = 0;
  const energies: number[] = [];
  for (let at = 0; at + N < ref.length; at += N / 2) { let s = 0; for (let i = 0; i < N; i++) s += ref[at + i] ** 2; energies.push(s); maxE = Math.max(maxE, s); }
  let f = 0;
  for (let at = 0; at + N < ref.length && at + lag + N < deg.length; at += N / 2, f++) {
    if (energies[f] < maxE * 1e-3) continue; // speech-active frames only (within 30 dB of the loudest)
    const a = loudness(ref, at), b = loudness(deg, at + lag);
    let num = 0, den = 0;
    for (let k = 0; k < 18; k++) { num += (a[k] - b[k]) ** 2; den += a[k] ** 2; }
    e += num / den; n++;
  }
  return n ? e / n : 0;
}

// ---------------------------------------------------------------------------------- conditions

function mnru(x: Int16Array, qDb: number, rng: Rng): Int16Array {
  const g = Math.pow(10, -qDb / 20);
  return Int16Array.from(x, (v) => {
    const u1 = 1 - rng.float(), u2 = rng.float();
    const n = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(-32768, Math.min(32767, Math.round(v * (1 + g * n))));
  });
}

function lossPattern(frames: number, pct: number, seed: number): boolean[] {
  const rng = new Rng(seed).split(`loss:${pct}`);
  return Array.from({ length: frames }, (_, k) => k > 2 && rng.float() < pct / 100);
}

/** The signal as the phone plays it: encoded, sent with constant delay, some frames lost, through the jitter buffer. */
function throughPhone(hx: JitterHarness, codec: CodecName, x: Int16Array, lost: boolean[]): Int16Array {
  const frame = FRAME_SAMPLES[codec];
  const frames = Math.floor(x.length / frame);
  const payloads = hx.encodeFrames(codec, x, frames);
  const trace = Array.from({ length: frames }, (_, k) => {
    const t = 1_000_000 + ((k + 1) * frame * 1e6) / RATE;
    return { sendUs: t, arrivalUs: lost[k] ? null : t + 20_000 };
  });
  const r = runTrace(hx, { kind: 'adaptive' }, { codec, trace, payloads, keepAudio: true });
  return r.audio!;
}

function leastSquaresBpl(Ie: number, pts: { ppl: number; ieEff: number }[]): number {
  let best = 1, bestErr = Infinity;
  for (let bpl = 1; bpl <= 80; bpl += 0.1) {
    const err = pts.reduce((s, p) => s + (ieEff(Ie, bpl, p.ppl) - p.ieEff) ** 2, 0);
    if (err < bestErr) { bestErr = err; best = bpl; }
  }
  return Math.round(best * 10) / 10;
}

function main(): void {
  const secIdx = process.argv.indexOf('--seconds');
  const seconds = secIdx > 0 ? Number(process.argv[secIdx + 1]) : 48;
  const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), RATE).pcm;
  const x = Int16Array.from({ length: seconds * RATE }, (_, i) => lena[i % lena.length]);
  const hx = new JitterHarness();
  const R0 = eModel().R;
  // calibration points (BSD, impairment)
  const cal: { bsd: number; imp: number; what: string }[] = [];
  const rng = new Rng(5);
  for (const q of [0, 5, 10, 15, 20, 25, 30, 35]) {
    const qdu = Math.pow(10, (37 - q) / 15);
    cal.push({ bsd: bsd(x, mnru(x, q, rng)), imp: R0 - eModel({ qdu }).R, what: `MNRU Q=${q} dB` });
  }
  const g711 = throughPhone(hx, 'pcmu', x, lossPattern(Math.floor(x.length / 160), 0, 1));
  const lag711 = lagOf(x, g711);
  for (const p of [1, 2, 4, 8, 15, 25]) {
    const lost = lossPattern(Math.floor(x.length / 160), p, 7);
    const z = Int16Array.from(g711);
    lost.forEach((l, k) => { if (l) z.fill(0, lag711 + k * 160, lag711 + (k + 1) * 160); });
    cal.push({ bsd: bsd(x, z), imp: ieEff(0, 4.3, p), what: `G.711 zero-inserted ${p} %` });
  }
  cal.sort((a, b) => a.bsd - b.bsd);
  // one monotone map per distortion family (the instrument weighs noise and dropouts differently):
  // piecewise linear in log BSD over the family's points (running maximum keeps it monotone)
  const mapOf = (family: string) => {
    const pts: { l: number; imp: number }[] = [];
    for (const c of cal.filter((c) => c.what.startsWith(family))) pts.push({ l: Math.log(c.bsd), imp: Math.max(c.imp, pts.length ? pts[pts.length - 1].imp : 0) });
    return (bv: number): number => {
      const l = Math.log(bv);
      if (l <= pts[0].l) return Math.max(0, pts[0].imp * (1 - (pts[0].l - l)));
      for (let i = 1; i < pts.length; i++) if (l <= pts[i].l) return pts[i - 1].imp + ((pts[i].imp - pts[i - 1].imp) * (l - pts[i - 1].l)) / (pts[i].l - pts[i - 1].l || 1);
      return pts[pts.length - 1].imp;
    };
  };
  const codingImpairment = mapOf('MNRU');
  const lossImpairment = mapOf('G.711');
  const results: Record<string, unknown> = {};
  const L: string[] = ['calibration (BSD → impairment):', ...cal.map((c) => `  ${c.what.padEnd(26)} BSD ${c.bsd.toFixed(4)}  impairment ${c.imp.toFixed(1)}`)];
  for (const codec of ['ilbc20', 'ilbc30', 'pcmu'] as CodecName[]) {
    const frames = Math.floor(x.length / FRAME_SAMPLES[codec]);
    const clean = bsd(x, throughPhone(hx, codec, x, lossPattern(frames, 0, 1)));
    const Ie = Math.round(codingImpairment(clean) * 10) / 10;
    const loss: { ppl: number; ieEff: number; bsd: number }[] = [];
    for (const p of [1, 2, 5, 10, 20]) {
      const b = bsd(x, throughPhone(hx, codec, x, lossPattern(frames, p, 11)));
      // Ie,eff = coding part + loss part (the loss family is calibrated on G.711, whose Ie is 0)
      const ie0 = codec === 'pcmu' ? 0 : Ie;
      loss.push({ ppl: p, ieEff: Math.round((ie0 + lossImpairment(Math.max(1e-6, b - clean)) * (95 - ie0) / 95) * 10) / 10, bsd: Math.round(b * 1e5) / 1e5 });
    }
    const Bpl = leastSquaresBpl(codec === 'pcmu' ? 0 : Ie, loss);
    results[codec] = { Ie: codec === 'pcmu' ? 0 : Ie, IeMeasured: Ie, Bpl, cleanBsd: Math.round(clean * 1e5) / 1e5, loss };
    L.push(`${codec}: Ie ${Ie} (clean BSD ${clean.toFixed(4)}), Bpl ${Bpl} from Ie,eff ${loss.map((l) => `${l.ppl}%→${l.ieEff}`).join(', ')}` +
      (codec === 'pcmu' ? ` — G.113 App. I says Ie 0, Bpl 25.1 for G.711 with App. I PLC` : ''));
  }
  const g = results.pcmu as { Bpl: number };
  const valid = Math.abs(g.Bpl - 25.1) / 25.1 < 0.3;
  L.push(valid
    ? `check: G.711 with our PLC measures Bpl ${g.Bpl} against G.113's 25.1 — the instrument is usable`
    : `check FAILED: G.711 with our PLC measures Bpl ${g.Bpl}, G.113 App. I says 25.1 — this simple instrument does not rank concealment like listeners do, so its iLBC values are not used (host-sim/emodel.ts keeps provisional ones)`);
  results.instrumentValid = valid;
  fs.mkdirSync('out', { recursive: true });
  fs.writeFileSync('out/emodel-codecs.json', JSON.stringify({ seconds, calibration: cal, results }, null, 2) + '\n');
  process.stdout.write(L.join('\n') + '\nwrote out/emodel-codecs.json\n');
}

main();
