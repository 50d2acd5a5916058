import { node } from "../overlay/node";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { MSG_PUNCH, MSG_PUNCH_ACK } from "../wire/types";

/**
 * UDP hole punching (the simultaneous-open technique of RFC 5128 §3.3): both phones send PUNCH to every
 * candidate of the other, paced, until a PUNCH_ACK comes back. Our outgoing PUNCH opens our NAT's filter for
 * the peer; the peer's PUNCH that then gets through is answered, and the answer confirms the path in each
 * direction. Works whenever at least one side has endpoint-independent mapping and the filters are compatible
 * (RFC 4787); otherwise media stays on the relay.
 */
export const MAX_CANDIDATES: i32 = 4;
const PUNCH_INTERVAL_US: i64 = 50_000;
const PUNCH_TRIES: i32 = 60;

export class Punch {
  active: bool = false;
  callId: u32 = 0;
  candIp: StaticArray<u32> = new StaticArray<u32>(MAX_CANDIDATES);
  candPort: StaticArray<i32> = new StaticArray<i32>(MAX_CANDIDATES);
  candCount: i32 = 0;
  tries: i32 = 0;
  nextUs: i64 = NEVER;
  /** Confirmed direct peer endpoint (0 = none yet). */
  peerIp: u32 = 0;
  peerPort: i32 = 0;
  startUs: i64 = 0;
}

export const punch = new Punch();

export function punchReset(): void {
  punch.active = false; punch.candCount = 0; punch.peerIp = 0; punch.peerPort = 0; punch.nextUs = NEVER; punch.callId = 0;
}

export function punchAddCandidate(ip: u32, port: i32): void {
  if (ip == 0 || port <= 0) return;
  for (let i = 0; i < punch.candCount; i++) if (punch.candIp[i] == ip && punch.candPort[i] == port) return;
  if (punch.candCount < MAX_CANDIDATES) {
    punch.candIp[punch.candCount] = ip; punch.candPort[punch.candCount] = port; punch.candCount++;
  }
}

/** Starts probing the candidates added for `callId`. */
export function punchStart(callId: u32, now: i64): void {
  punch.callId = callId;
  punch.active = true;
  punch.tries = 0;
  punch.startUs = now;
  punch.nextUs = now;
  punchTick(now);
}

export function punchDeadline(): i64 { return punch.active ? punch.nextUs : NEVER; }

export function punchTick(now: i64): void {
  if (!punch.active || now < punch.nextUs) return;
  if (punch.tries >= PUNCH_TRIES) { punch.active = false; punch.nextUs = NEVER; event("punch.giveup", "callId=" + punch.callId.toString()); return; }
  punch.tries++;
  for (let i = 0; i < punch.candCount; i++) {
    txBegin(MSG_PUNCH).u32(punch.callId).u32(<u32>punch.tries);
    txSendUdp(node.udpSock, punch.candIp[i], punch.candPort[i]);
  }
  punch.nextUs = now + PUNCH_INTERVAL_US;
}

/** PUNCH [callId u32][n u32] → answered with PUNCH_ACK to its source; PUNCH_ACK confirms the path. */
export function punchOnUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const callId = r.u32(); const n = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (callId == 0 || callId != punch.callId) { stats.unexpected++; return; }
  if (type == MSG_PUNCH) {
    txBegin(MSG_PUNCH_ACK).u32(callId).u32(n);
    txSendUdp(node.udpSock, srcIp, srcPort);
    // A peer behind a NAT whose port we didn't predict is reachable at the source we just heard.
    punchAddCandidate(srcIp, srcPort);
  } else if (punch.peerIp == 0) {
    punch.peerIp = srcIp; punch.peerPort = srcPort;
    punch.active = false; punch.nextUs = NEVER;
    event("punch.ok", "peer=" + endpointToString(srcIp, srcPort) + " ms=" + ((now - punch.startUs) / 1000).toString());
  }
}
