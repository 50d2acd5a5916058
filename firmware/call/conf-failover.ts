import { node } from "../overlay/node";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { media, MediaSession } from "../media/session";
import { holdActive } from "./hold";
import { call, callHangupAs, CALL_ACTIVE } from "./call";
import { conf, confEndLegsTo, confLegMediaTo, confOpenLeg } from "./conference";

/**
 * Conference host failure (issue #8): a host that crashes, loses power or loses its network cannot hand
 * hosting over (CONF_HANDOVER), so the participants do it without it.
 *
 * Detection. The host sends every participant a media frame every 20 ms (the N−1 mix; on hold, a keep-alive
 * every 3 s, during which detection is paused). A participant that hears nothing authentic from the host on
 * its link (its call with the host, or its leg to it) for HOST_SILENCE_US declares the host lost. 300 ms is
 * 15 frames: above the 100 ms direct-path watchdog plus the relay fallback (≈ 180 ms of silence measured in
 * tests/host/nat-traversal.test.ts) and the usual jitter, and small enough to keep the whole gap under 1 s.
 * Before the first packet of a link the detector allows LINK_GRACE_US.
 *
 * Election without the host. Every CONF_ROSTER carries each member's capability score (host first); the host
 * sends it again whenever a score arrives, so every participant holds the same list. The candidates are the
 * members but the host, ranked by score (higher first), ties by the smaller user name: the same order on every
 * phone, computed from the last roster alone. Candidate 0 takes over at once (it hangs up its link to the lost
 * host and opens a leg to every other member through the ordinary leg setup, conference.ts confOpenLeg);
 * candidate k > 0 waits k × CANDIDATE_STEP_US for an INVITE from a better-ranked candidate (accepted without
 * ringing, replacing its call with the lost host) and takes over itself when none came — then it skips the
 * better-ranked candidates, which it presumes lost as well (with nobody left to call, its part ends). An INVITE from a better-ranked candidate that
 * arrives before our own detector fired is taken as proof when the host has already been silent for
 * HOST_SUSPECT_US (the candidate detected first: its last packet from the host came earlier).
 *
 * False alarms: a participant that only lost its own link to the host sees the host again (media resumes) and
 * cancels; if it was candidate 0 and already took over, the others, whose host is alive, decline its INVITE
 * (busy), so it ends up alone instead of splitting the conference.
 */
export const HOST_SILENCE_US: i64 = 300_000;
export const HOST_SUSPECT_US: i64 = 100_000;
export const LINK_GRACE_US: i64 = 2_000_000;
export const CANDIDATE_STEP_US: i64 = 3_000_000;

class Failover {
  confId: u32 = 0;
  /** The host of the last roster ("" when we are not a participant of a conference). */
  host: string = "";
  /** Every member of the last roster but the host, best candidate first. */
  ranked: Array<string> = new Array<string>();
  /** Our index in `ranked` (-1: not listed). */
  myRank: i32 = -1;
  /** When we declared the host lost (NEVER: it is alive). */
  lostUs: i64 = NEVER;
  takeoverAtUs: i64 = NEVER;
  detections: i32 = 0;
  takeovers: i32 = 0;
}

const fo = new Failover();

/** Forgets the roster (a handover told us the new host, or our part in the conference ended). */
export function failoverReset(): void {
  fo.host = ""; fo.confId = 0; fo.ranked.length = 0; fo.myRank = -1; fo.lostUs = NEVER; fo.takeoverAtUs = NEVER;
}

/**
 * A CONF_ROSTER we accepted as participant: `users[0]` hosts, `scores[i]` is users[i]'s capability score.
 * Keeps the ranked candidate list for a host failure.
 */
export function failoverOnRoster(confId: u32, users: Array<string>, scores: Array<i32>): void {
  if (users.length == 0) return;
  if (users[0] != fo.host || confId != fo.confId) { fo.lostUs = NEVER; fo.takeoverAtUs = NEVER; }
  fo.confId = confId;
  fo.host = users[0];
  fo.ranked.length = 0;
  const sc = new Array<i32>();
  for (let i = 1; i < users.length; i++) {
    // Insertion into the ranked list: score descending, then name ascending.
    const u = users[i]; const s = scores[i];
    let at = fo.ranked.length;
    for (let j = 0; j < fo.ranked.length; j++) {
      if (s > sc[j] || (s == sc[j] && u < fo.ranked[j])) { at = j; break; }
    }
    fo.ranked.push(u); sc.push(s);
    for (let j = fo.ranked.length - 1; j > at; j--) { fo.ranked[j] = fo.ranked[j - 1]; sc[j] = sc[j - 1]; }
    fo.ranked[at] = u; sc[at] = s;
  }
  fo.myRank = fo.ranked.indexOf(node.cfg.user);
}

/** The media session of our link to the host: our call with it or our leg to it; null when there is none. */
function hostLink(): MediaSession | null {
  if (fo.host.length == 0) return null;
  if (call.state == CALL_ACTIVE && call.peerUser == fo.host && media.active) return media;
  return confLegMediaTo(fo.host);
}

/** Microseconds since the host was last heard on `s` (the link's start plus a grace before its first packet). */
function silentUs(s: MediaSession, now: i64): i64 {
  const last = s.lastRxUs > 0 ? s.lastRxUs : s.startUs + LINK_GRACE_US - HOST_SILENCE_US;
  return now - last;
}

