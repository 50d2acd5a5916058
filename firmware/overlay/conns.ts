import { Deframer } from "../wire/frame";
import { tx, txSendTcp } from "../lib/tx";
import { netTcpClose, netTcpConnect } from "../../hal/net";
import { stats } from "../lib/stats";

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
  outLen: i32 = 0;
  openedUs: i64 = 0;

  constructor(public handle: i32, public role: i32, public ip: u32, public port: i32) {}
}

export const conns = new Map<i32, Conn>();

/** Opens a TCP connection for `role`; frames sent before it connects are queued. Returns null on HAL error. */
export function connOpen(role: i32, ip: u32, port: i32, nowUs: i64): Conn | null {
  const h = netTcpConnect(ip, port);
  if (h < 0) return null;
  const c = new Conn(h, role, ip, port);
  c.openedUs = nowUs;
  conns.set(h, c);
  return c;
}

export function connGet(h: i32): Conn | null { return conns.has(h) ? conns.get(h) : null; }

/** Sends the message in `tx` as one frame on c, or queues it until c connects. */
export function connSend(c: Conn): bool {
  if (c.connected) return txSendTcp(c.handle) >= 0;
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
  const box = c.outbox;
  if (box !== null && c.outLen > 0) netTcpSend(c.handle, changetype<usize>(box), c.outLen);
  c.outLen = 0;
  c.outbox = null;
}

export function connClose(c: Conn): void {
  netTcpClose(c.handle);
  conns.delete(c.handle);
}
