import { node } from "../overlay/node";
import { client, clientSearch } from "../overlay/client";
import { connSend } from "../overlay/conns";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { txBegin } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { PresenceRecord, addrUser } from "../wire/record";
import { deviceId, myAddr } from "../im/device";
import {
  BYE_NORMAL, FLAG_PUBLIC, FLAG_UDP_OK, MSG_ANSWER, MSG_BYE, MSG_CONF_ADD, MSG_CONF_CAPS, MSG_CONF_HANDOVER, MSG_CONF_ROSTER,
  MSG_INVITE, MSG_RINGING, MSG_ROUTE, USER_MAX, MSG_NAT_INFO, MSG_PATH_DOWN,
} from "../wire/types";
import { AUDIO_BLOCK_MAX, media, MediaSession, mediaCapture, mediaSessionStart } from "../media/session";
import { codecName } from "../lib/config";
import { Mixer, MIX_PARTIES_MAX } from "../media/mixer";
import { natPredictProbe } from "../nat/discovery";
import {
  legBindCallId, legCodecOk, legDeadline, legMaybePunch, legMediaInit, legNatInfoDue, legNetReset, legNetStop, legOnNatInfo,
  legOnPathDown, legOwnsEndpoint, legPathStart, legPathText, legReadCandidates, legTick, legWriteCandidates, legWriteNatInfo,
  legWriteOffer,
} from "./conf-leg";
import { callKxEnd, callKxOffer, callKxOnReply } from "../sec/call-kx";
import { audioPlay, audioStart, audioStop } from "../../hal/audio";
import { uiRefresh } from "../ui/phone-ui";
import { call, callBeginSignal, callHangupAs, callSendSignal, CALL_ACTIVE } from "./call";
import { failoverDeadline, failoverExpects, failoverOnCallEnded, failoverOnRoster, failoverReset, failoverStatusText, failoverTick } from "./conf-failover";

/**
 * N-party conference (issue #8), hosted by one participant who mixes (firmware/media/mixer.ts): every party
 * receives the normalised sum of everyone else (the N−1 mix). The host holds one call leg per participant:
 * the ordinary call it started from (call.ts, which keeps whatever path it had — a relayed call stays
 * relayed) plus up to LEGS_MAX legs here. A leg is an ordinary call for the participant (INVITE / RINGING /
 * ANSWER / BYE, keyed by the per-leg handshake of sec/call-kx.ts); on the host its signaling always goes
 * through the supernodes (ROUTE), and its media takes the path a call would (call/conf-leg.ts): candidates
 * in INVITE / RINGING / ANSWER, hole punching with port prediction, direct UDP when it succeeds, otherwise
 * the relay (RELAY/RELAYED by callId — over UDP, or over TCP when either side has no UDP), with the same
 * direct-path watchdog and fallback; no direct TCP on a leg. Each leg negotiates its codec like a call (the
 * configured list) and has codec state of its own (media/codec-bank.ts): the phone-wide iLBC state belongs
 * to the original call.
 *
 * Roles and election: the phone whose user presses Conf → Add becomes host. It sends CONF_ROSTER to every
 * participant whenever membership changes; each answers once with CONF_CAPS (reachability flags, spare CPU,
 * uplink). Score = 400 if publicly reachable + 200 if UDP works + spare CPU % + min(uplink kbit/s / 20, 100).
 * When every participant has reported and one scores ELECTION_MARGIN above the host, the host hands hosting
 * over (once per conference). Handover — by election or because the host hangs up — is CONF_HANDOVER
 * [callId][confId][newHost][n][users]: the new host calls the listed users; everyone else accepts the new
 * host's INVITE without ringing, replacing its current call (call.ts onInvite hook). A host that stays keeps
 * its call with the new host and drops the rest; a host that leaves sends BYE on every leg.
 *
 * A host that crashes instead (no HANDOVER) is replaced by the participants themselves, from the last ROSTER:
 * call/conf-failover.ts (detection by the host's silence, ranked successors, takeover through confOpenLeg).
 * Messages (docs/protocol.md §Conference): CONF_CAPS 0x52, CONF_ROSTER 0x53, CONF_HANDOVER 0x54.
 */
