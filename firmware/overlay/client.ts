import { presenceAppendProof, presenceSetChallenge } from "../sec/presence";
import { node } from "./node";
import { Conn, connClose, connOpen, connSend, ROLE_SC_SN } from "./conns";
import { connKeepaliveToken } from "./conns";
import { OP_LOGIN, OP_REGISTER, SealedExchange, ST_BAD_CREDENTIALS, ST_EXISTS, ST_INVALID_INPUT, ST_OK, ST_RATE_LIMITED, ST_BUSY } from "./login";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event, logInfo } from "../lib/log";
import { endpointToString, ipToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { storageRead, storageWrite } from "../../hal/storage";
import { KEY_ACCOUNT } from "../lib/keys";
import {
  FLAG_PUBLIC, FLAG_UDP_OK, MSG_HELLO, MSG_HELLO_ACK, MSG_KEEPALIVE, MSG_LOGIN, MSG_LOGIN_RESP, MSG_PROBE,
  MSG_PUBLISH, MSG_ROUTE, MSG_SEARCH, MSG_SEARCH_RESP, MSG_RELAYED, PRESENCE_ONLINE, USER_MAX, MSG_BUSY, MSG_RELAY_REFUSED, ADDR_MAX,
} from "../wire/types";
import { callOnRouted, callOnSearchResult } from "../call/call";
import { mediaOnRelayed } from "../media/session";
import { uiRefresh } from "../ui/phone-ui";
import { natDiscoveryStart, natDiscoveryTick } from "../nat/discovery";
import { natKeepaliveIntervalUs } from "../nat/lifetime";
import { hostCache, hostCacheBoot } from "./host-cache";
import { clientOnPrefixResp, clientPrefixSearch } from "./prefix";
import { MSG_PREFIX_RESP } from "../wire/types";
import { deviceId, isMe, myAddr } from "../im/device";
import { buddyOnResp, buddyOnRouted, buddyOnSearchResult } from "../buddy/buddies";
import { MSG_BUDDY_NOTIFY, MSG_BUDDY_PRESENCE, MSG_BUDDY_RESP } from "../wire/types";
import { imOnClientFrame, imOnLogin, imOnSearchResult } from "../im/im";
import { certRenewAtUs, certRenewFailed } from "../sec/renew";
import { CERT_OK, certErrorText, certNowS as certNowSAt, myCert } from "../sec/cert";

/**
 * The ordinary-node (SC) side of the overlay: find a supernode, log in through it, stay online.
 * Login order as Skype 1.4 (skype-facts.md §Login): UDP probes to the bootstrap supernodes; the first to
 * answer becomes our SN and tells us our reflexive UDP endpoint; with no answer UDP is taken as blocked and
 * every SN is tried over TCP at once. Then a TCP connection to the SN is kept for the session; the account is
 * registered (first boot, if provisioned so) and logged in with sealed requests relayed by the SN.
 */
export const SC_OFF: i32 = 0;
export const SC_PROBING: i32 = 1;
export const SC_CONNECTING: i32 = 2;
export const SC_HELLO: i32 = 3;
export const SC_REGISTERING: i32 = 4;
export const SC_LOGGING_IN: i32 = 5;
export const SC_ONLINE: i32 = 6;
/** The login server refused the credentials: stay offline until the user acts. */
export const SC_REFUSED: i32 = 7;

const PROBE_INTERVAL_US: i64 = 400_000;
const PROBE_GIVE_UP_US: i64 = 1_200_000;
/** How long the host-cache entries alone are probed before the bootstrap supernodes are tried too. */
const HC_PHASE_US: i64 = 800_000;
/** Host-cache entries probed per login attempt (the best ones: longest uptime, then lowest RTT). */
const HC_PROBE_N: i32 = 8;
/** Host cache saved to flash at most this often while it changes. */
const HC_SAVE_US: i64 = 30_000_000;
const CONNECT_TIMEOUT_US: i64 = 4_000_000;
const REQUEST_TIMEOUT_US: i64 = 10_000_000;
/** A sealed REGISTER/LOGIN may queue at a busy login server (a login storm): wait longer for it. */
const LOGIN_TIMEOUT_US: i64 = 30_000_000;
/**
 * Retry after a failed login attempt: exponential backoff with jitter (the "equal jitter" of AWS's
 * "Exponential Backoff and Jitter"): the n-th consecutive failure waits base·2^(n-1) capped at RETRY_MAX_US,
 * half of it fixed and half uniformly random, so phones that failed together retry apart.
 */
export const RETRY_BASE_US: i64 = 1_000_000;
export const RETRY_MAX_US: i64 = 60_000_000;
/** After losing the SN, the first new attempt starts uniformly within this window (spreads a mass reconnect). */
export const LOST_SPREAD_US: i64 = 3_000_000;
/** Host-cache probes go to HC_PROBE_N entries drawn at random from the best HC_POOL (spreads load). */
const HC_POOL: i32 = 32;
/** A BUSY answer's retry-after is clamped to this range (it comes from the server, but a bad value must not strand us). */
const BUSY_RETRY_MIN_US: i64 = 1_000_000;
const BUSY_RETRY_MAX_US: i64 = 300_000_000;
/** UDP binding refresh cap (skype-facts.md: 20 s); the interval in use is learned from the binding lifetime (nat/lifetime.ts). */
const UDP_KEEPALIVE_US: i64 = 20_000_000;
/** The 2-byte TCP refresh to the SN (skype-facts.md: every 120 s). */
const TCP_KEEPALIVE_US: i64 = 120_000_000;

export class Client {
  state: i32 = SC_OFF;
  udpOk: bool = false;
  isPublic: bool = false;
  reflexIp: u32 = 0;
  reflexPort: i32 = 0;
  sn: Conn | null = null;
  snIp: u32 = 0;
  snPort: i32 = 0;
  probeNonce: u32 = 0;
  probeSentUs: i64 = 0;
  deadlineUs: i64 = NEVER;
  nextProbeUs: i64 = NEVER;
  candidates: Array<Conn> = new Array<Conn>();
  exchange: SealedExchange = new SealedExchange();
  registered: bool = false;
  userId: u32 = 0;
  loginStartUs: i64 = 0;
  udpKeepaliveUs: i64 = NEVER;
  tcpKeepaliveUs: i64 = NEVER;
  failReason: string = "";
  /** Where our relayed media goes over UDP: our SN, or another one when ours refuses (relay quota). */
  relayIp: u32 = 0;
  relayPort: i32 = 0;
  /** When to add the web-port (443/80) attempts while connecting over TCP. */
  webPortsUs: i64 = NEVER;
  /** Our SN was reachable only on port 443/80: other outbound TCP (to a peer's port) is probably blocked. */
  tcpRestricted: bool = false;
  /** Supernodes that answered this round's probes, fastest first, with their RTT (µs). */
  respIp: Array<u32> = new Array<u32>();
  respPort: Array<i32> = new Array<i32>();
  respRttUs: Array<i64> = new Array<i64>();
  /** The host cache as text for the console (`hc`), best first; refreshed when it changes (host-cache.ts). */
  hostCache: Array<string> = new Array<string>();
  /** 0: probing host-cache entries; 1: probing the bootstrap supernodes. */
  probePhase: i32 = 1;
  probeIp: Array<u32> = new Array<u32>();
  probePort: Array<i32> = new Array<i32>();
  hcSaveUs: i64 = NEVER;
  /** Consecutive failed login attempts (0 after a login); sets the backoff. */
  failures: i32 = 0;
  /** The supernode we just lost or were refused by: not probed on the next attempt. */
  avoidIp: u32 = 0;
  avoidPort: i32 = 0;
  /** Login attempts started since boot (console / tests). */
  attempts: u32 = 0;
  /**
   * Set when we left a bootstrap supernode for the host-cache entries it gave us (once per login: if none of
   * them answers, the next bootstrap supernode keeps us).
   */
  leftBootstrap: bool = false;
  /** The node list of the last HELLO_ACK or BUSY. */
  listIp: Array<u32> = new Array<u32>();
  listPort: Array<i32> = new Array<i32>();
  /** A certificate renewal (sec/renew.ts) is in flight while online; it gives up at renewDeadlineUs. */
  renewing: bool = false;
  renewDeadlineUs: i64 = NEVER;
  /** The login server answered BUSY: we wait in SC_HELLO on our SN connection and send the request again at deadlineUs. */
  busyWait: bool = false;
}

/** Whether ip:port is one of the provisioned bootstrap supernodes. */
function isBootstrap(ip: u32, port: i32): bool {
  const cfg = node.cfg;
  for (let k = 0; k < cfg.bootstrapCount; k++) if (cfg.bootstrapIp[k] == ip && cfg.bootstrapPort[k] == port) return true;
  return false;
}

/**
 * Delay before the next login attempt after `failures` consecutive failures (≥ 1): half of
 * min(RETRY_BASE_US·2^(failures-1), RETRY_MAX_US) plus a uniform random part of the same size.
 */
export function retryDelayUs(failures: i32): i64 {
  const n = failures < 1 ? 1 : failures > 16 ? 16 : failures;
  let cap = RETRY_BASE_US << <i64>(n - 1);
  if (cap > RETRY_MAX_US) cap = RETRY_MAX_US;
  const half = cap / 2;
  return half + <i64>node.prngOverlay.below(<u32>(half + 1));
}

/** Goes offline and schedules the next attempt with backoff. */
function scheduleRetry(now: i64): void {
  client.failures++;
  client.state = SC_OFF;
  client.deadlineUs = now + retryDelayUs(client.failures);
}

export const client = new Client();

export function clientStart(now: i64): void {
  if (node.cfg.user.length == 0) return;
  client.registered = loadRegistered();
  client.loginStartUs = now;
  hostCacheBoot();
  client.hostCache = hostCache.texts();
  event("login.start", "user=" + node.cfg.user + " hc=" + hostCache.size.toString());
  startProbing(now);
}

/**
 * A login round: probe HC_PROBE_N host-cache entries (phase 0), then the bootstrap supernodes (phase 1). With
 * `fromList`, phase 0 probes the node list a bootstrap supernode just gave us instead (leaveBootstrap).
 */
function startProbing(now: i64, fromList: bool = false): void {
  client.state = SC_PROBING;
  client.busyWait = false;
  client.udpOk = false;
  client.probeNonce = node.prngOverlay.next();
  client.respIp.length = 0; client.respPort.length = 0; client.respRttUs.length = 0;
  // skype-facts.md §Login: the host cache first, the bootstrap supernodes only when no entry answers.
  client.probeIp.length = 0; client.probePort.length = 0;
  client.attempts++;
  // HC_PROBE_N entries drawn at random from the best HC_POOL (not always the same best few: after a mass
  // failure every phone would otherwise land on the same supernodes), never ourselves or the SN just lost.
  // With `fromList`, the candidates are the node list itself (its entries need not have made it into a full cache).
  const poolIp = new Array<u32>(), poolPort = new Array<i32>();
  if (fromList) {
    for (let j = 0; j < client.listIp.length; j++) { poolIp.push(client.listIp[j]); poolPort.push(client.listPort[j]); }
  } else {
    const order = hostCache.best(HC_POOL);
    for (let j = 0; j < order.length; j++) { poolIp.push(hostCache.ip[order[j]]); poolPort.push(hostCache.port[order[j]]); }
  }
  for (let j = poolIp.length - 1; j >= 0; j--) {
    const ip = poolIp[j], port = poolPort[j];
    // skype-facts.md: the bootstrap supernodes only when no host-cache entry answers (the next phase).
    if (node.isSelf(ip, port) || (ip == client.avoidIp && port == client.avoidPort) || isBootstrap(ip, port)) {
      poolIp[j] = poolIp[poolIp.length - 1]; poolPort[j] = poolPort[poolPort.length - 1];
      poolIp.length--; poolPort.length--;
    }
  }
  while (poolIp.length > 0 && client.probeIp.length < HC_PROBE_N) {
    const k = <i32>node.prngOverlay.below(<u32>poolIp.length);
    client.probeIp.push(poolIp[k]); client.probePort.push(poolPort[k]);
    poolIp[k] = poolIp[poolIp.length - 1]; poolPort[k] = poolPort[poolPort.length - 1];
    poolIp.length--; poolPort.length--;
  }
  event("login.attempt", "n=" + client.attempts.toString() + " failures=" + client.failures.toString() + " hc=" + client.probeIp.length.toString());
  client.probePhase = client.probeIp.length > 0 ? 0 : 1;
  client.deadlineUs = now + (client.probePhase == 0 ? HC_PHASE_US : PROBE_GIVE_UP_US);
  sendProbes(now);
  uiRefresh();
}

function sendProbes(now: i64): void {
  if (client.probePhase == 0) {
    for (let i = 0; i < client.probeIp.length; i++) {
      txBegin(MSG_PROBE).u32(client.probeNonce);
      txSendUdp(node.udpSock, client.probeIp[i], client.probePort[i]);
    }
    client.probeSentUs = now;
    client.nextProbeUs = now + PROBE_INTERVAL_US;
    return;
  }
  const cfg = node.cfg;
  for (let i = 0; i < cfg.bootstrapCount; i++) {
    if (node.isSelf(cfg.bootstrapIp[i], cfg.bootstrapPort[i])) continue;
    txBegin(MSG_PROBE).u32(client.probeNonce);
    txSendUdp(node.udpSock, cfg.bootstrapIp[i], cfg.bootstrapPort[i]);
  }
  client.probeSentUs = now;
  client.nextProbeUs = now + PROBE_INTERVAL_US;
}

/**
 * PROBE_ACK: [nonce u32][observedIp u32][observedPort u16] and, from issue #5 supernodes, [uptimeS u32]. The
 * first answer picks our SN; every answer refreshes the responder's host-cache entry (RTT, uptime).
 */
export function clientOnProbeAck(srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const nonce = r.u32(); const ip = r.u32(); const port = <i32>r.u16();
  if (!r.ok) { stats.malformed++; return; }
  if (nonce != client.probeNonce) { stats.unexpected++; return; }
  const uptimeS: u32 = r.remaining() >= 4 ? r.u32() : 0;
  hostCache.note(srcIp, srcPort, <u32>(now / 1_000_000), <i32>((now - client.probeSentUs) / 1000), uptimeS);
  if (client.respIp.length < 16 && !(client.respIp.includes(srcIp) && client.respPort.includes(srcPort))) {
    client.respIp.push(srcIp); client.respPort.push(srcPort); client.respRttUs.push(now - client.probeSentUs);
  }
  if (client.state != SC_PROBING) return;
  client.udpOk = true;
  client.reflexIp = ip; client.reflexPort = port;
  client.isPublic = ip == node.localIp && port == node.port;
  event("nat.discovered", "udp=1 public=" + (client.isPublic ? "1" : "0") + " reflexive=" + endpointToString(ip, port) +
    " rttMs=" + ((now - client.probeSentUs) / 1000).toString());
  connectTo(srcIp, srcPort, now);
}

function connectTo(ip: u32, port: i32, now: i64): void {
  client.state = SC_CONNECTING;
  client.deadlineUs = now + CONNECT_TIMEOUT_US;
  client.nextProbeUs = NEVER;
  const c = connOpen(ROLE_SC_SN, ip, port, now);
  if (c !== null) client.candidates.push(c);
}

/**
 * No UDP answer: UDP is blocked (or every SN is down). Skype then tried TCP to the same nodes and after that
 * ports 80 and 443, one after another (30–35 s behind a UDP-blocking firewall). We try every bootstrap SN's
 * own port at once, and 1 s later (if none has connected) their ports 443 and 80, keeping the first connection
 * that opens. Reaching the SN only on a web port tells us outbound TCP is restricted (`tcpRestricted`).
 */
function udpGiveUp(now: i64): void {
  client.udpOk = false;
  client.isPublic = false;
  event("nat.discovered", "udp=0 public=0");
  client.state = SC_CONNECTING;
  client.deadlineUs = now + CONNECT_TIMEOUT_US;
  client.nextProbeUs = NEVER;
  const cfg = node.cfg;
  for (let i = 0; i < cfg.bootstrapCount; i++) {
    if (node.isSelf(cfg.bootstrapIp[i], cfg.bootstrapPort[i])) continue;
    const c = connOpen(ROLE_SC_SN, cfg.bootstrapIp[i], cfg.bootstrapPort[i], now);
    if (c !== null) client.candidates.push(c);
  }
  // The best host-cache entries too: they may be up when every bootstrap supernode is down.
  for (let i = 0; i < client.probeIp.length; i++) {
    let isBoot = false;
    for (let k = 0; k < cfg.bootstrapCount; k++) if (cfg.bootstrapIp[k] == client.probeIp[i] && cfg.bootstrapPort[k] == client.probePort[i]) isBoot = true;
    if (isBoot) continue;
    const c = connOpen(ROLE_SC_SN, client.probeIp[i], client.probePort[i], now);
    if (c !== null) client.candidates.push(c);
  }
  client.webPortsUs = now + WEB_PORTS_AFTER_US;
}

const WEB_PORTS_AFTER_US: i64 = 1_000_000;

function tryWebPorts(now: i64): void {
  client.webPortsUs = NEVER;
  const cfg = node.cfg;
  for (let i = 0; i < cfg.bootstrapCount; i++) {
    if (node.isSelf(cfg.bootstrapIp[i], cfg.bootstrapPort[i])) continue;
    for (let k = 0; k < 2; k++) {
      const c = connOpen(ROLE_SC_SN, cfg.bootstrapIp[i], k == 0 ? 443 : 80, now);
      if (c !== null) client.candidates.push(c);
    }
  }
}

export function clientOnConnected(c: Conn, now: i64): void {
  if (client.state != SC_CONNECTING) { connClose(c); return; }
  // First connection wins; the others are closed.
  for (let i = 0; i < client.candidates.length; i++) {
    const o = client.candidates[i];
    if (o !== c) connClose(o);
  }
  client.candidates.length = 0;
  client.webPortsUs = NEVER;
  client.tcpRestricted = !client.udpOk && (c.port == 443 || c.port == 80);
  client.sn = c;
  client.snIp = c.ip; client.snPort = c.port;
  event("sn.connected", "sn=" + endpointToString(c.ip, c.port) + " via=" + (client.udpOk ? "udp-probe" : client.tcpRestricted ? "tcp-web-port" : "tcp"));
  let flags: u8 = 0;
  if (client.udpOk) flags |= FLAG_UDP_OK;
  if (client.isPublic) flags |= FLAG_PUBLIC;
  txBegin(MSG_HELLO).u16(<u32>node.port).u32(node.localIp).u8(flags).u32(client.reflexIp).u16(<u32>client.reflexPort);
  connSend(c);
  client.state = SC_HELLO;
  client.deadlineUs = now + REQUEST_TIMEOUT_US;
}

export function clientOnConnectFailed(c: Conn, now: i64): void {
  const i = client.candidates.indexOf(c);
  if (i >= 0) client.candidates.splice(i, 1);
  if (client.state == SC_CONNECTING && client.candidates.length == 0) scheduleRetry(now);
}

export function clientOnClosed(c: Conn, now: i64): void {
  if (c !== client.sn) { clientOnConnectFailed(c, now); return; }
  client.sn = null;
  event("sn.lost", "sn=" + endpointToString(c.ip, c.port));
  client.avoidIp = c.ip; client.avoidPort = c.port;
  if (client.state != SC_REFUSED) {
    client.state = SC_OFF;
    // Every client of a dead supernode notices at once: start again at a random moment in LOST_SPREAD_US.
    client.deadlineUs = now + 200_000 + <i64>node.prngOverlay.below(<u32>LOST_SPREAD_US);
  }
  uiRefresh();
}

/** A frame from our SN. */
export function clientOnFrame(c: Conn, type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_HELLO_ACK) onHelloAck(r, now);
  else if (type == MSG_LOGIN_RESP) onLoginResp(r, now);
  else if (type == MSG_SEARCH_RESP) { if (!buddyOnSearchResult(r, now) && !imOnSearchResult(r, now)) callOnSearchResult(r, now); }
  else if (type == MSG_BUDDY_RESP) buddyOnResp(r, now);
  else if (type == MSG_ROUTE) {
    // to/from are routing addresses `user/devid` (issue #8).
    const to = r.str8(ADDR_MAX); const from = r.str8(ADDR_MAX);
    if (!r.ok) { stats.malformed++; return; }
    if (!isMe(to)) { stats.unexpected++; return; }
    const inner = r.remaining() > 0 ? load<u8>(r.ptr + <usize>r.pos) : 0;
    if (inner == MSG_BUDDY_PRESENCE || inner == MSG_BUDDY_NOTIFY) { r.u8(); buddyOnRouted(from, inner, r, now); return; }
    callOnRouted(from, r, now);
  } else if (type == MSG_RELAYED) mediaOnRelayed(r, now);
  else if (type == MSG_RELAY_REFUSED) clientOnRelayRefused(c.ip, c.port, r, now);
  else if (type == MSG_BUSY) onBusy(c, r, now);
  else if (type == MSG_PREFIX_RESP) clientOnPrefixResp(r, now);
  else if (imOnClientFrame(type, r, now)) { /* IM (issue #8, im/im.ts) */ }
  else stats.unexpected++;
}

