/**
 * RFC 3952 for iLBC (firmware/codec/ilbc/rfc3952.ts): RTP payload frame
 * counting and splitting, the SDP `mode=` parameter and offer/answer rule,
 * the storage format header and frame reader, and hostile input (random,
 * truncated) that must give an error code, never a trap or an out-of-bounds
 * frame.
 */
import {
  ILBC_DEFAULT_MODE, ILBC_STORAGE_HEADER_BYTES, IlbcFrameReader,
  ilbcModeFromFmtp, ilbcNegotiateMode, ilbcPayloadBytes, ilbcPayloadFrames, ilbcPayloadMode,
  ilbcStorageBytes, ilbcStorageMode, ilbcStorageWriteHeader,
} from "../../../firmware/codec/ilbc/rfc3952";
import {
  ERR_BUFFER_SMALL, ERR_MODE, ERR_NULL, ERR_PAYLOAD_LENGTH, ERR_STORAGE_HEADER,
  IlbcDecoder, IlbcEncoder,
} from "../../../firmware/codec/ilbc/index";

const BUF = new StaticArray<u8>(4096);
const buf = changetype<usize>(BUF);

/** Copies an ASCII string into BUF; returns its length. */
function ascii(s: string): i32 {
  for (let i = 0; i < s.length; i++) BUF[i] = <u8>s.charCodeAt(i);
  return s.length;
}

function fmtp(s: string): i32 {
  return ilbcModeFromFmtp(buf, ascii(s));
}

/** xorshift32, deterministic. */
let seed: u32 = 0x9e3779b9;
function rand(): u32 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed;
}

