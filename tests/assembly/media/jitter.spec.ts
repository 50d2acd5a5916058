/** Adaptive jitter buffer (firmware/media/jitter.ts): ordering, duplicates, late packets, loss, SSRC change,
 *  timestamp jumps, sequence wrap, concealment, fixed mode. Clock: µs; 20 ms G.711 frames; 10 ms blocks. */
import { JitterBuffer, PUT_DUPLICATE, PUT_LATE, PUT_OK, PUT_BAD } from "../../../firmware/media/jitter";
import { OP_EXPAND, OP_MERGE, OP_NORMAL, OP_SILENCE } from "../../../firmware/media/playout";
import { RtpHeader } from "../../../firmware/media/rtp";
import { encodeUlaw } from "../../../firmware/codec/g711/g711";

const pcm = new StaticArray<i16>(160);
const payload = new StaticArray<u8>(160);
const out = new StaticArray<i16>(80);
const h = new RtpHeader();

/** A 20 ms µ-law frame whose samples all equal `level` (so the output tells which frame is playing). */
function put(jb: JitterBuffer, seq: i32, ts: u32, level: i16, atUs: i64, ssrc: u32 = 42): i32 {
  for (let i = 0; i < 160; i++) pcm[i] = level;
  encodeUlaw(changetype<usize>(pcm), 160, changetype<usize>(payload));
  h.pt = 0; h.seq = <u16>seq; h.timestamp = ts; h.ssrc = ssrc;
  return jb.put(h, changetype<usize>(payload), 160, atUs);
}

function pull(jb: JitterBuffer, atUs: i64): i16 { jb.pull(changetype<usize>(out), 80, atUs); return out[40]; }

