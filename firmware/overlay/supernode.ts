import { node } from "./node";
import { Conn, connClose, connGet, connOpen, connSend, ROLE_PENDING, ROLE_SN_CLIENT, ROLE_SN_PEER, ROLE_SN_SERVER } from "./conns";
import { ByteReader } from "../lib/bytes";
import { tx, txBegin, txSendTcp, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { PresenceRecord } from "../wire/record";
import { netTcpListen, netUdpOpen } from "../../hal/net";
import { disco, MAPPING_NONE, FILTERING_ENDPOINT_INDEPENDENT } from "../nat/discovery";
import { call, CALL_IDLE } from "../call/call";
import { ipIsPrivate } from "../lib/addr";
import { hostCache, hostCacheBoot } from "./host-cache";
import {
  copyRecord, dht, dhtDeadline, dhtGet, dhtLookup, dhtLookupClosest, dhtOnFind, dhtOnFound, dhtOnStore, dhtSeen, dhtStart,
  dhtStoreAt, dhtTick, Lookup, LOOKUP_JOIN, LOOKUP_PUBLISH, LOOKUP_SEARCH, REPUBLISH_US,
} from "./dht";
import { OP_LOOKUP, SealedExchange, ST_NOT_FOUND, ST_OK } from "./login";
import { MSG_DHT_FIND, MSG_DHT_FOUND, MSG_DHT_STORE, PRESENCE_ONLINE } from "../wire/types";
import {
  FLAG_UDP_OK, MSG_HELLO, MSG_HELLO_ACK, MSG_INDEX_DEL, MSG_INDEX_PUT, MSG_KEEPALIVE, MSG_LOGIN, MSG_LOGIN_RESP,
  MSG_BUSY, MSG_RELAY_REFUSED, MSG_PROBE, MSG_PROBE_ACK, MSG_PUBLISH, MSG_RELAY, MSG_RELAYED, MSG_ROUTE, MSG_SEARCH, MSG_SEARCH_RESP, MSG_SN_HELLO,
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
  /** Relay sessions started by our own clients: callId → last packet time (µs). */
  relays: Map<u32, i64> = new Map<u32, i64>();
  relaysRefused: u32 = 0;
  clientsRefused: u32 = 0;
  /** Directory lookups at the login server for searches the index could not answer: reqId → pending search. */
  dirLookups: Map<u32, DirLookup> = new Map<u32, DirLookup>();
  republishUs: i64 = NEVER;
  joinUs: i64 = NEVER;
}

const JOIN_DELAY_US: i64 = 5_000_000;

/** A search waiting for the login server's directory (does the name exist at all?). */
class DirLookup {
  constructor(public ex: SealedExchange, public l: Lookup, public sentUs: i64) {}
}

/** SEARCH_RESP reasons after found = 0 (docs/protocol.md §Distributed index). */
const NF_UNKNOWN: u8 = 0, NF_NOT_SEEN: u8 = 1, NF_OFFLINE: u8 = 2, NF_NO_DIRECTORY: u8 = 3;
const DIR_TIMEOUT_US: i64 = 5_000_000;

export const sn = new Supernode();

@inline function peerKey(ip: u32, port: i32): u64 { return (<u64>ip << 16) | <u64>(port & 0xFFFF); }

export function snStart(now: i64): void {
  node.altUdpSock = netUdpOpen(node.port + 1);
  event("sn.start", "addr=" + endpointToString(node.localIp, node.port) + " altPort=" + (node.altUdpSock >= 0 ? (node.port + 1).toString() : "none"));
  const cfg = node.cfg;
  hostCacheBoot();
  dhtStart(now);
  for (let i = 0; i < hostCache.size; i++) dhtSeen(hostCache.ip[i], hostCache.port[i], now);
  for (let i = 0; i < cfg.bootstrapCount; i++) dhtSeen(cfg.bootstrapIp[i], cfg.bootstrapPort[i], now);
  sn.republishUs = now + REPUBLISH_US;
  for (let i = 0; i < cfg.bootstrapCount; i++) {
    if (node.isSelf(cfg.bootstrapIp[i], cfg.bootstrapPort[i])) continue;
    hostCache.note(cfg.bootstrapIp[i], cfg.bootstrapPort[i], <u32>(now / 1_000_000), -1, 0);
    peerConn(cfg.bootstrapIp[i], cfg.bootstrapPort[i], now);
  }
  serverConn(now);
  // Kademlia join (look up our own ID: fills our buckets and tells the closest supernodes about us) a little
  // later, so that at a cold start, with every supernode booting at once, the SN_HELLO exchange comes first.
  sn.joinUs = now + JOIN_DELAY_US;
}

function peerConn(ip: u32, port: i32, now: i64): Conn | null {
  const k = peerKey(ip, port);
  if (sn.peers.has(k)) return sn.peers.get(k);
  const c = connOpen(ROLE_SN_PEER, ip, port, now);
  if (c === null) return null;
  c.helloUdpPort = port;
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
    // [uptimeS u32] appended (issue #5): clients prefer long-lived supernodes in their host cache.
    txBegin(MSG_PROBE_ACK).u32(nonce).u32(srcIp).u16(<u32>srcPort).u32(<u32>((now - node.bootUs) / 1_000_000));
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
      dhtPublish(rec, now);
    }
  } else if (type == MSG_RELAY) relay(r, now, srcIp, srcPort, null);
  else if (type == MSG_NAT_TEST) natTest(srcIp, srcPort, r, false);
  else if (type == MSG_DHT_FIND) { dhtOnFind(srcIp, srcPort, r, ownOnline(peekName(r)), now); }
  else if (type == MSG_DHT_FOUND) { dhtOnFound(srcIp, srcPort, r, r.len, now); lookupsFinished(now); }
  else if (type == MSG_DHT_STORE) dhtOnStore(srcIp, srcPort, r, now);
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
    if (sn.clients > node.cfg.snMaxClients) {
      // Shed load instead of collapsing: the client goes to another supernode.
      sn.clients--; sn.clientsRefused++;
      c.role = ROLE_PENDING;
      txBegin(MSG_BUSY);
      connSend(c);
      connClose(c);
      return;
    }
    c.helloUdpPort = <i32>r.u16(); c.helloLocalIp = r.u32(); c.flags = <u8>r.u8();
    c.helloReflexIp = r.u32(); c.helloReflexPort = <i32>r.u16();
    if (!r.ok) { stats.malformed++; return; }
    // Node list for the client's host cache: the supernodes we know best (longest-lived first).
    const w = txBegin(MSG_HELLO_ACK).u32(c.ip).u16(<u32>c.port);
    const order = hostCache.best(HELLO_ACK_NODES);
    w.u8(<u32>order.length);
    for (let j = 0; j < order.length; j++) w.u32(hostCache.ip[order[j]]).u16(<u32>hostCache.port[order[j]]);
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
    dhtPublish(rec, now);
  } else if (type == MSG_SEARCH) {
    const txid = r.u32(); const name = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    search(c, txid, name, now);
  } else if (type == MSG_ROUTE) route(r, now, true, null);
  else if (type == MSG_RELAY) relay(r, now, 0, 0, c);
  else stats.unexpected++;
}

