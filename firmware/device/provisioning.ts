import { node } from "../overlay/node";
import { ipParse, endpointToString, ipToString } from "../lib/addr";
import { codecFromName, codecName, hexDecode, parsePort, MAX_BOOTSTRAP } from "../lib/config";
import { JsonReader, JsonValue, J_ARR, J_BOOL, J_OBJ, J_STR, J_NUM, jsonKindName, jsonQuote } from "./json";

/**
 * Per-phone JSON provisioning (issue #9), stored in flash under KEY_PROVISIONING (first byte `{`; the older
 * `key=value` text of firmware/lib/config.ts is still read). Shape, with the rules checked here and — word for
 * word the same messages — by tools/lib/provisioning.ts on the host:
 *
 *   user        string, 3..32 chars [a-z][a-z0-9._-]*   (absent: a headless node, e.g. a dedicated supernode)
 *   password    string, 6..64 chars                       (required with user)
 *   register    boolean (default false)                   register the account on first login
 *   port        integer 0..65535 (default 0 = random)     UDP and TCP port
 *   supernode   "auto" | "never" (default "never")
 *   bootstrap   array of 1..7 "a.b.c.d:port"              (required)
 *   server      "a.b.c.d:port"                            login server (required)
 *   serverKey   64 hex digits                             its X25519 public key (required)
 *   codecs      array of 1..8 of "pcmu" | "pcma", no repeats (default ["pcmu", "pcma"])
 *   display     { rows 2..8, cols 16..64 }                LCD size when the HAL cannot tell
 *   update      { server "a.b.c.d:port", checkIntervalS 60..2592000 (default 86400) }   update service
 *
 * Errors are one line: `<path>: <problem>` (e.g. `bootstrap[1]: expected "a.b.c.d:port", got "1.2.3"`).
 */
export class DeviceConfig {
  displayRows: i32 = 0;
  displayCols: i32 = 0;
  updateIp: u32 = 0;
  updatePort: i32 = 0;
  updateIntervalS: i32 = 86400;
  /** The provisioning in flash is JSON (else key=value text). */
  isJson: bool = false;
}

export const devcfg = new DeviceConfig();

const FIELDS = "user, password, register, port, supernode, bootstrap, server, serverKey, codecs, display, update";

/** Validated values, applied only when the whole document is valid. */
class Parsed {
  user: string = ""; password: string = ""; register: bool = false; port: i32 = 0; supernodeAuto: bool = false;
  bootIp: Array<u32> = new Array<u32>(); bootPort: Array<i32> = new Array<i32>();
  serverIp: u32 = 0; serverPort: i32 = 0; serverKey: StaticArray<u8> = new StaticArray<u8>(32);
  codecs: Array<u8> = new Array<u8>();
  rows: i32 = 0; cols: i32 = 0; updIp: u32 = 0; updPort: i32 = 0; updInterval: i32 = 86400;
}

let err = "";
function fail(path: string, what: string): bool { if (err.length == 0) err = path + ": " + what; return false; }

/** "a.b.c.d:port" with port 1..65535 → ip << 16 | port packed in a u64, or 0. */
function endpoint(s: string): u64 {
  const c = s.lastIndexOf(":");
  if (c <= 0) return 0;
  const ip = ipParse(s.substring(0, c));
  const p = parsePort(s.substring(c + 1));
  if (ip == 0 || p <= 0) return 0;
  return (<u64>ip << 16) | <u64>p;
}

function str(v: JsonValue, path: string): bool {
  if (v.kind != J_STR) return fail(path, "expected a string, got " + jsonKindName(v));
  return true;
}

function intIn(v: JsonValue, path: string, lo: i32, hi: i32): bool {
  if (v.kind != J_NUM || !v.isInt()) return fail(path, "expected an integer, got " + (v.kind == J_NUM ? "a fraction" : jsonKindName(v)));
  if (v.n < <f64>lo || v.n > <f64>hi) return fail(path, "must be " + lo.toString() + ".." + hi.toString() + ", got " + (<i64>v.n).toString());
  return true;
}

function endpointField(v: JsonValue, path: string): u64 {
  if (!str(v, path)) return 0;
  const e = endpoint(v.s);
  if (e == 0) { fail(path, "expected \"a.b.c.d:port\", got " + jsonQuote(v.s)); return 0; }
  return e;
}

function validUser(s: string): bool {
  if (s.length < 3 || s.length > 32) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const lower = c >= 97 && c <= 122;
    if (i == 0 && !lower) return false;
    if (!(lower || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 45)) return false;
  }
  return true;
}

