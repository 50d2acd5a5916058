import { node } from "../overlay/node";
import { Conn, connGet, connSend } from "../overlay/conns";
import { sn, peerConn, snLookupsFinished } from "../overlay/supernode";
import { dhtLookup, dhtLookupClosest, Lookup } from "../overlay/dht";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import {
  ADDR_MAX, MSG_DHT_IM_GET, MSG_DHT_IM_HELD, MSG_DHT_IM_STORE, MSG_IM, MSG_IM_ACK, MSG_IM_ACK_SEALED, MSG_IM_FETCH, MSG_IM_FWD, MSG_IM_HOLD,
  MSG_IM_SEND, USER_MAX,
} from "../wire/types";

/**
 * The supernode side of instant messages (issue #8): forwarding between supernodes, and offline delivery with
 * no central message server — messages for a user with no device online are held by the user's index
 * supernodes (the k closest to the user's key in the DHT, the same ones that hold its presence records) for
 * up to 72 hours and fetched by the user's next login.
 *
 *   IM_SEND  SC→SN  [toAddr str8][toSnIp u32][toSnPort u16][inner]   our client → a device (its SN given)
 *   IM_FWD   SN→SN  [toAddr str8][inner];  SN→SC [inner]
 *   IM_HOLD  SC→SN  [toUser str8][inner IM]        → lookup → DHT_IM_STORE to the k closest
 *   IM_FETCH SC→SN  [user str8]                    → lookup → DHT_IM_GET to the k closest; answers collected
 *                                                    for FETCH_COLLECT_US, de-duplicated, sorted by seq,
 *                                                    then sent to the client as IM_FWD
 *   DHT_IM_STORE SN→SN UDP [ageS u32][toUser str8][len u16][inner IM]
 *   DHT_IM_GET   SN→SN UDP [txid u32][user str8]
 *   DHT_IM_HELD  SN→SN UDP [txid u32][len u16][inner IM]   (one datagram per held message)
 *
 * Limits (a supernode's memory is not a mailbox): HELD_PER_USER messages per user (oldest dropped first),
 * HELD_BYTES_MAX in all; held messages stay until 72 h after they were first stored (not deleted on fetch:
 * every device of the user may fetch them, and devices drop duplicates with their persisted seq windows).
 *
 * Only ciphertext is held (issue #7): the sender seals each fragment to each of the user's devices (Noise_X,
 * firmware/im/seal.ts), the inner IM's toUser field is then that device's address `user/devid`, and a holder
 * refuses any inner IM without the HELD and SEALED flags (`sn.im.refused reason=clear`). Copies are
 * de-duplicated by their exact bytes, so a holder that alters a copy cannot suppress the intact ones of the
 * other holders (the device rejects the altered one and counts it); a fetch hands a device only its own copies.
 */
export const HELD_TTL_US: i64 = 72 * 3600 * 1_000_000;
const HELD_PER_USER: i32 = 200;
const HELD_BYTES_MAX: i32 = 1 << 20;
const FETCH_COLLECT_US: i64 = 800_000;
const LOOKUP_IM_HOLD: i32 = 10;
const LOOKUP_IM_FETCH: i32 = 11;
const INNER_MAX: i32 = 1400;
/** IM flags (firmware/im/im.ts): a held copy must be both. */
const F_SEALED: u8 = 2;
const F_HELD: u8 = 4;

class Held {
  /** The device address it is sealed to (the inner IM's toUser field). */
  to: string = "";
  flags: u8 = 0;
  constructor(public data: StaticArray<u8>, public from: string, public seq: u32, public storedUs: i64) {}
}

class Op {
  constructor(public kind: i32, public user: string, public data: StaticArray<u8> | null, public clientHandle: i32) {}
}

class Fetch {
  items: Array<Held> = new Array<Held>();
  constructor(public clientHandle: i32, public user: string, public untilUs: i64) {}
}

export class ImHold {
  held: Map<string, Array<Held>> = new Map<string, Array<Held>>();
  bytes: i32 = 0;
  ops: Map<u32, Op> = new Map<u32, Op>();
  fetches: Map<u32, Fetch> = new Map<u32, Fetch>();
  nextTx: u32 = 1;
  purgeUs: i64 = NEVER;
  forwarded: u32 = 0;
  dropped: u32 = 0;
  stored: u32 = 0;
  expired: u32 = 0;
  /** Held IMs refused because they were not sealed (clear text is never held). */
  refused: u32 = 0;
  /** Receipts forwarded (IM_SEND/IM_FWD inner type): in clear (online IMs) and sealed (held IMs). */
  acksClear: u32 = 0;
  acksSealed: u32 = 0;
}
export const imHold = new ImHold();

