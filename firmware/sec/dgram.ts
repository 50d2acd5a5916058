import { CipherState, HandshakeState, NOISE_TAGLEN, PATTERN_XX } from "./noise";
import { ReplayWindow, REPLAY_OK } from "./replay-window";
import { identity, identityInit } from "./identity";
import { entropyFill } from "../../hal/entropy";
import { netUdpSend } from "../../hal/net";
import { event } from "../lib/log";
import { NEVER } from "../lib/clock";
import {
  MSG_DGRAM_INIT, MSG_DGRAM_REPLY, MSG_DGRAM_FIRST, MSG_DGRAM_DATA, MSG_DGRAM_RESET,
  MSG_DHT_FIND, MSG_DHT_CACHE, MSG_DHT_IM_STORE, MSG_DHT_IM_HELD, MSG_RELAY, FRAME_MAX,
} from "../wire/types";

/**
 * Sealed datagrams between supernodes (issue #7, gap 1): every supernode ↔ supernode UDP message — the
 * distributed index (DHT_FIND/FOUND/STORE/BUSY/CACHE, 0x30–0x34), the offline-IM store (DHT_IM_STORE/GET/HELD,
 * 0x67–0x69) and the relay hop between supernodes (RELAY with hops ≥ 1) — travels inside a per-peer Noise
 * session, so a backbone eavesdropper sees neither user names nor presence records nor message types.
 * The layer sits at the UDP send and receive choke points (lib/tx.ts `txSendUdp`, main.ts `onUdp`): the
 * overlay modules above it (overlay/dht.ts, search-cache.ts, supernode.ts, im/hold.ts) are unchanged, and a
 * supernode drops those message types when they arrive unsealed (`plainDropped`).
 *
 * Handshake: Noise_XX_25519_ChaChaPoly_SHA256 (sec/noise.ts), prologue "p2pphone-dgram-v1", static keys = the
 * supernodes' identity X25519 keys (sec/identity.ts). Session ids are chosen by the receiver of the datagrams
 * that carry them (random u32 ≠ 0), so a datagram names the receiver's session:
 *
 *   0x37 DGRAM_INIT   [sidI u32][e 32]                                       37 B   initiator → responder
 *   0x38 DGRAM_REPLY  [sidI u32][sidR u32][e 32, s 48, tag 16]              105 B   responder → initiator
 *   0x39 DGRAM_FIRST  [sidR u32][s 48][first message ‖ tag 16]     message + 69 B   initiator → responder
 *   0x3A DGRAM_DATA   [sid u32][ctr u32][ChaCha20-Poly1305(message) ‖ tag 16]   message + 25 B   both ways
 *   0x3B DGRAM_RESET  [sid u32]                                                5 B   "I hold no session sid"
 *
 * The first message the initiator had queued rides in DGRAM_FIRST (Noise message 3's payload), so a new peer
 * costs one round trip (INIT → REPLY) and 37 + 105 + 44 bytes before the first message; a known peer none.
 * After message 3 both sides Split(): c1 seals initiator → responder, c2 the other way. DATA's nonce is its
 * counter (explicit on the wire, Noise §5.1 `EncryptWithAd` with n = ctr, as UDP may reorder), the associated
 * data its 9-byte header; the receiver checks the counter against a 128-entry replay window
 * (sec/replay-window.ts, RFC 3711 §3.3.2 style: the window moves only after the tag verified).
 *
 * Sessions: at most SESSIONS_MAX (least recently used evicted), HALF_OPEN_MAX of them waiting for message 3
 * (the oldest evicted: an INIT flood costs the flooder as much as us and cannot push out working sessions);
 * a session is renewed (new handshake) after SESSION_MAX_AGE_US or 2^32 − 1 datagrams. The send side uses the
 * newest ready session with the peer's endpoint; a session is bound to the endpoint it was made with.
 * Loss of state (a supernode rebooted, an evicted session): DATA for an unknown session is dropped and answered
 * with DGRAM_RESET, which makes the sender drop that session (only a session with that same endpoint), so its
 * next datagram starts a new handshake; INIT is retransmitted after 250 ms, three times at most.
 * Every datagram that fails (short, unknown session, wrong endpoint, bad tag, replay, failed handshake) is
 * dropped and counted in `dgramStats`, never trapped on.
 *
 * Not authenticated: supernodes hold no certificate, so the static keys prove continuity of a session, not
 * membership (as for the supernodes' TCP channels): an active attacker on the path could still sit in the
 * middle of a first contact. Against eavesdroppers on the backbone it is complete.
 */
