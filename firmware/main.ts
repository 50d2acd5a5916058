/**
 * firmware.wasm entry: the exports the host calls (hal/ABI.md §Exports). Every export takes the current
 * time and returns the absolute time (µs) of the firmware's next deadline, or -1 when it has none: the host
 * calls `tick` then (or earlier, with an event). The firmware never blocks and never polls.
 */
import { setNow, nowUs, NEVER } from "./lib/clock";
import { ByteReader } from "./lib/bytes";
import { event, logError, logInfo } from "./lib/log";
import { stats } from "./lib/stats";
import { KEY_PROVISIONING } from "./lib/keys";
import { ipIsPrivate, endpointToString } from "./lib/addr";
import { node } from "./overlay/node";
import { connOpenFrame } from "./overlay/conns";
import { Conn, conns, connClose, connFlush, connGet, ROLE_CALL, ROLE_PENDING, ROLE_SC_SN, ROLE_SN_CLIENT, ROLE_SN_PEER, ROLE_SN_SERVER } from "./overlay/conns";
import { buddyDeadline, buddyStart, buddyTick } from "./buddy/buddies";
import { clientDeadline, clientOnClosed, clientOnConnected, clientOnFrame, clientOnKeepaliveAck, clientOnProbeAck, clientOnRelayRefused, clientStart, clientTick } from "./overlay/client";
import { snClassify, snDeadline, snOnAltUdp, snOnClientFrame, snOnClosed, snOnPeerFrame, snOnServerFrame, snOnUdp, snStart, snTick } from "./overlay/supernode";
import { natDiscoveryDeadline, natOnAck, natOwnsSock } from "./nat/discovery";
import { callDeadline, callOnConnClosed, callOnConnected, callOnSignal, callSendPathDown, callTick } from "./call/call";
import { callSendNatInfo } from "./call/call";
import { natInfoTrickleDue } from "./nat/punch";
import { punchDeadline, punchOnUdp, punchTick } from "./nat/punch";
import { pathDeadline, pathTick } from "./nat/path";
import { holdDeadline, holdTick } from "./call/hold";
import { confDeadline, confOnAudio, confTick } from "./call/conference";
import { mediaOnAudio, mediaOnRelayed, mediaOnRtp } from "./media/session";
import { uiDeadline, uiOnKey, uiStart, uiTick } from "./ui/phone-ui";
import { consoleOnBytes, consoleStart } from "./ui/console";
import { ui } from "./ui/phone-ui";
import { ringerOnAudio } from "./ui/ringer";
import { media } from "./media/session";
import { provisioningLoad } from "./device/provisioning";
import { secBoot } from "./sec/boot";
import { bootDeadline, bootStart, bootTick } from "./device/boot";
import { updateDeadline, updateOnClosed, updateOnConnected, updateOnData, updateOwns, updateStart, updateTick } from "./device/update";
import {
  MSG_INVITE, MSG_KEEPALIVE, MSG_PROBE, MSG_PROBE_ACK, MSG_PUNCH, MSG_PUNCH_ACK, MSG_RELAY, MSG_RELAYED,
  MSG_NAT_TEST, MSG_NAT_TEST_ACK, MSG_NAT_TEST_FWD, MSG_KEEPALIVE_ACK, MSG_CALL_ATTACH, MSG_RELAY_REFUSED,
  MSG_DHT_FIND, MSG_DHT_FOUND, MSG_DHT_STORE,
} from "./wire/types";
import { netLocalIp, netTcpListen, netUdpOpen, netUdpLocalPort } from "../hal/net";
import { storageRead } from "../hal/storage";
import "../hal/system";
import { imDeadline, imOnUdp, imTick } from "./im/im";
import { imSnDeadline, imSnOnUdp, imSnTick } from "./im/hold";
import { dgram, dgramDeadline, dgramIsLayer, dgramNextHeld, dgramOnUdp, dgramSealedType, dgramStats, dgramTick } from "./sec/dgram";
import { storageReload } from "./device/storage-fuzz";

const RX_CAP: i32 = 65536;
const rxBuf = new StaticArray<u8>(RX_CAP);
const AUDIO_CAP: i32 = 480;
const audioBuf = new StaticArray<i16>(AUDIO_CAP);
const reader = new ByteReader();

