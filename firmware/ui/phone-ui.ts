import { node } from "../overlay/node";
import { call, callAnswer, callDial, callHangup, CALL_ACTIVE, CALL_IDLE, CALL_INCOMING } from "../call/call";
import { NEVER, nowUs } from "../lib/clock";
import { event } from "../lib/log";
import { displaySize } from "../../hal/display";
import { storageWrite } from "../../hal/storage";
import { systemReboot } from "../../hal/system";
import { KEY_PROVISIONING } from "../lib/keys";
import { devcfg, provisioningCheck, provisioningJson } from "../device/provisioning";
import { updateCheckNow } from "../device/update";
import { MultiTap, MULTITAP_TEXT } from "./multitap";
import { DIR_IN, DIR_MISSED, DIR_OUT, history, historyAdd, historyLoad, historyMarkMissed, historyNames, historySeen } from "./history";
import { settings, settingsApplyHandset, settingsLoad, settingsSave, volumeText, VOLUME_MAX } from "./settings";
import { ringerUpdate } from "./ringer";
import { render } from "./screens";
import { imSend } from "../im/im";
import { holdSet } from "../call/hold";
import { callTransfer } from "../call/transfer";
import { confActive, confAdd, confLeave } from "../call/conference";
import { buddy, buddyOp, buddyOrdered, buddySetAway, BK_BLOCKED, BK_BUDDY, BK_RECEIVED, OP_ACCEPT, OP_BLOCK, OP_DECLINE, OP_UNBLOCK } from "../buddy/buddies";
import {
  KEY_CLEAR, KEY_CONFERENCE, KEY_DOWN, KEY_HOLD, KEY_LEFT, KEY_OFF_HOOK, KEY_OK, KEY_ON_HOOK, KEY_RIGHT, KEY_SEND,
  KEY_SOFT1, KEY_SOFT2, KEY_SOFT3, KEY_SOFT4, KEY_SPEAKER, KEY_UP, KEY_VOLUME_DOWN, KEY_VOLUME_UP,
} from "./keys";

/**
 * The phone UI state machine: keypad and hook switch in, screens out (drawn by ui/screens.ts), ringer and
 * call-progress tones (ui/ringer.ts). Call screens (calling, ringing, incoming, in call) take over whenever a
 * call is in progress; the others are reached from the idle screen's soft keys:
 *   idle ─digits→ dial (multi-tap, search-as-you-type) ─send/off-hook→ calling → ringback → in call
 *   idle ─Buddy→ buddies   ─Hist→ history   ─IM→ messages → compose   ─Menu→ settings → network | account | firmware
 *   in call ─Hold→ hold (Resume) ─Conf→ conference: type a name, Add (conference) or Xfer (blind transfer)
 * Off-hook answers a ringing call, on-hook hangs up; the speaker key answers or continues hands-free.
 */
export const S_IDLE: i32 = 0;
export const S_DIAL: i32 = 1;
export const S_BUDDIES: i32 = 2;
export const S_HISTORY: i32 = 3;
export const S_IM: i32 = 4;
export const S_IM_COMPOSE: i32 = 5;
export const S_MENU: i32 = 6;
export const S_NETWORK: i32 = 7;
export const S_ACCOUNT: i32 = 8;
export const S_EDIT: i32 = 9;
export const S_CONFERENCE: i32 = 10;
export const S_HOLD: i32 = 11;
export const S_FIRMWARE: i32 = 12;

/** Settings menu items. */
export const MENU_ITEMS: i32 = 6;
export const M_NETWORK: i32 = 0;
export const M_SUPERNODE: i32 = 1;
export const M_RING_VOLUME: i32 = 2;
export const M_HANDSET_VOLUME: i32 = 3;
export const M_ACCOUNT: i32 = 4;
export const M_FIRMWARE: i32 = 5;

const MESSAGE_US: i64 = 2_000_000;

