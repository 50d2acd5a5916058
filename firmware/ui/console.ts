import { node } from "../overlay/node";
import { natTypeText, disco } from "../nat/discovery";
import { client, clientNetText, clientPrefix } from "../overlay/client";
import { prefixResultText, PREFIX_LIMIT_MAX } from "../overlay/prefix";
import { sn } from "../overlay/supernode";
import { dht, dhtGetAll } from "../overlay/dht";
import { buddiesCommand } from "../buddy/command";
import { call, callDial, callDurationS, callHangup, CALL_IDLE } from "../call/call";
import { media, mediaStatsText, mediaPath } from "../media/session";
import { stats } from "../lib/stats";
import { dgramStatsLine } from "../sec/dgram";
import { logLevelMax, setLogLevel, event } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { KEY_PROVISIONING } from "../lib/keys";
import { uartWrite } from "../../hal/uart";
import { storageWrite } from "../../hal/storage";
import { systemReboot } from "../../hal/system";
import { boot, bootText } from "../device/boot";
import { provisioningCheck, provisioningJson } from "../device/provisioning";
import { updateCheckNow, updateStatusText } from "../device/update";
import { history, DIR_IN, DIR_MISSED } from "./history";
import { ui, uiOnKey } from "./phone-ui";
import * as K from "./keys";
import { imCommand } from "../im/console-im";

/**
 * Serial debug console on the UART: one command per line (CR or LF), a prompt, echo and line editing —
 * Backspace/DEL, Ctrl-U (kill line), Ctrl-W (delete word), Ctrl-C (cancel), Ctrl-A/Ctrl-E and ←/→ (move),
 * ↑/↓ (history of the last 8 lines), Tab (complete a command name). Every reply ends with the prompt; errors are
 * one line starting with `error:`. Commands: see HELP. Bytes are hostile input: control bytes other than those
 * are ignored, escape sequences are bounded, lines are capped at LINE_MAX.
 */
const LINE_MAX: i32 = 4096;
const HISTORY_LINES: i32 = 8;
const COMMANDS: StaticArray<string> = ["help", "status", "hc", "nat", "calls", "jb", "stats", "log", "dial", "hangup", "lcd", "key", "reboot", "config", "update", "find", "buddies", "im", "imx", "dht"];
const HELP: StaticArray<string> = [
  "help                 this list",
  "status               account, login, network, firmware",
  "hc                   host cache (supernodes known)",
  "nat                  NAT and UDP reachability",
  "calls                current call and call history",
  "jb                   jitter buffer statistics",
  "stats                counters, incl. dropped malformed input",
  "log level [0..4]     show or set the log level",
  "dial NAME            call NAME",
  "hangup               end the call",
  "find PREFIX*         directory search for names starting with PREFIX (max 10); 'find' shows the result",
  "buddies [VERB NAME]  buddy list and presence; add|accept|decline|remove|block|unblock NAME; away on|off",
  "im [NAME TEXT]       send an instant message to NAME; 'im' lists the inbox and IM counters",
  "imx NAME HEX         send the UTF-8 bytes HEX as an instant message (any unicode)",
  "dht [NAME]           supernode: user index counters; NAME's stored device records",
  "lcd                  dump the display",
  "key KEY              press a key: 0-9 * # ok send clear up down left right",
  "                     soft1..soft4 offhook onhook speaker hold conf volup voldown, or a code",
  "reboot               restart the phone",
  "config [show]        provisioning in force (password hidden)",
  "config load          paste provisioning JSON (ends when the braces close)",
  "update [check]       firmware update state / check now",
];

let line = "";
let cursor = 0;
let esc = 0;
let escBuf = "";
/** config load: collecting JSON, with brace depth and string state. */
let jsonMode = false;
let jsonText = "";
let jsonDepth = 0;
let jsonInString = false;
let jsonEscape = false;
const recent = new Array<string>();
let recentPos = 0;
let lastCr = false;
const outBuf = new StaticArray<u8>(4096);

export function consoleStart(): void {
  line = ""; cursor = 0; esc = 0; jsonMode = false;
  out("");
  out("p2p desk phone console, " + bootText() + " - type help");
  prompt();
}

function raw(s: string): void {
  const n = String.UTF8.encodeUnsafe(changetype<usize>(s), min(s.length, 1300), changetype<usize>(outBuf), false);
  uartWrite(changetype<usize>(outBuf), <i32>n);
}

