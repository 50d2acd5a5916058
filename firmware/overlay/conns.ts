import { Deframer } from "../wire/frame";
import { tx, txSendTcp } from "../lib/tx";
import { netTcpClose, netTcpConnect } from "../../hal/net";
import { stats } from "../lib/stats";
import { SecureChannel } from "../sec/channel";

/** What a TCP connection is for; decides which module gets its frames. */
export const ROLE_PENDING: i32 = 0;   // accepted, first frame not seen yet
export const ROLE_SC_SN: i32 = 1;     // this phone's connection to its supernode
export const ROLE_SN_CLIENT: i32 = 2; // supernode side of a client's connection
export const ROLE_SN_PEER: i32 = 3;   // supernode ↔ supernode
export const ROLE_SN_SERVER: i32 = 4; // supernode → login server
export const ROLE_CALL: i32 = 5;      // direct phone ↔ phone call signaling

const OUTBOX_CAP: i32 = 16384;

/** One TCP connection: its role, its frame reassembler, and frames queued until it is connected. */
export class Conn {
  rx: Deframer = new Deframer();
  connected: bool = false;
  /** SN_CLIENT: the logged-in user; CALL: the peer user. */
  user: string = "";
  /** SN_CLIENT: the client's routing address `user/devid` (issue #8: several phones per user). */
  addr: string = "";
  /** SN_CLIENT: the client's UDP endpoint as seen by this SN (from MSG_KEEPALIVE); 0 if unknown. */
  udpIp: u32 = 0;
  udpPort: i32 = 0;
  /** SN_CLIENT: flags from MSG_HELLO. */
  flags: u8 = 0;
  helloUdpPort: i32 = 0;
  helloLocalIp: u32 = 0;
  helloReflexIp: u32 = 0;
  helloReflexPort: i32 = 0;
  outbox: StaticArray<u8> | null = null;
  /** Noise channel (sec/channel.ts): every frame after its handshake is sealed; null = plaintext (SN → login server). */
  chan: SecureChannel | null = null;
  outLen: i32 = 0;
  openedUs: i64 = 0;
  /** When bytes last arrived (µs; 0 = never): a supernode drops a client silent too long (overlay/supernode.ts). */
  lastRxUs: i64 = 0;

  constructor(public handle: i32, public role: i32, public ip: u32, public port: i32) {}
}

export const conns = new Map<i32, Conn>();

/** Opens a TCP connection for `role`; frames sent before it connects are queued. Returns null on HAL error. */
export function connOpen(role: i32, ip: u32, port: i32, nowUs: i64): Conn | null {
  const h = netTcpConnect(ip, port);
  if (h < 0) return null;
  const c = new Conn(h, role, ip, port);
  // Security hook: overlay connections between nodes are Noise channels (we initiate); frames queue until it is up.
  if (role == ROLE_SC_SN || role == ROLE_SN_PEER || role == ROLE_CALL) c.chan = new SecureChannel(true);
  c.openedUs = nowUs;
  conns.set(h, c);
  return c;
}

export function connGet(h: i32): Conn | null { return conns.has(h) ? conns.get(h) : null; }

/** Sends the message in `tx` as one frame on c, or queues it until c connects. */
export function connSend(c: Conn): bool {
  const ch = c.chan;
  if (c.connected && ch === null) return txSendTcp(c.handle) >= 0;
  // Security hook: sealed by the channel once its handshake is done, queued (below) until then.
  if (c.connected && ch !== null && ch.ready) {
    if (!tx.ok) { stats.txOverflow++; return false; }
    stats.tcpTxFrames++;
    return ch.send(c.handle, tx.ptr, tx.pos);
  }
  if (!tx.ok) { stats.txOverflow++; return false; }
  let box = c.outbox;
  if (box === null) { box = new StaticArray<u8>(OUTBOX_CAP); c.outbox = box; }
  const n = tx.pos;
  if (c.outLen + 2 + n > OUTBOX_CAP) return false;
  const p = changetype<usize>(box) + <usize>c.outLen;
  store<u8>(p, <u8>(n >> 8)); store<u8>(p + 1, <u8>n);
  memory.copy(p + 2, tx.ptr, <usize>n);
  c.outLen += 2 + n;
  return true;
}

import { netTcpSend } from "../../hal/net";
/** Called when c becomes connected: sends what was queued. */
export function connFlush(c: Conn): void {
  const ch = c.chan;
  // Security hook: a channel first runs its handshake; the queue is sealed and sent when it completes.
  if (ch !== null && !ch.ready) { ch.start(c.handle); return; }
  const box = c.outbox;
  if (box !== null && c.outLen > 0) netTcpSend(c.handle, changetype<usize>(box), c.outLen);
  c.outLen = 0;
  c.outbox = null;
}

export function connClose(c: Conn): void {
  const ch = c.chan;
  if (ch !== null) ch.wipe();
  netTcpClose(c.handle);
  conns.delete(c.handle);
}

/**
 * Security hook for every received frame (main.ts): runs the connection's Noise channel (sec/channel.ts).
 * An accepted connection becomes a channel with its first frame. Returns the plaintext length (opened in
 * place at p), 0 for a handshake frame, or −1 after marking the stream broken (the caller then closes it).
 */
export function connOpenFrame(c: Conn, p: usize, n: i32, nowUs: i64): i32 {
  let ch = c.chan;
  if (ch === null) {
    if (c.role != ROLE_PENDING) return n; // plaintext connection (supernode → login server)
    ch = new SecureChannel(false);
    c.chan = ch;
  }
  const wasReady = ch.ready;
  const m = ch.onFrame(c.handle, p, n, nowUs);
  if (m < 0) { c.rx.broken = true; ch.wipe(); return -1; }
  if (!wasReady && ch.ready) {
    if (!ch.initiator) chanTokens.set(ch.token, c);
    // Handshake done: seal and send what was queued meanwhile.
    const box = c.outbox;
    if (box !== null) {
      let off = 0;
      while (off + 2 <= c.outLen) {
        const q = changetype<usize>(box) + <usize>off;
        const len = (<i32>load<u8>(q) << 8) | <i32>load<u8>(q + 1);
        if (off + 2 + len > c.outLen) break;
        ch.send(c.handle, q + 2, len);
        stats.tcpTxFrames++;
        off += 2 + len;
      }
    }
    c.outLen = 0;
    c.outbox = null;
  }
  return m;
}

/** Supernode side: channel token → the client's connection (for KEEPALIVE, which must not name the user). */
const chanTokens = new Map<string, Conn>();

/**
 * What a phone's UDP KEEPALIVE names itself by: its channel's token when the connection to the supernode is a
 * ready Noise channel (a link eavesdropper then learns no user name), else `addr` (sec/channel.ts).
 */
export function connKeepaliveToken(sn: Conn | null, addr: string): string {
  if (sn === null) return addr;
  const ch = sn.chan;
  return ch !== null && ch.ready ? ch.token : addr;
}

/** Supernode: the routing address a KEEPALIVE name stands for — a channel token's client, or the name itself. */
export function connKeepaliveAddr(name: string): string {
  if (name.length == 0 || name.charCodeAt(0) != 0x7E || !chanTokens.has(name)) return name;
  const c = chanTokens.get(name);
  if (!conns.has(c.handle) || conns.get(c.handle) !== c) { chanTokens.delete(name); return ""; }
  return c.addr.length > 0 ? c.addr : c.user;
}
