import { FRAME_MAX } from "./types";

/** A Noise channel (sec/channel.ts) frame is a FRAME_MAX message plus its 16-byte AEAD tag. */
const FRAME_SEAL_TAG: i32 = 16;
/** Largest frame length accepted on the wire (a sealed FRAME_MAX message). */
export const FRAME_WIRE_MAX: i32 = FRAME_MAX + FRAME_SEAL_TAG;

/**
 * Reassembles `[len u16][body]` frames from a TCP byte stream. Fixed capacity (2 + FRAME_MAX bytes of
 * backlog per frame plus one read chunk), no allocation after construction. A length above FRAME_MAX is
 * a protocol error: `broken` is set and the caller closes the connection.
 */
export class Deframer {
  buf: StaticArray<u8>;
  have: i32 = 0;
  /** Set when the stream carried an impossible length; nothing more is returned. */
  broken: bool = false;
  private consumed: i32 = 0;

  constructor() { this.buf = new StaticArray<u8>(2 * (FRAME_MAX + 2)); }

  /**
   * Appends up to `len` bytes from `src`; returns how many were taken (less than len when the backlog is
   * full: call next() until it returns -1, then push the rest).
   */
  push(src: usize, len: i32): i32 {
    this.compact();
    const room = this.buf.length - this.have;
    const n = len < room ? len : room;
    if (n > 0) memory.copy(changetype<usize>(this.buf) + <usize>this.have, src, <usize>n);
    this.have += n;
    return n;
  }

  /**
   * Returns the length of the next complete frame body (its bytes start at `bodyPtr()`), or -1 when
   * no complete frame is buffered. Length 0 is a keep-alive.
   */
  next(): i32 {
    if (this.broken) return -1;
    const avail = this.have - this.consumed;
    if (avail < 2) return -1;
    const p = changetype<usize>(this.buf) + <usize>this.consumed;
    const n = (<i32>load<u8>(p) << 8) | <i32>load<u8>(p + 1);
    if (n > FRAME_WIRE_MAX) { this.broken = true; return -1; }
    if (avail < 2 + n) return -1;
    this.bodyAt = p + 2;
    this.consumed += 2 + n;
    return n;
  }

  bodyAt: usize = 0;
  bodyPtr(): usize { return this.bodyAt; }

  private compact(): void {
    if (this.consumed == 0) return;
    const rest = this.have - this.consumed;
    if (rest > 0) memory.copy(changetype<usize>(this.buf), changetype<usize>(this.buf) + <usize>this.consumed, <usize>rest);
    this.have = rest; this.consumed = 0;
  }
}
