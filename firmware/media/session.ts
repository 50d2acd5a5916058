import { node } from "../overlay/node";
import { client } from "../overlay/client";
import { Conn, connSend } from "../overlay/conns";
import { pathOnDirectRx, pathOnDirectRxOf, PathState } from "../nat/path";
import { punch, Punch } from "../nat/punch";
import { CodecBank } from "./codec-bank";
import { ByteReader } from "../lib/bytes";
import { tx, txBegin, txSendUdp } from "../lib/tx";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { FLAG_UDP_OK, MSG_RELAY, MSG_RELAYED } from "../wire/types";
import { RTP_HEADER_BYTES, RtpHeader, rtpParse, rtpWriteHeader } from "./rtp";
import { JitterBuffer } from "./jitter";
import { codecEncode, codecFrameSamples, codecReset } from "./codec";
import { codecName } from "../lib/config";
import { audioPlay, audioStart, audioStop } from "../../hal/audio";
import { netUdpSend } from "../../hal/net";
import { srtpProtect, srtpUnprotect } from "../sec/srtp";
import { relayTo } from "../sec/relay-alias";
import { confKeepsAudio, confLegByCallId, confLegByEndpoint } from "../call/conference";
import { holdFillSpeaker, holdOnKeepalive } from "../call/hold";

/** RTP payload type of comfort noise (RFC 3389 §4), our keep-alive while on hold. */
export const PT_CN: u8 = 13;

/**
 * One call's media: 10 ms microphone blocks are gathered into 20 ms frames, encoded, put in RTP
 * (RFC 3550) and sent on the best path available — direct UDP once hole punching has confirmed the peer,
 * otherwise through the supernodes (RELAY over UDP, or over our TCP connection when UDP is blocked).
 * Received packets go through the jitter buffer; the speaker gets one 10 ms block per microphone block.
 * Nothing here allocates per packet.
 */
export const AUDIO_BLOCK_MAX: i32 = 480;

export class MediaSession {
  active: bool = false;
  pt: u8 = 0;
  callId: u32 = 0;
  peerUser: string = "";
  peerFlags: u8 = 0;
  ssrc: u32 = 0;
  seq: u16 = 0;
  timestamp: u32 = 0;
  frameSamples: i32 = 160;
  mic: StaticArray<i16> = new StaticArray<i16>(AUDIO_BLOCK_MAX * 2);
  micFill: i32 = 0;
  pkt: StaticArray<u8> = new StaticArray<u8>(RTP_HEADER_BYTES + 1024);
  spk: StaticArray<i16> = new StaticArray<i16>(AUDIO_BLOCK_MAX);
  rx: RtpHeader = new RtpHeader();
  /** Adaptive jitter buffer, time-stretching and concealment (jitter.ts). */
  jb: JitterBuffer = new JitterBuffer(true);
  rtpSent: u32 = 0;
  rtpRecv: u32 = 0;
  bytesSent: u64 = 0;
  bytesRecv: u64 = 0;
  /** Packets that arrived but were not for this call (wrong SSRC handling, unknown source). */
  rejected: u32 = 0;
  path: string = "";
  startUs: i64 = 0;
  /** Packets sent on each path: direct-udp, direct-tcp, relay-udp, relay-tcp (the report's path is the busiest). */
  sentByPath: StaticArray<u32> = new StaticArray<u32>(4);
  pathChanges: i32 = 0;
  /** Direct TCP connection to the peer usable for media when UDP is not (set by the call module). */
  tcpConn: Conn | null = null;
  /** (Issue #8.) A conference leg of the host (call/conference.ts): its own punching state and path watchdog
   *  (`legPunch`, `legPath`: the same path selection as a call, minus direct TCP) and its own codec state
   *  (`codecs`); events are conf.leg.* instead of media.*. */
  isConfLeg: bool = false;
  legPunch: Punch | null = null;
  legPath: PathState | null = null;
  codecs: CodecBank | null = null;
  /** (Issue #8.) On hold, either side (call/hold.ts): no audio frames go out (the RTP clock keeps running). */
  holdMuted: bool = false;
  /** (Issue #8.) When the last authentic packet (audio or keep-alive) arrived, µs; 0 before the first. The
   *  conference's host-failure detector watches it (call/conf-failover.ts). */
  lastRxUs: i64 = 0;
}

