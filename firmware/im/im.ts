import { node } from "../overlay/node";
import { client, clientOnline, clientSearch } from "../overlay/client";
import { connSend } from "../overlay/conns";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { PresenceRecord, addrUser } from "../wire/record";
import {
  ADDR_MAX, FLAG_PUBLIC, FLAG_UDP_OK, MSG_IM, MSG_IM_ACK, MSG_IM_ACK_SEALED, MSG_IM_FETCH, MSG_IM_FWD, MSG_IM_HOLD, MSG_IM_SEND,
  PRESENCE_OFFLINE, USER_MAX,
} from "../wire/types";
import { myAddr } from "./device";
import { imStateLoad, imStateNextSeq, imStateSave, imStateWindow, RecvWindow } from "./state";
import { imUiNotify, imUiFailed } from "./notify";
import { buddyIsBlocked } from "../buddy/buddies";
import {
  ACK_SEALED_LEN, HELD_SEAL_OVERHEAD_MAX, heldSenderKey, imCanSealHeld, imDeviceKey, imHeldDeviceKey, imOpen, imOpenAck, imOpenHeld,
  imSeal, imSealAck, imSealHeld, SEAL_OVERHEAD,
} from "./seal";
import { cryptoSha256 } from "../../hal/crypto";

/**
 * Instant messages (issue #8), end to end between phones; no message server. docs/protocol.md §Instant
 * messages has the byte layouts; in short:
 *
 *   IM      [flags u8][fromAddr str8][fromSnIp u32][fromSnPort u16][fromIp u32][fromPort u16][toUser str8]
 *           [seq u32][base u32][msgId u32][fragIdx u8][fragCount u8][len u16][UTF-8 bytes × len]
 *   IM_ACK  [ackerAddr str8][toAddr str8][seq u32]                 (delivery receipt, one per fragment)
 *
 * Sending: SEARCH for the user (every online device, one record each), then each fragment to each device —
 * direct UDP when the device is publicly reachable, else IM_SEND through our supernode, which forwards it to
 * the device's supernode (IM_FWD). A user with no device online gets the message held at its index supernodes
 * (IM_HOLD; firmware/im/hold.ts) for up to 72 h and fetched by its next login (IM_FETCH).
 *
 * Order and exactly-once per device: `seq` comes from one counter per sending phone (persisted in flash key
 * 14, so it never goes back after a reboot); `base` is the lowest seq still unacknowledged to that device
 * (everything before it was delivered or never meant for it). A receiver delivers seq once every seq in
 * [base, seq) has been delivered, buffers it otherwise (flushed after BUFFER_HOLD_US), and drops duplicates
 * with a 64-entry sliding window per sender device (RFC 4303 §3.4.3 style), also persisted. Every fragment
 * delivered — or seen again — is acknowledged; the sender retransmits unacknowledged fragments (1 s, doubling,
 * RETRIES times). A message is reported received (`im.recv`) when all its fragments are in; its sender gets
 * `im.receipt` per device.
 *
 * Limits: IM_TEXT_MAX bytes of UTF-8 per message, IM_FRAG_BYTES per fragment (≤ IM_FRAGS_MAX fragments).
 * Malformed messages (short, bad fragment fields, invalid UTF-8) are dropped and counted (`imStats`).
 *
 * Encryption: each fragment is sealed to each device (Noise_N to the X25519 key of the certificate in its
 * presence record; seal.ts, flag IM_F_SEALED). Held messages are sealed too, per device, to the keys in the
 * user's last presence records (up to 72 h old; found by the SEARCH, reason 2) with Noise_X (the sender
 * authenticated by its certificate inside), and their receipts go back sealed (IM_ACK_SEALED, Noise_K). A user
 * with no such record (never seen in 72 h) cannot be held for: the message fails (`im.failed`, shown on the
 * phone). With some devices online, those get it live and each device that is off a held copy (SEARCH_RESP
 * found = 1 lists their last records after the online ones). Receipts of online IMs go in clear.
 */
export const IM_TEXT_MAX: i32 = 4000;
export const IM_FRAG_BYTES: i32 = 1000;
export const IM_FRAGS_MAX: i32 = 4;
/** IM flags. */
export const IM_F_PUBLIC: u8 = 1;
export const IM_F_SEALED: u8 = 2;
export const IM_F_HELD: u8 = 4;

const RTO_US: i64 = 1_000_000;
const RETRIES: i32 = 6;
const SEARCH_TIMEOUT_US: i64 = 5_000_000;
/** Device lists from a search are reused this long for further messages to the same user. */
const DEVICES_TTL_US: i64 = 1_000_000;
/** Out-of-order fragments wait this long for the gap to fill, then are delivered anyway (gap counted lost). */
const BUFFER_HOLD_US: i64 = 3_000_000;
const BUFFER_MAX: i32 = 32;
const INBOX_MAX: i32 = 16;
/** Held fragments whose receipts we still match (older ones are forgotten), and sender devices we keep state for. */
const HELD_TRACK_MAX: i32 = 256;
const RECV_MAX: i32 = 64;

