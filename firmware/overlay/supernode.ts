import { node } from "./node";
import { Conn, connClose, connGet, connOpen, connSend, ROLE_SN_CLIENT, ROLE_SN_PEER, ROLE_SN_SERVER } from "./conns";
import { ByteReader } from "../lib/bytes";
import { tx, txBegin, txSendTcp, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { PresenceRecord } from "../wire/record";
import { netUdpOpen } from "../../hal/net";
import {
  FLAG_UDP_OK, MSG_HELLO, MSG_HELLO_ACK, MSG_INDEX_DEL, MSG_INDEX_PUT, MSG_KEEPALIVE, MSG_LOGIN, MSG_LOGIN_RESP,
  MSG_PROBE, MSG_PROBE_ACK, MSG_PUBLISH, MSG_RELAY, MSG_RELAYED, MSG_ROUTE, MSG_SEARCH, MSG_SEARCH_RESP, MSG_SN_HELLO,
  PRESENCE_OFFLINE, USER_MAX, MSG_NAT_TEST, MSG_NAT_TEST_ACK, MSG_NAT_TEST_FWD, MSG_KEEPALIVE_ACK,
  NAT_TEST_CHANGE_IP, NAT_TEST_CHANGE_PORT,
} from "../wire/types";

/**
 * The supernode (SN) role: answers probes with the observed endpoint (a STUN-like reflector), keeps TCP
 * connections of its clients, relays their sealed login requests to the login server, holds the presence
 * index, routes signaling between clients (ROUTE) and relays media for clients that cannot reach each other
 * (RELAY). Overlay v0: every SN keeps the whole index, replicated to the SNs it knows from provisioning
 * (issue #5 replaces this with a distributed index).
 */
export class Supernode {
  index: Map<string, PresenceRecord> = new Map<string, PresenceRecord>();
  /** Outgoing connections to peer SNs, keyed by ip << 16 | port. */
  peers: Map<u64, Conn> = new Map<u64, Conn>();
  server: Conn | null = null;
  /** Login request id → client connection handle. */
  pendingLogin: Map<u32, i32> = new Map<u32, i32>();
  nextReqId: u32 = 1;
  clients: i32 = 0;
  serverRetryUs: i64 = NEVER;
}

export const sn = new Supernode();

@inline function peerKey(ip: u32, port: i32): u64 { return (<u64>ip << 16) | <u64>(port & 0xFFFF); }

export function snStart(now: i64): void {
  node.altUdpSock = netUdpOpen(node.port + 1);
  event("sn.start", "addr=" + endpointToString(node.localIp, node.port) + " altPort=" + (node.altUdpSock >= 0 ? (node.port + 1).toString() : "none"));
  const cfg = node.cfg;
  for (let i = 0; i < cfg.bootstrapCount; i++) {
    if (cfg.bootstrapIp[i] == node.localIp && cfg.bootstrapPort[i] == node.port) continue;
    peerConn(cfg.bootstrapIp[i], cfg.bootstrapPort[i], now);
  }
  serverConn(now);
}

function peerConn(ip: u32, port: i32, now: i64): Conn | null {
  const k = peerKey(ip, port);
  if (sn.peers.has(k)) return sn.peers.get(k);
  const c = connOpen(ROLE_SN_PEER, ip, port, now);
  if (c === null) return null;
  sn.peers.set(k, c);
  txBegin(MSG_SN_HELLO).u16(<u32>node.port);
  connSend(c);
  // Share what we hold: a new SN learns the index from its peers.
  const keys = sn.index.keys();
  for (let i = 0; i < keys.length; i++) {
    const rec = sn.index.get(keys[i]);
    if (rec.connHandle >= 0) { txBegin(MSG_INDEX_PUT); rec.write(tx); connSend(c); }
  }
  return c;
}

function serverConn(now: i64): Conn | null {
  const s = sn.server;
  if (s !== null) return s;
  if (node.cfg.serverIp == 0) return null;
  const c = connOpen(ROLE_SN_SERVER, node.cfg.serverIp, node.cfg.serverPort, now);
  sn.server = c;
  return c;
}

/** UDP messages addressed to the SN role. */
export function snOnUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  if (type == MSG_PROBE) {
    const nonce = r.u32();
    if (!r.ok) { stats.malformed++; return; }
    txBegin(MSG_PROBE_ACK).u32(nonce).u32(srcIp).u16(<u32>srcPort);
    txSendUdp(node.udpSock, srcIp, srcPort);
  } else if (type == MSG_KEEPALIVE) {
    const user = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    txBegin(MSG_KEEPALIVE_ACK).u32(srcIp).u16(<u32>srcPort);
    txSendUdp(node.udpSock, srcIp, srcPort);
    if (!sn.index.has(user)) return;
    const rec = sn.index.get(user);
    const c = rec.connHandle >= 0 ? connGet(rec.connHandle) : null;
    if (c === null) return;
    c.udpIp = srcIp; c.udpPort = srcPort;
    if (rec.reflexIp != srcIp || rec.reflexPort != srcPort) {
      // The client's NAT gave it a new binding (reboot, timeout, new address): publish where it is now.
      rec.reflexIp = srcIp; rec.reflexPort = srcPort; rec.updatedUs = now;
      broadcastPut(rec);
    }
  } else if (type == MSG_RELAY) relay(r, now);
  else if (type == MSG_NAT_TEST) natTest(srcIp, srcPort, r, false);
  else if (type == MSG_NAT_TEST_FWD) {
    // Another SN asks us to answer a client's change-IP test from our alternate port.
    const nonce = r.u32(); const ip = r.u32(); const port = <i32>r.u16();
    if (!r.ok) { stats.malformed++; return; }
    if (node.altUdpSock < 0) return;
    txBegin(MSG_NAT_TEST_ACK).u32(nonce).u32(ip).u16(<u32>port).u8(2);
    txSendUdp(node.altUdpSock, ip, port);
  }
  else stats.unexpected++;
}