/** Node list entries (ip u32, port u16) × n into the host cache (never ourselves). */
function readNodeList(r: ByteReader, n: i32, nowS: u32): void {
  client.listIp.length = 0; client.listPort.length = 0;
  for (let i = 0; i < n && r.ok; i++) {
    const ip = r.u32(); const port = <i32>r.u16();
    if (r.ok && !(ip == node.localIp && port == node.port)) {
      hostCache.note(ip, port, nowS, -1, 0);
      client.listIp.push(ip); client.listPort.push(port);
    }
  }
}


/** HELLO_ACK: [observedIp u32][observedPort u16][n u8][(ip u32, port u16) × n] — the SN's node list. */
function onHelloAck(r: ByteReader, now: i64): void {
  r.u32(); r.u16();
  const n = <i32>r.u8();
  const nowS = <u32>(now / 1_000_000);
  readNodeList(r, n, nowS);
  // Our SN itself, unless we reached it only on a web port (its UDP port is its own port, not 443/80).
  if (client.snIp != 0 && !client.tcpRestricted) hostCache.note(client.snIp, client.snPort, nowS, -1, 0);
  client.hostCache = hostCache.texts();
  if (!r.ok) { stats.malformed++; return; }
  presenceSetChallenge(r.remaining() >= 16 ? r.take(16) : 0); // issue #7: signed in PUBLISH
  if (client.state != SC_HELLO) return;
  if (leaveBootstrap(now)) return;
  sendLoginRequest(now);
}

