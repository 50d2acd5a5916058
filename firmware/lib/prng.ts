/**
 * xoshiro128** PRNG (Blackman & Vigna, 2018), seeded with splitmix32. The firmware's only source of
 * randomness besides hal entropy (architecture.md §Determinism): one instance per subsystem, each split
 * from the seed given to `init`, so one phone's run is reproducible from that seed.
 */
export class Prng {
  private s0: u32 = 0; private s1: u32 = 0; private s2: u32 = 0; private s3: u32 = 0;

  constructor(seed: u64, stream: u32) { this.seed(seed, stream); }

  seed(seed: u64, stream: u32): void {
    let x: u32 = <u32>seed ^ <u32>(seed >> 32) ^ (stream * 0x9E3779B9);
    this.s0 = splitmix(x); x += 0x9E3779B9;
    this.s1 = splitmix(x); x += 0x9E3779B9;
    this.s2 = splitmix(x); x += 0x9E3779B9;
    this.s3 = splitmix(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) == 0) this.s0 = 1;
  }

  next(): u32 {
    const result = rotl(this.s1 * 5, 7) * 9;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform integer in [0, n) (n > 0), by multiply-shift (bias < 2^-32·n, irrelevant here). */
  below(n: u32): u32 { return <u32>((<u64>this.next() * <u64>n) >> 32); }
}

@inline function rotl(x: u32, k: u32): u32 { return (x << k) | (x >> (32 - k)); }

function splitmix(x: u32): u32 {
  let z = x + 0x9E3779B9;
  z = (z ^ (z >> 16)) * 0x85EBCA6B;
  z = (z ^ (z >> 13)) * 0xC2B2AE35;
  return z ^ (z >> 16);
}
