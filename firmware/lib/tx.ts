import { ByteWriter } from "./bytes";
import { FRAME_MAX } from "../wire/types";
import { netTcpSend, netUdpSend } from "../../hal/net";
import { stats } from "./stats";
import { nowUs } from "./clock";
import { dgramSealedType, dgramSend } from "../sec/dgram";

/**
 * The transmit scratch buffer. A message is built with `txBegin(type)` and sent as a UDP datagram
 * (`txSendUdp`) or as one TCP frame (`txSendTcp`, which fills in the 2-byte length). Two bytes are kept
 * free in front so both work without copying. Only one message is built at a time; messages that embed
 * another (MSG_ROUTE) build the inner one in `inner` first.
 */
const txBuf = new StaticArray<u8>(FRAME_MAX + 2);
export const tx = new ByteWriter();

const innerBuf = new StaticArray<u8>(FRAME_MAX);
/** Second writer for a message that will be embedded in another. */
export const inner = new ByteWriter();

export function txBegin(type: u8): ByteWriter {
  tx.reset(changetype<usize>(txBuf) + 2, FRAME_MAX);
  tx.u8(type);
  return tx;
}

export function innerBegin(type: u8): ByteWriter {
  inner.reset(changetype<usize>(innerBuf), FRAME_MAX);
  inner.u8(type);
  return inner;
}

export function txSendUdp(sock: i32, ip: u32, port: i32): i32 {
  if (!tx.ok) { stats.txOverflow++; return -1; }
  stats.udpTx++;
  // Security hook (issue #7): supernode ↔ supernode messages go sealed (sec/dgram.ts); returns the wire bytes.
  if (dgramSealedType(changetype<usize>(txBuf) + 2, tx.pos)) return dgramSend(sock, ip, port, changetype<usize>(txBuf) + 2, tx.pos, nowUs);
  return netUdpSend(sock, ip, port, changetype<usize>(txBuf) + 2, tx.pos);
}

export function txSendTcp(conn: i32): i32 {
  if (!tx.ok) { stats.txOverflow++; return -1; }
  const p = changetype<usize>(txBuf);
  store<u8>(p, <u8>(tx.pos >> 8)); store<u8>(p + 1, <u8>tx.pos);
  stats.tcpTxFrames++;
  return netTcpSend(conn, p, tx.pos + 2);
}

/** Start and length of the message currently built (without the frame length). */
export function txPtr(): usize { return changetype<usize>(txBuf) + 2; }
