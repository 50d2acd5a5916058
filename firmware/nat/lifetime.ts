import { node } from "../overlay/node";
import { ByteReader } from "../lib/bytes";
import { txBegin, txSendUdp } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { MSG_NAT_TEST, NAT_TEST_RESPONSE_PORT } from "../wire/types";
import { netUdpClose, netUdpOpen } from "../../hal/net";

/**
 * UDP binding lifetime discovery in the manner of RFC 5780 §4.6, and the keep-alive interval derived from it.
 *
 * Each test i opens a fresh socket X_i and sends one NAT_TEST from it to our supernode (creating a NAT binding
 * B_i and learning its external port). T_i later — with nothing sent on X_i meanwhile — the main socket asks
 * the supernode (NAT_TEST with RESPONSE_PORT = B_i's port) to answer to B_i. The answer reaches X_i only if
 * B_i is still alive: the NAT's UDP mapping timeout is then > T_i. The tests run side by side (one socket
 * each) instead of RFC 5780's one-at-a-time search, so the whole measurement takes max T_i ≈ 27 s:
 *
 *   T_i = 3, 6, 10, 15, 20, 27 s        L = the largest T_i such that it and every shorter test survived
 *
 * Keep-alive interval (RFC 4787 REQ-5 allows NATs ≥ 2 min, but many time out in 30 s or less; RFC 5626 §4.4.1
 * style "refresh well before the binding lifetime"): interval = clamp(¾·L, 2 s, KEEPALIVE_CAP_US = 20 s).
 * A NAT that keeps bindings ≥ 27 s gets the 20 s default cap; one with a 15 s timeout gets ¾·10 s = 7.5 s.
 * Until the first measurement finishes we refresh every KEEPALIVE_LEARNING_US (5 s) so that no binding can
 * expire while it runs; a public host (no NAT) keeps the 20 s cap without testing. An answer lost in the
 * network reads as an expired binding: it can only make the interval shorter (safe side).
 */
export const KEEPALIVE_CAP_US: i64 = 20_000_000;
export const KEEPALIVE_LEARNING_US: i64 = 5_000_000;
export const KEEPALIVE_MIN_US: i64 = 2_000_000;
const TESTS: i32 = 6;
const TEST_US: StaticArray<i64> = [3_000_000, 6_000_000, 10_000_000, 15_000_000, 20_000_000, 27_000_000];
/** Retry of the opening NAT_TEST; how long to wait for the answer to a RESPONSE_PORT request. */
const OPEN_RETRY_US: i64 = 250_000;
const OPEN_TRIES: i32 = 3;
const ANSWER_WAIT_US: i64 = 1_000_000;

const T_OPENING: u8 = 0;
const T_WAITING: u8 = 1;
const T_ASKED: u8 = 2;
const T_ALIVE: u8 = 3;
const T_DEAD: u8 = 4;

export class BindingLifetime {
  running: bool = false;
  snIp: u32 = 0;
  snPort: i32 = 0;
  sock: StaticArray<i32> = new StaticArray<i32>(TESTS);
  nonce: StaticArray<u32> = new StaticArray<u32>(TESTS);
  state: StaticArray<u8> = new StaticArray<u8>(TESTS);
  tries: StaticArray<i32> = new StaticArray<i32>(TESTS);
  extPort: StaticArray<i32> = new StaticArray<i32>(TESTS);
  /** Time of the last packet sent on X_i (the binding's last refresh), then the time of the next action. */
  lastTxUs: StaticArray<i64> = new StaticArray<i64>(TESTS);
  dueUs: StaticArray<i64> = new StaticArray<i64>(TESTS);
  startUs: i64 = 0;
  /** Result: lower bound of the UDP binding lifetime, µs (0 = none of the tests survived; -1 = never measured). */
  lifetimeUs: i64 = -1;
  /** Current UDP keep-alive interval, µs. */
  intervalUs: i64 = KEEPALIVE_LEARNING_US;
  runs: i32 = 0;
  /** Set when a measurement finished; nat/discovery.ts then stores it in flash (KEY_NAT) and clears it. */
  dirty: bool = false;
}

export const lifetime = new BindingLifetime();

function closeAll(): void {
  for (let i = 0; i < TESTS; i++) if (lifetime.sock[i] >= 0) { netUdpClose(lifetime.sock[i]); lifetime.sock[i] = -1; }
}

/** No NAT in front of us: nothing to measure, refresh at the cap. */
export function lifetimeNoNat(): void {
  if (lifetime.running) { closeAll(); lifetime.running = false; }
  lifetime.intervalUs = KEEPALIVE_CAP_US;
}

/** Starts a measurement against supernode snIp:snPort (after NAT discovery found a NAT). No-op if one runs. */
export function lifetimeStart(snIp: u32, snPort: i32, now: i64): void {
  if (lifetime.running) return;
  lifetime.running = true;
  lifetime.snIp = snIp; lifetime.snPort = snPort;
  lifetime.startUs = now;
  lifetime.runs++;
  for (let i = 0; i < TESTS; i++) {
    lifetime.sock[i] = netUdpOpen(0);
    lifetime.state[i] = lifetime.sock[i] >= 0 ? T_OPENING : T_DEAD;
    lifetime.tries[i] = 0;
    lifetime.nonce[i] = node.prngOverlay.next();
    lifetime.dueUs[i] = now;
  }
  lifetimeTick(now);
}