export const LEGS_MAX: i32 = 14;
const LEG_IDLE: i32 = 0;
const LEG_SEARCHING: i32 = 1;
const LEG_CALLING: i32 = 2;
const LEG_RINGING: i32 = 3;
const LEG_ACTIVE: i32 = 4;
const SEARCH_TIMEOUT_US: i64 = 5_000_000;
const INVITE_TIMEOUT_US: i64 = 10_000_000;
const RING_TIMEOUT_US: i64 = 30_000_000;
/** How long a participant waits for the new host's INVITE after a handover. */
const HANDOVER_WAIT_US: i64 = 10_000_000;
export const ELECTION_MARGIN: i32 = 100;
/** Spare CPU a phone reports (%): the firmware has no load meter; each leg costs about 2 % (G.711 + mixing). */
const CPU_SPARE_BASE_PCT: i32 = 80;
const CPU_PER_LEG_PCT: i32 = 2;
/** Uplink a phone reports (kbit/s): not measured yet, every phone reports this default. */
const UPLINK_KBPS_DEFAULT: i32 = 1000;

export class ConfLeg {
  state: i32 = LEG_IDLE;
  user: string = "";
  /** Where ROUTE messages for this leg go: the user until its first answer names the device ("user/devid"). */
  addr: string = "";
  callId: u32 = 0;
  searchTxid: u32 = 0;
  deadlineUs: i64 = NEVER;
  startUs: i64 = 0;
  /** Capability score from CONF_CAPS; -1 until it arrives. */
  score: i32 = -1;
  media: MediaSession;
  constructor() { this.media = new MediaSession(); legMediaInit(this.media); }
}

export class Conference {
  confId: u32 = 0;
  hosting: bool = false;
  legs: Array<ConfLeg> = new Array<ConfLeg>();
  /** Score of the original call's peer (the host's `call`), -1 unknown. */
  primaryScore: i32 = -1;
  electionDone: bool = false;
  /** Participant side: the conference we were told about (ROSTER) and whether we answered with CAPS. */
  memberOf: u32 = 0;
  hostUser: string = "";
  members: i32 = 0;
  capsSentFor: u32 = 0;
  /** After a handover: accept this user's INVITE without ringing until expectUntilUs. */
  expectFrom: string = "";
  expectUntilUs: i64 = NEVER;
  handovers: i32 = 0;
  mixer: Mixer = new Mixer();
  /** Mixer slot of each leg this block (-1 not mixed). */
  slot: StaticArray<i32> = new StaticArray<i32>(LEGS_MAX);
  audioOn: bool = false;
}

export const conf = new Conference();
const rec = new PresenceRecord();

function leg(i: i32): ConfLeg {
  while (conf.legs.length <= i) conf.legs.push(new ConfLeg());
  return conf.legs[i];
}

export function confLegByCallId(callId: u32): MediaSession | null {
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state == LEG_ACTIVE && l.callId == callId) return l.media;
  }
  return null;
}

/**
 * (Issue #8.) The leg whose direct path an RTP packet from `ip:port` came by: the leg's confirmed direct peer,
 * else (unless `primaryConfirmed`: the source is the call's own confirmed peer) one of the leg's candidates.
 * A leg still ringing counts too (its session is not active yet: the participant's first frames, sent as it
 * answered, arrive before its ANSWER when punching won early; media/session.ts drops them).
 */
function legInvited(l: ConfLeg): bool { return l.state == LEG_CALLING || l.state == LEG_RINGING || l.state == LEG_ACTIVE; }

export function confLegByEndpoint(ip: u32, port: i32, primaryConfirmed: bool): MediaSession | null {
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (legInvited(l) && legOwnsEndpoint(l.media, ip, port, true)) return l.media;
  }
  if (primaryConfirmed) return null;
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (legInvited(l) && legOwnsEndpoint(l.media, ip, port, false)) return l.media;
  }
  return null;
}

function findLeg(callId: u32): ConfLeg | null {
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state != LEG_IDLE && l.callId == callId) return l; }
  return null;
}

function activeLegs(): i32 {
  let n = 0;
  for (let i = 0; i < conf.legs.length; i++) if (conf.legs[i].state == LEG_ACTIVE) n++;
  return n;
}

/** Whether conference legs need the audio device (media/session.ts keeps it on when the call ends). */
export function confKeepsAudio(): bool { return activeLegs() > 0; }

/** Whether this phone is in a conference as host or with legs (the UI's on-hook ends it). */
export function confActive(): bool { return conf.hosting || activeLegs() > 0; }

