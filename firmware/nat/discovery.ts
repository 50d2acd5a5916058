import { node } from "../overlay/node";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp, tx } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event, logWarn } from "../lib/log";
import { endpointToString } from "../lib/addr";
import { stats } from "../lib/stats";
import { KEY_NAT } from "../lib/keys";
import { MSG_NAT_TEST, NAT_TEST_CHANGE_IP, NAT_TEST_CHANGE_PORT } from "../wire/types";
import { netUdpClose, netUdpOpen } from "../../hal/net";
import { storageWrite } from "../../hal/storage";
import { lifetime, lifetimeDeadline, lifetimeNoNat, lifetimeOnAck, lifetimeOwns, lifetimeStart, lifetimeTick } from "./lifetime";

/**
 * NAT behaviour discovery in the manner of RFC 5780 §4.3–4.4, with supernodes as the reflectors: the
 * "alternate port" is the SN's second UDP port (primary + 1) and the "alternate address" is another
 * supernode. It runs on a fresh UDP socket so that probes sent earlier (login) have not opened any filter:
 *
 *   T1  → SN A                       mapping X1 (and: no NAT if X1 = our own address)
 *   T4  → SN A, change IP            answered from another SN's alternate port: endpoint-independent filtering
 *   T5  → SN A, change port          answered from A's alternate port: address-dependent filtering
 *                                    (neither answered: address-and-port-dependent filtering)
 *   T2  → SN B                       X2 = X1: endpoint-independent mapping
 *   T3  → SN A alternate port        X3 = X1: address-dependent, else address-and-port-dependent mapping
 *
 * Filtering is tested before the mapping tests for the same reason RFC 5780 orders them so: once we have
 * sent to B or to A's other port, their answers would pass any filter. T4 and T5 go out together (both to
 * A's primary port, so neither opens the filter for the other's answer), and so do T2 and T3 (T2 first: the
 * NAT allocates X2 before X3); a pair waits at most TRIES × RETRY_US. The result (RFC 4787 terms) is kept
 * in flash (KEY_NAT), logged as a `nat.type` event, shown by the console, and refreshed periodically and
 * when a supernode reports a different reflexive address. `portDelta` (X2 − X1) lets the phone predict the
 * ports of a NAT that allocates sequentially (RFC 4787 §4.2): when X2 and X3 both lie a small step of the
 * same sign past X1 (for a random allocator the chance is ~1e-7; see classifyMapping) the NAT is taken to be
 * `sequential`, and at call time `natPredictProbe` opens one more fresh binding (STEP_PREDICT) whose port is
 * the base of the prediction sent to the peer (nat/punch.ts). When the NAT is found, its UDP binding
 * lifetime is measured next (nat/lifetime.ts) and sets the keep-alive interval.
 */
export const MAPPING_UNKNOWN: u8 = 0;
export const MAPPING_NONE: u8 = 1;
export const MAPPING_ENDPOINT_INDEPENDENT: u8 = 2;
export const MAPPING_ADDRESS_DEPENDENT: u8 = 3;
export const MAPPING_ADDRESS_AND_PORT_DEPENDENT: u8 = 4;

export const FILTERING_UNKNOWN: u8 = 0;
export const FILTERING_ENDPOINT_INDEPENDENT: u8 = 2;
export const FILTERING_ADDRESS_DEPENDENT: u8 = 3;
export const FILTERING_ADDRESS_AND_PORT_DEPENDENT: u8 = 4;

const STEP_IDLE: i32 = 0;
const STEP_T1: i32 = 1;
/** T4 (nonce) and T5 (nonceB) together. */
const STEP_FILTER: i32 = 2;
/** T2 (nonce) and T3 (nonceB) together. */
const STEP_MAP: i32 = 3;
const STEP_PREDICT: i32 = 6;
/** Largest |port step| taken as sequential allocation. */
const SEQ_STEP_MAX: i32 = 16;
/** A prediction base older than this is not offered (other bindings may have been allocated since). */
const PREDICT_FRESH_US: i64 = 20_000_000;
const PREDICT_RETRY_US: i64 = 100_000;

const RETRY_US: i64 = 150_000;
const TRIES: i32 = 3;
/** Re-run discovery this often while online (and at once when the reflexive address changes). */
export const NAT_REFRESH_US: i64 = 600_000_000;

