import { punch, Punch, punchStartOf } from "./punch";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";

/**
 * Media path supervision during a call: the direct UDP path found by hole punching is used while packets
 * keep arriving on it. Media flows both ways all the time (no silence suppression, as Skype), so a gap of
 * `DIRECT_DEAD_US` on the direct path means it died (NAT binding expired or rebound, address change, route
 * loss): we fall back to the relay at once, tell the peer (PATH_DOWN) so it does too, and keep trying to
 * punch again so the call moves back to the direct path when it returns.
 */
export const DIRECT_DEAD_US: i64 = 100_000;
/** While on the relay, retry hole punching this often. */
export const REPUNCH_INTERVAL_US: i64 = 15_000_000;

export class PathState {
  active: bool = false;
  callId: u32 = 0;
  directRxSeen: bool = false;
  lastDirectRxUs: i64 = 0;
  repunchUs: i64 = NEVER;
  fallbacks: i32 = 0;
  lastFallbackUs: i64 = 0;
  /** (Issue #8.) The call is on hold: media is one keep-alive per 3 s, so silence proves nothing. */
  held: bool = false;
  /** (Issue #8.) The punching state this path watches: the call's, or a conference leg's own. */
  punch: Punch;
  /** Event of a fallback: "media.fallback" for the call, "conf.leg.fallback" for a leg. */
  fallbackEvent: string = "media.fallback";
  constructor(p: Punch) { this.punch = p; }
}

export const path = new PathState(punch);

export function pathStart(callId: u32, now: i64): void { pathStartOf(path, callId, now); }

export function pathStartOf(ps: PathState, callId: u32, now: i64): void {
  ps.active = true; ps.callId = callId; ps.directRxSeen = false; ps.fallbacks = 0;
  ps.repunchUs = now + REPUNCH_INTERVAL_US;
}

export function pathStop(): void { pathStopOf(path); }

export function pathStopOf(ps: PathState): void { ps.held = false; ps.active = false; ps.repunchUs = NEVER; ps.directRxSeen = false; }

/** A media packet arrived on the direct path. */
export function pathOnDirectRx(now: i64): void { pathOnDirectRxOf(path, now); }

export function pathOnDirectRxOf(ps: PathState, now: i64): void {
  ps.directRxSeen = true;
  ps.lastDirectRxUs = now;
}

/** (Issue #8, call/hold.ts.) Pauses the direct-path watchdog while on hold; after resume it waits for fresh media. */
export function pathSetHeld(on: bool, now: i64): void {
  path.held = on;
  path.directRxSeen = false;
}

export function pathDeadline(): i64 { return pathDeadlineOf(path); }

export function pathDeadlineOf(ps: PathState): i64 {
  if (!ps.active || ps.held) return NEVER;
  const p = ps.punch;
  if (p.peerIp != 0) return ps.directRxSeen ? ps.lastDirectRxUs + DIRECT_DEAD_US : NEVER;
  return p.active ? NEVER : ps.repunchUs;
}

/** Returns true when the direct path was just declared dead (the caller notifies the peer). */
export function pathTick(now: i64): bool { return pathTickOf(path, now); }

export function pathTickOf(ps: PathState, now: i64): bool {
  if (!ps.active || ps.held) return false;
  const p = ps.punch;
  if (p.peerIp != 0) {
    if (ps.directRxSeen && now - ps.lastDirectRxUs >= DIRECT_DEAD_US) { pathDirectLostOf(ps, now, "timeout"); return true; }
    return false;
  }
  if (!p.active && now >= ps.repunchUs) {
    ps.repunchUs = now + REPUNCH_INTERVAL_US;
    // No candidates (the peer sent none: UDP blocked): nothing to punch, but the deadline must still move
    // on (a deadline that never advances trips the host's watchdog).
    if (p.candCount > 0) punchStartOf(p, ps.callId, now);
  }
  return false;
}

/** Stops using the direct path (our detection, or the peer's PATH_DOWN) and starts re-punching. */
export function pathDirectLost(now: i64, why: string): void { pathDirectLostOf(path, now, why); }

export function pathDirectLostOf(ps: PathState, now: i64, why: string): void {
  const p = ps.punch;
  if (p.peerIp == 0) return;
  p.peerIp = 0; p.peerPort = 0;
  ps.directRxSeen = false;
  ps.fallbacks++;
  ps.lastFallbackUs = now;
  event(ps.fallbackEvent, "reason=" + why + " silentMs=" + ((now - ps.lastDirectRxUs) / 1000).toString() +
    (ps === path ? "" : " callId=" + ps.callId.toString()));
  ps.repunchUs = now + REPUNCH_INTERVAL_US;
  punchStartOf(p, ps.callId, now);
}
