// Host-side helpers for the iLBC CLI tests (tests/host/ilbc-cli.test.ts,
// tests/host/ilbc-ffmpeg.test.ts): run the tool, make and read WAV files,
// compare signals. Not AssemblyScript (tests/ilbc/harness.ts is).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wavefilePkg from 'wavefile';

const { WaveFile } = wavefilePkg as unknown as { WaveFile: any };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const vectors = resolve(process.env.ILBC_VECTORS ?? resolve(root, '../shared/vectors'));
export const haveVectors = existsSync(join(vectors, 'ilbc/webrtc')) && existsSync(join(vectors, 'speech'));

export interface CliResult { status: number | null; stdout: string; stderr: string; stderrLines: string[] }

function result(r: ReturnType<typeof spawnSync>): CliResult {
  const stderr = String(r.stderr ?? '');
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr, stderrLines: stderr.split('\n').filter((l) => l !== '') };
}

/** `node --import tsx tools/ilbc.ts ...args` (what `npm run ilbc` runs). */
export function ilbc(...args: string[]): CliResult {
  return result(spawnSync(process.execPath, ['--import', 'tsx', 'tools/ilbc.ts', ...args], { cwd: root, encoding: 'utf8' }));
}

/** `npm run --silent ilbc -- ...args`: the documented interface itself. */
export function npmIlbc(...args: string[]): CliResult {
  return result(spawnSync('npm', ['run', '--silent', 'ilbc', '--', ...args], { cwd: root, encoding: 'utf8' }));
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ilbc-${tag}-`));
}

export function writeWav(path: string, channels: Int16Array[], rateHz: number, bitDepth = '16'): void {
  const wav = new WaveFile();
  wav.fromScratch(channels.length, rateHz, bitDepth, channels.length === 1 ? channels[0] : channels);
  writeFileSync(path, wav.toBuffer());
}

export interface Wav { rateHz: number; channels: number; bits: number; pcm: Int16Array }

export function readWav(path: string): Wav {
  const wav = new WaveFile(readFileSync(path));
  const data: Uint8Array = wav.data.samples;
  const pcm = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~1)));
  return { rateHz: wav.fmt.sampleRate, channels: wav.fmt.numChannels, bits: wav.fmt.bitsPerSample, pcm };
}

export function readI16(path: string): Int16Array {
  const b = readFileSync(path);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~1)));
}

/** Speech-like synthetic signal (voiced pulses through a resonance, plus noise), deterministic. */
export function synthSpeech(samples: number, seed = 7): Int16Array {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
  const out = new Int16Array(samples);
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < samples; i++) {
    const period = 50 + Math.round(15 * Math.sin(i / 3000));
    const exc = (i % period === 0 ? 9000 : 0) + ((rnd() & 0x3ff) - 512);
    const y = exc + 1.6 * y1 - 0.8 * y2;
    y2 = y1;
    y1 = y;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(y * (0.6 + 0.4 * Math.sin(i / 1700)))));
  }
  return out;
}

/** SNR (dB) of test[i + delay] against ref[i] over i >= from. */
export function snrDb(ref: ArrayLike<number>, test: ArrayLike<number>, delay = 0, from = 0): number {
  let sig = 0;
  let err = 0;
  for (let i = from; i < ref.length; i++) {
    const j = i + delay;
    if (j < 0 || j >= test.length) continue;
    sig += ref[i] * ref[i];
    err += (ref[i] - test[j]) ** 2;
  }
  return err === 0 ? Infinity : 10 * Math.log10(sig / err);
}

/** Delay in [-maxDelay, maxDelay] maximising snrDb(ref, test, delay, from). */
export function bestDelay(ref: ArrayLike<number>, test: ArrayLike<number>, maxDelay: number, from = 0): { delay: number; snr: number } {
  let best = { delay: 0, snr: -Infinity };
  for (let d = -maxDelay; d <= maxDelay; d++) {
    const snr = snrDb(ref, test, d, from);
    if (snr > best.snr) best = { delay: d, snr };
  }
  return best;
}

export function countDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) d++;
  return d;
}
