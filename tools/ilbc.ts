// iLBC command-line tool: WAV <-> RFC 3952 storage files (.lbc) with the
// firmware's codec (firmware/codec/ilbc, run as build/ilbc-tool.wasm).
//
//   npm run --silent ilbc -- encode [--mode 20|30] in.wav out.lbc
//   npm run --silent ilbc -- decode [--no-enhancer] [--loss pattern.chn] in.lbc out.wav
//
// encode: 8 kHz mono 16-bit WAV in (anything else wavefile reads is
//   converted: resampled to 8 kHz, channels averaged, with a one-line warning
//   on stderr); "#!iLBC30\n" or "#!iLBC20\n" + frames out (default 30 ms).
//   Trailing samples that do not fill a whole frame are dropped, as the
//   RFC 3951 test program and the WebRTC reference vectors do.
// decode: .lbc in, 8 kHz mono 16-bit WAV out, one frame of samples per frame
//   (the enhancer adds a 40 / 80 sample delay, RFC 3951 §4.6). --loss takes
//   a .chn loss pattern (int16 LE per frame: 1 received, 0 lost -> PLC).
//
// Errors are one line on stderr with exit status 1. The wasm is built by
// `npm run build:ilbc`, or here on first use when missing or stale.

import { Command, InvalidArgumentError, Option } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wavefilePkg from 'wavefile';

const { WaveFile } = wavefilePkg as unknown as { WaveFile: any };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = join(root, 'build/ilbc-tool.wasm');
const RATE_HZ = 8000;
/** Input rates the encoder resamples from; anything else is refused. */
const RATE_MIN_HZ = 1000;
const RATE_MAX_HZ = 384000;

/** An operating error: printed as one line, exit status 1. */
class CliError extends Error {}

// ------------------------------------------------------------------- wasm

interface ToolWasm {
  memory: WebAssembly.Memory;
  buffer(slot: number, n: number): number;
  encodeFile(modeMs: number, frames: number): number;
  openFile(len: number): number;
  frameCount(): number;
  trailingBytes(): number;
  decodeFile(enhancer: number, useLoss: number): number;
  corruptFrames(): number;
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds build/ilbc-tool.wasm when missing or older than the codec sources (atomically: temp file + rename). */
function ensureWasm(): void {
  const src = Math.max(newestMtime(join(root, 'firmware/codec/ilbc')), newestMtime(join(root, 'tools/ilbc')));
  if (existsSync(wasmPath) && statSync(wasmPath).mtimeMs >= src) return;
  const tmp = `${wasmPath}.${process.pid}.tmp`;
  const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
  try {
    execFileSync(process.execPath, [asc, '--config', 'tools/ilbc/asconfig.json', '--target', 'release', '--outFile', tmp], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    renameSync(tmp, wasmPath);
  } catch (e) {
    rmSync(tmp, { force: true });
    const out = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0];
    throw new CliError(`cannot build ${wasmPath} (${out}); run npm run build:ilbc`);
  }
}

function loadWasm(): ToolWasm {
  ensureWasm();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {
    env: {
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new CliError(`internal codec error (wasm abort at ${line}:${col})`);
      },
    },
  });
  return instance.exports as unknown as ToolWasm;
}

