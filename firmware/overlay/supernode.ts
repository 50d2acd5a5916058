import { CERT_OK } from "../sec/cert";
import { lastCert, lastCertLen, presenceCheckPublish, presenceForget, presenceRecordOk, presenceWriteChallenge } from "../sec/presence";
import { node } from "./node";
import { Conn, connClose, connGet, connOpen, connSend, conns, ROLE_PENDING, ROLE_SN_CLIENT, ROLE_SN_PEER, ROLE_SN_SERVER } from "./conns";
import { connKeepaliveAddr } from "./conns";
import { relayAliasOnFrame, relayAliasResolve } from "../sec/relay-alias";
import { MSG_RELAY_ALIAS } from "../wire/types";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { Prng } from "../lib/prng";
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
  copyRecord, dht, StoredRecord, dhtDeadline, dhtGet, dhtGetAll, dhtLookup, dhtLookupClosest, dhtOnFind, dhtOnFound, dhtOnStore, dhtSeen, dhtStart,
  dhtStoreAt, dhtTick, Lookup, LOOKUP_JOIN, LOOKUP_PUBLISH, LOOKUP_SEARCH, REPUBLISH_US,
} from "./dht";
import { OP_LOOKUP, SealedExchange, ST_NOT_FOUND, ST_OK } from "./login";
import { MSG_DHT_FIND, MSG_DHT_FOUND, MSG_DHT_STORE, PRESENCE_ONLINE, ADDR_MAX } from "../wire/types";
import { addrUser } from "../wire/record";
import { imSnOnClientFrame, imSnOnPeerFrame, imSnLookupDone } from "../im/hold";
import { dhtOnBusy } from "./dht";
import { searchCacheGet, searchCacheOnMsg, searchCachePut, searchCacheSend, searchCache, CachedResult, SEARCH_CACHE_TTL_US, NEG_TTL_US } from "./search-cache";
import { snOnPrefix, snPrefixOnServer, snPrefixDeadline, snPrefixTick } from "./prefix";
import { MSG_DHT_BUSY, MSG_DHT_CACHE, MSG_PREFIX } from "../wire/types";
import { MSG_BUDDY_OP, MSG_BUDDY_PRESENCE, MSG_BUDDY_RESP, MSG_BUDDY_WATCH } from "../wire/types";
import { snWatchSet, snWatchTake } from "../buddy/sn-watch";
import {
  FLAG_UDP_OK, MSG_HELLO, MSG_HELLO_ACK, MSG_INDEX_DEL, MSG_INDEX_PUT, MSG_KEEPALIVE, MSG_LOGIN, MSG_LOGIN_RESP,
  MSG_BUSY, MSG_RELAY_REFUSED, MSG_PROBE, MSG_PROBE_ACK, MSG_PUBLISH, MSG_RELAY, MSG_RELAYED, MSG_ROUTE, MSG_SEARCH, MSG_SEARCH_RESP, MSG_SN_HELLO,
  PRESENCE_OFFLINE, USER_MAX, MSG_NAT_TEST, MSG_NAT_TEST_ACK, MSG_NAT_TEST_FWD, MSG_KEEPALIVE_ACK,
  NAT_TEST_CHANGE_IP, NAT_TEST_CHANGE_PORT, NAT_TEST_RESPONSE_PORT,
} from "../wire/types";

/**
 * The supernode (SN) role: answers probes with the observed endpoint (a STUN-like reflector), keeps TCP
 * connections of its clients, relays their sealed login requests to the login server, holds the presence
 * index, routes signaling between clients (ROUTE) and relays media for clients that cannot reach each other
 * (RELAY). Overlay v0: every SN keeps the whole index, replicated to the SNs it knows from provisioning
 * (issue #5 replaces this with a distributed index).
 */
