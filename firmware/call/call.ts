import { node } from "../overlay/node";
import { client, clientOnline, clientSearch } from "../overlay/client";
import { Conn, connClose, connOpen, connSend, ROLE_CALL } from "../overlay/conns";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { txBegin } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { codecName } from "../lib/config";
import { PresenceRecord } from "../wire/record";
import {
  BYE_BUSY, BYE_DECLINED, BYE_NO_CODEC, BYE_NORMAL, BYE_UNREACHABLE, FLAG_PUBLIC, FLAG_UDP_OK,
  MSG_ANSWER, MSG_BYE, MSG_INVITE, MSG_RINGING, MSG_ROUTE, USER_MAX, MSG_CALL_ATTACH, MSG_PATH_DOWN,
} from "../wire/types";
import { pathDirectLost, pathStart, pathStop } from "../nat/path";
import { punch, punchAddCandidate, punchReset, punchStart, MAX_CANDIDATES } from "../nat/punch";
import { media, mediaStart, mediaStatsText, mediaStop } from "../media/session";
import { codecSupported } from "../media/codec";
import { uiRefresh } from "../ui/phone-ui";

/**
 * Call signaling (docs/protocol.md §Calls): INVITE → RINGING → ANSWER … BYE, over TCP — straight to the
 * callee when its presence record says it is publicly reachable, otherwise routed through the supernodes
 * (skype-facts.md §Calls). INVITE, RINGING and ANSWER carry the sender's UDP candidates so both phones can
 * start hole punching while the callee rings; media starts on the relay and moves to the direct path as soon
 * as punching confirms it.
 *
 * Message bodies (after the type byte):
 *   INVITE  [callId u32][from str8][to str8][n u8][pt u8 × n][flags u8][c u8][(ip u32, port u16) × c]
 *   RINGING [callId u32][flags u8][c u8][(ip u32, port u16) × c]
 *   ANSWER  [callId u32][pt u8][flags u8][c u8][(ip u32, port u16) × c]
 *   BYE     [callId u32][reason u8]
 */
export const CALL_IDLE: i32 = 0;
export const CALL_SEARCHING: i32 = 1;
export const CALL_CONNECTING: i32 = 2;
export const CALL_CALLING: i32 = 3;
export const CALL_RINGBACK: i32 = 4;
export const CALL_INCOMING: i32 = 5;
export const CALL_ACTIVE: i32 = 6;

const SEARCH_TIMEOUT_US: i64 = 5_000_000;
const CONNECT_TIMEOUT_US: i64 = 2_000_000;
const INVITE_TIMEOUT_US: i64 = 10_000_000;
const RING_TIMEOUT_US: i64 = 60_000_000;

export class Call {
  state: i32 = CALL_IDLE;
  callId: u32 = 0;
  isCaller: bool = false;
  peerUser: string = "";
  peerFlags: u8 = 0;
  peer: PresenceRecord = new PresenceRecord();
  /** Direct signaling connection, or null when signaling goes through the supernodes. */
  sig: Conn | null = null;
  /** A direct TCP connection that can carry media when UDP cannot (direct-tcp): `sig`, or one we attached. */
  mediaConn: Conn | null = null;
  searchTxid: u32 = 0;
  pt: u8 = 0;
  deadlineUs: i64 = NEVER;
  dialUs: i64 = 0;
  answerUs: i64 = 0;
  /** Shown on the LCD after a call ends ("busy", "not found", …). */
  lastResult: string = "";
  lastDurationS: i32 = 0;
  /** Offered payload types of the current incoming call. */
  offer: StaticArray<u8> = new StaticArray<u8>(8);
  offerCount: i32 = 0;
}

export const call = new Call();

/** Starts a call to `name` (from the phone UI). Returns false if a call is already in progress or offline. */
export function callDial(name: string, now: i64): bool {
  if (call.state != CALL_IDLE || !clientOnline()) return false;
  if (name.length == 0 || name.length > USER_MAX) return false;
  call.isCaller = true;
  call.peerUser = name;
  call.dialUs = now;
  call.searchTxid = node.prngCall.next();
  call.lastResult = "";
  event("call.dial", "to=" + name);
  event("search.start", "name=" + name);
  clientSearch(call.searchTxid, name);
  call.state = CALL_SEARCHING;
  call.deadlineUs = now + SEARCH_TIMEOUT_US;
  uiRefresh();
  return true;
}

