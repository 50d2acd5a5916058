/**
 * Codec fuzz targets: the firmware's iLBC decoder (firmware/codec/ilbc) through build/ilbc-harness.wasm, and the
 * RFC 3952 storage-file reader + decoder through build/ilbc-tool.wasm (both built by `npm run build:ilbc`).
 * Seeds are valid frames/files made by the same codec's encoder; mutations are mostly bit flips, so the
 * decoder gets past the frame-length check into the LSF, codebook and gain unpacking (RFC 3951 §3.6, §4).
 * G.711 (firmware/codec/g711) is a total function of each byte and is not fuzzed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutate } from './mutate.js';
import { Pool, type Outcome, type Step, type Target } from './target.js';
import type { FuzzRng } from './rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const modules = new Map<string, WebAssembly.Module>();
function load(file: string): WebAssembly.Instance {
  let m = modules.get(file);
  if (!m) { m = new WebAssembly.Module(fs.readFileSync(path.join(root, file))); modules.set(file, m); }
  return new WebAssembly.Instance(m, { env: { abort: (_m: number, _f: number, line: number, col: number) => { throw new Error(`abort at ${line}:${col}`); } } });
}

/** Speech-like test signal (two formants with a slow envelope), 8 kHz. */
function speech(n: number, seed: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(7000 * Math.sin(i * (0.05 + seed * 0.01)) * Math.sin(i * 0.002) + 1500 * Math.sin(i * 0.37 + seed));
  return s;
}

interface HarnessEx {
  memory: WebAssembly.Memory;
  pcmInPtr(): number; bytesPtr(): number; pcmOutPtr(): number;
  newEncoder(ms: number): number; newDecoder(ms: number, enh: number): number;
  encode(h: number): number; decode(h: number, len: number): number; decodePlc(h: number): number;
}

const MODES = [[20, 0], [20, 1], [30, 0], [30, 1]] as const;

export class IlbcDecodeTarget implements Target {
  readonly name = 'codec.ilbc';
  readonly kind = 'codec' as const;
  readonly parsers = 'iLBC frame decoder (20/30 ms, enhancer on/off) and PLC: 38/50-byte frames, any length (RFC 3951)';
  readonly resetEvery = 20000;
  private ex!: HarnessEx;
  private dec: number[] = [];
  private readonly frames = new Map<number, Pool>([[20, new Pool(3000)], [30, new Pool(3000)]]);

  fresh(): void {
    this.ex = load('build/ilbc-harness.wasm').exports as unknown as HarnessEx;
    this.dec = MODES.map(([ms, enh]) => this.ex.newDecoder(ms, enh));
    if (this.frames.get(20)!.items.length === 0) {
      for (const ms of [20, 30]) {
        const enc = this.ex.newEncoder(ms);
        const ns = ms * 8;
        const pcm = speech(ns * 40, ms);
        for (let f = 0; f < 40; f++) {
          new Int16Array(this.ex.memory.buffer, this.ex.pcmInPtr(), ns).set(pcm.subarray(f * ns, (f + 1) * ns));
          const n = this.ex.encode(enc);
          if (n > 0) this.frames.get(ms)!.add(new Uint8Array(this.ex.memory.buffer, this.ex.bytesPtr(), n).slice());
        }
      }
    }
  }

  gen(rng: FuzzRng): Step {
    const h = rng.below(4);
    if (rng.chance(0.1)) return { op: 'plc', a: h, b: 0, data: new Uint8Array(0) };
    const ms = MODES[h][0];
    const s = this.frames.get(rng.chance(0.9) ? ms : 50 - ms)!.pick(rng)!;
    const r = rng.below(100);
    let d: Uint8Array;
    if (r < 60) { d = Uint8Array.from(s); for (let i = 0, n = 1 + rng.below(6); i < n; i++) d[rng.below(d.length)] ^= 1 << rng.below(8); }
    else if (r < 85) d = mutate(rng, s, 200);
    else if (r < 95) d = rng.bytes(s.length);
    else d = s;
    return { op: 'decode', a: h, b: 0, data: d };
  }

