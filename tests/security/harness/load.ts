/**
 * Loads build/sec-harness.wasm (tests/security/harness/harness.ts, rebuilt here when a source is newer) with
 * the simulator's crypto engine (node:crypto) as its crypto HAL.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cryptoEngine } from '../../../host-sim/devices.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WASM = join(ROOT, 'build', 'sec-harness.wasm');
const SOURCES = ['tests/security/harness/harness.ts', 'firmware/sec/noise.ts', 'firmware/sec/cert.ts', 'firmware/sec/hkdf.ts'];

export interface SecHarness {
  mem(): Uint8Array;
  io(i: number): number;
  put(i: number, b: Uint8Array, off?: number): void;
  get(i: number, len: number, off?: number): Uint8Array;
  ex: Record<string, (...a: any[]) => any>;
}

export function loadHarness(): SecHarness {
  const t = existsSync(WASM) ? statSync(WASM).mtimeMs : 0;
  if (SOURCES.some((s) => statSync(join(ROOT, s)).mtimeMs > t)) {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'asc'), ['--config', 'tests/security/harness/asconfig.json', '--target', 'release'], { cwd: ROOT, stdio: 'inherit' });
  }
  let memory: WebAssembly.Memory;
  const mem = () => new Uint8Array(memory.buffer);
  const bytes = (p: number, n: number) => mem().slice(p, p + n);
  const EAUTH = -8;
  const imports = {
    env: { abort() { throw new Error('wasm abort'); } },
    crypto: {
      sha256(p: number, n: number, o: number) { mem().set(cryptoEngine.sha256(bytes(p, n)), o); return 32; },
      hmacSha256(k: number, kl: number, p: number, n: number, o: number) { mem().set(cryptoEngine.hmacSha256(bytes(k, kl), bytes(p, n)), o); return 32; },
      x25519Public(k: number, o: number) { mem().set(cryptoEngine.x25519Public(bytes(k, 32)), o); return 32; },
      x25519(k: number, pub: number, o: number) { const s = cryptoEngine.x25519(bytes(k, 32), bytes(pub, 32)); if (!s) return EAUTH; mem().set(s, o); return 32; },
      aeadSeal(k: number, nc: number, a: number, al: number, p: number, pl: number, o: number) {
        const c = cryptoEngine.aeadSeal(bytes(k, 32), bytes(nc, 12), bytes(a, al), bytes(p, pl)); mem().set(c, o); return c.length;
      },
      aeadOpen(k: number, nc: number, a: number, al: number, p: number, pl: number, o: number) {
        const r = cryptoEngine.aeadOpen(bytes(k, 32), bytes(nc, 12), bytes(a, al), bytes(p, pl)); if (!r) return EAUTH; mem().set(r, o); return r.length;
      },
      ed25519Public(s: number, o: number) { mem().set(cryptoEngine.ed25519Public(bytes(s, 32)), o); return 32; },
      ed25519Sign(s: number, m: number, n: number, o: number) { mem().set(cryptoEngine.ed25519Sign(bytes(s, 32), bytes(m, n)), o); return 64; },
      ed25519Verify(pk: number, m: number, n: number, sg: number) { return cryptoEngine.ed25519Verify(bytes(pk, 32), bytes(m, n), bytes(sg, 64)) ? 0 : EAUTH; },
    },
  };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(WASM)), imports as any);
  const ex = inst.exports as any;
  memory = ex.memory;
  return {
    mem,
    io: (i) => ex.io(i) >>> 0,
    put(i, b, off = 0) { mem().set(b, (ex.io(i) >>> 0) + off); },
    get(i, len, off = 0) { const p = (ex.io(i) >>> 0) + off; return mem().slice(p, p + len); },
    ex,
  };
}
