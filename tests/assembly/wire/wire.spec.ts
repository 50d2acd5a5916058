/**
 * Wire readers against truncated and random bytes (architecture.md §Bad input): a parser must return
 * "malformed" and never trap. 10,000+ random cases per reader, from a fixed-seed PRNG (reproducible).
 */
import { ByteReader, ByteWriter } from "../../../firmware/lib/bytes";
import { Deframer, FRAME_WIRE_MAX } from "../../../firmware/wire/frame";
import { PresenceRecord } from "../../../firmware/wire/record";
import { RtpHeader, rtpParse, rtpWriteHeader } from "../../../firmware/media/rtp";
import { Prng } from "../../../firmware/lib/prng";
import { FRAME_MAX } from "../../../firmware/wire/types";

const CASES = 12000;
const buf = new StaticArray<u8>(600);
const P = changetype<usize>(buf);

function fillRandom(rng: Prng, n: i32): void { for (let i = 0; i < n; i++) buf[i] = <u8>rng.next(); }

describe("ByteReader", () => {
  it("reads big-endian fields and flags a short read instead of trapping", () => {
    buf[0] = 0x12; buf[1] = 0x34; buf[2] = 0x56; buf[3] = 0x78; buf[4] = 0x9a;
    const r = new ByteReader().reset(P, 5);
    expect(r.u16()).toBe(0x1234);
    expect(r.u16()).toBe(0x5678);
    expect(r.ok).toBe(true);
    expect(r.u16()).toBe(0);
    expect(r.ok).toBe(false);
    expect(r.u8()).toBe(0, "stays failed");
  });
  it("rejects a string longer than its limit or than the buffer", () => {
    buf[0] = 10; buf[1] = 97;
    const r = new ByteReader().reset(P, 2);
    expect(r.str8(32)).toBe("");
    expect(r.ok).toBe(false);
    buf[0] = 40;
    const r2 = new ByteReader().reset(P, 100);
    r2.str8(32);
    expect(r2.ok).toBe(false);
  });
  it("a writer past its capacity sets ok = false and writes nothing beyond", () => {
    buf[3] = 0xee;
    const w = new ByteWriter().reset(P, 3);
    w.u16(1).u16(2);
    expect(w.ok).toBe(false);
    expect(buf[3]).toBe(0xee);
  });
});

describe("PresenceRecord", () => {
  it("round-trips through the writer and reader", () => {
    const a = new PresenceRecord();
    a.user = "alice"; a.status = 1; a.snIp = 0xc6336415; a.snPort = 33033; a.reflexIp = 0xcb007107; a.reflexPort = 28708;
    a.localIp = 0xc0a8010a; a.localPort = 28708; a.flags = 1; a.tcpPort = 28708;
    const w = new ByteWriter().reset(P, 600);
    a.write(w);
    const b = new PresenceRecord();
    expect(b.read(new ByteReader().reset(P, w.pos))).toBe(true);
    expect(b.user).toBe("alice");
    expect(b.reflexIp).toBe(0xcb007107);
    expect(b.tcpPort).toBe(28708);
    // every truncation fails cleanly
    for (let n = 0; n < w.pos; n++) expect(new PresenceRecord().read(new ByteReader().reset(P, n))).toBe(false);
  });
  it(CASES.toString() + " random buffers never trap", () => {
    const rng = new Prng(1, 7);
    let parsed = 0;
    for (let i = 0; i < CASES; i++) {
      const n = <i32>rng.below(64);
      fillRandom(rng, n);
      if (new PresenceRecord().read(new ByteReader().reset(P, n))) parsed++;
    }
    expect(parsed).toBeLessThan(CASES);
  });
});

