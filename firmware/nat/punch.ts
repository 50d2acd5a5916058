import { node } from "../overlay/node";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER, nowUs } from "../lib/clock";
import { event } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { MSG_PUNCH, MSG_PUNCH_ACK } from "../wire/types";
import {
  disco, natPredictPending, natPredictedBase, MAPPING_ENDPOINT_INDEPENDENT, MAPPING_NONE, MAPPING_UNKNOWN,
} from "./discovery";

/**
 * UDP hole punching (the simultaneous-open technique of RFC 5128 §3.3): both phones send PUNCH to every
 * candidate of the other, paced, until a PUNCH_ACK comes back. Our outgoing PUNCH opens our NAT's filter for
 * the peer; the peer's PUNCH that then gets through is answered, and the answer confirms the path in each
 * direction. Works whenever at least one side has endpoint-independent mapping and the filters are compatible
 * (RFC 4787); otherwise media stays on the relay.
 *
 * Port prediction (RFC 5128 §2.4 / §3.3 "predicting port numbers"): a peer behind a symmetric NAT that
 * allocates ports sequentially sends, with its candidates, its NAT type, port step and the external port of a
 * binding it opened just before (nat/discovery.ts natPredictProbe). Its next bindings — the ones toward our
 * candidates — get base + k·step. If our own mapping is endpoint-independent (or we have no NAT), we also
 * punch the window base + k·step, k = 1…PREDICT_WINDOW: that opens our filter for the port the peer's NAT
 * really chose, so the peer's PUNCH gets through, and our PUNCH reaches its binding because that binding was
 * made toward our (only) external endpoint. Two predicting sides do not try it (each window would take ports
 * on its own NAT and spoil the other's prediction). While our own prediction probe is out we do not punch:
 * our first PUNCHes would take the ports we are about to announce.
 *
 * NAT info appended to the candidates of INVITE / RINGING / ANSWER when CAND_FLAG_NAT_INFO is set in their
 * flags byte: [mapping u8][filtering u8][portDelta i16][predIp u32][predPort u16] (predPort 0: no prediction;
 * mapping/filtering codes as in nat/discovery.ts).
 */
export const MAX_CANDIDATES: i32 = 4;
/** Candidate flags bit: NAT info follows the candidate list (docs/protocol.md §NAT traversal). */
export const CAND_FLAG_NAT_INFO: u8 = 0x80;
/** Ports punched past the peer's prediction base. */
export const PREDICT_WINDOW: i32 = 8;
const PREDICT_WAIT_US: i64 = 20_000;
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
  /** The peer's NAT (from its NAT info) and its port prediction (predPort 0 = none). */
  peerMapping: u8 = MAPPING_UNKNOWN;
  peerFiltering: u8 = 0;
  peerDelta: i32 = 0;
  predIp: u32 = 0;
  predPort: i32 = 0;
  /** Paths confirmed on a predicted port (statistics). */
  predictedHits: i32 = 0;
  /** We told the peer a prediction base for this call (in a candidate list or NAT_INFO). */
  sentPrediction: bool = false;
  trickled: bool = false;
}

export const punch = new Punch();

export function punchReset(): void {
  punch.active = false; punch.candCount = 0; punch.peerIp = 0; punch.peerPort = 0; punch.nextUs = NEVER; punch.callId = 0;
  punch.peerMapping = MAPPING_UNKNOWN; punch.peerFiltering = 0; punch.peerDelta = 0; punch.predIp = 0; punch.predPort = 0;
  punch.sentPrediction = false; punch.trickled = false;
}

/** True once our NAT discovery has a result to share. */
export function natInfoAvailable(): bool { return disco.done; }

/** Appends our NAT info (see the header); the caller sets CAND_FLAG_NAT_INFO in the flags byte. */
export function natInfoWrite(w: ByteWriter): void {
  const base = natPredictedBase(nowUs);
  if (base != 0) punch.sentPrediction = true;
  w.u8(disco.mapping).u8(disco.filtering).u16(<u32>(disco.portDelta & 0xFFFF));
  w.u32(base != 0 ? disco.predIp : 0).u16(<u32>base);
}