function out(s: string): void { raw(s + "\r\n"); }

function promptText(): string {
  if (jsonMode) return "json> ";
  return (node.cfg.user.length > 0 ? node.cfg.user : node.isSupernode ? "sn" : "phone") + "> ";
}

function prompt(): void { raw(promptText()); }

/** Redraws the edited line and puts the terminal cursor at `cursor`. */
function redraw(): void {
  let s = "\r" + promptText() + line + "\x1b[K";
  const back = line.length - cursor;
  if (back > 0) s += "\x1b[" + back.toString() + "D";
  raw(s);
}

export function consoleOnBytes(p: usize, len: i32, now: i64): void {
  for (let i = 0; i < len; i++) byte(<i32>load<u8>(p + <usize>i), now);
}

function byte(c: i32, now: i64): void {
  if (esc > 0) { escape(c); return; }
  if (c == 10 && lastCr) { lastCr = false; return; } // CR LF counts once
  lastCr = c == 13;
  if (c == 13 || c == 10) { enter(now); return; }
  if (c == 27) { esc = 1; escBuf = ""; return; }
  if (c == 8 || c == 127) {
    if (cursor > 0) { line = line.substring(0, cursor - 1) + line.substring(cursor); cursor--; if (cursor == line.length) raw("\b \b"); else redraw(); }
  } else if (c == 3) { // Ctrl-C
    raw("^C\r\n"); line = ""; cursor = 0;
    if (jsonMode) { jsonMode = false; out("config load cancelled"); }
    prompt();
  } else if (c == 21) { line = line.substring(cursor); cursor = 0; redraw(); } // Ctrl-U
  else if (c == 23) { // Ctrl-W
    let k = cursor;
    while (k > 0 && line.charCodeAt(k - 1) == 32) k--;
    while (k > 0 && line.charCodeAt(k - 1) != 32) k--;
    line = line.substring(0, k) + line.substring(cursor); cursor = k; redraw();
  } else if (c == 1) { cursor = 0; redraw(); } // Ctrl-A
  else if (c == 5) { cursor = line.length; redraw(); } // Ctrl-E
  else if (c == 9) complete();
  else if (c >= 32 && c < 127) {
    if (line.length >= LINE_MAX) return;
    const ch = String.fromCharCode(c);
    if (cursor == line.length) { line += ch; cursor++; raw(ch); }
    else { line = line.substring(0, cursor) + ch + line.substring(cursor); cursor++; redraw(); }
  }
}

/** ANSI escape sequences: ESC [ A/B/C/D (arrows), ESC [ H/F and ESC [ 1~/4~ (home/end), ESC O x. */
function escape(c: i32): void {
  if (esc == 1) { if (c == 91 || c == 79) { esc = 2; return; } esc = 0; return; }
  if ((c >= 48 && c <= 57) || c == 59) { if (escBuf.length < 8) escBuf += String.fromCharCode(c); else esc = 0; return; }
  esc = 0;
  if (c == 68) { if (cursor > 0) { cursor--; raw("\x1b[D"); } }
  else if (c == 67) { if (cursor < line.length) { cursor++; raw("\x1b[C"); } }
  else if (c == 72 || (c == 126 && escBuf == "1")) { cursor = 0; redraw(); }
  else if (c == 70 || (c == 126 && escBuf == "4")) { cursor = line.length; redraw(); }
  else if (c == 65 || c == 66) {
    if (recent.length == 0) return;
    if (c == 65 && recentPos > 0) recentPos--;
    else if (c == 66 && recentPos < recent.length) recentPos++;
    line = recentPos < recent.length ? recent[recentPos] : "";
    cursor = line.length; redraw();
  }
}

function complete(): void {
  if (line.indexOf(" ") >= 0 || line.length == 0) return;
  let match = ""; let n = 0;
  for (let i = 0; i < COMMANDS.length; i++) if (COMMANDS[i].startsWith(line)) { match = COMMANDS[i]; n++; }
  if (n == 1) { line = match + " "; cursor = line.length; redraw(); }
}

function enter(now: i64): void {
  raw("\r\n");
  const l = line;
  line = ""; cursor = 0;
  if (jsonMode) { jsonLine(l); prompt(); return; }
  const t = l.trim();
  if (t.length > 0) {
    if (recent.length == 0 || recent[recent.length - 1] != t) { recent.push(t); if (recent.length > HISTORY_LINES) recent.shift(); }
    recentPos = recent.length;
    run(t, now);
  }
  if (!jsonMode) prompt(); else raw("json> ");
}

