import { node } from "../overlay/node";
import { client, clientNetText, SC_ONLINE, SC_REFUSED, SC_PROBING, SC_CONNECTING, SC_HELLO, SC_REGISTERING, SC_LOGGING_IN } from "../overlay/client";
import { call, callDurationS, CALL_ACTIVE, CALL_CALLING, CALL_CONNECTING, CALL_INCOMING, CALL_RINGBACK, CALL_SEARCHING } from "../call/call";
import { media, mediaPath } from "../media/session";
import { codecName } from "../lib/config";
import { endpointToString } from "../lib/addr";
import { NEVER } from "../lib/clock";
import { displayWrite } from "../../hal/display";
import { bootText } from "../device/boot";
import { updateStatusText, updateReadyVersion } from "../device/update";
import { emodelBars, emodelR, barsText, codecIe, codecBpl } from "./emodel";
import { DIR_IN, DIR_MISSED, history, historyUnseenMissed } from "./history";
import { settings, volumeText } from "./settings";
import { hold } from "../call/hold";
import { confActive, confParties } from "../call/conference";
import { buddy, buddyLines, buddyOrdered, buddyStatusText, BK_BLOCKED, BK_BUDDY, BK_RECEIVED, BK_SENT } from "../buddy/buddies";
import { PRESENCE_AWAY } from "../wire/types";
import { imInboxText } from "../im/im";
import {
  ui, dialSuggestions, MENU_ITEMS, M_ACCOUNT, M_FIRMWARE, M_HANDSET_VOLUME, M_NETWORK, M_RING_VOLUME, M_SUPERNODE,
  S_ACCOUNT, S_BUDDIES, S_CONFERENCE, S_DIAL, S_EDIT, S_FIRMWARE, S_HISTORY, S_HOLD, S_IDLE, S_IM, S_IM_COMPOSE, S_MENU, S_NETWORK,
} from "./phone-ui";

/**
 * Draws the current screen on the character LCD. A screen is a title, body lines and up to four soft-key
 * labels; `layout` fits them to the display: on 3 or more rows the title is row 0 and the soft keys the last
 * row, on 2 rows only title and soft keys. Rows are written only when their text changes.
 */
const title = new Array<string>(1);
const body = new Array<string>();
const soft = new Array<string>(4);

function softkeys(a: string, b: string, c: string, d: string): void { soft[0] = a; soft[1] = b; soft[2] = c; soft[3] = d; }

/** Presence and login state as a short word. */
function presenceText(): string {
  const s = client.state;
  if (s == SC_ONLINE) return "Online";
  if (s == SC_REFUSED) return "Offline";
  if (s == SC_HELLO && client.busyWait) return "Server busy";
  if (s == SC_PROBING || s == SC_CONNECTING || s == SC_HELLO) return "Connecting";
  if (s == SC_REGISTERING) return "Registering";
  if (s == SC_LOGGING_IN) return "Login...";
  return "Offline";
}

/** Path icon: "<=>" direct UDP, "<SN>" relayed. */
function pathIcon(): string { return mediaPath().startsWith("direct") ? "<=>direct" : "<SN>relay"; }

/** E-model quality bars, or "[?]" until 50 packets have been expected. */
function qualityText(): string {
  const lost = media.jb.lost();
  const expected = <i32>media.jb.received + <i32>media.jb.late + lost;
  if (expected < 50) return "Q[?]";
  // Mouth-to-ear lower bound: 20 ms packetization + 60 ms fixed jitter buffer (network delay not known yet).
  const r = emodelR(80, 100.0 * <f64>(lost + <i32>media.jb.late) / <f64>expected, codecIe(<i32>media.pt), codecBpl(<i32>media.pt));
  return "Q" + barsText(emodelBars(r));
}

function two(v: i32): string { return v < 10 ? "0" + v.toString() : v.toString(); }