function copyOut(p: usize, n: i32): StaticArray<u8> {
  const a = new StaticArray<u8>(n);
  if (n > 0) memory.copy(changetype<usize>(a), p, <usize>n);
  return a;
}

/** Reads flags, sender address, device address and seq of an inner IM ([type][flags][from str8][12 bytes][to str8][seq]). */
function parseInner(d: StaticArray<u8>, h: Held): bool {
  const r = new ByteReader().reset(changetype<usize>(d), d.length);
  if (<u8>r.u8() != MSG_IM) return false;
  h.flags = <u8>r.u8();
  h.from = r.str8(ADDR_MAX);
  r.take(12);
  h.to = r.str8(ADDR_MAX);
  h.seq = r.u32();
  return r.ok && h.from.length > 0;
}

/** Counts a receipt we forward, by the inner type byte at p. */
function countAck(p: usize, n: i32): void {
  if (n < 1) return;
  const t = load<u8>(p);
  if (t == MSG_IM_ACK) imHold.acksClear++;
  else if (t == MSG_IM_ACK_SEALED) imHold.acksSealed++;
}

function deliverLocal(addr: string, p: usize, n: i32): bool {
  if (!sn.index.has(addr)) return false;
  const rec = sn.index.get(addr);
  if (rec.connHandle < 0) return false;
  const c = connGet(rec.connHandle);
  if (c === null) return false;
  txBegin(MSG_IM_FWD).bytes(p, n);
  connSend(c);
  imHold.forwarded++;
  return true;
}

/** A frame from one of our clients. Returns false when the type is not an IM one. */
export function imSnOnClientFrame(c: Conn, type: u8, r: ByteReader, now: i64): bool {
  if (type == MSG_IM_SEND) {
    const to = r.str8(ADDR_MAX); const snIp = r.u32(); const snPort = <i32>r.u16();
    const n = r.remaining(); const p = r.take(n);
    if (!r.ok || n < 1 || to.length == 0) { stats.malformed++; return true; }
    countAck(p, n);
    if (deliverLocal(to, p, n)) return true;
    if (node.isSelf(snIp, snPort) || snIp == 0) { imHold.dropped++; stats.relayDropped++; return true; }
    const peer = peerConn(snIp, snPort, now);
    if (peer === null) { imHold.dropped++; return true; }
    txBegin(MSG_IM_FWD).str8(to).bytes(p, n);
    connSend(peer);
    imHold.forwarded++;
    return true;
  }
  if (type == MSG_IM_HOLD) {
    const to = r.str8(USER_MAX);
    const n = r.remaining(); const p = r.take(n);
    if (!r.ok || to.length == 0 || n < 2 || n > INNER_MAX) { stats.malformed++; return true; }
    startOp(LOOKUP_IM_HOLD, to, copyOut(p, n), -1, now);
    return true;
  }
  if (type == MSG_IM_FETCH) {
    const user = r.str8(USER_MAX);
    if (!r.ok || user.length == 0) { stats.malformed++; return true; }
    // Only for the user this connection published (PUBLISH comes first on the same connection).
    if (user != c.user) { stats.unexpected++; return true; }
    startOp(LOOKUP_IM_FETCH, user, null, c.handle, now);
    return true;
  }
  return false;
}

/** A frame from a peer supernode: IM_FWD [toAddr][inner] for one of our clients. */
export function imSnOnPeerFrame(c: Conn, type: u8, r: ByteReader, now: i64): bool {
  if (type != MSG_IM_FWD) return false;
  const to = r.str8(ADDR_MAX);
  const n = r.remaining(); const p = r.take(n);
  if (!r.ok || n < 1) { stats.malformed++; return true; }
  if (!deliverLocal(to, p, n)) { imHold.dropped++; stats.relayDropped++; }
  return true;
}

function startOp(kind: i32, user: string, data: StaticArray<u8> | null, handle: i32, now: i64): void {
  const l = dhtLookup(kind, user, false, now);
  imHold.ops.set(l.id, new Op(kind, user, data, handle));
  snLookupsFinished(now);
}

