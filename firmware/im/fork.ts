import { ByteReader } from "../lib/bytes";
import { PresenceRecord } from "../wire/record";
import { PRESENCE_OFFLINE } from "../wire/types";

/**
 * Multiple logins (issue #8): the helpers call.ts uses to ring every device of a user.
 *
 * SEARCH_RESP with found = 1 carries the first device's record, then (since issue #8) `[more u8]` and `more`
 * further records, one per other online device. A call INVITEs every device with the same callId and this flag
 * in its candidate flags; the first ANSWER wins and the caller sends CALL_CANCEL `[callId u32]` to the others,
 * which stop ringing at once (docs/protocol.md §Multiple logins).
 */
export const FLAG_FORKED: u8 = 4;
/** Devices of one user rung at once. */
export const FORK_MAX: i32 = 8;

/**
 * Reads `[more u8][record × more]` after the first record of a SEARCH_RESP (absent from older supernodes) and
 * returns the routing addresses of every online device, `first` included, `self` excluded, at most FORK_MAX.
 * A malformed tail is counted by the caller's reader state and ignored: the first device is still rung.
 */
export function forkReadDevices(r: ByteReader, first: PresenceRecord, self: string): Array<string> {
  const out = new Array<string>();
  const a0 = first.addr();
  if (a0 != self) out.push(a0);
  if (r.remaining() < 1) return out;
  const more = <i32>r.u8();
  for (let i = 0; i < more && i < FORK_MAX; i++) {
    const rec = new PresenceRecord();
    if (!rec.read(r)) break;
    if (rec.user != first.user || rec.status == PRESENCE_OFFLINE) continue;
    const a = rec.addr();
    if (a != self && !out.includes(a) && out.length < FORK_MAX) out.push(a);
  }
  return out;
}
