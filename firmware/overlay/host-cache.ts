import { storageRead, storageWrite } from "../../hal/storage";
import { KEY_HOST_CACHE } from "../lib/keys";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { endpointToString } from "../lib/addr";
import { event } from "../lib/log";

/**
 * The host cache (skype-facts.md §Login): supernodes this phone has heard of, with when it last heard of or
 * from them, the probe RTT and the uptime they reported. Up to HC_MAX entries; when full, the entry with the
 * shortest uptime (then the oldest last-seen) is replaced, so long-lived supernodes stay. Login probes the
 * best entries (longest uptime, then lowest RTT) before the provisioned bootstrap supernodes.
 *
 * Flash record (KEY_HOST_CACHE), written in one atomic `storage.write`:
 *   [magic "HC" 2][version u8 = 1][n u8]
 *   n × [ip u32][port u16][lastSeenS u32][rttMs u16][uptimeS u32]     (16 bytes each, big-endian)
 *   [check u32] = FNV-1a 32 of every byte before it
 * A record of the wrong length, magic, version or check is ignored and counted (`corrupt`), never trusted.
 * `lastSeenS` is the monotonic clock in seconds; it only orders entries relative to each other.
 */
export const HC_MAX: i32 = 200;
const ENTRY_BYTES: i32 = 16;
const HEAD_BYTES: i32 = 4;
const RECORD_MAX: i32 = HEAD_BYTES + HC_MAX * ENTRY_BYTES + 4;
/** RTT of an entry never probed (ms): ranks after every measured one. */
export const RTT_UNKNOWN_MS: i32 = 0xFFFF;

export class HostCache {
  ip: Array<u32> = new Array<u32>();
  port: Array<i32> = new Array<i32>();
  lastSeenS: Array<u32> = new Array<u32>();
  rttMs: Array<i32> = new Array<i32>();
  uptimeS: Array<u32> = new Array<u32>();
  /** Changed since the last save. */
  dirty: bool = false;
  /** Flash records rejected at load (bad length, magic, version or check). */
  corrupt: u32 = 0;
  /** Entries read from flash at the last load. */
  loaded: i32 = 0;
  saves: u32 = 0;
  private buf: StaticArray<u8> = new StaticArray<u8>(RECORD_MAX);

  get size(): i32 { return this.ip.length; }

  find(ip: u32, port: i32): i32 {
    for (let i = 0; i < this.ip.length; i++) if (this.ip[i] == ip && this.port[i] == port) return i;
    return -1;
  }

  /**
   * Adds or refreshes a supernode. `rttMs` < 0 and `uptimeS` == 0 mean "unknown" (keep what we have).
   * Returns the entry's index, or -1 when the cache is full of longer-lived entries.
   */
  note(ip: u32, port: i32, nowS: u32, rttMs: i32, uptimeS: u32): i32 {
    if (ip == 0 || port <= 0 || port > 0xFFFF) return -1;
    let i = this.find(ip, port);
    if (i < 0) {
      if (this.ip.length < HC_MAX) {
        i = this.ip.length;
        this.ip.push(ip); this.port.push(port); this.lastSeenS.push(nowS); this.rttMs.push(RTT_UNKNOWN_MS); this.uptimeS.push(0);
      } else {
        i = this.victim();
        if (this.uptimeS[i] > uptimeS) return -1;
        this.ip[i] = ip; this.port[i] = port; this.rttMs[i] = RTT_UNKNOWN_MS; this.uptimeS[i] = 0;
      }
    }
    this.lastSeenS[i] = nowS;
    if (rttMs >= 0) this.rttMs[i] = min(rttMs, RTT_UNKNOWN_MS - 1);
    if (uptimeS > 0) this.uptimeS[i] = uptimeS;
    this.dirty = true;
    return i;
  }

  remove(ip: u32, port: i32): void {
    const i = this.find(ip, port);
    if (i < 0) return;
    this.ip.splice(i, 1); this.port.splice(i, 1); this.lastSeenS.splice(i, 1); this.rttMs.splice(i, 1); this.uptimeS.splice(i, 1);
    this.dirty = true;
  }

  /** The entry to replace: shortest uptime, then oldest last-seen. */
  private victim(): i32 {
    let v = 0;
    for (let i = 1; i < this.ip.length; i++) {
      if (this.uptimeS[i] < this.uptimeS[v] || (this.uptimeS[i] == this.uptimeS[v] && this.lastSeenS[i] < this.lastSeenS[v])) v = i;
    }
    return v;
  }

