/**
 * Bounds-checked readers and writers over linear memory: the one place every byte layout goes through.
 * A reader never traps: reading past the end sets `ok = false` and returns 0, so a parser can read a whole
 * message and check `ok` once at the end (architecture.md §Bad input). All multi-byte fields are big-endian
 * (network order).
 */
export class ByteReader {
  ptr: usize = 0;
  len: i32 = 0;
  pos: i32 = 0;
  ok: bool = true;

  /** Points the reader at [ptr, ptr+len). Reusable: parsers keep one reader and reset it per message. */
  reset(ptr: usize, len: i32): ByteReader {
    this.ptr = ptr; this.len = len < 0 ? 0 : len; this.pos = 0; this.ok = true;
    return this;
  }

  remaining(): i32 { return this.len - this.pos; }

  private need(n: i32): bool {
    if (!this.ok || n < 0 || this.pos + n > this.len) { this.ok = false; return false; }
    return true;
  }

  u8(): u32 {
    if (!this.need(1)) return 0;
    const v = <u32>load<u8>(this.ptr + <usize>this.pos); this.pos += 1; return v;
  }
  u16(): u32 {
    if (!this.need(2)) return 0;
    const p = this.ptr + <usize>this.pos; this.pos += 2;
    return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
  }
  u32(): u32 {
    if (!this.need(4)) return 0;
    const p = this.ptr + <usize>this.pos; this.pos += 4;
    return (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p + 1) << 16) | (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
  }
  /** Skips n bytes and returns the address of the first (for zero-copy slices), or 0 when short. */
  take(n: i32): usize {
    if (!this.need(n)) return 0;
    const p = this.ptr + <usize>this.pos; this.pos += n; return p;
  }
  /** Reads a u8-length-prefixed ASCII string of at most maxLen bytes (longer → not ok). */
  str8(maxLen: i32): string {
    const n = <i32>this.u8();
    if (n > maxLen) { this.ok = false; return ""; }
    const p = this.take(n);
    if (!this.ok) return "";
    return String.UTF8.decodeUnsafe(p, n, false);
  }
}

/**
 * Writer into a fixed buffer. Writing past the end sets `ok = false` and drops the bytes, so a caller
 * checks once before sending. Never allocates.
 */
export class ByteWriter {
  ptr: usize = 0;
  cap: i32 = 0;
  pos: i32 = 0;
  ok: bool = true;

  reset(ptr: usize, cap: i32): ByteWriter {
    this.ptr = ptr; this.cap = cap; this.pos = 0; this.ok = true;
    return this;
  }

  private room(n: i32): bool {
    if (!this.ok || this.pos + n > this.cap) { this.ok = false; return false; }
    return true;
  }

  u8(v: u32): ByteWriter {
    if (this.room(1)) { store<u8>(this.ptr + <usize>this.pos, <u8>v); this.pos += 1; }
    return this;
  }
  u16(v: u32): ByteWriter {
    if (this.room(2)) {
      const p = this.ptr + <usize>this.pos;
      store<u8>(p, <u8>(v >> 8)); store<u8>(p + 1, <u8>v); this.pos += 2;
    }
    return this;
  }
  u32(v: u32): ByteWriter {
    if (this.room(4)) {
      const p = this.ptr + <usize>this.pos;
      store<u8>(p, <u8>(v >> 24)); store<u8>(p + 1, <u8>(v >> 16)); store<u8>(p + 2, <u8>(v >> 8)); store<u8>(p + 3, <u8>v);
      this.pos += 4;
    }
    return this;
  }
  bytes(src: usize, n: i32): ByteWriter {
    if (n > 0 && this.room(n)) { memory.copy(this.ptr + <usize>this.pos, src, <usize>n); this.pos += n; }
    return this;
  }
  /** Writes a u8-length-prefixed UTF-8 string (≤ 255 bytes, else not ok). */
  str8(s: string): ByteWriter {
    const n = String.UTF8.byteLength(s, false);
    if (n > 255) { this.ok = false; return this; }
    this.u8(<u32>n);
    if (this.room(n)) { String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr + <usize>this.pos, false); this.pos += n; }
    return this;
  }
  /** Reserves n bytes and returns their address (0 when there is no room). */
  reserve(n: i32): usize {
    if (!this.room(n)) return 0;
    const p = this.ptr + <usize>this.pos; this.pos += n; return p;
  }
}

/** A fixed-capacity byte buffer in linear memory, allocated once. */
export class Buf {
  data: StaticArray<u8>;
  constructor(public cap: i32) { this.data = new StaticArray<u8>(cap); }
  @inline get ptr(): usize { return changetype<usize>(this.data); }
}
