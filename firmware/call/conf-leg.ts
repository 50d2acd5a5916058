import { node } from "../overlay/node";
import { client } from "../overlay/client";
import { writeCandidatesFor } from "./call";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { FLAG_UDP_OK } from "../wire/types";
import {
  CAND_FLAG_NAT_INFO, MAX_CANDIDATES, natInfoAvailable, natInfoReadInto, natInfoTrickleDueFor, natInfoWriteFor,
  Punch, punchAddCandidateTo, punchHasCandidate, punchOnNatInfoFor, punchRegister, punchResetOf, punchStartOf,
} from "../nat/punch";
import { PathState, pathDeadlineOf, pathDirectLostOf, pathStartOf, pathStopOf, pathTickOf } from "../nat/path";
import { MediaSession, legPath } from "../media/session";
import { CodecBank } from "../media/codec-bank";
import { codecSupported } from "../media/codec";

/**
 * A conference leg's path and codec (issue #8, on the host): the same connectivity establishment as an
 * ordinary call (docs/protocol.md §Calls, §Media paths), with state of its own per leg so that the host's
 * call and every other leg keep theirs.
 *
 * - Candidates: the leg's INVITE carries our flags, UDP candidates (host and reflexive address) and NAT info
 *   (type, port step, port prediction base) exactly as call.ts does; the participant's RINGING / ANSWER carry
 *   its own. Both sides then punch (PUNCH / PUNCH_ACK with the leg's callId; port prediction toward a
 *   sequential symmetric NAT included), media starts on the relay at answer and moves to direct UDP when the
 *   leg's punching confirms the peer. A late prediction base goes as NAT_INFO with the leg's callId.
 * - Watchdog: the leg's direct path is declared dead after 100 ms without authentic media on it (PATH_DOWN
 *   with the leg's callId both ways); the leg falls back to the relay and punches again every 15 s.
 * - The one difference from a call: no direct TCP. The leg INVITE never sets the "publicly reachable" flag,
 *   so a UDP-blocked participant does not attach a TCP connection to the host (CALL_ATTACH); such a
 *   participant, or a host without UDP, goes through the relay over TCP (relay-tcp).
 * - Codec: the leg offers the phone's configured list (node.cfg.codecs, the same as a call's INVITE) and
 *   takes the participant's choice if it is one of them; each leg has its own iLBC state
 *   (media/codec-bank.ts). All our codecs are 8 kHz, the mixer's rate.
 * The participant's side is its ordinary call (call.ts), which already does all of the above.
 */

/** Gives a leg's media session its own punching state, path watchdog and codec state (once per leg slot). */
export function legMediaInit(m: MediaSession): void {
  const p = new Punch();
  p.eventPrefix = "conf.leg.punch";
  punchRegister(p);
  const ps = new PathState(p);
  ps.fallbackEvent = "conf.leg.fallback";
  m.isConfLeg = true;
  m.legPunch = p;
  m.legPath = ps;
  m.codecs = new CodecBank();
}

function punchOf(m: MediaSession): Punch { return changetype<Punch>(m.legPunch); }
function pathOf(m: MediaSession): PathState { return changetype<PathState>(m.legPath); }

/** A new leg (search started): forget the last peer's candidates and punching. */
export function legNetReset(m: MediaSession): void {
  punchResetOf(punchOf(m));
  pathStopOf(pathOf(m));
}

/** INVITE's offer: [n u8][payload type u8 × n], the configured codecs in preference order. */
export function legWriteOffer(w: ByteWriter): void {
  w.u8(<u32>node.cfg.codecCount);
  for (let i = 0; i < node.cfg.codecCount; i++) w.u8(node.cfg.codecs[i]);
}

/** Whether the participant's answered payload type is one we offered and can run. */
export function legCodecOk(pt: u8): bool {
  if (!codecSupported(pt)) return false;
  for (let i = 0; i < node.cfg.codecCount; i++) if (node.cfg.codecs[i] == pt) return true;
  return false;
}

/** Our candidates for the leg's INVITE (call.ts writeCandidatesFor), never FLAG_PUBLIC (no direct TCP on a leg, see the header). */
export function legWriteCandidates(m: MediaSession, w: ByteWriter): void { writeCandidatesFor(w, punchOf(m), 0, false); }

