import { logWrite } from "../../hal/log";

/** Log levels (hal/ABI.md §log). */
export const LOG_ERROR: i32 = 0;
export const LOG_WARN: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_DEBUG: i32 = 3;
export const LOG_TRACE: i32 = 4;
/** Machine-readable event line: `name key=value ...` (the simulator's reports are built from these). */
export const LOG_EVENT: i32 = 5;

/** Messages above this level are not sent to the host (console `log level N` changes it). */
export let logLevelMax: i32 = LOG_INFO;
export function setLogLevel(level: i32): void { logLevelMax = level; }

const LOG_BUF_CAP: i32 = 512;
const logBuf = new StaticArray<u8>(LOG_BUF_CAP);

function emit(level: i32, s: string): void {
  const ptr = changetype<usize>(logBuf);
  let n = String.UTF8.byteLength(s, false);
  if (n > LOG_BUF_CAP) {
    // Long lines are cut (to the char boundary the encoder gives) rather than allocated.
    n = <i32>String.UTF8.encodeUnsafe(changetype<usize>(s), min(s.length, LOG_BUF_CAP / 3), ptr, false);
  } else {
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, ptr, false);
  }
  logWrite(level, ptr, <i32>n);
}

export function logError(s: string): void { emit(LOG_ERROR, s); }
export function logWarn(s: string): void { if (logLevelMax >= LOG_WARN) emit(LOG_WARN, s); }
export function logInfo(s: string): void { if (logLevelMax >= LOG_INFO) emit(LOG_INFO, s); }
export function logDebug(s: string): void { if (logLevelMax >= LOG_DEBUG) emit(LOG_DEBUG, s); }
/** Events are always emitted: they are the phone's measurable behaviour, not chatter. */
export function event(name: string, kv: string = ""): void { emit(LOG_EVENT, kv.length > 0 ? name + " " + kv : name); }