export const media = new MediaSession();

export function mediaStart(pt: u8, callId: u32, peerUser: string, peerFlags: u8, now: i64): void {
  mediaSessionStart(media, pt, callId, peerUser, peerFlags, now);
  audioStart(8000);
}

/** Starts session `s` (the call's `media`, or a conference leg) without touching the audio device. */
export function mediaSessionStart(s: MediaSession, pt: u8, callId: u32, peerUser: string, peerFlags: u8, now: i64): void {
  s.active = true;
  s.pt = pt; s.callId = callId; s.peerUser = peerUser; s.peerFlags = peerFlags;
  s.ssrc = node.prngMedia.next();
  s.seq = <u16>node.prngMedia.next();
  s.timestamp = node.prngMedia.next();
  s.frameSamples = codecFrameSamples(pt);
  const bank = s.codecs;
  if (bank !== null) bank.reset(pt); else codecReset(pt);
  s.jb.bank = bank;
  s.micFill = 0;
  s.jb.reset();
  s.rtpSent = 0; s.rtpRecv = 0; s.bytesSent = 0; s.bytesRecv = 0; s.rejected = 0;
  s.path = "";
  s.pathChanges = 0;
  s.holdMuted = false;
  s.lastRxUs = 0;
  for (let i = 0; i < 4; i++) s.sentByPath[i] = 0;
  s.startUs = now;
}

export function mediaStop(): void {
  if (!media.active) return;
  media.active = false;
  media.holdMuted = false;
  if (!confKeepsAudio()) audioStop(); // a conference host's other legs still play (call/conference.ts)
}

/** Whether UDP between us and the peer is impossible (one side's UDP is blocked). */
function udpImpossible(): bool { return !client.udpOk || (media.peerFlags & FLAG_UDP_OK) == 0; }

function directTcp(): Conn | null {
  const c = media.tcpConn;
  return c !== null && c.connected && udpImpossible() ? c : null;
}

/** The path media is sent on right now: direct UDP (punched) > direct TCP > relay over UDP > relay over TCP. */
export function mediaPath(): string {
  if (punch.peerIp != 0) return "direct-udp";
  if (directTcp() !== null) return "direct-tcp";
  if (!client.udpOk || (media.peerFlags & FLAG_UDP_OK) == 0) return "relay-tcp";
  return "relay-udp";
}

/** One 10 ms microphone block of `n` samples at `mic` (the HAL audio buffer). */
export function mediaOnAudio(micPtr: usize, n: i32, now: i64): void {
  if (!media.active) return;
  if (n <= 0 || n > AUDIO_BLOCK_MAX) { stats.malformed++; return; }
  mediaCapture(media, micPtr, n, now);
  // Playout side: one block out per block in (the hold tone instead while the peer holds us: call/hold.ts).
  if (!holdFillSpeaker(changetype<usize>(media.spk), n)) media.jb.pull(changetype<usize>(media.spk), n, now);
  audioPlay(changetype<usize>(media.spk), n);
}

/** Capture side of session `s`: gathers `n` samples at `pcm` into frames and sends each full frame. */
export function mediaCapture(s: MediaSession, pcm: usize, n: i32, now: i64): void {
  if (!s.active || n <= 0 || n > AUDIO_BLOCK_MAX) return;
  const room = s.mic.length - s.micFill;
  const take = n < room ? n : room;
  memory.copy(changetype<usize>(s.mic) + <usize>(s.micFill * 2), pcm, <usize>(take * 2));
  s.micFill += take;
  if (s.micFill >= s.frameSamples) {
    if (s.holdMuted) s.timestamp += <u32>s.frameSamples; // on hold: the RTP clock runs on, nothing is sent
    else sendFrame(s, now);
    const rest = s.micFill - s.frameSamples;
    if (rest > 0) memory.copy(changetype<usize>(s.mic), changetype<usize>(s.mic) + <usize>(s.frameSamples * 2), <usize>(rest * 2));
    s.micFill = rest;
  }
}

/**
 * (Issue #8.) One keep-alive on session `s`'s media path while on hold: an RTP comfort-noise packet (RFC 3389,
 * payload type 13, one level byte: 127 = −127 dBov, silence), so it takes the same path, NAT bindings and
 * relay state as the audio did, and passes the same media protection.
 */
