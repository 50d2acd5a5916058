/** Time-scale modification (firmware/media/tsm.ts): whole periods removed/added, pitch unchanged. */
import { tsmAccelerate, tsmDecelerate } from "../../../firmware/media/tsm";
import { GenericPlc } from "../../../firmware/media/plc";
import { periodForward } from "../../../firmware/media/pitch";

const buf = new StaticArray<i16>(2048);
const p = changetype<usize>(buf);

/** A 8 kHz tone of `hz` Hz, amplitude 10000, over n samples. */
function tone(hz: f64, n: i32): void {
  for (let i = 0; i < n; i++) buf[i] = <i16>(10000.0 * Math.sin(2.0 * Math.PI * hz * <f64>i / 8000.0));
}

/** Frequency from the mean distance between rising zero crossings over [from, to). */
function freqHz(ptr: usize, from: i32, to: i32): f64 {
  let first = -1, last = -1, count = 0;
  for (let i = from + 1; i < to; i++) {
    const a = load<i16>(ptr + (<usize>(i - 1) << 1)), b = load<i16>(ptr + (<usize>i << 1));
    if (a < 0 && b >= 0) { if (first < 0) first = i; else count++; last = i; }
  }
  return count > 0 ? 8000.0 * <f64>count / <f64>(last - first) : 0;
}

describe("tsm", () => {
  it("accelerate removes whole periods of a 200 Hz tone and keeps its frequency within 2 %", () => {
    tone(200, 480);
    const removed = tsmAccelerate(p, 480, 20, 120, 80, 13107);
    expect(removed).toBeGreaterThan(0);
    expect(removed % 40).toBe(0, "a multiple of the 40-sample period");
    const f = freqHz(p, 0, 480 - removed);
    expect(Math.abs(f - 200.0)).toBeLessThan(4.0);
  });

  it("decelerate inserts whole periods of a 310 Hz tone and keeps its frequency within 2 %", () => {
    tone(310, 480);
    const added = tsmDecelerate(p, 480, 2048, 20, 120, 80, 9830);
    expect(added).toBeGreaterThan(0);
    const f = freqHz(p, 0, 480 + added);
    expect(Math.abs(f - 310.0)).toBeLessThan(6.2);
  });

  it("leaves unpredictable (noise-like) audio alone", () => {
    let x: u32 = 12345;
    for (let i = 0; i < 480; i++) { x = x * 1103515245 + 12345; buf[i] = <i16>((<i32>(x >> 16) & 0x3fff) - 0x2000); }
    expect(tsmAccelerate(p, 480, 20, 120, 80, 13107)).toBe(0);
    expect(tsmDecelerate(p, 480, 2048, 20, 120, 80, 13107)).toBe(0);
  });

  it("removes the largest allowed amount from silence", () => {
    for (let i = 0; i < 480; i++) buf[i] = 0;
    expect(tsmAccelerate(p, 480, 20, 100, 80, 13107)).toBe(100);
  });

  it("finds the period of a tone", () => {
    tone(250, 400);
    expect(periodForward(p, 20, 60, 80)).toBe(32);
  });
});

describe("GenericPlc (G.711 Appendix I style)", () => {
  it("continues a voiced signal at its pitch and fades it to silence after 60 ms", () => {
    const plc = new GenericPlc(8000);
    tone(160, 400); // period 50 samples
    plc.push(p, 400);
    plc.conceal(p, 160); // 0 … 20 ms
    expect(plc.pitch).toBe(50);
    const f = freqHz(p, 0, 160);
    expect(Math.abs(f - 160.0)).toBeLessThan(6.0);
    plc.conceal(p, 320); // 20 … 60 ms
    let peakEnd = 0;
    for (let i = 240; i < 320; i++) { const v = abs<i32>(<i32>buf[i]); if (v > peakEnd) peakEnd = v; }
    expect(peakEnd).toBeLessThan(2500, "≤ 20 % gain in the last 10 ms before 60 ms");
    plc.conceal(p, 80);
    for (let i = 0; i < 80; i++) expect(buf[i]).toBe(0);
  });

  it("cross-fades into the real signal on merge (4 ms after one 10 ms erasure)", () => {
    const plc = new GenericPlc(8000);
    tone(200, 400);
    plc.push(p, 400);
    plc.conceal(p, 80);
    for (let i = 0; i < 80; i++) buf[i] = 5000;
    expect(plc.merge(p, 80)).toBe(32);
    expect(buf[79]).toBe(5000);
    expect(plc.active).toBe(false);
  });
});
