import { node } from "../overlay/node";
import { ByteReader } from "../lib/bytes";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { MSG_TRANSFER, USER_MAX } from "../wire/types";
import { call, callBeginSignal, callDial, callEndLocal, callHangupAs, callSendSignal, CALL_ACTIVE } from "./call";

/**
 * Blind transfer (issue #8): the transferor sends TRANSFER [callId u32][target str8] on the call's signaling
 * path and hangs up (BYE follows on the same path, so it arrives after); the transferee ends the call and
 * dials `target` itself, like any call (search, invite, NAT traversal). The target sees an ordinary call from
 * the transferee.
 */

/** Transfers the active call to `target` (the phone's Conf screen → Xfer). False when not possible. */
export function callTransfer(target: string, now: i64): bool {
  if (call.state != CALL_ACTIVE || target.length == 0 || target.length > USER_MAX) return false;
  if (target == call.peerUser || target == node.cfg.user) return false;
  const w = callBeginSignal(MSG_TRANSFER);
  w.u32(call.callId).str8(target);
  callSendSignal();
  event("call.transfer", "to=" + target + " peer=" + call.peerUser);
  callHangupAs("transferred", now);
  return true;
}

/** TRANSFER [target str8] from our peer (callId already checked): end this call, call the target. */
export function transferOnSignal(r: ByteReader, now: i64): void {
  const target = r.str8(USER_MAX);
  if (!r.ok || target.length == 0) { stats.malformed++; return; }
  if (call.state != CALL_ACTIVE || target == node.cfg.user) { stats.unexpected++; return; }
  event("call.transferred", "to=" + target + " by=" + call.peerUser);
  callEndLocal("transferred", now);
  callDial(target, now);
}