export class PhoneUi {
  rows: i32 = 4;
  cols: i32 = 24;
  screen: i32 = S_IDLE;
  /** Dial-by-name entry. */
  entry: MultiTap = new MultiTap();
  /** Free text (IM) and account field entry. */
  text: MultiTap = new MultiTap();
  /** Selected line of a list screen (-1 on the dial screen: the typed name). */
  sel: i32 = 0;
  offHook: bool = false;
  handsFree: bool = false;
  dirty: bool = true;
  nextRedrawUs: i64 = NEVER;
  line: StaticArray<u8> = new StaticArray<u8>(64);
  /** What the LCD shows, row by row (for the console's `lcd`). */
  shown: Array<string> = new Array<string>();
  /** A one-line notice shown for 2 s ("Hold: not available yet"). */
  message: string = "";
  messageUntilUs: i64 = NEVER;
  prevCallState: i32 = 0; // CALL_IDLE (call.ts imports this module: no constant at class init)
  /** Account screen: edited values, which field S_EDIT edits (0 user, 1 password). */
  acctUser: string = "";
  acctPass: string = "";
  editField: i32 = 0;
  /** IM compose recipient. */
  imTo: string = "";
  /** Last key press time (the update installs only after the phone has been left alone). */
  lastKeyUs: i64 = 0;
}

export const ui = new PhoneUi();

export function uiStart(): void {
  const sz = displaySize();
  if (sz > 0) { ui.rows = min((sz >> 8) & 255, 8); ui.cols = min(sz & 255, 64); }
  else if (devcfg.displayRows > 0) { ui.rows = devcfg.displayRows; ui.cols = devcfg.displayCols; }
  if (ui.rows < 2) ui.rows = 2;
  if (ui.cols < 16) ui.cols = 16;
  ui.shown.length = 0;
  for (let i = 0; i < ui.rows; i++) ui.shown.push("");
  ui.text.mode = MULTITAP_TEXT;
  historyLoad();
  settingsLoad();
  settingsApplyHandset();
  uiRefresh();
}

/** Marks the screen for redraw (called by every module whose state the LCD shows). */
export function uiRefresh(): void { ui.dirty = true; }

/** Shows a one-line notice for 2 s. */
export function uiMessage(text: string): void {
  ui.message = text; ui.messageUntilUs = nowUs + MESSAGE_US; ui.dirty = true;
  event("ui.message", "text=" + text.replaceAll(" ", "_"));
}

function go(screen: i32): void {
  ui.screen = screen; ui.sel = screen == S_DIAL ? -1 : 0; ui.dirty = true;
  if (screen == S_HISTORY) historySeen();
}

/** Names for search-as-you-type: contacts (from the call history until #8's buddy list) starting with the entry. */
export function dialSuggestions(): Array<string> {
  const typed = ui.entry.full();
  const names = historyNames();
  // Buddies first (buddy/buddies.ts), then the other names from the call history.
  for (let i = buddy.entries.length - 1; i >= 0; i--) if (buddy.entries[i].kind == BK_BUDDY && !names.includes(buddy.entries[i].name)) names.unshift(buddy.entries[i].name);
  const out = new Array<string>();
  for (let i = 0; i < names.length && out.length < 6; i++) if (typed.length > 0 && names[i].startsWith(typed) && names[i] != typed) out.push(names[i]);
  return out;
}

export function uiOnKey(code: i32, down: bool, now: i64): void {
  if (code == KEY_OFF_HOOK || code == KEY_ON_HOOK) {
    const off = code == KEY_OFF_HOOK;
    if (off != ui.offHook || down) event("key.hook", off ? "off" : "on");
    ui.offHook = off;
    if (!down) return;
    if (off) offHook(now); else onHook(now);
    ui.dirty = true;
    ringerUpdate();
    return;
  }
  if (!down) return;
  ui.lastKeyUs = now;
  const st = call.state;
  if (code == KEY_VOLUME_UP || code == KEY_VOLUME_DOWN) volume(code == KEY_VOLUME_UP ? 1 : -1);
  else if (code == KEY_SPEAKER) speaker(now);
  else if (st == CALL_INCOMING) incomingKey(code, now);
  else if (st != CALL_IDLE && ui.screen != S_HOLD && ui.screen != S_CONFERENCE) callKey(code, now);
  else screenKey(code, now);
  ui.dirty = true;
  ringerUpdate();
}

function offHook(now: i64): void {
  const st = call.state;
  if (st == CALL_INCOMING) { ui.handsFree = false; callAnswer(now); return; }
  if (st != CALL_IDLE) { ui.handsFree = false; return; }
  if (ui.screen == S_DIAL && ui.entry.full().length > 0) { dial(now); return; }
  if (ui.entry.full().length > 0 && ui.screen == S_IDLE) { dial(now); return; }
  go(S_DIAL);
}