describe("JitterBuffer (adaptive)", () => {
  it("starts after the initial delay and plays frames in timestamp order whatever the arrival order", () => {
    const jb = new JitterBuffer(true);
    expect(put(jb, 10, 1600, 1000, 0)).toBe(PUT_OK);
    expect(put(jb, 12, 1920, 3000, 1000)).toBe(PUT_OK); // overtook its predecessor
    expect(put(jb, 11, 1760, 2000, 2000)).toBe(PUT_OK);
    // initial delay 8 ms: the block at t = 0 is 8 ms of silence, then the stream starts
    expect(jb.pull(changetype<usize>(out), 80, 0)).toBe(OP_NORMAL);
    expect(out[63]).toBe(0);
    expect(out[64]).toBeGreaterThan(900);
    const levels = new StaticArray<i16>(6);
    for (let i = 0; i < 6; i++) levels[i] = pull(jb, 10_000 + <i64>i * 10_000);
    expect(levels[0]).toBeGreaterThan(900); expect(levels[1]).toBeGreaterThan(900);
    expect(levels[2]).toBeGreaterThan(1900); expect(levels[3]).toBeGreaterThan(1900);
    expect(levels[4]).toBeGreaterThan(2900); expect(levels[5]).toBeGreaterThan(2900);
    expect(jb.stats.reordered).toBe(1);
    expect(jb.stats.lost()).toBe(0);
    expect(jb.stats.late).toBe(0);
  });

  it("drops duplicates (same sequence number, or same timestamp) and counts them", () => {
    const jb = new JitterBuffer(true);
    expect(put(jb, 1, 0, 500, 0)).toBe(PUT_OK);
    expect(put(jb, 1, 0, 500, 100)).toBe(PUT_DUPLICATE);
    expect(put(jb, 2, 160, 500, 20_000)).toBe(PUT_OK);
    expect(put(jb, 2, 160, 500, 20_100)).toBe(PUT_DUPLICATE);
    expect(jb.stats.duplicates).toBe(2);
    expect(jb.stats.received).toBe(2);
  });

  it("conceals a lost frame for its duration, merges the next one, and counts the loss", () => {
    const jb = new JitterBuffer(true);
    put(jb, 100, 0, 700, 0);
    put(jb, 102, 320, 700, 40_000); // 101 lost; 102 arrives on time
    let t: i64 = 10_000;
    pull(jb, t); t += 10_000; pull(jb, t); t += 10_000;
    // frame 101's time: 102 is buffered, so 101 is given up and concealed (2 blocks)
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_MERGE);
    expect(out[79]).toBeGreaterThan(600);
    expect(jb.stats.lost()).toBe(1);
    expect(jb.stats.framesLost).toBe(1);
    expect(jb.stats.samplesConcealed).toBe(160);
  });

  it("waits (conceals without skipping) when nothing newer has arrived: a delayed packet is played, not lost", () => {
    const jb = new JitterBuffer(true);
    put(jb, 1, 0, 800, 0);
    let t: i64 = 10_000;
    pull(jb, t); t += 10_000; pull(jb, t); t += 10_000;
    const before = jb.delayUs(t);
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000; // frame 2 is 30 ms late
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    expect(put(jb, 2, 160, 900, t - 1000)).toBe(PUT_OK);
    expect(jb.delayUs(t) - before).toBe(20_000); // the delay grew by the wait
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_MERGE);
    expect(jb.stats.late).toBe(0);
    expect(jb.stats.lost()).toBe(0);
  });

  it("counts a packet whose audio was already given up as late", () => {
    const jb = new JitterBuffer(true);
    put(jb, 1, 0, 500, 0);
    put(jb, 3, 320, 500, 40_000);
    let t: i64 = 10_000;
    for (let i = 0; i < 6; i++) { pull(jb, t); t += 10_000; }
    expect(put(jb, 2, 160, 500, t)).toBe(PUT_LATE);
    expect(jb.stats.late).toBe(1);
    expect(jb.stats.lost()).toBe(0);
  });

  it("extends sequence numbers across the 16-bit wrap", () => {
    const jb = new JitterBuffer(true);
    put(jb, 65535, 0, 100, 0);
    put(jb, 0, 160, 100, 20_000);
    put(jb, 1, 320, 100, 40_000);
    expect(jb.stats.lost()).toBe(0);
    expect(jb.stats.expected()).toBe(3);
  });

  it("restarts the timeline on an SSRC change and plays the new source", () => {
    const jb = new JitterBuffer(true);
    put(jb, 1, 1000, 400, 0, 7);
    let t: i64 = 10_000;
    pull(jb, t); t += 10_000;
    expect(put(jb, 500, 99_999, 1500, t, 8)).toBe(PUT_OK);
    expect(jb.stats.ssrcChanges).toBe(1);
    let heard = false;
    for (let i = 0; i < 4; i++) { t += 10_000; if (pull(jb, t) > 1400) heard = true; }
    expect(heard).toBe(true);
  });

  it("treats a timestamp jump of seconds as a new timeline, not as network delay", () => {
    const jb = new JitterBuffer(true);
    let t: i64 = 0;
    for (let k = 0; k < 10; k++) { put(jb, k, <u32>(k * 160), 300, t); t += 20_000; pull(jb, t - 10_000); pull(jb, t); }
    // same SSRC, next sequence number, timestamp 60 s ahead
    expect(put(jb, 10, 160 * 10 + 480_000, 2500, t)).toBe(PUT_OK);
    expect(jb.stats.tsJumps).toBe(1);
    let heard = false;
    for (let i = 0; i < 4; i++) { t += 10_000; if (pull(jb, t) > 2400) heard = true; }
    expect(heard).toBe(true);
    expect(jb.targetUs()).toBeLessThan(50_000);
  });

  it("rejects empty, oversize and unknown payloads without trapping", () => {
    const jb = new JitterBuffer(true);
    h.pt = 0; h.seq = 1; h.timestamp = 0; h.ssrc = 1;
    expect(jb.put(h, changetype<usize>(payload), 0, 0)).toBe(PUT_BAD);
    expect(jb.put(h, changetype<usize>(payload), 4000, 0)).toBe(PUT_BAD);
    h.pt = 55;
    expect(jb.put(h, changetype<usize>(payload), 160, 0)).toBe(PUT_BAD);
    expect(jb.stats.bad).toBe(3);
    expect(jb.pull(changetype<usize>(out), 80, 0)).toBe(OP_SILENCE);
  });
});

describe("JitterBuffer (fixed mode)", () => {
  it("plays exactly `delay` after the first packet and drops what comes later than that", () => {
    const jb = new JitterBuffer(false, 60);
    put(jb, 1, 0, 1000, 0);
    let t: i64 = 0;
    for (let i = 0; i < 6; i++) { expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_SILENCE); t += 10_000; }
    expect(pull(jb, t)).toBeGreaterThan(900); t += 10_000; // 60 ms
    pull(jb, t); t += 10_000;
    // frame 2 (due at 80 ms) arrives at 95 ms: its first half was concealed; its second half still plays
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    put(jb, 2, 160, 2000, t - 5_000);
    expect(pull(jb, t)).toBeGreaterThan(1900); t += 10_000;
    // frame 3 arrives after all of its audio time (100–120 ms, concealed): late
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    expect(jb.pull(changetype<usize>(out), 80, t)).toBe(OP_EXPAND); t += 10_000;
    expect(put(jb, 3, 320, 3000, t)).toBe(PUT_LATE);
    expect(jb.stats.late).toBe(1);
    expect(jb.stats.accelerateOps + jb.stats.decelerateOps).toBe(0);
  });
});