function run(l: string, now: i64): void {
  const sp = l.indexOf(" ");
  const cmd = sp < 0 ? l : l.substring(0, sp);
  const arg = sp < 0 ? "" : l.substring(sp + 1).trim();
  if (cmd == "help") { for (let i = 0; i < HELP.length; i++) out(HELP[i]); }
  else if (cmd == "status") status();
  else if (cmd == "stats") {
    if (!noArgs(cmd, arg)) return;
    out("udpRx=" + stats.udpRx.toString() + " udpTx=" + stats.udpTx.toString() + " tcpRxFrames=" + stats.tcpRxFrames.toString() +
      " tcpTxFrames=" + stats.tcpTxFrames.toString());
    out("malformed=" + stats.malformed.toString() + " unexpected=" + stats.unexpected.toString() + " brokenStreams=" +
      stats.brokenStreams.toString() + " txOverflow=" + stats.txOverflow.toString() + " relayed=" + stats.relayed.toString() +
      " relayDropped=" + stats.relayDropped.toString() + " rtpRejected=" + media.rejected.toString());
    if (node.isSupernode) out(dgramStatsLine()); // sealed backbone datagrams (sec/dgram.ts)
  } else if (cmd == "calls") calls(now);
  else if (cmd == "jb") {
    const j = media.jb;
    out("jb " + (media.active ? "active" : "idle (last call)") + " delayMs=" + (j.delaySamples / 8).toString() + " frameMs=" + (j.frameSamples / 8).toString() +
      " received=" + j.received.toString() + " lost=" + j.lost().toString() + " late=" + j.late.toString() + " dup=" + j.duplicates.toString() +
      " played10ms=" + j.playedBlocks.toString() + " concealed10ms=" + j.concealedBlocks.toString());
  } else if (cmd == "lcd") { for (let i = 0; i < ui.shown.length; i++) out("|" + ui.shown[i] + "|"); }
  else if (cmd == "hc") {
    for (let i = 0; i < client.hostCache.length; i++) out(client.hostCache[i]);
    if (client.hostCache.length == 0) out("host cache empty");
  } else if (cmd == "nat") {
    out("nat udp=" + (client.udpOk ? "1" : "0") + " public=" + (client.isPublic ? "1" : "0") + " local=" + endpointToString(node.localIp, node.port) +
      " reflexive=" + endpointToString(client.reflexIp, client.reflexPort) + " sn=" + endpointToString(client.snIp, client.snPort) + " (" + clientNetText() + ")");
    out("behaviour " + natTypeText() + " (RFC 4787, discovered " + disco.runs.toString() + "x)");
  } else if (cmd == "log") {
    if (arg == "level") { out("log level " + logLevelMax.toString() + " (0 error, 1 warn, 2 info, 3 debug, 4 trace)"); return; }
    if (!arg.startsWith("level ")) { out("error: usage: log level [0..4]"); return; }
    const v = arg.substring(6).trim();
    if (v.length != 1 || v.charCodeAt(0) < 48 || v.charCodeAt(0) > 52) { out("error: log level must be 0..4, got '" + v + "'"); return; }
    setLogLevel(v.charCodeAt(0) - 48);
    out("ok: log level " + v);
  } else if (cmd == "dial") {
    if (arg.length == 0 || arg.indexOf(" ") >= 0) { out("error: usage: dial NAME"); return; }
    if (call.state != CALL_IDLE) { out("error: a call is in progress (hangup first)"); return; }
    out(callDial(arg, now) ? "ok: dialing " + arg : "error: cannot dial: not online");
  } else if (cmd == "hangup") {
    if (!noArgs(cmd, arg)) return;
    if (call.state == CALL_IDLE) { out("error: no call"); return; }
    callHangup(now); out("ok");
  } else if (cmd == "find") {
    if (arg.length == 0) { out(prefixResultText.length > 0 ? prefixResultText : "no search yet"); return; }
    if (!arg.endsWith("*") || arg.indexOf(" ") >= 0) { out("error: usage: find PREFIX* (e.g. find sal*)"); return; }
    out(clientPrefix(arg.substring(0, arg.length - 1), PREFIX_LIMIT_MAX) ? "ok: searching (type find for the result)" : "error: not online or bad prefix");
  } else if (cmd == "buddies") {
    const lines = buddiesCommand(arg, now);
    for (let i = 0; i < lines.length; i++) out(lines[i]);
  } else if (cmd == "im" || cmd == "imx") {
    const lines = imCommand(cmd, arg, now);
    for (let i = 0; i < lines.length; i++) out(lines[i]);
  } else if (cmd == "dht") dhtCmd(arg, now);
  else if (cmd == "key") keyCmd(arg, now);
  else if (cmd == "reboot") {
    if (!noArgs(cmd, arg)) return;
    out("ok: rebooting");
    event("console.reboot");
    systemReboot();
  } else if (cmd == "config") {
    if (arg == "" || arg == "show") out(provisioningJson(false));
    else if (arg == "load") {
      jsonMode = true; jsonText = ""; jsonDepth = 0; jsonInString = false; jsonEscape = false;
      out("paste the JSON provisioning; it ends when its braces close (Ctrl-C cancels)");
    } else out("error: usage: config [show|load]");
  } else if (cmd == "update") {
    if (arg == "") out(updateStatusText() + "; running " + bootText());
    else if (arg == "check") out(updateCheckNow(now) ? "ok: checking" : "error: no update service (provision update.server) or no boot ROM");
    else out("error: usage: update [check]");
  } else out("error: unknown command '" + cmd + "' (try help)");
}

