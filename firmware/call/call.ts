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
import { punch, punchAddCandidate, punchReset, punchStart, MAX_CANDIDATES, CAND_FLAG_NAT_INFO, natInfoAvailable, natInfoRead, natInfoSkip, natInfoWrite, natInfoWriteFor, Punch } from "../nat/punch";
import { natPredictProbe } from "../nat/discovery";
import { punchOnNatInfo } from "../nat/punch";
import { MSG_NAT_INFO } from "../wire/types";
import { media, mediaStart, mediaStatsText, mediaStop } from "../media/session";
import { codecSupported } from "../media/codec";
import { uiRefresh } from "../ui/phone-ui";
import { deviceAddr } from "../wire/record";
import { deviceId, myAddr } from "../im/device";
import { buddyCountBlocked, buddyIsBlocked } from "../buddy/buddies";
import { MSG_CALL_CANCEL, ADDR_MAX } from "../wire/types";
import { FLAG_FORKED, forkReadDevices } from "../im/fork";
import { callKxEnd, callKxOffer, callKxOnOffer, callKxOnReply, callKxReply } from "../sec/call-kx";
import { MSG_CONF_ADD, MSG_CONF_CAPS, MSG_CONF_HANDOVER, MSG_CONF_ROSTER, MSG_HOLD, MSG_TRANSFER } from "../wire/types";
import { holdOnSignal, holdReset } from "./hold";
import { transferOnSignal } from "./transfer";
import { confExpects, confLeave, confOnCallEnded, confOnCallSignal, confOnLegSignal, confOnSearchResult } from "./conference";

/**
 * Call signaling (docs/protocol.md §Calls): INVITE → RINGING → ANSWER … BYE, over TCP — straight to the
 * callee when its presence record says it is publicly reachable, otherwise routed through the supernodes
 * (skype-facts.md §Calls). INVITE, RINGING and ANSWER carry the sender's UDP candidates so both phones can
 * start hole punching while the callee rings; media starts on the relay and moves to the direct path as soon
 * as punching confirms it.
 *
 * Message bodies (after the type byte):
 *   INVITE  [callId u32][from str8][to str8][n u8][pt u8 × n][flags u8][c u8][(ip u32, port u16) × c][natInfo]…
 *   RINGING [callId u32][flags u8][c u8][(ip u32, port u16) × c][natInfo]…
 *   ANSWER  [callId u32][pt u8][flags u8][c u8][(ip u32, port u16) × c][natInfo]…
 * ([natInfo] only when flags has CAND_FLAG_NAT_INFO = 0x80: nat/punch.ts.)
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
  /** Routing address `user/devid` of the peer's device (issue #8): ROUTE and RELAY go to it. */
  peerAddr: string = "";
  /**
   * Issue #8, multiple logins. Caller: the INVITE went to every device of the callee (`forkAddrs`, those still
   * ringing); the first ANSWER wins and the others get CALL_CANCEL. Callee: the INVITE was forked (hole punching
   * waits for the answer, since only the answering device's path matters).
   */
  forked: bool = false;
  forkAddrs: Array<string> = new Array<string>();
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
  natPredictProbe(now); // behind a sequential symmetric NAT: port prediction base for the INVITE (nat/punch.ts)
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
  if (call.state != CALL_SEARCHING || txid != call.searchTxid) { if (!confOnSearchResult(txid, found, r, now)) stats.unexpected++; return; }
  if (found == 0) {
    event("search.done", "name=" + call.peerUser + " found=0 ms=" + ((now - call.dialUs) / 1000).toString());
    end("not-found", now, false, 0);
    return;
  }
  if (!call.peer.read(r) || call.peer.user != call.peerUser) { stats.malformed++; end("search-error", now, false, 0); return; }
  // Issue #8: [more u8][record × more] — the callee's other logged-in devices.
  const devs = forkReadDevices(r, call.peer, myAddr());
  event("search.done", "name=" + call.peerUser + " found=1 ms=" + ((now - call.dialUs) / 1000).toString() +
    " flags=" + call.peer.flags.toString() + " devices=" + devs.length.toString());
  call.peerFlags = call.peer.flags;
  call.callId = node.prngCall.next() | 1;
  punchReset();
  call.peerAddr = call.peer.addr();
  call.forkAddrs = devs;
  call.forked = devs.length > 1;
  if (call.forked) {
    // Ring every device, through the supernodes; punching starts with the answering device's ANSWER.
    call.peerAddr = "";
    call.sig = null;
    sendInvite(now);
    return;
  }
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
  if (call.forked) {
    // The same INVITE (same callId and handshake offer) to each device; ROUTE addresses the device.
    for (let i = 0; i < call.forkAddrs.length; i++) { call.peerAddr = call.forkAddrs[i]; inviteOne(); }
    call.peerAddr = "";
  } else inviteOne();
  if (call.state != CALL_CONNECTING) {
    call.state = CALL_CALLING;
    call.deadlineUs = now + INVITE_TIMEOUT_US;
  }
  event("call.invite", "callId=" + call.callId.toString() + " via=" + (call.sig !== null ? "direct" : "sn"));
  uiRefresh();
}

