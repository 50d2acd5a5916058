/**
 * Fast deterministic PRNG for the fuzzer (xorshift128+ on two 32-bit halves is overkill here: one
 * xorshift32 stream per target, seeded from the run seed). Not for anything but choosing test inputs.
 */
export class FuzzRng {
  private s: number;
  constructor(seed: number) { this.s = (seed >>> 0) || 0x9e3779b9; }
  /** Uniform u32. */
  u32(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number { return n <= 1 ? 0 : this.u32() % n; }
  /** True with probability p. */
  chance(p: number): boolean { return this.u32() < p * 4294967296; }
  pick<T>(a: readonly T[]): T { return a[this.below(a.length)]; }
  bytes(n: number): Uint8Array { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = this.u32() & 255; return b; }
  /** Small sizes more often than large ones: [0, max]. */
  size(max: number): number { const r = this.below(4); return r === 0 ? this.below(8) : r === 1 ? this.below(64) : this.below(max + 1); }
}
