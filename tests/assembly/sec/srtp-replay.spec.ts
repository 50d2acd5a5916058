/**
 * The secure-RTP replay window and index estimation (firmware/sec/replay-window.ts; RFC 3711 §3.3.1,
 * §3.3.2, Appendix A): duplicates and packets older than the window are refused, reordering inside it is
 * accepted, a sequence-number wrap moves the rollover counter, and nothing changes state until commit.
 */
import {
  ReplayWindow, REPLAY_DUPLICATE, REPLAY_OK, REPLAY_TOO_OLD, REPLAY_WINDOW_PACKETS,
} from "../../../firmware/sec/replay-window";
import { Prng } from "../../../firmware/lib/prng";

function accept(w: ReplayWindow, seq: u16): i32 {
  const i = w.estimate(seq);
  const r = w.check(i);
  if (r == REPLAY_OK) w.commit(i);
  return r;
}

describe("ReplayWindow", () => {
  it("is at least 64 packets wide", () => {
    expect(REPLAY_WINDOW_PACKETS).toBeGreaterThanOrEqual(64);
  });

  it("accepts a first packet and refuses its duplicate", () => {
    const w = new ReplayWindow();
    expect(accept(w, 1000)).toBe(REPLAY_OK);
    expect(w.top).toBe(1000);
    expect(accept(w, 1000)).toBe(REPLAY_DUPLICATE);
  });

  it("accepts reordered packets inside the window once each", () => {
    const w = new ReplayWindow();
    expect(accept(w, 100)).toBe(REPLAY_OK);
    expect(accept(w, 110)).toBe(REPLAY_OK);
    for (let s: u16 = 101; s < 110; s++) expect(accept(w, s)).toBe(REPLAY_OK);
    for (let s: u16 = 100; s <= 110; s++) expect(accept(w, s)).toBe(REPLAY_DUPLICATE);
    expect(w.top).toBe(110);
  });

  it("refuses a packet older than the window, accepts the oldest one inside it", () => {
    const w = new ReplayWindow();
    expect(accept(w, 5000)).toBe(REPLAY_OK);
    const top: u16 = 5000 + <u16>REPLAY_WINDOW_PACKETS + 10;
    expect(accept(w, top)).toBe(REPLAY_OK);
    expect(accept(w, top - <u16>(REPLAY_WINDOW_PACKETS - 1))).toBe(REPLAY_OK);
    expect(accept(w, top - <u16>REPLAY_WINDOW_PACKETS)).toBe(REPLAY_TOO_OLD);
    expect(accept(w, 5000)).toBe(REPLAY_TOO_OLD);
  });

  it("check alone never changes state (a packet that fails authentication is not remembered)", () => {
    const w = new ReplayWindow();
    accept(w, 10);
    const i = w.estimate(12);
    expect(w.check(i)).toBe(REPLAY_OK);
    expect(w.check(i)).toBe(REPLAY_OK);
    expect(w.top).toBe(10);
    w.commit(i);
    expect(w.check(i)).toBe(REPLAY_DUPLICATE);
  });

  it("estimates the rollover counter across a sequence-number wrap, both ways (RFC 3711 §3.3.1)", () => {
    const w = new ReplayWindow();
    expect(accept(w, 65530)).toBe(REPLAY_OK);
    expect(w.estimate(3)).toBe(65536 + 3);       // after the wrap: ROC + 1
    expect(accept(w, 3)).toBe(REPLAY_OK);
    expect(w.top).toBe(65536 + 3);
    expect(w.estimate(65534)).toBe(65534);       // a late packet from before the wrap: ROC − 1
    expect(accept(w, 65534)).toBe(REPLAY_OK);
    expect(accept(w, 65530)).toBe(REPLAY_DUPLICATE);
    expect(accept(w, 3)).toBe(REPLAY_DUPLICATE);
  });

  it("a large forward jump clears the window; a jump of exactly 64 keeps the word boundary right", () => {
    const w = new ReplayWindow();
    for (let s: u16 = 0; s < 200; s++) expect(accept(w, s)).toBe(REPLAY_OK);
    expect(accept(w, 263)).toBe(REPLAY_OK);      // jump of 64
    expect(accept(w, 199)).toBe(REPLAY_DUPLICATE);
    expect(accept(w, 200)).toBe(REPLAY_OK);      // the gap was never seen
    expect(accept(w, 200)).toBe(REPLAY_DUPLICATE);
    expect(accept(w, 10000)).toBe(REPLAY_OK);    // far jump
    expect(accept(w, 9999)).toBe(REPLAY_OK);
    expect(accept(w, 263)).toBe(REPLAY_TOO_OLD);
  });

  it("matches a reference set model on 5,000 random arrivals (reorder, duplicates, wrap)", () => {
    const rng = new Prng(7, 99);
    const w = new ReplayWindow();
    const seen = new Set<i64>();
    let next: i64 = 65000;
    let top: i64 = -1;
    for (let k = 0; k < 5000; k++) {
      // mostly in order, some late (up to 200 behind), some repeats
      const back = <i64>(rng.below(10) == 0 ? rng.below(200) : 0);
      const index = next - back;
      if (back == 0) next++;
      const seq = <u16>(index & 0xFFFF);
      const est = w.estimate(seq);
      expect(est).toBe(index);
      let want = REPLAY_OK;
      if (top >= 0 && index <= top) {
        if (top - index >= <i64>REPLAY_WINDOW_PACKETS) want = REPLAY_TOO_OLD;
        else if (seen.has(index)) want = REPLAY_DUPLICATE;
      }
      const got = w.check(est);
      expect(got).toBe(want);
      if (got == REPLAY_OK) { w.commit(est); seen.add(index); if (index > top) top = index; }
    }
  });
});