export const DGRAM_TAG: i32 = NOISE_TAGLEN;
/** Wire bytes a sealed message costs beyond its plaintext (DATA header + tag). */
export const DGRAM_DATA_OVERHEAD: i32 = 1 + 4 + 4 + DGRAM_TAG;
/** Wire bytes of a whole handshake beyond the first message: INIT + REPLY + (FIRST − message) = 211. */
export const DGRAM_HANDSHAKE_BYTES: i32 = 37 + 105 + (1 + 4 + 48 + DGRAM_TAG);

export const SESSIONS_MAX: i32 = 512;
const HALF_OPEN_MAX: i32 = 64;
const QUEUE_MAX: i32 = 16;
const EARLY_MAX: i32 = 8;
const INIT_RETRY_US: i64 = 250_000;
const INIT_TRIES: i32 = 3;
const HALF_OPEN_US: i64 = 5_000_000;
export const SESSION_MAX_AGE_US: i64 = 3600 * 1_000_000;
const CTR_MAX: u64 = 0xFFFFFFFF;
/** Largest sealed inner message: a TCP frame's worth (held IMs and relayed media are far below it). */
const INNER_MAX: i32 = FRAME_MAX;
const PROLOGUE = "p2pphone-dgram-v1";

const ST_INIT_SENT: i32 = 1;   // initiator: INIT sent, waiting for REPLY
const ST_WAIT_FIRST: i32 = 2;  // responder: REPLY sent, waiting for FIRST
const ST_READY: i32 = 3;

/** Counters (console `stats`, tests). */
export class DgramStats {
  handshakes: u32 = 0;
  /** Handshake messages that did not verify or came out of order (session dropped). */
  hsFailed: u32 = 0;
  /** Initiator handshakes given up after INIT_TRIES unanswered INITs. */
  hsTimeout: u32 = 0;
  sealed: u32 = 0;
  opened: u32 = 0;
  /** DATA whose tag did not verify (tampered or forged). */
  authFail: u32 = 0;
  /** DATA whose counter was seen before or is older than the replay window. */
  replay: u32 = 0;
  /** DATA / FIRST / REPLY naming a session we do not hold, or hold with another endpoint. */
  unknownSession: u32 = 0;
  /** Datagrams of this layer too short or too long, or whose inner message is not a sealed type. */
  malformed: u32 = 0;
  /** Supernode ↔ supernode message types that arrived unsealed. */
  plainDropped: u32 = 0;
  resetsSent: u32 = 0;
  resetsGot: u32 = 0;
  /** Messages dropped because a handshake's queue was full or the handshake failed. */
  queueDropped: u32 = 0;
  evicted: u32 = 0;
}
export const dgramStats = new DgramStats();

class Session {
  localSid: u32 = 0;
  remoteSid: u32 = 0;
  ip: u32 = 0;
  port: i32 = 0;
  initiator: bool = false;
  state: i32 = 0;
  hs: HandshakeState | null = null;
  tx: CipherState = new CipherState();
  rx: CipherState = new CipherState();
  txCtr: u64 = 0;
  win: ReplayWindow = new ReplayWindow();
  createdUs: i64 = 0;
  usedUs: i64 = 0;
  /** Initiator: when INIT went out and how often; responder: the REPLY, resent on a repeated INIT. */
  initSentUs: i64 = 0;
  initTries: i32 = 0;
  hsMsg: StaticArray<u8> | null = null;
  queue: Array<StaticArray<u8>> = new Array<StaticArray<u8>>();
  /** Responder: DATA datagrams that overtook FIRST (UDP reorders), opened once FIRST is in (≤ EARLY_MAX). */
  early: Array<StaticArray<u8>> = new Array<StaticArray<u8>>();
}