  run(step: Step): Outcome {
    const ex = this.ex;
    const h = this.dec[step.a % 4];
    const ms = MODES[step.a % 4][0];
    let rc: number;
    if (step.op === 'plc') rc = ex.decodePlc(h);
    else {
      const n = Math.min(step.data.length, 200);
      new Uint8Array(ex.memory.buffer, ex.bytesPtr(), n).set(step.data.subarray(0, n));
      rc = ex.decode(h, n);
    }
    // Behaviour: the return code and the output level (log2 of the peak), per mode.
    let peak = 0;
    if (rc > 0) { const o = new Int16Array(ex.memory.buffer, ex.pcmOutPtr(), rc); for (let i = 0; i < rc; i += 4) { const v = Math.abs(o[i]); if (v > peak) peak = v; } }
    return { tokens: [`rc${rc}`, `p${Math.ceil(Math.log2(peak + 1))}`], kinds: [`iLBC ${ms} ms ${step.op}`] };
  }

  learn(step: Step): void { if (step.op === 'decode') this.frames.get(step.data.length === 50 ? 30 : 20)!.add(step.data); }
}

interface ToolEx {
  memory: WebAssembly.Memory;
  buffer(slot: number, n: number): number; encodeFile(ms: number, frames: number): number; openFile(len: number): number;
  decodeFile(enh: number, useLoss: number): number; frameCount(): number; corruptFrames(): number;
}

export class IlbcFileTarget implements Target {
  readonly name = 'codec.ilbc-file';
  readonly kind = 'codec' as const;
  readonly parsers = 'RFC 3952 §4 iLBC storage files ("#!iLBC20\\n"/"#!iLBC30\\n" header + frames) opened and decoded with loss patterns';
  readonly resetEvery = 5000;
  private ex!: ToolEx;
  private readonly files = new Pool(2000);

  fresh(): void {
    this.ex = load('build/ilbc-tool.wasm').exports as unknown as ToolEx;
    if (this.files.items.length === 0) {
      for (const ms of [20, 30]) for (const frames of [0, 1, 2, 5]) {
        const ns = ms * 8;
        const pcm = speech(ns * frames, frames);
        const p = this.ex.buffer(0, pcm.length * 2);
        new Int16Array(this.ex.memory.buffer, p, pcm.length).set(pcm);
        const n = this.ex.encodeFile(ms, frames);
        if (n > 0) this.files.add(new Uint8Array(this.ex.memory.buffer, this.ex.buffer(1, n), n).slice());
      }
    }
  }

  gen(rng: FuzzRng): Step {
    const s = this.files.pick(rng)!;
    const r = rng.below(100);
    let d: Uint8Array;
    if (r < 50) { d = Uint8Array.from(s); for (let i = 0, n = 1 + rng.below(4); i < n; i++) d[rng.below(d.length)] ^= 1 << rng.below(8); }
    else if (r < 90) d = mutate(rng, s, 700);
    else d = Uint8Array.from([...new TextEncoder().encode(rng.pick(['#!iLBC20\n', '#!iLBC30\n', '#!iLBC\n', '#!iLBC25\n', '#!AMR\n'])), ...rng.bytes(rng.size(300))]);
    return { op: 'file', a: rng.below(4), b: rng.u32(), data: d };
  }

  run(step: Step): Outcome {
    const ex = this.ex;
    const len = step.data.length;
    const p = ex.buffer(0, len);
    new Uint8Array(ex.memory.buffer, p, len).set(step.data);
    const mode = ex.openFile(len);
    const tokens = [`open${mode}`];
    if (mode > 0) {
      const n = ex.frameCount();
      if (step.a & 2) { const lp = ex.buffer(2, n * 2); const l = new Int16Array(ex.memory.buffer, lp, n); for (let i = 0; i < n; i++) l[i] = (step.b >>> (i & 31)) & 1; }
      const rc = ex.decodeFile(step.a & 1, (step.a >> 1) & 1);
      tokens.push(`dec${rc < 0 ? rc : 'ok'}`, `frames${Math.min(n, 9)}`, `corrupt${Math.min(ex.corruptFrames(), 3)}`);
    }
    return { tokens, kinds: ['iLBC storage file'] };
  }

  learn(step: Step): void { this.files.add(step.data); }
}
