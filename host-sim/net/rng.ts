/**
 * Seeded pseudo-random numbers for the simulator: xoshiro128** (Blackman & Vigna), with its
 * 128-bit state filled by a splitmix32-style generator from a 64-bit key.
 *
 * Every stream has a key. `new Rng(seed)` derives the key from the seed; `split(label)` derives a
 * child key from the parent's *key* and a hash of the label, never from the parent's current
 * state. A subsystem therefore gets the same stream no matter how much the parent (or any sibling)
 * has consumed, and adding a new consumer somewhere never perturbs the others. Consequence: the same
 * label split twice from the same parent yields two identical streams — use distinct labels.
 *
 * Never uses Math.random or the wall clock.
 */

const TWO_32 = 4294967296;
const TWO_NEG_32 = 1 / TWO_32;
const TWO_NEG_53 = 1 / 9007199254740992;

/** murmur3 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a string (its UTF-16 code units) to two independent-looking 32-bit words. */
function hashLabel(label: string): [number, number] {
  // Two FNV-1a lanes with different offsets/primes, each finished with an avalanche mix.
  let a = 0x811c9dc5;
  let b = 0x2f1b8a73 ^ label.length;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [fmix32(a ^ 0x9e3779b9), fmix32(b + 0x7f4a7c15)];
}

export class Rng {
  /** The 64-bit key of this stream, as two 32-bit words (identifies the stream, not its position). */
  readonly key0: number;
  readonly key1: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * @param seed an integer seed; up to 53 bits are used (negative values and fractions are
   * accepted but folded into the key deterministically).
   */
  constructor(seed: number = 0) {
    if (!Number.isFinite(seed)) throw new RangeError('Rng: seed must be a finite number');
    let lo: number;
    let hi: number;
    if (Number.isInteger(seed) && Math.abs(seed) <= Number.MAX_SAFE_INTEGER) {
      const neg = seed < 0;
      const m = Math.abs(seed);
      lo = m % TWO_32 >>> 0;
      hi = Math.floor(m / TWO_32) >>> 0;
      if (neg) hi = (hi ^ 0x80000000) >>> 0;
    } else {
      // Non-integers / huge values: fold the float's bit pattern.
      const f = new Float64Array([seed]);
      const u = new Uint32Array(f.buffer);
      lo = u[0];
      hi = (u[1] ^ 0x40000000) >>> 0;
    }
    this.key0 = fmix32(lo ^ 0x243f6a88);
    this.key1 = fmix32((hi + Math.imul(lo, 0x9e3779b1)) ^ 0x85a308d3);
    this.s0 = this.s1 = this.s2 = this.s3 = 0;
    this.initState();
  }

  /** Creates a stream directly from a key (used by `split`). */
  private static fromKey(k0: number, k1: number): Rng {
    const r = Object.create(Rng.prototype) as Rng;
    (r as { key0: number }).key0 = k0 >>> 0;
    (r as { key1: number }).key1 = k1 >>> 0;
    r.initState();
    return r;
  }

  private initState(): void {
    // splitmix32-style sequence seeded from both key words.
    let x = (this.key0 ^ fmix32(this.key1 ^ 0x3c6ef372)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next() ^ this.key1;
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixpoint
    // Discard a few outputs so closely related keys diverge fully.
    for (let i = 0; i < 4; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    this.s1 = s1 ^ s2;
    this.s0 = s0 ^ s3;
    s2 ^= t;
    this.s2 = s2;
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return r;
  }

  /** Uniform float in [0, 1) with 53 bits of resolution (two draws). */
  float(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * TWO_NEG_53;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution (one draw; cheaper). */
  float32(): number {
    return this.u32() * TWO_NEG_32;
  }

  /** Uniform integer in [0, n) (unbiased). `n` must be a positive integer ≤ 2^53. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`Rng.int: bad bound ${n}`);
    if (n <= TWO_32) {
      // Rejection sampling: accept u < the largest multiple of n not exceeding 2^32.
      const limit = TWO_32 - (TWO_32 % n);
      for (;;) {
        const u = this.u32();
        if (u < limit) return u % n;
      }
    }
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [a, b], both inclusive (a ≤ b, integers). */
  range(a: number, b: number): number {
    if (b < a) throw new RangeError(`Rng.range: empty range [${a}, ${b}]`);
    return a + this.int(b - a + 1);
  }

  /** Uniform float in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.float();
  }

  /** True with probability p (p ≤ 0 never, p ≥ 1 always; neither of those consumes a draw). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  /** Uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: empty array');
    return items[this.int(items.length)];
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /**
   * Derives an independent stream from this stream's key and `label`. Depends only on the key and
   * the label (not on how many numbers were drawn), so it is stable across code changes elsewhere.
   */
  split(label: string): Rng {
    const [h0, h1] = hashLabel(label);
    const k0 = fmix32((this.key0 ^ h0) + Math.imul(this.key1, 0x61c88647));
    const k1 = fmix32((this.key1 ^ h1) + Math.imul(k0 ^ h0, 0x2545f491));
    return Rng.fromKey(k0, k1);
  }
}