/** A finished DHT lookup of ours (called by the supernode for lookup kinds it does not know). */
export function imSnLookupDone(l: Lookup, now: i64): void {
  if (!imHold.ops.has(l.id)) return;
  const op = imHold.ops.get(l.id);
  imHold.ops.delete(l.id);
  const idx = dhtLookupClosest(l);
  if (op.kind == LOOKUP_IM_HOLD) {
    const d = op.data;
    if (d === null) return;
    for (let i = 0; i < idx.length; i++) {
      const ip = l.cIp[idx[i]], port = l.cPort[idx[i]];
      if (node.isSelf(ip, port)) { store(op.user, d, now); continue; }
      txBegin(MSG_DHT_IM_STORE).u32(0).str8(op.user).u16(<u32>d.length).bytes(changetype<usize>(d), d.length);
      txSendUdp(node.udpSock, ip, port);
    }
    event("sn.im.hold", "user=" + op.user + " holders=" + idx.length.toString());
  } else if (op.kind == LOOKUP_IM_FETCH) {
    const txid = imHold.nextTx++;
    const f = new Fetch(op.clientHandle, op.user, now + FETCH_COLLECT_US);
    imHold.fetches.set(txid, f);
    for (let i = 0; i < idx.length; i++) {
      const ip = l.cIp[idx[i]], port = l.cPort[idx[i]];
      if (node.isSelf(ip, port)) { collectLocal(f, now); continue; }
      txBegin(MSG_DHT_IM_GET).u32(txid).str8(op.user);
      txSendUdp(node.udpSock, ip, port);
    }
  }
}

/** Same bytes already in list (copies that differ are all kept: a device tells the genuine one by its seal). */
function isDup(list: Array<Held>, h: Held): bool {
  for (let i = 0; i < list.length; i++) {
    const d = list[i].data;
    if (list[i].seq == h.seq && d.length == h.data.length && memory.compare(changetype<usize>(d), changetype<usize>(h.data), <usize>d.length) == 0) return true;
  }
  return false;
}

/** Keeps a held message for `user` (72 h from storedUs), unless we have it already. */
function store(user: string, d: StaticArray<u8>, storedUs: i64): void {
  const h = new Held(d, "", 0, storedUs);
  if (!parseInner(d, h)) { stats.malformed++; return; }
  if ((h.flags & (F_SEALED | F_HELD)) != (F_SEALED | F_HELD)) {
    imHold.refused++;
    event("sn.im.refused", "user=" + user + " reason=clear");
    return;
  }
  if (!imHold.held.has(user)) imHold.held.set(user, new Array<Held>());
  const list = imHold.held.get(user);
  if (isDup(list, h)) return;
  if (imHold.bytes + d.length > HELD_BYTES_MAX) { imHold.dropped++; return; }
  if (list.length >= HELD_PER_USER) { imHold.bytes -= list[0].data.length; list.shift(); imHold.dropped++; }
  list.push(h);
  imHold.bytes += d.length;
  imHold.stored++;
  if (imHold.purgeUs == NEVER) imHold.purgeUs = storedUs + 3600 * 1_000_000;
}

function liveHeld(user: string, now: i64): Array<Held> {
  if (!imHold.held.has(user)) return new Array<Held>();
  const list = imHold.held.get(user);
  for (let i = 0; i < list.length; i++) {
    if (now - list[i].storedUs > HELD_TTL_US) { imHold.bytes -= list[i].data.length; list.splice(i, 1); i--; imHold.expired++; }
  }
  if (list.length == 0) imHold.held.delete(user);
  return list;
}

function collectLocal(f: Fetch, now: i64): void {
  const list = liveHeld(f.user, now);
  for (let i = 0; i < list.length; i++) if (!isDup(f.items, list[i])) f.items.push(list[i]);
}

/** UDP for the IM part of the supernode role. Returns false for other types. */
export function imSnOnUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): bool {
  if (type == MSG_DHT_IM_STORE) {
    const ageS = r.u32(); const user = r.str8(USER_MAX); const n = <i32>r.u16(); const p = r.take(n);
    if (!r.ok || user.length == 0 || n < 2 || n > INNER_MAX) { stats.malformed++; return true; }
    store(user, copyOut(p, n), now - <i64>ageS * 1_000_000);
    return true;
  }
  if (type == MSG_DHT_IM_GET) {
    const txid = r.u32(); const user = r.str8(USER_MAX);
    if (!r.ok || user.length == 0) { stats.malformed++; return true; }
    const list = liveHeld(user, now);
    for (let i = 0; i < list.length; i++) {
      const d = list[i].data;
      txBegin(MSG_DHT_IM_HELD).u32(txid).u16(<u32>d.length).bytes(changetype<usize>(d), d.length);
      txSendUdp(node.udpSock, srcIp, srcPort);
    }
    return true;
  }
  if (type == MSG_DHT_IM_HELD) {
    const txid = r.u32(); const n = <i32>r.u16(); const p = r.take(n);
    if (!r.ok || n < 2 || n > INNER_MAX) { stats.malformed++; return true; }
    if (!imHold.fetches.has(txid)) { stats.unexpected++; return true; }
    const f = imHold.fetches.get(txid);
    const h = new Held(copyOut(p, n), "", 0, now);
    if (!parseInner(h.data, h)) { stats.malformed++; return true; }
    if (!isDup(f.items, h)) f.items.push(h);
    return true;
  }
  return false;
}