class Dgram {
  bySid: Map<u32, Session> = new Map<u32, Session>();
  /** The session we send on to each endpoint (ip << 16 | port): the newest ready one, or our pending INIT. */
  byPeer: Map<u64, Session> = new Map<u64, Session>();
  halfOpen: i32 = 0;
  pendingInit: i32 = 0;
  /** Sessions still in their handshake (INIT sent, or waiting for FIRST): the only ones timers look at. */
  pending: Array<Session> = new Array<Session>();
  /** Wire overhead of the sealed datagram whose inner message is being handled (0 for an unsealed one). */
  rxOverhead: i32 = 0;
  /** The session whose early DATA dgramNextHeld is releasing. */
  releasing: Session | null = null;
}
export const dgram = new Dgram();

const outBuf = new StaticArray<u8>(16 + 48 + INNER_MAX + DGRAM_TAG + 16);
const plainBuf = new StaticArray<u8>(INNER_MAX + DGRAM_TAG);
const eph = new StaticArray<u8>(32);
const sidBuf = new StaticArray<u8>(4);

@inline function peerKey(ip: u32, port: i32): u64 { return (<u64>ip << 16) | <u64>(port & 0xFFFF); }
@inline function pOut(): usize { return changetype<usize>(outBuf); }

function putU32(p: usize, v: u32): void {
  store<u8>(p, <u8>(v >> 24)); store<u8>(p + 1, <u8>(v >> 16)); store<u8>(p + 2, <u8>(v >> 8)); store<u8>(p + 3, <u8>v);
}
function getU32(p: usize): u32 {
  return (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p + 1) << 16) | (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
}

/**
 * Whether a message `[type][body]` (len bytes at p) is one supernodes exchange over UDP and so must be sealed:
 * DHT 0x30–0x34, held IMs 0x67–0x69, and RELAY between supernodes (hops ≥ 1; a phone's RELAY has hops 0).
 * NAT_TEST_FWD (0x0A) stays unsealed: it names no user, and a handshake would delay the change-IP answer the
 * phone's NAT test waits for.
 */
export function dgramSealedType(p: usize, len: i32): bool {
  if (len < 1) return false;
  const t = load<u8>(p);
  if (t >= MSG_DHT_FIND && t <= MSG_DHT_CACHE) return true;
  if (t >= MSG_DHT_IM_STORE && t <= MSG_DHT_IM_HELD) return true;
  return t == MSG_RELAY && len >= 2 && load<u8>(p + 1) != 0;
}

/** Whether a datagram's first byte is one of this layer's (0x37–0x3B). */
export function dgramIsLayer(type: u8): bool { return type >= MSG_DGRAM_INIT && type <= MSG_DGRAM_RESET; }

function freshSid(): u32 {
  for (let i = 0; i < 8; i++) {
    if (entropyFill(changetype<usize>(sidBuf), 4) != 4) return 0;
    const v = getU32(changetype<usize>(sidBuf));
    if (v != 0 && !dgram.bySid.has(v)) return v;
  }
  return 0;
}

function beginHs(s: Session): bool {
  if (!identity.ready && !identityInit()) return false;
  const hs = new HandshakeState();
  const pro = String.UTF8.encode(PROLOGUE);
  if (!hs.initialize(PATTERN_XX, s.initiator, changetype<usize>(pro), pro.byteLength, identity.noisePriv, null)) return false;
  if (entropyFill(changetype<usize>(eph), 32) != 32) return false;
  const ok = hs.setEphemeral(changetype<usize>(eph));
  memory.fill(changetype<usize>(eph), 0, 32);
  if (!ok) { hs.wipe(); return false; }
  s.hs = hs;
  return true;
}

/** Removes a session from both tables and zeroes its keys. */
function drop(s: Session): void {
  if (dgram.bySid.has(s.localSid) && dgram.bySid.get(s.localSid) === s) dgram.bySid.delete(s.localSid);
  const k = peerKey(s.ip, s.port);
  if (dgram.byPeer.has(k) && dgram.byPeer.get(k) === s) dgram.byPeer.delete(k);
  if (s.state == ST_WAIT_FIRST) dgram.halfOpen--;
  if (s.state == ST_INIT_SENT) dgram.pendingInit--;
  unpend(s);
  s.state = 0;
  const hs = s.hs;
  if (hs !== null) { hs.wipe(); s.hs = null; }
  s.tx.wipe(); s.rx.wipe();
  s.queue.length = 0;
  s.early.length = 0;
  if (dgram.releasing === s) dgram.releasing = null;
}

