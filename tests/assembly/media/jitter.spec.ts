/** Fixed-delay jitter buffer (v0): ordering, duplicates, late packets, loss accounting. */
import { FixedJitterBuffer } from "../../../firmware/media/jitter";
import { RtpHeader } from "../../../firmware/media/rtp";
import { encodeUlaw } from "../../../firmware/codec/g711/g711";

const pcm = new StaticArray<i16>(160);
const payload = new StaticArray<u8>(160);
const out = new StaticArray<i16>(80);

function packet(jb: FixedJitterBuffer, seq: u16, ts: u32, level: i16): bool {
  for (let i = 0; i < 160; i++) pcm[i] = level;
  encodeUlaw(changetype<usize>(pcm), 160, changetype<usize>(payload));
  const h = new RtpHeader();
  h.pt = 0; h.seq = seq; h.timestamp = ts; h.ssrc = 42;
  return jb.put(h, changetype<usize>(payload), 160);
}

function pull(jb: FixedJitterBuffer): i16 { jb.pull(changetype<usize>(out), 80); return out[0]; }

describe("FixedJitterBuffer", () => {
  it("plays out in timestamp order after the fixed delay, whatever the arrival order", () => {
    const jb = new FixedJitterBuffer(480);
    packet(jb, 10, 1600, 1000);
    packet(jb, 12, 1920, 3000); // arrives before its predecessor
    packet(jb, 11, 1760, 2000);
    for (let i = 0; i < 6; i++) expect(pull(jb)).toBe(0, "60 ms of initial delay");
    expect(pull(jb)).toBeGreaterThan(900); expect(pull(jb)).toBeGreaterThan(900);
    expect(pull(jb)).toBeGreaterThan(1900); expect(pull(jb)).toBeGreaterThan(1900);
    expect(pull(jb)).toBeGreaterThan(2900); expect(pull(jb)).toBeGreaterThan(2900);
    expect(jb.lost()).toBe(0);
  });
  it("drops duplicates and counts late packets", () => {
    const jb = new FixedJitterBuffer(160);
    expect(packet(jb, 1, 0, 500)).toBe(true);
    expect(packet(jb, 1, 0, 500)).toBe(false);
    expect(jb.duplicates).toBe(1);
    for (let i = 0; i < 8; i++) pull(jb); // play past ts 0..480
    expect(packet(jb, 2, 160, 500)).toBe(false);
    expect(jb.late).toBe(1);
  });
  it("counts missing packets as lost and plays silence for them", () => {
    const jb = new FixedJitterBuffer(0);
    packet(jb, 100, 0, 700);
    packet(jb, 102, 320, 700); // 101 lost
    pull(jb); pull(jb);
    expect(pull(jb)).toBe(0);
    expect(jb.concealedBlocks).toBe(1);
    pull(jb);
    expect(pull(jb)).toBeGreaterThan(600);
    expect(jb.lost()).toBe(1);
  });
  it("handles sequence number wrap-around", () => {
    const jb = new FixedJitterBuffer(0);
    packet(jb, 65535, 0, 100);
    packet(jb, 0, 160, 100);
    packet(jb, 1, 320, 100);
    expect(jb.lost()).toBe(0);
    expect(jb.maxSeqExt).toBe(65537);
  });
});