export function mediaSendKeepalive(s: MediaSession, now: i64): void {
  if (!s.active) return;
  const p = changetype<usize>(s.pkt);
  rtpWriteHeader(p, PT_CN, false, s.seq, s.timestamp, s.ssrc);
  store<u8>(p + RTP_HEADER_BYTES, 127);
  const len = srtpProtect(s.callId, p, RTP_HEADER_BYTES + 1, s.pkt.length);
  s.seq++;
  if (len < 0) return;
  transmit(s, p, len);
}

function sendFrame(s: MediaSession, now: i64): void {
  const p = changetype<usize>(s.pkt);
  rtpWriteHeader(p, s.pt, s.rtpSent == 0, s.seq, s.timestamp, s.ssrc);
  const bank = s.codecs;
  const bytes = bank !== null ? bank.encode(s.pt, changetype<usize>(s.mic), s.frameSamples, p + RTP_HEADER_BYTES)
    : codecEncode(s.pt, changetype<usize>(s.mic), s.frameSamples, p + RTP_HEADER_BYTES);
  if (bytes < 0) return;
  // Security hook (send choke point): encrypt in place, +16-byte tag (sec/srtp.ts); no keys → not sent.
  const len = srtpProtect(s.callId, p, RTP_HEADER_BYTES + bytes, s.pkt.length);
  s.seq++;
  s.timestamp += <u32>s.frameSamples;
  if (len < 0) return;
  transmit(s, p, len);
}

/**
 * (Issue #8.) The path of a conference leg's media: direct UDP once its own punching confirmed the peer,
 * else the relay — over TCP when either side has no UDP (named as for a call: mediaPath), else over UDP.
 */
export function legPath(s: MediaSession): string {
  const lp = s.legPunch;
  if (lp !== null && lp.peerIp != 0) return "direct-udp";
  if (!client.udpOk || (s.peerFlags & FLAG_UDP_OK) == 0) return "relay-tcp";
  return "relay-udp";
}

/** Sends one protected RTP packet of session `s` on its path (a conference leg: its own, legPath). */
function transmit(s: MediaSession, p: usize, len: i32): void {
  const path = s.isConfLeg ? legPath(s) : mediaPath();
  s.sentByPath[pathIndex(path)]++;
  if (path != s.path) {
    if (s.path.length > 0) s.pathChanges++;
    s.path = path;
    if (s.isConfLeg) event("conf.leg.path", "peer=" + s.peerUser + " path=" + path); else event("media.path", "path=" + path);
  }
  const tcp: Conn | null = s.isConfLeg ? null : directTcp();
  // Security hook: the RELAY `to` alias (sec/relay-alias.ts), registered with the first frame whatever the
  // path, so that it is in place before a fallback to the relay.
  const to = relayTo(s.peerUser);
  const lp = s.legPunch;
  if (s.isConfLeg && lp !== null && lp.peerIp != 0) {
    netUdpSend(node.udpSock, lp.peerIp, lp.peerPort, p, len);
  } else if (!s.isConfLeg && punch.peerIp != 0) {
    netUdpSend(node.udpSock, punch.peerIp, punch.peerPort, p, len);
  } else if (tcp !== null) {
    txBegin(MSG_RELAYED).u32(s.callId).bytes(p, len);
    connSend(tcp);
  } else {
    txBegin(MSG_RELAY).u8(0).str8(to).u32(s.callId).bytes(p, len);
    if (client.udpOk) txSendUdp(node.udpSock, client.relayIp, client.relayPort);
    else { const sn = client.sn; if (sn !== null) connSend(sn); }
  }
  s.rtpSent++;
  s.bytesSent += <u64>len;
}