/** Participants besides us: the original call's peer (if active) and the active legs. */
export function confParties(): i32 { return activeLegs() + (call.state == CALL_ACTIVE ? 1 : 0); }

/** Our capability score (see the module comment). */
export function confMyScore(): i32 {
  return scoreOf(flagsNow(), cpuSparePct(), UPLINK_KBPS_DEFAULT);
}

function flagsNow(): u8 { let f: u8 = 0; if (client.udpOk) f |= FLAG_UDP_OK; if (client.isPublic) f |= FLAG_PUBLIC; return f; }
function cpuSparePct(): i32 { return max(0, CPU_SPARE_BASE_PCT - CPU_PER_LEG_PCT * confParties()); }
function scoreOf(flags: u8, cpu: i32, kbps: i32): i32 {
  return ((flags & FLAG_PUBLIC) != 0 ? 400 : 0) + ((flags & FLAG_UDP_OK) != 0 ? 200 : 0) + min(cpu, 100) + min(kbps / 20, 100);
}

/**
 * Adds `name` to the conference (Conf → Add on the phone): we become host if we are not in a conference yet.
 * Needs an active call or a conference. Returns false when that is not the case, the name is bad or all legs
 * are in use.
 */
export function confAdd(name: string, now: i64): bool {
  if (name.length == 0 || name.length > USER_MAX || name == node.cfg.user) return false;
  if (call.state != CALL_ACTIVE && !confActive()) return false;
  if (confParties() + 2 > MIX_PARTIES_MAX) return false;
  let free = -1;
  for (let i = 0; i < LEGS_MAX; i++) {
    const l = leg(i);
    if (l.state != LEG_IDLE && l.user == name) return false;
    if (free < 0 && l.state == LEG_IDLE) free = i;
  }
  if (free < 0) return false;
  if (call.state == CALL_ACTIVE && call.peerUser == name) return false;
  if (!conf.hosting && conf.hostUser.length > 0 && conf.hostUser != node.cfg.user) return forwardAdd(name, now);
  if (!conf.hosting) startHosting(now);
  return startLeg(free, name, now);
}

/** A participant's Add goes to the host (CONF_ADD), on our call with it or our leg to it. */
function forwardAdd(name: string, now: i64): bool {
  if (call.state == CALL_ACTIVE && call.peerUser == conf.hostUser) {
    const w = callBeginSignal(MSG_CONF_ADD);
    w.u32(call.callId).u32(conf.confId).str8(name);
    callSendSignal();
  } else {
    let l: ConfLeg | null = null;
    for (let i = 0; i < conf.legs.length; i++) if (conf.legs[i].state == LEG_ACTIVE && conf.legs[i].user == conf.hostUser) l = conf.legs[i];
    if (l === null) return false;
    routeBegin(l.addr, MSG_CONF_ADD).u32(l.callId).u32(conf.confId).str8(name);
    routeSend();
  }
  event("conf.add.forward", "peer=" + name + " host=" + conf.hostUser);
  return true;
}

/** CONF_ADD [confId u32][user str8] from a participant: add that user (we are the host). */
function onAddRequest(r: ByteReader, now: i64): void {
  const id = r.u32(); const name = r.str8(USER_MAX);
  if (!r.ok || name.length == 0) { stats.malformed++; return; }
  if (!conf.hosting || id != conf.confId) { stats.unexpected++; return; }
  confAdd(name, now);
}

function startHosting(now: i64): void {
  conf.hosting = true;
  if (conf.confId == 0) { conf.confId = node.prngCall.next() | 1; conf.electionDone = false; conf.mixer.reset(); }
  event("conf.host", "confId=" + conf.confId.toString());
}

function startLeg(i: i32, name: string, now: i64): bool {
  const l = leg(i);
  l.user = name; l.addr = name; l.score = -1; l.startUs = now;
  legNetReset(l.media);
  natPredictProbe(now); // behind a sequential symmetric NAT: the prediction base for the leg's INVITE (as callDial)
  l.searchTxid = node.prngCall.next();
  if (!clientSearch(l.searchTxid, name)) { l.state = LEG_IDLE; return false; }
  l.state = LEG_SEARCHING;
  l.deadlineUs = now + SEARCH_TIMEOUT_US;
  event("conf.add", "peer=" + name);
  uiRefresh();
  return true;
}