function onHook(now: i64): void {
  const st = call.state;
  if (st == CALL_INCOMING) return; // the handset was down already: keep ringing
  if (st != CALL_IDLE) { if (!ui.handsFree) callHangup(now); return; }
  if (confActive()) { confLeave(now); return; } // conference legs without a call of our own (issue #8)
  if (ui.screen == S_DIAL && !ui.handsFree) { ui.entry.clear(); go(S_IDLE); }
}

function speaker(now: i64): void {
  const st = call.state;
  if (st == CALL_INCOMING) { ui.handsFree = true; callAnswer(now); return; }
  if (st != CALL_IDLE) {
    if (ui.handsFree && !ui.offHook) { callHangup(now); return; }
    ui.handsFree = !ui.handsFree;
    return;
  }
  ui.handsFree = !ui.handsFree;
  if (ui.handsFree) { if (ui.screen != S_DIAL) go(S_DIAL); }
  else if (ui.screen == S_DIAL && !ui.offHook) { ui.entry.clear(); go(S_IDLE); }
}

function volume(delta: i32): void {
  const st = call.state;
  if (st == CALL_IDLE || st == CALL_INCOMING) {
    settings.ringVolume = clamp(settings.ringVolume + delta);
    uiMessage(volumeText("Ring", settings.ringVolume));
  } else if (ui.handsFree) {
    settings.speakerVolume = clamp(settings.speakerVolume + delta);
    uiMessage(volumeText("Spkr", settings.speakerVolume));
  } else {
    settings.handsetVolume = clamp(settings.handsetVolume + delta);
    settingsApplyHandset();
    uiMessage(volumeText("Vol", settings.handsetVolume));
  }
  settingsSave();
}

function clamp(v: i32): i32 { return v < 0 ? 0 : v > VOLUME_MAX ? VOLUME_MAX : v; }

function incomingKey(code: i32, now: i64): void {
  if (code == KEY_SOFT1 || code == KEY_OK || code == KEY_SEND) { ui.handsFree = !ui.offHook; callAnswer(now); }
  else if (code == KEY_SOFT4 || code == KEY_CLEAR) callHangup(now);
}

function callKey(code: i32, now: i64): void {
  if (code == KEY_SOFT4 || code == KEY_CLEAR) { callHangup(now); return; }
  if (call.state != CALL_ACTIVE) return;
  if (code == KEY_SOFT1 || code == KEY_HOLD) { if (holdSet(true, now)) go(S_HOLD); }
  else if (code == KEY_SOFT2 || code == KEY_CONFERENCE) { ui.entry.clear(); go(S_CONFERENCE); }
  else if (code == KEY_SOFT3) ui.handsFree = !ui.handsFree;
}

function isDigit(code: i32): bool { return code >= 48 && code <= 57; }

