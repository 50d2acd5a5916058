import { netTcpClose, netTcpConnect, netTcpSend } from "../../hal/net";
import { storageRead, storageWrite } from "../../hal/storage";
import { systemReboot, systemUpdateBegin, systemUpdateFinish, systemUpdateWrite } from "../../hal/system";
import { cryptoEd25519Verify } from "../../hal/crypto";
import { HAL_OK } from "../../hal/errors";
import { NEVER } from "../lib/clock";
import { event, logWarn } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { call, CALL_IDLE } from "../call/call";
import { boot } from "./boot";
import { devcfg } from "./provisioning";
import { HttpResponse } from "./http";
import { KEY_UPDATE_STATE } from "./storage-keys";
import { uiRefresh } from "../ui/phone-ui";

/**
 * Firmware update client, as Skype's (skype-facts.md §update server): on the first boot of a version
 * `GET /ui/0/<version>/installed`, and at every start and then every `update.checkIntervalS`
 * `GET /ui/0/<version>/getlatestversion` from the update service (server/update.ts). The answer is a manifest
 * signed with the vendor key the boot ROM trusts (hal system.bootInfo):
 *
 *   manifest=1\n version=N\n size=BYTES\n sha256=HEX\n build=ID\n url=/path\n signature=<128 hex>\n
 *
 * (the Ed25519 signature covers every byte before "signature="). A newer version is downloaded over HTTP in the
 * background straight into the inactive firmware slot (hal system.update*: the ROM verifies signature, hash and
 * anti-rollback), and installed — a reboot into the new slot — at the next idle moment: no call, no key pressed
 * for `IDLE_BEFORE_INSTALL_US`. Any failure is logged, shown on the firmware screen and retried later; the
 * running image is never touched.
 */
export const U_OFF: i32 = 0;
export const U_WAITING: i32 = 1;
export const U_INSTALLED_PING: i32 = 2;
export const U_CHECKING: i32 = 3;
export const U_DOWNLOADING: i32 = 4;
export const U_READY: i32 = 5;
export const U_INSTALLING: i32 = 6;

const FIRST_CHECK_AFTER_US: i64 = 10_000_000;
const RETRY_US: i64 = 300_000_000;
const INACTIVITY_TIMEOUT_US: i64 = 30_000_000;
export const IDLE_BEFORE_INSTALL_US: i64 = 30_000_000;
const MANIFEST_MAX: i32 = 2048;

export class UpdateClient {
  state: i32 = U_OFF;
  conn: i32 = -1;
  connected: bool = false;
  nextUs: i64 = NEVER;
  timeoutUs: i64 = NEVER;
  resp: HttpResponse = new HttpResponse();
  body: string = "";
  latest: u32 = 0;
  latestSize: i32 = 0;
  latestUrl: string = "";
  latestBuild: string = "";
  readyVersion: u32 = 0;
  lastError: string = "";
  lastActivityUs: i64 = 0;
  checks: i32 = 0;
}

export const upd = new UpdateClient();
const rec = new StaticArray<u8>(8);
const txBuf = new StaticArray<u8>(512);
const sigBuf = new StaticArray<u8>(64);

/** Starts the schedule (at init), if a boot ROM and an update service are present. */
export function updateStart(now: i64): void {
  if (!boot.present || devcfg.updateIp == 0) { upd.state = U_OFF; return; }
  upd.state = U_WAITING;
  upd.nextUs = now + FIRST_CHECK_AFTER_US;
}

/** Asks now (firmware screen "Check", console `update check`). False when there is no update service. */
export function updateCheckNow(now: i64): bool {
  if (!boot.present || devcfg.updateIp == 0) return false;
  if (upd.state == U_WAITING || upd.state == U_OFF) { upd.state = U_WAITING; upd.nextUs = now; }
  return true;
}

export function updateReadyVersion(): u32 { return upd.state == U_READY || upd.state == U_INSTALLING ? upd.readyVersion : 0; }

export function updateStatusText(): string {
  const s = upd.state;
  if (s == U_OFF) return boot.present ? "Updates: no service" : "Updates: no boot ROM";
  if (s == U_INSTALLED_PING || s == U_CHECKING) return "Update: checking";
  if (s == U_DOWNLOADING) {
    const pct = upd.latestSize > 0 ? <i32>(upd.resp.bodyReceived * 100 / <i64>upd.latestSize) : 0;
    return "Update v" + upd.latest.toString() + ": " + pct.toString() + "%";
  }
  if (s == U_READY) return "Update v" + upd.readyVersion.toString() + " ready";
  if (s == U_INSTALLING) return "Installing v" + upd.readyVersion.toString();
  if (upd.lastError.length > 0) return "Update failed: " + upd.lastError;
  if (upd.checks > 0) return upd.latest > boot.version ? "Update v" + upd.latest.toString() + " found" : "Up to date";
  return "Update: not checked";
}