export function render(now: i64): void {
  title[0] = ""; body.length = 0; softkeys("", "", "", "");
  ui.nextRedrawUs = NEVER;
  const st = call.state;
  if (node.cfg.user.length == 0 && st == 0 && ui.screen == S_IDLE) {
    title[0] = node.isSupernode ? "Supernode" : "Node";
    body.push("No account");
    softkeys("", "", "", "Menu");
  } else if (st == CALL_INCOMING) {
    title[0] = "Call from " + call.peerUser;
    body.push(ui.offHook ? "Answering..." : "Lift handset to answer");
    softkeys("Answer", "", "", "Reject");
  } else if (st == CALL_SEARCHING) {
    title[0] = "Searching " + call.peerUser; body.push(""); softkeys("", "", "", "Cancel");
  } else if (st == CALL_CONNECTING || st == CALL_CALLING) {
    title[0] = "Calling " + call.peerUser; body.push(""); softkeys("", "", "", "Cancel");
  } else if (st == CALL_RINGBACK) {
    title[0] = "Ringing " + call.peerUser; body.push(ui.handsFree ? "Speaker" : ""); softkeys("", "", "", "Cancel");
  } else if (st == CALL_ACTIVE && ui.screen != S_HOLD && ui.screen != S_CONFERENCE) {
    const s = callDurationS(now);
    title[0] = pad(call.peerUser, ui.cols - 6) + " " + two(s / 60) + ":" + two(s % 60);
    body.push(codecName(<i32>call.pt).toUpperCase() + " " + pathIcon() + " " + qualityText());
    body.push(hold.remote ? "On hold by " + call.peerUser : confActive() ? (confParties() + 1).toString() + " in conference" : ui.handsFree ? "Speaker" : "");
    softkeys("Hold", "Conf", ui.handsFree ? "Hset" : "Spkr", "End");
    ui.nextRedrawUs = now + 1_000_000;
  } else screen(now);
  if (ui.message.length > 0) { if (body.length == 0) body.push(""); body[body.length - 1] = ui.message; }
  layout();
}