function screenKey(code: i32, now: i64): void {
  const s = ui.screen;
  if (s == S_IDLE) {
    if (isDigit(code)) { ui.entry.clear(); go(S_DIAL); ui.entry.digit(code - 48, now); }
    else if (code == KEY_SEND && ui.entry.full().length > 0) dial(now);
    else if (code == KEY_SOFT1 || code == KEY_UP) go(S_BUDDIES);
    else if (code == KEY_SOFT2 || code == KEY_DOWN) go(S_HISTORY);
    else if (code == KEY_SOFT3) go(S_IM);
    else if (code == KEY_SOFT4 || code == KEY_OK) go(S_MENU);
    else if (code == KEY_CONFERENCE) { ui.entry.clear(); go(S_CONFERENCE); }
  } else if (s == S_DIAL) dialKey(code, now);
  else if (s == S_BUDDIES) buddiesKey(code, now);
  else if (s == S_HISTORY) listKey(code, now);
  else if (s == S_IM) {
    if (code == KEY_SOFT1 || code == KEY_OK) { ui.imTo = ""; ui.entry.clear(); ui.text.clear(); ui.editField = 2; go(S_IM_COMPOSE); }
    else if (code == KEY_SOFT4 || code == KEY_CLEAR) go(S_IDLE);
  } else if (s == S_IM_COMPOSE) composeKey(code, now);
  else if (s == S_MENU) menuKey(code);
  else if (s == S_NETWORK) { if (code == KEY_SOFT4 || code == KEY_CLEAR || code == KEY_OK) go(S_MENU); }
  else if (s == S_FIRMWARE) {
    if (code == KEY_SOFT1) uiMessage(updateCheckNow(now) ? "Checking for updates" : "No update service");
    else if (code == KEY_SOFT4 || code == KEY_CLEAR || code == KEY_OK) go(S_MENU);
  } else if (s == S_ACCOUNT) accountKey(code);
  else if (s == S_EDIT) editKey(code, now);
  else if (s == S_HOLD) {
    if (code == KEY_SOFT1 || code == KEY_OK || code == KEY_HOLD) { holdSet(false, now); go(S_IDLE); }
    else if (code == KEY_SOFT4 || code == KEY_CLEAR) go(S_IDLE);
  }
  else if (s == S_CONFERENCE) {
    if (isDigit(code)) ui.entry.digit(code - 48, now);
    else if (code == KEY_RIGHT) ui.entry.commit();
    else if (code == KEY_SOFT1 || code == KEY_SEND || code == KEY_OK || code == KEY_SOFT2) {
      ui.entry.commit();
      const name = ui.entry.text;
      const ok = code == KEY_SOFT2 ? callTransfer(name, now) : confAdd(name, now);
      uiMessage((ok ? (code == KEY_SOFT2 ? "Transferred to " : "Adding ") : "Cannot reach ") + name);
      if (ok) { ui.entry.clear(); go(S_IDLE); }
    }
    else if (code == KEY_SOFT4 || code == KEY_CLEAR) { if (code == KEY_CLEAR && ui.entry.full().length > 0) ui.entry.backspace(); else { ui.entry.clear(); go(S_IDLE); } }
  }
}

function dialKey(code: i32, now: i64): void {
  if (isDigit(code)) { ui.entry.digit(code - 48, now); ui.sel = -1; }
  else if (code == KEY_RIGHT) ui.entry.commit();
  else if (code == KEY_SEND || code == KEY_OK || code == KEY_SOFT1) dial(now);
  else if (code == KEY_CLEAR || code == KEY_LEFT || code == KEY_SOFT2) {
    if (ui.entry.full().length == 0) { if (!ui.offHook && !ui.handsFree) go(S_IDLE); }
    else { ui.entry.backspace(); ui.sel = -1; }
  } else if (code == KEY_DOWN) { const n = dialSuggestions().length; if (ui.sel + 1 < n) ui.sel++; }
  else if (code == KEY_UP) { if (ui.sel >= 0) ui.sel--; }
  else if (code == KEY_SOFT4) { ui.entry.clear(); go(S_IDLE); }
}

/** Buddy list screen: Call/IM a buddy, Accept/Deny (decline)/Block a request, Unblock, Away/Here (buddy/buddies.ts). */
function buddiesKey(code: i32, now: i64): void {
  const list = buddyOrdered();
  const e = ui.sel < list.length ? list[ui.sel] : null;
  if (code == KEY_DOWN) { if (ui.sel + 1 < list.length) ui.sel++; }
  else if (code == KEY_UP) { if (ui.sel > 0) ui.sel--; }
  else if (code == KEY_SOFT4 || code == KEY_CLEAR) go(S_IDLE);
  else if (e !== null && e.kind == BK_RECEIVED) {
    if (code == KEY_SOFT1 || code == KEY_OK) buddyOp(OP_ACCEPT, e.name, now);
    else if (code == KEY_SOFT2) buddyOp(OP_DECLINE, e.name, now);
    else if (code == KEY_SOFT3) buddyOp(OP_BLOCK, e.name, now);
  } else if (e !== null && e.kind == BK_BLOCKED) {
    if (code == KEY_SOFT1 || code == KEY_OK) buddyOp(OP_UNBLOCK, e.name, now);
  } else if (code == KEY_SOFT3) buddySetAway(!buddy.manualAway, now);
  else if (e !== null && e.kind == BK_BUDDY) {
    if (code == KEY_SOFT1 || code == KEY_SEND || code == KEY_OK) { ui.entry.set(e.name); dial(now); }
    else if (code == KEY_SOFT2) { ui.imTo = e.name; ui.text.clear(); ui.editField = 3; go(S_IM_COMPOSE); }
  }
}

