/** Ringer and call-progress tones, the E-model bars, multi-tap free text (firmware/ui). */
import { ToneGenerator, TONE_RING, TONE_RINGBACK, TONE_DIAL, TONE_NONE } from "../../../firmware/ui/tones";
import { emodelR, emodelBars, barsText } from "../../../firmware/ui/emodel";
import { MultiTap, MULTITAP_TEXT } from "../../../firmware/ui/multitap";

function zeroCrossings(buf: StaticArray<i16>, from: i32, n: i32): i32 {
  let z = 0;
  for (let i = from + 1; i < from + n; i++) if ((buf[i - 1] < 0) != (buf[i] < 0)) z++;
  return z;
}

describe("ToneGenerator", () => {
  it("rings at 1000 Hz then 1250 Hz (25 ms each) and is silent after 2 s (2 s on / 4 s off)", () => {
    const g = new ToneGenerator();
    g.start(TONE_RING);
    const buf = new StaticArray<i16>(48000);
    g.fill(changetype<usize>(buf), 48000);
    expect(zeroCrossings(buf, 0, 200)).toBe(50);      // 25 ms at 1000 Hz: 25 periods, 50 crossings
    expect(zeroCrossings(buf, 200, 200)).toBeGreaterThanOrEqual(61); // 25 ms at 1250 Hz: ≈ 62
    let peak: i32 = 0;
    for (let i = 17000; i < 47000; i++) peak = max(peak, abs(<i32>buf[i]));
    expect(peak).toBe(0);
  });
  it("ringback and dial tones are two-frequency sums without clipping; NONE is silence", () => {
    const g = new ToneGenerator();
    const buf = new StaticArray<i16>(800);
    g.start(TONE_RINGBACK); g.fill(changetype<usize>(buf), 800);
    let peak: i32 = 0;
    for (let i = 0; i < 800; i++) peak = max(peak, abs(<i32>buf[i]));
    expect(peak).toBeGreaterThan(10000);
    expect(peak).toBeLessThanOrEqual(16384);
    g.start(TONE_DIAL); g.fill(changetype<usize>(buf), 800);
    expect(zeroCrossings(buf, 0, 800)).toBeGreaterThan(60);
    g.start(TONE_NONE); g.fill(changetype<usize>(buf), 800);
    for (let i = 0; i < 800; i++) expect(buf[i]).toBe(0);
  });
});

describe("E-model (ITU-T G.107)", () => {
  it("gives R = 93.2 for no delay and no loss, and lowers R with loss and with delay past 177.3 ms", () => {
    expect(emodelR(0, 0, 0, 4.3)).toBeCloseTo(93.2);
    expect(emodelR(100, 0, 0, 4.3)).toBeCloseTo(93.2 - 2.4);
    expect(emodelR(200, 0, 0, 4.3)).toBeCloseTo(93.2 - 4.8 - 0.11 * 22.7);
    // 1 % random loss, G.711 without PLC: Ie,eff = 95·1/(1+4.3) ≈ 17.9
    expect(emodelR(0, 1, 0, 4.3)).toBeCloseTo(93.2 - 95.0 / 5.3);
    expect(emodelBars(93)).toBe(4);
    expect(emodelBars(75)).toBe(2);
    expect(emodelBars(10)).toBe(0);
    expect(barsText(3)).toBe("[###.]");
  });
});

describe("MultiTap free text", () => {
  it("types spaces on 0 and punctuation on 1 in text mode", () => {
    const m = new MultiTap();
    m.mode = MULTITAP_TEXT;
    m.digit(4, 0); m.digit(4, 1); m.commit();   // h
    m.digit(4, 2); m.digit(4, 3); m.digit(4, 4); m.commit(); // i
    m.digit(0, 5); m.commit();                  // space
    m.digit(1, 6); m.digit(1, 7); m.digit(1, 8); m.digit(1, 9); m.commit(); // !
    expect(m.text).toBe("hi !");
    m.set("bob");
    expect(m.full()).toBe("bob");
  });
});
