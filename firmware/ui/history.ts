import { storageRead, storageWrite } from "../../hal/storage";
import { KEY_CALL_HISTORY } from "../device/storage-keys";

/**
 * Call history: the last `HISTORY_MAX` calls, newest first, kept in flash (KEY_CALL_HISTORY) so it survives a
 * reboot. Record: [version u8 = 1][count u8] then per call [dir u8][durationS u16 BE][name str8][result str8].
 * The stored record is read with bounds checks; a malformed one is ignored (the history starts empty).
 */
export const HISTORY_MAX: i32 = 20;
export const DIR_OUT: u8 = 0;
export const DIR_IN: u8 = 1;
export const DIR_MISSED: u8 = 2;
const RECORD_CAP: i32 = 2048;

export class HistoryEntry {
  constructor(public dir: u8, public peer: string, public durationS: i32, public result: string) {}
}

export const history = new Array<HistoryEntry>();
const buf = new StaticArray<u8>(RECORD_CAP);

/** Adds a finished call (newest first) and saves the list. */
export function historyAdd(dir: u8, peer: string, durationS: i32, result: string): void {
  if (peer.length == 0) return;
  history.unshift(new HistoryEntry(dir, peer.length > 32 ? peer.substring(0, 32) : peer, durationS < 0 ? 0 : durationS, result.length > 16 ? result.substring(0, 16) : result));
  if (history.length > HISTORY_MAX) history.length = HISTORY_MAX;
  historySave();
}

/** Missed calls not yet seen on the history screen. */
export let historyUnseenMissed: i32 = 0;
export function historyMarkMissed(): void { historyUnseenMissed++; }
export function historySeen(): void { historyUnseenMissed = 0; }

function putStr(p: usize, pos: i32, s: string): i32 {
  const n = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p + <usize>pos + 1, false);
  store<u8>(p + <usize>pos, <u8>n);
  return pos + 1 + <i32>n;
}

export function historySave(): void {
  const p = changetype<usize>(buf);
  store<u8>(p, 1);
  let pos = 2; let n = 0;
  for (let i = 0; i < history.length; i++) {
    const e = history[i];
    if (pos + 4 + 3 * (e.peer.length + e.result.length) + 2 > RECORD_CAP) break;
    store<u8>(p + <usize>pos, e.dir);
    store<u8>(p + <usize>pos + 1, <u8>(min(e.durationS, 65535) >> 8));
    store<u8>(p + <usize>pos + 2, <u8>min(e.durationS, 65535));
    pos = putStr(p, pos + 3, e.peer);
    pos = putStr(p, pos, e.result);
    n++;
  }
  store<u8>(p + 1, <u8>n);
  storageWrite(KEY_CALL_HISTORY, p, pos);
}

/** Loads the saved history (at boot). */
export function historyLoad(): void {
  history.length = 0;
  const p = changetype<usize>(buf);
  const len = storageRead(KEY_CALL_HISTORY, p, RECORD_CAP);
  if (len < 2 || len > RECORD_CAP || load<u8>(p) != 1) return;
  const count = <i32>load<u8>(p + 1);
  let pos = 2;
  for (let i = 0; i < count && i < HISTORY_MAX; i++) {
    if (pos + 4 > len) return;
    const dir = load<u8>(p + <usize>pos);
    const dur = (<i32>load<u8>(p + <usize>pos + 1) << 8) | <i32>load<u8>(p + <usize>pos + 2);
    pos += 3;
    const nl = <i32>load<u8>(p + <usize>pos);
    if (pos + 1 + nl + 1 > len || nl > 32) return;
    const name = String.UTF8.decodeUnsafe(p + <usize>pos + 1, nl, false);
    pos += 1 + nl;
    const rl = <i32>load<u8>(p + <usize>pos);
    if (pos + 1 + rl > len || rl > 48) return;
    const result = String.UTF8.decodeUnsafe(p + <usize>pos + 1, rl, false);
    pos += 1 + rl;
    if (dir > DIR_MISSED) return;
    history.push(new HistoryEntry(dir, name, dur, result));
  }
}

/** Distinct peer names from the history, most recent first (the contact list until issue #8's buddy list). */
export function historyNames(): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < history.length; i++) if (!out.includes(history[i].peer)) out.push(history[i].peer);
  return out;
}
