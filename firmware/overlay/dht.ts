import { presenceRecordOk } from "../sec/presence";
import { node } from "./node";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { stats } from "../lib/stats";
import { PresenceRecord } from "../wire/record";
import { MSG_DHT_FIND, MSG_DHT_FOUND, MSG_DHT_STORE, MSG_DHT_BUSY, PRESENCE_OFFLINE, USER_MAX } from "../wire/types";
import { cryptoSha256 } from "../../hal/crypto";
import { dgram, dgramForget } from "../sec/dgram";

/**
 * The distributed user index among supernodes (issue #5): Kademlia (Maymounkov & Mazières 2002) over 64-bit
 * IDs. A supernode's ID is the first 8 bytes of SHA-256([ip u32][port u16]); a user's key the first 8 bytes of
 * SHA-256(username). Distance is XOR. Each supernode keeps 64 k-buckets (k = 8) of peers, learnt from every
 * DHT message it receives and from its host cache. A lookup asks the α = 3 closest not-yet-asked contacts in
 * parallel (UDP, 500 ms per request) and stops when the k closest known contacts have all answered (or failed),
 * or, for a value lookup, at the first record found. After its join lookup (its own ID) a supernode refreshes
 * its buckets (dhtRefresh, Kademlia §2.3). Presence records are stored at the k closest supernodes,
 * re-published by the user's supernode every 10 minutes while the user is online (and once more, as offline,
 * when the user leaves), and dropped 72 hours after their last refresh.
 *
 * Messages (UDP, supernode ↔ supernode, each sealed by sec/dgram.ts; docs/protocol.md §Distributed index):
 *   DHT_FIND  [txid u32][target u64][wantValue u8][name str8]
 *   DHT_FOUND [txid u32][hasRecord u8]{[record][ageS u32]}[n u8][(ip u32, port u16) × n]
 *   DHT_STORE [ageS u32][record]
 */
export const DHT_K: i32 = 8;
/** Device records of one user in one DHT_FOUND (issue #8: one record per logged-in phone). */
export const FOUND_RECORDS_MAX: i32 = 8;
export const DHT_ALPHA: i32 = 3;
const BUCKETS: i32 = 64;
const RPC_TIMEOUT_US: i64 = 500_000;
/** Records are kept this long after their last refresh. */
export const RECORD_TTL_US: i64 = 72 * 3600 * 1_000_000;
/**
 * A value lookup that found only offline records ends after this many supernodes answered so (or when it
 * converges): one may hold an old session's notice, three agreeing make that unlikely, and waiting for all k
 * made searches for offline users during churn (dead contacts time out) reach p99 1.9 s at 2,000 nodes.
 */
export const OFFLINE_QUORUM: i32 = 3;
/** The user's supernode re-publishes online records this often. */
export const REPUBLISH_US: i64 = 600_000_000;
/** Expired records are purged this often. */
const PURGE_US: i64 = 3600 * 1_000_000;
/** Shortlist length of one lookup. */
const SHORTLIST_MAX: i32 = 3 * DHT_K;
/** A contact silent this long may be replaced in a full bucket. */
const STALE_US: i64 = 900_000_000;
/**
 * Bucket refresh (Kademlia §2.3): a bucket with no lookup into its range for this long is refreshed by a lookup
 * of a random ID in that range. The paper's hour is the steady-state interval; the first pass runs right after
 * the join lookup (all buckets further than the closest neighbour, §2.3), the next REFRESH_FIRST_US later, the
 * interval doubling up to REFRESH_US — while the overlay forms (every supernode joining at about the same
 * time, each with only the bootstrap entries) the routing tables still miss nearby supernodes, and lookups
 * that end at such a table miss the record holders (issue #5: 6 of 1,000 searches at 1,000 nodes).
 */
export const REFRESH_US: i64 = 3600 * 1_000_000;
const REFRESH_FIRST_US: i64 = 30_000_000;

const ST_NEW: u8 = 0, ST_ASKED: u8 = 1, ST_ANSWERED: u8 = 2, ST_FAILED: u8 = 3;

