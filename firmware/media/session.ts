import { node } from "../overlay/node";
import { client } from "../overlay/client";
import { connSend } from "../overlay/conns";
import { punch } from "../nat/punch";
import { ByteReader } from "../lib/bytes";
import { tx, txBegin, txSendUdp } from "../lib/tx";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { FLAG_UDP_OK, MSG_RELAY } from "../wire/types";
import { RTP_HEADER_BYTES, RtpHeader, rtpParse, rtpWriteHeader } from "./rtp";
import { FixedJitterBuffer } from "./jitter";
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
/** Playout delay of the fixed v0 jitter buffer: 60 ms. */
const JB_DELAY_SAMPLES: i32 = 480;

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
  jb: FixedJitterBuffer = new FixedJitterBuffer(JB_DELAY_SAMPLES);
  rtpSent: u32 = 0;
  rtpRecv: u32 = 0;
  bytesSent: u64 = 0;
  bytesRecv: u64 = 0;
  /** Packets that arrived but were not for this call (wrong SSRC handling, unknown source). */
  rejected: u32 = 0;
  path: string = "";
  startUs: i64 = 0;
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
  media.jb.frameSamples = media.frameSamples;
  media.rtpSent = 0; media.rtpRecv = 0; media.bytesSent = 0; media.bytesRecv = 0; media.rejected = 0;
  media.path = "";
  media.startUs = now;
  audioStart(8000);
}

export function mediaStop(): void {
  if (!media.active) return;
  media.active = false;
  audioStop();
}

/** The path media is sent on right now. */
export function mediaPath(): string {
  if (punch.peerIp != 0) return "direct-udp";
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
  media.jb.pull(changetype<usize>(media.spk), n);
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
  if (path != media.path) { media.path = path; event("media.path", "path=" + path); }
  if (punch.peerIp != 0) {
    netUdpSend(node.udpSock, punch.peerIp, punch.peerPort, p, len);
  } else {
    txBegin(MSG_RELAY).u8(0).str8(media.peerUser).u32(media.callId).bytes(p, len);
    if (client.udpOk) txSendUdp(node.udpSock, client.snIp, client.snPort);
    else { const sn = client.sn; if (sn !== null) connSend(sn); }
  }
  media.rtpSent++;
  media.bytesSent += <u64>len;
}

/** An RTP packet that arrived directly over UDP. */
export function mediaOnRtp(srcIp: u32, srcPort: i32, p: usize, len: i32, now: i64): void {
  if (!media.active) { stats.unexpected++; return; }
  receive(p, len);
}

/** RELAYED [callId u32][rtp] from our supernode (UDP or TCP). */
export function mediaOnRelayed(r: ByteReader, now: i64): void {
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (!media.active || callId != media.callId) { stats.unexpected++; return; }
  const n = r.remaining();
  receive(r.take(n), n);
}

function receive(p: usize, len: i32): void {
  if (!rtpParse(p, len, media.rx)) { stats.malformed++; return; }
  if (media.rx.pt != media.pt) { media.rejected++; return; }
  media.rtpRecv++;
  media.bytesRecv += <u64>len;
  media.jb.put(media.rx, p + <usize>media.rx.payloadOffset, media.rx.payloadLen);
}

/** `key=value` summary of this call's media for the call.ended event and the console. */
export function mediaStatsText(): string {
  return "codec=" + codecName(<i32>media.pt) + " path=" + (media.path.length > 0 ? media.path : mediaPath()) +
    " rtpSent=" + media.rtpSent.toString() + " rtpRecv=" + media.rtpRecv.toString() +
    " bytesSent=" + media.bytesSent.toString() + " bytesRecv=" + media.bytesRecv.toString() +
    " lost=" + media.jb.lost().toString() + " late=" + media.jb.late.toString() +
    " dup=" + media.jb.duplicates.toString() + " concealed10ms=" + media.jb.concealedBlocks.toString() +
    " played10ms=" + media.jb.playedBlocks.toString();
}