function inviteOne(): void {
  const w = beginSignal(MSG_INVITE);
  w.u32(call.callId).str8(node.cfg.user).str8(call.peerUser);
  w.u8(<u32>node.cfg.codecCount);
  for (let i = 0; i < node.cfg.codecCount; i++) w.u8(node.cfg.codecs[i]);
  writeCandidates(w, call.forked ? FLAG_FORKED : 0);
  callKxOffer(call.callId, node.cfg.user, call.peerUser, w); // security hook: Noise message 1 keys the media (sec/call-kx.ts)
  w.u32(deviceId()); // issue #8: the caller's device, so the callee can route to it (ROUTE/RELAY address)
  sendSignal();
}

/**
 * Our flags and UDP candidates: host address, and the reflexive one when it differs (none if UDP is blocked),
 * then our NAT info (type, port step, port prediction: nat/punch.ts) when NAT discovery has a result.
 */
function writeCandidates(w: ByteWriter, extraFlags: u8 = 0): void { writeCandidatesFor(w, punch, extraFlags, true); }

/**
 * [flags u8][c u8][(ip u32, port u16) × c][NAT info when CAND_FLAG_NAT_INFO] of INVITE / RINGING / ANSWER
 * (docs/protocol.md §Call signaling): our host candidate and, when it differs, the server-reflexive one (none
 * without UDP), and the NAT info (nat/punch.ts) of punching state `p`. `offerPublic` sets FLAG_PUBLIC when we
 * are publicly reachable (direct TCP signaling); conference legs (call/conf-leg.ts) do not offer it.
 */
export function writeCandidatesFor(w: ByteWriter, p: Punch, extraFlags: u8, offerPublic: bool): void {
  let flags: u8 = extraFlags;
  if (client.udpOk) flags |= FLAG_UDP_OK;
  if (offerPublic && client.isPublic) flags |= FLAG_PUBLIC;
  const natInfo = client.udpOk && natInfoAvailable();
  if (natInfo) flags |= CAND_FLAG_NAT_INFO;
  w.u8(flags);
  if (!client.udpOk) { w.u8(0); return; }
  const reflexDiffers = client.reflexIp != node.localIp || client.reflexPort != node.port;
  w.u8(reflexDiffers ? 2 : 1);
  w.u32(node.localIp).u16(<u32>node.port);
  if (reflexDiffers) w.u32(client.reflexIp).u16(<u32>client.reflexPort);
  if (natInfo) natInfoWriteFor(p, w);
}

/** Reads [flags][c][(ip, port) × c] without using the candidates (a forked call's RINGING); returns the flags. */
function skipCandidates(r: ByteReader): u8 {
  const flags = <u8>r.u8();
  const n = <i32>r.u8();
  r.take(n * 6);
  if ((flags & CAND_FLAG_NAT_INFO) != 0) natInfoSkip(r);
  return flags & ~CAND_FLAG_NAT_INFO;
}