export const LOOKUP_SEARCH: i32 = 0;
export const LOOKUP_PUBLISH: i32 = 1;
/** Bucket refresh lookups (dhtRefresh): nothing to do when they finish, so they never reach `dht.finished`. */
export const LOOKUP_REFRESH: i32 = 3;

const hashBuf = new StaticArray<u8>(64);
const hashOut = new StaticArray<u8>(32);

function first8(): u64 {
  let v: u64 = 0;
  for (let i = 0; i < 8; i++) v = (v << 8) | <u64>hashOut[i];
  return v;
}

/** ID of a supernode endpoint: SHA-256([ip u32][port u16]) truncated to 64 bits. */
export function idOfEndpoint(ip: u32, port: i32): u64 {
  const p = changetype<usize>(hashBuf);
  store<u8>(p, <u8>(ip >> 24)); store<u8>(p + 1, <u8>(ip >> 16)); store<u8>(p + 2, <u8>(ip >> 8)); store<u8>(p + 3, <u8>ip);
  store<u8>(p + 4, <u8>(port >> 8)); store<u8>(p + 5, <u8>port);
  cryptoSha256(p, 6, changetype<usize>(hashOut));
  return first8();
}

/** Index key of a user name: SHA-256(UTF-8 name) truncated to 64 bits. */
export function idOfName(name: string): u64 {
  const b = String.UTF8.encode(name);
  cryptoSha256(changetype<usize>(b), b.byteLength, changetype<usize>(hashOut));
  return first8();
}

export class Contact {
  constructor(public id: u64, public ip: u32, public port: i32, public seenUs: i64) {}
}

export class StoredRecord {
  /** The user's index key (idOfName), computed when first needed. */
  key: u64 = 0;
  keyed: bool = false;
  constructor(public rec: PresenceRecord, public refreshedUs: i64) {}
}

export class Lookup {
  id: u32 = 0;
  target: u64 = 0;
  name: string = "";
  wantValue: bool = false;
  kind: i32 = LOOKUP_SEARCH;
  /** SEARCH: the client connection handle and its txid. */
  clientHandle: i32 = -1;
  clientTxid: u32 = 0;
  /** PUBLISH: the record to store. */
  rec: PresenceRecord | null = null;
  cId: Array<u64> = new Array<u64>();
  cIp: Array<u32> = new Array<u32>();
  cPort: Array<i32> = new Array<i32>();
  cState: Array<u8> = new Array<u8>();
  cTx: Array<u32> = new Array<u32>();
  cSentUs: Array<i64> = new Array<i64>();
  inflight: i32 = 0;
  startUs: i64 = 0;
  /** Requests sent and bytes sent + received for this lookup. */
  msgs: i32 = 0;
  bytes: i32 = 0;
  found: PresenceRecord | null = null;
  /** The supernode whose answer ended a value lookup (search caching skips it). */
  foundIp: u32 = 0;
  foundPort: i32 = 0;
  foundRefreshedUs: i64 = 0;
  /** Value lookups: the user's device records found (issue #8), one per device (foundMerge), and when each was refreshed. */
  foundAll: Array<PresenceRecord> = new Array<PresenceRecord>();
  foundAllUs: Array<i64> = new Array<i64>();
  /** Value lookups: answers so far with records of the user, all offline (OFFLINE_QUORUM ends the lookup). */
  offlineAnswers: i32 = 0;
  done: bool = false;
}

export class Dht {
  selfId: u64 = 0;
  buckets: Array<Array<Contact>> = new Array<Array<Contact>>();
  /** Stored presence records, one per device, keyed by routing address `user/devid` (issue #8). */
  records: Map<string, StoredRecord> = new Map<string, StoredRecord>();
  /** User name → the addresses of its stored device records. */
  users: Map<string, Array<string>> = new Map<string, Array<string>>();
  lookups: Map<u32, Lookup> = new Map<u32, Lookup>();
  /** RPC txid → lookup id. */
  rpcs: Map<u32, u32> = new Map<u32, u32>();
  nextId: u32 = 1;
  nextTx: u32 = 1;
  purgeUs: i64 = NEVER;
  /** Finished lookups wait here for the supernode to act on them (supernode.ts). */
  finished: Array<Lookup> = new Array<Lookup>();
  stored: u32 = 0;
  /** Offline notices refused because the device is online at another supernode since (dhtPut). */
  staleOffline: u32 = 0;
  expired: u32 = 0;
  /** Load shedding: DHT_STOREs refused (records at `snMaxRecords`), and DHT_BUSY answers we got. */
  refused: u32 = 0;
  busyGot: u32 = 0;
  /** Records handed to newly learnt closer supernodes (replicateTo). */
  replicated: u32 = 0;
  /** Last full purge of expired records forced by a full store (at most every FULL_PURGE_US). */
  fullPurgeUs: i64 = -10_000_000;
  /** Per bucket: when a lookup last targeted its range (Kademlia §2.3 refresh). */
  bucketLookupUs: Array<i64> = new Array<i64>();
  /** Next refresh pass (NEVER before the join lookup has finished) and the interval after it. */
  refreshUs: i64 = NEVER;
  refreshEveryUs: i64 = REFRESH_FIRST_US;
  /** Refresh lookups started. */
  refreshes: u32 = 0;
}