export class Supernode {
  /** Presence records by routing address `user/devid` (issue #8: one per device; own clients and learnt ones). */
  index: Map<string, PresenceRecord> = new Map<string, PresenceRecord>();
  /** User name → routing addresses of its devices connected to this SN. */
  userAddrs: Map<string, Array<string>> = new Map<string, Array<string>>();
  /** Outgoing connections to peer SNs, keyed by ip << 16 | port. */
  peers: Map<u64, Conn> = new Map<u64, Conn>();
  server: Conn | null = null;
  /** Login request id → client connection handle. */
  pendingLogin: Map<u32, i32> = new Map<u32, i32>();
  /** Buddy-list request id → client connection handle (issue #8; answered as MSG_BUDDY_RESP). */
  pendingBuddy: Map<u32, i32> = new Map<u32, i32>();
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

/** The TCP connection to peer supernode ip:port (opened, with SN_HELLO, when there is none). */
export function peerConn(ip: u32, port: i32, now: i64): Conn | null {
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
    const user = connKeepaliveAddr(r.str8(ADDR_MAX)); // the client's routing address (issue #8), or its channel token (security hook)
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
  else if (type == MSG_DHT_FIND) { dhtOnFind(srcIp, srcPort, r, findLocal(peekName(r), now), now); }
  else if (type == MSG_DHT_BUSY) dhtOnBusy(srcIp, srcPort, r);
  else if (type == MSG_DHT_CACHE) searchCacheOnMsg(srcIp, srcPort, r, now);
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
 * NAT_TEST [nonce u32][flags u8][port u16 if RESPONSE_PORT] → NAT_TEST_ACK [nonce u32][observedIp u32][observedPort u16][from u8]
 * (from: 0 primary port, 1 alternate port, 2 another SN's alternate port). CHANGE_IP is handed to a peer SN
 * (the "alternate address"), CHANGE_PORT answered from our alternate port (RFC 5780 §4.4).
 */
function natTest(srcIp: u32, srcPort: i32, r: ByteReader, onAlt: bool): void {
  const nonce = r.u32(); const flags = <u8>r.u8();
  // RESPONSE-PORT (binding lifetime tests, nat/lifetime.ts): answered from our primary port to the sender's own
  // IP only (never a third party's, RFC 5780 §7.5), at the given port.
  const respPort = (flags & NAT_TEST_RESPONSE_PORT) != 0 ? <i32>r.u16() : 0;
  if (!r.ok || ((flags & NAT_TEST_RESPONSE_PORT) != 0 && respPort == 0)) { stats.malformed++; return; }
  if (respPort != 0) {
    txBegin(MSG_NAT_TEST_ACK).u32(nonce).u32(srcIp).u16(<u32>srcPort).u8(0);
    txSendUdp(node.udpSock, srcIp, respPort);
    return;
  }
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
      // BUSY [n u8][(ip u32, port u16) × n]: where else to go (a fresh phone refused by a full bootstrap
      // supernode has no host cache yet; without a list it could only retry the same full supernodes).
      writeNodeList(txBegin(MSG_BUSY), node.prngOverlay);
      connSend(c);
      connClose(c);
      return;
    }
    c.helloUdpPort = <i32>r.u16(); c.helloLocalIp = r.u32(); c.flags = <u8>r.u8();
    c.helloReflexIp = r.u32(); c.helloReflexPort = <i32>r.u16();
    if (!r.ok) { stats.malformed++; return; }
    // Node list for the client's host cache: the supernodes we know best (longest-lived first).
    const w = txBegin(MSG_HELLO_ACK).u32(c.ip).u16(<u32>c.port);
    writeNodeList(w, node.prngOverlay);
    presenceWriteChallenge(w, c.handle, node.prngOverlay); // issue #7: PUBLISH must sign it (sec/presence.ts)
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
    const p0 = r.pos;
    const user = r.str8(USER_MAX); const status = <u8>r.u8();
    // [devId u32] (issue #8), absent from older phones.
    const devId: u32 = r.remaining() >= 4 ? r.u32() : 0;
    if (!r.ok || user.length == 0) { stats.malformed++; return; }
    // issue #7: [certLen][cert][sig] — only the certified holder of `user` may publish it (sec/presence.ts).
    if (presenceCheckPublish(c.handle, user, r.ptr + <usize>p0, r.pos - p0, r, now) != CERT_OK) return;
    c.user = user;
    const rec = new PresenceRecord();
    rec.user = user; rec.status = status; rec.devId = devId;
    rec.snIp = node.localIp; rec.snPort = node.port;
    rec.reflexIp = c.helloReflexIp; rec.reflexPort = c.helloReflexPort;
    rec.localIp = c.helloLocalIp; rec.localPort = c.helloUdpPort;
    rec.flags = c.flags; rec.tcpPort = c.helloUdpPort;
    rec.connHandle = c.handle; rec.updatedUs = now;
    rec.setCert(changetype<usize>(lastCert), lastCertLen);
    c.addr = rec.addr();
    sn.index.set(c.addr, rec);
    if (!sn.userAddrs.has(user)) sn.userAddrs.set(user, new Array<string>());
    if (!sn.userAddrs.get(user).includes(c.addr)) sn.userAddrs.get(user).push(c.addr);
    event("sn.publish", "user=" + user + " flags=" + c.flags.toString());
    broadcastPut(rec);
    dhtPublish(rec, now);
  } else if (type == MSG_SEARCH) {
    const txid = r.u32(); const name = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    search(c, txid, name, now);
  } else if (type == MSG_ROUTE) route(r, now, true, null);
  else if (type == MSG_RELAY) relay(r, now, 0, 0, c);
  else if (type == MSG_RELAY_ALIAS) relayAliasOnFrame(r); // security hook: sec/relay-alias.ts
  else if (type == MSG_PREFIX) snOnPrefix(c, r, serverConn(now), sn.nextReqId++, now);
  else if (type == MSG_BUDDY_OP) {
    // A sealed buddy-list request (issue #8, buddy/buddies.ts): to the login server like LOGIN.
    const s = serverConn(now);
    if (s === null) { stats.unexpected++; return; }
    const id = sn.nextReqId++;
    sn.pendingBuddy.set(id, c.handle);
    const len = r.remaining();
    txBegin(0); tx.pos = 0;
    tx.u32(id).bytes(r.take(len), len);
    connSend(s);
  } else if (type == MSG_BUDDY_WATCH) snWatchSet(c.handle, r);
  else if (imSnOnClientFrame(c, type, r, now)) { /* IM (issue #8, im/hold.ts) */ }
  else stats.unexpected++;
}

function broadcastPut(rec: PresenceRecord): void {
  const ks = sn.peers.values();
  for (let i = 0; i < ks.length; i++) { txBegin(MSG_INDEX_PUT); rec.write(tx); connSend(ks[i]); }
}

/** Supernodes listed in a HELLO_ACK or BUSY (6 bytes each). */
const HELLO_ACK_NODES: i32 = 32;
/**
 * Of those, the longest-lived first; the rest drawn at random from the remaining host cache. Kept small: an entry
 * in every list gets about 1/25 of all fresh phones (they take the first of ~25 non-bootstrap entries to answer),
 * so at 10,000 nodes 16 common entries put 397 clients on one supernode against a mean of 9.
 */
const HELLO_ACK_BEST: i32 = 4;

/**
 * Node list for a client's host cache: [n u8][(ip u32, port u16) × n], n ≤ HELLO_ACK_NODES. The
 * HELLO_ACK_BEST longest-lived entries (skype-facts.md: prefer long-lived supernodes), then a random sample of
 * the others, so that thousands of fresh phones learning their first host cache here do not all pick the same
 * few supernodes (at 10,000 nodes they all bootstrap through the same 7).
 */
function writeNodeList(w: ByteWriter, rng: Prng): void {
  const order = hostCache.best(hostCache.size);
  const n = min(HELLO_ACK_NODES, order.length);
  for (let j = HELLO_ACK_BEST; j < n; j++) {
    const k = j + <i32>rng.below(<u32>(order.length - j));
    const t = order[j]; order[j] = order[k]; order[k] = t;
  }
  w.u8(<u32>n);
  for (let j = 0; j < n; j++) w.u32(hostCache.ip[order[j]]).u16(<u32>hostCache.port[order[j]]);
}

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
    if (!presenceRecordOk(rec.user, rec.certPtr(), rec.certLen, now)) return; // issue #7: certified records only
    // A record for one of our own clients is authoritative here; don't let a stale copy override it.
    const key = rec.addr();
    if (sn.index.has(key) && sn.index.get(key).connHandle >= 0) return;
    rec.updatedUs = now;
    sn.index.set(key, rec);
  } else if (type == MSG_INDEX_DEL) {
    const user = r.str8(ADDR_MAX);
    if (!r.ok) { stats.malformed++; return; }
    // Only the entry that supernode put: the device may have logged in elsewhere since (a login storm).
    if (sn.index.has(user) && sn.index.get(user).connHandle < 0 && sn.index.get(user).snIp == c.ip) sn.index.delete(user);
  } else if (type == MSG_ROUTE) route(r, now, false, c);
  else if (imSnOnPeerFrame(c, type, r, now)) { /* IM (issue #8, im/hold.ts) */ }
  else stats.unexpected++;
}

