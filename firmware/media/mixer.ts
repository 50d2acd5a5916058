/**
 * Conference mixer (issue #8): N parties (2..MIX_PARTIES_MAX), each gets the sum of everyone else — the
 * "N−1 mix" of a conference bridge — scaled so it never clips.
 *
 * Q-formats (full scale = 1.0):
 *   inputs, outputs   i16 Q15 (linear PCM at 8 kHz, one audio block: 80 samples = 10 ms, up to MIX_BLOCK_MAX)
 *   sumQ15            i32 Q15, Σ of all inputs; 16 parties need 20 bits, so i32 never overflows
 *   gainQ14           i32 Q14, 16384 = unity; per output, never above unity (the mixer never amplifies)
 *   ramp              Q24 (gain Q14 << 10) accumulator, so the gain moves smoothly sample by sample
 *
 * Per output p and block: m[k] = sumQ15[k] − in_p[k] (the N−1 mix, exact in i32). Level normalisation: the
 * block's peak |m| sets a target gain PEAK_TARGET / peak (unity when the peak is below PEAK_TARGET); the gain
 * falls to the target within the block (attack, linear ramp from the previous block's gain) and rises back
 * by at most RELEASE_STEP_Q14 per block (release ≈ 0.5 s from −6 dB to unity with 10 ms blocks). A soft
 * limiter then catches what the ramp lets through at a block's start: above LIMIT_KNEE the excess e is
 * mapped to e·K/(e+K), K = 32767 − LIMIT_KNEE, which is below K for any e — so |output| < 32767 always,
 * without the hard clip's harmonics. When the N−1 sum stays below PEAK_TARGET the output is the sum itself,
 * bit-exact (gain stays unity and the limiter is not reached).
 *
 * Cost: one pass to sum, one pass per output; nothing allocated after construction. CPU per 20 ms frame:
 * `npm run bench` (section "mixer").
 */
export const MIX_PARTIES_MAX: i32 = 16;
/** Largest block in samples (60 ms at 8 kHz). */
export const MIX_BLOCK_MAX: i32 = 480;
export const GAIN_UNITY_Q14: i32 = 16384;
/** Peak the gain aims the N−1 mix at (≈ −1.9 dBFS). */
export const PEAK_TARGET: i32 = 26000;
/** Start of the soft limiter's knee (≈ −1.1 dBFS): below it samples pass unchanged. */
export const LIMIT_KNEE: i32 = 28500;
const LIMIT_K: i32 = 32767 - LIMIT_KNEE;
/** Largest gain increase per block, Q14 (≈ 0.02 of unity: −6 dB back to unity in about 25 blocks). */
export const RELEASE_STEP_Q14: i32 = 330;

export class Mixer {
  /** Inputs, party p's block at p · MIX_BLOCK_MAX. */
  readonly input: StaticArray<i16> = new StaticArray<i16>(MIX_PARTIES_MAX * MIX_BLOCK_MAX);
  /** Outputs (N−1 mixes), same layout. */
  readonly output: StaticArray<i16> = new StaticArray<i16>(MIX_PARTIES_MAX * MIX_BLOCK_MAX);
  /** Current gain of each output, Q14. */
  readonly gainQ14: StaticArray<i32> = new StaticArray<i32>(MIX_PARTIES_MAX);
  private readonly sumQ15: StaticArray<i32> = new StaticArray<i32>(MIX_BLOCK_MAX);
  /** Samples the soft limiter reshaped (for stats: should stay near 0 with normal speech). */
  limited: u32 = 0;
  /** Blocks mixed with some output's gain below unity. */
  attenuatedBlocks: u32 = 0;

  constructor() { this.reset(); }

  /** Every output back to unity gain (a new conference). */
  reset(): void {
    for (let p = 0; p < MIX_PARTIES_MAX; p++) this.gainQ14[p] = GAIN_UNITY_Q14;
    this.limited = 0; this.attenuatedBlocks = 0;
  }