function unpend(s: Session): void {
  const i = dgram.pending.indexOf(s);
  if (i >= 0) dgram.pending.splice(i, 1);
}

/** Makes room for one more session: the least recently used one goes (half-open ones first when too many). */
function makeRoom(halfOpen: bool): void {
  if (halfOpen && dgram.halfOpen >= HALF_OPEN_MAX) {
    evictOldest(ST_WAIT_FIRST);
  }
  if (dgram.bySid.size >= SESSIONS_MAX) evictOldest(-1);
}

function evictOldest(state: i32): void {
  const all = state == ST_WAIT_FIRST ? dgram.pending : dgram.bySid.values();
  let victim: Session | null = null;
  for (let i = 0; i < all.length; i++) {
    const s = all[i];
    if (state >= 0 && s.state != state) continue;
    if (victim === null || s.usedUs < victim.usedUs) victim = s;
  }
  if (victim !== null) { dgramStats.evicted++; drop(victim); }
}

/** The UDP socket sealed datagrams go out on (the node's main socket, set at every send and receive). */
let udpSock: i32 = -1;

function send(s: Session, len: i32): void { netUdpSend(udpSock, s.ip, s.port, pOut(), len); }

/** Seals `len` bytes at p as DATA on a ready session and sends it. Returns the wire length or −1. */
function sendData(s: Session, p: usize, len: i32, now: i64): i32 {
  if (len > INNER_MAX) { dgramStats.malformed++; return -1; }
  const o = pOut();
  store<u8>(o, MSG_DGRAM_DATA);
  putU32(o + 1, s.remoteSid);
  putU32(o + 5, <u32>s.txCtr);
  const n = s.tx.encryptAt(s.txCtr, o, 9, p, len, o + 9);
  if (n < 0) return -1;
  s.txCtr++;
  s.usedUs = now;
  dgramStats.sealed++;
  send(s, 9 + n);
  return 9 + n;
}

/**
 * Sends the message `[type][body]` (len bytes at p) to the supernode at ip:port over a sealed session, opening
 * one first when there is none (the message waits in the session's queue, ≤ 16). Returns the wire bytes this
 * message will cost, the handshake included when it starts one (for the lookups' byte counts), or −1.
 */
export function dgramSend(sock: i32, ip: u32, port: i32, p: usize, len: i32, now: i64): i32 {
  udpSock = sock;
  if (len <= 0 || len > INNER_MAX) { dgramStats.malformed++; return -1; }
  const k = peerKey(ip, port);
  let s: Session | null = dgram.byPeer.has(k) ? dgram.byPeer.get(k) : null;
  if (s !== null && s.state == ST_READY && (now - s.createdUs > SESSION_MAX_AGE_US || s.txCtr >= CTR_MAX)) {
    // Renewal: the old session keeps receiving until evicted; new datagrams go through a new handshake.
    dgram.byPeer.delete(k);
    s = null;
  }
  if (s !== null && s.state == ST_READY) return sendData(s, p, len, now);
  if (s !== null && s.state == ST_INIT_SENT) {
    if (s.queue.length >= QUEUE_MAX) { dgramStats.queueDropped++; return -1; }
    s.queue.push(copyOf(p, len));
    return len + DGRAM_DATA_OVERHEAD;
  }
  makeRoom(false);
  const ns = new Session();
  ns.initiator = true; ns.ip = ip; ns.port = port; ns.createdUs = now; ns.usedUs = now;
  ns.localSid = freshSid();
  if (ns.localSid == 0 || !beginHs(ns)) { dgramStats.hsFailed++; return -1; }
  const o = pOut();
  store<u8>(o, MSG_DGRAM_INIT);
  putU32(o + 1, ns.localSid);
  const n = ns.hs!.writeMessage(0, 0, o + 5, 32);
  if (n != 32) { dgramStats.hsFailed++; ns.hs!.wipe(); return -1; }
  ns.hsMsg = copyOf(o, 37);
  ns.state = ST_INIT_SENT; dgram.pendingInit++; dgram.pending.push(ns);
  ns.initSentUs = now; ns.initTries = 1;
  ns.queue.push(copyOf(p, len));
  dgram.bySid.set(ns.localSid, ns);
  dgram.byPeer.set(k, ns);
  send(ns, 37);
  return len + DGRAM_HANDSHAKE_BYTES;
}