function broadcastPut(rec: PresenceRecord): void {
  const ks = sn.peers.values();
  for (let i = 0; i < ks.length; i++) { txBegin(MSG_INDEX_PUT); rec.write(tx); connSend(ks[i]); }
}

/** Supernodes listed in a HELLO_ACK (6 bytes each). */
const HELLO_ACK_NODES: i32 = 32;

export function snOnPeerFrame(c: Conn, type: u8, r: ByteReader, now: i64): void {
  if (type == MSG_SN_HELLO) {
    // A peer supernode announces its port: it goes into our host cache and thus into clients' node lists.
    const port = <i32>r.u16();
    if (!r.ok) { stats.malformed++; return; }
    hostCache.note(c.ip, port, <u32>(now / 1_000_000), -1, 0);
    c.helloUdpPort = port;
    dhtSeen(c.ip, port, now);
    return;
  }
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
  } else if (type == MSG_ROUTE) route(r, now, false, c);
  else stats.unexpected++;
}

/** ROUTE: [to str8][from str8][inner message]. Delivered to our client, or forwarded once to the holder SN. */
function route(r: ByteReader, now: i64, fromClient: bool, via: Conn | null): void {
  const start = r.pos;
  const to = r.str8(USER_MAX); const from = r.str8(USER_MAX);
  if (!r.ok) { stats.malformed++; return; }
  if (via !== null && from.length > 0 && via.helloUdpPort > 0) learnSn(from, via.ip, via.helloUdpPort, now);
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
function relay(r: ByteReader, now: i64, srcIp: u32, srcPort: i32, from: Conn | null): void {
  const hops = r.u8(); const to = r.str8(USER_MAX);
  const restPos = r.pos;
  const callId = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (hops == 0 && !admitRelay(callId, now)) {
    stats.relayDropped++;
    txBegin(MSG_RELAY_REFUSED).u32(callId);
    if (from !== null) connSend(from); else txSendUdp(node.udpSock, srcIp, srcPort);
    return;
  }
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

const RELAY_IDLE_US: i64 = 5_000_000;

/**
 * Relay quota (issue #4): at most `snMaxRelays` calls relayed at once for our own clients. A call counts from
 * its first packet until it has been idle for 5 s. Past the quota the sender gets RELAY_REFUSED and relays
 * through another supernode.
 */
function admitRelay(callId: u32, now: i64): bool {
  if (sn.relays.has(callId)) { sn.relays.set(callId, now); return true; }
  if (sn.relays.size >= node.cfg.snMaxRelays) {
    const ids = sn.relays.keys();
    for (let i = 0; i < ids.length; i++) if (now - sn.relays.get(ids[i]) > RELAY_IDLE_US) sn.relays.delete(ids[i]);
    if (sn.relays.size >= node.cfg.snMaxRelays) {
      if (sn.relaysRefused++ == 0) event("sn.relay.quota", "max=" + node.cfg.snMaxRelays.toString());
      return false;
    }
  }
  sn.relays.set(callId, now);
  event("sn.relay.start", "callId=" + callId.toString() + " active=" + sn.relays.size.toString());
  return true;
}

/** A frame from the login server: [reqId u32][sealed response] → MSG_LOGIN_RESP to the client. */
export function snOnServerFrame(ptr: usize, len: i32, now: i64): void {
  const r = new ByteReader().reset(ptr, len);
  const id = r.u32();
  if (!r.ok) { stats.malformed++; return; }
  if (sn.dirLookups.has(id)) { onDirectory(id, r, now); return; }
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
      const off = copyRecord(sn.index.get(c.user));
      off.status = PRESENCE_OFFLINE; off.updatedUs = now;
      dhtPublish(off, now);
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

/** How often a candidate re-checks the election conditions once it has been up long enough. */
const ELECTION_RECHECK_US: i64 = 10_000_000;
let electionCheckUs: i64 = 0;

/**
 * Supernode election (issue #5, skype-facts.md §Supernodes): with `supernode=auto` and `snMinUptimeS > 0` a
 * node takes the role only when (1) it is publicly reachable — NAT discovery found no NAT mapping and
 * endpoint-independent filtering (a headless node without an account: a public address), (2) it has been up
 * `snMinUptimeS` seconds, and (3) it has spare capacity (not in a call; a client limit above 0).
 * Returns "" when every condition holds, else the first one that does not (for the event log).
 */
export function snElectionBlocker(now: i64): string {
  const cfg = node.cfg;
  if (!cfg.supernodeAuto) return "never";
  if (node.tcpListener < 0 || node.udpSock < 0) return "no-socket";
  if (now - node.bootUs < <i64>cfg.snMinUptimeS * 1_000_000) return "uptime";
  const reachable = cfg.user.length == 0
    ? !ipIsPrivate(node.localIp)
    : disco.mapping == MAPPING_NONE && disco.filtering == FILTERING_ENDPOINT_INDEPENDENT;
  if (!reachable) return "not-public";
  if (cfg.snMaxClients <= 0 || call.state != CALL_IDLE) return "no-capacity";
  return "";
}

function electionDue(): i64 {
  const t = node.bootUs + <i64>node.cfg.snMinUptimeS * 1_000_000;
  return electionCheckUs > t ? electionCheckUs : t;
}

export function snDeadline(): i64 {
  if (node.isSupernode) return indexDeadline();
  if (!node.cfg.supernodeAuto || node.cfg.snMinUptimeS == 0) return NEVER;
  return electionDue();
}

export function snTick(now: i64): void {
  if (node.isSupernode) { indexTick(now); return; }
  if (node.isSupernode || !node.cfg.supernodeAuto || node.cfg.snMinUptimeS == 0 || now < electionDue()) return;
  const why = snElectionBlocker(now);
  if (why.length > 0) { electionCheckUs = now + ELECTION_RECHECK_US; return; }
  node.isSupernode = true;
  // As at boot: the web ports too, the way in for clients behind firewalls that allow nothing else.
  netTcpListen(443); netTcpListen(80);
  event("sn.elected", "uptimeS=" + ((now - node.bootUs) / 1_000_000).toString());
  snStart(now);
}

// ---- distributed index (issue #5): publish, search, directory fallback ----------------------------------

/** Name field of a DHT_FIND without consuming the reader (for the own-client answer). */
function peekName(r: ByteReader): string {
  const save = r.pos;
  r.u32(); r.u32(); r.u32(); r.u8();
  const name = r.str8(USER_MAX);
  r.pos = save; r.ok = true;
  return name;
}

/** Our own client's record while it is online here, else null: the freshest answer there is. */
function ownOnline(name: string): PresenceRecord | null {
  if (name.length == 0 || !sn.index.has(name)) return null;
  const rec = sn.index.get(name);
  return rec.connHandle >= 0 && rec.status != PRESENCE_OFFLINE ? rec : null;
}

/** Stores `rec` at the k supernodes closest to its user's key (after a lookup). */
function dhtPublish(rec: PresenceRecord, now: i64): void {
  const l = dhtLookup(LOOKUP_PUBLISH, rec.user, false, now);
  l.rec = copyRecord(rec);
  lookupsFinished(now);
}

/** Caches where `user` is (its supernode) for ROUTE and RELAY, unless it is our own client. */
function learnSn(user: string, snIp: u32, snPort: i32, now: i64): void {
  if (sn.index.has(user)) {
    const e = sn.index.get(user);
    if (e.connHandle >= 0) return;
    e.snIp = snIp; e.snPort = snPort; e.updatedUs = now;
    return;
  }
  const rec = new PresenceRecord();
  rec.user = user; rec.status = PRESENCE_ONLINE; rec.snIp = snIp; rec.snPort = snPort; rec.updatedUs = now;
  sn.index.set(user, rec);
}

/**
 * SEARCH from a client: our own client, then our stored copy, then a Kademlia value lookup; a name nobody
 * holds goes to the login server's directory, so every search ends with a definite answer.
 */
function search(c: Conn, txid: u32, name: string, now: i64): void {
  const own = ownOnline(name);
  if (own !== null) { answer(c.handle, txid, name, own, NF_UNKNOWN, now, now, 0, 0); return; }
  const s = dhtGet(name, now);
  if (s !== null) { answer(c.handle, txid, name, s.rec, NF_UNKNOWN, now, now, 0, 0); return; }
  const l = dhtLookup(LOOKUP_SEARCH, name, true, now);
  l.clientHandle = c.handle; l.clientTxid = txid;
  lookupsFinished(now);
}

/**
 * SEARCH_RESP [txid][found u8]: found 1 + record for a user online (or away); found 0 + [reason u8]: 0 no
 * such user, 1 the user exists but was not seen in 72 h, 2 offline and seen within 72 h (+ record), 3 the
 * directory could not be asked. Logs `sn.search` with the lookup's cost.
 */
function answer(handle: i32, txid: u32, name: string, rec: PresenceRecord | null, reason: u8, startUs: i64, now: i64, msgs: i32, bytes: i32): void {
  let result = "online";
  const w = txBegin(MSG_SEARCH_RESP).u32(txid);
  if (rec !== null && rec.status != PRESENCE_OFFLINE) { w.u8(1); rec.write(w); }
  else if (rec !== null) { w.u8(0).u8(NF_OFFLINE); rec.write(w); result = "offline"; }
  else {
    w.u8(0).u8(reason);
    result = reason == NF_NOT_SEEN ? "exists" : reason == NF_UNKNOWN ? "unknown" : "error";
  }
  if (rec !== null && rec.status != PRESENCE_OFFLINE && rec.snIp != node.localIp) learnSn(rec.user, rec.snIp, rec.snPort, now);
  const c = connGet(handle);
  if (c !== null) connSend(c);
  event("sn.search", "name=" + name + " result=" + result + " ms=" + ((now - startUs) / 1000).toString() +
    " msgs=" + msgs.toString() + " bytes=" + bytes.toString());
}

/** Acts on lookups that finished: answers searches, stores published records. */
function lookupsFinished(now: i64): void {
  while (dht.finished.length > 0) {
    const l = dht.finished.shift();
    if (l.kind == LOOKUP_SEARCH) {
      const f = l.found;
      if (f !== null) answer(l.clientHandle, l.clientTxid, l.name, f, NF_UNKNOWN, l.startUs, now, l.msgs, l.bytes);
      else askDirectory(l, now);
    } else if (l.kind == LOOKUP_PUBLISH) {
      const rec = l.rec;
      if (rec === null) continue;
      const idx = dhtLookupClosest(l);
      for (let i = 0; i < idx.length; i++) dhtStoreAt(l.cIp[idx[i]], l.cPort[idx[i]], rec, rec.updatedUs, now);
    }
  }
}

/** The name is in no supernode's index: ask the login server whether it exists (sealed LOOKUP, op 3). */
function askDirectory(l: Lookup, now: i64): void {
  const s = serverConn(now);
  if (s === null || !node.cfg.hasServerKey) { answer(l.clientHandle, l.clientTxid, l.name, null, NF_NO_DIRECTORY, l.startUs, now, l.msgs, l.bytes); return; }
  const ex = new SealedExchange();
  const id = sn.nextReqId++;
  txBegin(0); tx.pos = 0;
  tx.u32(id);
  if (!ex.seal(tx, node.prngOverlay, node.cfg.serverKey, OP_LOOKUP, l.name, "")) {
    answer(l.clientHandle, l.clientTxid, l.name, null, NF_NO_DIRECTORY, l.startUs, now, l.msgs, l.bytes); return;
  }
  connSend(s);
  sn.dirLookups.set(id, new DirLookup(ex, l, now));
}

function onDirectory(id: u32, r: ByteReader, now: i64): void {
  const d = sn.dirLookups.get(id);
  sn.dirLookups.delete(id);
  const n = r.remaining();
  const st = d.ex.open(r.take(n), n);
  d.ex.wipe();
  const reason = st == ST_OK ? NF_NOT_SEEN : st == ST_NOT_FOUND ? NF_UNKNOWN : NF_NO_DIRECTORY;
  answer(d.l.clientHandle, d.l.clientTxid, d.l.name, null, reason, d.l.startUs, now, d.l.msgs, d.l.bytes);
}

function indexDeadline(): i64 {
  let d = dhtDeadline();
  if (sn.republishUs < d) d = sn.republishUs;
  if (sn.joinUs < d) d = sn.joinUs;
  const ids = sn.dirLookups.keys();
  for (let i = 0; i < ids.length; i++) {
    const t = sn.dirLookups.get(ids[i]).sentUs + DIR_TIMEOUT_US;
    if (t < d) d = t;
  }
  return d;
}

/** Lookup timeouts, the 10-minute re-publish of our online clients, directory timeouts. */
function indexTick(now: i64): void {
  dhtTick(now);
  if (now >= sn.joinUs) { sn.joinUs = NEVER; dhtLookup(LOOKUP_JOIN, "", false, now, dht.selfId); }
  lookupsFinished(now);
  if (now >= sn.republishUs) {
    sn.republishUs = now + REPUBLISH_US;
    const names = sn.index.keys();
    for (let i = 0; i < names.length; i++) {
      const rec = sn.index.get(names[i]);
      if (rec.connHandle < 0 || rec.status == PRESENCE_OFFLINE) continue;
      rec.updatedUs = now;
      dhtPublish(rec, now);
    }
  }
  const ids = sn.dirLookups.keys();
  for (let i = 0; i < ids.length; i++) {
    const d = sn.dirLookups.get(ids[i]);
    if (now - d.sentUs < DIR_TIMEOUT_US) continue;
    sn.dirLookups.delete(ids[i]);
    d.ex.wipe();
    answer(d.l.clientHandle, d.l.clientTxid, d.l.name, null, NF_NO_DIRECTORY, d.l.startUs, now, d.l.msgs, d.l.bytes);
  }
}