export const dht = new Dht();

export function dhtStart(now: i64): void {
  dht.selfId = idOfEndpoint(node.localIp, node.port);
  for (let i = 0; i < BUCKETS; i++) { dht.buckets.push(new Array<Contact>()); dht.bucketLookupUs.push(now); }
  dht.purgeUs = now + PURGE_US;
}

/**
 * Refresh pass (Kademlia §2.3): for every bucket from the one of our closest known neighbour up to the
 * farthest, a lookup of a random ID in its range — only buckets with no lookup for `dht.refreshEveryUs`
 * unless `all`. The lookups fill our buckets and tell the supernodes near each ID about us.
 */
export function dhtRefresh(now: i64, all: bool): void {
  let lo = 0;
  while (lo < BUCKETS && dht.buckets[lo].length == 0) lo++;
  for (let b = lo; b < BUCKETS; b++) {
    if (!all && now - dht.bucketLookupUs[b] < dht.refreshEveryUs) continue;
    const rnd = (<u64>node.prngOverlay.next() << 32) | <u64>node.prngOverlay.next();
    const top: u64 = <u64>1 << <u64>b;
    dht.refreshes++;
    dhtLookup(LOOKUP_REFRESH, "", false, now, dht.selfId ^ (top | (rnd & (top - 1))));
  }
}

@inline function bucketOf(id: u64): i32 {
  const d = id ^ dht.selfId;
  return d == 0 ? -1 : 63 - <i32>clz(d);
}

/** Learns (or refreshes) a supernode contact. A full bucket keeps its entries unless one is stale. */
export function dhtSeen(ip: u32, port: i32, now: i64): void {
  if (dht.buckets.length == 0 || ip == 0 || (ip == node.localIp && port == node.port)) return;
  const id = idOfEndpoint(ip, port);
  const b = bucketOf(id);
  if (b < 0) return;
  const bucket = dht.buckets[b];
  for (let i = 0; i < bucket.length; i++) {
    if (bucket[i].id == id) { bucket[i].seenUs = now; return; }
  }
  if (bucket.length < DHT_K) { bucket.push(new Contact(id, ip, port, now)); replicateTo(id, ip, port, now); return; }
  let oldest = 0;
  for (let i = 1; i < bucket.length; i++) if (bucket[i].seenUs < bucket[oldest].seenUs) oldest = i;
  if (now - bucket[oldest].seenUs > STALE_US) { bucket[oldest] = new Contact(id, ip, port, now); replicateTo(id, ip, port, now); }
}

/** Most records handed to one newly learnt contact at once. */
const REPLICATE_MAX: i32 = 64;

/**
 * Kademlia §2.5 (store on join): a supernode newly learnt that is closer than we are to a stored record's key
 * gets a copy. Records published while the overlay was still forming — the publisher's lookup converging on
 * the closest supernodes it could find then, not the true k closest — thus move to where later lookups look.
 * (It did not remove the steady-state search misses seen at 1,000 nodes; see the issue #5 note.)
 */