/** Address of the receive buffer the host copies UDP/TCP/UART bytes into before an on* call. */
export function halRxBuf(): usize { return changetype<usize>(rxBuf); }
/** Capacity of the receive buffer in bytes (the host splits larger TCP reads). */
export function halRxCap(): i32 { return RX_CAP; }
/** Address of the audio buffer (i16 samples) the host fills with one microphone block before onAudio. */
export function halAudioBuf(): usize { return changetype<usize>(audioBuf); }
/** Capacity of the audio buffer in samples. */
export function halAudioCap(): i32 { return AUDIO_CAP; }

let booted = false;

/**
 * Boots the firmware: reads provisioning from flash, opens the node's UDP socket and TCP listener, takes the
 * supernode role if allowed and publicly addressed, and starts logging in. `seed` seeds every PRNG stream.
 */
export function init(seed: i64, now: i64): i64 {
  setNow(now);
  node.bootUs = now;
  node.seed(<u64>seed);
  const cfgBuf = new StaticArray<u8>(4096);
  const n = storageRead(KEY_PROVISIONING, changetype<usize>(cfgBuf), 4096);
  if (n > 0) provisioningLoad(String.UTF8.decodeUnsafe(changetype<usize>(cfgBuf), min(n, 4096), false));
  if (node.cfg.errors > 0) logError("provisioning: " + node.cfg.errors.toString() + " error(s), first: " + node.cfg.firstError);
  secBoot();
  node.localIp = netLocalIp();
  let port = node.cfg.port;
  if (port == 0) port = 1024 + <i32>node.prngOverlay.below(64000);
  node.udpSock = netUdpOpen(port);
  if (node.udpSock < 0) { logError("udp port " + port.toString() + " unavailable"); node.udpSock = netUdpOpen(0); }
  node.port = node.udpSock >= 0 ? netUdpLocalPort(node.udpSock) : 0;
  node.tcpListener = netTcpListen(node.port);
  // With snMinUptimeS > 0 the role is taken later, by election (overlay/supernode.ts snTick).
  node.isSupernode = node.cfg.supernodeAuto && node.cfg.snMinUptimeS == 0 && !ipIsPrivate(node.localIp) && node.tcpListener >= 0;
  // A supernode also accepts clients on the web ports, the way out of firewalls that allow nothing else.
  if (node.isSupernode) { netTcpListen(443); netTcpListen(80); }
  event("boot", "addr=" + endpointToString(node.localIp, node.port) + " supernode=" + (node.isSupernode ? "1" : "0") +
    " user=" + node.cfg.user);
  booted = true;
  bootStart(now);
  uiStart();
  consoleStart();
  if (node.isSupernode) snStart(now);
  clientStart(now);
  buddyStart(now);
  updateStart(now);
  return deadline();
}

/** Timer service: runs every module whose deadline has passed. */
export function tick(now: i64): i64 {
  setNow(now);
  if (!booted) return -1;
  clientTick(now);
  imTick(now);
  if (node.isSupernode) { imSnTick(now); dgramTick(now); }
  snTick(now);
  callTick(now);
  holdTick(now);
  confTick(now);
  buddyTick(now);
  punchTick(now);
  if (pathTick(now)) callSendPathDown();
  if (natInfoTrickleDue(now)) callSendNatInfo();
  bootTick(now);
  updateTick(now, ui.lastKeyUs);
  uiTick(now);
  return deadline();
}

function deadline(): i64 {
  let d = clientDeadline();
  d = min(d, snDeadline());
  d = min(d, callDeadline());
  d = min(d, holdDeadline());
  d = min(d, confDeadline());
  d = min(d, buddyDeadline());
  d = min(d, punchDeadline());
  d = min(d, pathDeadline());
  d = min(d, uiDeadline());
  d = min(d, natDiscoveryDeadline());
  d = min(d, bootDeadline());
  d = min(d, updateDeadline());
  d = min(d, imDeadline());
  if (node.isSupernode) { d = min(d, imSnDeadline()); d = min(d, dgramDeadline()); }
  return d == NEVER ? -1 : d;
}