function noArgs(cmd: string, arg: string): bool {
  if (arg.length == 0) return true;
  out("error: " + cmd + " takes no arguments");
  return false;
}

function status(): void {
  out("user=" + (node.cfg.user.length > 0 ? node.cfg.user : "-") + " addr=" + endpointToString(node.localIp, node.port) + " supernode=" + (node.isSupernode ? "yes" : "no"));
  out("login=" + loginText() + " net=" + clientNetText() + " sn=" + endpointToString(client.snIp, client.snPort));
  out("firmware=" + bootText() + (boot.present ? " floor=" + boot.minVersion.toString() : "") + " update=" + updateStatusText());
  if (node.cfg.errors > 0) out("provisioning: " + node.cfg.errors.toString() + " error(s), first: " + node.cfg.firstError);
  if (node.isSupernode) out("sn clients=" + sn.clients.toString() + " index=" + sn.index.size.toString());
}

function loginText(): string {
  const s = client.state;
  if (s == 6) return "online";
  if (s == 7) return "refused(" + client.failReason + ")";
  if (s == 0) return "off";
  return "in-progress(" + s.toString() + ")";
}

const STATE_NAMES: StaticArray<string> = ["idle", "searching", "connecting", "calling", "ringback", "incoming", "active"];

function calls(now: i64): void {
  const st = call.state;
  if (st == CALL_IDLE) out("call idle" + (call.lastResult.length > 0 ? " (last: " + call.peerUser + " " + call.lastResult + ")" : ""));
  else {
    out("call " + (st >= 0 && st < STATE_NAMES.length ? STATE_NAMES[st] : st.toString()) + " peer=" + call.peerUser + " " + (call.isCaller ? "outgoing" : "incoming") +
      (st == 6 ? " durationS=" + callDurationS(now).toString() + " path=" + mediaPath() : ""));
    if (media.active) out("media " + mediaStatsText());
  }
  for (let i = 0; i < history.length && i < 5; i++) {
    const e = history[i];
    out("history " + (e.dir == DIR_MISSED ? "missed" : e.dir == DIR_IN ? "in" : "out") + " " + e.peer + " durationS=" + e.durationS.toString() + " result=" + e.result);
  }
}

