import { node } from "../overlay/node";
import { client, clientNetText, SC_ONLINE, SC_REFUSED } from "../overlay/client";
import { call, callAnswer, callDial, callDurationS, callHangup, CALL_ACTIVE, CALL_CALLING, CALL_CONNECTING, CALL_IDLE, CALL_INCOMING, CALL_RINGBACK, CALL_SEARCHING } from "../call/call";
import { mediaPath } from "../media/session";
import { codecName } from "../lib/config";
import { NEVER, nowUs } from "../lib/clock";
import { event } from "../lib/log";
import { displaySize, displayWrite } from "../../hal/display";
import { MultiTap } from "./multitap";
import { KEY_CLEAR, KEY_OFF_HOOK, KEY_ON_HOOK, KEY_RIGHT, KEY_SEND, KEY_OK } from "./keys";

/**
 * The phone UI (v0): idle screen with account and network state, dial-by-name with multi-tap entry,
 * calling/ringing/in-call screens; hook switch answers and hangs up. Issue #9 extends it to every screen.
 * The LCD is redrawn whole when something changes and once a second during a call (the timer).
 */
export class PhoneUi {
  rows: i32 = 4;
  cols: i32 = 24;
  entry: MultiTap = new MultiTap();
  offHook: bool = false;
  dirty: bool = true;
  nextRedrawUs: i64 = NEVER;
  line: StaticArray<u8> = new StaticArray<u8>(64);
  /** What the LCD shows, row by row (for the console's `lcd`). */
  shown: Array<string> = new Array<string>();
}

export const ui = new PhoneUi();

export function uiStart(): void {
  const sz = displaySize();
  if (sz > 0) { ui.rows = min((sz >> 8) & 255, 8); ui.cols = min(sz & 255, 64); }
  if (ui.rows < 2) ui.rows = 2;
  if (ui.cols < 16) ui.cols = 16;
  ui.shown.length = 0;
  for (let i = 0; i < ui.rows; i++) ui.shown.push("");
  uiRefresh();
}

/** Marks the screen for redraw (called by every module whose state the LCD shows). */
export function uiRefresh(): void { ui.dirty = true; }

export function uiOnKey(code: i32, down: bool, now: i64): void {
  if (node.cfg.user.length == 0) return;
  if (code == KEY_OFF_HOOK || code == KEY_ON_HOOK) {
    ui.offHook = code == KEY_OFF_HOOK;
    event("key.hook", ui.offHook ? "off" : "on");
  }
  if (!down) return;
  const st = call.state;
  if (code == KEY_OFF_HOOK) {
    if (st == CALL_INCOMING) callAnswer(now);
    else if (st == CALL_IDLE && ui.entry.full().length > 0) dial(now);
  } else if (code == KEY_ON_HOOK) {
    if (st != CALL_IDLE) callHangup(now);
  } else if (code == KEY_SEND || code == KEY_OK) {
    if (st == CALL_INCOMING) callAnswer(now);
    else if (st == CALL_IDLE) dial(now);
  } else if (code >= 48 && code <= 57) {
    if (st == CALL_IDLE) ui.entry.digit(code - 48, now);
  } else if (code == KEY_RIGHT) {
    ui.entry.commit();
  } else if (code == KEY_CLEAR) {
    if (st == CALL_IDLE) ui.entry.backspace(); else callHangup(now);
  }
  uiRefresh();
}

function dial(now: i64): void {
  ui.entry.commit();
  const name = ui.entry.text;
  if (name.length == 0) return;
  if (callDial(name, now)) ui.entry.clear();
}

export function uiDeadline(): i64 {
  let d = ui.entry.commitUs;
  if (ui.dirty) return nowUs;
  if (call.state == CALL_ACTIVE && ui.nextRedrawUs < d) d = ui.nextRedrawUs;
  return d;
}

export function uiTick(now: i64): void {
  if (ui.entry.tick(now)) ui.dirty = true;
  if (call.state == CALL_ACTIVE && now >= ui.nextRedrawUs) ui.dirty = true;
  if (ui.dirty) render(now);
}

function render(now: i64): void {
  ui.dirty = false;
  ui.nextRedrawUs = call.state == CALL_ACTIVE ? now + 1_000_000 : NEVER;
  const user = node.cfg.user;
  if (user.length == 0) {
    put(0, node.isSupernode ? "Supernode" : "Node");
    put(1, ""); put(2, ""); put(3, "");
    return;
  }
  const st = call.state;
  if (st == CALL_IDLE) {
    const status = client.state == SC_ONLINE ? "Online" : client.state == SC_REFUSED ? "Offline" : "Login...";
    put(0, pad(user, ui.cols - status.length) + status);
    if (client.state == SC_REFUSED) put(1, "Login failed: " + (client.failReason == "bad-credentials" ? "password" : client.failReason));
    else put(1, "Net: " + clientNetText());
    put(2, "To: " + ui.entry.full() + "_");
    put(3, call.lastResult.length > 0 ? "Last: " + call.lastResult : "Dial       Clear");
  } else if (st == CALL_SEARCHING) {
    put(0, "Searching " + call.peerUser); put(1, ""); put(2, ""); put(3, "          Cancel");
  } else if (st == CALL_CONNECTING || st == CALL_CALLING) {
    put(0, "Calling " + call.peerUser); put(1, ""); put(2, ""); put(3, "          Cancel");
  } else if (st == CALL_RINGBACK) {
    put(0, "Ringing " + call.peerUser); put(1, ""); put(2, ""); put(3, "          Cancel");
  } else if (st == CALL_INCOMING) {
    put(0, "Call from " + call.peerUser); put(1, ""); put(2, "Lift handset to answer"); put(3, "Answer   Decline");
  } else if (st == CALL_ACTIVE) {
    const s = callDurationS(now);
    put(0, pad(call.peerUser, ui.cols - 5) + two(s / 60) + ":" + two(s % 60));
    put(1, codecName(<i32>call.pt).toUpperCase() + " " + (mediaPath().startsWith("direct") ? "direct" : "relayed"));
    put(2, ""); put(3, "          Hangup");
  }
}

function two(v: i32): string { return v < 10 ? "0" + v.toString() : v.toString(); }

function pad(s: string, w: i32): string {
  if (w <= 0) return "";
  if (s.length >= w) return s.substring(0, w);
  return s + " ".repeat(w - s.length);
}

function put(row: i32, text: string): void {
  if (row >= ui.rows) return;
  const t = pad(text, ui.cols);
  if (ui.shown[row] == t) return;
  ui.shown[row] = t;
  const p = changetype<usize>(ui.line);
  const n = min(t.length, ui.line.length);
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    store<u8>(p + <usize>i, <u8>(c >= 32 && c < 127 ? c : 63));
  }
  displayWrite(row, 0, p, n);
}
