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
  /** Event name prefix: "punch" for the call, "conf.leg.punch" for a conference leg (issue #8). */
  eventPrefix: string = "punch";
}

/** The ordinary call's punching state. */
export const punch = new Punch();

/**
 * (Issue #8.) Further punching states, one per conference leg of a host (call/conference.ts registers each
 * once): PUNCH / PUNCH_ACK find their state by callId, and punchTick / punchDeadline cover them all.
 */
const extra = new Array<Punch>();
export function punchRegister(p: Punch): void { if (!extra.includes(p)) extra.push(p); }

export function punchReset(): void { punchResetOf(punch); }

export function punchResetOf(p: Punch): void {
  p.active = false; p.candCount = 0; p.peerIp = 0; p.peerPort = 0; p.nextUs = NEVER; p.callId = 0;
  p.peerMapping = MAPPING_UNKNOWN; p.peerFiltering = 0; p.peerDelta = 0; p.predIp = 0; p.predPort = 0;
  p.sentPrediction = false; p.trickled = false;
}

/** True once our NAT discovery has a result to share. */
export function natInfoAvailable(): bool { return disco.done; }

/** Appends our NAT info (see the header); the caller sets CAND_FLAG_NAT_INFO in the flags byte. */
export function natInfoWrite(w: ByteWriter): void { natInfoWriteFor(punch, w); }

/** natInfoWrite for the punching state `p` (a conference leg's). */
export function natInfoWriteFor(p: Punch, w: ByteWriter): void {
  const base = natPredictedBase(nowUs);
  if (base != 0) p.sentPrediction = true;
  w.u8(disco.mapping).u8(disco.filtering).u16(<u32>(disco.portDelta & 0xFFFF));
  w.u32(base != 0 ? disco.predIp : 0).u16(<u32>base);
}

/** Reads the peer's NAT info (after its candidates). */
export function natInfoRead(r: ByteReader): void { natInfoReadInto(punch, r); }

export function natInfoReadInto(p: Punch, r: ByteReader): void {
  const m = <u8>r.u8(); const f = <u8>r.u8(); const d = <i32>(<i16>r.u16()); const ip = r.u32(); const port = <i32>r.u16();
  if (!r.ok) return;
  p.peerMapping = m; p.peerFiltering = f; p.peerDelta = d;
  if (port != 0 && ip != 0 && d != 0) { p.predIp = ip; p.predPort = port; }
}

/**
 * True once per call when our prediction probe finished after our INVITE / RINGING went out without it: the
 * caller (main.ts) then sends NAT_INFO [callId u32][natInfo] over the signaling path (call.ts), like a
 * trickled candidate, so that the peer can punch the window while we still ring.
 */
export function natInfoTrickleDue(now: i64): bool { return natInfoTrickleDueFor(punch, now); }

export function natInfoTrickleDueFor(p: Punch, now: i64): bool {
  if (p.callId == 0 || p.trickled || p.sentPrediction || !disco.sequential) return false;
  if (natPredictPending() || natPredictedBase(now) == 0) return false;
  p.trickled = true;
  return true;
}

/** NAT_INFO from the peer (after its callId): its NAT info; punch (again) if we are not. */
export function punchOnNatInfo(r: ByteReader, now: i64): void { punchOnNatInfoFor(punch, r, now); }

export function punchOnNatInfoFor(p: Punch, r: ByteReader, now: i64): void {
  natInfoReadInto(p, r);
  if (!r.ok) { stats.malformed++; return; }
  if (p.callId != 0 && !p.active && p.peerIp == 0 && p.candCount > 0) punchStartOf(p, p.callId, now);
}

/** Skips the peer's NAT info (a forked call's RINGING, whose candidates are not used). */
export function natInfoSkip(r: ByteReader): void { r.take(10); }

/** We punch the peer's predicted window only if our own binding toward it is one endpoint (EIM or no NAT). */
function predictionUsable(p: Punch): bool {
  if (p.predPort == 0 || p.peerDelta == 0) return false;
  return disco.done && (disco.mapping == MAPPING_ENDPOINT_INDEPENDENT || disco.mapping == MAPPING_NONE);
}

function predictedIndex(p: Punch, ip: u32, port: i32): i32 {
  if (p.predPort == 0 || p.peerDelta == 0 || ip != p.predIp) return 0;
  const off = port - p.predPort;
  if (off % p.peerDelta != 0) return 0;
  const k = off / p.peerDelta;
  return k >= 1 && k <= PREDICT_WINDOW ? k : 0;
}