function watching(): bool { return !conf.hosting && fo.host.length > 0 && fo.myRank >= 0 && fo.host != node.cfg.user; }

export function failoverDeadline(): i64 {
  if (!watching()) return NEVER;
  if (fo.lostUs != NEVER) return fo.takeoverAtUs;
  const s = hostLink();
  if (s === null || holdActive() || s.holdMuted) return NEVER;
  const last = s.lastRxUs > 0 ? s.lastRxUs : s.startUs + LINK_GRACE_US - HOST_SILENCE_US;
  return last + HOST_SILENCE_US;
}

export function failoverTick(now: i64): void {
  if (!watching()) return;
  const s = hostLink();
  if (fo.lostUs == NEVER) {
    if (s === null || holdActive() || s.holdMuted) return;
    const silent = silentUs(s, now);
    if (silent >= HOST_SILENCE_US) hostLost(silent, now);
    return;
  }
  // The host was declared lost: it may come back (only our link failed), or it is our turn to take over.
  if (s !== null && s.lastRxUs > fo.lostUs) {
    event("conf.host.back", "host=" + fo.host);
    fo.lostUs = NEVER; fo.takeoverAtUs = NEVER;
    conf.hostUser = fo.host;
    return;
  }
  if (now >= fo.takeoverAtUs) takeOver(now); // no better-ranked candidate called us in time
}

function hostLost(silent: i64, now: i64): void {
  fo.lostUs = now;
  fo.detections++;
  const successor = fo.ranked.length > 0 ? fo.ranked[0] : "";
  event("conf.host.lost", "host=" + fo.host + " silentMs=" + (silent / 1000).toString() + " successor=" + successor +
    " rank=" + fo.myRank.toString());
  if (fo.myRank == 0) { takeOver(now); return; }
  conf.hostUser = successor;
  fo.takeoverAtUs = now + <i64>fo.myRank * CANDIDATE_STEP_US;
}

/** We host now: leave the lost host, call every member but it and the candidates ranked before us. */
function takeOver(now: i64): void {
  const lost = fo.host;
  const id = fo.confId;
  const users = new Array<string>();
  for (let i = fo.myRank + 1; i < fo.ranked.length; i++) users.push(fo.ranked[i]);
  fo.takeovers++;
  event("conf.failover", "lost=" + lost + " rank=" + fo.myRank.toString() + " users=" + users.length.toString() +
    " silentMs=" + ((now - fo.lostUs) / 1000).toString());
  failoverReset();
  // Our link to the lost host first (BYE too: if only our link failed, the host learns we left).
  if (call.state == CALL_ACTIVE && call.peerUser == lost) callHangupAs("conf-host-lost", now);
  confEndLegsTo(lost, "host-lost", now);
  if (users.length == 0) { conf.hostUser = ""; conf.confId = 0; conf.memberOf = 0; return; }
  conf.hosting = true;
  conf.electionDone = true;
  conf.primaryScore = -1;
  conf.confId = id;
  conf.hostUser = node.cfg.user;
  conf.handovers++;
  event("conf.host", "confId=" + id.toString() + " by=failover");
  for (let i = 0; i < users.length; i++) confOpenLeg(users[i], now);
}

/**
 * call.ts onInvite (through conference.ts confExpects): an INVITE from `from` while we are a participant.
 * True when it is a better-ranked candidate taking over from the lost host (answer at once, replacing our call).
 */
export function failoverExpects(from: string, now: i64): bool {
  if (!watching()) return false;
  const k = fo.ranked.indexOf(from);
  if (k < 0 || k >= fo.myRank) return false;
  if (fo.lostUs == NEVER) {
    // The candidate noticed first; we agree once the host has been quiet for a while here too.
    const s = hostLink();
    if (s !== null && silentUs(s, now) < HOST_SUSPECT_US) return false;
    hostLost(s !== null ? silentUs(s, now) : 0, now); // rank ≥ 1 here: no takeover of our own
  }
  const lost = fo.host;
  event("conf.rejoin", "host=" + from + " by=failover lost=" + lost);
  failoverReset();
  conf.hostUser = from;
  confEndLegsTo(lost, "host-lost", now);
  return true;
}

/** call.ts end() → conference.ts: our call ended while we are a participant. */
export function failoverOnCallEnded(peer: string, result: string): void {
  if (conf.hosting || fo.host.length == 0 || peer != fo.host) return;
  if (fo.lostUs != NEVER) return; // replaced by the new host's call (or ours), failover under way
  // We (or the host) ended our part in the conference normally.
  if (confLegMediaTo(fo.host) === null && result != "conf-handover") {
    failoverReset();
    if (conf.hostUser == peer) { conf.hostUser = ""; conf.memberOf = 0; }
  }
}

/** `failover` fields for the console's `conf` line. */
export function failoverStatusText(): string {
  return " fo.host=" + fo.host + " fo.rank=" + fo.myRank.toString() + " fo.lost=" + (fo.lostUs != NEVER ? "1" : "0") +
    " fo.detections=" + fo.detections.toString() + " fo.takeovers=" + fo.takeovers.toString();
}