// ------------------------------------------------------------------- files

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${what} not found: ${path}`);
    if (code === 'EISDIR') throw new CliError(`${what} is a directory: ${path}`);
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function writeOutput(path: string, data: Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

const FORMAT_NAMES: Record<number, string> = { 1: 'PCM', 3: 'float', 6: 'A-law', 7: 'mu-law', 17: 'IMA ADPCM', 65534: 'extensible' };

/**
 * 8 kHz mono int16 samples of a WAV file. 8 kHz mono 16-bit PCM is taken as
 * is; other formats are converted (warning on stderr).
 */
function readWav(path: string): Int16Array {
  const bytes = readInput(path, 'input file');
  let wav: any;
  try {
    wav = new WaveFile(bytes);
  } catch (e) {
    throw new CliError(`${path}: not a WAV file (${(e as Error).message})`);
  }
  const fmt = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number; bitsPerSample: number };
  const { numChannels: channels, sampleRate: rate, bitsPerSample: bits } = fmt;
  const tag = fmt.audioFormat;
  if (!channels || !bits) throw new CliError(`${path}: invalid WAV format chunk (${channels} channels, ${bits} bits)`);
  if (!(rate >= RATE_MIN_HZ && rate <= RATE_MAX_HZ)) {
    throw new CliError(`${path}: unsupported sample rate ${rate} Hz (expected ${RATE_HZ} Hz; ${RATE_MIN_HZ}..${RATE_MAX_HZ} Hz are resampled)`);
  }
  const pcmLike = tag === 1 || tag === 65534;
  if (pcmLike && bits === 16 && channels === 1 && rate === RATE_HZ) {
    const data: Uint8Array = wav.data.samples;
    const n = data.length >> 1;
    const dv = new DataView(data.buffer, data.byteOffset, n * 2);
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) pcm[i] = dv.getInt16(2 * i, true);
    return pcm;
  }
  const source = `${rate} Hz, ${channels} channel${channels === 1 ? '' : 's'}, ${bits}-bit ${FORMAT_NAMES[tag] ?? `format ${tag}`}`;
  let chans: Float64Array[];
  try {
    if (tag === 6) wav.fromALaw();
    else if (tag === 7) wav.fromMuLaw();
    else if (tag === 17) wav.fromIMAADPCM();
    else if (!pcmLike && tag !== 3) throw new Error(`format tag ${tag} is not supported`);
    wav.toBitDepth('32f');
    if (rate !== RATE_HZ) wav.toSampleRate(RATE_HZ, { method: 'sinc', LPF: true });
    const s = wav.getSamples(false, Float64Array) as Float64Array | Float64Array[];
    chans = Array.isArray(s) ? s : [s];
  } catch (e) {
    throw new CliError(`${path}: cannot convert ${source} audio (${(e as Error).message})`);
  }
  const n = chans[0].length;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (const c of chans) sum += c[i];
    pcm[i] = Math.max(-32768, Math.min(32767, Math.round((sum / chans.length) * 32767)));
  }
  process.stderr.write(`warning: ${path} is ${source}; converted to ${RATE_HZ} Hz mono 16-bit\n`);
  return pcm;
}

function writeWav(path: string, pcm: Int16Array): void {
  const wav = new WaveFile();
  wav.fromScratch(1, RATE_HZ, '16', pcm);
  writeOutput(path, wav.toBuffer());
}

/** A .chn loss pattern (int16 LE per frame, 1 = received, 0 = lost) with at least `frames` entries. */
function readLossPattern(path: string, frames: number): Int16Array {
  const b = readInput(path, 'loss pattern');
  if (b.length % 2 !== 0) throw new CliError(`${path}: odd length (${b.length} bytes); a .chn file holds int16 LE entries`);
  const n = b.length / 2;
  const chn = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const v = b.readInt16LE(2 * i);
    if (v !== 0 && v !== 1) throw new CliError(`${path}: entry ${i} is ${v}; entries must be 1 (received) or 0 (lost)`);
    chn[i] = v;
  }
  if (n < frames) throw new CliError(`${path}: ${n} entries for ${frames} frames; need one entry per frame`);
  return chn;
}

// ---------------------------------------------------------------- commands

function encode(input: string, output: string, modeMs: number): void {
  const pcm = readWav(input);
  const ns = modeMs === 20 ? 160 : 240;
  const frames = Math.floor(pcm.length / ns);
  if (frames === 0) throw new CliError(`${input}: too short (${pcm.length} samples at ${RATE_HZ} Hz; one ${modeMs} ms frame needs ${ns})`);
  const w = loadWasm();
  new Int16Array(w.memory.buffer, w.buffer(0, frames * ns * 2), frames * ns).set(pcm.subarray(0, frames * ns));
  const len = w.encodeFile(modeMs, frames);
  if (len < 0) throw new CliError(`encoder failed (error ${len})`);
  writeOutput(output, new Uint8Array(w.memory.buffer, w.buffer(1, len), len).slice());
}

function decode(input: string, output: string, enhancer: boolean, lossPath: string | undefined): void {
  const file = readInput(input, 'input file');
  const w = loadWasm();
  new Uint8Array(w.memory.buffer, w.buffer(0, file.length), file.length).set(file);
  const mode = w.openFile(file.length);
  if (mode < 0) {
    const head = JSON.stringify(file.subarray(0, 9).toString('latin1'));
    throw new CliError(`${input}: not an iLBC storage file (starts with ${head}, expected "#!iLBC20\\n" or "#!iLBC30\\n")`);
  }
  const frames = w.frameCount();
  const nb = mode === 20 ? 38 : 50;
  if (w.trailingBytes() !== 0) {
    throw new CliError(`${input}: truncated: ${w.trailingBytes()} bytes after the last whole ${nb}-byte frame (${frames} frames, ${mode} ms mode)`);
  }
  const loss = lossPath === undefined ? null : readLossPattern(lossPath, frames);
  if (loss) new Int16Array(w.memory.buffer, w.buffer(2, frames * 2), frames).set(loss.subarray(0, frames));
  const samples = w.decodeFile(enhancer ? 1 : 0, loss ? 1 : 0);
  if (samples < 0) throw new CliError(`decoder failed (error ${samples})`);
  const pcm = new Int16Array(w.memory.buffer, w.buffer(1, samples * 2), samples).slice();
  const corrupt = w.corruptFrames();
  if (corrupt > 0) process.stderr.write(`warning: ${input}: ${corrupt} undecodable frame${corrupt === 1 ? '' : 's'} replaced by silence\n`);
  writeWav(output, pcm);
}

// --------------------------------------------------------------------- CLI

function parseMode(v: string): number {
  if (v !== '20' && v !== '30') throw new InvalidArgumentError('must be 20 or 30.');
  return Number(v);
}

/** Runs one tool action; operating errors become one stderr line and exit status 1. */
function run(action: () => void): void {
  try {
    action();
  } catch (e) {
    const msg = e instanceof CliError ? e.message : `internal error: ${(e as Error).message ?? e}`;
    process.stderr.write(`error: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  }
}

