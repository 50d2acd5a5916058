/**
 * Structure-aware byte mutator (AFL/libFuzzer style havoc) for message bodies. It knows the overlay's
 * wire conventions a little: big-endian u16/u32 fields, `str8` strings (length byte + bytes), a type byte
 * first, so "interesting" values are lengths and boundaries rather than arbitrary noise.
 */
import type { FuzzRng } from './rng.js';

const INTERESTING8 = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 33, 63, 64, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff];
const INTERESTING16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x7ff, 0x800, 0xfff, 0x1000, 0x1001, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xc6336401, 0x0a000001, 0xc0a80001];

/** Returns a mutated copy of `src` (at most `maxLen` bytes), applying 1..4 random edits. */
export function mutate(rng: FuzzRng, src: Uint8Array, maxLen: number, other?: Uint8Array): Uint8Array {
  let b = Array.from(src);
  const edits = 1 + rng.below(rng.chance(0.2) ? 8 : 3);
  for (let e = 0; e < edits; e++) {
    const n = b.length;
    const at = rng.below(Math.max(1, n));
    switch (rng.below(14)) {
      case 0: if (n) b[at] ^= 1 << rng.below(8); break;                                  // bit flip
      case 1: if (n) b[at] = rng.u32() & 255; break;                                      // random byte
      case 2: if (n) b[at] = rng.pick(INTERESTING8); break;                               // boundary byte
      case 3: if (n > 1) { const v = rng.pick(INTERESTING16); b[at] = v >> 8; if (at + 1 < n) b[at + 1] = v & 255; } break;
      case 4: if (n > 3 && at + 3 < n) { const v = rng.pick(INTERESTING32); b[at] = v >>> 24; b[at + 1] = (v >>> 16) & 255; b[at + 2] = (v >>> 8) & 255; b[at + 3] = v & 255; } break;
      case 5: b = b.slice(0, rng.below(n + 1)); break;                                    // truncate
      case 6: { const k = 1 + rng.below(16); b.splice(at, 0, ...rng.bytes(k)); break; }   // insert random
      case 7: if (n) b.splice(at, 1 + rng.below(Math.min(16, n - at))); break;            // delete
      case 8: if (n) { const k = Math.min(n - at, 1 + rng.below(32)); b.splice(at + rng.below(n - at + 1), 0, ...b.slice(at, at + k)); } break; // duplicate a run
      case 9: if (n) b[at] = (b[at] + (rng.chance(0.5) ? 1 : 255)) & 255; break;          // ±1 (length fields)
      case 10: if (n) b[at] = n - at - 1 + rng.below(3) - 1 & 255; break;                   // "length of the rest" ±1
      case 11: b.push(...rng.bytes(rng.size(64))); break;                                 // append
      case 12: if (other && other.length) { const s = rng.below(other.length); b = b.slice(0, at).concat(Array.from(other.subarray(s, s + rng.below(64)))); } break; // splice
      case 13: if (n) { const v = rng.chance(0.5) ? 0 : 255; const k = 1 + rng.below(8); for (let i = at; i < Math.min(n, at + k); i++) b[i] = v; } break;
    }
  }
  if (b.length > maxLen) b = b.slice(0, maxLen);
  return Uint8Array.from(b);
}
