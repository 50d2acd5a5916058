import { PresenceRecord } from "../wire/record";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { stats } from "../lib/stats";
import { node } from "./node";
import { copyRecord, dhtSeen } from "./dht";
import { MSG_DHT_CACHE } from "../wire/types";

/**
 * Search results cached at the supernodes along the path (issue #5), with a short TTL: the supernode that ran
 * the lookup keeps the answer, and so does the supernode on the lookup path closest to the key that did not
 * hold it (told with DHT_CACHE [ttlS u16][n u8][record × n], every device's record, as in Kademlia §2.3's caching), so repeated searches for a
 * popular name end early. A cached presence can be up to the TTL old; the authoritative records stay at the k
 * closest supernodes. Negative answers from the login server's directory ("no such user", "exists, not seen")
 * are cached at the searching supernode only, for NEG_TTL_US. At most CACHE_MAX names; when full, expired
 * entries are dropped and, if still full, nothing more is cached until some expire.
 */
export const SEARCH_CACHE_TTL_US: i64 = 30_000_000;
export const NEG_TTL_US: i64 = 10_000_000;
export const CACHE_MAX: i32 = 2000;

export class CachedResult {
  /** Records found (one per device), or empty for a negative answer with `reason`. */
  recs: Array<PresenceRecord> = new Array<PresenceRecord>();
  reason: u8 = 0;
  expiresUs: i64 = 0;
}

export class SearchCache {
  map: Map<string, CachedResult> = new Map<string, CachedResult>();
  hits: u32 = 0;
  stored: u32 = 0;
}

export const searchCache = new SearchCache();

/** The cached answer for `name` still within its TTL, or null. */
export function searchCacheGet(name: string, now: i64): CachedResult | null {
  if (!searchCache.map.has(name)) return null;
  const e = searchCache.map.get(name);
  if (now >= e.expiresUs) { searchCache.map.delete(name); return null; }
  searchCache.hits++;
  return e;
}

function room(now: i64): bool {
  if (searchCache.map.size < CACHE_MAX) return true;
  const ks = searchCache.map.keys();
  for (let i = 0; i < ks.length; i++) if (now >= searchCache.map.get(ks[i]).expiresUs) searchCache.map.delete(ks[i]);
  return searchCache.map.size < CACHE_MAX;
}

/** Caches `recs` (copied; empty = the negative answer `reason`) for `name` until now + ttlUs. */
export function searchCachePut(name: string, recs: Array<PresenceRecord>, reason: u8, now: i64, ttlUs: i64): void {
  if (name.length == 0 || ttlUs <= 0) return;
  if (!searchCache.map.has(name) && !room(now)) return;
  const e = new CachedResult();
  for (let i = 0; i < recs.length; i++) { const c = copyRecord(recs[i]); c.connHandle = -1; e.recs.push(c); }
  e.reason = reason;
  e.expiresUs = now + ttlUs;
  searchCache.map.set(name, e);
  searchCache.stored++;
}

const CACHE_RECORDS_MAX: i32 = 8;

/** Sends DHT_CACHE with `recs` (≤ 8) to the supernode at ip:port (cache them for SEARCH_CACHE_TTL_US). */
export function searchCacheSend(ip: u32, port: i32, recs: Array<PresenceRecord>): void {
  if (node.isSelf(ip, port) || recs.length == 0) return;
  const n = min(recs.length, CACHE_RECORDS_MAX);
  const w = txBegin(MSG_DHT_CACHE).u16(<u32>(SEARCH_CACHE_TTL_US / 1_000_000)).u8(<u32>n);
  for (let i = 0; i < n; i++) recs[i].write(w);
  txSendUdp(node.udpSock, ip, port);
}

/** DHT_CACHE from another supernode: cache the record (TTL capped at ours). */
export function searchCacheOnMsg(srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const ttlS = <i64>r.u16(); const n = <i32>r.u8();
  if (!r.ok || n < 1 || n > CACHE_RECORDS_MAX) { stats.malformed++; return; }
  const recs = new Array<PresenceRecord>();
  for (let i = 0; i < n; i++) {
    const rec = new PresenceRecord();
    if (!rec.read(r)) { stats.malformed++; return; }
    if (i > 0 && rec.user != recs[0].user) { stats.malformed++; return; }
    recs.push(rec);
  }
  dhtSeen(srcIp, srcPort, now);
  let ttl = ttlS * 1_000_000;
  if (ttl > SEARCH_CACHE_TTL_US) ttl = SEARCH_CACHE_TTL_US;
  searchCachePut(recs[0].user, recs, 0, now, ttl);
}