function listNames(): Array<string> {
  const out = new Array<string>();
  for (let i = 0; i < history.length; i++) out.push(history[i].peer);
  return out;
}

function listKey(code: i32, now: i64): void {
  const names = listNames();
  if (code == KEY_DOWN) { if (ui.sel + 1 < names.length) ui.sel++; }
  else if (code == KEY_UP) { if (ui.sel > 0) ui.sel--; }
  else if ((code == KEY_SOFT1 || code == KEY_SEND || code == KEY_OK) && ui.sel < names.length) { ui.entry.set(names[ui.sel]); dial(now); }
  else if (code == KEY_SOFT4 || code == KEY_CLEAR) go(S_IDLE);
}

/** IM compose: editField 2 = typing the recipient, 3 = typing the message. */
function composeKey(code: i32, now: i64): void {
  const m = ui.editField == 2 ? ui.entry : ui.text;
  if (isDigit(code)) m.digit(code - 48, now);
  else if (code == KEY_RIGHT) m.commit();
  else if (code == KEY_CLEAR || code == KEY_SOFT2) { if (m.full().length > 0) m.backspace(); else if (ui.editField == 3 && ui.imTo.length == 0) ui.editField = 2; }
  else if (code == KEY_OK || code == KEY_SOFT1 || code == KEY_SEND) {
    m.commit();
    if (ui.editField == 2) { if (ui.entry.text.length > 0) { ui.imTo = ui.entry.text; ui.editField = 3; } }
    else {
      // Issue #8: send (firmware/im/im.ts); the receipt shows in the event log and `im` on the console.
      const id = imSend(ui.imTo, ui.text.full(), now);
      uiMessage(id > 0 ? "IM sent to " + ui.imTo : id == -1 ? "IM: not online" : id == -2 ? "IM: empty or too long" : "IM: bad name");
      if (id > 0) { ui.text.clear(); go(S_IM); }
    }
  } else if (code == KEY_SOFT4) go(S_IM);
}

function menuKey(code: i32): void {
  if (code == KEY_DOWN) { if (ui.sel + 1 < MENU_ITEMS) ui.sel++; }
  else if (code == KEY_UP) { if (ui.sel > 0) ui.sel--; }
  else if (code == KEY_SOFT4 || code == KEY_CLEAR) go(S_IDLE);
  else if (code == KEY_LEFT || code == KEY_RIGHT) {
    const d = code == KEY_RIGHT ? 1 : -1;
    if (ui.sel == M_RING_VOLUME) { settings.ringVolume = clamp(settings.ringVolume + d); settingsSave(); }
    else if (ui.sel == M_HANDSET_VOLUME) { settings.handsetVolume = clamp(settings.handsetVolume + d); settingsApplyHandset(); settingsSave(); }
    else if (ui.sel == M_SUPERNODE) toggleSupernode();
  } else if (code == KEY_OK || code == KEY_SOFT1) {
    if (ui.sel == M_NETWORK) go(S_NETWORK);
    else if (ui.sel == M_SUPERNODE) toggleSupernode();
    else if (ui.sel == M_ACCOUNT) { ui.acctUser = node.cfg.user; ui.acctPass = node.cfg.password; go(S_ACCOUNT); }
    else if (ui.sel == M_FIRMWARE) go(S_FIRMWARE);
  }
}

/** Writes node.cfg back to flash as JSON provisioning. Returns "" or the validation error. */
function saveProvisioning(): string {
  const j = provisioningJson(true);
  const e = provisioningCheck(j, false);
  if (e.length > 0) return e;
  const n = String.UTF8.byteLength(j, false);
  const buf = new StaticArray<u8>(n);
  String.UTF8.encodeUnsafe(changetype<usize>(j), j.length, changetype<usize>(buf), false);
  return storageWrite(KEY_PROVISIONING, changetype<usize>(buf), n) == n ? "" : "flash write failed";
}

function toggleSupernode(): void {
  node.cfg.supernodeAuto = !node.cfg.supernodeAuto;
  const e = saveProvisioning();
  uiMessage(e.length > 0 ? "Error: " + e : "Supernode " + (node.cfg.supernodeAuto ? "auto" : "off") + ": after reboot");
}