export function updateOwns(conn: i32): bool { return conn >= 0 && conn == upd.conn; }

export function updateDeadline(): i64 {
  let d = upd.nextUs;
  if (upd.timeoutUs < d) d = upd.timeoutUs;
  return d;
}

/** `uiLastKeyUs`: when a key was last pressed (the install waits for the phone to be left alone). */
export function updateTick(now: i64, uiLastKeyUs: i64): void {
  if (now >= upd.timeoutUs) { fail("timeout", now); return; }
  if (upd.state == U_WAITING && now >= upd.nextUs) {
    upd.nextUs = NEVER;
    if (reportedVersion() != boot.version) request(U_INSTALLED_PING, "/ui/0/" + boot.version.toString() + "/installed", now);
    else request(U_CHECKING, "/ui/0/" + boot.version.toString() + "/getlatestversion?build=" + boot.buildId, now);
  }
  if (upd.state == U_READY && now >= upd.nextUs) {
    if (call.state == CALL_IDLE && now - uiLastKeyUs >= IDLE_BEFORE_INSTALL_US) {
      upd.state = U_INSTALLING;
      upd.nextUs = NEVER;
      event("update.install", "version=" + upd.readyVersion.toString());
      systemReboot();
    } else upd.nextUs = now + 1_000_000;
  }
}

/** Key 8 decoder: the version whose `installed` ping was sent (0 when none or a bad record). */
export function reportedVersion(): u32 {
  const n = storageRead(KEY_UPDATE_STATE, changetype<usize>(rec), 8);
  if (n != 4) return 0;
  return load<u32>(changetype<usize>(rec));
}

function request(state: i32, path: string, now: i64): void {
  closeConn();
  upd.state = state;
  upd.resp.reset();
  upd.body = "";
  upd.lastActivityUs = now;
  upd.timeoutUs = now + INACTIVITY_TIMEOUT_US;
  const h = netTcpConnect(devcfg.updateIp, devcfg.updatePort);
  if (h < 0) { fail("cannot connect", now); return; }
  upd.conn = h;
  upd.connected = false;
  const req = "GET " + path + " HTTP/1.1\r\nHost: " + endpointToString(devcfg.updateIp, devcfg.updatePort) +
    "\r\nUser-Agent: p2pphone/" + boot.version.toString() + "\r\nConnection: close\r\n\r\n";
  const n = String.UTF8.encodeUnsafe(changetype<usize>(req), min(req.length, 500), changetype<usize>(txBuf), false);
  pendingLen = <i32>n;
  event("update.request", "path=" + path);
}

let pendingLen: i32 = 0;

export function updateOnConnected(conn: i32, status: i32, now: i64): void {
  if (conn != upd.conn) return;
  if (status < 0) { upd.conn = -1; fail("update service unreachable", now); return; }
  upd.connected = true;
  if (pendingLen > 0) { netTcpSend(upd.conn, changetype<usize>(txBuf), pendingLen); pendingLen = 0; }
}

export function updateOnData(conn: i32, p: usize, len: i32, now: i64): void {
  if (conn != upd.conn) return;
  upd.timeoutUs = now + INACTIVITY_TIMEOUT_US;
  const r = upd.resp;
  const off = r.feed(p, len);
  if (off < 0) { fail("bad HTTP response: " + r.error, now); return; }
  if (!r.headDone) return;
  if (r.status != 200) { fail("HTTP " + r.status.toString(), now); return; }
  const n = len - off;
  const at = r.bodyReceived;
  if (n > 0 && !r.body(n)) { fail(r.error, now); return; }
  if (upd.state == U_DOWNLOADING) {
    if (at == 0 && (off < len || r.headDone)) {
      if (r.contentLength != <i64>upd.latestSize) { fail("image size " + r.contentLength.toString() + " differs from the manifest", now); return; }
    }
    if (n > 0 && systemUpdateWrite(<i32>at, p + <usize>off, n) != n) { fail("flash write refused", now); return; }
  } else if (n > 0) {
    if (upd.body.length + n > MANIFEST_MAX) { fail("manifest too large", now); return; }
    upd.body += String.UTF8.decodeUnsafe(p + <usize>off, n, false);
  }
  if (r.complete()) done(now);
}

export function updateOnClosed(conn: i32, now: i64): void {
  if (conn != upd.conn) return;
  upd.conn = -1;
  if (upd.resp.headDone && upd.resp.contentLength < 0) { done(now); return; }
  if (upd.state == U_INSTALLED_PING || upd.state == U_CHECKING || upd.state == U_DOWNLOADING) fail("connection closed early", now);
}