/** REGISTER first when provisioned to and not done yet, else LOGIN. */
function sendLoginRequest(now: i64): void {
  if (node.cfg.register && !client.registered) sendSealed(OP_REGISTER, now);
  else sendSealed(OP_LOGIN, now);
}

/**
 * BUSY from the login server (it sheds load instead of queueing past our timeout, server/service.ts): keep our
 * SN connection and send the request again after the retry-after (clamped to 1–300 s) plus up to half as much
 * again at random, so the phones it turned away together come back apart. Not a failure: no backoff step.
 */
function onServerBusy(now: i64): void {
  const ms = client.exchange.respU32(1);
  let d = <i64>ms * 1000;
  if (d < BUSY_RETRY_MIN_US) d = BUSY_RETRY_MIN_US;
  if (d > BUSY_RETRY_MAX_US) d = BUSY_RETRY_MAX_US;
  d += <i64>node.prngOverlay.below(<u32>(d / 2 + 1));
  client.busyWait = true;
  client.state = SC_HELLO;
  client.deadlineUs = now + d;
  event("login.busy", "retryMs=" + ms.toString() + " waitMs=" + (d / 1000).toString());
  uiRefresh();
}

function sendSealed(op: u8, now: i64): void {
  const sn = client.sn;
  if (sn === null) return;
  const w = txBegin(MSG_LOGIN);
  if (!client.exchange.seal(w, node.prngOverlay, node.cfg.serverKey, op, node.cfg.user, node.cfg.password)) {
    fail("crypto", now); return;
  }
  connSend(sn);
  client.renewing = false;
  client.busyWait = false;
  client.state = op == OP_REGISTER ? SC_REGISTERING : SC_LOGGING_IN;
  client.deadlineUs = now + LOGIN_TIMEOUT_US;
  event(op == OP_REGISTER ? "register.sent" : "login.sent");
  uiRefresh();
}

