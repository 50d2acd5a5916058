/**
 * Offline reference of what a codec alone does to a signal: the firmware's own codec kernels (through
 * build/ilbc-harness.wasm, compiled from firmware/codec/ilbc) or G.711 tables. The call report compares
 * the far end's speaker with this to show what the network and jitter buffer added (nothing, on a clean path).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function harnessPath(): string | null {
  for (const p of [path.resolve(here, '../build/ilbc-harness.wasm'), path.resolve(process.cwd(), 'build/ilbc-harness.wasm')]) if (fs.existsSync(p)) return p;
  return null;
}

/** Encodes and decodes `pcm` (8 kHz) with iLBC in mode 20 or 30 (enhancer on); null if the harness is not built. */
export function ilbcRoundTrip(pcm: Int16Array, modeMs: 20 | 30): Int16Array | null {
  const file = harnessPath();
  if (!file) return null;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), { env: { abort() { throw new Error('ilbc harness abort'); } } });
  const ex = inst.exports as any;
  const mem = () => ex.memory.buffer as ArrayBuffer;
  const enc = ex.newEncoder(modeMs), dec = ex.newDecoder(modeMs, 1);
  const n = modeMs === 20 ? 160 : 240;
  const frames = Math.floor(pcm.length / n);
  const out = new Int16Array(frames * n);
  for (let f = 0; f < frames; f++) {
    new Int16Array(mem(), ex.pcmInPtr(), n).set(pcm.subarray(f * n, f * n + n));
    const bytes = ex.encode(enc);
    if (bytes <= 0) return null;
    const got = ex.decode(dec, bytes);
    if (got !== n) return null;
    out.set(new Int16Array(mem(), ex.pcmOutPtr(), n), f * n);
  }
  return out;
}