/** SEARCH_RESP [txid u32][found u8][record if found]. */
export function callOnSearchResult(r: ByteReader, now: i64): void {
  const txid = r.u32(); const found = r.u8();
  if (!r.ok) { stats.malformed++; return; }
  if (call.state != CALL_SEARCHING || txid != call.searchTxid) { stats.unexpected++; return; }
  if (found == 0) {
    event("search.done", "name=" + call.peerUser + " found=0 ms=" + ((now - call.dialUs) / 1000).toString());
    end("not-found", now, false, 0);
    return;
  }
  if (!call.peer.read(r) || call.peer.user != call.peerUser) { stats.malformed++; end("search-error", now, false, 0); return; }
  event("search.done", "name=" + call.peerUser + " found=1 ms=" + ((now - call.dialUs) / 1000).toString() +
    " flags=" + call.peer.flags.toString());
  call.peerFlags = call.peer.flags;
  call.callId = node.prngCall.next() | 1;
  punchReset();
  punch.callId = call.callId;
  if ((call.peer.flags & FLAG_PUBLIC) != 0 && call.peer.tcpPort > 0 && !client.tcpRestricted) {
    // The callee accepts inbound TCP: signal end to end (as Skype did between public hosts).
    const c = connOpen(ROLE_CALL, call.peer.reflexIp, call.peer.tcpPort, now);
    if (c !== null) {
      call.sig = c;
      c.user = call.peerUser;
      call.state = CALL_CONNECTING;
      call.deadlineUs = now + CONNECT_TIMEOUT_US;
      sendInvite(now);
      return;
    }
  }
  call.sig = null;
  sendInvite(now);
}

function sendInvite(now: i64): void {
  const w = beginSignal(MSG_INVITE);
  w.u32(call.callId).str8(node.cfg.user).str8(call.peerUser);
  w.u8(<u32>node.cfg.codecCount);
  for (let i = 0; i < node.cfg.codecCount; i++) w.u8(node.cfg.codecs[i]);
  writeCandidates(w);
  sendSignal();
  if (call.state != CALL_CONNECTING) {
    call.state = CALL_CALLING;
    call.deadlineUs = now + INVITE_TIMEOUT_US;
  }
  event("call.invite", "callId=" + call.callId.toString() + " via=" + (call.sig !== null ? "direct" : "sn"));
  uiRefresh();
}

/** Our flags and UDP candidates: host address, and the reflexive one when it differs (none if UDP is blocked). */
function writeCandidates(w: ByteWriter): void {
  let flags: u8 = 0;
  if (client.udpOk) flags |= FLAG_UDP_OK;
  if (client.isPublic) flags |= FLAG_PUBLIC;
  w.u8(flags);
  if (!client.udpOk) { w.u8(0); return; }
  const reflexDiffers = client.reflexIp != node.localIp || client.reflexPort != node.port;
  w.u8(reflexDiffers ? 2 : 1);
  w.u32(node.localIp).u16(<u32>node.port);
  if (reflexDiffers) w.u32(client.reflexIp).u16(<u32>client.reflexPort);
}

/** Reads [flags][c][(ip, port) × c] into the punch candidate list; returns the flags. */
function readCandidates(r: ByteReader): u8 {
  const flags = <u8>r.u8();
  const n = <i32>r.u8();
  for (let i = 0; i < n && r.ok; i++) {
    const ip = r.u32(); const port = <i32>r.u16();
    if (r.ok && i < MAX_CANDIDATES) punchAddCandidate(ip, port);
  }
  return flags;
}

/** Builds a signaling message for the current call's transport: direct frame, or ROUTE via our SN. */
function beginSignal(type: u8): ByteWriter {
  if (call.sig !== null) return txBegin(type);
  return txBegin(MSG_ROUTE).str8(call.peerUser).str8(node.cfg.user).u8(type);
}

function sendSignal(): void {
  const s = call.sig;
  if (s !== null) { connSend(s); return; }
  const sn = client.sn;
  if (sn !== null) connSend(sn);
}

export function callOnConnected(c: Conn, now: i64): void {
  if (c === call.sig) {
    call.mediaConn = c;
    if (call.state == CALL_CONNECTING) { call.state = CALL_CALLING; call.deadlineUs = now + INVITE_TIMEOUT_US; }
  }
  if (c === call.mediaConn) media.tcpConn = c;
}

/** The direct connection failed or closed. Before the call is up, fall back to routing via the SNs. */
export function callOnConnClosed(c: Conn, now: i64): void {
  if (c === call.mediaConn) { call.mediaConn = null; media.tcpConn = null; }
  if (c !== call.sig) return;
  call.sig = null;
  if (call.state == CALL_CONNECTING || (call.state == CALL_CALLING && call.isCaller)) {
    event("call.fallback", "reason=direct-tcp-failed");
    call.state = CALL_CALLING;
    sendInvite(now);
  }
  // Once ringing or active, later signaling simply goes through the SNs.
}

/** A message routed to us by our supernode: [type u8][body]. */
export function callOnRouted(from: string, r: ByteReader, now: i64): void {
  const type = <u8>r.u8();
  if (!r.ok) { stats.malformed++; return; }
  callOnSignal(null, from, type, r, now);
}

