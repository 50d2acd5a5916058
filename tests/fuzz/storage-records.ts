/**
 * Flash-record generators for the storage fuzz targets (fw.storage, fw.storage.records): well-formed records
 * of every key the firmware decodes, built from the layouts in the firmware modules, so mutation starts from
 * records that get past the first checks, plus a checksum repair (the FNV-1a 32 trailer of keys 2, 14, 15, 16)
 * so that mutated bodies reach the field parsers behind the check.
 */
import type { FuzzRng } from './rng.js';

/** FNV-1a 32 over b[0..n) (firmware/overlay/host-cache.ts, im/state.ts, buddy/buddies.ts). */
export function fnv1a(b: Uint8Array, n = b.length): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) { h ^= b[i]; h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** Keys whose record ends in a big-endian FNV-1a 32 of the bytes before it. */
export const CHECKSUMMED = new Set([2, 14, 15, 16]);

/** Rewrites the trailer of a checksummed record so the check passes (no-op for other keys or < 5 bytes). */
export function fixChecksum(key: number, b: Uint8Array): Uint8Array {
  if (!CHECKSUMMED.has(key) || b.length < 5) return b;
  const o = Uint8Array.from(b);
  const h = fnv1a(o, o.length - 4);
  o[o.length - 4] = h >>> 24; o[o.length - 3] = (h >>> 16) & 255; o[o.length - 2] = (h >>> 8) & 255; o[o.length - 1] = h & 255;
  return o;
}

const te = new TextEncoder();
const u16 = (v: number) => [(v >>> 8) & 255, v & 255];
const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const str8 = (s: string | Uint8Array) => { const b = typeof s === 'string' ? te.encode(s) : s; return [b.length & 255, ...b]; };
const withFnv = (body: number[]) => { const b = Uint8Array.from(body); return Uint8Array.from([...b, ...u32(fnv1a(b))]); };

const NAMES = ['bob', 'alice', 'carol.x', 'd_e-f', 'a'.repeat(32), 'ab', '', 'Mallory', 'z'.repeat(48), '\u00e9t\u00e9', 'x\u0000y'];
function name(rng: FuzzRng): string { return rng.chance(0.1) ? Buffer.from(rng.bytes(rng.size(40))).toString('latin1') : rng.pick(NAMES); }

/** A well-formed (or nearly: edge values) record for `key`, or null for keys without a known layout. */
export function validRecord(rng: FuzzRng, key: number): Uint8Array | null {
  switch (key) {
    case 2: { // host cache: "HC" 1 count, (ip u32, port u16, lastSeenS u32, rttMs u16, uptimeS u32) × count, fnv
      const n = rng.chance(0.05) ? 200 : rng.below(12);
      const body = [0x48, 0x43, 1, n];
      for (let i = 0; i < n; i++) body.push(...u32(rng.chance(0.1) ? 0 : rng.u32()), ...u16(rng.chance(0.1) ? 0 : rng.below(65536)), ...u32(rng.u32()), ...u16(rng.below(65536)), ...u32(rng.u32()));
      return withFnv(body);
    }
    case 3: return Uint8Array.from([rng.chance(0.9) ? 1 : rng.below(256), ...str8(name(rng))]);
    case 4: case 13: return rng.bytes(rng.chance(0.9) ? 32 : rng.below(64));
    case 5: return Uint8Array.from([rng.below(4), rng.below(4), rng.below(8), 0, 0, ...u32(rng.u32()), ...u16(rng.below(65536)), 0, 0]);
    case 8: { const v = rng.pick([0, 1, 5, 6, 0xffffffff, rng.u32()]); return Uint8Array.from([v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]); }
    case 9: { // call history: 1 n, (dir, durationS u16, peer str8 ≤ 32, result str8 ≤ 48) × n
      const n = rng.below(24);
      const body = [1, n];
      for (let i = 0; i < n; i++) body.push(rng.below(4), ...u16(rng.below(65536)), ...str8(name(rng)), ...str8(rng.pick(['local-hangup', 'remote-hangup', 'busy', 'missed', '', 'x'.repeat(48), 'y'.repeat(49)])));
      return Uint8Array.from(body);
    }
    case 10: return Uint8Array.from([rng.chance(0.9) ? 1 : rng.below(256), rng.below(10), rng.below(10), rng.below(10), ...rng.bytes(rng.below(6))]);
    case 14: { // IM state: "IM" 1, nextSeq u32, count, (addr str8 ≤ 48, hw u32, mask u64) × count, fnv
      const n = rng.chance(0.1) ? 32 + rng.below(9) : rng.below(8);
      const body = [0x49, 0x4d, 1, ...u32(rng.pick([0, 1, 0xffffffff, rng.u32()])), n];
      const addrs: string[] = [];
      for (let i = 0; i < n; i++) {
        // Sometimes a sender device twice (a record the firmware never writes, but flash can hold).
        const a = addrs.length && rng.chance(0.1) ? rng.pick(addrs) : `${name(rng)}/${rng.u32().toString(16)}`;
        addrs.push(a);
        body.push(...str8(a), ...u32(rng.u32()), ...u32(rng.u32()), ...u32(rng.u32()));
      }
      return withFnv(body);
    }
    case 15: { // buddy list: "BL" 1 n, (kind 1..4, name str8) × n, fnv
      const n = rng.chance(0.05) ? 120 : rng.below(10);
      const body = [0x42, 0x4c, 1, n];
      for (let i = 0; i < n; i++) body.push(rng.chance(0.9) ? 1 + rng.below(4) : rng.below(256), ...str8(name(rng)));
      return withFnv(body);
    }
    case 16: { // buddy outbox: "BO" 1 flags n, (op 0x71..0x76, name str8) × n, fnv
      const n = rng.chance(0.05) ? 20 : rng.below(6);
      const body = [0x42, 0x4f, 1, rng.below(4), n];
      for (let i = 0; i < n; i++) body.push(rng.chance(0.9) ? 0x71 + rng.below(6) : rng.below(256), ...str8(name(rng)));
      return withFnv(body);
    }
    default: return null;
  }
}