function check(root: JsonValue, out: Parsed): bool {
  if (root.kind != J_OBJ) return fail("config", "expected an object, got " + jsonKindName(root));
  for (let i = 0; i < root.keys.length; i++) {
    const k = root.keys[i];
    if (!(k == "user" || k == "password" || k == "register" || k == "port" || k == "supernode" || k == "bootstrap" ||
      k == "server" || k == "serverKey" || k == "codecs" || k == "display" || k == "update")) {
      return fail(k, "unknown field (expected one of " + FIELDS + ")");
    }
  }
  const user = root.get("user");
  if (user !== null) {
    if (!str(user, "user")) return false;
    if (!validUser(user.s)) return fail("user", "must be 3..32 characters [a-z][a-z0-9._-]*, got " + jsonQuote(user.s));
    out.user = user.s;
    const pw = root.get("password");
    if (pw === null) return fail("password", "required when user is set");
    if (!str(pw, "password")) return false;
    if (pw.s.length < 6 || pw.s.length > 64) return fail("password", "must be 6..64 characters, got " + pw.s.length.toString());
    out.password = pw.s;
  } else if (root.get("password") !== null) return fail("password", "given without a user");
  const reg = root.get("register");
  if (reg !== null) { if (reg.kind != J_BOOL) return fail("register", "expected a boolean, got " + jsonKindName(reg)); out.register = reg.b; }
  const port = root.get("port");
  if (port !== null) { if (!intIn(port, "port", 0, 65535)) return false; out.port = <i32>port.n; }
  const snm = root.get("supernode");
  if (snm !== null) {
    if (!str(snm, "supernode")) return false;
    if (snm.s != "auto" && snm.s != "never") return fail("supernode", "expected \"auto\" or \"never\", got " + jsonQuote(snm.s));
    out.supernodeAuto = snm.s == "auto";
  }
  const bs = root.get("bootstrap");
  if (bs === null) return fail("bootstrap", "required (1..7 supernodes \"a.b.c.d:port\")");
  if (bs.kind != J_ARR) return fail("bootstrap", "expected an array, got " + jsonKindName(bs));
  if (bs.items.length < 1 || bs.items.length > MAX_BOOTSTRAP) return fail("bootstrap", "must list 1..7 supernodes, got " + bs.items.length.toString());
  for (let i = 0; i < bs.items.length; i++) {
    const e = endpointField(bs.items[i], "bootstrap[" + i.toString() + "]");
    if (e == 0) return false;
    out.bootIp.push(<u32>(e >> 16)); out.bootPort.push(<i32>(e & 0xFFFF));
  }
  const srv = root.get("server");
  if (srv === null) return fail("server", "required (\"a.b.c.d:port\" of the login server)");
  const se = endpointField(srv, "server");
  if (se == 0) return false;
  out.serverIp = <u32>(se >> 16); out.serverPort = <i32>(se & 0xFFFF);
  const key = root.get("serverKey");
  if (key === null) return fail("serverKey", "required (64 hex digits)");
  if (!str(key, "serverKey")) return false;
  if (!hexDecode(key.s, out.serverKey)) return fail("serverKey", "expected 64 hex digits, got " + key.s.length.toString() + " characters");
  const cs = root.get("codecs");
  if (cs !== null) {
    if (cs.kind != J_ARR) return fail("codecs", "expected an array, got " + jsonKindName(cs));
    if (cs.items.length < 1 || cs.items.length > 8) return fail("codecs", "must list 1..8 codecs, got " + cs.items.length.toString());
    for (let i = 0; i < cs.items.length; i++) {
      const p = "codecs[" + i.toString() + "]";
      if (!str(cs.items[i], p)) return false;
      const pt = codecFromName(cs.items[i].s);
      if (pt < 0) return fail(p, "unknown codec " + jsonQuote(cs.items[i].s) + " (expected \"pcmu\" or \"pcma\")");
      if (out.codecs.includes(<u8>pt)) return fail(p, "codec " + jsonQuote(cs.items[i].s) + " listed twice");
      out.codecs.push(<u8>pt);
    }
  }
  const d = root.get("display");
  if (d !== null) {
    if (d.kind != J_OBJ) return fail("display", "expected an object, got " + jsonKindName(d));
    for (let i = 0; i < d.keys.length; i++) if (d.keys[i] != "rows" && d.keys[i] != "cols") return fail("display." + d.keys[i], "unknown field (expected rows, cols)");
    const r = d.get("rows"); const c = d.get("cols");
    if (r === null) return fail("display.rows", "required");
    if (c === null) return fail("display.cols", "required");
    if (!intIn(r, "display.rows", 2, 8) || !intIn(c, "display.cols", 16, 64)) return false;
    out.rows = <i32>r.n; out.cols = <i32>c.n;
  }
  const u = root.get("update");
  if (u !== null) {
    if (u.kind != J_OBJ) return fail("update", "expected an object, got " + jsonKindName(u));
    for (let i = 0; i < u.keys.length; i++) if (u.keys[i] != "server" && u.keys[i] != "checkIntervalS") return fail("update." + u.keys[i], "unknown field (expected server, checkIntervalS)");
    const us = u.get("server");
    if (us === null) return fail("update.server", "required");
    const ue = endpointField(us, "update.server");
    if (ue == 0) return false;
    out.updIp = <u32>(ue >> 16); out.updPort = <i32>(ue & 0xFFFF);
    const iv = u.get("checkIntervalS");
    if (iv !== null) { if (!intIn(iv, "update.checkIntervalS", 60, 2592000)) return false; out.updInterval = <i32>iv.n; }
  }
  return true;
}

