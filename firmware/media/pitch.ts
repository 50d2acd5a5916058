/**
 * Period search shared by time-scale modification (tsm.ts) and concealment (plc.ts): the lag that
 * maximises the normalised cross-correlation
 *     c(p) = Σ a[i]·b[i] / sqrt(Σ a[i]² · Σ b[i]²),  i < win
 * between a window and the same-length window `p` samples away. Sums are exact (i64); only the final
 * normalisation uses f64. i16 samples in linear memory; no allocation.
 */

/** Correlation of the last search, Q14 (16384 = identical shape), 0 for silence. */
export let pitchCorrQ14: i32 = 0;
/** Mean energy per sample of the reference window of the last search (i16² units). */
export let pitchEnergy: i64 = 0;

/** Normalised cross-correlation of a[0..win) and b[0..win), Q14; 0 if either is all zero. */
export function corrQ14(a: usize, b: usize, win: i32): i32 {
  let ab: i64 = 0, aa: i64 = 0, bb: i64 = 0;
  for (let i = 0; i < win; i++) {
    const x = <i64>load<i16>(a + (<usize>i << 1));
    const y = <i64>load<i16>(b + (<usize>i << 1));
    ab += x * y; aa += x * x; bb += y * y;
  }
  if (aa == 0 || bb == 0) return 0;
  return <i32>(<f64>ab / Math.sqrt(<f64>aa * <f64>bb) * 16384.0);
}

/**
 * Forward search: compares x[0..win) with x[p..p+win) for p in [pMin, pMax] (x must hold pMax + win
 * samples). Returns the best p (the smallest one on ties), or pMin if pMin > pMax.
 */
export function periodForward(x: usize, pMin: i32, pMax: i32, win: i32): i32 {
  let best = pMin, bestC = -32768;
  for (let p = pMin; p <= pMax; p++) {
    const c = corrQ14(x, x + (<usize>p << 1), win);
    if (c > bestC) { bestC = c; best = p; }
  }
  pitchCorrQ14 = bestC < 0 ? 0 : bestC;
  pitchEnergy = energy(x, win) / <i64>(win > 0 ? win : 1);
  return best;
}

/**
 * Backward search over history: compares the last `win` samples of x[0..len) with the window `p`
 * samples earlier, p in [pMin, pMax] (len ≥ pMax + win). Returns the best p.
 */
export function periodBackward(x: usize, len: i32, pMin: i32, pMax: i32, win: i32): i32 {
  const ref = x + (<usize>(len - win) << 1);
  let best = pMin, bestC = -32768;
  for (let p = pMin; p <= pMax; p++) {
    const c = corrQ14(ref, ref - (<usize>p << 1), win);
    if (c > bestC) { bestC = c; best = p; }
  }
  pitchCorrQ14 = bestC < 0 ? 0 : bestC;
  pitchEnergy = energy(ref, win) / <i64>(win > 0 ? win : 1);
  return best;
}

/** Σ x² over n samples. */
export function energy(x: usize, n: i32): i64 {
  let e: i64 = 0;
  for (let i = 0; i < n; i++) { const v = <i64>load<i16>(x + (<usize>i << 1)); e += v * v; }
  return e;
}