function onLoginResp(r: ByteReader, now: i64): void {
  const len = r.remaining();
  const p = r.take(len);
  const st = client.exchange.open(p, len);
  if (client.state == SC_ONLINE && client.renewing) { onRenewResp(st, now); return; }
  if ((client.state == SC_REGISTERING || client.state == SC_LOGGING_IN) && st == ST_BUSY) {
    client.exchange.wipe();
    onServerBusy(now);
    return;
  }
  if (client.state == SC_REGISTERING) {
    client.exchange.wipe();
    if (st == ST_OK || st == ST_EXISTS) {
      event(st == ST_OK ? "register.ok" : "register.exists", "user=" + node.cfg.user);
      client.registered = true;
      saveRegistered();
      sendSealed(OP_LOGIN, now);
    } else fail(statusText(st), now);
    return;
  }
  if (client.state != SC_LOGGING_IN) { stats.unexpected++; return; }
  client.exchange.wipe();
  if (st != ST_OK) { fail(statusText(st), now); return; }
  if (client.exchange.respLen >= 5) client.userId = client.exchange.respU32(1);
  client.state = SC_ONLINE;
  client.deadlineUs = NEVER;
  client.failures = 0;
  client.leftBootstrap = false;
  client.avoidIp = 0; client.avoidPort = 0;
  client.relayIp = client.snIp; client.relayPort = client.snPort;
  event("login.ok", "user=" + node.cfg.user + " ms=" + ((now - client.loginStartUs) / 1000).toString() +
    " sn=" + endpointToString(client.snIp, client.snPort) + " udp=" + (client.udpOk ? "1" : "0"));
  publish(now);
  imOnLogin(now);
  saveHostCache(now);
  if (client.udpOk) {
    sendUdpKeepalive(now);
    startNatDiscovery(now);
  }
  client.tcpKeepaliveUs = now + TCP_KEEPALIVE_US;
  uiRefresh();
}