describe("rtpParse (RFC 3550 §5.1)", () => {
  it("parses what rtpWriteHeader wrote", () => {
    rtpWriteHeader(P, 8, true, 0xfffe, 0x12345678, 0xdeadbeef);
    const h = new RtpHeader();
    expect(rtpParse(P, 12 + 160, h)).toBe(true);
    expect(h.pt).toBe(8);
    expect(h.marker).toBe(true);
    expect(h.seq).toBe(0xfffe);
    expect(h.timestamp).toBe(0x12345678);
    expect(h.ssrc).toBe(0xdeadbeef);
    expect(h.payloadOffset).toBe(12);
    expect(h.payloadLen).toBe(160);
  });
  it("rejects version != 2, short packets, bad CSRC counts, extensions and padding", () => {
    const h = new RtpHeader();
    rtpWriteHeader(P, 0, false, 1, 1, 1);
    expect(rtpParse(P, 11, h)).toBe(false);
    buf[0] = 0x40; expect(rtpParse(P, 20, h)).toBe(false);
    buf[0] = 0x8f; expect(rtpParse(P, 20, h)).toBe(false, "15 CSRCs need 72 bytes");
    buf[0] = 0x90; buf[12] = 0; buf[13] = 0; buf[14] = 0x10; buf[15] = 0; expect(rtpParse(P, 30, h)).toBe(false, "extension longer than packet");
    buf[0] = 0xa0; buf[19] = 0; expect(rtpParse(P, 20, h)).toBe(false, "zero padding count");
    buf[0] = 0xa0; buf[19] = 200; expect(rtpParse(P, 20, h)).toBe(false, "padding longer than packet");
    buf[0] = 0xa0; buf[19] = 4; expect(rtpParse(P, 20, h)).toBe(true);
    expect(h.payloadLen).toBe(4);
  });
  it(CASES.toString() + " random packets never trap and never yield an out-of-range payload", () => {
    const rng = new Prng(2, 7);
    const h = new RtpHeader();
    for (let i = 0; i < CASES; i++) {
      const n = <i32>rng.below(200);
      fillRandom(rng, n);
      if (rng.below(2) == 0 && n > 0) buf[0] = <u8>(0x80 | (buf[0] & 0x3f));
      if (rtpParse(P, n, h)) {
        expect(h.payloadOffset + h.payloadLen <= n).toBe(true);
        expect(h.payloadLen >= 0).toBe(true);
      }
    }
  });
});

describe("Deframer ([len u16][body] over TCP)", () => {
  it("reassembles frames split at every byte boundary", () => {
    const d = new Deframer();
    const stream = new StaticArray<u8>(9);
    stream[0] = 0; stream[1] = 3; stream[2] = 1; stream[3] = 2; stream[4] = 3; stream[5] = 0; stream[6] = 0; stream[7] = 0; stream[8] = 1;
    let frames = 0; let keepalives = 0;
    for (let i = 0; i < 9; i++) {
      d.push(changetype<usize>(stream) + <usize>i, 1);
      let n = d.next();
      while (n >= 0) { if (n == 0) keepalives++; else { frames++; expect(n).toBe(3); } n = d.next(); }
    }
    expect(frames).toBe(1);
    expect(keepalives).toBe(1);
    expect(d.broken).toBe(false);
  });
  it("an impossible length breaks the stream instead of buffering forever", () => {
    const d = new Deframer();
    // FRAME_WIRE_MAX = FRAME_MAX + 16: a sealed channel frame (issue #7, sec/channel.ts)
    buf[0] = <u8>((FRAME_WIRE_MAX + 1) >> 8); buf[1] = <u8>(FRAME_WIRE_MAX + 1);
    d.push(P, 2);
    expect(d.next()).toBe(-1);
    expect(d.broken).toBe(true);
  });
  it(CASES.toString() + " random chunks never trap and every frame lies inside the buffer", () => {
    const rng = new Prng(3, 7);
    let d = new Deframer();
    for (let i = 0; i < CASES; i++) {
      const n = <i32>rng.below(300);
      fillRandom(rng, n);
      if (rng.below(3) == 0 && n > 2) { buf[0] = 0; buf[1] = <u8>rng.below(<u32>n); }
      let off = 0;
      while (off < n && !d.broken) {
        off += d.push(P + <usize>off, n - off);
        let len = d.next();
        while (len >= 0) {
          expect(d.bodyPtr() >= changetype<usize>(d.buf)).toBe(true);
          expect(d.bodyPtr() + <usize>len <= changetype<usize>(d.buf) + <usize>d.buf.length).toBe(true);
          len = d.next();
        }
      }
      if (d.broken) d = new Deframer();
    }
  });
});
