import { ByteReader } from "../lib/bytes";
import { stats } from "../lib/stats";
import { USER_MAX } from "../wire/types";

/**
 * Supernode side of buddy presence (issue #5 "Presence"): each client may name up to WATCH_MAX buddies
 * (MSG_BUDDY_WATCH [n u8][name str8 × n]); when its connection ends the supernode sends each of them
 * PRESENCE offline in a ROUTE (overlay/supernode.ts), so buddies see a phone leave within one network
 * round trip instead of at their next index poll.
 */
export const WATCH_MAX: i32 = 100;
const watchers = new Map<i32, Array<string>>();

/** MSG_BUDDY_WATCH from the client on connection `handle`: replaces its list. Malformed → dropped, counted. */
export function snWatchSet(handle: i32, r: ByteReader): void {
  const n = <i32>r.u8();
  const list = new Array<string>();
  for (let i = 0; i < n && r.ok; i++) {
    const name = r.str8(USER_MAX);
    if (r.ok && name.length > 0 && list.length < WATCH_MAX) list.push(name);
  }
  if (!r.ok || n > WATCH_MAX) { stats.malformed++; return; }
  if (list.length == 0) { if (watchers.has(handle)) watchers.delete(handle); return; }
  watchers.set(handle, list);
}

/** The watch list of a closed client connection (and forgets it), or null. */
export function snWatchTake(handle: i32): Array<string> | null {
  if (!watchers.has(handle)) return null;
  const l = watchers.get(handle);
  watchers.delete(handle);
  return l;
}