export class ImStats {
  sent: u32 = 0;
  received: u32 = 0;
  receipts: u32 = 0;
  duplicates: u32 = 0;
  malformed: u32 = 0;
  held: u32 = 0;
  failed: u32 = 0;
  lost: u32 = 0;
  blocked: u32 = 0;
  /** Fragments received sealed end to end (and opened). */
  sealed: u32 = 0;
  /** Sealed fragments (held or not) and sealed receipts that did not open or authenticate: dropped. */
  sealFail: u32 = 0;
}
const openBuf = new StaticArray<u8>(IM_FRAG_BYTES + SEAL_OVERHEAD);
/** Devices whose keys held messages were sealed to (their sealed receipts are opened with them), at most this many. */
const HELD_KEYS_MAX: i32 = 64;
export const imStats = new ImStats();

/** A message being sent: its UTF-8 bytes and first seq (= msgId); fragment i has seq msgId + i. */
class OutMsg {
  constructor(public msgId: u32, public to: string, public data: StaticArray<u8>, public frags: i32, public startUs: i64) {}
}

/** One unacknowledged fragment to one device. */
class Pending {
  constructor(public msg: OutMsg, public frag: i32, public sentUs: i64, public tries: i32) {}
  seq(): u32 { return this.msg.msgId + <u32>this.frag; }
}

/** A recipient device and what it still owes us acknowledgements for. */
class Dest {
  rec: PresenceRecord;
  /** The device's certified X25519 key: fragments are sealed to it (seal.ts); null = no certificate, clear. */
  key: StaticArray<u8> | null = null;
  pending: Array<Pending> = new Array<Pending>();
  constructor(rec: PresenceRecord) { this.rec = rec; }
  direct(): bool { return (this.rec.flags & FLAG_PUBLIC) != 0 && (this.rec.flags & FLAG_UDP_OK) != 0 && client.udpOk; }
}

class Lookup {
  constructor(public txid: u32, public user: string, public sentUs: i64) {}
}

class Devices {
  /** recs: the online devices; offline: the last records of the user's devices that are off (held copies). */
  constructor(public recs: Array<PresenceRecord>, public atUs: i64, public offline: Array<PresenceRecord>) {}
}

/** A received fragment waiting for the gap before it (or the reassembly of its message). */
class Frag {
  constructor(public seq: u32, public base: u32, public msgId: u32, public idx: i32, public count: i32,
    public data: StaticArray<u8>, public held: bool, public atUs: i64, public senderKey: StaticArray<u8> | null) {}
}

class Recv {
  win: RecvWindow;
  buffer: Array<Frag> = new Array<Frag>();
  /** Reassembly of the message in progress. */
  msgId: u32 = 0;
  nextIdx: i32 = 0;
  parts: Array<StaticArray<u8>> = new Array<StaticArray<u8>>();
  /** Where to send acknowledgements. */
  snIp: u32 = 0; snPort: i32 = 0; ip: u32 = 0; port: i32 = 0; flags: u8 = 0;
  constructor(win: RecvWindow) { this.win = win; }
}

export class InboxEntry {
  constructor(public from: string, public text: string, public atUs: i64, public msgId: u32) {}
}

export class Im {
  dests: Map<string, Dest> = new Map<string, Dest>();
  /** Messages waiting for a search, by user. */
  queued: Map<string, Array<OutMsg>> = new Map<string, Array<OutMsg>>();
  lookups: Map<string, Lookup> = new Map<string, Lookup>();
  devices: Map<string, Devices> = new Map<string, Devices>();
  recv: Map<string, Recv> = new Map<string, Recv>();
  inbox: Array<InboxEntry> = new Array<InboxEntry>();
  loaded: bool = false;
  /** Held messages by fragment seq (their receipts come from devices we never knew), and fragments acked per device. */
  heldOut: Map<u32, OutMsg> = new Map<u32, OutMsg>();
  heldAcks: Set<string> = new Set<string>();
  heldOrder: Array<u32> = new Array<u32>();
  /** Device address → the X25519 key its held copies were sealed to (sealed receipts are checked against it). */
  heldKeys: Map<string, StaticArray<u8>> = new Map<string, StaticArray<u8>>();
}
export const im = new Im();

function ensureLoaded(): void {
  if (im.loaded) return;
  im.loaded = true;
  imStateLoad();
}

/** UTF-8 bytes of a string (no terminator). */
function utf8(s: string): StaticArray<u8> {
  const b = String.UTF8.encode(s, false);
  const out = new StaticArray<u8>(b.byteLength);
  memory.copy(changetype<usize>(out), changetype<usize>(b), <usize>b.byteLength);
  return out;
}

/**
 * Sends `text` to user `to` (every device it is logged in on, or held for it when none is online). Returns the
 * message id (> 0), or -1 when we are offline, -2 for an empty or too long text (> IM_TEXT_MAX bytes of UTF-8),
 * -3 for a bad user name.
 */
