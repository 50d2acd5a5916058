// The host cache's flash record (key 2) as the tests write and read it: layout in firmware/overlay/host-cache.ts
// and docs/protocol.md §Host cache — "HC", version 1, count, 16 B per entry, FNV-1a check value.
import assert from 'node:assert/strict';

export const KEY_HOST_CACHE = 2;

export interface Entry { ip: number; port: number; lastSeenS: number; rttMs: number; uptimeS: number }

export function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const x of b) { h ^= x; h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** Decodes the flash record (layout in host-cache.ts and docs/protocol.md §Host cache). */
export function decodeHostCache(rec: Uint8Array): Entry[] {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  assert.equal(String.fromCharCode(rec[0], rec[1]), 'HC');
  assert.equal(rec[2], 1);
  const n = rec[3];
  assert.equal(rec.length, 4 + 16 * n + 4);
  assert.equal(dv.getUint32(rec.length - 4), fnv1a(rec.subarray(0, rec.length - 4)), 'check value');
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const o = 4 + 16 * i;
    out.push({ ip: dv.getUint32(o), port: dv.getUint16(o + 4), lastSeenS: dv.getUint32(o + 6), rttMs: dv.getUint16(o + 10), uptimeS: dv.getUint32(o + 12) });
  }
  return out;
}

export function encodeHostCache(entries: Entry[]): Uint8Array {
  const rec = new Uint8Array(4 + 16 * entries.length + 4);
  const dv = new DataView(rec.buffer);
  rec.set([0x48, 0x43, 1, entries.length]);
  entries.forEach((e, i) => {
    const o = 4 + 16 * i;
    dv.setUint32(o, e.ip); dv.setUint16(o + 4, e.port); dv.setUint32(o + 6, e.lastSeenS); dv.setUint16(o + 10, e.rttMs); dv.setUint32(o + 12, e.uptimeS);
  });
  dv.setUint32(rec.length - 4, fnv1a(rec.subarray(0, rec.length - 4)));
  return rec;
}