/** SEARCH_RESP for one of our legs (txid matched); false when it is not ours. */
export function confOnSearchResult(txid: u32, found: u32, r: ByteReader, now: i64): bool {
  let l: ConfLeg | null = null;
  for (let i = 0; i < conf.legs.length; i++) if (conf.legs[i].state == LEG_SEARCHING && conf.legs[i].searchTxid == txid) l = conf.legs[i];
  if (l === null) return false;
  if (found == 0 || !rec.read(r) || rec.user != l.user) { legEnd(l, "not-found", now, false); return true; }
  l.callId = node.prngCall.next() | 1;
  l.addr = rec.addr();
  // INVITE by way of the supernodes, as a call's: our codecs, candidates and NAT info (call/conf-leg.ts).
  legBindCallId(l.media, l.callId);
  const w = routeBegin(l.addr, MSG_INVITE);
  w.u32(l.callId).str8(node.cfg.user).str8(l.user);
  legWriteOffer(w);
  legWriteCandidates(l.media, w);
  callKxOffer(l.callId, node.cfg.user, l.user, w);
  w.u32(deviceId()); // [devId u32] of our device (multiple logins, call.ts onInvite)
  routeSend();
  l.state = LEG_CALLING;
  l.deadlineUs = now + INVITE_TIMEOUT_US;
  event("conf.invite", "peer=" + l.user + " callId=" + l.callId.toString());
  return true;
}

function routeBegin(to: string, type: u8): ByteWriter {
  return txBegin(MSG_ROUTE).str8(to).str8(myAddr()).u8(type);
}

function routeSend(): void { const sn = client.sn; if (sn !== null) connSend(sn); }

/**
 * A signaling message whose callId is not the current call's: ours if it belongs to a leg. `r` is after the
 * callId. Returns false when no leg has that callId (the caller counts it as unexpected).
 */
export function confOnLegSignal(from: string, type: u8, callId: u32, r: ByteReader, now: i64): bool {
  const l = findLeg(callId);
  if (l === null) return false;
  if (addrUser(from) != l.user) { stats.unexpected++; return true; }
  if (from.indexOf("/") > 0) l.addr = from;
  if (type == MSG_RINGING) {
    const flags = legReadCandidates(l.media, r);
    if (!r.ok) { stats.malformed++; return true; }
    callKxOnReply(callId, l.user, r, now);
    if (l.state == LEG_CALLING) { l.state = LEG_RINGING; l.deadlineUs = now + RING_TIMEOUT_US; }
    legMaybePunch(l.media, callId, flags, now);
  } else if (type == MSG_ANSWER) {
    const pt = <u8>r.u8();
    const flags = legReadCandidates(l.media, r);
    if (!r.ok) { stats.malformed++; return true; }
    if (l.state != LEG_CALLING && l.state != LEG_RINGING) return true;
    if (!legCodecOk(pt) || !callKxOnReply(callId, l.user, r, now)) { sendBye(l); legEnd(l, "handshake-or-codec", now, false); return true; }
    legMaybePunch(l.media, callId, flags, now);
    legActivate(l, pt, flags, now);
  } else if (type == MSG_PATH_DOWN) {
    if (l.state == LEG_ACTIVE) legOnPathDown(l.media, now);
  } else if (type == MSG_NAT_INFO) {
    legOnNatInfo(l.media, r, now); // counts a malformed one
  } else if (type == MSG_BYE) {
    legEnd(l, "remote-hangup", now, false);
    afterMembershipChange(now);
  } else if (type == MSG_CONF_CAPS) {
    onCaps(l, r, now);
  } else if (type == MSG_CONF_ADD) {
    onAddRequest(r, now);
  } else if (type == MSG_CONF_ROSTER) {
    onRoster(r, now, l); // from the host, on the leg we kept to it after handing hosting over
  } else if (type == MSG_CONF_HANDOVER) {
    onHandover(r, now);
  } else stats.unexpected++;
  return true;
}

function legActivate(l: ConfLeg, pt: u8, flags: u8, now: i64): void {
  l.state = LEG_ACTIVE;
  l.deadlineUs = NEVER;
  mediaSessionStart(l.media, pt, l.callId, l.addr, flags, now);
  legPathStart(l.media, l.callId, now);
  if (!media.active && !conf.audioOn) audioStart(8000);
  conf.audioOn = true;
  event("conf.leg.active", "peer=" + l.user + " ms=" + ((now - l.startUs) / 1000).toString() + " parties=" + (confParties() + 1).toString() +
    " codec=" + codecName(<i32>pt));
  afterMembershipChange(now);
  uiRefresh();
}

