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
 * sent to B or to A's other port, their answers would pass any filter. The result (RFC 4787 terms) is kept
 * in flash (KEY_NAT), logged as a `nat.type` event, shown by the console, and refreshed periodically and
 * when a supernode reports a different reflexive address. `portDelta` (X2 − X1) lets the phone predict the
 * ports of a NAT that allocates sequentially (RFC 4787 §4.2).
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
const STEP_T4: i32 = 2;
const STEP_T5: i32 = 3;
const STEP_T2: i32 = 4;
const STEP_T3: i32 = 5;

const RETRY_US: i64 = 200_000;
const TRIES: i32 = 3;
/** Re-run discovery this often while online (and at once when the reflexive address changes). */
export const NAT_REFRESH_US: i64 = 600_000_000;

export class NatDiscovery {
  step: i32 = STEP_IDLE;
  sock: i32 = -1;
  nonce: u32 = 0;
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
  disco.mapping = MAPPING_UNKNOWN; disco.filtering = FILTERING_UNKNOWN; disco.portDelta = 0;
  disco.done = false;
  begin(STEP_T1, now);
}

function begin(step: i32, now: i64): void {
  disco.step = step;
  disco.tries = 0;
  disco.nonce = node.prngOverlay.next();
  send(now);
}

function send(now: i64): void {
  let ip = disco.snAIp, port = disco.snAPort, flags: u8 = 0;
  if (disco.step == STEP_T4) flags = NAT_TEST_CHANGE_IP;
  else if (disco.step == STEP_T5) flags = NAT_TEST_CHANGE_PORT;
  else if (disco.step == STEP_T2) { ip = disco.snBIp; port = disco.snBPort; }
  else if (disco.step == STEP_T3) port = disco.snAPort + 1;
  txBegin(MSG_NAT_TEST).u32(disco.nonce).u8(flags);
  txSendUdp(disco.sock, ip, port);
  disco.tries++;
  disco.nextUs = now + RETRY_US;
}

export function natDiscoveryDeadline(): i64 {
  let d = disco.step != STEP_IDLE ? disco.nextUs : NEVER;
  if (disco.refreshUs < d) d = disco.refreshUs;
  return d;
}

/**
 * Retries and timeouts; a timed-out filtering step is itself a result (that filter dropped the answer).
 * Returns true once when a periodic refresh is due (the caller restarts discovery if it is online).
 */
export function natDiscoveryTick(now: i64): bool {
  if (disco.step == STEP_IDLE) {
    if (now < disco.refreshUs) return false;
    disco.refreshUs = NEVER;
    return true;
  }
  if (now < disco.nextUs) return false;
  if (disco.tries < TRIES) { send(now); return false; }
  const st = disco.step;
  if (st == STEP_T1) finish(now, true);
  else if (st == STEP_T4) begin(STEP_T5, now);
  else if (st == STEP_T5) { disco.filtering = FILTERING_ADDRESS_AND_PORT_DEPENDENT; afterFiltering(now); }
  else finish(now, false); // T2/T3 unanswered: mapping stays unknown
  return false;
}

/** NAT_TEST_ACK [nonce u32][observedIp u32][observedPort u16][from u8] on the discovery socket. */
export function natDiscoveryOnAck(r: ByteReader, now: i64): void {
  const nonce = r.u32(); const ip = r.u32(); const port = <i32>r.u16(); r.u8();
  if (!r.ok) { stats.malformed++; return; }
  if (disco.step == STEP_IDLE || nonce != disco.nonce) { stats.unexpected++; return; }
  const st = disco.step;
  if (st == STEP_T1) {
    disco.x1Ip = ip; disco.x1Port = port;
    disco.reflexIp = ip; disco.reflexPort = port;
    begin(STEP_T4, now);
  } else if (st == STEP_T4) {
    disco.filtering = FILTERING_ENDPOINT_INDEPENDENT;
    afterFiltering(now);
  } else if (st == STEP_T5) {
    disco.filtering = FILTERING_ADDRESS_DEPENDENT;
    afterFiltering(now);
  } else if (st == STEP_T2) {
    disco.x2Ip = ip; disco.x2Port = port;
    disco.portDelta = port - disco.x1Port;
    if (ip == disco.x1Ip && port == disco.x1Port) { disco.mapping = MAPPING_ENDPOINT_INDEPENDENT; finish(now, false); }
    else begin(STEP_T3, now);
  } else if (st == STEP_T3) {
    disco.mapping = ip == disco.x1Ip && port == disco.x1Port ? MAPPING_ADDRESS_DEPENDENT : MAPPING_ADDRESS_AND_PORT_DEPENDENT;
    finish(now, false);
  }
}

function afterFiltering(now: i64): void {
  if (disco.x1Ip == node.localIp) {
    // Our own address came back: no translation at all (a public host, perhaps behind a filtering firewall).
    disco.mapping = MAPPING_NONE;
    finish(now, false);
  } else if (disco.snBIp != 0) begin(STEP_T2, now);
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
}

function save(): void {
  const buf = new StaticArray<u8>(16);
  buf[0] = 1; buf[1] = disco.mapping; buf[2] = disco.filtering;
  buf[3] = <u8>(disco.portDelta >> 8); buf[4] = <u8>disco.portDelta;
  buf[5] = <u8>(disco.reflexIp >> 24); buf[6] = <u8>(disco.reflexIp >> 16); buf[7] = <u8>(disco.reflexIp >> 8); buf[8] = <u8>disco.reflexIp;
  buf[9] = <u8>(disco.reflexPort >> 8); buf[10] = <u8>disco.reflexPort;
  storageWrite(KEY_NAT, changetype<usize>(buf), 11);
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
    " portDelta=" + disco.portDelta.toString() + " reflexive=" + endpointToString(disco.reflexIp, disco.reflexPort);
}

export function natDiscoverySock(): i32 { return disco.sock; }