export function imSend(to: string, text: string, now: i64): i32 {
  ensureLoaded();
  if (client.sn === null || !clientOnline()) return -1;
  if (to.length == 0 || to.length > USER_MAX || to.indexOf("/") >= 0) return -3;
  const data = utf8(text);
  if (data.length == 0 || data.length > IM_TEXT_MAX) return -2;
  const frags = (data.length + IM_FRAG_BYTES - 1) / IM_FRAG_BYTES;
  const id = imStateNextSeq(frags);
  const m = new OutMsg(id, to, data, frags, now);
  imStats.sent++;
  event("im.send", "msgId=" + id.toString() + " to=" + to + " bytes=" + data.length.toString() + " frags=" + frags.toString());
  if (im.devices.has(to) && now - im.devices.get(to).atUs < DEVICES_TTL_US && im.devices.get(to).recs.length > 0) {
    const ds = im.devices.get(to);
    sendToDevices(m, ds.recs, now);
    if (ds.offline.length > 0) hold(m, ds.offline, "", now);
    return <i32>id;
  }
  if (!im.queued.has(to)) im.queued.set(to, new Array<OutMsg>());
  im.queued.get(to).push(m);
  if (!im.lookups.has(to)) {
    const txid = node.prngCall.next() | 0x80000000;
    im.lookups.set(to, new Lookup(txid, to, now));
    clientSearch(txid, to);
  }
  return <i32>id;
}


/**
 * SEARCH_RESP for one of our lookups (txid with the top bit set; calls use the PRNG's other values too, so
 * we match on the txid we stored). Returns false, with the reader untouched, when it is not ours.
 */
export function imOnSearchResult(r: ByteReader, now: i64): bool {
  const save = r.pos;
  const txid = r.u32(); const found = r.u8();
  let user = "";
  const keys = im.lookups.keys();
  for (let i = 0; i < keys.length; i++) if (im.lookups.get(keys[i]).txid == txid) { user = keys[i]; break; }
  if (!r.ok || user.length == 0) { r.pos = save; r.ok = true; return false; }
  im.lookups.delete(user);
  const recs = new Array<PresenceRecord>();
  const offRecs = new Array<PresenceRecord>();
  let reason: u32 = 0;
  if (found != 0) {
    const first = new PresenceRecord();
    if (first.read(r) && first.user == user) {
      recs.push(first);
      if (r.remaining() > 0) {
        const more = <i32>r.u8();
        for (let i = 0; i < more && i < 8; i++) {
          const x = new PresenceRecord();
          if (!x.read(r)) break;
          if (x.user == user && x.status != PRESENCE_OFFLINE) recs.push(x);
        }
        // Then [off u8][record × off]: the user's devices that are off (supernode.ts answerAll) — each gets a
        // held copy, sealed to it, so a message reaches every device of the user, not only those online.
        if (r.ok && r.remaining() > 0) {
          const off = <i32>r.u8();
          for (let i = 0; i < off && i < 8; i++) {
            const x = new PresenceRecord();
            if (!x.read(r)) break;
            if (x.user == user && x.status == PRESENCE_OFFLINE) offRecs.push(x);
          }
        }
      }
    } else stats.malformed++;
  } else {
    reason = r.u8();
    // Reason 2 (offline, seen within 72 h): the newest record, then [more u8][record × more] — every device's
    // last record (supernode.ts answerAll): the keys to seal a held message to.
    if (r.ok && reason == 2) {
      const first = new PresenceRecord();
      if (first.read(r)) {
        if (first.user == user) recs.push(first);
        if (r.remaining() > 0) {
          const more = <i32>r.u8();
          for (let i = 0; i < more && i < 8; i++) {
            const x = new PresenceRecord();
            if (!x.read(r)) break;
            if (x.user == user) recs.push(x);
          }
        }
      }
    }
  }
  const q = im.queued.has(user) ? im.queued.get(user) : new Array<OutMsg>();
  im.queued.delete(user);
  // Not our own device: a message to ourselves goes to our other devices only.
  const me = myAddr();
  const devs = new Array<PresenceRecord>();
  if (found != 0) for (let i = 0; i < recs.length; i++) if (recs[i].addr() != me) devs.push(recs[i]);
  if (devs.length > 0) {
    im.devices.set(user, new Devices(devs, now, offRecs));
    for (let i = 0; i < q.length; i++) {
      sendToDevices(q[i], devs, now);
      if (offRecs.length > 0) hold(q[i], offRecs, "", now);
    }
  } else if (found == 0 && reason == 0) {
    for (let i = 0; i < q.length; i++) failMsg(q[i], "unknown-user");
  } else {
    const why = found != 0 ? "no-other-device" : reason == 1 ? "never-seen" : reason == 2 ? "no-device-key" : "no-directory";
    for (let i = 0; i < q.length; i++) hold(q[i], found == 0 ? recs : offRecs, why, now);
  }
  return true;
}

/** The message cannot be sent or held: counted, logged and shown on the phone's screen. */
function failMsg(m: OutMsg, reason: string): void {
  imStats.failed++;
  event("im.failed", "msgId=" + m.msgId.toString() + " to=" + m.to + " reason=" + reason);
  imUiFailed("IM to " + m.to + " failed: " + reason.replaceAll("-", " "));
}