function sendBye(l: ConfLeg): void {
  routeBegin(l.addr, MSG_BYE).u32(l.callId).u8(BYE_NORMAL);
  routeSend();
}

function legEnd(l: ConfLeg, why: string, now: i64, sendByeFirst: bool): void {
  if (l.state == LEG_IDLE) return;
  if (sendByeFirst && l.state != LEG_SEARCHING) sendBye(l);
  const wasActive = l.state == LEG_ACTIVE;
  event("conf.leg.ended", "peer=" + l.user + " reason=" + why + (wasActive ? " rtpSent=" + l.media.rtpSent.toString() +
    " rtpRecv=" + l.media.rtpRecv.toString() + " lost=" + l.media.jb.stats.lost().toString() + " " + legPathText(l.media) +
    " codec=" + codecName(<i32>l.media.pt) + " bytesSent=" + l.media.bytesSent.toString() + " bytesRecv=" + l.media.bytesRecv.toString() : ""));
  if (l.callId != 0) callKxEnd(l.callId);
  legNetStop(l.media);
  l.media.active = false;
  l.state = LEG_IDLE; l.callId = 0; l.deadlineUs = NEVER; l.score = -1;
  if (activeLegs() == 0 && conf.audioOn) {
    conf.audioOn = false;
    if (!media.active) audioStop();
  }
  if (!confActive() || (conf.hosting && confParties() == 0 && !anyPending())) endConference(now);
  uiRefresh();
}

function anyPending(): bool {
  for (let i = 0; i < conf.legs.length; i++) { const s = conf.legs[i].state; if (s != LEG_IDLE && s != LEG_ACTIVE) return true; }
  return false;
}

function endConference(now: i64): void {
  if (conf.hosting) event("conf.ended", "confId=" + conf.confId.toString());
  conf.hosting = false; conf.confId = 0; conf.primaryScore = -1; conf.electionDone = false;
}

/** CONF_CAPS [confId u32][flags u8][cpuSparePct u8][uplinkKbps u16] from a leg or the call's peer. */
function readCaps(r: ByteReader): i32 {
  const id = r.u32(); const flags = <u8>r.u8(); const cpu = <i32>r.u8(); const kbps = <i32>r.u16();
  if (!r.ok || id != conf.confId) return -1;
  return scoreOf(flags, cpu, kbps);
}

function onCaps(l: ConfLeg, r: ByteReader, now: i64): void {
  const s = readCaps(r);
  if (s < 0) { stats.malformed++; return; }
  l.score = s;
  event("conf.caps", "peer=" + l.user + " score=" + s.toString());
  sendRoster(); // the scores rank the successors if we fail (call/conf-failover.ts)
  elect(now);
}

/** Conference messages on the ordinary call (`r` after the callId): as host from our peer, as participant from the host. */
export function confOnCallSignal(type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_CONF_CAPS) {
    const s = readCaps(r);
    if (s < 0) { stats.malformed++; return; }
    if (!conf.hosting) { stats.unexpected++; return; }
    conf.primaryScore = s;
    event("conf.caps", "peer=" + call.peerUser + " score=" + s.toString());
    sendRoster(); // the scores rank the successors if we fail (call/conf-failover.ts)
    elect(now);
  } else if (type == MSG_CONF_ROSTER) onRoster(r, now, null);
  else if (type == MSG_CONF_HANDOVER) onHandover(r, now);
  else if (type == MSG_CONF_ADD) onAddRequest(r, now);
  else stats.unexpected++;
}

/** ROSTER [confId u32][n u8][(user str8, score u16) × n], host first: answer once with our CAPS. */
function onRoster(r: ByteReader, now: i64, l: ConfLeg | null): void {
  const id = r.u32(); const n = <i32>r.u8();
  let host = "";
  const users = new Array<string>(); const scores = new Array<i32>();
  for (let i = 0; i < n && r.ok; i++) { const u = r.str8(USER_MAX); const sc = <i32>r.u16(); if (i == 0) host = u; users.push(u); scores.push(sc); }
  if (!r.ok || id == 0 || n == 0) { stats.malformed++; return; }
  if (conf.hosting) { stats.unexpected++; return; }
  conf.memberOf = id; conf.hostUser = host; conf.members = n;
  conf.confId = id;
  failoverOnRoster(id, users, scores); // successors if the host fails (call/conf-failover.ts)
  if (conf.capsSentFor != id) {
    conf.capsSentFor = id;
    const w = l !== null ? routeBegin(l.addr, MSG_CONF_CAPS) : callBeginSignal(MSG_CONF_CAPS);
    w.u32(l !== null ? l.callId : call.callId).u32(id).u8(flagsNow()).u8(<u32>cpuSparePct()).u16(<u32>UPLINK_KBPS_DEFAULT);
    if (l !== null) routeSend(); else callSendSignal();
  }
  event("conf.roster", "host=" + host + " members=" + n.toString());
}