function closeConn(): void {
  if (upd.conn >= 0) netTcpClose(upd.conn);
  upd.conn = -1;
  upd.connected = false;
}

function done(now: i64): void {
  closeConn();
  upd.timeoutUs = NEVER;
  const st = upd.state;
  if (st == U_INSTALLED_PING) {
    store<u32>(changetype<usize>(rec), boot.version);
    storageWrite(KEY_UPDATE_STATE, changetype<usize>(rec), 4);
    event("update.installed", "version=" + boot.version.toString());
    request(U_CHECKING, "/ui/0/" + boot.version.toString() + "/getlatestversion?build=" + boot.buildId, now);
  } else if (st == U_CHECKING) {
    upd.checks++;
    const e = parseManifest(upd.body);
    if (e.length > 0) { fail("manifest: " + e, now); return; }
    event("update.checked", "latest=" + upd.latest.toString() + " running=" + boot.version.toString());
    if (upd.latest <= boot.version || upd.latest < boot.minVersion) { idle(now); return; }
    if (upd.readyVersion == upd.latest) { upd.state = U_READY; upd.nextUs = now; return; }
    if (systemUpdateBegin(upd.latestSize) != HAL_OK) { fail("image does not fit a slot", now); return; }
    event("update.download", "version=" + upd.latest.toString() + " size=" + upd.latestSize.toString());
    request(U_DOWNLOADING, upd.latestUrl, now);
  } else if (st == U_DOWNLOADING) {
    const rc = systemUpdateFinish();
    if (rc != HAL_OK) { fail(rc == -8 ? "image signature or hash bad" : rc == -1 ? "image not newer (anti-rollback)" : "image malformed", now); return; }
    upd.readyVersion = upd.latest;
    upd.state = U_READY;
    upd.nextUs = now;
    upd.lastError = "";
    event("update.ready", "version=" + upd.latest.toString());
    uiRefresh();
  }
}

function idle(now: i64): void {
  upd.state = U_WAITING;
  upd.lastError = "";
  upd.nextUs = now + <i64>devcfg.updateIntervalS * 1_000_000;
}

function fail(why: string, now: i64): void {
  closeConn();
  upd.timeoutUs = NEVER;
  upd.lastError = why;
  logWarn("update: " + why);
  event("update.failed", "reason=" + why.replaceAll(" ", "_"));
  upd.state = U_WAITING;
  upd.nextUs = now + RETRY_US;
}

/** Parses and verifies a manifest (see the module comment). Returns "" or the problem. */
export function parseManifest(text: string): string {
  const at = text.indexOf("signature=");
  if (at < 0) return "not signed";
  let sigHex = text.substring(at + 10).trim();
  if (sigHex.length != 128) return "bad signature field";
  for (let i = 0; i < 64; i++) {
    const h = hexVal(sigHex.charCodeAt(2 * i)); const l = hexVal(sigHex.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return "bad signature field";
    sigBuf[i] = <u8>((h << 4) | l);
  }
  const signed = text.substring(0, at);
  const n = String.UTF8.byteLength(signed, false);
  const msg = new StaticArray<u8>(n);
  String.UTF8.encodeUnsafe(changetype<usize>(signed), signed.length, changetype<usize>(msg), false);
  if (cryptoEd25519Verify(changetype<usize>(boot.vendorKey), changetype<usize>(msg), n, changetype<usize>(sigBuf)) != HAL_OK) return "signature does not verify";
  let format = false; let version: i64 = -1; let size: i64 = -1; let url = ""; let build = "";
  const lines = signed.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    const eq = l.indexOf("=");
    if (eq <= 0) continue;
    const k = l.substring(0, eq); const v = l.substring(eq + 1);
    if (k == "manifest") format = v == "1";
    else if (k == "version") version = digits(v);
    else if (k == "size") size = digits(v);
    else if (k == "url") url = v;
    else if (k == "build") build = v;
  }
  if (!format) return "unknown manifest format";
  if (version <= 0 || version > 0xFFFFFFFF) return "bad version";
  if (size <= 0 || size > 16 * 1024 * 1024) return "bad size";
  if (!url.startsWith("/") || url.length > 200) return "bad url";
  upd.latest = <u32>version; upd.latestSize = <i32>size; upd.latestUrl = url; upd.latestBuild = build;
  return "";
}

function digits(v: string): i64 {
  if (v.length == 0 || v.length > 10) return -1;
  let x: i64 = 0;
  for (let i = 0; i < v.length; i++) { const c = v.charCodeAt(i); if (c < 48 || c > 57) return -1; x = x * 10 + <i64>(c - 48); }
  return x;
}

function hexVal(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