/** Forked call answered by device `addr`: CALL_CANCEL to every other device still ringing, then a normal call. */
function forkWon(addr: string, now: i64): void {
  for (let i = 0; i < call.forkAddrs.length; i++) {
    const a = call.forkAddrs[i];
    if (a == addr) continue;
    call.peerAddr = a;
    const w = beginSignal(MSG_CALL_CANCEL);
    w.u32(call.callId);
    sendSignal();
    event("call.cancel.sent", "callId=" + call.callId.toString() + " to=" + a);
  }
  call.peerAddr = addr;
  call.forked = false;
  call.forkAddrs.length = 0;
}

/** Reads [flags][c][(ip, port) × c] into the punch candidate list; returns the flags. */
function readCandidates(r: ByteReader): u8 {
  const flags = <u8>r.u8();
  const n = <i32>r.u8();
  for (let i = 0; i < n && r.ok; i++) {
    const ip = r.u32(); const port = <i32>r.u16();
    if (r.ok && i < MAX_CANDIDATES) punchAddCandidate(ip, port);
  }
  if ((flags & CAND_FLAG_NAT_INFO) != 0) natInfoRead(r);
  return flags & ~CAND_FLAG_NAT_INFO;
}

/** Builds a signaling message for the current call's transport: direct frame, or ROUTE via our SN. */
function beginSignal(type: u8): ByteWriter {
  if (call.sig !== null) return txBegin(type);
  return txBegin(MSG_ROUTE).str8(call.peerAddr).str8(myAddr()).u8(type);
}

function sendSignal(): void {
  const s = call.sig;
  if (s !== null) { connSend(s); return; }
  const sn = client.sn;
  if (sn !== null) connSend(sn);
}

/** (Issue #8: hold, transfer, conference.) A signaling message to the current call's peer: begin, then send. */
export function callBeginSignal(type: u8): ByteWriter { return beginSignal(type); }
export function callSendSignal(): void { sendSignal(); }
/** (Issue #8.) Ends the current call here without signaling (transfer, conference handover). */
export function callEndLocal(result: string, now: i64): void { if (call.state != CALL_IDLE) end(result, now, true, BYE_NORMAL); }
/** (Issue #8.) Sends BYE and ends the current call with `result`. */
export function callHangupAs(result: string, now: i64): void { if (call.state != CALL_IDLE) hangup(BYE_NORMAL, result, now); }

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
  if (type == MSG_INVITE) { routeFrom = c === null ? from : ""; onInvite(c, r, now); return; }
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if ((callId != call.callId || call.state == CALL_IDLE) && confOnLegSignal(from, type, callId, r, now)) return; // a conference leg (issue #8)
  if (callId != call.callId || call.state == CALL_IDLE) { stats.unexpected++; if (type == MSG_CALL_ATTACH && c !== null) connClose(c); return; }
  if (c === null && from != call.peerAddr && !(call.forked && call.isCaller && call.forkAddrs.includes(from))) { stats.unexpected++; return; }
  if (type == MSG_CALL_CANCEL) {
    // Issue #8: another device of ours answered this call: stop ringing (no BYE: the caller knows).
    if (call.state == CALL_INCOMING) end("answered-elsewhere", now, false, BYE_NORMAL);
    return;
  }
  if (type == MSG_CALL_ATTACH) {
    if (c === null || call.mediaConn !== null) { stats.unexpected++; return; }
    c.user = call.peerUser;
    call.mediaConn = c;
    media.tcpConn = c;
    event("call.attach", "callId=" + callId.toString());
    return;
  }
  if (type == MSG_PATH_DOWN) { pathDirectLost(now, "peer"); return; }
  if (type == MSG_NAT_INFO) { punchOnNatInfo(r, now); return; } // a trickled port prediction (nat/punch.ts)
  if (type == MSG_HOLD) { holdOnSignal(r, now); return; } // issue #8: call/hold.ts
  if (type == MSG_TRANSFER) { transferOnSignal(r, now); return; } // issue #8: call/transfer.ts
  if (type == MSG_CONF_CAPS || type == MSG_CONF_ROSTER || type == MSG_CONF_HANDOVER || type == MSG_CONF_ADD) { confOnCallSignal(type, r, now); return; } // call/conference.ts
  if (type == MSG_RINGING) {
    const flags = call.forked && call.isCaller ? skipCandidates(r) : readCandidates(r);
    if (!r.ok) { stats.malformed++; return; }
    if (call.state != CALL_CALLING && call.state != CALL_CONNECTING) return;
    if (!call.forked) callKxOnReply(call.callId, call.peerUser, r, now); // security hook: Noise message 2 (repeated in ANSWER, checked there); forked: the answering device's counts
    call.peerFlags = flags;
    call.state = CALL_RINGBACK;
    call.deadlineUs = now + RING_TIMEOUT_US;
    event("call.ringing", "ms=" + ((now - call.dialUs) / 1000).toString());
    if (client.udpOk && (flags & FLAG_UDP_OK) != 0) punchStart(call.callId, now);
    uiRefresh();
  } else if (type == MSG_ANSWER) {
    if (call.forked && call.isCaller) {
      if (call.state != CALL_RINGBACK && call.state != CALL_CALLING) return;
      // Issue #8: first answer wins. This device becomes the peer; the others stop ringing.
      forkWon(from, now);
      punchReset();
      punch.callId = call.callId;
    }
    const pt = <u8>r.u8();
    const flags = readCandidates(r);
    if (!r.ok) { stats.malformed++; return; }
    if (call.state != CALL_RINGBACK && call.state != CALL_CALLING && call.state != CALL_CONNECTING) return;
    if (!codecSupported(pt)) { hangup(BYE_NO_CODEC, "no-codec", now); return; }
    if (!callKxOnReply(call.callId, call.peerUser, r, now)) { stats.malformed++; hangup(BYE_NORMAL, "handshake-failed", now); return; } // security hook: no media without keys
    call.peerFlags = flags;
    if (client.udpOk && (flags & FLAG_UDP_OK) != 0 && !punch.active && punch.peerIp == 0) punchStart(call.callId, now);
    activate(pt, now);
  } else if (type == MSG_BYE) {
    const reason = <u8>r.u8();
    if (call.forked && call.isCaller && call.state != CALL_ACTIVE) {
      // One device declined or is busy: the call goes on while another still rings.
      const i = call.forkAddrs.indexOf(from);
      if (i >= 0) call.forkAddrs.splice(i, 1);
      if (call.forkAddrs.length > 0) return;
    }
    end(reason == BYE_BUSY ? "busy" : reason == BYE_DECLINED ? "declined" : reason == BYE_NO_CODEC ? "no-codec" : "remote-hangup", now, false, reason);
  } else stats.unexpected++;
}

