/**
 * Measures the E-model codec impairments of iLBC (Ie and Bpl: ITU-T G.107 §7.5), which ITU-T G.113 Appendix I
 * does not list, in the manner of ITU-T P.834 (equipment impairment factors from an instrumental model):
 * an objective distortion measure is calibrated on reference conditions whose Ie / Bpl G.113 Appendix I does
 * list, and the codec under test is placed on that calibration.
 *
 *   node --import tsx tools/bench-jitter-emodel.ts [--seconds 48]      (needs ffmpeg on PATH)
 *
 * 1. Instrument: Bark spectral distortion (BSD) of the degraded speech against the original: 32 ms Hann
 *    frames (16 ms hop), power in critical bands (Zwicker's Bark scale, 0–4 kHz), compressed to loudness
 *    (power^0.23), squared loudness difference over the reference's squared loudness, averaged over active
 *    speech frames (within 30 dB of the loudest); the degraded signal is first aligned (best cross-correlation
 *    lag). Not P.862 (PESQ): no such instrument is available to the project; BSD is its simplest ancestor.
 * 2. Ie — reference codecs with G.113 App. I values, each coding the same speech (ffmpeg's encoders and
 *    decoders): G.711 (Ie 0, the firmware's), G.726 at 40/32/24/16 kbit/s (2/7/25/50), G.723.1 at 6.3 kbit/s
 *    (15), GSM-FR (20). Ie is fitted as a monotone (isotonic, pool-adjacent-violators) function of log BSD,
 *    linearly interpolated; iLBC 20 / 30 ms (the firmware's codec, error-free) is read off it. As P.834 uses
 *    codec references rather than MNRU (the noise of an MNRU does not sound like codec distortion), so do we.
 *    Checks: the instrument must rank the references like G.113 does (Spearman ρ ≥ 0.8 between BSD and Ie);
 *    leave-one-out — each reference's Ie predicted from the others — gives the RMS error, reported as the
 *    uncertainty of the iLBC Ie (BSD weighs parametric codecs, G.723.1 and GSM-FR, more severely than
 *    waveform coders such as G.726, so the spread is wide).
 * 3. Bpl — the loss part of the impairment, q(Ppl) = (Ie,eff − Ie)/(95 − Ie) = Ppl/(Ppl + Bpl) (G.107 eq. 7-29
 *    with BurstR = 1), is measured from the BSD increase over the codec's own error-free output, ΔBSD(Ppl).
 *    The map ΔBSD → q is calibrated on the reference of the same kind of degradation: G.711 with packet-loss
 *    concealment as in G.711 Appendix I (the firmware's generic PLC), G.113 Bpl = 25.1, at 1–20 % random loss.
 *    iLBC with its own PLC (RFC 3951 §4.5) is run at the same loss rates and Bpl is the least-squares fit of
 *    Ppl/(Ppl + Bpl) to its q values. Every codec plays through the firmware's buffer set to a fixed 60 ms
 *    delay (no time-scale modification: G.113's values are for a codec and its PLC, not for a jitter buffer),
 *    lost frames concealed by the codec's PLC.
 *    Check: G.711 with lost frames replaced by silence (G.113: Bpl 4.3) must measure below the reference,
 *    and the fit residual of iLBC's points is reported. Known limit: this instrument separates silence from
 *    concealment less than listeners do (zero insertion measures a Bpl well above 4.3), so Bpl values far
 *    from the reference's 25.1 are compressed toward it; iLBC's Bpl is a position relative to G.711+PLC.
 * The speech is lena (audio-lena) looped to `--seconds`; random loss patterns are seeded (reproducible).
 * Printed, and written to out/emodel-codecs.json; host-sim/emodel.ts and firmware/ui/emodel.ts carry the
 * values it printed (rounded to 0.5 for Ie, 0.1 for Bpl).
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import lenaWav from 'audio-lena/wav';
import { decodeWav } from '../host-sim/audio-io.js';
import { Rng } from '../host-sim/net/index.js';
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
function lagOf(ref: Int16Array, deg: Int16Array, maxLag = 1200): number {
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

/** G.113 Appendix I (Table I.1) equipment impairment factors of the reference codecs. */
const REFERENCES: { name: string; ie: number; args: string[]; fmt?: string }[] = [
  { name: 'G.726 40 kbit/s', ie: 2, args: ['-c:a', 'g726', '-b:a', '40k'] },
  { name: 'G.726 32 kbit/s', ie: 7, args: ['-c:a', 'g726', '-b:a', '32k'] },
  { name: 'G.726 24 kbit/s', ie: 25, args: ['-c:a', 'g726', '-b:a', '24k'] },
  { name: 'G.726 16 kbit/s', ie: 50, args: ['-c:a', 'g726', '-b:a', '16k'] },
  { name: 'G.723.1 6.3 kbit/s', ie: 15, args: ['-c:a', 'g723_1', '-b:a', '6300'] },
  { name: 'GSM-FR 13 kbit/s', ie: 20, args: ['-c:a', 'libgsm'], fmt: 'gsm' },
];
/** G.113 Appendix I Bpl of G.711 with Appendix I PLC, and without PLC (random loss). */
const BPL_G711_PLC = 25.1;
const BPL_G711_NO_PLC = 4.3;
const LOSS_PCT = [1, 2, 5, 10, 20];