function sendToDevices(m: OutMsg, devs: Array<PresenceRecord>, now: i64): void {
  let via = "";
  for (let d = 0; d < devs.length; d++) {
    const addr = devs[d].addr();
    let dest: Dest;
    if (im.dests.has(addr)) { dest = im.dests.get(addr); dest.rec = devs[d]; }
    else { dest = new Dest(devs[d]); im.dests.set(addr, dest); }
    dest.key = imDeviceKey(devs[d], now);
    for (let f = 0; f < m.frags; f++) {
      const p = new Pending(m, f, now, 1);
      dest.pending.push(p);
      transmit(dest, p);
    }
    via = dest.direct() ? "direct" : "sn";
  }
  event("im.sent", "msgId=" + m.msgId.toString() + " to=" + m.to + " devices=" + devs.length.toString() + " via=" + via);
}

const sealBuf = new StaticArray<u8>(IM_FRAG_BYTES + SEAL_OVERHEAD);

/**
 * Writes the IM body (after its type byte) of fragment `frag` of m, with `base` for the receiver's order;
 * sealed end to end (seal.ts) when `key` (the device's certified X25519 key) is given.
 */
function writeIm(w: ByteWriter, m: OutMsg, frag: i32, base: u32, flags: u8, key: StaticArray<u8> | null, toAddr: string): void {
  const off = frag * IM_FRAG_BYTES;
  let len = min(IM_FRAG_BYTES, m.data.length - off);
  let src = changetype<usize>(m.data) + <usize>off;
  let f = flags;
  const seq = m.msgId + <u32>frag;
  if (key !== null) {
    const n = imSeal(key, toAddr, myAddr(), seq, src, len, changetype<usize>(sealBuf), sealBuf.length);
    if (n > 0) { src = changetype<usize>(sealBuf); len = n; f |= IM_F_SEALED; }
  }
  if (client.isPublic && client.udpOk) f |= IM_F_PUBLIC;
  w.u8(f).str8(myAddr()).u32(client.snIp).u16(<u32>client.snPort).u32(client.reflexIp).u16(<u32>client.reflexPort)
    .str8(m.to).u32(seq).u32(base).u32(m.msgId).u8(<u32>frag).u8(<u32>m.frags).u16(<u32>len);
  w.bytes(src, len);
}

function lowestPending(dest: Dest): u32 {
  let b: u32 = 0xFFFFFFFF;
  for (let i = 0; i < dest.pending.length; i++) { const s = dest.pending[i].seq(); if (s < b) b = s; }
  return b;
}

function transmit(dest: Dest, p: Pending): void {
  const base = lowestPending(dest);
  const rec = dest.rec;
  if (dest.direct()) {
    const w = txBegin(MSG_IM);
    writeIm(w, p.msg, p.frag, base, 0, dest.key, rec.addr());
    txSendUdp(node.udpSock, rec.reflexIp, rec.reflexPort);
    return;
  }
  const sn = client.sn;
  if (sn === null) return;
  const w = txBegin(MSG_IM_SEND).str8(rec.addr()).u32(rec.snIp).u16(<u32>rec.snPort).u8(MSG_IM);
  writeIm(w, p.msg, p.frag, base, 0, dest.key, rec.addr());
  connSend(sn);
}

/**
 * No device online: every fragment, sealed to each device of the user that has a last presence record with a
 * usable certificate (seal.ts imHeldDeviceKey: ≤ 72 h old), goes to our SN as IM_HOLD to be held at the
 * user's index supernodes. With no such device (never seen, no record, no certificate) the message fails with
 * `why` — nothing is ever held in clear — unless `why` is "" (the message also went to online devices: the
 * held copies are for the user's devices that are off, and none being usable is no failure).
 */
function hold(m: OutMsg, recs: Array<PresenceRecord>, why: string, now: i64): void {
  const sn = client.sn;
  if (sn === null) { if (why.length > 0) failMsg(m, "offline"); return; }
  if (!imCanSealHeld()) { if (why.length > 0) failMsg(m, "no-certificate"); return; }
  const me = myAddr();
  const addrs = new Array<string>();
  const keys = new Array<StaticArray<u8>>();
  for (let i = 0; i < recs.length && addrs.length < 8; i++) {
    const a = recs[i].addr();
    if (recs[i].user != m.to || a == me || addrs.includes(a)) continue;
    const k = imHeldDeviceKey(recs[i], now);
    if (k !== null) { addrs.push(a); keys.push(k); }
  }
  if (addrs.length == 0) { if (why.length > 0) failMsg(m, why); return; }
  let bytes = 0;
  for (let d = 0; d < addrs.length; d++) {
    for (let f = 0; f < m.frags; f++) {
      const w = txBegin(MSG_IM_HOLD).str8(m.to).u8(MSG_IM);
      const start = w.pos;
      if (!writeHeldIm(w, m, f, keys[d], addrs[d])) { if (why.length > 0) failMsg(m, "seal"); return; }
      bytes += w.pos - start + 1;
      connSend(sn);
    }
    if (!im.heldKeys.has(addrs[d]) && im.heldKeys.size >= HELD_KEYS_MAX) im.heldKeys.delete(im.heldKeys.keys()[0]);
    im.heldKeys.set(addrs[d], keys[d]);
  }
  imStats.held++;
  for (let f = 0; f < m.frags; f++) { im.heldOut.set(m.msgId + <u32>f, m); im.heldOrder.push(m.msgId + <u32>f); }
  while (im.heldOrder.length > HELD_TRACK_MAX) { im.heldOut.delete(im.heldOrder[0]); im.heldOrder.shift(); }
  event("im.held", "msgId=" + m.msgId.toString() + " to=" + m.to + " frags=" + m.frags.toString() + " devices=" +
    addrs.length.toString() + " bytes=" + bytes.toString());
}