/** Reads the peer's NAT info (after its candidates). */
export function natInfoRead(r: ByteReader): void {
  const m = <u8>r.u8(); const f = <u8>r.u8(); const d = <i32>(<i16>r.u16()); const ip = r.u32(); const port = <i32>r.u16();
  if (!r.ok) return;
  punch.peerMapping = m; punch.peerFiltering = f; punch.peerDelta = d;
  if (port != 0 && ip != 0 && d != 0) { punch.predIp = ip; punch.predPort = port; }
}

/**
 * True once per call when our prediction probe finished after our INVITE / RINGING went out without it: the
 * caller (main.ts) then sends NAT_INFO [callId u32][natInfo] over the signaling path (call.ts), like a
 * trickled candidate, so that the peer can punch the window while we still ring.
 */
export function natInfoTrickleDue(now: i64): bool {
  if (punch.callId == 0 || punch.trickled || punch.sentPrediction || !disco.sequential) return false;
  if (natPredictPending() || natPredictedBase(now) == 0) return false;
  punch.trickled = true;
  return true;
}

/** NAT_INFO from the peer (after its callId): its NAT info; punch (again) if we are not. */
export function punchOnNatInfo(r: ByteReader, now: i64): void {
  natInfoRead(r);
  if (!r.ok) { stats.malformed++; return; }
  if (punch.callId != 0 && !punch.active && punch.peerIp == 0 && punch.candCount > 0) punchStart(punch.callId, now);
}

/** Skips the peer's NAT info (a forked call's RINGING, whose candidates are not used). */
export function natInfoSkip(r: ByteReader): void { r.take(10); }

/** We punch the peer's predicted window only if our own binding toward it is one endpoint (EIM or no NAT). */
function predictionUsable(): bool {
  if (punch.predPort == 0 || punch.peerDelta == 0) return false;
  return disco.done && (disco.mapping == MAPPING_ENDPOINT_INDEPENDENT || disco.mapping == MAPPING_NONE);
}

function predictedIndex(ip: u32, port: i32): i32 {
  if (punch.predPort == 0 || punch.peerDelta == 0 || ip != punch.predIp) return 0;
  const off = port - punch.predPort;
  if (off % punch.peerDelta != 0) return 0;
  const k = off / punch.peerDelta;
  return k >= 1 && k <= PREDICT_WINDOW ? k : 0;
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
  if (natPredictPending()) { punch.nextUs = now + PREDICT_WAIT_US; return; }
  if (punch.tries >= PUNCH_TRIES) { punch.active = false; punch.nextUs = NEVER; event("punch.giveup", "callId=" + punch.callId.toString()); return; }
  punch.tries++;
  for (let i = 0; i < punch.candCount; i++) {
    txBegin(MSG_PUNCH).u32(punch.callId).u32(<u32>punch.tries);
    txSendUdp(node.udpSock, punch.candIp[i], punch.candPort[i]);
  }
  if (predictionUsable()) {
    for (let k = 1; k <= PREDICT_WINDOW; k++) {
      const port = punch.predPort + k * punch.peerDelta;
      if (port <= 0 || port > 65535) continue;
      txBegin(MSG_PUNCH).u32(punch.callId).u32(<u32>punch.tries);
      txSendUdp(node.udpSock, punch.predIp, port);
    }
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
    // We had given up (or never started) but the peer's probes now get through: confirm our direction too.
    if (!punch.active && punch.peerIp == 0) punchStart(callId, now);
  } else if (punch.peerIp == 0) {
    punch.peerIp = srcIp; punch.peerPort = srcPort;
    punch.active = false; punch.nextUs = NEVER;
    const k = predictedIndex(srcIp, srcPort);
    if (k > 0) punch.predictedHits++;
    event("punch.ok", "peer=" + endpointToString(srcIp, srcPort) + " ms=" + ((now - punch.startUs) / 1000).toString() +
      " predicted=" + k.toString());
  }
}