/** UDP on the alternate port: only NAT tests are answered there. */
export function snOnAltUdp(type: u8, srcIp: u32, srcPort: i32, r: ByteReader, now: i64): void {
  if (type == MSG_NAT_TEST) natTest(srcIp, srcPort, r, true);
  else stats.unexpected++;
}

/**
 * NAT_TEST [nonce u32][flags u8] → NAT_TEST_ACK [nonce u32][observedIp u32][observedPort u16][from u8]
 * (from: 0 primary port, 1 alternate port, 2 another SN's alternate port). CHANGE_IP is handed to a peer SN
 * (the "alternate address"), CHANGE_PORT answered from our alternate port (RFC 5780 §4.4).
 */
function natTest(srcIp: u32, srcPort: i32, r: ByteReader, onAlt: bool): void {
  const nonce = r.u32(); const flags = <u8>r.u8();
  if (!r.ok) { stats.malformed++; return; }
  if (!onAlt && (flags & NAT_TEST_CHANGE_IP) != 0) {
    const cfg = node.cfg;
    for (let i = 0; i < cfg.bootstrapCount; i++) {
      if (cfg.bootstrapIp[i] == node.localIp) continue;
      txBegin(MSG_NAT_TEST_FWD).u32(nonce).u32(srcIp).u16(<u32>srcPort);
      txSendUdp(node.udpSock, cfg.bootstrapIp[i], cfg.bootstrapPort[i]);
      return;
    }
    return;
  }
  const fromAlt = onAlt || (flags & NAT_TEST_CHANGE_PORT) != 0;
  if (fromAlt && node.altUdpSock < 0) return;
  txBegin(MSG_NAT_TEST_ACK).u32(nonce).u32(srcIp).u16(<u32>srcPort).u8(fromAlt ? 1 : 0);
  txSendUdp(fromAlt ? node.altUdpSock : node.udpSock, srcIp, srcPort);
}

