/** Conference mixer (firmware/media/mixer.ts): N−1 mixes, normalisation without clipping. */
import { Mixer, MIX_BLOCK_MAX, MIX_PARTIES_MAX, GAIN_UNITY_Q14, LIMIT_KNEE, PEAK_TARGET } from "../../../firmware/media/mixer";

function setInput(m: Mixer, p: i32, k: i32, v: i32): void { store<i16>(m.inputPtr(p) + (<usize>k << 1), <i16>v); }
function out(m: Mixer, p: i32, k: i32): i32 { return <i32>load<i16>(m.outputPtr(p) + (<usize>k << 1)); }

/** A deterministic pseudo-random sample in −amp..amp for party p, sample k. */
function noise(p: i32, k: i32, amp: i32): i32 {
  let x = <u32>(p * 7919 + k * 104729 + 12345);
  x ^= x << 13; x ^= x >> 17; x ^= x << 5;
  return <i32>(x % <u32>(2 * amp + 1)) - amp;
}

describe("Mixer", () => {
  it("gives each party the exact sum of the others (N−1) while the sum is below the target peak", () => {
    const m = new Mixer();
    const n = 160; const parties = 5;
    for (let p = 0; p < parties; p++) for (let k = 0; k < n; k++) setInput(m, p, k, noise(p, k, 4000));
    expect(m.mix(n, parties)).toBe(true);
    for (let p = 0; p < parties; p++) {
      for (let k = 0; k < n; k++) {
        let want = 0;
        for (let q = 0; q < parties; q++) if (q != p) want += <i32>load<i16>(m.inputPtr(q) + (<usize>k << 1));
        if (out(m, p, k) != want) { expect(out(m, p, k)).toBe(want); return; }
      }
    }
    expect(m.limited).toBe(0);
    expect(m.gainQ14[0]).toBe(GAIN_UNITY_Q14);
  });

  it("never hears itself: a party alone in the mix gets silence from its own input", () => {
    const m = new Mixer();
    for (let k = 0; k < 80; k++) { setInput(m, 0, k, 20000); setInput(m, 1, k, 0); setInput(m, 2, k, 0); }
    m.mix(80, 3);
    for (let k = 0; k < 80; k++) { expect(out(m, 0, k)).toBe(0); expect(out(m, 1, k)).toBe(20000); expect(out(m, 2, k)).toBe(20000); }
  });

  it("does not clip or wrap 10 full-scale parties (|y| < 32767, sign of the sum kept), over many blocks", () => {
    const m = new Mixer();
    const n = 160; const parties = 10;
    let peak: i32 = 0; let signErrors = 0;
    for (let b = 0; b < 50; b++) {
      for (let p = 0; p < parties; p++) for (let k = 0; k < n; k++) setInput(m, p, k, (b & 1) == 0 ? 32767 : -32768 + (noise(p, k, 300) & 0xff));
      m.mix(n, parties);
      for (let p = 0; p < parties; p++) for (let k = 0; k < n; k++) {
        const y = out(m, p, k);
        const a = y < 0 ? -y : y;
        if (a > peak) peak = a;
        if (((b & 1) == 0 && y <= 0) || ((b & 1) == 1 && y >= 0)) signErrors++;
      }
    }
    expect(peak).toBeLessThan(32767);
    expect(signErrors).toBe(0);
    // The gain settled on the target: the second half of a block is at most PEAK_TARGET plus rounding.
    for (let k = n / 2; k < n; k++) expect(abs(out(m, 3, k))).toBeLessThanOrEqual(PEAK_TARGET + 200);
  });

  it("normalises smoothly: the gain drops at once on a loud block and comes back to unity over ~25 blocks", () => {
    const m = new Mixer();
    const n = 80;
    for (let k = 0; k < n; k++) { setInput(m, 0, k, 30000); setInput(m, 1, k, 30000); setInput(m, 2, k, 0); }
    m.mix(n, 3);
    const low = m.gainQ14[2];
    expect(low).toBeLessThan(GAIN_UNITY_Q14 / 2 + 200);
    // Quiet again: gain rises step by step, never jumps.
    for (let k = 0; k < n; k++) { setInput(m, 0, k, 1000); setInput(m, 1, k, 1000); }
    let prev = low; let blocks = 0;
    while (m.gainQ14[2] < GAIN_UNITY_Q14 && blocks < 100) {
      m.mix(n, 3); blocks++;
      expect(m.gainQ14[2] - prev).toBeLessThanOrEqual(400);
      prev = m.gainQ14[2];
    }
    expect(blocks).toBeGreaterThan(10);
    expect(blocks).toBeLessThan(40);
    m.mix(n, 3);
    expect(out(m, 2, 10)).toBe(2000);
  });

  it("soft-limits the start of a sudden loud block (the gain ramp lags): below full scale, sign kept, then settles", () => {
    const m = new Mixer();
    const n = 100;
    // Quiet, then two parties jump to ±31000 together: the sum (±62000) would wrap an i16 twice over.
    for (let k = 0; k < n; k++) { setInput(m, 0, k, (k & 1) == 0 ? 31000 : -31000); setInput(m, 1, k, (k & 1) == 0 ? 31000 : -31000); setInput(m, 2, k, 0); }
    m.mix(n, 3);
    expect(m.limited).toBeGreaterThan(0);
    for (let k = 0; k < n; k++) {
      const y = out(m, 2, k);
      expect(abs(y)).toBeLessThan(32767);
      expect((k & 1) == 0 ? y > 0 : y < 0).toBe(true);
    }
    // Next block starts at the target gain: no limiting needed any more.
    const before = m.limited;
    m.mix(n, 3);
    expect(m.limited).toBe(before);
    expect(abs(out(m, 2, 50))).toBeLessThanOrEqual(PEAK_TARGET);
    expect(LIMIT_KNEE).toBeGreaterThan(PEAK_TARGET);
  });

  it("rejects bad arguments without touching memory", () => {
    const m = new Mixer();
    expect(m.mix(0, 3)).toBe(false);
    expect(m.mix(MIX_BLOCK_MAX + 1, 3)).toBe(false);
    expect(m.mix(80, 0)).toBe(false);
    expect(m.mix(80, MIX_PARTIES_MAX + 1)).toBe(false);
    expect(m.mix(MIX_BLOCK_MAX, MIX_PARTIES_MAX)).toBe(true);
  });
});
