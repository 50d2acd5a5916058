/**
 * G.711 PCM companding: µ-law and A-law (ITU-T Recommendation G.711, 11/1988).
 * G.711 §3.2 defines both laws by its tables: A-law by Tables 1a/1b (positive and
 * negative inputs), µ-law by Tables 2a/2b. §3.6 maps them onto 13-bit (A-law)
 * and 14-bit (µ-law) uniform PCM.
 *
 * Pure code: no imports, no host calls. The only allocation is the two 256-entry
 * decode tables, built once when the module starts. The scalar and block functions
 * never allocate.
 *
 * Linear samples are signed 16-bit PCM (i16, -32768..32767, full scale 32768).
 * G.711 quantizes 14-bit (µ-law) or 13-bit (A-law) uniform PCM (§3.6). Here
 * those are the top 14 or 13 bits of the 16-bit sample:
 *   - µ-law: 1 unit of G.711 Table 2 = 4 units of 16-bit PCM (output is ×4).
 *   - A-law: 1 unit of G.711 Table 1 = 8 units of 16-bit PCM (output is ×8).
 *
 * Codes are the 8-bit G.711 character signals as sent on the line (u8):
 *   - µ-law (G.711 Tables 2a/2b): bit 7 is the polarity (1 = positive), and
 *     bits 6..0 are the quantized value number n (0..127) with every bit
 *     inverted. So code = 0xFF - n for positive values and 0x7F - n for negative ones.
 *     0xFF = +0, 0x7F = -0, 0x80 = +max, 0x00 = -max.
 *   - A-law (G.711 Tables 1a/1b): bit 7 is the polarity (1 = positive), then
 *     n (0..127), and the even bits are inverted on the line (XOR 0x55). So
 *     code = (0x80 + n) ^ 0x55 for positive values and n ^ 0x55 for negative ones.
 *     0xD5 = smallest positive, 0x55 = smallest negative, 0xAA = +max, 0x2A = -max.
 *
 * Quantization (G.711 Tables 1 and 2, columns "decision value" and "decoder output
 * value", the uniform-code columns 3, 5 and 7):
 *   - The input's magnitude v (see "Rounding" below) selects the interval n with
 *     x(n) <= v < x(n+1), where x(n) are the decision values. The decoder returns that interval's value y(n),
 *     the midpoint of the interval (µ-law: y(0) = 0).
 *   - µ-law, Table 2: interval n = 16·s + m (segment s = 0..7, step m = 0..15) has
 *     y = (2m + 33)·2^s − 33, in 0..8031. Its lower decision value is
 *     (m + 16)·2^(s+1) − 33, or 0 for n = 0. Inputs at or above the
 *     virtual decision value 8159 are coded as n = 127.
 *   - A-law, Table 1: y = 2m + 1 for s = 0 and y = (2m + 33)·2^(s−1) for s ≥ 1,
 *     in 1..4032. Its lower decision value is 2m for s = 0 and (m + 16)·2^s for
 *     s ≥ 1. The top decision value 4096 is exactly 16-bit full scale.
 *     A-law has no zero output value.
 *
 * Rounding: G.711 §3.6 leaves the conversion of uniform PCM values at the decision
 * values to A-law/µ-law to the equipment specification. Tables 1b/2b mirror the
 * positive tables for negative inputs. This module follows the ITU-T G.191 reference
 * software. A sample on a decision value goes to the interval above it. A positive
 * sample x has magnitude v = x, and a negative sample has v = ~x = −x − 1
 * (one's complement). Compare v with the decision values × 4 (µ) or × 8 (A). So sample k ≥ 0 and sample −1 − k get the same interval with
 * opposite sign, and −32768 needs no special case.
 * Results:
 *   - µ-law: inputs −1..−4 give 0x7F ("negative zero"). It decodes to 0, like 0xFF, and
 *     0 encodes to 0xFF. So encode(decode(0x7F)) = 0xFF.
 *   - Saturation: |x| beyond the last decision value is coded as the largest
 *     code of that sign. µ-law: 32767 → 0x80 (32124), −32768 → 0x00 (−32124).
 *     A-law: 32767 → 0xAA (32256), −32768 → 0x2A (−32256).
 *   - Not implemented: the optional µ-law all-zero-character suppression
 *     (G.711 §3.2: send 0x02, decoded as −7519 in Table 2 units, instead of 0x00). Do it at the line interface
 *     if a network requires it.
 */

// ---------------------------------------------------------------------------
// Constants