/** An RTP packet that arrived directly over UDP. */
export function mediaOnRtp(srcIp: u32, srcPort: i32, p: usize, len: i32, now: i64): void {
  // (Issue #8.) From the direct path of one of our conference legs (by source endpoint: call/conference.ts)?
  const leg = confLegByEndpoint(srcIp, srcPort, punch.peerIp == srcIp && punch.peerPort == srcPort);
  if (leg !== null) {
    if (!leg.active) { stats.unexpected++; return; } // early media of a leg whose ANSWER is not in yet
    const lp = leg.legPunch; const ps = leg.legPath;
    if (mediaReceive(leg, p, len, now) && lp !== null && ps !== null && srcIp == lp.peerIp && srcPort == lp.peerPort) pathOnDirectRxOf(ps, now);
    return;
  }
  if (!media.active) { stats.unexpected++; return; }
  // Only an authentic packet proves the direct path alive (a forged one must not keep it).
  if (receive(p, len, now) && srcIp == punch.peerIp && srcPort == punch.peerPort) pathOnDirectRx(now);
}

/** RELAYED [callId u32][rtp] from our supernode (UDP or TCP). */
export function mediaOnRelayed(r: ByteReader, now: i64): void {
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (!media.active || callId != media.callId) {
    const leg = confLegByCallId(callId); // a conference leg of ours (call/conference.ts)
    if (leg === null) { stats.unexpected++; return; }
    const m = r.remaining();
    mediaReceive(leg, r.take(m), m, now);
    return;
  }
  const n = r.remaining();
  receive(r.take(n), n, now);
}

function receive(p: usize, pktLen: i32, now: i64): bool { return mediaReceive(media, p, pktLen, now); }

/** One RTP packet for session `s` (the call's `media` or a conference leg). True when it was authentic RTP. */
export function mediaReceive(s: MediaSession, p: usize, pktLen: i32, now: i64): bool {
  // Security hook (receive choke point): authenticate, replay-check and decrypt in place (sec/srtp.ts);
  // a forged, tampered or replayed packet is dropped and counted there.
  const len = srtpUnprotect(s.callId, p, pktLen);
  if (len < 0) return false;
  if (!rtpParse(p, len, s.rx)) { stats.malformed++; return false; }
  s.lastRxUs = now; // issue #8: the conference host-failure detector (call/conf-failover.ts)
  if (s.rx.pt == PT_CN) { holdOnKeepalive(s, now); return true; } // a keep-alive on hold (call/hold.ts)
  if (s.rx.pt != s.pt) { s.rejected++; return false; }
  s.rtpRecv++;
  if (s.rtpRecv == 1) {
    if (s.isConfLeg) event("conf.leg.first", "peer=" + s.peerUser + " ms=" + ((now - s.startUs) / 1000).toString());
    else event("media.first", "path=" + mediaPath() + " ms=" + ((now - s.startUs) / 1000).toString());
  }
  s.bytesRecv += <u64>pktLen; // as on the wire (tag included), like bytesSent
  s.jb.put(s.rx, p + <usize>s.rx.payloadOffset, s.rx.payloadLen, now);
  return true;
}

const PATHS: StaticArray<string> = ["direct-udp", "direct-tcp", "relay-udp", "relay-tcp"];
function pathIndex(p: string): i32 { for (let i = 0; i < 4; i++) if (PATHS[i] == p) return i; return 3; }

/** The path that carried most of the media we sent in this call. */
export function mediaMainPath(): string {
  let best = 0;
  for (let i = 1; i < 4; i++) if (media.sentByPath[i] > media.sentByPath[best]) best = i;
  return media.rtpSent > 0 ? PATHS[best] : mediaPath();
}

/** `key=value` summary of this call's media for the call.ended event and the console. */
export function mediaStatsText(): string {
  return "codec=" + codecName(<i32>media.pt) + " path=" + mediaMainPath() + " pathChanges=" + media.pathChanges.toString() +
    " sentDirectUdp=" + media.sentByPath[0].toString() + " sentDirectTcp=" + media.sentByPath[1].toString() +
    " sentRelayUdp=" + media.sentByPath[2].toString() + " sentRelayTcp=" + media.sentByPath[3].toString() +
    " rtpSent=" + media.rtpSent.toString() + " rtpRecv=" + media.rtpRecv.toString() +
    " bytesSent=" + media.bytesSent.toString() + " bytesRecv=" + media.bytesRecv.toString() +
    " lost=" + media.jb.stats.lost().toString() + " late=" + media.jb.stats.late.toString() +
    " dup=" + media.jb.stats.duplicates.toString() + " concealed10ms=" + media.jb.stats.blocksConcealed.toString() +
    " played10ms=" + media.jb.stats.blocks.toString() + " " + media.jb.stats.text();
}