function accountKey(code: i32): void {
  if (code == KEY_SOFT1) { ui.editField = 0; ui.text.mode = 0; ui.text.set(ui.acctUser); go(S_EDIT); }
  else if (code == KEY_SOFT2) { ui.editField = 1; ui.text.mode = 0; ui.text.set(""); go(S_EDIT); }
  else if (code == KEY_SOFT3 || code == KEY_OK || code == KEY_SEND) signIn(false);
  else if (code == KEY_SOFT4) signIn(true);
  else if (code == KEY_CLEAR) go(S_MENU);
}

function editKey(code: i32, now: i64): void {
  const m = ui.text;
  if (isDigit(code)) m.digit(code - 48, now);
  else if (code == KEY_RIGHT) m.commit();
  else if (code == KEY_CLEAR || code == KEY_SOFT2) m.backspace();
  else if (code == KEY_OK || code == KEY_SOFT1 || code == KEY_SEND) {
    m.commit();
    if (ui.editField == 0) ui.acctUser = m.text; else ui.acctPass = m.text;
    ui.text.mode = MULTITAP_TEXT;
    go(S_ACCOUNT);
  } else if (code == KEY_SOFT4) { ui.text.mode = MULTITAP_TEXT; go(S_ACCOUNT); }
}

/** Login (register = false) or registration with the account screen's values: saved, then a reboot logs in. */
function signIn(register: bool): void {
  const oldUser = node.cfg.user; const oldPass = node.cfg.password; const oldReg = node.cfg.register;
  node.cfg.user = ui.acctUser; node.cfg.password = ui.acctPass; node.cfg.register = register;
  const e = saveProvisioning();
  if (e.length > 0) {
    node.cfg.user = oldUser; node.cfg.password = oldPass; node.cfg.register = oldReg;
    uiMessage(e.startsWith("user") ? "Bad user name" : e.startsWith("password") ? "Password: 6-64 chars" : "Error: " + e);
    return;
  }
  event("ui.account", "user=" + ui.acctUser + " register=" + (register ? "1" : "0"));
  uiMessage(register ? "Registering..." : "Signing in...");
  systemReboot();
}

function dial(now: i64): void {
  ui.entry.commit();
  const sugg = dialSuggestions();
  const name = ui.sel >= 0 && ui.sel < sugg.length ? sugg[ui.sel] : ui.entry.text;
  if (name.length == 0) return;
  if (callDial(name, now)) { ui.entry.clear(); ui.screen = S_IDLE; }
  else uiMessage(call.state != CALL_IDLE ? "Busy: call in progress" : "Not online");
}

export function uiDeadline(): i64 {
  if (ui.dirty) return nowUs;
  let d = ui.entry.commitUs;
  if (ui.text.commitUs < d) d = ui.text.commitUs;
  if (ui.messageUntilUs < d) d = ui.messageUntilUs;
  if (ui.nextRedrawUs < d) d = ui.nextRedrawUs;
  return d;
}

export function uiTick(now: i64): void {
  if (ui.entry.tick(now)) ui.dirty = true;
  if (ui.text.tick(now)) ui.dirty = true;
  if (now >= ui.messageUntilUs) { ui.message = ""; ui.messageUntilUs = NEVER; ui.dirty = true; }
  if (now >= ui.nextRedrawUs) ui.dirty = true;
  if (call.state != ui.prevCallState) callChanged(now);
  if (ui.dirty) { ui.dirty = false; render(now); }
}

/** Follows call state changes: back to idle and an entry in the history when a call ends. */
function callChanged(now: i64): void {
  const prev = ui.prevCallState;
  const st = call.state;
  ui.prevCallState = st;
  ui.dirty = true;
  if (st == CALL_IDLE) {
    const r = call.lastResult;
    const dir = call.isCaller ? DIR_OUT : prev == CALL_INCOMING && r != "declined" && r != "answered-elsewhere" ? DIR_MISSED : DIR_IN; // issue #8: taken on another device of ours: not missed
    if (dir == DIR_MISSED) historyMarkMissed();
    historyAdd(dir, call.peerUser, call.lastDurationS, r);
    ui.handsFree = false;
    // Back to idle even with the handset still up: no dial tone until it is put down and lifted again.
    ui.screen = S_IDLE;
    ui.entry.clear();
  } else if (st == CALL_INCOMING) {
    ui.handsFree = false;
  }
  ringerUpdate();
}