/**
 * Certificate renewal (sec/renew.ts): the LOGIN exchange again, while online, over our SN connection. The
 * answer (onRenewResp) replaces myCert if it verifies (login.ts takeCert) and re-publishes presence with it.
 */
function renewCert(now: i64): void {
  const sn = client.sn;
  if (sn === null) return;
  const w = txBegin(MSG_LOGIN);
  if (!client.exchange.seal(w, node.prngOverlay, node.cfg.serverKey, OP_LOGIN, node.cfg.user, node.cfg.password)) {
    certRenewFailed(now); event("cert.renew.fail", "reason=crypto"); return;
  }
  connSend(sn);
  certRenewFailed(now); // rate limit: the next attempt (if this one does not renew) ≥ 60 s from now
  client.renewing = true;
  client.renewDeadlineUs = now + LOGIN_TIMEOUT_US;
  event("cert.renew", "leftS=" + ((<i64>myCert.notAfterS) - certNowSAt(now)).toString());
}

function onRenewResp(st: u8, now: i64): void {
  client.exchange.wipe();
  client.renewing = false;
  client.renewDeadlineUs = NEVER;
  const cr = client.exchange.certResult;
  if (st != ST_OK || cr != CERT_OK) {
    certRenewFailed(now);
    event("cert.renew.fail", "reason=" + (st != ST_OK ? statusText(st) : cr == 1 ? "no-cert" : certErrorText(cr)));
    return;
  }
  event("cert.renewed", "user=" + node.cfg.user + " notAfterS=" + myCert.notAfterS.toString());
  publish(now);
}