export function punchAddCandidate(ip: u32, port: i32): void { punchAddCandidateTo(punch, ip, port); }

export function punchAddCandidateTo(p: Punch, ip: u32, port: i32): void {
  if (ip == 0 || port <= 0) return;
  for (let i = 0; i < p.candCount; i++) if (p.candIp[i] == ip && p.candPort[i] == port) return;
  if (p.candCount < MAX_CANDIDATES) {
    p.candIp[p.candCount] = ip; p.candPort[p.candCount] = port; p.candCount++;
  }
}

/** True when `ip:port` is one of `p`'s candidates (given, or learnt from the peer's PUNCH). */
export function punchHasCandidate(p: Punch, ip: u32, port: i32): bool {
  for (let i = 0; i < p.candCount; i++) if (p.candIp[i] == ip && p.candPort[i] == port) return true;
  return false;
}

/** Starts probing the candidates added for `callId`. */
export function punchStart(callId: u32, now: i64): void { punchStartOf(punch, callId, now); }

export function punchStartOf(p: Punch, callId: u32, now: i64): void {
  p.callId = callId;
  p.active = true;
  p.tries = 0;
  p.startUs = now;
  p.nextUs = now;
  punchTickOf(p, now);
}

export function punchDeadline(): i64 {
  let d = punch.active ? punch.nextUs : NEVER;
  for (let i = 0; i < extra.length; i++) { const p = extra[i]; if (p.active && p.nextUs < d) d = p.nextUs; }
  return d;
}

export function punchTick(now: i64): void {
  punchTickOf(punch, now);
  for (let i = 0; i < extra.length; i++) punchTickOf(extra[i], now);
}

function punchTickOf(p: Punch, now: i64): void {
  if (!p.active || now < p.nextUs) return;
  if (natPredictPending()) { p.nextUs = now + PREDICT_WAIT_US; return; }
  if (p.tries >= PUNCH_TRIES) { p.active = false; p.nextUs = NEVER; event(p.eventPrefix + ".giveup", "callId=" + p.callId.toString()); return; }
  p.tries++;
  for (let i = 0; i < p.candCount; i++) {
    txBegin(MSG_PUNCH).u32(p.callId).u32(<u32>p.tries);
    txSendUdp(node.udpSock, p.candIp[i], p.candPort[i]);
  }
  if (predictionUsable(p)) {
    for (let k = 1; k <= PREDICT_WINDOW; k++) {
      const port = p.predPort + k * p.peerDelta;
      if (port <= 0 || port > 65535) continue;
      txBegin(MSG_PUNCH).u32(p.callId).u32(<u32>p.tries);
      txSendUdp(node.udpSock, p.predIp, port);
    }
  }
  p.nextUs = now + PUNCH_INTERVAL_US;
}

/** The punching state that owns `callId` (the call's, or a conference leg's), or null. */
function punchFor(callId: u32): Punch | null {
  if (callId == 0) return null;
  if (callId == punch.callId) return punch;
  for (let i = 0; i < extra.length; i++) if (extra[i].callId == callId) return extra[i];
  return null;
}

/** PUNCH [callId u32][n u32] → answered with PUNCH_ACK to its source; PUNCH_ACK confirms the path. */
export function punchOnUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const callId = r.u32(); const n = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  const p = punchFor(callId);
  if (p === null) { stats.unexpected++; return; }
  if (type == MSG_PUNCH) {
    txBegin(MSG_PUNCH_ACK).u32(callId).u32(n);
    txSendUdp(node.udpSock, srcIp, srcPort);
    // A peer behind a NAT whose port we didn't predict is reachable at the source we just heard.
    punchAddCandidateTo(p, srcIp, srcPort);
    // We had given up (or never started) but the peer's probes now get through: confirm our direction too.
    if (!p.active && p.peerIp == 0) punchStartOf(p, callId, now);
  } else if (p.peerIp == 0) {
    p.peerIp = srcIp; p.peerPort = srcPort;
    p.active = false; p.nextUs = NEVER;
    const k = predictedIndex(p, srcIp, srcPort);
    if (k > 0) p.predictedHits++;
    event(p.eventPrefix + ".ok", "peer=" + endpointToString(srcIp, srcPort) + " ms=" + ((now - p.startUs) / 1000).toString() +
      " predicted=" + k.toString() + (p === punch ? "" : " callId=" + callId.toString()));
  }
}
