import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { ByteReader } from "../lib/bytes";
import { MSG_HOLD } from "../wire/types";
import { media, MediaSession, mediaSendKeepalive } from "../media/session";
import { pathSetHeld } from "../nat/path";
import { ToneGenerator, TONE_HOLD, TONE_NONE } from "../ui/tones";
import { uiRefresh } from "../ui/phone-ui";
import { call, callBeginSignal, callSendSignal, CALL_ACTIVE } from "./call";

/**
 * Hold and resume (issue #8), from either side of an active call: HOLD [callId u32][on u8] over the call's
 * signaling path. While either side holds, neither sends audio (the RTP timestamp keeps running), each sends
 * one keep-alive every HOLD_KEEPALIVE_US on the media path — an RTP comfort-noise packet (RFC 3389, PT 13)
 * through the same direct/relay path, so NAT bindings (RFC 4787 §4.3: at least 2 min) and the relay stay
 * open for as long as the hold lasts — and the direct-path watchdog (nat/path.ts) is paused. The held party
 * hears the hold tone (ui/tones.ts TONE_HOLD); the holding one hears silence. The call resumes when neither
 * side holds any more.
 */
export const HOLD_KEEPALIVE_US: i64 = 3_000_000;

export class HoldState {
  /** We put the call on hold. */
  local: bool = false;
  /** The peer put us on hold. */
  remote: bool = false;
  nextKeepaliveUs: i64 = NEVER;
  keepalivesSent: u32 = 0;
  keepalivesRecv: u32 = 0;
  sinceUs: i64 = 0;
}

export const hold = new HoldState();
const tone = new ToneGenerator();

/** Whether the call is on hold (either side). */
export function holdActive(): bool { return hold.local || hold.remote; }

/** The user presses Hold (on = true) or Resume. Returns false when there is no active call. */
export function holdSet(on: bool, now: i64): bool {
  if (call.state != CALL_ACTIVE) return false;
  if (hold.local == on) return true;
  hold.local = on;
  const w = callBeginSignal(MSG_HOLD);
  w.u32(call.callId).u8(on ? 1 : 0);
  callSendSignal();
  apply(now, "local");
  return true;
}

/** HOLD [on u8] from the peer (the callId is already checked by call.ts). */
export function holdOnSignal(r: ByteReader, now: i64): void {
  const on = r.u8();
  if (!r.ok || on > 1) { stats.malformed++; return; }
  if (call.state != CALL_ACTIVE) { stats.unexpected++; return; }
  if (hold.remote == (on == 1)) return;
  hold.remote = on == 1;
  apply(now, "remote");
}

function apply(now: i64, by: string): void {
  const on = hold.local || hold.remote;
  const was = media.holdMuted;
  media.holdMuted = on;
  pathSetHeld(on, now);
  tone.start(hold.remote && !hold.local ? TONE_HOLD : TONE_NONE);
  if (on && !was) {
    hold.sinceUs = now;
    hold.nextKeepaliveUs = now + HOLD_KEEPALIVE_US;
    event("call.hold", "by=" + by + " local=" + (hold.local ? "1" : "0") + " remote=" + (hold.remote ? "1" : "0"));
  } else if (!on && was) {
    hold.nextKeepaliveUs = NEVER;
    event("call.resume", "by=" + by + " heldMs=" + ((now - hold.sinceUs) / 1000).toString() +
      " keepalivesSent=" + hold.keepalivesSent.toString() + " keepalivesRecv=" + hold.keepalivesRecv.toString());
  } else event("call.hold", "by=" + by + " local=" + (hold.local ? "1" : "0") + " remote=" + (hold.remote ? "1" : "0"));
  uiRefresh();
}

export function holdDeadline(): i64 { return hold.nextKeepaliveUs; }

export function holdTick(now: i64): void {
  if (now < hold.nextKeepaliveUs) return;
  if (call.state != CALL_ACTIVE || !media.holdMuted) { hold.nextKeepaliveUs = NEVER; return; }
  mediaSendKeepalive(media, now);
  hold.keepalivesSent++;
  hold.nextKeepaliveUs += HOLD_KEEPALIVE_US;
  if (hold.nextKeepaliveUs <= now) hold.nextKeepaliveUs = now + HOLD_KEEPALIVE_US;
}

/** A keep-alive arrived on session `s`. */
export function holdOnKeepalive(s: MediaSession, now: i64): void { if (s === media) hold.keepalivesRecv++; }

/** Speaker output while on hold: the hold tone (we are held) or silence (we hold). False when not on hold. */
export function holdFillSpeaker(out: usize, n: i32): bool {
  if (!media.holdMuted) return false;
  tone.fill(out, n);
  return true;
}

/** The call ended: forget the hold. */
export function holdReset(): void {
  if (hold.local || hold.remote) pathSetHeld(false, 0);
  if (hold.keepalivesSent > 0 || hold.keepalivesRecv > 0) event("hold.stats", holdStatsText());
  hold.local = false; hold.remote = false; hold.nextKeepaliveUs = NEVER;
  hold.keepalivesSent = 0; hold.keepalivesRecv = 0;
  tone.start(TONE_NONE);
}

/** For the console and the call.ended event. */
export function holdStatsText(): string {
  return "keepalivesSent=" + hold.keepalivesSent.toString() + " keepalivesRecv=" + hold.keepalivesRecv.toString();
}