  /** True when entry a ranks before b: longer uptime, then lower RTT, then more recently seen. */
  private better(a: i32, b: i32): bool {
    if (this.uptimeS[a] != this.uptimeS[b]) return this.uptimeS[a] > this.uptimeS[b];
    if (this.rttMs[a] != this.rttMs[b]) return this.rttMs[a] < this.rttMs[b];
    return this.lastSeenS[a] > this.lastSeenS[b];
  }

  /** Indexes of the `n` best entries, best first (selection: n is small). */
  best(n: i32): Array<i32> {
    const out = new Array<i32>();
    const taken = new StaticArray<bool>(HC_MAX);
    const k = min(n, this.ip.length);
    for (let j = 0; j < k; j++) {
      let b = -1;
      for (let i = 0; i < this.ip.length; i++) if (!taken[i] && (b < 0 || this.better(i, b))) b = i;
      taken[b] = true;
      out.push(b);
    }
    return out;
  }

  /** Entries as "ip:port" strings, best first (console `hc`). */
  texts(): Array<string> {
    const order = this.best(this.ip.length);
    const out = new Array<string>();
    for (let j = 0; j < order.length; j++) {
      const i = order[j];
      out.push(endpointToString(this.ip[i], this.port[i]) + " up=" + this.uptimeS[i].toString() + "s rtt=" +
        (this.rttMs[i] == RTT_UNKNOWN_MS ? "-" : this.rttMs[i].toString() + "ms"));
    }
    return out;
  }

  clear(): void {
    this.ip.length = 0; this.port.length = 0; this.lastSeenS.length = 0; this.rttMs.length = 0; this.uptimeS.length = 0;
  }

  /** Loads the flash record; a bad record is ignored (cache left empty) and counted. Returns entries loaded. */
  load(): i32 {
    this.clear();
    this.loaded = 0;
    const p = changetype<usize>(this.buf);
    const n = storageRead(KEY_HOST_CACHE, p, RECORD_MAX);
    if (n < 0) return 0;
    if (!this.parse(p, n)) { this.clear(); this.corrupt++; return 0; }
    this.dirty = false;
    this.loaded = this.ip.length;
    return this.loaded;
  }

  private parse(p: usize, n: i32): bool {
    if (n < HEAD_BYTES + 4 || n > RECORD_MAX) return false;
    const r = new ByteReader().reset(p, n - 4);
    if (r.u8() != 0x48 || r.u8() != 0x43 || r.u8() != 1) return false;
    const count = <i32>r.u8();
    if (count > HC_MAX || n != HEAD_BYTES + count * ENTRY_BYTES + 4) return false;
    const tail = new ByteReader().reset(p + <usize>(n - 4), 4);
    if (tail.u32() != fnv1a(p, n - 4)) return false;
    for (let i = 0; i < count; i++) {
      const ip = r.u32(); const port = <i32>r.u16(); const seen = r.u32(); const rtt = <i32>r.u16(); const up = r.u32();
      if (!r.ok) return false;
      if (ip == 0 || port == 0 || this.find(ip, port) >= 0) continue;
      this.ip.push(ip); this.port.push(port); this.lastSeenS.push(seen); this.rttMs.push(rtt); this.uptimeS.push(up);
    }
    return true;
  }

  /** Writes the whole cache as one atomic flash record. Returns the HAL result (length or error). */
  save(): i32 {
    const p = changetype<usize>(this.buf);
    const w = new ByteWriter().reset(p, RECORD_MAX);
    const count = min(this.ip.length, HC_MAX);
    w.u8(0x48).u8(0x43).u8(1).u8(<u32>count);
    for (let i = 0; i < count; i++) {
      w.u32(this.ip[i]).u16(<u32>this.port[i]).u32(this.lastSeenS[i]).u16(<u32>this.rttMs[i]).u32(this.uptimeS[i]);
    }
    const len = w.pos;
    w.u32(fnv1a(p, len));
    if (!w.ok) return -9;
    this.dirty = false;
    this.saves++;
    return storageWrite(KEY_HOST_CACHE, p, w.pos);
  }
}

/** FNV-1a, 32 bits: an integrity check against torn or corrupted records (not a security measure). */
function fnv1a(p: usize, n: i32): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i = 0; i < n; i++) { h ^= <u32>load<u8>(p + <usize>i); h *= 0x01000193; }
  return h;
}

export const hostCache = new HostCache();
let booted = false;

/** Loads the host cache from flash once per boot (client and supernode roles share it). */
export function hostCacheBoot(): void {
  if (booted) return;
  booted = true;
  const before = hostCache.corrupt;
  const n = hostCache.load();
  if (hostCache.corrupt != before) event("hc.corrupt", "key=2");
  event("hc.loaded", "n=" + n.toString());
}