function replicateTo(id: u64, ip: u32, port: i32, now: i64): void {
  const names = dht.records.keys();
  let sent = 0;
  for (let i = 0; i < names.length && sent < REPLICATE_MAX; i++) {
    const s = dht.records.get(names[i]);
    if (now - s.refreshedUs > RECORD_TTL_US) continue;
    if (!s.keyed) { s.key = idOfName(s.rec.user); s.keyed = true; }
    if ((id ^ s.key) >= (dht.selfId ^ s.key)) continue;
    dht.replicated++;
    dhtStoreAt(ip, port, s.rec, s.refreshedUs, now);
    sent++;
  }
}

function forget(ip: u32, port: i32): void {
  const id = idOfEndpoint(ip, port);
  const b = bucketOf(id);
  if (b < 0) return;
  const bucket = dht.buckets[b];
  dgramForget(ip, port); // a silent peer may have lost our session (reboot): the next contact starts a new one
  for (let i = 0; i < bucket.length; i++) if (bucket[i].id == id) { bucket.splice(i, 1); return; }
}

/** The n known contacts closest to target (XOR), closest first; excludes ip:port `skipIp:skipPort`. */
export function dhtClosest(target: u64, n: i32, skipIp: u32, skipPort: i32): Array<Contact> {
  const out = new Array<Contact>();
  for (let b = 0; b < dht.buckets.length; b++) {
    const bucket = dht.buckets[b];
    for (let i = 0; i < bucket.length; i++) {
      const c = bucket[i];
      if (c.ip == skipIp && c.port == skipPort) continue;
      const d = c.id ^ target;
      let j = out.length;
      if (j >= n && (out[n - 1].id ^ target) <= d) continue;
      out.push(c);
      while (j > 0 && (out[j - 1].id ^ target) > d) { out[j] = out[j - 1]; j--; }
      out[j] = c;
      if (out.length > n) out.length = n;
    }
  }
  return out;
}

/** The stored record of device address `addr` still within its 72 h, or null. */
export function dhtGetAddr(addr: string, now: i64): StoredRecord | null {
  if (!dht.records.has(addr)) return null;
  const s = dht.records.get(addr);
  if (now - s.refreshedUs > RECORD_TTL_US) {
    dht.records.delete(addr); dht.expired++;
    const user = s.rec.user;
    if (dht.users.has(user)) {
      const a = dht.users.get(user);
      const i = a.indexOf(addr);
      if (i >= 0) a.splice(i, 1);
      if (a.length == 0) dht.users.delete(user);
    }
    return null;
  }
  return s;
}

/** Every stored device record of `user` still within its 72 h (issue #8: one per device). */
export function dhtGetAll(user: string, now: i64): Array<StoredRecord> {
  const out = new Array<StoredRecord>();
  if (!dht.users.has(user)) return out;
  const addrs = dht.users.get(user).slice(0);
  for (let i = 0; i < addrs.length; i++) { const s = dhtGetAddr(addrs[i], now); if (s !== null) out.push(s); }
  return out;
}

/** The user's best stored record (an online device first, then the most recently refreshed), or null. */
export function dhtGet(user: string, now: i64): StoredRecord | null {
  const all = dhtGetAll(user, now);
  let best: StoredRecord | null = null;
  for (let i = 0; i < all.length; i++) {
    const s = all[i];
    if (best === null) { best = s; continue; }
    const bOn = best.rec.status != 0, sOn = s.rec.status != 0;
    if ((sOn && !bOn) || (sOn == bOn && s.refreshedUs > best.refreshedUs)) best = s;
  }
  return best;
}

/** Stores a record refreshed at refreshedUs unless we hold a newer one for the same device. */
export function dhtPut(rec: PresenceRecord, refreshedUs: i64): void {
  const addr = rec.addr();
  if (dht.records.has(addr)) {
    const held = dht.records.get(addr);
    if (held.refreshedUs > refreshedUs) return;
    // An offline notice from a supernode the device has left (it noticed the old connection die only after the
    // device logged in elsewhere) must not hide that newer login: offline counts only from the device's current
    // supernode. Found by the 2,000-node login storm (9 of 500 searches after it answered "offline").
    if (rec.status == 0 && held.rec.status != 0 && (held.rec.snIp != rec.snIp || held.rec.snPort != rec.snPort)) { dht.staleOffline++; return; }
  }
  rec.connHandle = -1;
  dht.records.set(addr, new StoredRecord(rec, refreshedUs));
  if (!dht.users.has(rec.user)) dht.users.set(rec.user, new Array<string>());
  const a = dht.users.get(rec.user);
  if (!a.includes(addr)) a.push(addr);
  dht.stored++;
}