/** A UDP datagram of `len` bytes (in the rx buffer) from srcIp:srcPort arrived on socket `sock`. */
export function onUdp(sock: i32, srcIp: u32, srcPort: i32, len: i32, now: i64): i64 {
  setNow(now);
  if (len <= 0 || len > RX_CAP) { stats.malformed++; return deadline(); }
  stats.udpRx++;
  const p = changetype<usize>(rxBuf);
  const first = load<u8>(p);
  if ((first & 0xC0) == 0x80) { mediaOnRtp(srcIp, srcPort, p, len, now); return after(now); }
  // Security hook (issue #7): supernode ↔ supernode messages arrive sealed (sec/dgram.ts), never in clear.
  dgram.rxOverhead = 0;
  if (sock == node.udpSock && dgramIsLayer(first)) {
    if (!node.isSupernode) { stats.unexpected++; return after(now); }
    let n = dgramOnUdp(sock, srcIp, srcPort, p, len, now);
    // One datagram may release several messages (DATA that overtook the handshake's last message).
    while (n > 0) { udpDispatch(sock, load<u8>(p), srcIp, srcPort, p, n, now); n = dgramNextHeld(srcIp, srcPort, p, now); }
    return after(now);
  }
  if (dgramSealedType(p, len)) { dgramStats.plainDropped++; return after(now); }
  udpDispatch(sock, first, srcIp, srcPort, p, len, now);
  return after(now);
}

/** Hands one UDP message `[type][body]` (len bytes at p) to the module that owns its type. */
function udpDispatch(sock: i32, first: u8, srcIp: u32, srcPort: i32, p: usize, len: i32, now: i64): void {
  const r = reader.reset(p + 1, len - 1);
  if (sock != node.udpSock) {
    if (sock == node.altUdpSock && node.isSupernode) snOnAltUdp(first, srcIp, srcPort, r, now);
    else if (natOwnsSock(sock) && first == MSG_NAT_TEST_ACK) natOnAck(sock, r, now);
    else stats.unexpected++;
    return;
  }
  if (first == MSG_PROBE || first == MSG_KEEPALIVE || first == MSG_RELAY || first == MSG_NAT_TEST || first == MSG_NAT_TEST_FWD ||
      first == MSG_DHT_FIND || first == MSG_DHT_FOUND || first == MSG_DHT_STORE || first == 0x33 /* DHT_BUSY */ || first == 0x34 /* DHT_CACHE */) {
    if (node.isSupernode) snOnUdp(first, srcIp, srcPort, r, now); else stats.unexpected++;
  } else if (first == MSG_PROBE_ACK) clientOnProbeAck(srcIp, srcPort, r, now);
  else if (first == MSG_KEEPALIVE_ACK) clientOnKeepaliveAck(srcIp, srcPort, r, now);
  else if (first == MSG_RELAY_REFUSED) clientOnRelayRefused(srcIp, srcPort, r, now);
  else if (first == MSG_PUNCH || first == MSG_PUNCH_ACK) punchOnUdp(first, srcIp, srcPort, r, now);
  else if (first == MSG_RELAYED) mediaOnRelayed(r, now);
  else if (first >= 0x60 && first <= 0x6F) {
    // Issue #8: IM (phone side, firmware/im/im.ts) and held IMs (supernode side, firmware/im/hold.ts).
    if (!imOnUdp(first, srcIp, srcPort, r, now) && !(node.isSupernode && imSnOnUdp(first, srcIp, srcPort, r, now))) stats.unexpected++;
  }
  else stats.malformed++;
}

/** An inbound connection `conn` from ip:port was accepted on `listener`. */
export function onTcpAccept(listener: i32, conn: i32, ip: u32, port: i32, now: i64): i64 {
  setNow(now);
  const c = new Conn(conn, ROLE_PENDING, ip, port);
  c.connected = true;
  c.openedUs = now;
  conns.set(conn, c);
  return deadline();
}

/** An outgoing connection finished connecting: status 0, or a negative HAL error (refused, timed out). */
export function onTcpConnected(conn: i32, status: i32, now: i64): i64 {
  setNow(now);
  if (updateOwns(conn)) { updateOnConnected(conn, status, now); return after(now); }
  const c = connGet(conn);
  if (c === null) return deadline();
  if (status < 0) { closed(c, now); return after(now); }
  c.connected = true;
  connFlush(c);
  if (c.role == ROLE_SC_SN) clientOnConnected(c, now);
  else if (c.role == ROLE_CALL) callOnConnected(c, now);
  return after(now);
}