function keyCode(a: string): i32 {
  if (a.length == 1) { const c = a.charCodeAt(0); if ((c >= 48 && c <= 57) || c == 42 || c == 35) return c; }
  if (a == "ok") return K.KEY_OK;
  if (a == "send" || a == "dial") return K.KEY_SEND;
  if (a == "clear") return K.KEY_CLEAR;
  if (a == "up") return K.KEY_UP;
  if (a == "down") return K.KEY_DOWN;
  if (a == "left") return K.KEY_LEFT;
  if (a == "right") return K.KEY_RIGHT;
  if (a == "soft1") return K.KEY_SOFT1;
  if (a == "soft2") return K.KEY_SOFT2;
  if (a == "soft3") return K.KEY_SOFT3;
  if (a == "soft4") return K.KEY_SOFT4;
  if (a == "offhook") return K.KEY_OFF_HOOK;
  if (a == "onhook") return K.KEY_ON_HOOK;
  if (a == "speaker") return K.KEY_SPEAKER;
  if (a == "hold") return K.KEY_HOLD;
  if (a == "conf") return K.KEY_CONFERENCE;
  if (a == "volup") return K.KEY_VOLUME_UP;
  if (a == "voldown") return K.KEY_VOLUME_DOWN;
  // A numeric code: decimal or 0x hex, and one the keypad has.
  let v = -1;
  if (a.startsWith("0x") && a.length > 2 && a.length <= 6) {
    v = 0;
    for (let i = 2; i < a.length; i++) {
      const c = a.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
  } else if (a.length > 0 && a.length <= 5) {
    v = 0;
    for (let i = 0; i < a.length; i++) { const c = a.charCodeAt(i); if (c < 48 || c > 57) return -1; v = v * 10 + c - 48; }
  }
  if ((v >= 48 && v <= 57) || v == 42 || v == 35 || (v >= 0x100 && v <= 0x108) || (v >= 0x110 && v <= 0x113) || (v >= 0x120 && v <= 0x124)) return v;
  return -1;
}

function keyCmd(arg: string, now: i64): void {
  if (arg.length == 0) { out("error: usage: key KEY (try help)"); return; }
  const code = keyCode(arg.toLowerCase());
  if (code < 0) { out("error: unknown key '" + arg + "' (try help)"); return; }
  if (code == K.KEY_OFF_HOOK || code == K.KEY_ON_HOOK) uiOnKey(code, true, now);
  else { uiOnKey(code, true, now); uiOnKey(code, false, now); }
  out("ok");
}

/** One line of pasted JSON; when the top-level object closes, validate and save it. */
function jsonLine(l: string): void {
  for (let i = 0; i < l.length; i++) {
    const c = l.charCodeAt(i);
    if (jsonInString) {
      if (jsonEscape) jsonEscape = false; else if (c == 92) jsonEscape = true; else if (c == 34) jsonInString = false;
    } else if (c == 34) jsonInString = true;
    else if (c == 123 || c == 91) jsonDepth++;
    else if (c == 125 || c == 93) jsonDepth--;
  }
  jsonText += l + "\n";
  if (jsonText.length > LINE_MAX) { jsonMode = false; out("error: config: JSON longer than 4096 bytes"); return; }
  if (jsonDepth > 0 || jsonText.trim().length == 0) return;
  jsonMode = false;
  const text = jsonText.trim();
  const e = provisioningCheck(text, false);
  if (e.length > 0) { out("error: config: " + e); return; }
  const n = String.UTF8.byteLength(text, false);
  const buf = new StaticArray<u8>(n);
  String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, changetype<usize>(buf), false);
  if (storageWrite(KEY_PROVISIONING, changetype<usize>(buf), n) != n) { out("error: config: flash write failed"); return; }
  event("config.saved", "bytes=" + n.toString());
  out("ok: provisioning saved (" + n.toString() + " bytes); reboot to apply");
}

/** `dht [NAME]` (supernodes): the user index's counters, or the device records held for NAME with their age. */
function dhtCmd(arg: string, now: i64): void {
  if (!node.isSupernode) { out("error: not a supernode"); return; }
  if (arg.length == 0) {
    out("dht records=" + dht.records.size.toString() + " users=" + dht.users.size.toString() + " stored=" + dht.stored.toString() +
      " expired=" + dht.expired.toString() + " refused=" + dht.refused.toString() + " staleOffline=" + dht.staleOffline.toString());
    return;
  }
  if (arg.indexOf(" ") >= 0) { out("error: usage: dht [NAME]"); return; }
  const recs = dhtGetAll(arg, now);
  if (recs.length == 0) { out("dht " + arg + ": no record"); return; }
  for (let i = 0; i < recs.length; i++) {
    const s = recs[i];
    out(s.rec.addr() + " " + (s.rec.status != 0 ? "online" : "offline") + " sn=" + endpointToString(s.rec.snIp, s.rec.snPort) +
      " ageS=" + ((now - s.refreshedUs) / 1_000_000).toString());
  }
}