function shortlistAdd(l: Lookup, id: u64, ip: u32, port: i32, state: u8): void {
  for (let i = 0; i < l.cId.length; i++) if (l.cId[i] == id) return;
  const d = id ^ l.target;
  let j = l.cId.length;
  if (j >= SHORTLIST_MAX && (l.cId[j - 1] ^ l.target) <= d) return;
  l.cId.push(id); l.cIp.push(ip); l.cPort.push(port); l.cState.push(state); l.cTx.push(0); l.cSentUs.push(0);
  while (j > 0 && (l.cId[j - 1] ^ l.target) > d) {
    l.cId[j] = l.cId[j - 1]; l.cIp[j] = l.cIp[j - 1]; l.cPort[j] = l.cPort[j - 1];
    l.cState[j] = l.cState[j - 1]; l.cTx[j] = l.cTx[j - 1]; l.cSentUs[j] = l.cSentUs[j - 1];
    j--;
  }
  l.cId[j] = id; l.cIp[j] = ip; l.cPort[j] = port; l.cState[j] = state; l.cTx[j] = 0; l.cSentUs[j] = 0;
  if (l.cId.length > SHORTLIST_MAX) {
    const n = SHORTLIST_MAX;
    if (l.cState[n] == ST_ASKED) l.inflight--;
    l.cId.length = n; l.cIp.length = n; l.cPort.length = n; l.cState.length = n; l.cTx.length = n; l.cSentUs.length = n;
  }
}

/**
 * Starts a lookup for `name` (this node itself counts as an answered contact), with `known` records of the name
 * already found (value lookups). Returns it.
 */
export const LOOKUP_JOIN: i32 = 2;

export function dhtLookup(kind: i32, name: string, wantValue: bool, now: i64, target: u64 = 0, known: Array<StoredRecord> | null = null): Lookup {
  const l = new Lookup();
  // A search that starts with records of our own (offline ones: search() in supernode.ts) weighs them like answers.
  if (known !== null && known.length > 0) {
    for (let i = 0; i < known.length; i++) foundMerge(l, known[i].rec, known[i].refreshedUs, node.localIp, node.port);
    l.offlineAnswers = 1;
  }
  l.id = dht.nextId++;
  l.kind = kind; l.name = name; l.wantValue = wantValue;
  l.target = name.length > 0 ? idOfName(name) : target;
  l.startUs = now;
  const tb = bucketOf(l.target);
  if (tb >= 0 && tb < dht.bucketLookupUs.length) dht.bucketLookupUs[tb] = now;
  shortlistAdd(l, dht.selfId, node.localIp, node.port, ST_ANSWERED);
  const seed = dhtClosest(l.target, DHT_K, 0, 0);
  for (let i = 0; i < seed.length; i++) shortlistAdd(l, seed[i].id, seed[i].ip, seed[i].port, ST_NEW);
  dht.lookups.set(l.id, l);
  step(l, now);
  return l;
}

/** Sends requests up to α in flight; finishes the lookup when the k closest have all answered or failed. */
function step(l: Lookup, now: i64): void {
  if (l.done) return;
  let considered = 0;
  let pending = false;
  for (let i = 0; i < l.cId.length && considered < DHT_K; i++) {
    const st = l.cState[i];
    if (st == ST_FAILED) continue;
    considered++;
    if (st == ST_NEW) {
      if (l.inflight >= DHT_ALPHA) { pending = true; continue; }
      const txid = dht.nextTx++;
      const w = txBegin(MSG_DHT_FIND).u32(txid).u32(<u32>(l.target >> 32)).u32(<u32>l.target).u8(l.wantValue ? 1 : 0).str8(l.wantValue ? l.name : "");
      const plain = w.pos;
      // Wire bytes: sealed (sec/dgram.ts), with the handshake when this is a first contact.
      const sent = txSendUdp(node.udpSock, l.cIp[i], l.cPort[i]);
      l.bytes += sent > 0 ? sent : plain;
      l.cState[i] = ST_ASKED; l.cTx[i] = txid; l.cSentUs[i] = now;
      dht.rpcs.set(txid, l.id);
      l.inflight++; l.msgs++;
    }
  }
  if (l.inflight == 0 && !pending) finish(l, now);
}