/** µ-law bias in 16-bit units: 33 (G.711 Table 2 units) × 4. Adding it makes the
 *  segment start points powers of two. */
// @ts-ignore: decorator
@inline const ULAW_BIAS: i32 = 132;
/** Largest biased µ-law magnitude that keeps 16-bit arithmetic inside segment 7. */
// @ts-ignore: decorator
@inline const ULAW_BIASED_MAX: i32 = 0x7fff;
/** A-law: line code = character signal XOR 0x55 (even bits inverted). */
// @ts-ignore: decorator
@inline const ALAW_EVEN_BITS: i32 = 0x55;

// ---------------------------------------------------------------------------
// Decode tables (built once at module start)

/** µ-law code → 16-bit PCM. Built once at module start. 256 entries × i16,
 *  values in −32124..32124. */
const ULAW_DECODE: StaticArray<i16> = buildUlawDecodeTable();
/** A-law code → 16-bit PCM. Built once at module start. 256 entries × i16,
 *  values in ±8..±32256. */
const ALAW_DECODE: StaticArray<i16> = buildAlawDecodeTable();

/** Decoder output of one µ-law code, from the G.711 Table 2 formula (16-bit PCM). */
function ulawCodeValue(code: i32): i32 {
  const c = ~code & 0xff; // undo the line inversion: polarity bit 1 = negative, then n
  const s = (c >> 4) & 7;
  const m = c & 0x0f;
  const magnitude = ((((m << 1) + 33) << s) - 33) << 2; // y(n) × 4
  return (c & 0x80) != 0 ? -magnitude : magnitude;
}

/** Decoder output of one A-law code, from the G.711 Table 1 formula (16-bit PCM). */
function alawCodeValue(code: i32): i32 {
  const c = (code ^ ALAW_EVEN_BITS) & 0xff; // character signal: polarity bit 1 = positive, then n
  const s = (c >> 4) & 7;
  const m = c & 0x0f;
  const y = s == 0 ? (m << 1) + 1 : ((m << 1) + 33) << (s - 1);
  const magnitude = y << 3; // y(n) × 8
  return (c & 0x80) != 0 ? magnitude : -magnitude;
}

function buildUlawDecodeTable(): StaticArray<i16> {
  const table = new StaticArray<i16>(256);
  for (let code = 0; code < 256; code++) {
    unchecked((table[code] = <i16>ulawCodeValue(code)));
  }
  return table;
}

function buildAlawDecodeTable(): StaticArray<i16> {
  const table = new StaticArray<i16>(256);
  for (let code = 0; code < 256; code++) {
    unchecked((table[code] = <i16>alawCodeValue(code)));
  }
  return table;
}

// ---------------------------------------------------------------------------
// Scalar API

/**
 * Encodes one 16-bit PCM sample to a µ-law code (G.711 §3.2, Tables 2a/2b).
 * @param pcm signed 16-bit linear sample, −32768..32767 (covers 14-bit G.711 units ×4)
 * @returns µ-law line code 0x00..0xFF (0..3 → 0xFF, −1..−4 → 0x7F, ≥ 31612 → 0x80,
 *          ≤ −31613 → 0x00)
 */
// @ts-ignore: decorator
@inline
export function linearToUlaw(pcm: i16): u8 {
  const x = <i32>pcm;
  const neg = x >> 31; // 0 or −1
  const magnitude = x ^ neg; // x, or one's complement ~x for negative x: 0..32767
  let biased = magnitude + ULAW_BIAS; // 132..32899
  if (biased > ULAW_BIASED_MAX) biased = ULAW_BIASED_MAX; // at or above 8159 (×4): n = 127
  const s = 24 - clz<i32>(biased); // floor(log2(biased)) − 7: segment 0..7
  const m = (biased >> (s + 3)) & 0x0f; // step within the segment
  const mask = 0xff ^ (neg & 0x80); // 0xFF for positive, 0x7F for negative: inverts n
  return <u8>(mask ^ ((s << 4) | m));
}

/**
 * Decodes one µ-law code to 16-bit PCM (G.711 Table 2, decoder output value × 4).
 * @param code µ-law line code 0x00..0xFF
 * @returns −32124..32124; 0xFF and 0x7F both give 0
 */
// @ts-ignore: decorator
@inline
export function ulawToLinear(code: u8): i16 {
  // Raw load: indexing the managed array would spill it to the GC shadow stack.
  return load<i16>(changetype<usize>(ULAW_DECODE) + (<usize>code << 1));
}