function screen(now: i64): void {
  const s = ui.screen;
  if (s == S_IDLE) {
    const p = presenceText();
    title[0] = pad(node.cfg.user, ui.cols - p.length) + p;
    if (client.state == SC_REFUSED) body.push("Login failed: " + (client.failReason == "bad-credentials" ? "password" : client.failReason));
    else body.push("Net: " + clientNetText());
    const ready = updateReadyVersion();
    if (ready > 0) body.push("Update v" + ready.toString() + " ready");
    else if (historyUnseenMissed > 0) body.push(historyUnseenMissed.toString() + " missed call" + (historyUnseenMissed > 1 ? "s" : ""));
    else body.push(call.lastResult.length > 0 ? "Last: " + call.lastResult : "");
    softkeys("Buddy", "Hist", "IM", "Menu");
  } else if (s == S_DIAL) {
    title[0] = "Dial: " + ui.entry.full() + "_";
    const sugg = dialSuggestions();
    for (let i = 0; i < sugg.length && i < ui.rows - 2; i++) body.push((ui.sel == i ? ">" : " ") + sugg[i]);
    if (sugg.length == 0) body.push(ui.entry.full().length == 0 ? "Type a name (multi-tap)" : "");
    softkeys("Dial", "Del", "", "Back");
  } else if (s == S_BUDDIES) {
    // Buddy list with presence (issue #8/#5, buddy/buddies.ts): *online -away  offline ?asks you ~asked xblocked
    const lines = buddyLines();
    const sel = ui.sel < lines.length ? buddyOrdered()[ui.sel] : null;
    title[0] = pad("Buddies (" + lines.length.toString() + ")", ui.cols - 6) + (buddy.myStatus == PRESENCE_AWAY ? "  Away" : "");
    list(lines, sel !== null && sel.kind == BK_BUDDY ? buddyStatusText(sel.status) : "");
    if (lines.length == 0) body.push("No buddies yet");
    if (sel !== null && sel.kind == BK_RECEIVED) softkeys("Accept", "Deny", "Block", "Back");
    else if (sel !== null && sel.kind == BK_BLOCKED) softkeys("Unblock", "", "", "Back");
    else if (sel !== null && sel.kind == BK_SENT) softkeys("", "", "", "Back");
    else softkeys(sel !== null ? "Call" : "", sel !== null ? "IM" : "", buddy.manualAway ? "Here" : "Away", "Back");
  } else if (s == S_HISTORY) {
    title[0] = "History (" + history.length.toString() + ")";
    const lines = new Array<string>();
    for (let i = 0; i < history.length; i++) {
      const e = history[i];
      const d = e.dir == DIR_MISSED ? "!" : e.dir == DIR_IN ? "<" : ">";
      lines.push(d + e.peer + " " + (e.durationS > 0 ? two(e.durationS / 60) + ":" + two(e.durationS % 60) : e.result));
    }
    list(lines, "");
    if (history.length == 0) body.push("No calls yet");
    softkeys("Call", "", "", "Back");
  } else if (s == S_IM) {
    title[0] = "Messages";
    // Issue #8: the newest messages first (firmware/im/im.ts inbox).
    const inbox = imInboxText();
    for (let i = inbox.length - 1; i >= 0 && inbox.length - i <= 3; i--) body.push(inbox[i]);
    if (inbox.length == 0) body.push("No messages");
    softkeys("New", "", "", "Back");
  } else if (s == S_IM_COMPOSE) {
    if (ui.editField == 2) { title[0] = "IM to: " + ui.entry.full() + "_"; body.push("Name, then OK"); }
    else { title[0] = "IM to " + ui.imTo; body.push(ui.text.full() + "_"); }
    softkeys(ui.editField == 2 ? "OK" : "Send", "Del", "", "Back");
  } else if (s == S_MENU) {
    title[0] = "Settings";
    const items = new Array<string>();
    for (let i = 0; i < MENU_ITEMS; i++) items.push(menuItem(i));
    list(items, "");
    softkeys("Select", "", "", "Back");
  } else if (s == S_NETWORK) {
    title[0] = "Network";
    body.push(endpointToString(node.localIp, node.port) + (node.isSupernode ? " SN" : ""));
    body.push(clientNetText() + (client.snIp != 0 ? " via " + endpointToString(client.snIp, client.snPort) : ""));
    softkeys("", "", "", "Back");
  } else if (s == S_ACCOUNT) {
    title[0] = "Account: " + presenceText();
    body.push("User: " + (ui.acctUser.length > 0 ? ui.acctUser : "-"));
    body.push("Pass: " + "*".repeat(ui.acctPass.length));
    softkeys("User", "Pass", "Login", "Reg");
  } else if (s == S_EDIT) {
    title[0] = ui.editField == 0 ? "User name:" : "Password:";
    const t = ui.text.full();
    body.push((ui.editField == 0 ? t : "*".repeat(ui.text.text.length) + ui.text.pendingChar()) + "_");
    softkeys("OK", "Del", "", "Cancel");
  } else if (s == S_CONFERENCE) {
    title[0] = "Conference";
    body.push("Add: " + ui.entry.full() + "_");
    body.push(confActive() ? (confParties() + 1).toString() + " in conference" : "");
    softkeys("Add", "Xfer", "", "Back");
  } else if (s == S_HOLD) {
    title[0] = "Hold";
    body.push(call.state == CALL_ACTIVE ? call.peerUser + " still connected" : "");
    body.push(hold.remote ? "Held by " + call.peerUser : "On hold");
    softkeys("Resume", "", "", "Back");
  } else if (s == S_FIRMWARE) {
    title[0] = "Firmware";
    body.push(bootText());
    body.push(updateStatusText());
    softkeys("Check", "", "", "Back");
  }
}

function menuItem(i: i32): string {
  if (i == M_NETWORK) return "Network";
  if (i == M_SUPERNODE) return "Supernode: " + (node.cfg.supernodeAuto ? "auto" : "off");
  if (i == M_RING_VOLUME) return volumeText("Ring", settings.ringVolume);
  if (i == M_HANDSET_VOLUME) return volumeText("Hndset", settings.handsetVolume);
  if (i == M_ACCOUNT) return "Account";
  if (i == M_FIRMWARE) return "Firmware";
  return "";
}

/** Body lines of a scrolling list with the selection marked '>'. */
function list(items: Array<string>, suffix: string): void {
  const room = ui.rows >= 3 ? ui.rows - 2 : 1;
  let top = ui.sel - room + 1;
  if (top < 0) top = 0;
  for (let i = top; i < items.length && i < top + room; i++) body.push((i == ui.sel ? ">" : " ") + items[i] + (suffix.length > 0 && i == ui.sel && ui.cols >= 24 ? " " + suffix : ""));
}

function layout(): void {
  const rows = ui.rows;
  const w = ui.cols / 4;
  let keys = "";
  for (let i = 0; i < 4; i++) keys += pad(soft[i], w);
  put(0, title[0]);
  if (rows >= 3) {
    for (let r = 1; r < rows - 1; r++) put(r, r - 1 < body.length ? body[r - 1] : "");
  }
  put(rows - 1, keys);
}

export function pad(s: string, w: i32): string {
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