function finish(l: Lookup, now: i64): void {
  if (l.done) return;
  l.done = true;
  for (let i = 0; i < l.cTx.length; i++) if (l.cState[i] == ST_ASKED && dht.rpcs.has(l.cTx[i])) dht.rpcs.delete(l.cTx[i]);
  dht.lookups.delete(l.id);
  if (l.kind == LOOKUP_REFRESH) return;
  dht.finished.push(l);
  // Kademlia §2.3: after the join lookup of our own ID, refresh every bucket further than our closest neighbour.
  if (l.kind == LOOKUP_JOIN) {
    dhtRefresh(now, true);
    dht.refreshEveryUs = REFRESH_FIRST_US;
    dht.refreshUs = now + dht.refreshEveryUs;
  }
}

/** The k closest answered contacts of a finished lookup (this node included when it is one of them). */
export function dhtLookupClosest(l: Lookup): Array<i32> {
  const out = new Array<i32>();
  for (let i = 0; i < l.cId.length && out.length < DHT_K; i++) if (l.cState[i] == ST_ANSWERED) out.push(i);
  return out;
}

/** Sends our copy of `rec` (refreshed at refreshedUs) to ip:port, or stores it here when that is us. */
export function dhtStoreAt(ip: u32, port: i32, rec: PresenceRecord, refreshedUs: i64, now: i64): i32 {
  if (ip == node.localIp && port == node.port) {
    if (dhtRoomFor(rec, now)) dhtPut(copyRecord(rec), refreshedUs); else dht.refused++;
    return 0;
  }
  const ageS = <u32>((now - refreshedUs) / 1_000_000);
  const w = txBegin(MSG_DHT_STORE).u32(ageS);
  rec.write(w);
  const n = w.pos;
  txSendUdp(node.udpSock, ip, port);
  return n;
}

export function copyRecord(r: PresenceRecord): PresenceRecord {
  const c = new PresenceRecord();
  c.user = r.user; c.status = r.status; c.snIp = r.snIp; c.snPort = r.snPort;
  c.reflexIp = r.reflexIp; c.reflexPort = r.reflexPort; c.localIp = r.localIp; c.localPort = r.localPort;
  c.flags = r.flags; c.tcpPort = r.tcpPort; c.updatedUs = r.updatedUs; c.devId = r.devId;
  c.setCert(r.certPtr(), r.certLen);
  return c;
}

/**
 * DHT_FIND from another supernode: answers with a record (value lookups, when we hold one; `local` is the
 * supernode's own authoritative record for its client, if any) and our k closest contacts to the target.
 */
export function dhtOnFind(srcIp: u32, srcPort: i32, r: ByteReader, local: Array<PresenceRecord>, now: i64): void {
  const txid = r.u32(); const hi = r.u32(); const lo = r.u32(); const want = r.u8(); const name = r.str8(USER_MAX);
  if (!r.ok) { stats.malformed++; return; }
  dhtSeen(srcIp, srcPort, now);
  const target = (<u64>hi << 32) | <u64>lo;
  const w = txBegin(MSG_DHT_FOUND).u32(txid);
  // Issue #8: every device record of the user (our own clients' authoritative ones first), at most
  // FOUND_RECORDS_MAX; the count byte was hasRecord (0/1) before, so old single-record answers still parse.
  const recs = new Array<PresenceRecord>();
  const ages = new Array<u32>();
  if (want != 0 && name.length > 0) {
    for (let i = 0; i < local.length && recs.length < FOUND_RECORDS_MAX; i++) { recs.push(local[i]); ages.push(0); }
    const all = dhtGetAll(name, now);
    for (let i = 0; i < all.length && recs.length < FOUND_RECORDS_MAX; i++) {
      let dup = false;
      for (let j = 0; j < recs.length; j++) if (recs[j].devId == all[i].rec.devId) dup = true;
      if (!dup) { recs.push(all[i].rec); ages.push(<u32>((now - all[i].refreshedUs) / 1_000_000)); }
    }
  }
  w.u8(<u32>recs.length);
  for (let i = 0; i < recs.length; i++) { recs[i].write(w); w.u32(ages[i]); }
  const cs = dhtClosest(target, DHT_K, srcIp, srcPort);
  w.u8(<u32>cs.length);
  for (let i = 0; i < cs.length; i++) w.u32(cs[i].ip).u16(<u32>cs[i].port);
  txSendUdp(node.udpSock, srcIp, srcPort);
}