const heldSealBuf = new StaticArray<u8>(IM_FRAG_BYTES + HELD_SEAL_OVERHEAD_MAX);

/**
 * Writes a held IM (after its type byte) for device toAddr: the header in clear (flags HELD | SEALED, toUser =
 * the device address), then [len u16][Noise_X message] bound to that header (seal.ts imSealHeld).
 */
function writeHeldIm(w: ByteWriter, m: OutMsg, frag: i32, key: StaticArray<u8>, toAddr: string): bool {
  const off = frag * IM_FRAG_BYTES;
  const len = min(IM_FRAG_BYTES, m.data.length - off);
  const seq = m.msgId + <u32>frag;
  let f = IM_F_HELD | IM_F_SEALED;
  if (client.isPublic && client.udpOk) f |= IM_F_PUBLIC;
  const start = w.pos;
  w.u8(f).str8(myAddr()).u32(client.snIp).u16(<u32>client.snPort).u32(client.reflexIp).u16(<u32>client.reflexPort)
    .str8(toAddr).u32(seq).u32(m.msgId).u32(m.msgId).u8(<u32>frag).u8(<u32>m.frags);
  if (!w.ok) return false;
  const n = imSealHeld(key, w.ptr + <usize>start, w.pos - start, changetype<usize>(m.data) + <usize>off, len,
    changetype<usize>(heldSealBuf), heldSealBuf.length);
  if (n < 0) return false;
  w.u16(<u32>n).bytes(changetype<usize>(heldSealBuf), n);
  return w.ok;
}

/** After login: ask our SN for the messages held for us while we were offline. */
export function imOnLogin(now: i64): void {
  ensureLoaded();
  const sn = client.sn;
  if (sn === null) return;
  txBegin(MSG_IM_FETCH).str8(node.cfg.user);
  connSend(sn);
  event("im.fetch", "user=" + node.cfg.user);
}

/** A frame from our SN for the IM module: IM_FWD [inner message]. Returns false for other types. */
export function imOnClientFrame(type: u8, r: ByteReader, now: i64): bool {
  if (type != MSG_IM_FWD) return false;
  const inner = <u8>r.u8();
  if (!r.ok) { imStats.malformed++; stats.malformed++; return true; }
  onInner(inner, r, 0, 0, now);
  return true;
}

/** A datagram for the phone side of IM: IM or IM_ACK sent directly. Returns false for other types. */
export function imOnUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): bool {
  if (type != MSG_IM && type != MSG_IM_ACK && type != MSG_IM_ACK_SEALED) return false;
  if (node.cfg.user.length == 0) { stats.unexpected++; return true; }
  onInner(type, r, srcIp, srcPort, now);
  return true;
}

function onInner(type: u8, r: ByteReader, srcIp: u32, srcPort: i32, now: i64): void {
  ensureLoaded();
  if (type == MSG_IM) onIm(r, srcIp, srcPort, now);
  else if (type == MSG_IM_ACK) onAck(r, now);
  else if (type == MSG_IM_ACK_SEALED) onAckSealed(r, now);
  else { imStats.malformed++; stats.malformed++; }
}

/** Checks that [p, p+n) is well-formed UTF-8 (RFC 3629 §4: no overlongs, no surrogates, ≤ U+10FFFF). */
export function utf8Valid(p: usize, n: i32): bool {
  let i = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c < 0x80) { i++; continue; }
    let need = 0; let min: u32 = 0; let cp: u32 = 0;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (i + need >= n) return false;
    for (let k = 1; k <= need; k++) {
      const cc = <u32>load<u8>(p + <usize>(i + k));
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += need + 1;
  }
  return true;
}