export class NatDiscovery {
  step: i32 = STEP_IDLE;
  sock: i32 = -1;
  nonce: u32 = 0;
  nonceB: u32 = 0;
  /** Answers seen in a paired step: the first test (T4 / T2), the second (T5 / T3). */
  gotA: bool = false;
  gotB: bool = false;
  x3Ip: u32 = 0; x3Port: i32 = 0;
  tries: i32 = 0;
  nextUs: i64 = NEVER;
  snAIp: u32 = 0; snAPort: i32 = 0;
  snBIp: u32 = 0; snBPort: i32 = 0;
  x1Ip: u32 = 0; x1Port: i32 = 0;
  x2Ip: u32 = 0; x2Port: i32 = 0;
  // result
  done: bool = false;
  mapping: u8 = MAPPING_UNKNOWN;
  filtering: u8 = FILTERING_UNKNOWN;
  portDelta: i32 = 0;
  /** Sequential port allocation detected (two equal-signed small steps, X2 − X1 and X3 − X2). */
  sequential: bool = false;
  /** Last prediction probe: the external address and port of the newest binding, and when (0 = none). */
  predIp: u32 = 0;
  predPort: i32 = 0;
  predUs: i64 = 0;
  reflexIp: u32 = 0;
  reflexPort: i32 = 0;
  runs: i32 = 0;
  startUs: i64 = 0;
  refreshUs: i64 = NEVER;
}

export const disco = new NatDiscovery();

/** Starts (or restarts) discovery against supernode A and a second supernode B (B may be 0: unknown). */
export function natDiscoveryStart(aIp: u32, aPort: i32, bIp: u32, bPort: i32, now: i64): void {
  if (disco.sock >= 0) { netUdpClose(disco.sock); disco.sock = -1; }
  disco.sock = netUdpOpen(0);
  if (disco.sock < 0) { logWarn("nat discovery: no UDP socket (" + disco.sock.toString() + ")"); disco.refreshUs = now + NAT_REFRESH_US; return; }
  disco.snAIp = aIp; disco.snAPort = aPort; disco.snBIp = bIp; disco.snBPort = bPort;
  disco.runs++;
  disco.startUs = now;
  disco.mapping = MAPPING_UNKNOWN; disco.filtering = FILTERING_UNKNOWN; disco.portDelta = 0; disco.sequential = false;
  disco.done = false;
  begin(STEP_T1, now);
}

function begin(step: i32, now: i64): void {
  disco.step = step;
  disco.tries = 0;
  disco.nonce = node.prngOverlay.next();
  disco.nonceB = step == STEP_FILTER || step == STEP_MAP ? node.prngOverlay.next() : 0;
  disco.gotA = false; disco.gotB = false;
  send(now);
}

function send(now: i64): void {
  const st = disco.step;
  if (st == STEP_FILTER) {
    if (!disco.gotA) { txBegin(MSG_NAT_TEST).u32(disco.nonce).u8(NAT_TEST_CHANGE_IP); txSendUdp(disco.sock, disco.snAIp, disco.snAPort); }
    if (!disco.gotB) { txBegin(MSG_NAT_TEST).u32(disco.nonceB).u8(NAT_TEST_CHANGE_PORT); txSendUdp(disco.sock, disco.snAIp, disco.snAPort); }
  } else if (st == STEP_MAP) {
    if (!disco.gotA) { txBegin(MSG_NAT_TEST).u32(disco.nonce).u8(0); txSendUdp(disco.sock, disco.snBIp, disco.snBPort); }
    if (!disco.gotB) { txBegin(MSG_NAT_TEST).u32(disco.nonceB).u8(0); txSendUdp(disco.sock, disco.snAIp, disco.snAPort + 1); }
  } else {
    txBegin(MSG_NAT_TEST).u32(disco.nonce).u8(0);
    txSendUdp(disco.sock, disco.snAIp, disco.snAPort);
  }
  disco.tries++;
  disco.nextUs = now + (disco.step == STEP_PREDICT ? PREDICT_RETRY_US : RETRY_US);
}

export function natDiscoveryDeadline(): i64 {
  let d = disco.step != STEP_IDLE ? disco.nextUs : NEVER;
  if (disco.refreshUs < d) d = disco.refreshUs;
  const l = lifetimeDeadline();
  if (l < d) d = l;
  return d;
}

/**
 * Retries and timeouts; a timed-out filtering step is itself a result (that filter dropped the answer).
 * Returns true once when a periodic refresh is due (the caller restarts discovery if it is online).
 */
