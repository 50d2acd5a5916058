/** Delay statistics (firmware/media/delay-estimator.ts) and the packet store (packet-buffer.ts). */
import { DelayEstimator } from "../../../firmware/media/delay-estimator";
import { PacketBuffer, PB_DUPLICATE, PB_EVICTED, PB_OK, PB_SLOTS } from "../../../firmware/media/packet-buffer";

const bytes = new StaticArray<u8>(16);

describe("DelayEstimator", () => {
  it("targets the tail quantile of the delay above the fastest packets", () => {
    const e = new DelayEstimator();
    e.tailQ30 = <u32>((1 << 30) / 100); // 1 %
    // every 250th packet is 80 ms late (0.4 %), the others 0–9 ms above the floor
    for (let k = 0; k < 3000; k++) {
      const extra: i64 = k % 250 == 50 ? 80_000 : <i64>((k * 7) % 10) * 1000;
      e.update(<i64>k * 20_000 + 25_000 + extra, 25_000 + extra);
    }
    const q = e.quantileUs();
    expect(q).toBeGreaterThanOrEqual(8_000);
    expect(q).toBeLessThanOrEqual(12_000);
    e.tailQ30 = <u32>((1 << 30) / 1000); // 0.1 %: the late ones matter
    expect(e.quantileUs()).toBeGreaterThan(70_000);
  });

  it("estimates sender clock drift (±200 ppm) from the floor's slope", () => {
    for (let s = -1; s <= 1; s += 2) {
      const e = new DelayEstimator();
      // sender fast by 200 ppm: its timestamps run ahead, the transit shrinks by 0.2 ms per second
      for (let k = 0; k < 3000; k++) {
        const t = <i64>k * 20_000;
        e.update(t + 30_000, 30_000 - <i64>s * t / 5000 + <i64>((k * 13) % 7) * 500);
      }
      expect(abs<i32>(e.driftPpm() - s * 200)).toBeLessThanOrEqual(10);
    }
  });

  it("counts a burst released by a stalled link once", () => {
    const e = new DelayEstimator();
    for (let k = 0; k < 200; k++) e.update(<i64>k * 20_000, 10_000);
    // 10 packets held 200 ms, then all delivered at once
    for (let j = 0; j < 10; j++) e.update(<i64>(200 + 10) * 20_000 + <i64>j * 100, 10_000 + 200_000 - <i64>j * 20_000);
    expect(e.burstSkipped).toBe(9);
  });
});

describe("PacketBuffer", () => {
  it("keeps packets in timestamp order, refuses duplicates, evicts the oldest when full", () => {
    const pb = new PacketBuffer();
    const b = changetype<usize>(bytes);
    expect(pb.insert(320, 3, 0, b, 16)).toBe(PB_OK);
    expect(pb.insert(0, 1, 0, b, 16)).toBe(PB_OK);
    expect(pb.insert(160, 2, 0, b, 16)).toBe(PB_OK);
    expect(pb.insert(160, 2, 0, b, 16)).toBe(PB_DUPLICATE);
    expect(pb.headTs()).toBe(0); pb.popHead();
    expect(pb.headTs()).toBe(160); pb.popHead();
    expect(pb.headTs()).toBe(320);
    pb.flush();
    for (let i = 0; i < PB_SLOTS; i++) pb.insert(<i64>i * 160, <u16>i, 0, b, 16);
    expect(pb.insert(<i64>PB_SLOTS * 160, 0, 0, b, 16)).toBe(PB_EVICTED);
    expect(pb.headTs()).toBe(160);
    expect(pb.count).toBe(PB_SLOTS);
  });
});