/** A signaling message from a direct connection (c) or routed (c = null, from = sender). */
export function callOnSignal(c: Conn | null, from: string, type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_INVITE) { onInvite(c, r, now); return; }
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (callId != call.callId || call.state == CALL_IDLE) { stats.unexpected++; if (type == MSG_CALL_ATTACH && c !== null) connClose(c); return; }
  if (c === null && from != call.peerUser) { stats.unexpected++; return; }
  if (type == MSG_CALL_ATTACH) {
    if (c === null || call.mediaConn !== null) { stats.unexpected++; return; }
    c.user = call.peerUser;
    call.mediaConn = c;
    media.tcpConn = c;
    event("call.attach", "callId=" + callId.toString());
    return;
  }
  if (type == MSG_PATH_DOWN) { pathDirectLost(now, "peer"); return; }
  if (type == MSG_RINGING) {
    const flags = readCandidates(r);
    if (!r.ok) { stats.malformed++; return; }
    if (call.state != CALL_CALLING && call.state != CALL_CONNECTING) return;
    call.peerFlags = flags;
    call.state = CALL_RINGBACK;
    call.deadlineUs = now + RING_TIMEOUT_US;
    event("call.ringing", "ms=" + ((now - call.dialUs) / 1000).toString());
    if (client.udpOk && (flags & FLAG_UDP_OK) != 0) punchStart(call.callId, now);
    uiRefresh();
  } else if (type == MSG_ANSWER) {
    const pt = <u8>r.u8();
    const flags = readCandidates(r);
    if (!r.ok) { stats.malformed++; return; }
    if (call.state != CALL_RINGBACK && call.state != CALL_CALLING && call.state != CALL_CONNECTING) return;
    if (!codecSupported(pt)) { hangup(BYE_NO_CODEC, "no-codec", now); return; }
    call.peerFlags = flags;
    if (client.udpOk && (flags & FLAG_UDP_OK) != 0 && !punch.active && punch.peerIp == 0) punchStart(call.callId, now);
    activate(pt, now);
  } else if (type == MSG_BYE) {
    const reason = <u8>r.u8();
    end(reason == BYE_BUSY ? "busy" : reason == BYE_DECLINED ? "declined" : reason == BYE_NO_CODEC ? "no-codec" : "remote-hangup", now, false, reason);
  } else stats.unexpected++;
}

function onInvite(c: Conn | null, r: ByteReader, now: i64): void {
  const callId = r.u32(); const from = r.str8(USER_MAX); const to = r.str8(USER_MAX);
  const n = <i32>r.u8();
  const offer = new StaticArray<u8>(8);
  let cnt = 0;
  for (let i = 0; i < n && r.ok; i++) { const pt = <u8>r.u8(); if (cnt < 8) offer[cnt++] = pt; }
  if (!r.ok || callId == 0 || from.length == 0) { stats.malformed++; return; }
  if (to != node.cfg.user) { stats.unexpected++; return; }
  if (call.state != CALL_IDLE) {
    // Busy: answer on the transport the INVITE came by, without touching the current call.
    const w = c !== null ? txBegin(MSG_BYE) : txBegin(MSG_ROUTE).str8(from).str8(node.cfg.user).u8(MSG_BYE);
    w.u32(callId).u8(BYE_BUSY);
    if (c !== null) connSend(c); else { const sn = client.sn; if (sn !== null) connSend(sn); }
    return;
  }
  punchReset();
  const flags = readCandidates(r);
  if (!r.ok) { stats.malformed++; punchReset(); return; }
  call.isCaller = false;
  call.callId = callId;
  call.peerUser = from;
  call.peerFlags = flags;
  call.sig = c;
  if (c !== null) c.user = from;
  for (let i = 0; i < cnt; i++) call.offer[i] = offer[i];
  call.offerCount = cnt;
  call.state = CALL_INCOMING;
  call.dialUs = now;
  call.deadlineUs = now + RING_TIMEOUT_US;
  call.lastResult = "";
  event("call.incoming", "from=" + from + " callId=" + callId.toString() + " via=" + (c !== null ? "direct" : "sn"));
  const w = beginSignal(MSG_RINGING);
  w.u32(callId);
  writeCandidates(w);
  sendSignal();
  punch.callId = callId;
  if (client.udpOk && (flags & FLAG_UDP_OK) != 0) punchStart(callId, now);
  if (c !== null) call.mediaConn = c;
  else if ((!client.udpOk || (flags & FLAG_UDP_OK) == 0) && (flags & FLAG_PUBLIC) != 0 && punch.candCount > 0 && !client.tcpRestricted) attach(now);
  uiRefresh();
}