function copyOf(p: usize, len: i32): StaticArray<u8> {
  const a = new StaticArray<u8>(len);
  memory.copy(changetype<usize>(a), p, <usize>len);
  return a;
}

/** The session `sid` if we hold it with exactly this endpoint, else null (counted). */
function sessionFor(sid: u32, ip: u32, port: i32): Session | null {
  if (!dgram.bySid.has(sid)) { dgramStats.unknownSession++; return null; }
  const s = dgram.bySid.get(sid);
  if (s.ip != ip || s.port != port) { dgramStats.unknownSession++; return null; }
  return s;
}

function fail(s: Session, why: string): i32 {
  dgramStats.hsFailed++;
  dgramStats.queueDropped += <u32>s.queue.length;
  drop(s);
  event("sec.dgram", "result=failed why=" + why);
  return 0;
}

function sendReset(ip: u32, port: i32, sid: u32): void {
  const o = pOut();
  store<u8>(o, MSG_DGRAM_RESET);
  putU32(o + 1, sid);
  dgramStats.resetsSent++;
  netUdpSend(udpSock, ip, port, o, 5);
}

/**
 * A datagram of this layer (first byte 0x37–0x3B, len bytes at p) from srcIp:srcPort. Handshake messages and
 * resets are consumed (0 returned); a DATA or FIRST that opens leaves its inner message `[type][body]` at p and
 * returns its length, for the caller to dispatch as if it had arrived unsealed. Anything that fails is
 * dropped and counted (0).
 */
