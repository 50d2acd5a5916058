import { node } from "../overlay/node";
import { client } from "../overlay/client";
import { Conn, connSend } from "../overlay/conns";
import { pathOnDirectRx } from "../nat/path";
import { punch } from "../nat/punch";
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
}

export const media = new MediaSession();

export function mediaStart(pt: u8, callId: u32, peerUser: string, peerFlags: u8, now: i64): void {
  media.active = true;
  media.pt = pt; media.callId = callId; media.peerUser = peerUser; media.peerFlags = peerFlags;
  media.ssrc = node.prngMedia.next();
  media.seq = <u16>node.prngMedia.next();
  media.timestamp = node.prngMedia.next();
  media.frameSamples = codecFrameSamples(pt);
  codecReset(pt);
  media.micFill = 0;
  media.jb.reset();
  media.rtpSent = 0; media.rtpRecv = 0; media.bytesSent = 0; media.bytesRecv = 0; media.rejected = 0;
  media.path = "";
  media.pathChanges = 0;
  for (let i = 0; i < 4; i++) media.sentByPath[i] = 0;
  media.startUs = now;
  audioStart(8000);
}

export function mediaStop(): void {
  if (!media.active) return;
  media.active = false;
  audioStop();
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
  // Capture side: gather a 20 ms frame.
  const room = media.mic.length - media.micFill;
  const take = n < room ? n : room;
  memory.copy(changetype<usize>(media.mic) + <usize>(media.micFill * 2), micPtr, <usize>(take * 2));
  media.micFill += take;
  if (media.micFill >= media.frameSamples) {
    sendFrame(now);
    const rest = media.micFill - media.frameSamples;
    if (rest > 0) memory.copy(changetype<usize>(media.mic), changetype<usize>(media.mic) + <usize>(media.frameSamples * 2), <usize>(rest * 2));
    media.micFill = rest;
  }
  // Playout side: one block out per block in.
  media.jb.pull(changetype<usize>(media.spk), n, now);
  audioPlay(changetype<usize>(media.spk), n);
}

function sendFrame(now: i64): void {
  const p = changetype<usize>(media.pkt);
  rtpWriteHeader(p, media.pt, media.rtpSent == 0, media.seq, media.timestamp, media.ssrc);
  const bytes = codecEncode(media.pt, changetype<usize>(media.mic), media.frameSamples, p + RTP_HEADER_BYTES);
  if (bytes < 0) return;
  const len = RTP_HEADER_BYTES + bytes;
  media.seq++;
  media.timestamp += <u32>media.frameSamples;
  const path = mediaPath();
  media.sentByPath[pathIndex(path)]++;
  if (path != media.path) { if (media.path.length > 0) media.pathChanges++; media.path = path; event("media.path", "path=" + path); }
  const tcp = directTcp();
  if (punch.peerIp != 0) {
    netUdpSend(node.udpSock, punch.peerIp, punch.peerPort, p, len);
  } else if (tcp !== null) {
    txBegin(MSG_RELAYED).u32(media.callId).bytes(p, len);
    connSend(tcp);
  } else {
    txBegin(MSG_RELAY).u8(0).str8(media.peerUser).u32(media.callId).bytes(p, len);
    if (client.udpOk) txSendUdp(node.udpSock, client.relayIp, client.relayPort);
    else { const sn = client.sn; if (sn !== null) connSend(sn); }
  }
  media.rtpSent++;
  media.bytesSent += <u64>len;
}

/** An RTP packet that arrived directly over UDP. */
export function mediaOnRtp(srcIp: u32, srcPort: i32, p: usize, len: i32, now: i64): void {
  if (!media.active) { stats.unexpected++; return; }
  if (srcIp == punch.peerIp && srcPort == punch.peerPort) pathOnDirectRx(now);
  receive(p, len, now);
}

/** RELAYED [callId u32][rtp] from our supernode (UDP or TCP). */
export function mediaOnRelayed(r: ByteReader, now: i64): void {
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (!media.active || callId != media.callId) { stats.unexpected++; return; }
  const n = r.remaining();
  receive(r.take(n), n, now);
}

function receive(p: usize, len: i32, now: i64): void {
  if (!rtpParse(p, len, media.rx)) { stats.malformed++; return; }
  if (media.rx.pt != media.pt) { media.rejected++; return; }
  media.rtpRecv++;
  if (media.rtpRecv == 1) event("media.first", "path=" + mediaPath() + " ms=" + ((now - media.startUs) / 1000).toString());
  media.bytesRecv += <u64>len;
  media.jb.put(media.rx, p + <usize>media.rx.payloadOffset, media.rx.payloadLen, now);
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