function onIm(r: ByteReader, srcIp: u32, srcPort: i32, now: i64): void {
  const hdr = r.ptr + <usize>r.pos;
  const flags = <u8>r.u8();
  const from = r.str8(ADDR_MAX);
  const snIp = r.u32(); const snPort = <i32>r.u16(); const ip = r.u32(); const port = <i32>r.u16();
  const toUser = r.str8(ADDR_MAX);
  const seq = r.u32(); const base = r.u32(); const msgId = r.u32();
  const idx = <i32>r.u8(); const count = <i32>r.u8();
  const hdrLen = <i32>(r.ptr + <usize>r.pos - hdr);
  let len = <i32>r.u16();
  let p = r.take(len);
  const sealed = (flags & IM_F_SEALED) != 0;
  // A held copy is sealed to one device (Noise_X, the sender's certificate inside; seal.ts imOpenHeld).
  const heldSealed = sealed && (flags & IM_F_HELD) != 0;
  const maxLen = IM_FRAG_BYTES + (heldSealed ? HELD_SEAL_OVERHEAD_MAX : sealed ? SEAL_OVERHEAD : 0);
  if (!r.ok || from.indexOf("/") <= 0 || count == 0 || count > IM_FRAGS_MAX || idx >= count || len > maxLen ||
      seq != msgId + <u32>idx || base > seq) {
    imStats.malformed++; stats.malformed++; return;
  }
  let senderKey: StaticArray<u8> | null = null;
  if (heldSealed) {
    // Addressed to one device (toUser = user/devid): a copy for another device of ours is not for us.
    if (toUser != myAddr()) { stats.unexpected++; return; }
    const n = imOpenHeld(hdr, hdrLen, addrUser(from), p, len, changetype<usize>(openBuf), IM_FRAG_BYTES, now);
    if (n < 0) {
      imStats.malformed++; imStats.sealFail++; stats.malformed++;
      event("im.dropped", "from=" + addrUser(from) + " seq=" + seq.toString() + " reason=seal held=1");
      return;
    }
    p = changetype<usize>(openBuf); len = n;
    imStats.sealed++;
    senderKey = new StaticArray<u8>(32);
    memory.copy(changetype<usize>(senderKey), changetype<usize>(heldSenderKey), 32);
  } else if (sealed) {
    const n = imOpen(myAddr(), from, seq, p, len, changetype<usize>(openBuf), openBuf.length);
    if (n < 0 || n > IM_FRAG_BYTES) { imStats.malformed++; imStats.sealFail++; stats.malformed++; event("im.dropped", "from=" + addrUser(from) + " seq=" + seq.toString() + " reason=seal"); return; }
    p = changetype<usize>(openBuf); len = n;
    imStats.sealed++;
  }
  if (!heldSealed && toUser != node.cfg.user) { stats.unexpected++; return; }
  // Blocked users' IMs never reach the UI (firmware/buddy/buddies.ts); no receipt either: a block is not revealed.
  if (buddyIsBlocked(addrUser(from))) { imStats.blocked++; event("buddy.blocked", "what=im from=" + addrUser(from)); return; }
  let st: Recv;
  if (im.recv.has(from)) st = im.recv.get(from);
  else {
    if (im.recv.size >= RECV_MAX) im.recv.delete(im.recv.keys()[0]);
    st = new Recv(imStateWindow(from)); im.recv.set(from, st);
  }
  st.snIp = snIp; st.snPort = snPort; st.flags = flags;
  st.ip = (flags & IM_F_PUBLIC) != 0 ? (srcIp != 0 ? srcIp : ip) : 0;
  st.port = (flags & IM_F_PUBLIC) != 0 ? (srcIp != 0 ? srcPort : port) : 0;
  const win = st.win;
  if (win.seen(seq)) { imStats.duplicates++; ack(from, st, seq, senderKey); return; }
  for (let i = 0; i < st.buffer.length; i++) if (st.buffer[i].seq == seq) { imStats.duplicates++; return; }
  const data = new StaticArray<u8>(len);
  if (len > 0) memory.copy(changetype<usize>(data), p, <usize>len);
  const fr = new Frag(seq, base, msgId, idx, count, data, (flags & IM_F_HELD) != 0, now, senderKey);
  if (!ready(win, fr)) {
    if (st.buffer.length >= BUFFER_MAX) { imStats.lost++; return; }
    st.buffer.push(fr);
    return;
  }
  deliver(from, st, fr, now);
  drain(from, st, now, false);
}

/** Every seq in [base, seq) delivered (those more than 64 behind count as delivered). */
function ready(win: RecvWindow, f: Frag): bool {
  let s = f.base;
  if (f.seq - s > 64) s = f.seq - 64;
  for (; s < f.seq; s++) if (!win.seen(s)) return false;
  return true;
}

function drain(from: string, st: Recv, now: i64, force: bool): void {
  let progress = true;
  while (progress && st.buffer.length > 0) {
    progress = false;
    let best = -1;
    for (let i = 0; i < st.buffer.length; i++) if (best < 0 || st.buffer[i].seq < st.buffer[best].seq) best = i;
    const f = st.buffer[best];
    if (st.win.seen(f.seq)) { st.buffer.splice(best, 1); progress = true; continue; }
    if (ready(st.win, f) || (force && now - f.atUs >= BUFFER_HOLD_US)) {
      st.buffer.splice(best, 1);
      deliver(from, st, f, now);
      progress = true;
    }
  }
}