const program = new Command('ilbc')
  .description('iLBC (RFC 3951) encoder/decoder for RFC 3952 storage files (.lbc), using the firmware codec')
  .showSuggestionAfterError(false);

program
  .command('encode')
  .description('encode a WAV file (8 kHz mono 16-bit; other formats are converted) to an .lbc file')
  .addOption(new Option('--mode <ms>', 'frame mode, 20 or 30 ms').argParser(parseMode).default(30))
  .argument('<in.wav>', 'input WAV')
  .argument('<out.lbc>', 'output RFC 3952 storage file')
  .action((input: string, output: string, opts: { mode: number }) => run(() => encode(input, output, opts.mode)));

program
  .command('decode')
  .description('decode an .lbc file to an 8 kHz mono 16-bit WAV file')
  .option('--no-enhancer', 'switch the decoder enhancer off (RFC 3951 §4.6)')
  .option('--loss <pattern.chn>', 'loss pattern: int16 LE per frame, 1 received, 0 lost (concealed)')
  .argument('<in.lbc>', 'input RFC 3952 storage file')
  .argument('<out.wav>', 'output WAV')
  .action((input: string, output: string, opts: { enhancer: boolean; loss?: string }) =>
    run(() => decode(input, output, opts.enhancer, opts.loss)),
  );

program.parse();