export function imSnDeadline(): i64 {
  let d = imHold.purgeUs;
  const fs = imHold.fetches.values();
  for (let i = 0; i < fs.length; i++) if (fs[i].untilUs < d) d = fs[i].untilUs;
  return d;
}

/** Fetches whose collection window closed go to the client, sorted by seq; the hourly purge of expired ones. */
export function imSnTick(now: i64): void {
  const ids = imHold.fetches.keys();
  for (let i = 0; i < ids.length; i++) {
    const f = imHold.fetches.get(ids[i]);
    if (now < f.untilUs) continue;
    imHold.fetches.delete(ids[i]);
    const items = f.items;
    items.sort((a: Held, b: Held): i32 => a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
    const c = connGet(f.clientHandle);
    let sent = 0;
    if (c !== null) {
      for (let k = 0; k < items.length; k++) {
        // Each copy is sealed to one device: the client gets its own.
        if (items[k].to != c.addr) continue;
        txBegin(MSG_IM_FWD).bytes(changetype<usize>(items[k].data), items[k].data.length);
        connSend(c);
        sent++;
      }
    }
    event("sn.im.fetch", "user=" + f.user + " held=" + sent.toString() + " copies=" + items.length.toString());
  }
  if (now >= imHold.purgeUs) {
    imHold.purgeUs = imHold.held.size > 0 ? now + 3600 * 1_000_000 : NEVER;
    const users = imHold.held.keys();
    for (let i = 0; i < users.length; i++) liveHeld(users[i], now);
  }
}


const HEX = "0123456789abcdef";

/**
 * Debug (console `im --held`): what this supernode holds — a summary line, then per held copy
 * `held N USER TO SEQ PART HEX` lines (N the copy's index, PART 0.. for each 500 bytes; the stored bytes: the
 * inner IM with its type byte). Shows exactly what a holder could read.
 */
export function imSnHeldDump(now: i64): Array<string> {
  const out = new Array<string>();
  const users = imHold.held.keys();
  let n = 0;
  for (let i = 0; i < users.length; i++) {
    const list = liveHeld(users[i], now);
    for (let k = 0; k < list.length; k++) {
      const d = list[k].data;
      // The console caps lines (1300 characters): 500 bytes of hex per line, `part` counting from 0.
      for (let part = 0; part * 500 < d.length; part++) {
        let hex = "";
        for (let j = part * 500; j < d.length && j < (part + 1) * 500; j++) hex += HEX.charAt(<i32>(d[j] >> 4)) + HEX.charAt(<i32>(d[j] & 15));
        out.push("held " + n.toString() + " " + users[i] + " " + list[k].to + " " + list[k].seq.toString() + " " + part.toString() + " " + hex);
      }
      n++;
    }
  }
  out.unshift("im held copies=" + n.toString() + " bytes=" + imHold.bytes.toString() + " stored=" + imHold.stored.toString() +
    " refused=" + imHold.refused.toString() + " expired=" + imHold.expired.toString() + " acksClear=" + imHold.acksClear.toString() +
    " acksSealed=" + imHold.acksSealed.toString());
  return out;
}

/**
 * Debug (console `im --held-tamper`): plays a malicious holder — alters every copy held here: alternately one
 * bit of the seal's tag and one of the ciphertext, or one bit of the header in clear (the sender's supernode
 * port, where the receipt would go). Returns the copies altered.
 */
export function imSnHeldTamper(): i32 {
  const users = imHold.held.keys();
  let n = 0;
  for (let i = 0; i < users.length; i++) {
    const list = imHold.held.get(users[i]);
    for (let k = 0; k < list.length; k++) {
      const d = list[k].data;
      if (d.length < 64) continue;
      // [type][flags][from str8][snIp u32][snPort u16]…: the low byte of snPort.
      const port = 2 + 1 + <i32>d[2] + 4 + 1;
      if ((n & 1) == 1 && port < d.length) d[port] ^= 0x01;
      else { d[d.length - 1] ^= 0x01; d[d.length - 40] ^= 0x80; }
      n++;
    }
  }
  return n;
}