/** Reads the participant's [flags][c][candidates][natInfo] into the leg's punching state; returns the flags. */
export function legReadCandidates(m: MediaSession, r: ByteReader): u8 {
  const p = punchOf(m);
  const flags = <u8>r.u8();
  const n = <i32>r.u8();
  for (let i = 0; i < n && r.ok; i++) {
    const ip = r.u32(); const port = <i32>r.u16();
    if (r.ok && i < MAX_CANDIDATES) punchAddCandidateTo(p, ip, port);
  }
  if ((flags & CAND_FLAG_NAT_INFO) != 0) natInfoReadInto(p, r);
  return flags & ~CAND_FLAG_NAT_INFO;
}

/** RINGING or ANSWER read: punch toward the participant when both sides have UDP (once per leg). */
export function legMaybePunch(m: MediaSession, callId: u32, peerFlags: u8, now: i64): void {
  const p = punchOf(m);
  p.callId = callId; // PUNCH from the participant is answered even before we start ourselves
  if (client.udpOk && (peerFlags & FLAG_UDP_OK) != 0 && !p.active && p.peerIp == 0) punchStartOf(p, callId, now);
}

/** Before the search result: PUNCH / PUNCH_ACK of this leg's callId find its state from now on. */
export function legBindCallId(m: MediaSession, callId: u32): void { punchOf(m).callId = callId; }

/** The leg is answered: the path watchdog starts (media starts on the relay unless punching already won). */
export function legPathStart(m: MediaSession, callId: u32, now: i64): void { pathStartOf(pathOf(m), callId, now); }

/** The leg ended: stop punching and watching. */
export function legNetStop(m: MediaSession): void {
  punchResetOf(punchOf(m));
  pathStopOf(pathOf(m));
}

/** PATH_DOWN from the participant: its direct packets stopped reaching it; use the relay (and re-punch). */
export function legOnPathDown(m: MediaSession, now: i64): void { pathDirectLostOf(pathOf(m), now, "peer"); }

/** NAT_INFO from the participant (its late prediction base). */
export function legOnNatInfo(m: MediaSession, r: ByteReader, now: i64): void { punchOnNatInfoFor(punchOf(m), r, now); }

/** Watchdog: true when the leg's direct path was just declared dead (the caller sends PATH_DOWN). */
export function legTick(m: MediaSession, now: i64): bool { return pathTickOf(pathOf(m), now); }

export function legDeadline(m: MediaSession): i64 { return pathDeadlineOf(pathOf(m)); }

/** True once per leg when our prediction base came after the INVITE (the caller sends NAT_INFO). */
export function legNatInfoDue(m: MediaSession, now: i64): bool { return natInfoTrickleDueFor(punchOf(m), now); }

/** Writes our NAT info (NAT_INFO body after the callId). */
export function legWriteNatInfo(m: MediaSession, w: ByteWriter): void { natInfoWriteFor(punchOf(m), w); }

/** Whether a packet from `ip:port` belongs to this leg: its confirmed direct peer (`confirmed`), or a candidate. */
export function legOwnsEndpoint(m: MediaSession, ip: u32, port: i32, confirmedOnly: bool): bool {
  const p = punchOf(m);
  if (p.peerIp == ip && p.peerPort == port) return true;
  return !confirmedOnly && punchHasCandidate(p, ip, port);
}

/** The leg's current media path and path changes, for events and the console. */
export function legPathText(m: MediaSession): string {
  return "path=" + (m.rtpSent > 0 ? mainPath(m) : legPath(m)) + " pathNow=" + legPath(m) + " pathChanges=" + m.pathChanges.toString() +
    " fallbacks=" + pathOf(m).fallbacks.toString() + " sentDirectUdp=" + m.sentByPath[0].toString() +
    " sentRelayUdp=" + m.sentByPath[2].toString() + " sentRelayTcp=" + m.sentByPath[3].toString();
}

const PATHS: StaticArray<string> = ["direct-udp", "direct-tcp", "relay-udp", "relay-tcp"];
/** The path that carried most of the leg's media. */
function mainPath(m: MediaSession): string {
  let best = 0;
  for (let i = 1; i < 4; i++) if (m.sentByPath[i] > m.sentByPath[best]) best = i;
  return PATHS[best];
}