/** Membership changed (host): tell everyone who is in, and reconsider the host. */
function afterMembershipChange(now: i64): void {
  if (!conf.hosting) return;
  sendRoster();
  elect(now);
}

function writeRoster(w: ByteWriter): void {
  w.u32(conf.confId);
  w.u8(<u32>(confParties() + 1));
  w.str8(node.cfg.user).u16(<u32>confMyScore());
  if (call.state == CALL_ACTIVE) w.str8(call.peerUser).u16(<u32>max(0, conf.primaryScore));
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state == LEG_ACTIVE) w.str8(l.user).u16(<u32>max(0, l.score)); }
}

function sendRoster(): void {
  if (call.state == CALL_ACTIVE) {
    const w = callBeginSignal(MSG_CONF_ROSTER);
    w.u32(call.callId);
    writeRoster(w);
    callSendSignal();
  }
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_ACTIVE) continue;
    const w = routeBegin(l.addr, MSG_CONF_ROSTER);
    w.u32(l.callId);
    writeRoster(w);
    routeSend();
  }
}

/** Election (host): once everyone has reported, hand hosting to a clearly more capable participant. */
function elect(now: i64): void {
  if (!conf.hosting || conf.electionDone || confParties() < 2 || anyPending()) return;
  if (call.state == CALL_ACTIVE && conf.primaryScore < 0) return;
  for (let i = 0; i < conf.legs.length; i++) if (conf.legs[i].state == LEG_ACTIVE && conf.legs[i].score < 0) return;
  const best = bestOther();
  conf.electionDone = true;
  const mine = confMyScore();
  event("conf.election", "best=" + best + " bestScore=" + scoreOfUser(best).toString() + " myScore=" + mine.toString());
  if (best.length > 0 && scoreOfUser(best) >= mine + ELECTION_MARGIN) handover(best, false, now);
}

function scoreOfUser(u: string): i32 {
  if (call.state == CALL_ACTIVE && call.peerUser == u) return conf.primaryScore;
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state == LEG_ACTIVE && l.user == u) return l.score; }
  return -1;
}

/** The most capable participant other than us (ties: the smaller name), "" when alone. */
function bestOther(): string {
  let best = ""; let bestScore = -2;
  if (call.state == CALL_ACTIVE) { best = call.peerUser; bestScore = conf.primaryScore; }
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_ACTIVE) continue;
    if (l.score > bestScore || (l.score == bestScore && l.user < best)) { best = l.user; bestScore = l.score; }
  }
  return best;
}

/**
 * Hands hosting to `newHost`: every participant gets HANDOVER listing the users the new host must call (all
 * participants but itself, plus us when we stay). Legs other than the one to the new host end now.
 */
function handover(newHost: string, leaving: bool, now: i64): void {
  const users = new Array<string>();
  if (call.state == CALL_ACTIVE && call.peerUser != newHost) users.push(call.peerUser);
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state == LEG_ACTIVE && l.user != newHost) users.push(l.user); }
  event("conf.handover", "to=" + newHost + " leaving=" + (leaving ? "1" : "0") + " users=" + users.length.toString());
  conf.handovers++;
  if (call.state == CALL_ACTIVE) {
    const w = callBeginSignal(MSG_CONF_HANDOVER);
    w.u32(call.callId);
    writeHandover(w, newHost, users, leaving);
    callSendSignal();
  }
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_ACTIVE) continue;
    const w = routeBegin(l.addr, MSG_CONF_HANDOVER);
    w.u32(l.callId);
    writeHandover(w, newHost, users, leaving);
    routeSend();
  }
  conf.hosting = false;
  conf.hostUser = newHost;
  // Staying: keep the connection to the new host (it calls everyone else); end the rest.
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_IDLE && (leaving || l.user != newHost)) legEnd(l, leaving ? "host-left" : "handover", now, true);
  }
  if (!leaving) {
    // Staying: our link to the new host is our call with it or our leg to it; a call with anyone else ends.
    let linked = call.state == CALL_ACTIVE && call.peerUser == newHost;
    for (let i = 0; i < conf.legs.length; i++) if (conf.legs[i].state == LEG_ACTIVE && conf.legs[i].user == newHost) linked = true;
    if (call.state == CALL_ACTIVE && call.peerUser != newHost) callHangupAs("conf-handover", now);
    if (!linked) { conf.expectFrom = newHost; conf.expectUntilUs = now + HANDOVER_WAIT_US; }
  }
}

