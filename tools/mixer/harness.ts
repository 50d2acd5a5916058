// Benchmark harness for the conference mixer (tools/mixer-bench.ts): the firmware's Mixer, fed with
// pseudo-speech, mixing `frames` blocks per call so one wasm call is long enough to time.
import { Mixer, MIX_PARTIES_MAX } from "../../firmware/media/mixer";

const mixer = new Mixer();

/** Fills every input with a deterministic noise at about −12 dBFS (so the normalisation works). */
export function fill(n: i32): void {
  let x: u32 = 2463534242;
  for (let p = 0; p < MIX_PARTIES_MAX; p++) {
    for (let k = 0; k < n; k++) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      store<i16>(mixer.inputPtr(p) + (<usize>k << 1), <i16>(<i32>(x & 0x3fff) - 8192));
    }
  }
}

/** Mixes `frames` blocks of `n` samples for `parties` parties; returns a checksum so nothing is optimised out. */
export function run(frames: i32, n: i32, parties: i32): i32 {
  let acc: i32 = 0;
  for (let f = 0; f < frames; f++) {
    mixer.mix(n, parties);
    acc += <i32>load<i16>(mixer.outputPtr(f % parties));
  }
  return acc;
}