/** First frame on an accepted connection decides its role. Returns the role taken, or -1 to drop it. */
export function snClassify(c: Conn, type: u8): i32 {
  if (type == MSG_HELLO) { c.role = ROLE_SN_CLIENT; sn.clients++; return ROLE_SN_CLIENT; }
  if (type == MSG_SN_HELLO) { c.role = ROLE_SN_PEER; return ROLE_SN_PEER; }
  return -1;
}

export function snOnClientFrame(c: Conn, type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_HELLO) {
    c.helloUdpPort = <i32>r.u16(); c.helloLocalIp = r.u32(); c.flags = <u8>r.u8();
    c.helloReflexIp = r.u32(); c.helloReflexPort = <i32>r.u16();
    if (!r.ok) { stats.malformed++; return; }
    const w = txBegin(MSG_HELLO_ACK).u32(c.ip).u16(<u32>c.port);
    const cfg = node.cfg;
    let n = 0;
    for (let i = 0; i < cfg.bootstrapCount; i++) n++;
    w.u8(<u32>n);
    for (let i = 0; i < cfg.bootstrapCount; i++) w.u32(cfg.bootstrapIp[i]).u16(<u32>cfg.bootstrapPort[i]);
    connSend(c);
  } else if (type == MSG_LOGIN) {
    const s = serverConn(now);
    if (s === null) { stats.unexpected++; return; }
    const id = sn.nextReqId++;
    sn.pendingLogin.set(id, c.handle);
    const len = r.remaining();
    txBegin(0); tx.pos = 0; // server frames have no type byte: [reqId u32][sealed]
    tx.u32(id).bytes(r.take(len), len);
    connSend(s);
  } else if (type == MSG_PUBLISH) {
    const user = r.str8(USER_MAX); const status = <u8>r.u8();
    if (!r.ok || user.length == 0) { stats.malformed++; return; }
    c.user = user;
    const rec = new PresenceRecord();
    rec.user = user; rec.status = status;
    rec.snIp = node.localIp; rec.snPort = node.port;
    rec.reflexIp = c.helloReflexIp; rec.reflexPort = c.helloReflexPort;
    rec.localIp = c.helloLocalIp; rec.localPort = c.helloUdpPort;
    rec.flags = c.flags; rec.tcpPort = c.helloUdpPort;
    rec.connHandle = c.handle; rec.updatedUs = now;
    sn.index.set(user, rec);
    event("sn.publish", "user=" + user + " flags=" + c.flags.toString());
    broadcastPut(rec);
  } else if (type == MSG_SEARCH) {
    const txid = r.u32(); const name = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    const w = txBegin(MSG_SEARCH_RESP).u32(txid);
    if (sn.index.has(name) && sn.index.get(name).status != PRESENCE_OFFLINE) { w.u8(1); sn.index.get(name).write(w); }
    else w.u8(0);
    connSend(c);
  } else if (type == MSG_ROUTE) route(r, now, true);
  else if (type == MSG_RELAY) relay(r, now);
  else stats.unexpected++;
}

function broadcastPut(rec: PresenceRecord): void {
  const ks = sn.peers.values();
  for (let i = 0; i < ks.length; i++) { txBegin(MSG_INDEX_PUT); rec.write(tx); connSend(ks[i]); }
}

export function snOnPeerFrame(c: Conn, type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_SN_HELLO) { r.u16(); return; }
  if (type == MSG_INDEX_PUT) {
    const rec = new PresenceRecord();
    if (!rec.read(r)) { stats.malformed++; return; }
    // A record for one of our own clients is authoritative here; don't let a stale copy override it.
    if (sn.index.has(rec.user) && sn.index.get(rec.user).connHandle >= 0) return;
    rec.updatedUs = now;
    sn.index.set(rec.user, rec);
  } else if (type == MSG_INDEX_DEL) {
    const user = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    if (sn.index.has(user) && sn.index.get(user).connHandle < 0) sn.index.delete(user);
  } else if (type == MSG_ROUTE) route(r, now, false);
  else stats.unexpected++;
}