export function dgramOnUdp(sock: i32, srcIp: u32, srcPort: i32, p: usize, len: i32, now: i64): i32 {
  udpSock = sock;
  dgram.rxOverhead = 0;
  const t = load<u8>(p);
  if (t == MSG_DGRAM_DATA) {
    if (len < 9 + DGRAM_TAG + 1 || len > 9 + INNER_MAX + DGRAM_TAG) { dgramStats.malformed++; return 0; }
    const sid = getU32(p + 1);
    const s = sessionFor(sid, srcIp, srcPort);
    if (s !== null && s.state == ST_WAIT_FIRST && s.early.length < EARLY_MAX) { s.early.push(copyOf(p, len)); return 0; }
    if (s === null || s.state != ST_READY) {
      // Our state is gone (reboot, eviction) or the FIRST was lost: tell the sender to start over.
      if (s !== null) dgramStats.unknownSession++;
      sendReset(srcIp, srcPort, sid);
      return 0;
    }
    return openData(s, p, len, p, now);
  }
  if (t == MSG_DGRAM_INIT) {
    if (len != 37) { dgramStats.malformed++; return 0; }
    const sidI = getU32(p + 1);
    // A repeated INIT (our REPLY was lost): send the same REPLY again.
    const all = dgram.pending;
    for (let i = 0; i < all.length; i++) {
      const o = all[i];
      if (o.state == ST_WAIT_FIRST && o.remoteSid == sidI && o.ip == srcIp && o.port == srcPort && o.hsMsg !== null) {
        const m = o.hsMsg!;
        memory.copy(pOut(), changetype<usize>(m), <usize>m.length);
        send(o, m.length);
        return 0;
      }
    }
    makeRoom(true);
    const s = new Session();
    s.initiator = false; s.ip = srcIp; s.port = srcPort; s.createdUs = now; s.usedUs = now; s.remoteSid = sidI;
    s.localSid = freshSid();
    if (s.localSid == 0 || !beginHs(s)) { dgramStats.hsFailed++; return 0; }
    const hs = s.hs!;
    if (hs.readMessage(p + 5, 32, changetype<usize>(plainBuf), 0) != 0) { dgramStats.hsFailed++; hs.wipe(); return 0; }
    const o = pOut();
    store<u8>(o, MSG_DGRAM_REPLY);
    putU32(o + 1, sidI); putU32(o + 5, s.localSid);
    const n = hs.writeMessage(0, 0, o + 9, 96);
    if (n != 96) { dgramStats.hsFailed++; hs.wipe(); return 0; }
    s.hsMsg = copyOf(o, 105);
    s.state = ST_WAIT_FIRST; dgram.halfOpen++; dgram.pending.push(s);
    dgram.bySid.set(s.localSid, s);
    send(s, 105);
    return 0;
  }
  if (t == MSG_DGRAM_REPLY) {
    if (len != 105) { dgramStats.malformed++; return 0; }
    const s = sessionFor(getU32(p + 1), srcIp, srcPort);
    if (s === null) return 0;
    if (s.state != ST_INIT_SENT || !s.initiator) { dgramStats.unknownSession++; return 0; }
    const hs = s.hs!;
    if (hs.readMessage(p + 9, 96, changetype<usize>(plainBuf), 0) != 0) return fail(s, "reply");
    s.remoteSid = getU32(p + 5);
    // Message 3 carries the first queued message.
    let first: StaticArray<u8> | null = s.queue.length > 0 ? s.queue.shift() : null;
    const o = pOut();
    store<u8>(o, MSG_DGRAM_FIRST);
    putU32(o + 1, s.remoteSid);
    const fl = first !== null ? first.length : 0;
    const n = hs.writeMessage(first !== null ? changetype<usize>(first) : 0, fl, o + 5, outBuf.length - 5);
    if (n < 0) return fail(s, "write3");
    if (!hs.split(s.tx, s.rx)) return fail(s, "split");
    hs.wipe(); s.hs = null; s.hsMsg = null;
    s.state = ST_READY; dgram.pendingInit--; unpend(s);
    s.usedUs = now;
    dgramStats.handshakes++;
    if (fl > 0) dgramStats.sealed++;
    send(s, 5 + n);
    while (s.queue.length > 0) { const q = s.queue.shift(); sendData(s, changetype<usize>(q), q.length, now); }
    return 0;
  }
  if (t == MSG_DGRAM_FIRST) {
    if (len < 5 + 48 + DGRAM_TAG || len > 5 + 48 + INNER_MAX + DGRAM_TAG) { dgramStats.malformed++; return 0; }
    const s = sessionFor(getU32(p + 1), srcIp, srcPort);
    if (s === null) return 0;
    if (s.state != ST_WAIT_FIRST) { dgramStats.unknownSession++; return 0; }
    const hs = s.hs!;
    const out = changetype<usize>(plainBuf);
    const n = hs.readMessage(p + 5, len - 5, out, plainBuf.length);
    if (n < 0) return fail(s, "first");
    if (!hs.split(s.rx, s.tx)) return fail(s, "split");
    hs.wipe(); s.hs = null; s.hsMsg = null;
    s.state = ST_READY; dgram.halfOpen--; unpend(s);
    s.usedUs = now;
    dgram.byPeer.set(peerKey(srcIp, srcPort), s); // the newest session with this endpoint is the one to send on
    dgramStats.handshakes++;
    dgram.releasing = s.early.length > 0 ? s : null;
    if (n == 0) return dgramNextHeld(srcIp, srcPort, p, now);
    if (!dgramSealedType(out, n)) { dgramStats.malformed++; return dgramNextHeld(srcIp, srcPort, p, now); }
    dgramStats.opened++;
    memory.copy(p, out, <usize>n);
    dgram.rxOverhead = len - n;
    return n;
  }
  if (t == MSG_DGRAM_RESET) {
    if (len != 5) { dgramStats.malformed++; return 0; }
    const sid = getU32(p + 1);
    // The reset names *its* sender's session id, which is our remoteSid; only a ready session with that endpoint.
    const all = dgram.bySid.values();
    for (let i = 0; i < all.length; i++) {
      const s = all[i];
      if (s.state == ST_READY && s.remoteSid == sid && s.ip == srcIp && s.port == srcPort) {
        dgramStats.resetsGot++;
        drop(s);
        return 0;
      }
    }
    dgramStats.unknownSession++;
    return 0;
  }
  dgramStats.malformed++;
  return 0;
}