/**
 * Encodes one 16-bit PCM sample to an A-law code (G.711 §3.2, Tables 1a/1b).
 * @param pcm signed 16-bit linear sample, −32768..32767 (13-bit G.711 units ×8)
 * @returns A-law line code 0x00..0xFF (0..15 → 0xD5, −1..−16 → 0x55,
 *          ≥ 31744 → 0xAA, ≤ −31745 → 0x2A)
 */
// @ts-ignore: decorator
@inline
export function linearToAlaw(pcm: i16): u8 {
  const x = <i32>pcm;
  const neg = x >> 31; // 0 or −1
  const magnitude = x ^ neg; // x, or ~x for negative x: 0..32767
  // Segment: floor(log2(magnitude)) − 7 for magnitude ≥ 256, else 0. The `| 0x80` keeps
  // segment 0 (0..255) and segment 1 (256..511) from producing a negative shift.
  const s = 24 - clz<i32>(magnitude | 0x80);
  const shift = s == 0 ? 4 : s + 3; // segments 0 and 1 both have steps of 16 (2 × 8)
  const m = (magnitude >> shift) & 0x0f;
  const mask = 0xd5 ^ (neg & 0x80); // polarity bit 1 for positive, XOR 0x55 on the line
  return <u8>(mask ^ ((s << 4) | m));
}

/**
 * Decodes one A-law code to 16-bit PCM (G.711 Table 1, decoder output value × 8).
 * @param code A-law line code 0x00..0xFF
 * @returns ±8..±32256 (never 0)
 */
// @ts-ignore: decorator
@inline
export function alawToLinear(code: u8): i16 {
  // Raw load: indexing the managed array would spill it to the GC shadow stack.
  return load<i16>(changetype<usize>(ALAW_DECODE) + (<usize>code << 1));
}

// ---------------------------------------------------------------------------
// Block API (hot path: raw linear memory, no allocation, no bounds checks)
//
// Pointers are byte addresses in wasm linear memory. The caller must make sure
// that pcm/out buffers hold n samples. i16 buffers should be 2-byte aligned
// (wasm allows unaligned access but it may be slower). n <= 0 does nothing.
// Input and output must not overlap, except exactly in place (output
// pointer == input pointer). In-place works in both directions because the
// loops run in a safe order.

/**
 * Encodes n 16-bit PCM samples to µ-law.
 * @param pcm address of n i16 samples (2n bytes)
 * @param n   number of samples
 * @param out address of n bytes for µ-law codes (may equal pcm)
 */
export function encodeUlaw(pcm: usize, n: i32, out: usize): void {
  // Forward: byte i is written after samples 0..i have been read, and it lies below
  // the bytes of sample i+1 (at 2i+2), so out == pcm is safe.
  for (let i = 0; i < n; i++) {
    store<u8>(out + <usize>i, linearToUlaw(load<i16>(pcm + (<usize>i << 1))));
  }
}

/**
 * Decodes n µ-law codes to 16-bit PCM via the 256-entry table.
 * @param inp address of n µ-law code bytes
 * @param n   number of samples
 * @param out address of n i16 samples (2n bytes, may equal inp)
 */
export function decodeUlaw(inp: usize, n: i32, out: usize): void {
  // Backward: sample i (bytes 2i, 2i+1) is written after codes i..n−1 have been read,
  // and it lies at or above code i, so out == inp is safe.
  const table = changetype<usize>(ULAW_DECODE);
  for (let i = n - 1; i >= 0; i--) {
    const code = <usize>load<u8>(inp + <usize>i);
    store<i16>(out + (<usize>i << 1), load<i16>(table + (code << 1)));
  }
}

/**
 * Encodes n 16-bit PCM samples to A-law.
 * @param pcm address of n i16 samples (2n bytes)
 * @param n   number of samples
 * @param out address of n bytes for A-law codes (may equal pcm)
 */
export function encodeAlaw(pcm: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) {
    store<u8>(out + <usize>i, linearToAlaw(load<i16>(pcm + (<usize>i << 1))));
  }
}

/**
 * Decodes n A-law codes to 16-bit PCM via the 256-entry table.
 * @param inp address of n A-law code bytes
 * @param n   number of samples
 * @param out address of n i16 samples (2n bytes, may equal inp)
 */
export function decodeAlaw(inp: usize, n: i32, out: usize): void {
  const table = changetype<usize>(ALAW_DECODE);
  for (let i = n - 1; i >= 0; i--) {
    const code = <usize>load<u8>(inp + <usize>i);
    store<i16>(out + (<usize>i << 1), load<i16>(table + (code << 1)));
  }
}