function deliver(from: string, st: Recv, f: Frag, now: i64): void {
  st.win.mark(f.seq);
  ack(from, st, f.seq, f.senderKey);
  if (f.idx == 0) { st.msgId = f.msgId; st.nextIdx = 0; st.parts.length = 0; }
  if (f.msgId != st.msgId || f.idx != st.nextIdx) {
    // A fragment of a message whose start was lost (given up by the sender or the buffer): drop it.
    imStats.lost++;
    st.parts.length = 0; st.nextIdx = 0; st.msgId = 0;
    imStateSave(im.recv);
    return;
  }
  st.parts.push(f.data);
  st.nextIdx++;
  if (st.nextIdx < f.count) return;
  let total = 0;
  for (let i = 0; i < st.parts.length; i++) total += st.parts[i].length;
  const all = new StaticArray<u8>(total);
  let o = 0;
  for (let i = 0; i < st.parts.length; i++) { memory.copy(changetype<usize>(all) + <usize>o, changetype<usize>(st.parts[i]), <usize>st.parts[i].length); o += st.parts[i].length; }
  st.parts.length = 0; st.nextIdx = 0;
  imStateSave(im.recv);
  if (!utf8Valid(changetype<usize>(all), total)) { imStats.malformed++; stats.malformed++; event("im.dropped", "from=" + addrUser(from) + " msgId=" + f.msgId.toString() + " reason=utf8"); return; }
  const text = String.UTF8.decodeUnsafe(changetype<usize>(all), total, false);
  imStats.received++;
  im.inbox.push(new InboxEntry(addrUser(from), text, now, f.msgId));
  if (im.inbox.length > INBOX_MAX) im.inbox.shift();
  event("im.recv", "from=" + addrUser(from) + " addr=" + from + " msgId=" + f.msgId.toString() + " bytes=" + total.toString() +
    " sha=" + shaHex(changetype<usize>(all), total) + " held=" + (f.held ? "1" : "0"));
  imUiNotify();
}


const shaOut = new StaticArray<u8>(32);
/** First 8 bytes of SHA-256 of the message, hex: lets tests check content without logging it. */
function shaHex(p: usize, n: i32): string {
  cryptoSha256(p, n, changetype<usize>(shaOut));
  let s = "";
  for (let i = 0; i < 8; i++) s += "0123456789abcdef".charAt(<i32>(shaOut[i] >> 4)) + "0123456789abcdef".charAt(<i32>(shaOut[i] & 15));
  return s;
}

const ackSealBuf = new StaticArray<u8>(ACK_SEALED_LEN);

/**
 * IM_ACK for fragment seq back to its sender: direct UDP when it is public, else through the supernodes. A held
 * fragment (senderKey = the sender's certified key from inside it) is acknowledged with IM_ACK_SEALED.
 */
function ack(from: string, st: Recv, seq: u32, senderKey: StaticArray<u8> | null): void {
  if (senderKey !== null) {
    const n = imSealAck(senderKey, myAddr(), from, seq, changetype<usize>(ackSealBuf), ackSealBuf.length);
    if (n != ACK_SEALED_LEN) return;
    if (st.ip != 0 && client.udpOk) {
      txBegin(MSG_IM_ACK_SEALED).str8(myAddr()).str8(from).u16(<u32>n).bytes(changetype<usize>(ackSealBuf), n);
      txSendUdp(node.udpSock, st.ip, st.port);
      return;
    }
    const sn = client.sn;
    if (sn === null || st.snIp == 0) return;
    txBegin(MSG_IM_SEND).str8(from).u32(st.snIp).u16(<u32>st.snPort).u8(MSG_IM_ACK_SEALED).str8(myAddr()).str8(from)
      .u16(<u32>n).bytes(changetype<usize>(ackSealBuf), n);
    connSend(sn);
    return;
  }
  if (st.ip != 0 && client.udpOk) {
    txBegin(MSG_IM_ACK).str8(myAddr()).str8(from).u32(seq);
    txSendUdp(node.udpSock, st.ip, st.port);
    return;
  }
  const sn = client.sn;
  if (sn === null || st.snIp == 0) return;
  txBegin(MSG_IM_SEND).str8(from).u32(st.snIp).u16(<u32>st.snPort).u8(MSG_IM_ACK).str8(myAddr()).str8(from).u32(seq);
  connSend(sn);
}

function onAck(r: ByteReader, now: i64): void {
  const acker = r.str8(ADDR_MAX); const to = r.str8(ADDR_MAX); const seq = r.u32();
  if (!r.ok) { imStats.malformed++; stats.malformed++; return; }
  if (to != myAddr()) { stats.unexpected++; return; }
  // Only fragments sent live wait in a device's pending list; held copies count by sealed receipt (onAckSealed).
  if (!im.dests.has(acker)) { stats.unexpected++; return; }
  const d = im.dests.get(acker);
  for (let i = 0; i < d.pending.length; i++) {
    const p = d.pending[i];
    if (p.seq() != seq) continue;
    d.pending.splice(i, 1);
    let more = false;
    for (let k = 0; k < d.pending.length; k++) if (d.pending[k].msg === p.msg) more = true;
    if (!more) {
      imStats.receipts++;
      event("im.receipt", "msgId=" + p.msg.msgId.toString() + " to=" + acker + " ms=" + ((now - p.msg.startUs) / 1000).toString());
    }
    return;
  }
}