  /** Address of party p's input block (0 ≤ p < MIX_PARTIES_MAX). */
  inputPtr(p: i32): usize { return changetype<usize>(this.input) + <usize>(p * MIX_BLOCK_MAX * 2); }
  /** Address of party p's output block. */
  outputPtr(p: i32): usize { return changetype<usize>(this.output) + <usize>(p * MIX_BLOCK_MAX * 2); }
  /** Resets one output's gain to unity (a party joined in p's slot). */
  resetParty(p: i32): void { if (p >= 0 && p < MIX_PARTIES_MAX) this.gainQ14[p] = GAIN_UNITY_Q14; }

  /**
   * Mixes one block of `n` samples (1..MIX_BLOCK_MAX) for `parties` parties (1..MIX_PARTIES_MAX): output p =
   * normalised Σ_{q≠p} input q. Returns false (and mixes nothing) for out-of-range arguments.
   */
  mix(n: i32, parties: i32): bool {
    if (n <= 0 || n > MIX_BLOCK_MAX || parties <= 0 || parties > MIX_PARTIES_MAX) return false;
    const sum = changetype<usize>(this.sumQ15);
    const inBase = changetype<usize>(this.input);
    const outBase = changetype<usize>(this.output);
    const stride = <usize>(MIX_BLOCK_MAX * 2);
    // Σ of all inputs.
    for (let k = 0; k < n; k++) store<i32>(sum + (<usize>k << 2), <i32>load<i16>(inBase + (<usize>k << 1)));
    for (let p = 1; p < parties; p++) {
      const src = inBase + <usize>p * stride;
      for (let k = 0; k < n; k++) {
        const a = sum + (<usize>k << 2);
        store<i32>(a, load<i32>(a) + <i32>load<i16>(src + (<usize>k << 1)));
      }
    }
    let attenuated = false;
    for (let p = 0; p < parties; p++) {
      const src = inBase + <usize>p * stride;
      const dst = outBase + <usize>p * stride;
      // Peak of this output's N−1 mix.
      let peak: i32 = 0;
      for (let k = 0; k < n; k++) {
        const m = load<i32>(sum + (<usize>k << 2)) - <i32>load<i16>(src + (<usize>k << 1));
        const a = m < 0 ? -m : m;
        if (a > peak) peak = a;
      }
      const g0 = this.gainQ14[p];
      const target = peak > PEAK_TARGET ? <i32>((<i64>PEAK_TARGET << 14) / <i64>peak) : GAIN_UNITY_Q14;
      let g1 = target < g0 ? target : min(target, g0 + RELEASE_STEP_Q14);
      this.gainQ14[p] = g1;
      if (g0 == GAIN_UNITY_Q14 && g1 == GAIN_UNITY_Q14) {
        // Fast path: unity gain, only the limiter (reached only by peaks above LIMIT_KNEE).
        for (let k = 0; k < n; k++) {
          const m = load<i32>(sum + (<usize>k << 2)) - <i32>load<i16>(src + (<usize>k << 1));
          store<i16>(dst + (<usize>k << 1), <i16>this.soft(m));
        }
        continue;
      }
      attenuated = true;
      let gQ24: i32 = g0 << 10;
      const stepQ24: i32 = ((g1 - g0) << 10) / n;
      for (let k = 0; k < n; k++) {
        gQ24 += stepQ24;
        const m = load<i32>(sum + (<usize>k << 2)) - <i32>load<i16>(src + (<usize>k << 1));
        const y = <i32>((<i64>m * <i64>(gQ24 >> 10)) >> 14);
        store<i16>(dst + (<usize>k << 1), <i16>this.soft(y));
      }
    }
    if (attenuated) this.attenuatedBlocks++;
    return true;
  }

  /** Soft limiter: identity up to LIMIT_KNEE, then a rational knee that approaches but never reaches 32767. */
  @inline private soft(x: i32): i32 {
    const a = x < 0 ? -x : x;
    if (a <= LIMIT_KNEE) return x;
    this.limited++;
    const e = a - LIMIT_KNEE;
    const y = LIMIT_KNEE + <i32>((<i64>e * <i64>LIMIT_K) / <i64>(e + LIMIT_K));
    return x < 0 ? -y : y;
  }
}