/** Encodes and decodes `x` with ffmpeg (Matroska, or `fmt`, in between). */
function ffmpegCodec(x: Int16Array, args: string[], fmt = 'matroska'): Int16Array {
  const raw = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const q = ['-hide_banner', '-loglevel', 'error'];
  const enc = execFileSync('ffmpeg', [...q, '-f', 's16le', '-ar', '8000', '-ac', '1', '-i', 'pipe:0', ...args, '-f', fmt, 'pipe:1'], { input: raw, maxBuffer: 1 << 28 });
  const dec = execFileSync('ffmpeg', [...q, '-f', fmt, '-i', 'pipe:0', '-f', 's16le', '-ar', '8000', '-ac', '1', 'pipe:1'], { input: enc, maxBuffer: 1 << 28 });
  return new Int16Array(dec.buffer.slice(dec.byteOffset, dec.byteOffset + (dec.byteLength & ~1)));
}

function lossPattern(frames: number, pct: number, seed: number): boolean[] {
  const rng = new Rng(seed).split(`loss:${pct}`);
  return Array.from({ length: frames }, (_, k) => k > 2 && rng.float() < pct / 100);
}

/** The codec as the phone plays it: encoded, constant network delay, some frames lost and concealed, fixed 60 ms buffer. */
function throughPhone(hx: JitterHarness, codec: CodecName, x: Int16Array, lost: boolean[]): Int16Array {
  const frame = FRAME_SAMPLES[codec];
  const frames = Math.floor(x.length / frame);
  const payloads = hx.encodeFrames(codec, x, frames);
  const trace = Array.from({ length: frames }, (_, k) => {
    const t = 1_000_000 + ((k + 1) * frame * 1e6) / RATE;
    return { sendUs: t, arrivalUs: lost[k] ? null : t + 20_000 };
  });
  return runTrace(hx, { kind: 60 }, { codec, trace, payloads, keepAudio: true }).audio!;
}

/** Isotonic (non-decreasing) fit of y over sorted x by pool-adjacent-violators; returns a piecewise-linear map. */
function isotonicMap(points: { x: number; y: number }[]): (x: number) => number {
  const pts = [...points].sort((a, b) => a.x - b.x);
  const blocks: { x: number; y: number; w: number }[] = [];
  for (const p of pts) {
    blocks.push({ x: p.x, y: p.y, w: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].y > blocks[blocks.length - 1].y) {
      const b = blocks.pop()!, a = blocks.pop()!;
      blocks.push({ x: (a.x * a.w + b.x * b.w) / (a.w + b.w), y: (a.y * a.w + b.y * b.w) / (a.w + b.w), w: a.w + b.w });
    }
  }
  return (x: number): number => {
    if (blocks.length === 1 || x <= blocks[0].x) {
      if (blocks.length === 1) return blocks[0].y;
      // below the first point: extend the first segment's slope, not below 0
      const s = (blocks[1].y - blocks[0].y) / (blocks[1].x - blocks[0].x || 1);
      return Math.max(0, blocks[0].y - s * (blocks[0].x - x));
    }
    for (let i = 1; i < blocks.length; i++) {
      if (x <= blocks[i].x) return blocks[i - 1].y + ((blocks[i].y - blocks[i - 1].y) * (x - blocks[i - 1].x)) / (blocks[i].x - blocks[i - 1].x || 1);
    }
    const n = blocks.length;
    const s = (blocks[n - 1].y - blocks[n - 2].y) / (blocks[n - 1].x - blocks[n - 2].x || 1);
    return blocks[n - 1].y + s * (x - blocks[n - 1].x);
  };
}