/**
 * Validates JSON provisioning text. Returns "" when valid, else one error line (`path: problem`, or a JSON
 * syntax error with its byte position). With `apply`, a valid document replaces node.cfg and devcfg.
 */
export function provisioningCheck(text: string, apply: bool): string {
  err = "";
  const rd = new JsonReader();
  const root = rd.parse(text);
  if (root === null) return rd.error;
  const p = new Parsed();
  if (!check(root, p)) return err;
  if (apply) applyParsed(p);
  return "";
}

function applyParsed(p: Parsed): void {
  const c = node.cfg;
  c.user = p.user; c.password = p.password; c.register = p.register; c.port = p.port; c.supernodeAuto = p.supernodeAuto;
  c.bootstrapCount = 0;
  for (let i = 0; i < p.bootIp.length && i < MAX_BOOTSTRAP; i++) { c.bootstrapIp[i] = p.bootIp[i]; c.bootstrapPort[i] = p.bootPort[i]; c.bootstrapCount++; }
  c.serverIp = p.serverIp; c.serverPort = p.serverPort;
  for (let i = 0; i < 32; i++) c.serverKey[i] = p.serverKey[i];
  c.hasServerKey = true;
  if (p.codecs.length > 0) { c.codecCount = 0; for (let i = 0; i < p.codecs.length; i++) c.codecs[c.codecCount++] = p.codecs[i]; }
  else { c.codecs[0] = 0; c.codecs[1] = 8; c.codecCount = 2; }
  devcfg.displayRows = p.rows; devcfg.displayCols = p.cols;
  devcfg.updateIp = p.updIp; devcfg.updatePort = p.updPort; devcfg.updateIntervalS = p.updInterval;
  devcfg.isJson = true;
}

/** Boot: reads the provisioning record (JSON or key=value); errors are counted in node.cfg like the text parser's. */
export function provisioningLoad(text: string): void {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) == 32 || text.charCodeAt(i) == 10 || text.charCodeAt(i) == 13 || text.charCodeAt(i) == 9)) i++;
  if (i < text.length && text.charCodeAt(i) == 123) {
    const e = provisioningCheck(text, true);
    if (e.length > 0) { node.cfg.errors++; node.cfg.firstError = e; }
    return;
  }
  node.cfg.parse(text);
}

/** The provisioning in force as JSON (password masked unless `withSecrets`), for the console and settings. */
export function provisioningJson(withSecrets: bool): string {
  const c = node.cfg;
  let s = "{";
  if (c.user.length > 0) s += "\"user\": " + jsonQuote(c.user) + ", \"password\": " + (withSecrets ? jsonQuote(c.password) : "\"***\"") + ", ";
  s += "\"register\": " + (c.register ? "true" : "false") + ", \"port\": " + c.port.toString() + ", \"supernode\": " + (c.supernodeAuto ? "\"auto\"" : "\"never\"");
  s += ", \"bootstrap\": [";
  for (let i = 0; i < c.bootstrapCount; i++) s += (i > 0 ? ", " : "") + jsonQuote(endpointToString(c.bootstrapIp[i], c.bootstrapPort[i]));
  s += "], \"server\": " + jsonQuote(endpointToString(c.serverIp, c.serverPort));
  let key = "";
  for (let i = 0; i < 32; i++) { const b = <u32>c.serverKey[i]; key += (b < 16 ? "0" : "") + b.toString(16); }
  s += ", \"serverKey\": \"" + key + "\", \"codecs\": [";
  for (let i = 0; i < c.codecCount; i++) s += (i > 0 ? ", " : "") + jsonQuote(codecName(<i32>c.codecs[i]));
  s += "]";
  if (devcfg.displayRows > 0) s += ", \"display\": {\"rows\": " + devcfg.displayRows.toString() + ", \"cols\": " + devcfg.displayCols.toString() + "}";
  if (devcfg.updateIp != 0) s += ", \"update\": {\"server\": " + jsonQuote(endpointToString(devcfg.updateIp, devcfg.updatePort)) + ", \"checkIntervalS\": " + devcfg.updateIntervalS.toString() + "}";
  return s + "}";
}

export { ipToString };