/** The ROUTE `from` address of the INVITE being handled ("" when it came on a direct connection). */
let routeFrom = "";

function onInvite(c: Conn | null, r: ByteReader, now: i64): void {
  const callId = r.u32(); const from = r.str8(USER_MAX); const to = r.str8(USER_MAX);
  const routedFrom = routeFrom;
  const n = <i32>r.u8();
  const offer = new StaticArray<u8>(8);
  let cnt = 0;
  for (let i = 0; i < n && r.ok; i++) { const pt = <u8>r.u8(); if (cnt < 8) offer[cnt++] = pt; }
  if (!r.ok || callId == 0 || from.length == 0) { stats.malformed++; return; }
  if (to != node.cfg.user) { stats.unexpected++; return; }
  // A blocked user's call never reaches the UI (issue #8): no ring, no answer (their INVITE times out).
  if (buddyIsBlocked(from)) { buddyCountBlocked(true, from); if (c !== null) connClose(c); return; }
  // Issue #8: after a conference handover the new host's INVITE replaces our call and is answered at once.
  const confRejoin = confExpects(from, now);
  if (confRejoin && call.state != CALL_IDLE) end("conf-handover", now, true, BYE_NORMAL);
  if (call.state != CALL_IDLE) {
    // Busy: answer on the transport the INVITE came by, without touching the current call.
    const w = c !== null ? txBegin(MSG_BYE) : txBegin(MSG_ROUTE).str8(routedFrom.length > 0 ? routedFrom : from).str8(myAddr()).u8(MSG_BYE);
    w.u32(callId).u8(BYE_BUSY);
    if (c !== null) connSend(c); else { const sn = client.sn; if (sn !== null) connSend(sn); }
    return;
  }
  punchReset();
  let flags = readCandidates(r);
  if (!r.ok) { stats.malformed++; punchReset(); return; }
  natPredictProbe(now); // before we punch (nat/punch.ts waits for it); the prediction goes in our ANSWER
  if (!callKxOnOffer(callId, from, to, r, now)) { stats.malformed++; punchReset(); return; } // security hook: Noise message 1 (sec/call-kx.ts)
  // Issue #8: [devId u32] of the caller's device (absent from older phones: the ROUTE's from address).
  const fromDev: u32 = r.remaining() >= 4 ? r.u32() : 0;
  call.forked = (flags & FLAG_FORKED) != 0;
  flags &= ~FLAG_FORKED;
  call.forkAddrs.length = 0;
  call.peerAddr = fromDev != 0 ? deviceAddr(from, fromDev) : routedFrom.length > 0 ? routedFrom : from;
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
  event("call.incoming", "from=" + from + " callId=" + callId.toString() + " via=" + (c !== null ? "direct" : "sn") + (call.forked ? " forked=1" : ""));
  const w = beginSignal(MSG_RINGING);
  w.u32(callId);
  writeCandidates(w);
  callKxReply(callId, w); // security hook: Noise message 2
  sendSignal();
  punch.callId = callId;
  if (client.udpOk && (flags & FLAG_UDP_OK) != 0 && !call.forked) punchStart(callId, now);
  if (c !== null) call.mediaConn = c;
  else if ((!client.udpOk || (flags & FLAG_UDP_OK) == 0) && (flags & FLAG_PUBLIC) != 0 && punch.candCount > 0 && !client.tcpRestricted) attach(now);
  uiRefresh();
  if (confRejoin) callAnswer(now);
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
  callKxReply(call.callId, w); // security hook: Noise message 2 again
  sendSignal();
  // Issue #8: a forked call's device punches only once it has won the call.
  if (call.forked && client.udpOk && (call.peerFlags & FLAG_UDP_OK) != 0) punchStart(call.callId, now);
  call.forked = false;
  activate(<u8>pt, now);
  return true;
}