/** DHT_FOUND: an answer to one of our lookups' requests. */
export function dhtOnFound(srcIp: u32, srcPort: i32, r: ByteReader, len: i32, now: i64): void {
  const txid = r.u32(); const has = <i32>r.u8();
  if (!r.ok || has > FOUND_RECORDS_MAX) { stats.malformed++; return; }
  if (!dht.rpcs.has(txid)) { stats.unexpected++; return; }
  const lid = dht.rpcs.get(txid);
  dht.rpcs.delete(txid);
  dhtSeen(srcIp, srcPort, now);
  if (!dht.lookups.has(lid)) return;
  const l = dht.lookups.get(lid);
  const recs = new Array<PresenceRecord>();
  const recAgeS = new Array<u32>();
  let online = false;
  for (let i = 0; i < has; i++) {
    const one = new PresenceRecord();
    if (!one.read(r)) { stats.malformed++; return; }
    const a = r.u32();
    if (!presenceRecordOk(one.user, one.certPtr(), one.certLen, now, one.status == 0)) continue; // issue #7: uncertified → ignored (offline: 72 h grace)
    if (one.user != l.name) continue;
    recs.push(one); recAgeS.push(a);
    if (one.status != PRESENCE_OFFLINE) online = true;
  }
  const n = <i32>r.u8();
  if (!r.ok || n > 32) { stats.malformed++; return; }
  l.bytes += len + 1 + dgram.rxOverhead; // the sealed datagram's bytes (sec/dgram.ts)
  for (let i = 0; i < l.cTx.length; i++) {
    if (l.cTx[i] == txid && l.cState[i] == ST_ASKED) { l.cState[i] = ST_ANSWERED; l.inflight--; break; }
  }
  for (let i = 0; i < n; i++) {
    const ip = r.u32(); const port = <i32>r.u16();
    if (!r.ok) { stats.malformed++; break; }
    if (ip == node.localIp && port == node.port) continue;
    shortlistAdd(l, idOfEndpoint(ip, port), ip, port, ST_NEW);
  }
  if (recs.length > 0 && l.wantValue) {
    for (let i = 0; i < recs.length; i++) foundMerge(l, recs[i], now - <i64>recAgeS[i] * 1_000_000, srcIp, srcPort);
    // An online device ends the search at once. One offline-only answer does not: a supernode outside the k
    // closest may still hold the offline notice of an earlier session while the k closest hold the device's
    // newer login (found at 2,000 nodes after a login storm: 4–9 of 500 searches answered "offline"). The
    // lookup goes on until OFFLINE_QUORUM supernodes answered offline (or it converges); per device the
    // freshest record wins.
    if (online || ++l.offlineAnswers >= OFFLINE_QUORUM) { finish(l, now); return; }
  }
  step(l, now);
}

/** Online beats offline, then the more recently refreshed record. */
function fresher(a: PresenceRecord, aUs: i64, b: PresenceRecord, bUs: i64): bool {
  const aOn = a.status != PRESENCE_OFFLINE, bOn = b.status != PRESENCE_OFFLINE;
  return aOn != bOn ? aOn : aUs > bUs;
}

/**
 * Adds a device record found by a value lookup, refreshed at refreshedUs. One record per device (foundAll): an
 * online one beats an offline one, then the most recently refreshed wins. l.found is the best of them, and
 * l.foundIp:foundPort the supernode that gave it.
 */
