import { node } from "../overlay/node";
import { client, clientNetText } from "../overlay/client";
import { sn } from "../overlay/supernode";
import { call, callDial, callHangup } from "../call/call";
import { media, mediaStatsText } from "../media/session";
import { stats } from "../lib/stats";
import { setLogLevel } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { ui, uiOnKey } from "./phone-ui";
import { uartWrite } from "../../hal/uart";

/**
 * Serial debug console (v0 subset of issue #9): one command per line, CR or LF terminated, backspace edits.
 * Commands: help, status, stats, calls, lcd, hc, log level N, dial NAME, hangup, key CODE.
 * Unknown commands and bad arguments get one clear error line.
 */
const LINE_MAX: i32 = 128;
let line = "";
const outBuf = new StaticArray<u8>(2048);

export function consoleStart(): void {}

function out(s: string): void {
  const t = s + "\r\n";
  const n = String.UTF8.encodeUnsafe(changetype<usize>(t), min(t.length, 2000), changetype<usize>(outBuf), false);
  uartWrite(changetype<usize>(outBuf), <i32>n);
}

export function consoleOnBytes(p: usize, len: i32, now: i64): void {
  for (let i = 0; i < len; i++) {
    const c = <i32>load<u8>(p + <usize>i);
    if (c == 13 || c == 10) {
      if (line.length > 0) { const l = line; line = ""; run(l.trim(), now); }
    } else if (c == 8 || c == 127) {
      if (line.length > 0) line = line.substring(0, line.length - 1);
    } else if (c >= 32 && c < 127) {
      if (line.length < LINE_MAX) line += String.fromCharCode(c);
    }
  }
}

function run(l: string, now: i64): void {
  const sp = l.indexOf(" ");
  const cmd = sp < 0 ? l : l.substring(0, sp);
  const arg = sp < 0 ? "" : l.substring(sp + 1).trim();
  if (cmd == "help") out("commands: help status stats calls lcd hc log dial hangup key");
  else if (cmd == "status") {
    out("user=" + node.cfg.user + " addr=" + endpointToString(node.localIp, node.port) + " supernode=" + (node.isSupernode ? "yes" : "no"));
    out("login=" + client.state.toString() + " net=" + clientNetText() + " sn=" + endpointToString(client.snIp, client.snPort));
    if (node.isSupernode) out("sn clients=" + sn.clients.toString() + " index=" + sn.index.size.toString());
  } else if (cmd == "stats") {
    out("udpRx=" + stats.udpRx.toString() + " udpTx=" + stats.udpTx.toString() + " tcpRxFrames=" + stats.tcpRxFrames.toString() +
      " tcpTxFrames=" + stats.tcpTxFrames.toString());
    out("malformed=" + stats.malformed.toString() + " unexpected=" + stats.unexpected.toString() + " brokenStreams=" +
      stats.brokenStreams.toString() + " txOverflow=" + stats.txOverflow.toString() + " relayed=" + stats.relayed.toString() +
      " relayDropped=" + stats.relayDropped.toString());
  } else if (cmd == "calls") {
    out("call state=" + call.state.toString() + " peer=" + call.peerUser + (media.active ? " " + mediaStatsText() : ""));
  } else if (cmd == "lcd") {
    for (let i = 0; i < ui.shown.length; i++) out("|" + ui.shown[i] + "|");
  } else if (cmd == "hc") {
    for (let i = 0; i < client.hostCache.length; i++) out(client.hostCache[i]);
    if (client.hostCache.length == 0) out("host cache empty");
  } else if (cmd == "log") {
    if (!arg.startsWith("level ")) { out("error: usage: log level 0..4"); return; }
    const v = arg.substring(6).trim();
    if (v.length != 1 || v.charCodeAt(0) < 48 || v.charCodeAt(0) > 52) { out("error: log level must be 0..4"); return; }
    setLogLevel(v.charCodeAt(0) - 48);
    out("ok");
  } else if (cmd == "dial") {
    if (arg.length == 0) { out("error: usage: dial NAME"); return; }
    out(callDial(arg, now) ? "dialing " + arg : "error: cannot dial now");
  } else if (cmd == "hangup") { callHangup(now); out("ok"); }
  else if (cmd == "key") {
    const code = I32.parseInt(arg);
    if (arg.length == 0 || code <= 0) { out("error: usage: key CODE"); return; }
    uiOnKey(code, true, now); uiOnKey(code, false, now); out("ok");
  } else out("error: unknown command '" + cmd + "' (try help)");
}