const pushBuf = new StaticArray<u8>(2 * ADDR_MAX + 8);
/**
 * A client's connection ended: tell the buddies it named in MSG_BUDDY_WATCH (issue #5 presence) with
 * ROUTE [buddy][client addr][MSG_BUDDY_PRESENCE][offline], routed as if the client had sent it.
 */
function pushOffline(c: Conn, now: i64): void {
  const ws = snWatchTake(c.handle);
  if (ws === null || c.addr.length == 0) return;
  for (let i = 0; i < ws.length; i++) {
    const w = new ByteWriter().reset(changetype<usize>(pushBuf), pushBuf.length);
    w.str8(ws[i]).str8(c.addr).u8(MSG_BUDDY_PRESENCE).u8(PRESENCE_OFFLINE);
    if (w.ok) route(new ByteReader().reset(changetype<usize>(pushBuf), w.pos), now, true, null);
  }
}

/** ROUTE: [to str8][from str8][inner message]. Delivered to our client, or forwarded once to the holder SN. */
function route(r: ByteReader, now: i64, fromClient: bool, via: Conn | null): void {
  const start = r.pos;
  const to = r.str8(ADDR_MAX); const from = r.str8(ADDR_MAX);
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
  const hops = r.u8(); const to = relayAliasResolve(r.str8(ADDR_MAX)); // security hook: sec/relay-alias.ts
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
  if (snPrefixOnServer(id, r, now)) return;
  if (sn.pendingBuddy.has(id)) {
    const bc = connGet(sn.pendingBuddy.get(id));
    sn.pendingBuddy.delete(id);
    if (bc === null) return;
    const bn = r.remaining();
    txBegin(MSG_BUDDY_RESP).bytes(r.take(bn), bn);
    connSend(bc);
    return;
  }
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
  presenceForget(c.handle);
  if (c.role == ROLE_SN_CLIENT) {
    sn.clients--;
    pushOffline(c, now);
    if (c.addr.length > 0 && sn.index.has(c.addr) && sn.index.get(c.addr).connHandle == c.handle) {
      const off = copyRecord(sn.index.get(c.addr));
      off.status = PRESENCE_OFFLINE; off.updatedUs = now;
      dhtPublish(off, now);
      sn.index.delete(c.addr);
      if (sn.userAddrs.has(c.user)) {
        const a = sn.userAddrs.get(c.user);
        const i = a.indexOf(c.addr);
        if (i >= 0) a.splice(i, 1);
        if (a.length == 0) sn.userAddrs.delete(c.user);
      }
      event("sn.offline", "user=" + c.user + " addr=" + c.addr);
      const ps = sn.peers.values();
      for (let i = 0; i < ps.length; i++) { txBegin(MSG_INDEX_DEL).str8(c.addr); connSend(ps[i]); }
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
  if (node.isSupernode) return min(indexDeadline(), silentSweepUs);
  if (!node.cfg.supernodeAuto || node.cfg.snMinUptimeS == 0) return NEVER;
  return electionDue();
}

export function snTick(now: i64): void {
  if (node.isSupernode) { sweepSilent(now); indexTick(now); return; }
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

/** A client sends at least its 2-byte TCP keep-alive every 120 s: silent for 2.5 times that, it is gone. */
const CLIENT_SILENT_US: i64 = 300_000_000;
const SILENT_SWEEP_US: i64 = 30_000_000;
let silentSweepUs: i64 = 0;

/**
 * Presence (issue #5): a logged-in client that vanished without closing its connection (power cut, cable
 * pulled) is dropped once silent for CLIENT_SILENT_US, exactly as if it had closed: offline record, buddies told.
 */
function sweepSilent(now: i64): void {
  if (now < silentSweepUs) return;
  silentSweepUs = now + SILENT_SWEEP_US;
  const cs = conns.values();
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    // Only clients with presence (published): a bare search client holds nothing its buddies could miss.
    if (c.role != ROLE_SN_CLIENT || c.addr.length == 0 || c.lastRxUs == 0 || now - c.lastRxUs < CLIENT_SILENT_US) continue;
    event("sn.client.silent", "addr=" + c.addr + " silentS=" + ((now - c.lastRxUs) / 1_000_000).toString());
    connClose(c);
    snOnClosed(c, now);
  }
}

/** Name field of a DHT_FIND without consuming the reader (for the own-client answer). */
function peekName(r: ByteReader): string {
  const save = r.pos;
  r.u32(); r.u32(); r.u32(); r.u8();
  const name = r.str8(USER_MAX);
  r.pos = save; r.ok = true;
  return name;
}

/** Our own clients' records of user `name` (one per device) while online here: the freshest answers there are. */
function ownOnlineAll(name: string): Array<PresenceRecord> {
  const out = new Array<PresenceRecord>();
  if (name.length == 0 || !sn.userAddrs.has(name)) return out;
  const a = sn.userAddrs.get(name);
  for (let i = 0; i < a.length; i++) {
    if (!sn.index.has(a[i])) continue;
    const rec = sn.index.get(a[i]);
    if (rec.connHandle >= 0 && rec.status != PRESENCE_OFFLINE) out.push(rec);
  }
  return out;
}

/** Adds `more` to `recs` unless a record of the same device is there already (the first one wins). */
function mergeDevices(recs: Array<PresenceRecord>, more: Array<PresenceRecord>): void {
  for (let i = 0; i < more.length; i++) {
    let dup = false;
    for (let j = 0; j < recs.length; j++) if (recs[j].user == more[i].user && recs[j].devId == more[i].devId) { dup = true; break; }
    if (!dup) recs.push(more[i]);
  }
}

/** Stores `rec` at the k supernodes closest to its user's key (after a lookup). */
function dhtPublish(rec: PresenceRecord, now: i64): void {
  const l = dhtLookup(LOOKUP_PUBLISH, rec.user, false, now);
  l.rec = copyRecord(rec);
  lookupsFinished(now);
}

/** Caches where `user` is (its supernode) for ROUTE and RELAY, unless it is our own client. */
function learnSn(user: string, snIp: u32, snPort: i32, now: i64): void {
  // `user` is a routing address `user/devid` (issue #8); the index is keyed by it.
  if (sn.index.has(user)) {
    const e = sn.index.get(user);
    if (e.connHandle >= 0) return;
    e.snIp = snIp; e.snPort = snPort; e.updatedUs = now;
    return;
  }
  const rec = new PresenceRecord();
  rec.user = addrUser(user); rec.status = PRESENCE_ONLINE; rec.snIp = snIp; rec.snPort = snPort; rec.updatedUs = now;
  sn.index.set(user, rec);
}

/** Whether `user` has a device online here or in our stored index copy (we are one of its k closest). */
function onlineDevices(name: string, now: i64): Array<PresenceRecord> {
  const recs = ownOnlineAll(name);
  const all = dhtGetAll(name, now);
  const stored = new Array<PresenceRecord>();
  for (let i = 0; i < all.length; i++) stored.push(all[i].rec);
  mergeDevices(recs, stored);
  return recs;
}

/**
 * SEARCH from a client: our own client, then our stored copy, then a Kademlia value lookup; a name nobody
 * holds goes to the login server's directory, so every search ends with a definite answer.
 */
function search(c: Conn, txid: u32, name: string, now: i64): void {
  // Issue #8: every device of the user. Our stored copy (we are one of the user's k closest) holds them all;
  // otherwise a lookup, merged with our own clients' records.
  // Only an online record ends it here: an offline one may be an old session's, kept by us while the k closest
  // (we may no longer be one of them) hold the newer login, so the lookup runs with our records in hand.
  let known: Array<StoredRecord> | null = null;
  if (dht.users.has(name)) {
    const s = dhtGet(name, now);
    if (s !== null && s.rec.status != PRESENCE_OFFLINE) { answerAll(c.handle, txid, name, onlineDevices(name, now), s.rec, NF_UNKNOWN, now, now, 0, 0); return; }
    if (s !== null) known = dhtGetAll(name, now);
  }
  const hit = known === null ? searchCacheGet(name, now) : null;
  if (hit !== null) { answerCached(c.handle, txid, name, hit, now); return; }
  const l = dhtLookup(LOOKUP_SEARCH, name, true, now, 0, known);
  l.clientHandle = c.handle; l.clientTxid = txid;
  lookupsFinished(now);
}

/** A search answered from the search cache (search-cache.ts), merged with our own clients' devices. */
function answerCached(handle: i32, txid: u32, name: string, hit: CachedResult, now: i64): void {
  if (hit.recs.length == 0) { answer(handle, txid, name, null, hit.reason, now, now, 0, 0); return; }
  const devs = ownOnlineAll(name);
  mergeDevices(devs, hit.recs);
  answerAll(handle, txid, name, devs, hit.recs[0], NF_UNKNOWN, now, now, 0, 0);
}

/** What we answer a DHT_FIND with besides our stored records: our own clients' devices, else a cached result. */
function findLocal(name: string, now: i64): Array<PresenceRecord> {
  const own = ownOnlineAll(name);
  if (own.length > 0 || name.length == 0 || dht.users.has(name)) return own;
  const hit = searchCacheGet(name, now);
  if (hit !== null) for (let i = 0; i < hit.recs.length; i++) own.push(hit.recs[i]);
  return own;
}

/**
 * Caches a found search result here and at the supernode on the lookup path closest to the key that answered
 * without it (Kademlia's caching along the path, short TTL).
 */
function cacheFound(l: Lookup, f: PresenceRecord, now: i64): void {
  const recs = new Array<PresenceRecord>();
  if (l.foundAll.length > 0) for (let i = 0; i < l.foundAll.length; i++) recs.push(l.foundAll[i]); else recs.push(f);
  searchCachePut(l.name, recs, 0, now, SEARCH_CACHE_TTL_US);
  const idx = dhtLookupClosest(l);
  for (let i = 0; i < idx.length; i++) {
    const ip = l.cIp[idx[i]], port = l.cPort[idx[i]];
    if (node.isSelf(ip, port) || (ip == l.foundIp && port == l.foundPort)) continue;
    searchCacheSend(ip, port, recs);
    break;
  }
}

/**
 * SEARCH_RESP [txid][found u8]: found 1 + record for a user online (or away); found 0 + [reason u8]: 0 no
 * such user, 1 the user exists but was not seen in 72 h, 2 offline and seen within 72 h (+ record), 3 the
 * directory could not be asked. Logs `sn.search` with the lookup's cost.
 */
function answer(handle: i32, txid: u32, name: string, rec: PresenceRecord | null, reason: u8, startUs: i64, now: i64, msgs: i32, bytes: i32): void {
  answerAll(handle, txid, name, new Array<PresenceRecord>(), rec, reason, startUs, now, msgs, bytes);
}

/**
 * SEARCH_RESP with every online device of the user (issue #8): found 1, the first record, then
 * `[more u8][record × more]` (readers before issue #8 stop after the first). With no device online, as
 * `answer` with `fallback` (the newest offline record) or `reason`.
 */
function answerAll(handle: i32, txid: u32, name: string, online: Array<PresenceRecord>, fallback: PresenceRecord | null, reason: u8, startUs: i64, now: i64, msgs: i32, bytes: i32): void {
  let result = "online";
  const live = new Array<PresenceRecord>();
  for (let i = 0; i < online.length && live.length < 8; i++) if (online[i].status != PRESENCE_OFFLINE && online[i].user == name) live.push(online[i]);
  const rec: PresenceRecord | null = live.length > 0 ? live[0] : fallback;
  const w = txBegin(MSG_SEARCH_RESP).u32(txid);
  if (live.length > 0) {
    w.u8(1); live[0].write(w);
    w.u8(<u32>(live.length - 1));
    for (let i = 1; i < live.length; i++) live[i].write(w);
    for (let i = 1; i < live.length; i++) if (live[i].snIp != node.localIp) learnSn(live[i].addr(), live[i].snIp, live[i].snPort, now);
    result = "online devices=" + live.length.toString();
    // Issue #7/#8: then [off u8][record × off], the last records of the user's devices that are offline, so a
    // sender can hold a sealed copy for each of them (firmware/im/im.ts); readers before stop earlier.
    const offline = new Array<PresenceRecord>();
    for (let i = 0; i < online.length && offline.length < 7; i++) {
      const o = online[i];
      if (o.user != name || o.status != PRESENCE_OFFLINE) continue;
      let dup = false;
      for (let j = 0; j < live.length; j++) if (live[j].devId == o.devId) dup = true;
      for (let j = 0; j < offline.length; j++) if (offline[j].devId == o.devId) dup = true;
      if (!dup) offline.push(o);
    }
    w.u8(<u32>offline.length);
    for (let i = 0; i < offline.length; i++) offline[i].write(w);
  }
  else if (rec !== null && rec.status != PRESENCE_OFFLINE) { w.u8(1); rec.write(w); }
  else if (rec !== null) {
    w.u8(0).u8(NF_OFFLINE); rec.write(w); result = "offline";
    // Issue #7/#8: then [more u8][record × more], the user's other devices' last records, whose certified keys a
    // sender seals a held IM to (firmware/im/im.ts hold); readers before stop after the first record.
    const others = new Array<PresenceRecord>();
    for (let i = 0; i < online.length && others.length < 7; i++) if (online[i].user == name && online[i].devId != rec.devId) others.push(online[i]);
    w.u8(<u32>others.length);
    for (let i = 0; i < others.length; i++) others[i].write(w);
  }
  else {
    w.u8(0).u8(reason);
    result = reason == NF_NOT_SEEN ? "exists" : reason == NF_UNKNOWN ? "unknown" : "error";
  }
  if (rec !== null && rec.status != PRESENCE_OFFLINE && rec.snIp != node.localIp) learnSn(rec.addr(), rec.snIp, rec.snPort, now);
  const c = connGet(handle);
  if (c !== null) connSend(c);
  event("sn.search", "name=" + name + " result=" + result + " ms=" + ((now - startUs) / 1000).toString() +
    " msgs=" + msgs.toString() + " bytes=" + bytes.toString());
}

/** Runs lookupsFinished (for the IM module's lookups, firmware/im/hold.ts). */
export function snLookupsFinished(now: i64): void { lookupsFinished(now); }

/** Acts on lookups that finished: answers searches, stores published records. */
function lookupsFinished(now: i64): void {
  while (dht.finished.length > 0) {
    const l = dht.finished.shift();
    if (l.kind == LOOKUP_SEARCH) {
      const f = l.found;
      const devs = ownOnlineAll(l.name);
      mergeDevices(devs, l.foundAll);
      if (f !== null) cacheFound(l, f, now);
      if (f !== null || devs.length > 0) answerAll(l.clientHandle, l.clientTxid, l.name, devs, f, NF_UNKNOWN, l.startUs, now, l.msgs, l.bytes);
      else askDirectory(l, now);
    } else if (l.kind == LOOKUP_PUBLISH) {
      const rec = l.rec;
      if (rec === null) continue;
      const idx = dhtLookupClosest(l);
      for (let i = 0; i < idx.length; i++) dhtStoreAt(l.cIp[idx[i]], l.cPort[idx[i]], rec, rec.updatedUs, now);
    } else imSnLookupDone(l, now);
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
  if (reason != NF_NO_DIRECTORY) searchCachePut(d.l.name, new Array<PresenceRecord>(), reason, now, NEG_TTL_US);
  answer(d.l.clientHandle, d.l.clientTxid, d.l.name, null, reason, d.l.startUs, now, d.l.msgs, d.l.bytes);
}

function indexDeadline(): i64 {
  let d = dhtDeadline();
  if (sn.republishUs < d) d = sn.republishUs;
  const pd = snPrefixDeadline();
  if (pd < d) d = pd;
  if (loadReportUs < d) d = loadReportUs;
  if (sn.joinUs < d) d = sn.joinUs;
  const ids = sn.dirLookups.keys();
  for (let i = 0; i < ids.length; i++) {
    const t = sn.dirLookups.get(ids[i]).sentUs + DIR_TIMEOUT_US;
    if (t < d) d = t;
  }
  return d;
}

/** Lookup timeouts, the 10-minute re-publish of our online clients, directory timeouts. */
/** When the next `sn.load` event is due (every LOAD_REPORT_US while a supernode). */
let loadReportUs: i64 = 0;
const LOAD_REPORT_US: i64 = 60_000_000;

/** `sn.load`: clients, index records held for others and relayed calls, the limits, and the refusals so far (BUSY). */
export function snLoadReport(): void {
  const cfg = node.cfg;
  event("sn.load", "clients=" + sn.clients.toString() + " records=" + dht.records.size.toString() + " relays=" + sn.relays.size.toString() +
    " maxClients=" + cfg.snMaxClients.toString() + " maxRecords=" + cfg.snMaxRecords.toString() + " maxRelays=" + cfg.snMaxRelays.toString() +
    " busyClients=" + sn.clientsRefused.toString() + " busyRecords=" + dht.refused.toString() + " busyRelays=" + sn.relaysRefused.toString() +
    " busyGot=" + dht.busyGot.toString() + " cacheHits=" + searchCache.hits.toString() + " staleOffline=" + dht.staleOffline.toString());
}

function indexTick(now: i64): void {
  dhtTick(now);
  snPrefixTick(now);
  if (now >= loadReportUs) {
    if (loadReportUs > 0) snLoadReport();
    loadReportUs = now + LOAD_REPORT_US;
  }
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