export function lifetimeDeadline(): i64 {
  if (!lifetime.running) return NEVER;
  let d = NEVER;
  for (let i = 0; i < TESTS; i++) {
    const s = lifetime.state[i];
    if ((s == T_OPENING || s == T_WAITING || s == T_ASKED) && lifetime.dueUs[i] < d) d = lifetime.dueUs[i];
  }
  return d;
}

export function lifetimeTick(now: i64): void {
  if (!lifetime.running) return;
  for (let i = 0; i < TESTS; i++) {
    if (now < lifetime.dueUs[i]) continue;
    const s = lifetime.state[i];
    if (s == T_OPENING) {
      if (lifetime.tries[i] >= OPEN_TRIES) { setDead(i); continue; }
      lifetime.tries[i]++;
      txBegin(MSG_NAT_TEST).u32(lifetime.nonce[i]).u8(0);
      txSendUdp(lifetime.sock[i], lifetime.snIp, lifetime.snPort);
      lifetime.lastTxUs[i] = now;
      lifetime.dueUs[i] = now + OPEN_RETRY_US;
    } else if (s == T_WAITING) {
      // Ask from the main socket: the answer must come back to X_i's binding, which has been idle T_i.
      lifetime.state[i] = T_ASKED;
      lifetime.nonce[i] = node.prngOverlay.next();
      txBegin(MSG_NAT_TEST).u32(lifetime.nonce[i]).u8(NAT_TEST_RESPONSE_PORT).u16(<u32>lifetime.extPort[i]);
      txSendUdp(node.udpSock, lifetime.snIp, lifetime.snPort);
      lifetime.dueUs[i] = now + ANSWER_WAIT_US;
    } else if (s == T_ASKED) setDead(i);
  }
  maybeFinish(now);
}

function setDead(i: i32): void {
  lifetime.state[i] = T_DEAD;
  if (lifetime.sock[i] >= 0) { netUdpClose(lifetime.sock[i]); lifetime.sock[i] = -1; }
  // A binding that died within T_i: the longer tests cannot survive either.
  for (let j = i + 1; j < TESTS; j++) {
    if (lifetime.state[j] != T_ALIVE) {
      lifetime.state[j] = T_DEAD;
      if (lifetime.sock[j] >= 0) { netUdpClose(lifetime.sock[j]); lifetime.sock[j] = -1; }
    }
  }
}

function maybeFinish(now: i64): void {
  for (let i = 0; i < TESTS; i++) if (lifetime.state[i] != T_ALIVE && lifetime.state[i] != T_DEAD) return;
  let l: i64 = 0;
  for (let i = 0; i < TESTS; i++) { if (lifetime.state[i] != T_ALIVE) break; l = TEST_US[i]; }
  closeAll();
  lifetime.running = false;
  lifetime.lifetimeUs = l;
  lifetime.intervalUs = keepaliveIntervalFor(l);
  lifetime.dirty = true;
  event("nat.lifetime", "lifetimeMsAtLeast=" + (l / 1000).toString() + " keepaliveMs=" + (lifetime.intervalUs / 1000).toString() +
    " ms=" + ((now - lifetime.startUs) / 1000).toString());
}

/** ¾ of the measured lifetime bound, within [KEEPALIVE_MIN_US, KEEPALIVE_CAP_US]. */
export function keepaliveIntervalFor(lifetimeUs: i64): i64 {
  let v = lifetimeUs * 3 / 4;
  if (v > KEEPALIVE_CAP_US) v = KEEPALIVE_CAP_US;
  if (v < KEEPALIVE_MIN_US) v = KEEPALIVE_MIN_US;
  return v;
}

/** The UDP keep-alive interval to use now (overlay/client.ts). */
export function natKeepaliveIntervalUs(): i64 { return lifetime.intervalUs; }

/** True if `sock` is one of the test sockets. */
export function lifetimeOwns(sock: i32): bool {
  if (!lifetime.running || sock < 0) return false;
  for (let i = 0; i < TESTS; i++) if (lifetime.sock[i] == sock) return true;
  return false;
}

/** NAT_TEST_ACK [nonce u32][observedIp u32][observedPort u16][from u8] on test socket `sock`. */
export function lifetimeOnAck(sock: i32, r: ByteReader, now: i64): void {
  const nonce = r.u32(); r.u32(); const port = <i32>r.u16(); r.u8();
  if (!r.ok) { stats.malformed++; return; }
  for (let i = 0; i < TESTS; i++) {
    if (lifetime.sock[i] != sock) continue;
    if (nonce != lifetime.nonce[i]) { stats.unexpected++; return; }
    if (lifetime.state[i] == T_OPENING) {
      lifetime.extPort[i] = port;
      lifetime.state[i] = T_WAITING;
      lifetime.dueUs[i] = lifetime.lastTxUs[i] + TEST_US[i];
    } else if (lifetime.state[i] == T_ASKED) {
      lifetime.state[i] = T_ALIVE;
      netUdpClose(lifetime.sock[i]); lifetime.sock[i] = -1;
      maybeFinish(now);
    } else stats.unexpected++;
    return;
  }
}