/** `len` bytes of connection `conn` are in the rx buffer. */
export function onTcpData(conn: i32, len: i32, now: i64): i64 {
  setNow(now);
  if (updateOwns(conn)) { if (len > 0 && len <= RX_CAP) updateOnData(conn, changetype<usize>(rxBuf), len, now); return after(now); }
  const c = connGet(conn);
  if (c === null || len <= 0 || len > RX_CAP) return deadline();
  c.lastRxUs = now;
  let off = 0;
  while (off < len) {
    off += c.rx.push(changetype<usize>(rxBuf) + <usize>off, len - off);
    let n = c.rx.next();
    while (n >= 0) {
      if (n > 0) frame(c, c.rx.bodyPtr(), n, now);
      if (!conns.has(conn)) return after(now); // closed while handling
      n = c.rx.next();
    }
    if (c.rx.broken) { stats.brokenStreams++; closed(c, now); connClose(c); return after(now); }
  }
  return after(now);
}

function frame(c: Conn, p: usize, len: i32, now: i64): void {
  stats.tcpRxFrames++;
  // Security hook: Noise channel layer (overlay/conns.ts → sec/channel.ts): handshake frames are consumed,
  // sealed frames opened in place; a bad one marks the stream broken and onTcpData closes it.
  const n = connOpenFrame(c, p, len, now);
  if (n <= 0) return;
  if (c.role == ROLE_SN_SERVER) { snOnServerFrame(p, n, now); return; }
  const type = load<u8>(p);
  const r = reader.reset(p + 1, n - 1);
  if (c.role == ROLE_PENDING) {
    if (type == MSG_INVITE || type == MSG_CALL_ATTACH) c.role = ROLE_CALL;
    else if (!node.isSupernode || snClassify(c, type) < 0) { stats.unexpected++; connClose(c); return; }
  }
  const role = c.role;
  if (role == ROLE_SC_SN) clientOnFrame(c, type, r, now);
  else if (role == ROLE_SN_CLIENT) snOnClientFrame(c, type, r, now);
  else if (role == ROLE_SN_PEER) snOnPeerFrame(c, type, r, now);
  else if (role == ROLE_CALL) {
    if (type == MSG_RELAYED) mediaOnRelayed(r, now); // media on a direct TCP connection
    else callOnSignal(c, c.user, type, r, now);
  }
}

/** Connection `conn` was closed by the peer, failed, or was reset; reason is a HAL error or 0. */
export function onTcpClosed(conn: i32, reason: i32, now: i64): i64 {
  setNow(now);
  if (updateOwns(conn)) { updateOnClosed(conn, now); return after(now); }
  const c = connGet(conn);
  if (c !== null) { closed(c, now); conns.delete(conn); }
  return after(now);
}

function closed(c: Conn, now: i64): void {
  conns.delete(c.handle);
  if (c.role == ROLE_SC_SN) clientOnClosed(c, now);
  else if (c.role == ROLE_CALL) callOnConnClosed(c, now);
  else if (c.role == ROLE_SN_CLIENT || c.role == ROLE_SN_PEER || c.role == ROLE_SN_SERVER) snOnClosed(c, now);
}

/** One 10 ms microphone block of `samples` samples is in the audio buffer (only while audio is started). */
export function onAudio(samples: i32, now: i64): i64 {
  setNow(now);
  if (samples > 0 && samples <= AUDIO_CAP) {
    if (confOnAudio(changetype<usize>(audioBuf), samples, now)) {} // conference legs: the mixer (issue #8)
    else if (media.active) mediaOnAudio(changetype<usize>(audioBuf), samples, now);
    else ringerOnAudio(samples);
  }
  return after(now);
}

/** A key went down (down = 1) or up (0). Codes: firmware/ui/keys.ts. */
export function onKey(code: i32, down: i32, now: i64): i64 {
  setNow(now);
  uiOnKey(code, down != 0, now);
  return after(now);
}

/** `len` bytes from the UART are in the rx buffer. */
export function onUart(len: i32, now: i64): i64 {
  setNow(now);
  if (len > 0 && len <= RX_CAP) consoleOnBytes(changetype<usize>(rxBuf), len, now);
  return after(now);
}

/**
 * Fuzzing only (hal/ABI.md; tests/fuzz target fw.storage.records): re-runs the boot-time decoder of flash key
 * `key` on the record now in storage (firmware/device/storage-fuzz.ts), logs `storage.reload key=… result=…`
 * and returns the next deadline. A phone's host never calls it; it reads and decodes, as at boot.
 */
export function fuzzStorage(key: i32, now: i64): i64 {
  setNow(now);
  if (!booted) return -1;
  storageReload(key);
  return after(now);
}

/** Runs due timers after an event (a screen redraw, a punch retry) and returns the next deadline. */
function after(now: i64): i64 { return tick(now); }