function foundMerge(l: Lookup, rec: PresenceRecord, refreshedUs: i64, srcIp: u32, srcPort: i32): void {
  let k = -1;
  for (let i = 0; i < l.foundAll.length; i++) if (l.foundAll[i].devId == rec.devId) { k = i; break; }
  if (k < 0) { l.foundAll.push(rec); l.foundAllUs.push(refreshedUs); }
  else if (fresher(rec, refreshedUs, l.foundAll[k], l.foundAllUs[k])) { l.foundAll[k] = rec; l.foundAllUs[k] = refreshedUs; }
  else return;
  const f = l.found;
  if (f === null || f.devId == rec.devId || fresher(rec, refreshedUs, f, l.foundRefreshedUs)) {
    l.found = rec; l.foundRefreshedUs = refreshedUs; l.foundIp = srcIp; l.foundPort = srcPort;
  }
}

/** DHT_STORE: keep the record (72 h after its last refresh). */
export function dhtOnStore(srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const ageS = r.u32();
  const rec = new PresenceRecord();
  if (!rec.read(r)) { stats.malformed++; return; }
  dhtSeen(srcIp, srcPort, now);
  if (!presenceRecordOk(rec.user, rec.certPtr(), rec.certLen, now, rec.status == 0)) return; // issue #7: certified records only (offline: 72 h grace)
  if (!dhtRoomFor(rec, now)) {
    // Load shedding (issue #5): refuse rather than grow past the limit; the publisher is told.
    dht.refused++;
    txBegin(MSG_DHT_BUSY).str8(rec.user);
    txSendUdp(node.udpSock, srcIp, srcPort);
    return;
  }
  dhtPut(rec, now - <i64>ageS * 1_000_000);
}

const FULL_PURGE_US: i64 = 10_000_000;

/** Whether a record for rec's device may be stored: an update always, a new one while under `snMaxRecords`. */
export function dhtRoomFor(rec: PresenceRecord, now: i64): bool {
  if (dht.records.has(rec.addr())) return true;
  const max = node.cfg.snMaxRecords;
  if (dht.records.size < max) return true;
  if (now - dht.fullPurgeUs >= FULL_PURGE_US) {
    dht.fullPurgeUs = now;
    const names = dht.records.keys();
    for (let i = 0; i < names.length; i++) dhtGetAddr(names[i], now);
  }
  return dht.records.size < max;
}

/** DHT_BUSY [name str8]: a supernode refused to store our record (it is at its limit). Counted; the record lives at the other k − 1. */
export function dhtOnBusy(srcIp: u32, srcPort: i32, r: ByteReader): bool {
  const name = r.str8(USER_MAX);
  if (!r.ok) { stats.malformed++; return false; }
  dht.busyGot++;
  return true;
}

export function dhtDeadline(): i64 {
  let d = dht.purgeUs;
  if (dht.refreshUs < d) d = dht.refreshUs;
  const ls = dht.lookups.values();
  for (let k = 0; k < ls.length; k++) {
    const l = ls[k];
    for (let i = 0; i < l.cState.length; i++) if (l.cState[i] == ST_ASKED && l.cSentUs[i] + RPC_TIMEOUT_US < d) d = l.cSentUs[i] + RPC_TIMEOUT_US;
  }
  return d;
}

/** Request timeouts (the silent contact is dropped from the routing table) and the hourly purge. */
export function dhtTick(now: i64): void {
  const ls = dht.lookups.values();
  for (let k = 0; k < ls.length; k++) {
    const l = ls[k];
    let changed = false;
    for (let i = 0; i < l.cState.length; i++) {
      if (l.cState[i] == ST_ASKED && now >= l.cSentUs[i] + RPC_TIMEOUT_US) {
        l.cState[i] = ST_FAILED; l.inflight--; changed = true;
        if (dht.rpcs.has(l.cTx[i])) dht.rpcs.delete(l.cTx[i]);
        forget(l.cIp[i], l.cPort[i]);
      }
    }
    if (changed) step(l, now);
  }
  if (now >= dht.refreshUs) {
    dhtRefresh(now, false);
    dht.refreshEveryUs = dht.refreshEveryUs * 2 < REFRESH_US ? dht.refreshEveryUs * 2 : REFRESH_US;
    dht.refreshUs = now + dht.refreshEveryUs;
  }
  if (now >= dht.purgeUs) {
    dht.purgeUs = now + PURGE_US;
    const names = dht.records.keys();
    for (let i = 0; i < names.length; i++) dhtGetAddr(names[i], now);
  }
}
