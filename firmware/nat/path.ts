import { punch, punchStart } from "./punch";
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
}

export const path = new PathState();

export function pathStart(callId: u32, now: i64): void {
  path.active = true; path.callId = callId; path.directRxSeen = false; path.fallbacks = 0;
  path.repunchUs = now + REPUNCH_INTERVAL_US;
}

export function pathStop(): void { path.held = false; path.active = false; path.repunchUs = NEVER; path.directRxSeen = false; }

/** A media packet arrived on the direct path. */
export function pathOnDirectRx(now: i64): void {
  path.directRxSeen = true;
  path.lastDirectRxUs = now;
}

/** (Issue #8, call/hold.ts.) Pauses the direct-path watchdog while on hold; after resume it waits for fresh media. */
export function pathSetHeld(on: bool, now: i64): void {
  path.held = on;
  path.directRxSeen = false;
}

export function pathDeadline(): i64 {
  if (!path.active || path.held) return NEVER;
  if (punch.peerIp != 0) return path.directRxSeen ? path.lastDirectRxUs + DIRECT_DEAD_US : NEVER;
  return punch.active ? NEVER : path.repunchUs;
}

/** Returns true when the direct path was just declared dead (the caller notifies the peer). */
export function pathTick(now: i64): bool {
  if (!path.active || path.held) return false;
  if (punch.peerIp != 0) {
    if (path.directRxSeen && now - path.lastDirectRxUs >= DIRECT_DEAD_US) { pathDirectLost(now, "timeout"); return true; }
    return false;
  }
  if (!punch.active && now >= path.repunchUs) {
    path.repunchUs = now + REPUNCH_INTERVAL_US;
    // No candidates (the peer sent none: UDP blocked, or a conference leg): nothing to punch, but the
    // deadline must still move on (a deadline that never advances trips the host's watchdog).
    if (punch.candCount > 0) punchStart(path.callId, now);
  }
  return false;
}

/** Stops using the direct path (our detection, or the peer's PATH_DOWN) and starts re-punching. */
export function pathDirectLost(now: i64, why: string): void {
  if (punch.peerIp == 0) return;
  punch.peerIp = 0; punch.peerPort = 0;
  path.directRxSeen = false;
  path.fallbacks++;
  path.lastFallbackUs = now;
  event("media.fallback", "reason=" + why + " silentMs=" + ((now - path.lastDirectRxUs) / 1000).toString());
  path.repunchUs = now + REPUNCH_INTERVAL_US;
  punchStart(path.callId, now);
}