describe("RTP payload (RFC 3952 §3.2)", () => {
  it("counts whole frames: N x 38 bytes (20 ms), N x 50 bytes (30 ms)", () => {
    expect(ilbcPayloadFrames(38, 20)).toBe(1);
    expect(ilbcPayloadFrames(76, 20)).toBe(2);
    expect(ilbcPayloadFrames(50, 30)).toBe(1);
    expect(ilbcPayloadFrames(150, 30)).toBe(3);
  });
  it("rejects lengths that are not whole frames, empty payloads and bad modes", () => {
    expect(ilbcPayloadFrames(0, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(-38, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(37, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(39, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(50, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(38, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(49, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadFrames(38, 25)).toBe(ERR_MODE);
    expect(ilbcPayloadFrames(50, 0)).toBe(ERR_MODE);
  });
  it("agrees with len / frameBytes for every length 0..3000", () => {
    let wrong = 0;
    for (let len = 0; len <= 3000; len++) {
      if (ilbcPayloadFrames(len, 20) != (len > 0 && len % 38 == 0 ? len / 38 : ERR_PAYLOAD_LENGTH)) wrong++;
      if (ilbcPayloadFrames(len, 30) != (len > 0 && len % 50 == 0 ? len / 50 : ERR_PAYLOAD_LENGTH)) wrong++;
    }
    expect(wrong).toBe(0);
  });
  it("sizes payloads for N frames", () => {
    expect(ilbcPayloadBytes(1, 20)).toBe(38);
    expect(ilbcPayloadBytes(4, 30)).toBe(200);
    expect(ilbcPayloadBytes(0, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadBytes(i32.MAX_VALUE, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadBytes(2, 10)).toBe(ERR_MODE);
  });
  it("infers the mode from the length; the preferred mode breaks ties (950 B = 25 x 38 = 19 x 50)", () => {
    expect(ilbcPayloadMode(38, 30)).toBe(20);
    expect(ilbcPayloadMode(114, 30)).toBe(20);
    expect(ilbcPayloadMode(50, 20)).toBe(30);
    expect(ilbcPayloadMode(100, 20)).toBe(30);
    expect(ilbcPayloadMode(950, 20)).toBe(20);
    expect(ilbcPayloadMode(950, 30)).toBe(30);
    expect(ilbcPayloadMode(1900, 30)).toBe(30);
    expect(ilbcPayloadMode(950, 0)).toBe(ERR_MODE);
    expect(ilbcPayloadMode(88, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadMode(0, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcPayloadMode(-50, 30)).toBe(ERR_PAYLOAD_LENGTH);
  });
  it("splits a payload into frames in place", () => {
    const r = new IlbcFrameReader();
    expect(r.openPayload(buf, 114, 20)).toBe(3);
    expect(r.modeMs).toBe(20);
    expect(r.frameBytes).toBe(38);
    expect(r.trailingBytes).toBe(0);
    expect(r.next()).toBe(buf);
    expect(r.next()).toBe(buf + 38);
    expect(r.next()).toBe(buf + 76);
    expect(r.next()).toBe(<usize>0);
    expect(r.next()).toBe(<usize>0);
    expect(r.frameAt(1)).toBe(buf + 38);
    expect(r.frameAt(3)).toBe(<usize>0);
    expect(r.frameAt(-1)).toBe(<usize>0);
    r.rewind();
    expect(r.next()).toBe(buf);
  });
  it("a rejected payload leaves the reader empty", () => {
    const r = new IlbcFrameReader();
    expect(r.openPayload(buf, 100, 30)).toBe(2);
    expect(r.openPayload(buf, 101, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(r.frameCount).toBe(0);
    expect(r.modeMs).toBe(0);
    expect(r.next()).toBe(<usize>0);
    expect(r.openPayload(buf, 50, 31)).toBe(ERR_MODE);
    expect(r.openPayload(0, 50, 30)).toBe(ERR_NULL);
    expect(r.next()).toBe(<usize>0);
  });
});

describe("SDP mode parameter (RFC 3952 §5)", () => {
  it("reads mode=20 / mode=30", () => {
    expect(fmtp("mode=20")).toBe(20);
    expect(fmtp("mode=30")).toBe(30);
  });
  it("defaults to 30 ms without a mode parameter", () => {
    expect(ILBC_DEFAULT_MODE).toBe(30);
    expect(fmtp("")).toBe(30);
    expect(fmtp("ptime=40")).toBe(30);
    expect(fmtp("modex=20")).toBe(30);
    expect(ilbcModeFromFmtp(0, 0)).toBe(30);
  });
  it("finds mode among other parameters, ignoring case and blanks", () => {
    expect(fmtp("ptime=40; mode=20")).toBe(20);
    expect(fmtp(" MODE = 20 ")).toBe(20);
    expect(fmtp("Mode=30;ptime=60")).toBe(30);
    expect(fmtp("mode=20;mode=30")).toBe(20);
    expect(fmtp("x=1;;\tmode=20\t")).toBe(20);
  });
  it("rejects other values", () => {
    expect(fmtp("mode=25")).toBe(ERR_MODE);
    expect(fmtp("mode=")).toBe(ERR_MODE);
    expect(fmtp("mode")).toBe(ERR_MODE);
    expect(fmtp("mode 20")).toBe(ERR_MODE);
    expect(fmtp("mode=200")).toBe(ERR_MODE);
    expect(fmtp("mode=2")).toBe(ERR_MODE);
    expect(fmtp("mode=3O")).toBe(ERR_MODE);
    expect(ilbcModeFromFmtp(0, 7)).toBe(ERR_NULL);
  });
  it("offer/answer: 20 ms only when both sides want it", () => {
    expect(ilbcNegotiateMode(20, 20)).toBe(20);
    expect(ilbcNegotiateMode(20, 30)).toBe(30);
    expect(ilbcNegotiateMode(30, 20)).toBe(30);
    expect(ilbcNegotiateMode(30, 30)).toBe(30);
    expect(ilbcNegotiateMode(ERR_MODE, 20)).toBe(30);
  });
});

describe("storage format (RFC 3952 §4.1)", () => {
  it("writes and parses #!iLBC20\\n and #!iLBC30\\n", () => {
    expect(ilbcStorageWriteHeader(buf, 9, 20)).toBe(ILBC_STORAGE_HEADER_BYTES);
    const want20 = "#!iLBC20\n";
    for (let i = 0; i < 9; i++) expect(<i32>BUF[i]).toBe(want20.charCodeAt(i));
    expect(ilbcStorageMode(buf, 9)).toBe(20);
    expect(ilbcStorageWriteHeader(buf, 100, 30)).toBe(9);
    expect(<i32>BUF[6]).toBe(0x33);
    expect(ilbcStorageMode(buf, 9)).toBe(30);
    expect(ilbcStorageMode(buf, ascii("#!iLBC30\n"))).toBe(30);
  });
  it("rejects a bad mode, a small buffer and a null pointer when writing", () => {
    expect(ilbcStorageWriteHeader(buf, 9, 25)).toBe(ERR_MODE);
    expect(ilbcStorageWriteHeader(buf, 8, 20)).toBe(ERR_BUFFER_SMALL);
    expect(ilbcStorageWriteHeader(0, 9, 20)).toBe(ERR_NULL);
  });
  it("rejects every other header: each byte changed, short input, other modes", () => {
    ascii("#!iLBC20\n");
    let accepted = 0;
    for (let i = 0; i < 9; i++) {
      const keep = BUF[i];
      for (let v = 0; v < 256; v++) {
        if (v == <i32>keep || (i == 6 && v == 0x33)) continue;
        BUF[i] = <u8>v;
        if (ilbcStorageMode(buf, 9) != ERR_STORAGE_HEADER) accepted++;
      }
      BUF[i] = keep;
    }
    expect(accepted).toBe(0, "altered headers accepted");
    for (let len = 0; len < 9; len++) expect(ilbcStorageMode(buf, len)).toBe(ERR_STORAGE_HEADER);
    expect(ilbcStorageMode(buf, ascii("#!iLBC25\n"))).toBe(ERR_STORAGE_HEADER);
    expect(ilbcStorageMode(buf, ascii("#!iLBC20\r\n"))).toBe(ERR_STORAGE_HEADER);
    expect(ilbcStorageMode(buf, ascii("#!ilbc20\n"))).toBe(ERR_STORAGE_HEADER);
    expect(ilbcStorageMode(buf, ascii("#!AMR\n\0\0\0"))).toBe(ERR_STORAGE_HEADER);
    expect(ilbcStorageMode(0, 9)).toBe(ERR_NULL);
  });
  it("sizes files", () => {
    expect(ilbcStorageBytes(0, 20)).toBe(9);
    expect(ilbcStorageBytes(379, 30)).toBe(9 + 379 * 50);
    expect(ilbcStorageBytes(-1, 30)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcStorageBytes(i32.MAX_VALUE / 38 + 1, 20)).toBe(ERR_PAYLOAD_LENGTH);
    expect(ilbcStorageBytes(1, 40)).toBe(ERR_MODE);
  });
  it("iterates the frames of a file and reports a truncated tail", () => {
    ilbcStorageWriteHeader(buf, 9, 30);
    const r = new IlbcFrameReader();
    expect(r.openStorage(buf, 9 + 2 * 50 + 7)).toBe(30);
    expect(r.frameCount).toBe(2);
    expect(r.trailingBytes).toBe(7);
    expect(r.next()).toBe(buf + 9);
    expect(r.next()).toBe(buf + 59);
    expect(r.next()).toBe(<usize>0);
    expect(r.openStorage(buf, 9)).toBe(30);
    expect(r.frameCount).toBe(0);
    expect(r.next()).toBe(<usize>0);
    BUF[0] = 0x24;
    expect(r.openStorage(buf, 109)).toBe(ERR_STORAGE_HEADER);
    expect(r.frameCount).toBe(0);
    expect(r.next()).toBe(<usize>0);
  });
  it("round trip: encoder -> storage file -> reader -> decoder equals direct decoding", () => {
    for (let m = 0; m < 2; m++) {
      const mode = m == 0 ? 20 : 30;
      const enc = new IlbcEncoder(mode);
      const ns = enc.frameSamples;
      const nb = enc.frameBytes;
      const frames = 6;
      const pcm = new StaticArray<i16>(ns);
      const direct = new StaticArray<i16>(ns * frames);
      const viaFile = new StaticArray<i16>(ns * frames);
      const file = new StaticArray<u8>(ilbcStorageBytes(frames, mode));
      const f = changetype<usize>(file);
      expect(ilbcStorageWriteHeader(f, file.length, mode)).toBe(9);
      const decA = new IlbcDecoder(mode, true);
      for (let k = 0; k < frames; k++) {
        for (let i = 0; i < ns; i++) pcm[i] = <i16>(<i32>(6000.0 * Math.sin(<f64>(k * ns + i) * 0.21)) + (<i32>(rand() & 0x1ff) - 256));
        expect(enc.encode(changetype<usize>(pcm), f + <usize>(9 + k * nb))).toBe(nb);
        expect(decA.decode(f + <usize>(9 + k * nb), nb, changetype<usize>(direct) + <usize>(k * ns * 2))).toBe(ns);
      }
      const r = new IlbcFrameReader();
      expect(r.openStorage(f, file.length)).toBe(mode);
      expect(r.frameCount).toBe(frames);
      const decB = new IlbcDecoder(r.modeMs, true);
      let k = 0;
      for (let fr = r.next(); fr != 0; fr = r.next()) {
        expect(decB.decode(fr, r.frameBytes, changetype<usize>(viaFile) + <usize>(k * ns * 2))).toBe(ns);
        k++;
      }
      expect(k).toBe(frames);
      let diff = 0;
      for (let i = 0; i < ns * frames; i++) if (direct[i] != viaFile[i]) diff++;
      expect(diff).toBe(0);
    }
  });
});

describe("hostile input never traps and never yields an out-of-bounds frame", () => {
  it("random bytes and random lengths", () => {
    const r = new IlbcFrameReader();
    for (let iter = 0; iter < 4000; iter++) {
      const len = <i32>(rand() % 400) - 20; // includes negative lengths
      const fill = len > 0 ? len : 0;
      for (let i = 0; i < fill; i++) BUF[i] = <u8>rand();
      if (iter % 4 == 0 && len >= 9) ilbcStorageWriteHeader(buf, 9, (iter & 8) != 0 ? 20 : 30);
      if (iter % 8 == 1 && len >= 4) { BUF[0] = 0x6d; BUF[1] = 0x6f; BUF[2] = 0x64; BUF[3] = 0x65; }
      const mode = (rand() & 1) != 0 ? 20 : 30;

      const m = ilbcStorageMode(buf, len);
      expect(m == 20 || m == 30 || m == ERR_STORAGE_HEADER).toBe(true);
      const fm = ilbcModeFromFmtp(buf, len);
      expect(fm == 20 || fm == 30 || fm == ERR_MODE).toBe(true);
      const pm = ilbcPayloadMode(len, mode);
      expect(pm == 20 || pm == 30 || pm == ERR_PAYLOAD_LENGTH).toBe(true);

      for (let which = 0; which < 2; which++) {
        const ret = which == 0 ? r.openStorage(buf, len) : r.openPayload(buf, len, mode);
        if (ret < 0) {
          expect(r.frameCount).toBe(0);
          expect(r.next()).toBe(<usize>0);
          continue;
        }
        let n = 0;
        let outside = 0;
        for (let fr = r.next(); fr != 0; fr = r.next()) {
          if (fr < buf || fr + <usize>r.frameBytes > buf + <usize>len) outside++;
          n++;
        }
        expect(outside).toBe(0, "frames outside the input");
        expect(n).toBe(r.frameCount);
        const used = (which == 0 ? ILBC_STORAGE_HEADER_BYTES : 0) + n * r.frameBytes + r.trailingBytes;
        expect(used).toBe(len);
      }
    }
  });
  it("a valid file truncated at every length", () => {
    const r = new IlbcFrameReader();
    for (let m = 0; m < 2; m++) {
      const mode = m == 0 ? 20 : 30;
      const nb = mode == 20 ? 38 : 50;
      const total = ilbcStorageBytes(5, mode);
      ilbcStorageWriteHeader(buf, total, mode);
      for (let i = 9; i < total; i++) BUF[i] = <u8>rand();
      for (let len = 0; len <= total; len++) {
        const ret = r.openStorage(buf, len);
        if (len < 9) {
          expect(ret).toBe(ERR_STORAGE_HEADER);
        } else {
          expect(ret).toBe(mode);
          expect(r.frameCount).toBe((len - 9) / nb);
          expect(r.trailingBytes).toBe((len - 9) % nb);
        }
      }
    }
  });
  it("random frames from a random file decode or fail with an error code", () => {
    const r = new IlbcFrameReader();
    const out = new StaticArray<i16>(240);
    for (let m = 0; m < 2; m++) {
      const mode = m == 0 ? 20 : 30;
      const dec = new IlbcDecoder(mode, (m & 1) == 0);
      const total = ilbcStorageBytes(40, mode);
      ilbcStorageWriteHeader(buf, total, mode);
      for (let i = 9; i < total; i++) BUF[i] = <u8>rand();
      expect(r.openStorage(buf, total - 3)).toBe(mode);
      for (let fr = r.next(); fr != 0; fr = r.next()) {
        const ret = dec.decode(fr, r.frameBytes, changetype<usize>(out));
        expect(ret == dec.frameSamples || ret < 0).toBe(true);
      }
    }
  });
});
