/**
 * WAV in/out (the wavefile library) and the speech-quality measurement of the call report.
 */
import * as fs from 'node:fs';
import * as wavefileNs from 'wavefile';
// wavefile is CommonJS: its class is a named export under ESM and under `default` through some loaders.
const WaveFile: any = (wavefileNs as any).WaveFile ?? (wavefileNs as any).default?.WaveFile;

export interface LoadedAudio { pcm: Int16Array; sourceRateHz: number; resampled: boolean; channels: number }

/** Decodes a WAV (any PCM/float format wavefile reads) to mono 16-bit at `rateHz`. Throws with a clear message. */
export function decodeWav(bytes: Uint8Array, rateHz: number): LoadedAudio {
  let wav: any;
  try { wav = new WaveFile(bytes); } catch (e) { throw new Error(`not a WAV file (${(e as Error).message})`); }
  const channels: number = wav.fmt.numChannels;
  const sourceRateHz: number = wav.fmt.sampleRate;
  if (!channels || !sourceRateHz) throw new Error('WAV has no audio format chunk');
  wav.toBitDepth('32f');
  let resampled = false;
  if (sourceRateHz !== rateHz) { wav.toSampleRate(rateHz, { method: 'sinc', LPF: true }); resampled = true; }
  const samples = wav.getSamples(false, Float64Array) as Float64Array | Float64Array[];
  const chans = Array.isArray(samples) ? samples : [samples];
  const n = chans[0].length;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const c of chans) s += c[i];
    s = (s / chans.length) * 32767;
    pcm[i] = Math.max(-32768, Math.min(32767, Math.round(s)));
  }
  return { pcm, sourceRateHz, resampled, channels };
}

export function readWavFile(path: string, rateHz: number): LoadedAudio {
  if (!fs.existsSync(path)) throw new Error(`input file not found: ${path}`);
  return decodeWav(fs.readFileSync(path), rateHz);
}

/** Writes mono 16-bit PCM as a WAV file. */
export function writeWav(path: string, pcm: Int16Array | number[], rateHz: number): void {
  const wav = new WaveFile();
  wav.fromScratch(1, rateHz, '16', Array.from(pcm));
  fs.writeFileSync(path, wav.toBuffer());
}

export interface SnrResult {
  /** Signal-to-noise ratio of `out` against `ref` after delay alignment, dB. */
  snrDb: number;
  /** Delay of `out` relative to `ref`, samples (out[i + delay] ≈ ref[i]). */
  delaySamples: number;
  /** Samples compared. */
  compared: number;
}

/**
 * Aligns `out` to `ref` by cross-correlation (search 0..maxDelay samples, on the loudest 2 s of ref), then
 * SNR = 10·log10(Σref² / Σ(ref − out)²) over the overlap.
 */
export function alignedSnr(ref: ArrayLike<number>, out: ArrayLike<number>, rateHz: number, maxDelaySamples = rateHz): SnrResult {
  const win = Math.min(2 * rateHz, ref.length);
  // Loudest window of ref (by energy, in 10 ms steps).
  let best = 0, bestE = -1;
  const step = rateHz / 100;
  for (let s = 0; s + win <= ref.length; s += step) {
    let e = 0;
    for (let i = s; i < s + win; i += 4) e += ref[i] * ref[i];
    if (e > bestE) { bestE = e; best = s; }
  }
  let bestLag = 0, bestC = -Infinity;
  for (let lag = 0; lag <= maxDelaySamples; lag++) {
    if (best + lag + win > out.length) break;
    let c = 0;
    for (let i = 0; i < win; i += 2) c += ref[best + i] * out[best + lag + i];
    if (c > bestC) { bestC = c; bestLag = lag; }
  }
  let sig = 0, noise = 0, n = 0;
  for (let i = 0; i < ref.length && i + bestLag < out.length; i++) {
    const d = ref[i] - out[i + bestLag];
    sig += ref[i] * ref[i]; noise += d * d; n++;
  }
  const snrDb = noise === 0 ? 99 : 10 * Math.log10(sig / noise);
  return { snrDb: Math.round(snrDb * 100) / 100, delaySamples: bestLag, compared: n };
}