/** Least-squares Bpl of q(Ppl) = Ppl/(Ppl + Bpl) (G.107 §7.5, BurstR = 1), Bpl in 1…80 by 0.1; and the RMS residual. */
function fitBpl(pts: { ppl: number; q: number }[]): { bpl: number; rms: number } {
  let best = 1, bestErr = Infinity;
  for (let bpl = 1; bpl <= 80.0001; bpl += 0.1) {
    const err = pts.reduce((s, p) => s + (p.ppl / (p.ppl + bpl) - p.q) ** 2, 0);
    if (err < bestErr) { bestErr = err; best = bpl; }
  }
  return { bpl: Math.round(best * 10) / 10, rms: Math.sqrt(bestErr / pts.length) };
}

/** Spearman rank correlation (average ranks for ties). */
function spearman(a: number[], b: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b), n = a.length;
  const ma = ra.reduce((s, x) => s + x, 0) / n, mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return num / Math.sqrt(da * db);
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

function main(): void {
  const secIdx = process.argv.indexOf('--seconds');
  const seconds = secIdx > 0 ? Number(process.argv[secIdx + 1]) : 48;
  if (!(seconds >= 4 && seconds <= 600)) { process.stderr.write('bench-jitter-emodel: --seconds must be 4…600\n'); process.exit(1); }
  try { execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' }); }
  catch { process.stderr.write('bench-jitter-emodel: ffmpeg not found on PATH (needed for the reference codecs)\n'); process.exit(1); }
  const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), RATE).pcm;
  const x = Int16Array.from({ length: seconds * RATE }, (_, i) => lena[i % lena.length]);
  const hx = new JitterHarness();
  const L: string[] = [];

  // ---- Ie: reference codecs
  const refs: { name: string; ie: number; bsd: number }[] = [];
  const g711Clean = throughPhone(hx, 'pcmu', x, lossPattern(Math.floor(x.length / 160), 0, 1));
  refs.push({ name: 'G.711 (firmware)', ie: 0, bsd: bsd(x, g711Clean) });
  for (const r of REFERENCES) refs.push({ name: r.name, ie: r.ie, bsd: bsd(x, ffmpegCodec(x, r.args, r.fmt)) });
  const iePoints = refs.map((r) => ({ x: Math.log(r.bsd), y: r.ie }));
  const ieOf = isotonicMap(iePoints);
  L.push('Ie calibration (reference codecs, G.113 App. I Ie → measured BSD; leave-one-out prediction):');
  let looSq = 0;
  const loo = refs.map((r, i) => {
    const pred = isotonicMap(iePoints.filter((_, j) => j !== i))(Math.log(r.bsd));
    looSq += (pred - r.ie) ** 2;
    L.push(`  ${r.name.padEnd(20)} Ie ${String(r.ie).padStart(2)}  BSD ${r.bsd.toFixed(5)}  leave-one-out ${pred.toFixed(1)}`);
    return { name: r.name, ie: r.ie, bsd: r4(r.bsd), predictedLeaveOneOut: r1(pred) };
  });
  const looRms = Math.sqrt(looSq / refs.length);
  const rho = spearman(refs.map((r) => r.bsd), refs.map((r) => r.ie));
  L.push(`  rank correlation BSD–Ie (Spearman) ${rho.toFixed(2)}; leave-one-out RMS error ${looRms.toFixed(1)} Ie points (the Ie uncertainty)`);

  // ---- Bpl: loss calibration on G.711 + App.-I-style PLC
  const frames711 = Math.floor(x.length / 160);
  const clean711 = bsd(x, g711Clean);
  const qPoints: { x: number; y: number }[] = [{ x: Math.log(1e-6), y: 0 }];
  const calLoss: { ppl: number; dBsd: number; q: number }[] = [];
  for (const p of LOSS_PCT) {
    const d = Math.max(1e-6, bsd(x, throughPhone(hx, 'pcmu', x, lossPattern(frames711, p, 11))) - clean711);
    const q = p / (p + BPL_G711_PLC);
    qPoints.push({ x: Math.log(d), y: q });
    calLoss.push({ ppl: p, dBsd: r4(d), q: r4(q) });
  }
  const qOf = isotonicMap(qPoints);
  L.push(`loss calibration (G.711 + PLC, G.113 Bpl ${BPL_G711_PLC}): ` + calLoss.map((c) => `${c.ppl}% ΔBSD ${c.dBsd.toFixed(4)}`).join(', '));

  // check: zero insertion (no PLC) through the same map
  const lag711 = lagOf(x, g711Clean);
  const zi: { ppl: number; q: number }[] = [];
  for (const p of LOSS_PCT) {
    const lost = lossPattern(frames711, p, 11);
    const z = Int16Array.from(g711Clean);
    lost.forEach((l, k) => { if (l) z.fill(0, lag711 + k * 160, lag711 + (k + 1) * 160); });
    zi.push({ ppl: p, q: Math.min(1, qOf(Math.log(Math.max(1e-6, bsd(x, z) - clean711)))) });
  }
  const ziFit = fitBpl(zi);
  L.push(`check: G.711 without PLC (silence) measures Bpl ${ziFit.bpl} (G.113: ${BPL_G711_NO_PLC}) — ` +
    (ziFit.bpl < BPL_G711_PLC ? 'ranked below the PLC reference, as it must be' : 'NOT below the PLC reference: the instrument cannot rank concealment'));

  // ---- the codecs under test
  const results: Record<string, unknown> = {};
  for (const codec of ['ilbc20', 'ilbc30'] as CodecName[]) {
    const frames = Math.floor(x.length / FRAME_SAMPLES[codec]);
    const clean = bsd(x, throughPhone(hx, codec, x, lossPattern(frames, 0, 1)));
    const ie = Math.max(0, ieOf(Math.log(clean)));
    const pts: { ppl: number; q: number; dBsd: number }[] = [];
    for (const p of LOSS_PCT) {
      const d = Math.max(1e-6, bsd(x, throughPhone(hx, codec, x, lossPattern(frames, p, 11))) - clean);
      pts.push({ ppl: p, q: r4(Math.min(1, qOf(Math.log(d)))), dBsd: r4(d) });
    }
    const fit = fitBpl(pts);
    results[codec] = { Ie: Math.round(ie * 2) / 2, IeExact: r1(ie), Bpl: fit.bpl, fitRms: r4(fit.rms), cleanBsd: r4(clean), loss: pts };
    L.push(`${codec}: Ie ${r1(ie)} (clean BSD ${clean.toFixed(5)}), Bpl ${fit.bpl} (fit RMS ${fit.rms.toFixed(3)} in q) from ` +
      pts.map((p) => `${p.ppl}%→q ${p.q.toFixed(3)}`).join(', '));
  }
  const valid = rho >= 0.8 && ziFit.bpl < BPL_G711_PLC;
  L.push(valid ? `instrument checks passed (reference ranking ρ ${rho.toFixed(2)} ≥ 0.8, silence ranked below concealment); Ie ± ${looRms.toFixed(0)}`
    : 'instrument checks FAILED: do not use these values');
  fs.mkdirSync('out', { recursive: true });
  fs.writeFileSync('out/emodel-codecs.json', JSON.stringify({
    seconds, method: 'P.834-style: BSD calibrated on G.113 App. I reference codecs (Ie) and on G.711+PLC (Bpl 25.1)',
    ieCalibration: loo, spearmanBsdIe: Math.round(rho * 100) / 100, leaveOneOutRms: r1(looRms), lossCalibration: calLoss,
    checkZeroInsertion: { bplMeasured: ziFit.bpl, bplG113: BPL_G711_NO_PLC, points: zi.map((z) => ({ ppl: z.ppl, q: r4(z.q) })) },
    results, instrumentValid: valid,
  }, null, 2) + '\n');
  process.stdout.write(L.join('\n') + '\nwrote out/emodel-codecs.json\n');
  if (!valid) process.exitCode = 2;
}

main();