function writeHandover(w: ByteWriter, newHost: string, users: Array<string>, leaving: bool): void {
  w.u32(conf.confId).str8(newHost);
  const extra = leaving ? 0 : 1;
  w.u8(<u32>(users.length + extra));
  for (let i = 0; i < users.length; i++) w.str8(users[i]);
  if (!leaving) w.str8(node.cfg.user);
}

/** HANDOVER [confId u32][newHost str8][n u8][user str8 × n]. */
function onHandover(r: ByteReader, now: i64): void {
  const id = r.u32(); const newHost = r.str8(USER_MAX); const n = <i32>r.u8();
  const users = new Array<string>();
  for (let i = 0; i < n && r.ok; i++) { const u = r.str8(USER_MAX); if (r.ok && u.length > 0) users.push(u); }
  if (!r.ok || id == 0 || newHost.length == 0) { stats.malformed++; return; }
  event("conf.handover.rx", "newHost=" + newHost + " users=" + users.length.toString());
  failoverReset(); // the host handed over: its roster no longer applies
  conf.confId = id;
  conf.hostUser = newHost;
  conf.capsSentFor = 0; // the new host asks again (ROSTER) and gets our CAPS
  if (newHost != node.cfg.user) {
    conf.expectFrom = newHost; conf.expectUntilUs = now + HANDOVER_WAIT_US;
    return;
  }
  // We host now: call everyone listed (the old host too if it stays; our current call may be with it).
  conf.hosting = true;
  conf.electionDone = true;
  conf.primaryScore = -1;
  event("conf.host", "confId=" + id.toString() + " by=handover");
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    if (u == node.cfg.user || (call.state == CALL_ACTIVE && call.peerUser == u)) continue;
    let free = -1;
    for (let j = 0; j < LEGS_MAX && free < 0; j++) if (leg(j).state == LEG_IDLE) free = j;
    if (free >= 0) startLeg(free, u, now);
  }
}

/**
 * call.ts onInvite: an INVITE from the user a handover told us to expect. Returns true when it must be
 * accepted without ringing (replacing the current call if there is one).
 */
export function confExpects(from: string, now: i64): bool {
  if (failoverExpects(from, now)) return true; // a successor after a host failure (call/conf-failover.ts)
  if (conf.expectFrom.length == 0 || from != conf.expectFrom || now > conf.expectUntilUs) return false;
  conf.expectFrom = ""; conf.expectUntilUs = NEVER;
  event("conf.rejoin", "host=" + from);
  return true;
}

/**
 * The user hangs up (call.ts callHangup, or on-hook with only legs left). As host with two or more
 * participants, hosting goes to the most capable one first. Ends every leg. Returns true when it did anything.
 */
export function confLeave(now: i64): bool {
  if (!confActive()) return false;
  if (conf.hosting && confParties() >= 2) {
    const best = bestOther();
    event("conf.leave", "successor=" + best);
    handover(best, true, now);
  } else {
    event("conf.leave", "successor=");
    for (let i = 0; i < conf.legs.length; i++) legEnd(conf.legs[i], "local-hangup", now, true);
  }
  endConference(now);
  return true;
}

/** call.ts end(): the ordinary call ended; the conference goes on with its legs (if any). */
export function confOnCallEnded(now: i64): void {
  failoverOnCallEnded(call.peerUser, call.lastResult);
  if (!conf.hosting) return;
  afterMembershipChange(now);
  if (confParties() == 0 && !anyPending()) endConference(now);
}

export function confDeadline(): i64 {
  let d = min(conf.expectUntilUs, failoverDeadline());
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.deadlineUs < d) d = l.deadlineUs;
    if (l.state == LEG_ACTIVE) d = min(d, legDeadline(l.media));
  }
  return d;
}