/**
 * UDP is out, but the caller accepts inbound TCP: open a TCP connection back to it for the media (as a
 * firewalled Skype client reached a public peer), so the call needs no relay.
 */
function attach(now: i64): void {
  const c = connOpen(ROLE_CALL, punch.candIp[0], punch.candPort[0], now);
  if (c === null) return;
  c.user = call.peerUser;
  call.mediaConn = c;
  txBegin(MSG_CALL_ATTACH).u32(call.callId);
  connSend(c);
}

/** The user answers the ringing call (off-hook). */
export function callAnswer(now: i64): bool {
  if (call.state != CALL_INCOMING) return false;
  let pt: i32 = -1;
  for (let i = 0; i < call.offerCount && pt < 0; i++) {
    for (let j = 0; j < node.cfg.codecCount; j++) {
      if (call.offer[i] == node.cfg.codecs[j] && codecSupported(call.offer[i])) { pt = call.offer[i]; break; }
    }
  }
  if (pt < 0) { hangup(BYE_NO_CODEC, "no-codec", now); return false; }
  const w = beginSignal(MSG_ANSWER);
  w.u32(call.callId).u8(<u32>pt);
  writeCandidates(w);
  sendSignal();
  activate(<u8>pt, now);
  return true;
}

function activate(pt: u8, now: i64): void {
  call.pt = pt;
  call.state = CALL_ACTIVE;
  call.answerUs = now;
  call.deadlineUs = NEVER;
  event("call.answered", "ms=" + ((now - call.dialUs) / 1000).toString() + " codec=" + codecName(<i32>pt));
  mediaStart(pt, call.callId, call.peerUser, call.peerFlags, now);
  const mc = call.mediaConn;
  if (mc !== null && mc.connected) media.tcpConn = mc;
  pathStart(call.callId, now);
  uiRefresh();
}

/** The user hangs up (on-hook) or declines. */
export function callHangup(now: i64): void {
  if (call.state == CALL_IDLE) return;
  if (call.state == CALL_INCOMING) { hangup(BYE_DECLINED, "declined", now); return; }
  if (call.state == CALL_SEARCHING) { end("cancelled", now, true, BYE_NORMAL); return; }
  hangup(BYE_NORMAL, "local-hangup", now);
}

function hangup(reason: u8, text: string, now: i64): void {
  const w = beginSignal(MSG_BYE);
  w.u32(call.callId).u8(reason);
  sendSignal();
  end(text, now, true, reason);
}

function end(result: string, now: i64, local: bool, reason: u8): void {
  const wasActive = call.state == CALL_ACTIVE;
  call.lastDurationS = wasActive ? <i32>((now - call.answerUs) / 1_000_000) : 0;
  let kv = "reason=" + result + " callId=" + call.callId.toString() + " peer=" + call.peerUser;
  if (wasActive) kv += " durationMs=" + ((now - call.answerUs) / 1000).toString() + " " + mediaStatsText();
  event("call.ended", kv);
  mediaStop();
  media.tcpConn = null;
  pathStop();
  punchReset();
  const s = call.sig;
  const mc = call.mediaConn;
  if (mc !== null && mc !== s) connClose(mc);
  call.mediaConn = null;
  if (s !== null) { connClose(s); call.sig = null; }
  call.state = CALL_IDLE;
  call.callId = 0;
  call.deadlineUs = NEVER;
  call.lastResult = result;
  uiRefresh();
}

export function callDeadline(): i64 { return call.deadlineUs; }

export function callTick(now: i64): void {
  if (now < call.deadlineUs) return;
  const st = call.state;
  if (st == CALL_SEARCHING) end("search-timeout", now, true, 0);
  else if (st == CALL_CONNECTING) {
    const s = call.sig;
    if (s !== null) { connClose(s); call.sig = null; }
    event("call.fallback", "reason=direct-tcp-timeout");
    call.state = CALL_CALLING;
    sendInvite(now);
  } else if (st == CALL_CALLING) hangup(BYE_UNREACHABLE, "no-answer", now);
  else if (st == CALL_RINGBACK) hangup(BYE_NORMAL, "no-answer", now);
  else if (st == CALL_INCOMING) hangup(BYE_DECLINED, "missed", now);
}

/** Tells the peer its direct packets stopped reaching us (nat/path.ts), over the signaling path. */
export function callSendPathDown(): void {
  if (call.state != CALL_ACTIVE) return;
  const w = beginSignal(MSG_PATH_DOWN);
  w.u32(call.callId);
  sendSignal();
}

/** Seconds since answer, for the LCD. */
export function callDurationS(now: i64): i32 { return call.state == CALL_ACTIVE ? <i32>((now - call.answerUs) / 1_000_000) : 0; }
export { media };