/** ROUTE: [to str8][from str8][inner message]. Delivered to our client, or forwarded once to the holder SN. */
function route(r: ByteReader, now: i64, fromClient: bool): void {
  const start = r.pos;
  const to = r.str8(USER_MAX); r.str8(USER_MAX);
  if (!r.ok) { stats.malformed++; return; }
  if (!sn.index.has(to)) { stats.relayDropped++; return; }
  const rec = sn.index.get(to);
  const whole = r.ptr + <usize>start; const wholeLen = r.len - start;
  if (rec.connHandle >= 0) {
    const c = connGet(rec.connHandle);
    if (c === null) { stats.relayDropped++; return; }
    txBegin(MSG_ROUTE).bytes(whole, wholeLen);
    connSend(c);
  } else if (fromClient) {
    const p = peerConn(rec.snIp, rec.snPort, now);
    if (p === null) { stats.relayDropped++; return; }
    txBegin(MSG_ROUTE).bytes(whole, wholeLen);
    connSend(p);
  } else stats.relayDropped++;
}

/**
 * RELAY: [hops u8][to str8][callId u32][payload]. To our own client it goes as RELAYED [callId][payload]
 * over UDP when the client has a UDP binding with us, else over its TCP connection; to another SN's client it
 * is forwarded once over UDP to that SN.
 */
function relay(r: ByteReader, now: i64): void {
  const hops = r.u8(); const to = r.str8(USER_MAX);
  const restPos = r.pos;
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (!sn.index.has(to)) { stats.relayDropped++; return; }
  const rec = sn.index.get(to);
  const payload = r.ptr + <usize>restPos + 4; const payloadLen = r.len - restPos - 4;
  if (rec.connHandle >= 0) {
    const c = connGet(rec.connHandle);
    if (c === null) { stats.relayDropped++; return; }
    txBegin(MSG_RELAYED).u32(callId).bytes(payload, payloadLen);
    if (c.udpIp != 0 && (c.flags & FLAG_UDP_OK) != 0) txSendUdp(node.udpSock, c.udpIp, c.udpPort);
    else connSend(c);
    stats.relayed++;
  } else if (hops == 0) {
    txBegin(MSG_RELAY).u8(1).str8(to).u32(callId).bytes(payload, payloadLen);
    txSendUdp(node.udpSock, rec.snIp, rec.snPort);
    stats.relayed++;
  } else stats.relayDropped++;
}

/** A frame from the login server: [reqId u32][sealed response] → MSG_LOGIN_RESP to the client. */
export function snOnServerFrame(ptr: usize, len: i32, now: i64): void {
  const r = new ByteReader().reset(ptr, len);
  const id = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (!sn.pendingLogin.has(id)) { stats.unexpected++; return; }
  const h = sn.pendingLogin.get(id);
  sn.pendingLogin.delete(id);
  const c = connGet(h);
  if (c === null) return;
  const n = r.remaining();
  txBegin(MSG_LOGIN_RESP).bytes(r.take(n), n);
  connSend(c);
}

export function snOnClosed(c: Conn, now: i64): void {
  if (c.role == ROLE_SN_CLIENT) {
    sn.clients--;
    if (c.user.length > 0 && sn.index.has(c.user) && sn.index.get(c.user).connHandle == c.handle) {
      sn.index.delete(c.user);
      event("sn.offline", "user=" + c.user);
      const ps = sn.peers.values();
      for (let i = 0; i < ps.length; i++) { txBegin(MSG_INDEX_DEL).str8(c.user); connSend(ps[i]); }
    }
  } else if (c.role == ROLE_SN_PEER) {
    const k = peerKey(c.ip, c.port);
    if (sn.peers.has(k) && sn.peers.get(k) === c) sn.peers.delete(k);
  } else if (c.role == ROLE_SN_SERVER) {
    if (sn.server === c) sn.server = null;
  }
}

export function snDeadline(): i64 { return NEVER; }
export function snTick(now: i64): void {}
