/**
 * Call-progress and ringer tones, generated in the firmware at 8 kHz and played through the codec chip:
 *   ring      electronic ringer: a 20 Hz warble between 1000 and 1250 Hz, 2 s on / 4 s off
 *   ringback  440 + 480 Hz, 2 s on / 4 s off (the North American ringback of ITU-T E.180 Suppl. 2)
 *   dial      350 + 440 Hz continuous (precise dial tone)
 *   busy      480 + 620 Hz, 0.5 s on / 0.5 s off
 *   hold      440 Hz, 0.3 s every 4 s (played to the held party, issue #8: call/hold.ts)
 * Oscillators are phase accumulators (u32, full turn = 2^32) into a 256-entry Q15 sine table: no per-sample
 * floating point, nothing allocated after the table.
 */
export const TONE_NONE: i32 = 0;
export const TONE_RING: i32 = 1;
export const TONE_RINGBACK: i32 = 2;
export const TONE_DIAL: i32 = 3;
export const TONE_BUSY: i32 = 4;
export const TONE_HOLD: i32 = 5;

export const TONE_RATE_HZ: i32 = 8000;
const TABLE_BITS: i32 = 8;
const sineQ15 = new StaticArray<i16>(1 << TABLE_BITS);
let tableReady = false;

function buildTable(): void {
  for (let i = 0; i < (1 << TABLE_BITS); i++) sineQ15[i] = <i16>Math.round(Math.sin(2 * Math.PI * <f64>i / <f64>(1 << TABLE_BITS)) * 32767);
  tableReady = true;
}

/** Phase increment per sample for `hz` at 8 kHz (2^32 · hz / 8000). */
@inline function incOf(hz: i32): u32 { return <u32>((<u64>hz << 32) / <u64>TONE_RATE_HZ); }

export class ToneGenerator {
  tone: i32 = TONE_NONE;
  /** Samples generated since the tone started (drives the cadence). */
  pos: i64 = 0;
  private ph1: u32 = 0;
  private ph2: u32 = 0;
  /** Amplitude of each of the two components, Q15 (default −12 dBFS each). */
  levelQ15: i32 = 8192;

  constructor() { if (!tableReady) buildTable(); }

  start(tone: i32): void {
    if (tone == this.tone) return;
    this.tone = tone; this.pos = 0; this.ph1 = 0; this.ph2 = 0;
  }

  /** True while the cadence is in an "on" period at sample `pos`. */
  on(pos: i64): bool {
    const t = this.tone;
    if (t == TONE_RING || t == TONE_RINGBACK) return pos % 48000 < 16000;
    if (t == TONE_BUSY) return pos % 8000 < 4000;
    if (t == TONE_HOLD) return pos % 32000 < 2400;
    return t == TONE_DIAL;
  }

  /** Writes `n` i16 samples of the current tone at `out` (silence for TONE_NONE and off periods). */
  fill(out: usize, n: i32): void {
    const t = this.tone;
    let f1 = 0; let f2 = 0;
    if (t == TONE_RINGBACK) { f1 = 440; f2 = 480; }
    else if (t == TONE_DIAL) { f1 = 350; f2 = 440; }
    else if (t == TONE_BUSY) { f1 = 480; f2 = 620; }
    else if (t == TONE_HOLD) { f1 = 440; f2 = 0; }
    for (let i = 0; i < n; i++) {
      const pos = this.pos + <i64>i;
      let v: i32 = 0;
      if (t != TONE_NONE && this.on(pos)) {
        if (t == TONE_RING) {
          // 20 Hz warble: 25 ms (200 samples) at each frequency, one oscillator, continuous phase.
          this.ph1 += (pos / 200) % 2 == 0 ? incOf(1000) : incOf(1250);
          v = (<i32>sineQ15[this.ph1 >> (32 - TABLE_BITS)] * this.levelQ15 * 2) >> 15;
        } else {
          this.ph1 += incOf(f1); this.ph2 += incOf(f2);
          v = ((<i32>sineQ15[this.ph1 >> (32 - TABLE_BITS)] + <i32>sineQ15[this.ph2 >> (32 - TABLE_BITS)]) * this.levelQ15) >> 15;
        }
      }
      store<i16>(out + (<usize>i << 1), <i16>(v > 32767 ? 32767 : v < -32768 ? -32768 : v));
    }
    this.pos += <i64>n;
  }
}