export function natDiscoveryTick(now: i64): bool {
  lifetimeTick(now);
  if (lifetime.dirty) { lifetime.dirty = false; save(); }
  if (disco.step == STEP_PREDICT) {
    if (now < disco.nextUs) return false;
    if (disco.tries < TRIES) { send(now); return false; }
    predictDone();
    return false;
  }
  if (disco.step == STEP_IDLE) {
    if (now < disco.refreshUs) return false;
    disco.refreshUs = NEVER;
    return true;
  }
  if (now < disco.nextUs) return false;
  if (disco.tries < TRIES) { send(now); return false; }
  const st = disco.step;
  if (st == STEP_T1) finish(now, true);
  else if (st == STEP_FILTER) {
    // T4 unanswered; T5 answered or not tells address-dependent from address-and-port-dependent filtering
    disco.filtering = disco.gotB ? FILTERING_ADDRESS_DEPENDENT : FILTERING_ADDRESS_AND_PORT_DEPENDENT;
    afterFiltering(now);
  } else finish(now, false); // T2/T3 unanswered: mapping stays unknown
  return false;
}

/** NAT_TEST_ACK [nonce u32][observedIp u32][observedPort u16][from u8] on the discovery socket. */
export function natDiscoveryOnAck(r: ByteReader, now: i64): void {
  const nonce = r.u32(); const ip = r.u32(); const port = <i32>r.u16(); r.u8();
  if (!r.ok) { stats.malformed++; return; }
  if (disco.step == STEP_IDLE || (nonce != disco.nonce && (disco.nonceB == 0 || nonce != disco.nonceB))) { stats.unexpected++; return; }
  const st = disco.step;
  const second = nonce != disco.nonce;
  if (st == STEP_PREDICT) {
    disco.predIp = ip; disco.predPort = port; disco.predUs = now;
    predictDone();
    event("nat.predict", "base=" + endpointToString(ip, port) + " delta=" + disco.portDelta.toString());
    return;
  }
  if (st == STEP_T1) {
    disco.x1Ip = ip; disco.x1Port = port;
    disco.reflexIp = ip; disco.reflexPort = port;
    begin(STEP_FILTER, now);
  } else if (st == STEP_FILTER) {
    if (!second) { disco.filtering = FILTERING_ENDPOINT_INDEPENDENT; afterFiltering(now); }
    else disco.gotB = true; // address-dependent at least; T4 may still prove endpoint-independent
  } else if (st == STEP_MAP) {
    if (!second) {
      if (disco.gotA) return;
      disco.gotA = true;
      disco.x2Ip = ip; disco.x2Port = port;
      disco.portDelta = port - disco.x1Port;
      if (ip == disco.x1Ip && port == disco.x1Port) { disco.mapping = MAPPING_ENDPOINT_INDEPENDENT; finish(now, false); return; }
    } else {
      if (disco.gotB) return;
      disco.gotB = true;
      disco.x3Ip = ip; disco.x3Port = port;
    }
    if (disco.gotA && disco.gotB) classifyMapping(now);
  }
}

/** T2 and T3 both answered and X2 ≠ X1. */
function classifyMapping(now: i64): void {
  const ip = disco.x3Ip, port = disco.x3Port;
  disco.mapping = ip == disco.x1Ip && port == disco.x1Port ? MAPPING_ADDRESS_DEPENDENT : MAPPING_ADDRESS_AND_PORT_DEPENDENT;
  // X2 and X3 are two new bindings made at the same moment (which one the NAT saw first is not certain):
  // a sequential allocator puts both a small step of the same sign past X1, at different ports. The step is
  // the smallest of the gaps (a larger one may include a binding someone else took in between).
  const a = disco.x2Port - disco.x1Port, b = port - disco.x1Port;
  if (ip == disco.x2Ip && a != 0 && b != 0 && a != b && (a > 0) == (b > 0) && abs(a) <= SEQ_STEP_MAX && abs(b) <= SEQ_STEP_MAX) {
    let step = min(abs(a), min(abs(b), abs(a - b)));
    disco.sequential = true;
    disco.portDelta = a > 0 ? step : -step;
  }
  finish(now, false);
}

function afterFiltering(now: i64): void {
  if (disco.x1Ip == node.localIp) {
    // Our own address came back: no translation at all (a public host, perhaps behind a filtering firewall).
    disco.mapping = MAPPING_NONE;
    finish(now, false);
  } else if (disco.snBIp != 0) begin(STEP_MAP, now);
  else finish(now, false);
}

function finish(now: i64, udpBlocked: bool): void {
  disco.step = STEP_IDLE;
  disco.nextUs = NEVER;
  disco.done = !udpBlocked;
  if (disco.sock >= 0) { netUdpClose(disco.sock); disco.sock = -1; }
  disco.refreshUs = now + NAT_REFRESH_US;
  save();
  event("nat.type", natTypeText() + " ms=" + ((now - disco.startUs) / 1000).toString());
  if (disco.done && disco.mapping != MAPPING_NONE) lifetimeStart(disco.snAIp, disco.snAPort, now);
  else if (disco.done) lifetimeNoNat();
}