/** NAT behaviour discovery against our SN and the next-fastest other SN (nat/discovery.ts). */
function startNatDiscovery(now: i64): void {
  let bIp: u32 = 0, bPort: i32 = 0;
  for (let i = 0; i < client.respIp.length; i++) {
    if (client.respIp[i] != client.snIp) { bIp = client.respIp[i]; bPort = client.respPort[i]; break; }
  }
  natDiscoveryStart(client.snIp, client.snPort, bIp, bPort, now);
}

/** KEEPALIVE_ACK [observedIp u32][observedPort u16]: our binding as our SN sees it now. */
export function clientOnKeepaliveAck(srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const ip = r.u32(); const port = <i32>r.u16();
  if (!r.ok) { stats.malformed++; return; }
  if (client.state != SC_ONLINE || srcIp != client.snIp || srcPort != client.snPort) { stats.unexpected++; return; }
  if (ip == client.reflexIp && port == client.reflexPort) return;
  event("nat.changed", "from=" + endpointToString(client.reflexIp, client.reflexPort) + " to=" + endpointToString(ip, port));
  client.reflexIp = ip; client.reflexPort = port;
  client.isPublic = ip == node.localIp && port == node.port;
  startNatDiscovery(now);
}

/**
 * A bootstrap supernode is for bootstrapping (skype-facts.md: used only when no host-cache entry answers).
 * Reached over UDP with a node list in hand, we go to those entries instead: otherwise every fresh phone of a
 * large network would stay on the same 7 supernodes (at 10,000 nodes, 9,000 phones on 7 supernodes).
 * Returns true when we left.
 */
function leaveBootstrap(now: i64): bool {
  const c = client.sn;
  if (c === null || client.leftBootstrap || !client.udpOk || !isBootstrap(c.ip, c.port)) return false;
  // Only the entries of the list just received: live by that supernode's account (older host-cache
  // entries may be the dead ones that sent us to the bootstrap supernodes in the first place).
  let others = 0;
  for (let i = 0; i < client.listIp.length; i++) {
    if (!isBootstrap(client.listIp[i], client.listPort[i]) && !node.isSelf(client.listIp[i], client.listPort[i])) others++;
  }
  if (others == 0) return false;
  client.leftBootstrap = true;
  event("sn.leave-bootstrap", "sn=" + endpointToString(c.ip, c.port) + " hc=" + others.toString());
  connClose(c);
  client.sn = null;
  startProbing(now, true);
  return true;
}