/** Per leg: the direct-path watchdog (PATH_DOWN on a loss) and a late port prediction (NAT_INFO). */
function legsNetTick(now: i64): void {
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state == LEG_IDLE || l.state == LEG_SEARCHING) continue;
    if (l.state == LEG_ACTIVE && legTick(l.media, now)) {
      routeBegin(l.addr, MSG_PATH_DOWN).u32(l.callId);
      routeSend();
    }
    if (legNatInfoDue(l.media, now)) {
      const w = routeBegin(l.addr, MSG_NAT_INFO);
      w.u32(l.callId);
      legWriteNatInfo(l.media, w);
      routeSend();
    }
  }
}

export function confTick(now: i64): void {
  if (now >= conf.expectUntilUs) { conf.expectFrom = ""; conf.expectUntilUs = NEVER; }
  legsNetTick(now);
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (now >= l.deadlineUs && l.state != LEG_IDLE && l.state != LEG_ACTIVE) {
      legEnd(l, l.state == LEG_SEARCHING ? "search-timeout" : "no-answer", now, true);
      afterMembershipChange(now);
    }
  }
  failoverTick(now); // host failure detection (call/conf-failover.ts)
}

/**
 * One 10 ms microphone block while conference legs are up (main.ts onAudio): party 0 is our microphone,
 * then the ordinary call's peer (if any), then each active leg; every party gets its N−1 mix — our speaker
 * included. Returns false when there are no legs (the ordinary media path handles the block).
 */
export function confOnAudio(micPtr: usize, n: i32, now: i64): bool {
  if (activeLegs() == 0) return false;
  if (n <= 0 || n > AUDIO_BLOCK_MAX) { stats.malformed++; return true; }
  const mx = conf.mixer;
  memory.copy(mx.inputPtr(0), micPtr, <usize>(n * 2));
  let parties = 1;
  const primary = media.active && call.state == CALL_ACTIVE;
  if (primary) { media.jb.pull(mx.inputPtr(1), n, now); parties = 2; }
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_ACTIVE || parties >= MIX_PARTIES_MAX) { if (i < LEGS_MAX) conf.slot[i] = -1; continue; }
    l.media.jb.pull(mx.inputPtr(parties), n, now);
    conf.slot[i] = parties++;
  }
  mx.mix(n, parties);
  audioPlay(mx.outputPtr(0), n);
  if (primary) mediaCapture(media, mx.outputPtr(1), n, now);
  for (let i = 0; i < conf.legs.length; i++) {
    const k = conf.slot[i];
    if (k > 0 && conf.legs[i].state == LEG_ACTIVE) mediaCapture(conf.legs[i].media, mx.outputPtr(k), n, now);
  }
  return true;
}

// ---- for call/conf-failover.ts (host failure) ----------------------------------------------------------

/** Opens a leg to `user` through the ordinary leg setup (as an Add does); false when none is free or it fails. */
export function confOpenLeg(user: string, now: i64): bool {
  if (user.length == 0 || user == node.cfg.user) return false;
  for (let i = 0; i < LEGS_MAX; i++) { const l = leg(i); if (l.state != LEG_IDLE && l.user == user) return false; }
  for (let i = 0; i < LEGS_MAX; i++) if (leg(i).state == LEG_IDLE) return startLeg(i, user, now);
  return false;
}

/** The media session of our active leg to `user`, or null. */
export function confLegMediaTo(user: string): MediaSession | null {
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state == LEG_ACTIVE && l.user == user) return l.media; }
  return null;
}

/** Ends (with BYE) every leg to `user`. */
export function confEndLegsTo(user: string, why: string, now: i64): void {
  for (let i = 0; i < conf.legs.length; i++) { const l = conf.legs[i]; if (l.state != LEG_IDLE && l.user == user) legEnd(l, why, now, true); }
}

/** `conf` line for the console: role, parties, legs. */
export function confStatusText(): string {
  let s = "conf " + (conf.hosting ? "host" : confActive() ? "legs" : "none") + " confId=" + conf.confId.toString() +
    " parties=" + (confParties() + 1).toString() + " handovers=" + conf.handovers.toString() + failoverStatusText();
  for (let i = 0; i < conf.legs.length; i++) {
    const l = conf.legs[i];
    if (l.state != LEG_IDLE) s += " " + l.user + ":" + l.state.toString() + ":" + l.media.path;
  }
  return s;
}