function abs(v: i32): i32 { return v < 0 ? -v : v; }

/**
 * Port prediction probe (call setup, before any punching): behind a sequential symmetric NAT, opens one fresh
 * binding to our supernode so that the next bindings (toward the peer's candidates) are predictable from its
 * port. No-op when the NAT is not sequential or a discovery run is in progress.
 */
export function natPredictProbe(now: i64): void {
  if (!disco.done || !disco.sequential || disco.step != STEP_IDLE || disco.snAIp == 0) return;
  disco.sock = netUdpOpen(0);
  if (disco.sock < 0) { disco.sock = -1; return; }
  disco.predUs = 0;
  begin(STEP_PREDICT, now);
}

/** True while the prediction probe waits for its answer (punching waits too: it would take the ports). */
export function natPredictPending(): bool { return disco.step == STEP_PREDICT; }

/** The prediction base (external port of the newest binding), if measured within PREDICT_FRESH_US; else 0. */
export function natPredictedBase(now: i64): i32 {
  return disco.predUs > 0 && now - disco.predUs < PREDICT_FRESH_US ? disco.predPort : 0;
}

function predictDone(): void {
  disco.step = STEP_IDLE;
  disco.nextUs = NEVER;
  if (disco.sock >= 0) { netUdpClose(disco.sock); disco.sock = -1; }
}

/** Whether `sock` is one of ours (discovery, prediction or binding-lifetime tests). */
export function natOwnsSock(sock: i32): bool { return sock >= 0 && (sock == disco.sock || lifetimeOwns(sock)); }

/** A NAT_TEST_ACK on one of our sockets. */
export function natOnAck(sock: i32, r: ByteReader, now: i64): void {
  if (sock == disco.sock) natDiscoveryOnAck(r, now); else lifetimeOnAck(sock, r, now);
  if (lifetime.dirty) { lifetime.dirty = false; save(); }
}

function save(): void {
  const buf = new StaticArray<u8>(16);
  buf[0] = 1; buf[1] = disco.mapping; buf[2] = disco.filtering;
  buf[3] = <u8>(disco.portDelta >> 8); buf[4] = <u8>disco.portDelta;
  buf[5] = <u8>(disco.reflexIp >> 24); buf[6] = <u8>(disco.reflexIp >> 16); buf[7] = <u8>(disco.reflexIp >> 8); buf[8] = <u8>disco.reflexIp;
  buf[9] = <u8>(disco.reflexPort >> 8); buf[10] = <u8>disco.reflexPort;
  buf[11] = disco.sequential ? 1 : 0;
  // binding lifetime lower bound, s (0 = unknown / none survived; kept from the previous run until remeasured)
  const lifeS = lifetime.lifetimeUs > 0 ? <i32>(lifetime.lifetimeUs / 1_000_000) : 0;
  buf[12] = <u8>lifeS;
  storageWrite(KEY_NAT, changetype<usize>(buf), 13);
}

export function mappingName(m: u8): string {
  if (m == MAPPING_NONE) return "none";
  if (m == MAPPING_ENDPOINT_INDEPENDENT) return "endpoint-independent";
  if (m == MAPPING_ADDRESS_DEPENDENT) return "address-dependent";
  if (m == MAPPING_ADDRESS_AND_PORT_DEPENDENT) return "address-and-port-dependent";
  return "unknown";
}

export function filteringName(f: u8): string {
  if (f == FILTERING_ENDPOINT_INDEPENDENT) return "endpoint-independent";
  if (f == FILTERING_ADDRESS_DEPENDENT) return "address-dependent";
  if (f == FILTERING_ADDRESS_AND_PORT_DEPENDENT) return "address-and-port-dependent";
  return "unknown";
}

/** `mapping=… filtering=… portDelta=… reflexive=…` for events and the console's `nat` command. */
export function natTypeText(): string {
  if (!disco.done) return "udp=blocked-or-unknown runs=" + disco.runs.toString();
  return "mapping=" + mappingName(disco.mapping) + " filtering=" + filteringName(disco.filtering) +
    " portDelta=" + disco.portDelta.toString() + " sequential=" + (disco.sequential ? "1" : "0") +
    " reflexive=" + endpointToString(disco.reflexIp, disco.reflexPort) +
    " keepaliveMs=" + (lifetime.intervalUs / 1000).toString();
}

export function natDiscoverySock(): i32 { return disco.sock; }