function activate(pt: u8, now: i64): void {
  call.pt = pt;
  call.state = CALL_ACTIVE;
  call.answerUs = now;
  call.deadlineUs = NEVER;
  event("call.answered", "ms=" + ((now - call.dialUs) / 1000).toString() + " codec=" + codecName(<i32>pt));
  mediaStart(pt, call.callId, call.peerAddr, call.peerFlags, now);
  const mc = call.mediaConn;
  if (mc !== null && mc.connected) media.tcpConn = mc;
  pathStart(call.callId, now);
  uiRefresh();
}

/** The user hangs up (on-hook) or declines. */
export function callHangup(now: i64): void {
  if (call.state == CALL_ACTIVE || call.state == CALL_IDLE) confLeave(now); // issue #8: a host hands over first
  if (call.state == CALL_IDLE) return;
  if (call.state == CALL_INCOMING) { hangup(BYE_DECLINED, "declined", now); return; }
  if (call.state == CALL_SEARCHING) { end("cancelled", now, true, BYE_NORMAL); return; }
  hangup(BYE_NORMAL, "local-hangup", now);
}

function hangup(reason: u8, text: string, now: i64): void {
  if (call.forked && call.isCaller) {
    for (let i = 0; i < call.forkAddrs.length; i++) {
      call.peerAddr = call.forkAddrs[i];
      const wf = beginSignal(MSG_BYE);
      wf.u32(call.callId).u8(reason);
      sendSignal();
    }
    call.peerAddr = "";
    end(text, now, true, reason);
    return;
  }
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
  holdReset();
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
  call.forked = false;
  call.forkAddrs.length = 0;
  callKxEnd(call.callId); // security hook: wipe the handshake and media keys
  call.callId = 0;
  call.deadlineUs = NEVER;
  call.lastResult = result;
  uiRefresh();
  confOnCallEnded(now);
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

/** Sends our NAT info with a port prediction that was not ready for our INVITE / RINGING (nat/punch.ts). */
export function callSendNatInfo(): void {
  if (call.state == CALL_IDLE || call.state == CALL_SEARCHING || call.callId == 0) return;
  const w = beginSignal(MSG_NAT_INFO);
  w.u32(call.callId);
  natInfoWrite(w);
  sendSignal();
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