/** Opens DATA (len bytes at d) on ready session s: the inner message goes to p; returns its length or 0 (counted). */
function openData(s: Session, d: usize, len: i32, p: usize, now: i64): i32 {
  const ctr = getU32(d + 5);
  if (s.win.check(<i64>ctr) != REPLAY_OK) { dgramStats.replay++; return 0; }
  const out = changetype<usize>(plainBuf);
  const n = s.rx.decryptAt(<u64>ctr, d, 9, d + 9, len - 9, out);
  if (n < 0) { dgramStats.authFail++; return 0; }
  s.win.commit(<i64>ctr);
  s.usedUs = now;
  if (!dgramSealedType(out, n)) { dgramStats.malformed++; return 0; }
  dgramStats.opened++;
  memory.copy(p, out, <usize>n);
  dgram.rxOverhead = DGRAM_DATA_OVERHEAD;
  return n;
}

/**
 * After a FIRST: the next DATA from srcIp:srcPort that had arrived before it, opened, its inner message at p.
 * Returns its length, or 0 when none is left (main.ts dispatches until then).
 */
export function dgramNextHeld(srcIp: u32, srcPort: i32, p: usize, now: i64): i32 {
  const s = dgram.releasing;
  if (s === null || s.ip != srcIp || s.port != srcPort || s.state != ST_READY) { dgram.releasing = null; return 0; }
  while (s.early.length > 0) {
    const d = s.early.shift();
    const n = openData(s, changetype<usize>(d), d.length, p, now);
    if (n > 0) return n;
  }
  dgram.releasing = null;
  return 0;
}

/** Next INIT retransmission or half-open expiry (µs), or NEVER. */
export function dgramDeadline(): i64 {
  if (dgram.pendingInit == 0 && dgram.halfOpen == 0) return NEVER;
  let d = NEVER;
  const all = dgram.pending;
  for (let i = 0; i < all.length; i++) {
    const s = all[i];
    if (s.state == ST_INIT_SENT && s.initSentUs + INIT_RETRY_US < d) d = s.initSentUs + INIT_RETRY_US;
    else if (s.state == ST_WAIT_FIRST && s.createdUs + HALF_OPEN_US < d) d = s.createdUs + HALF_OPEN_US;
  }
  return d;
}

/** Retransmits unanswered INITs (three tries, then the queued messages are dropped) and expires half-open sessions. */
export function dgramTick(now: i64): void {
  if (dgram.pendingInit == 0 && dgram.halfOpen == 0) return;
  const all = dgram.pending.slice(0); // drop() edits the list
  for (let i = 0; i < all.length; i++) {
    const s = all[i];
    if (s.state == ST_INIT_SENT && now >= s.initSentUs + INIT_RETRY_US) {
      if (s.initTries >= INIT_TRIES || s.hsMsg === null) {
        dgramStats.hsTimeout++;
        dgramStats.queueDropped += <u32>s.queue.length;
        drop(s);
        continue;
      }
      const m = s.hsMsg!;
      memory.copy(pOut(), changetype<usize>(m), <usize>m.length);
      send(s, m.length);
      s.initSentUs = now; s.initTries++;
    } else if (s.state == ST_WAIT_FIRST && now >= s.createdUs + HALF_OPEN_US) drop(s);
  }
}

/** Drops the session(s) with ip:port (the peer stopped answering: the next datagram starts a new handshake). */
export function dgramForget(ip: u32, port: i32): void {
  const k = peerKey(ip, port);
  if (!dgram.byPeer.has(k)) return;
  const s = dgram.byPeer.get(k);
  if (s.state == ST_READY) drop(s);
}

/** One console line of counters. */
export function dgramStatsLine(): string {
  const st = dgramStats;
  return "dgram sessions=" + dgram.bySid.size.toString() + " handshakes=" + st.handshakes.toString() +
    " hsFailed=" + st.hsFailed.toString() + " hsTimeout=" + st.hsTimeout.toString() + " sealed=" + st.sealed.toString() +
    " opened=" + st.opened.toString() + " authFail=" + st.authFail.toString() + " replay=" + st.replay.toString() +
    " unknownSession=" + st.unknownSession.toString() + " malformed=" + st.malformed.toString() +
    " plainDropped=" + st.plainDropped.toString() + " resetsSent=" + st.resetsSent.toString() +
    " resetsGot=" + st.resetsGot.toString() + " queueDropped=" + st.queueDropped.toString() + " evicted=" + st.evicted.toString();
}