/** Our SN is full: connect to the next supernode that answered our probes (or start over). */
function onBusy(c: Conn, r: ByteReader, now: i64): void {
  event("sn.busy", "sn=" + endpointToString(c.ip, c.port));
  // BUSY [n u8][(ip u32, port u16) × n]: supernodes to try instead (older supernodes send none).
  if (r.remaining() > 0) {
    readNodeList(r, <i32>r.u8(), <u32>(now / 1_000_000));
    if (!r.ok) stats.malformed++;
    client.hostCache = hostCache.texts();
  }
  connClose(c);
  client.sn = null;
  client.avoidIp = c.ip; client.avoidPort = c.port;
  for (let i = 0; i < client.respIp.length; i++) {
    if (client.respIp[i] == c.ip && client.respPort[i] == c.port) {
      client.respIp.splice(i, 1); client.respPort.splice(i, 1); client.respRttUs.splice(i, 1);
      break;
    }
  }
  if (client.udpOk && client.respIp.length > 0) { connectTo(client.respIp[0], client.respPort[0], now); return; }
  scheduleRetry(now);
}

/**
 * RELAY_REFUSED [callId u32] from the supernode relaying our media (quota reached): relay through the next
 * fastest supernode instead. Without UDP our only way to any supernode is our TCP connection: nothing to switch.
 */
export function clientOnRelayRefused(srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (srcIp != client.relayIp || srcPort != client.relayPort) return; // an old refusal
  for (let i = 0; i < client.respIp.length; i++) {
    const ip = client.respIp[i], port = client.respPort[i];
    if (ip == client.relayIp && port == client.relayPort) continue;
    if (ip == client.snIp && port == client.snPort) continue;
    event("relay.switch", "callId=" + callId.toString() + " from=" + endpointToString(client.relayIp, client.relayPort) + " to=" + endpointToString(ip, port));
    client.relayIp = ip; client.relayPort = port;
    return;
  }
  event("relay.refused", "callId=" + callId.toString());
}

function publish(now: i64): void {
  const sn = client.sn;
  if (sn === null) return;
  const w = txBegin(MSG_PUBLISH);
  const start = w.pos;
  w.str8(node.cfg.user).u8(PRESENCE_ONLINE).u32(deviceId());
  presenceAppendProof(w, start); // issue #7: [certLen][cert][sig over the SN's challenge] (sec/presence.ts)
  connSend(sn);
}

function sendUdpKeepalive(now: i64): void {
  txBegin(MSG_KEEPALIVE).str8(connKeepaliveToken(client.sn, myAddr())); // security hook: the channel's token, not the user name
  txSendUdp(node.udpSock, client.snIp, client.snPort);
  client.udpKeepaliveUs = now + natKeepaliveIntervalUs(); // learned from the binding lifetime (nat/lifetime.ts)
}

function fail(reason: string, now: i64): void {
  client.failReason = reason;
  client.exchange.wipe();
  if (reason == "bad-credentials" || reason == "invalid-input") {
    client.state = SC_REFUSED;
    client.deadlineUs = NEVER;
    event("login.fail", "user=" + node.cfg.user + " reason=" + reason);
  } else {
    event("login.retry", "reason=" + reason);
    scheduleRetry(now);
    const sn = client.sn;
    if (sn !== null) { connClose(sn); client.sn = null; }
  }
  uiRefresh();
}

function statusText(st: u8): string {
  if (st == ST_BAD_CREDENTIALS) return "bad-credentials";
  if (st == ST_INVALID_INPUT) return "invalid-input";
  if (st == ST_RATE_LIMITED) return "rate-limited";
  if (st == ST_BUSY) return "server-busy";
  if (st == 255) return "bad-response";
  return "server-error";
}

/** Writes the host cache to flash (one atomic record) and holds off the next write for HC_SAVE_US. */
function saveHostCache(now: i64): void {
  const rc = hostCache.save();
  client.hcSaveUs = now + HC_SAVE_US;
  event("hc.saved", "n=" + hostCache.size.toString() + " rc=" + rc.toString());
}

export function clientDeadline(): i64 {
  let d = client.deadlineUs;
  if (hostCache.dirty && client.state == SC_ONLINE && client.hcSaveUs < d) d = client.hcSaveUs;
  if (client.state == SC_CONNECTING && client.webPortsUs < d) d = client.webPortsUs;
  if (client.nextProbeUs < d) d = client.nextProbeUs;
  if (client.state == SC_ONLINE) {
    if (client.udpOk && client.udpKeepaliveUs < d) d = client.udpKeepaliveUs;
    if (client.tcpKeepaliveUs < d) d = client.tcpKeepaliveUs;
    const r = client.renewing ? client.renewDeadlineUs : certRenewAtUs();
    if (r < d) d = r;
  }
  return d;
}

