/**
 * Tests for firmware/codec/g711 (ITU-T G.711 µ-law and A-law).
 *
 * The expected values are built here from the G.711 tables, independently of the
 * implementation's bit tricks. The segment layout (column 2 of Tables 1 and 2:
 * number of intervals × interval size) gives the decision values x(0..128) by
 * accumulation. Each quantized value y(n) is the midpoint of its interval,
 * except µ-law y(0) = 0. The code ↔ interval mapping is the character-signal
 * columns. The scaling to 16-bit PCM is ×4 for µ-law (14-bit uniform code) and
 * ×8 for A-law (13-bit).
 */
import {
  alawToLinear,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from "../../../firmware/codec/g711/g711";

// ---------------------------------------------------------------------------
// Expectations from the G.711 tables (positive half; the negative half mirrors it)

/** µ-law, Table 2a, segments 1..8: number of intervals and interval size, 14-bit units.
 *  Segment 1 = 1 interval of 1 (around zero) followed by 15 intervals of 2. */
const MU_INTERVALS: StaticArray<i32> = [1, 15, 16, 16, 16, 16, 16, 16, 16];
const MU_SIZES: StaticArray<i32> = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** A-law, Table 1a, segments 1..7: number of intervals and interval size, 13-bit units. */
const A_INTERVALS: StaticArray<i32> = [32, 16, 16, 16, 16, 16, 16];
const A_SIZES: StaticArray<i32> = [2, 4, 8, 16, 32, 64, 128];

/** Decision values x(0..128): x(0) = 0, then the interval sizes accumulated. */
function decisionValues(counts: StaticArray<i32>, sizes: StaticArray<i32>): StaticArray<i32> {
  const x = new StaticArray<i32>(129);
  let n = 0;
  for (let seg = 0; seg < counts.length; seg++) {
    for (let k = 0; k < counts[seg]; k++) {
      x[n + 1] = x[n] + sizes[seg];
      n++;
    }
  }
  assert(n == 128, "the tables must define 128 intervals");
  return x;
}

/** Quantized values y(0..127): midpoint of [x(n), x(n+1)]; y(0) = 0 if zeroAtOrigin. */
function quantizedValues(x: StaticArray<i32>, zeroAtOrigin: bool): StaticArray<i32> {
  const y = new StaticArray<i32>(128);
  for (let n = 0; n < 128; n++) {
    y[n] = zeroAtOrigin && n == 0 ? 0 : (x[n] + x[n + 1]) / 2;
  }
  return y;
}

const MU_X = decisionValues(MU_INTERVALS, MU_SIZES);
const MU_Y = quantizedValues(MU_X, true);
const A_X = decisionValues(A_INTERVALS, A_SIZES);
const A_Y = quantizedValues(A_X, false);

const MU_SCALE = 4; // 14-bit uniform code → 16-bit PCM
const A_SCALE = 8; // 13-bit uniform code → 16-bit PCM

/** µ-law character signal: positive values 255 − n, negative values 127 − n. */
function muPositive(code: i32): bool {
  return (code & 0x80) != 0;
}
function muInterval(code: i32): i32 {
  return muPositive(code) ? 255 - code : 127 - code;
}
/** A-law character signal before even-bit inversion: positive 128 + n, negative n. */
function aPositive(code: i32): bool {
  return ((code ^ 0x55) & 0x80) != 0;
}
function aInterval(code: i32): i32 {
  return (code ^ 0x55) & 0x7f;
}

function expectedUlaw(code: i32): i32 {
  const v = MU_SCALE * MU_Y[muInterval(code)];
  return muPositive(code) ? v : -v;
}
function expectedAlaw(code: i32): i32 {
  const v = A_SCALE * A_Y[aInterval(code)];
  return aPositive(code) ? v : -v;
}

/** Magnitude compared with the decision values (×scale): x for x ≥ 0, and the
 *  one's complement −x − 1 for x < 0 (G.191 convention, see g711.ts). */
function magnitude(pcm: i32): i32 {
  return pcm >= 0 ? pcm : -pcm - 1;
}

/** True if `code` is the right µ-law code for `pcm` per the decision values. */
function ulawCodeFits(pcm: i32, code: i32): bool {
  if (muPositive(code) != pcm >= 0) return false;
  const n = muInterval(code);
  const v = magnitude(pcm);
  if (v < MU_SCALE * MU_X[n]) return false;
  // n = 127 also takes everything beyond the virtual decision value x(128) (saturation)
  return n == 127 || v < MU_SCALE * MU_X[n + 1];
}

/** True if `code` is the right A-law code for `pcm` per the decision values. */
function alawCodeFits(pcm: i32, code: i32): bool {
  if (aPositive(code) != pcm >= 0) return false;
  const n = aInterval(code);
  const v = magnitude(pcm);
  return v >= A_SCALE * A_X[n] && v < A_SCALE * A_X[n + 1];
}

const NONE: i32 = 0x7fffffff;

function hex(v: i32): string {
  return "0x" + v.toString(16);
}

// ---------------------------------------------------------------------------

describe("G.711 tables used as expectations", () => {
  it("match the end points printed in the tables", () => {
    expect<i32>(MU_X[1]).toBe(1);
    expect<i32>(MU_X[16]).toBe(31);
    expect<i32>(MU_X[32]).toBe(95);
    expect<i32>(MU_X[112]).toBe(4063);
    expect<i32>(MU_X[128]).toBe(8159, "µ-law virtual decision value");
    expect<i32>(MU_Y[127]).toBe(8031);
    expect<i32>(A_X[32]).toBe(64);
    expect<i32>(A_X[128]).toBe(4096);
    expect<i32>(A_Y[0]).toBe(1);
    expect<i32>(A_Y[127]).toBe(4032);
    for (let n = 0; n < 128; n++) {
      expect<i32>((MU_X[n] + MU_X[n + 1]) & 1).toBe(n == 0 ? 1 : 0, "µ-law midpoints are integers");
      expect<i32>((A_X[n] + A_X[n + 1]) & 1).toBe(0, "A-law midpoints are integers");
    }
  });
});

describe("µ-law decode", () => {
  it("gives the table's decoder output ×4 for all 256 codes", () => {
    for (let c = 0; c < 256; c++) {
      expect<i32>(ulawToLinear(<u8>c)).toBe(expectedUlaw(c), "µ-law code " + hex(c));
    }
  });

  it("has the documented end points", () => {
    expect<i16>(ulawToLinear(0x00)).toBe(-32124);
    expect<i16>(ulawToLinear(0x80)).toBe(32124);
    expect<i16>(ulawToLinear(0xff)).toBe(0);
    expect<i16>(ulawToLinear(0x7f)).toBe(0, "negative zero decodes to 0");
  });
});

describe("A-law decode", () => {
  it("gives the table's decoder output ×8 for all 256 codes", () => {
    for (let c = 0; c < 256; c++) {
      expect<i32>(alawToLinear(<u8>c)).toBe(expectedAlaw(c), "A-law code " + hex(c));
    }
  });

  it("has the documented end points", () => {
    expect<i16>(alawToLinear(0xd5)).toBe(8);
    expect<i16>(alawToLinear(0x55)).toBe(-8);
    expect<i16>(alawToLinear(0xaa)).toBe(32256);
    expect<i16>(alawToLinear(0x2a)).toBe(-32256);
  });
});

describe("µ-law encode", () => {
  it("puts every 16-bit input in the interval bounded by its decision values", () => {
    let firstBad = NONE;
    for (let pcm = -32768; pcm <= 32767; pcm++) {
      if (!ulawCodeFits(pcm, linearToUlaw(<i16>pcm))) {
        firstBad = pcm;
        break;
      }
    }
    expect<i32>(firstBad).toBe(NONE, "first input coded outside its interval");
  });

  it("is monotonic over all 65536 inputs", () => {
    let firstBad = NONE;
    let prev = expectedUlaw(linearToUlaw(-32768));
    for (let pcm = -32767; pcm <= 32767; pcm++) {
      const cur = expectedUlaw(linearToUlaw(<i16>pcm));
      if (cur < prev) {
        firstBad = pcm;
        break;
      }
      prev = cur;
    }
    expect<i32>(firstBad).toBe(NONE, "first input whose reconstruction decreases");
  });

  it("round-trips every code except negative zero", () => {
    for (let c = 0; c < 256; c++) {
      const back = <i32>linearToUlaw(ulawToLinear(<u8>c));
      expect<i32>(back).toBe(c == 0x7f ? 0xff : c, "µ-law code " + hex(c));
    }
  });

  it("codes known points", () => {
    expect<u8>(linearToUlaw(0)).toBe(0xff);
    expect<u8>(linearToUlaw(3)).toBe(0xff);
    expect<u8>(linearToUlaw(4)).toBe(0xfe);
    expect<u8>(linearToUlaw(-1)).toBe(0x7f, "tiny negatives give negative zero");
    expect<u8>(linearToUlaw(-4)).toBe(0x7f);
    expect<u8>(linearToUlaw(-5)).toBe(0x7e);
    expect<u8>(linearToUlaw(32124)).toBe(0x80);
    expect<u8>(linearToUlaw(31611)).toBe(0x81);
    expect<u8>(linearToUlaw(31612)).toBe(0x80);
    expect<u8>(linearToUlaw(32767)).toBe(0x80, "positive saturation");
    expect<u8>(linearToUlaw(-32767)).toBe(0x00, "negative saturation");
    expect<u8>(linearToUlaw(-32768)).toBe(0x00);
  });
});

describe("A-law encode", () => {
  it("puts every 16-bit input in the interval bounded by its decision values", () => {
    let firstBad = NONE;
    for (let pcm = -32768; pcm <= 32767; pcm++) {
      if (!alawCodeFits(pcm, linearToAlaw(<i16>pcm))) {
        firstBad = pcm;
        break;
      }
    }
    expect<i32>(firstBad).toBe(NONE, "first input coded outside its interval");
  });

  it("is monotonic over all 65536 inputs", () => {
    let firstBad = NONE;
    let prev = expectedAlaw(linearToAlaw(-32768));
    for (let pcm = -32767; pcm <= 32767; pcm++) {
      const cur = expectedAlaw(linearToAlaw(<i16>pcm));
      if (cur < prev) {
        firstBad = pcm;
        break;
      }
      prev = cur;
    }
    expect<i32>(firstBad).toBe(NONE, "first input whose reconstruction decreases");
  });

  it("round-trips all 256 codes", () => {
    for (let c = 0; c < 256; c++) {
      const back = <i32>linearToAlaw(alawToLinear(<u8>c));
      expect<i32>(back).toBe(c, "A-law code " + hex(c));
    }
  });

  it("codes known points", () => {
    expect<u8>(linearToAlaw(0)).toBe(0xd5);
    expect<u8>(linearToAlaw(15)).toBe(0xd5);
    expect<u8>(linearToAlaw(16)).toBe(0xd4);
    expect<u8>(linearToAlaw(-1)).toBe(0x55);
    expect<u8>(linearToAlaw(-16)).toBe(0x55);
    expect<u8>(linearToAlaw(-17)).toBe(0x54);
    expect<u8>(linearToAlaw(255)).toBe(0xda, "top of segment 1 (13-bit 31)");
    expect<u8>(linearToAlaw(256)).toBe(0xc5, "bottom of 13-bit 32..63");
    expect<u8>(linearToAlaw(31744)).toBe(0xaa);
    expect<u8>(linearToAlaw(31743)).toBe(0xab);
    expect<u8>(linearToAlaw(32767)).toBe(0xaa, "positive full scale");
    expect<u8>(linearToAlaw(-32767)).toBe(0x2a);
    expect<u8>(linearToAlaw(-32768)).toBe(0x2a, "negative full scale");
  });
});

// ---------------------------------------------------------------------------
// Block functions

const ALL = 65536;

/** All 16-bit values, −32768..32767, in a raw i16 buffer. */
function allSamples(): StaticArray<i16> {
  const pcm = new StaticArray<i16>(ALL);
  for (let i = 0; i < ALL; i++) pcm[i] = <i16>(i - 32768);
  return pcm;
}

/** 1024 bytes cycling through all 256 codes. */
function allCodes(): StaticArray<u8> {
  const codes = new StaticArray<u8>(1024);
  for (let i = 0; i < 1024; i++) codes[i] = <u8>(i * 7 + 3); // 7 is odd: every code
  return codes;
}

function ptr<T>(buf: StaticArray<T>): usize {
  return changetype<usize>(buf);
}

describe("block encode/decode", () => {
  it("encodeUlaw equals linearToUlaw over all 65536 inputs", () => {
    const pcm = allSamples();
    const out = new StaticArray<u8>(ALL);
    encodeUlaw(ptr(pcm), ALL, ptr(out));
    let firstBad = NONE;
    for (let i = 0; i < ALL; i++) {
      if (out[i] != linearToUlaw(pcm[i])) {
        firstBad = i;
        break;
      }
    }
    expect<i32>(firstBad).toBe(NONE);
  });

  it("encodeAlaw equals linearToAlaw over all 65536 inputs", () => {
    const pcm = allSamples();
    const out = new StaticArray<u8>(ALL);
    encodeAlaw(ptr(pcm), ALL, ptr(out));
    let firstBad = NONE;
    for (let i = 0; i < ALL; i++) {
      if (out[i] != linearToAlaw(pcm[i])) {
        firstBad = i;
        break;
      }
    }
    expect<i32>(firstBad).toBe(NONE);
  });

  it("decodeUlaw and decodeAlaw equal the scalar decoders", () => {
    const codes = allCodes();
    const mu = new StaticArray<i16>(codes.length);
    const a = new StaticArray<i16>(codes.length);
    decodeUlaw(ptr(codes), codes.length, ptr(mu));
    decodeAlaw(ptr(codes), codes.length, ptr(a));
    for (let i = 0; i < codes.length; i++) {
      expect<i16>(mu[i]).toBe(ulawToLinear(codes[i]), "µ-law index " + i.toString());
      expect<i16>(a[i]).toBe(alawToLinear(codes[i]), "A-law index " + i.toString());
    }
  });

  it("writes exactly n items (n = 0 writes nothing)", () => {
    const pcm = allSamples();
    const bytes = new StaticArray<u8>(8);
    const words = new StaticArray<i16>(8);
    for (let i = 0; i < 8; i++) {
      bytes[i] = 0x33;
      words[i] = 0x3333;
    }
    encodeUlaw(ptr(pcm), 0, ptr(bytes));
    encodeAlaw(ptr(pcm), -1, ptr(bytes));
    decodeUlaw(ptr(bytes), 0, ptr(words));
    decodeAlaw(ptr(bytes), -5, ptr(words));
    for (let i = 0; i < 8; i++) {
      expect<u8>(bytes[i]).toBe(0x33);
      expect<i16>(words[i]).toBe(0x3333);
    }
    encodeUlaw(ptr(pcm), 5, ptr(bytes));
    decodeAlaw(ptr(bytes), 5, ptr(words));
    for (let i = 0; i < 8; i++) {
      expect<u8>(bytes[i]).toBe(i < 5 ? linearToUlaw(pcm[i]) : 0x33);
      expect<i16>(words[i]).toBe(i < 5 ? alawToLinear(bytes[i]) : 0x3333);
    }
  });

  it("works in place (out == input)", () => {
    const pcm = allSamples();
    const buf = allSamples(); // encoded in place: codes overwrite the front half
    encodeUlaw(ptr(buf), ALL, ptr(buf));
    const codes = changetype<usize>(buf);
    let firstBad = NONE;
    for (let i = 0; i < ALL; i++) {
      if (load<u8>(codes + <usize>i) != linearToUlaw(pcm[i])) {
        firstBad = i;
        break;
      }
    }
    expect<i32>(firstBad).toBe(NONE, "in-place µ-law encode");

    // decode the first 1024 codes in place (codes in bytes 0..1023 → i16 in 0..2047)
    const expected = new StaticArray<i16>(1024);
    for (let i = 0; i < 1024; i++) expected[i] = ulawToLinear(load<u8>(codes + <usize>i));
    decodeUlaw(codes, 1024, codes);
    for (let i = 0; i < 1024; i++) {
      expect<i16>(buf[i]).toBe(expected[i], "in-place µ-law decode, index " + i.toString());
    }

    const buf2 = allSamples();
    encodeAlaw(ptr(buf2), ALL, ptr(buf2));
    const codes2 = changetype<usize>(buf2);
    for (let i = 0; i < 1024; i++) expected[i] = alawToLinear(load<u8>(codes2 + <usize>i));
    decodeAlaw(codes2, 1024, codes2);
    for (let i = 0; i < 1024; i++) {
      expect<i16>(buf2[i]).toBe(expected[i], "in-place A-law decode, index " + i.toString());
    }
  });
});

// ---------------------------------------------------------------------------
// Quantization noise

/** SNR in dB of a sine (amplitude × full scale, 997 Hz at 8 kHz, 1 s) after
 *  encoding and decoding with the given law. */
function sineSnr(amplitude: f64, alaw: bool): f64 {
  const N = 8000;
  let signal: f64 = 0;
  let noise: f64 = 0;
  for (let i = 0; i < N; i++) {
    const x = <i16>(<i32>Math.round(amplitude * 32767.0 * Math.sin((2.0 * Math.PI * 997.0 * <f64>i) / 8000.0)));
    const y = alaw ? alawToLinear(linearToAlaw(x)) : ulawToLinear(linearToUlaw(x));
    const e = <f64>x - <f64>y;
    signal += <f64>x * <f64>x;
    noise += e * e;
  }
  return 10.0 * Math.log10(signal / noise);
}

describe("quantization SNR", () => {
  it("µ-law SNR of a −1 dBFS sine is at least 35 dB", () => {
    expect<f64>(sineSnr(0.89, false)).toBeGreaterThanOrEqual(35.0);
  });

  it("A-law SNR of a −1 dBFS sine is at least 35 dB", () => {
    expect<f64>(sineSnr(0.89, true)).toBeGreaterThanOrEqual(35.0);
  });
});