/** IM_ACK_SEALED [ackerAddr][toAddr][len u16][Noise_K]: the receipt of a held fragment, from a device we sealed it to. */
function onAckSealed(r: ByteReader, now: i64): void {
  const acker = r.str8(ADDR_MAX); const to = r.str8(ADDR_MAX); const n = <i32>r.u16(); const p = r.take(n);
  if (!r.ok) { imStats.malformed++; stats.malformed++; return; }
  if (to != myAddr() || !im.heldKeys.has(acker)) { stats.unexpected++; return; }
  const s = imOpenAck(im.heldKeys.get(acker), acker, to, p, n);
  if (s < 0) {
    imStats.malformed++; imStats.sealFail++; stats.malformed++;
    event("im.dropped", "from=" + addrUser(acker) + " reason=seal receipt=1");
    return;
  }
  const seq = <u32>s;
  if (!im.heldOut.has(seq)) { stats.unexpected++; return; }
  // Count fragments per device and message; the message's receipt when all are in.
  const m = im.heldOut.get(seq);
  const k = acker + "#" + seq.toString();
  if (im.heldAcks.has(k)) return;
  im.heldAcks.add(k);
  let all = true;
  for (let f = 0; f < m.frags; f++) if (!im.heldAcks.has(acker + "#" + (m.msgId + <u32>f).toString())) all = false;
  if (all) {
    imStats.receipts++;
    event("im.receipt", "msgId=" + m.msgId.toString() + " to=" + acker + " ms=" + ((now - m.startUs) / 1000).toString() + " held=1 sealed=1");
  }
}

export function imDeadline(): i64 {
  let d = NEVER;
  const ds = im.dests.values();
  for (let i = 0; i < ds.length; i++) {
    const ps = ds[i].pending;
    for (let k = 0; k < ps.length; k++) { const t = ps[k].sentUs + (RTO_US << <i64>(ps[k].tries - 1)); if (t < d) d = t; }
  }
  const ls = im.lookups.values();
  for (let i = 0; i < ls.length; i++) if (ls[i].sentUs + SEARCH_TIMEOUT_US < d) d = ls[i].sentUs + SEARCH_TIMEOUT_US;
  const rs = im.recv.values();
  for (let i = 0; i < rs.length; i++) for (let k = 0; k < rs[i].buffer.length; k++) if (rs[i].buffer[k].atUs + BUFFER_HOLD_US < d) d = rs[i].buffer[k].atUs + BUFFER_HOLD_US;
  return d;
}

/** Retransmissions, search timeouts (then the message is held), buffer flushes. */
export function imTick(now: i64): void {
  const ds = im.dests.values();
  for (let i = 0; i < ds.length; i++) {
    const dest = ds[i];
    for (let k = 0; k < dest.pending.length; k++) {
      const p = dest.pending[k];
      if (now < p.sentUs + (RTO_US << <i64>(p.tries - 1))) continue;
      if (p.tries >= RETRIES) {
        dest.pending.splice(k, 1); k--;
        imStats.failed++;
        event("im.failed", "msgId=" + p.msg.msgId.toString() + " to=" + dest.rec.addr() + " reason=no-ack");
        continue;
      }
      p.tries++; p.sentUs = now;
      transmit(dest, p);
    }
  }
  const users = im.lookups.keys();
  for (let i = 0; i < users.length; i++) {
    const l = im.lookups.get(users[i]);
    if (now - l.sentUs < SEARCH_TIMEOUT_US) continue;
    im.lookups.delete(users[i]);
    const q = im.queued.has(users[i]) ? im.queued.get(users[i]) : new Array<OutMsg>();
    im.queued.delete(users[i]);
    // No answer: no device keys to seal to, so the message cannot be held either.
    for (let k = 0; k < q.length; k++) failMsg(q[k], "no-answer");
  }
  const froms = im.recv.keys();
  for (let i = 0; i < froms.length; i++) {
    const st = im.recv.get(froms[i]);
    if (st.buffer.length == 0) continue;
    drain(froms[i], st, now, true);
  }
}

/** Console/UI: the last messages received, oldest first, as `from: text`. */
export function imInboxText(): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < im.inbox.length; i++) out.push(im.inbox[i].from + ": " + im.inbox[i].text);
  return out;
}

export function imStatsText(): string {
  return "im sent=" + imStats.sent.toString() + " received=" + imStats.received.toString() + " receipts=" + imStats.receipts.toString() +
    " held=" + imStats.held.toString() + " dup=" + imStats.duplicates.toString() + " malformed=" + imStats.malformed.toString() +
    " failed=" + imStats.failed.toString() + " lost=" + imStats.lost.toString() + " blocked=" + imStats.blocked.toString() + " sealed=" + imStats.sealed.toString() + " sealfail=" + imStats.sealFail.toString();
}