export function clientTick(now: i64): void {
  if (natDiscoveryTick(now) && client.state == SC_ONLINE && client.udpOk) startNatDiscovery(now);
  const st = client.state;
  if (st == SC_PROBING) {
    if (now >= client.deadlineUs && client.probePhase == 0) {
      // No host-cache entry answered: the bootstrap supernodes now.
      client.probePhase = 1;
      client.deadlineUs = now + PROBE_GIVE_UP_US;
      event("hc.noanswer", "probed=" + client.probeIp.length.toString());
      sendProbes(now);
    } else if (now >= client.deadlineUs) udpGiveUp(now);
    else if (now >= client.nextProbeUs) sendProbes(now);
    return;
  }
  if (st == SC_OFF) {
    if (now >= client.deadlineUs && node.cfg.user.length > 0) {
      for (let i = 0; i < client.candidates.length; i++) connClose(client.candidates[i]);
      client.candidates.length = 0;
      startProbing(now);
    }
    return;
  }
  if (st == SC_CONNECTING && now >= client.webPortsUs) tryWebPorts(now);
  if (st == SC_HELLO && client.busyWait) {
    if (now >= client.deadlineUs) { client.busyWait = false; sendLoginRequest(now); }
    return;
  }
  if (st == SC_CONNECTING || st == SC_HELLO || st == SC_REGISTERING || st == SC_LOGGING_IN) {
    if (now >= client.deadlineUs) {
      logInfo("login step timed out in state " + st.toString());
      event("login.retry", "reason=timeout state=" + st.toString());
      const sn = client.sn;
      if (sn !== null) { connClose(sn); client.sn = null; }
      for (let i = 0; i < client.candidates.length; i++) connClose(client.candidates[i]);
      client.candidates.length = 0;
      scheduleRetry(now);
    }
    return;
  }
  if (st == SC_ONLINE) {
    if (hostCache.dirty && now >= client.hcSaveUs) saveHostCache(now);
    if (client.udpOk && now >= client.udpKeepaliveUs) sendUdpKeepalive(now);
    if (now >= client.tcpKeepaliveUs) {
      const sn = client.sn;
      if (sn !== null) sendTcpKeepalive(sn);
      client.tcpKeepaliveUs = now + TCP_KEEPALIVE_US;
    }
    if (client.renewing && now >= client.renewDeadlineUs) {
      client.exchange.wipe(); client.renewing = false; client.renewDeadlineUs = NEVER;
      certRenewFailed(now); event("cert.renew.fail", "reason=timeout");
    } else if (!client.renewing && now >= certRenewAtUs()) renewCert(now);
  }
}

import { netTcpSend } from "../../hal/net";
const KEEPALIVE_FRAME = new StaticArray<u8>(2);
/** The 2-byte TCP refresh: an empty frame. */
function sendTcpKeepalive(c: Conn): void {
  if (c.connected) netTcpSend(c.handle, changetype<usize>(KEEPALIVE_FRAME), 2);
}

/** Sends a SEARCH for `name` to our SN. Returns false when not online. */
export function clientSearch(txid: u32, name: string): bool {
  const sn = client.sn;
  if (client.state != SC_ONLINE || sn === null) return false;
  txBegin(MSG_SEARCH).u32(txid).str8(name);
  return connSend(sn);
}

export function clientOnline(): bool { return client.state == SC_ONLINE; }

/** Prefix search ("sal*") through our SN and the login server's directory (overlay/prefix.ts). False when not online or a bad prefix. */
export function clientPrefix(prefix: string, limit: i32): bool {
  if (client.state != SC_ONLINE) return false;
  return clientPrefixSearch(client.sn, prefix, limit);
}

/** Key 3 (account) decoder: whether this phone registered node.cfg.user already. Also run by main.ts fuzzStorage. */
export function loadRegistered(): bool {
  const buf = new StaticArray<u8>(64);
  const n = storageRead(KEY_ACCOUNT, changetype<usize>(buf), 64);
  if (n < 2) return false;
  const ulen = <i32>buf[1];
  if (buf[0] != 1 || ulen + 2 > n || ulen + 2 > 64) return false;
  return String.UTF8.decodeUnsafe(changetype<usize>(buf) + 2, ulen, false) == node.cfg.user;
}

function saveRegistered(): void {
  const buf = new StaticArray<u8>(64);
  buf[0] = 1;
  const ulen = String.UTF8.encodeUnsafe(changetype<usize>(node.cfg.user), min(node.cfg.user.length, 32), changetype<usize>(buf) + 2, false);
  buf[1] = <u8>ulen;
  storageWrite(KEY_ACCOUNT, changetype<usize>(buf), 2 + <i32>ulen);
}

/** Short network status for the LCD and console. */
export function clientNetText(): string {
  if (client.state != SC_ONLINE) return client.state == SC_REFUSED ? "login refused" : "connecting";
  if (!client.udpOk) return "UDP blocked";
  return client.isPublic ? "public" : "NAT " + ipToString(client.reflexIp);
}
