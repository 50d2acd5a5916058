/**
 * Packet index estimation and replay protection for secure RTP (RFC 3711 §3.3.1 and §3.3.2, Appendix A).
 * Pure arithmetic, no HAL: unit-tested in tests/assembly/sec/srtp-replay.spec.ts.
 *
 * The 48-bit packet index is ROC · 65536 + SEQ. The receiver guesses the index of an arriving 16-bit SEQ
 * as the one of the three candidates (ROC − 1, ROC, ROC + 1) nearest to the highest index authenticated
 * so far (`top`), as RFC 3711 Appendix A does. The window remembers which of the REPLAY_WINDOW_PACKETS
 * indices at and below `top` were accepted: a repeat, or an index older than the window, is a replay.
 *
 * `check` never changes state; `commit` is called only after the packet authenticated (RFC 3711 §3.3.2:
 * "the replay list is updated only after authentication"), so a forged packet cannot move the window.
 */
export const REPLAY_WINDOW_PACKETS: i32 = 128;
const WORDS: i32 = REPLAY_WINDOW_PACKETS / 64;

/** Result of `ReplayWindow.check`. */
export const REPLAY_OK: i32 = 0;
/** Index already accepted once. */
export const REPLAY_DUPLICATE: i32 = 1;
/** Index older than the window (more than REPLAY_WINDOW_PACKETS − 1 below the highest). */
export const REPLAY_TOO_OLD: i32 = 2;

export class ReplayWindow {
  /** Highest accepted index, −1 before the first packet. */
  top: i64 = -1;
  /** Bit k of the window (word k >> 6, bit k & 63) set = index top − k was accepted. */
  private bits: StaticArray<u64> = new StaticArray<u64>(WORDS);

  reset(): void {
    this.top = -1;
    for (let i = 0; i < WORDS; i++) this.bits[i] = 0;
  }

  /**
   * The 48-bit index of a packet with sequence number `seq` (RFC 3711 §3.3.1): the candidate
   * `v · 65536 + seq` (v ∈ {ROC − 1, ROC, ROC + 1}) closest to `top`. Before the first packet, ROC = 0.
   */
  estimate(seq: u16): i64 {
    if (this.top < 0) return <i64>seq;
    const base = this.top & ~(<i64>0xFFFF);
    let best = base | <i64>seq;
    let bestDist = abs64(best - this.top);
    const lo = best - 65536, hi = best + 65536;
    if (lo >= 0 && abs64(lo - this.top) < bestDist) { best = lo; bestDist = abs64(lo - this.top); }
    if (abs64(hi - this.top) < bestDist) best = hi;
    return best;
  }

  /** REPLAY_OK if `index` has not been accepted and is inside the window, else why not. No state change. */
  check(index: i64): i32 {
    if (index < 0) return REPLAY_TOO_OLD;
    if (this.top < 0 || index > this.top) return REPLAY_OK;
    const k = this.top - index;
    if (k >= <i64>REPLAY_WINDOW_PACKETS) return REPLAY_TOO_OLD;
    const w = <i32>(k >> 6), b = <u64>(k & 63);
    return (this.bits[w] >> b) & 1 ? REPLAY_DUPLICATE : REPLAY_OK;
  }

  /** Records `index` as accepted (after authentication), sliding the window forward when it is new. */
  commit(index: i64): void {
    if (index < 0) return;
    if (this.top < 0) { this.top = index; this.bits[0] = 1; for (let i = 1; i < WORDS; i++) this.bits[i] = 0; return; }
    if (index > this.top) {
      this.shift(index - this.top);
      this.top = index;
      this.bits[0] |= 1;
      return;
    }
    const k = this.top - index;
    if (k >= <i64>REPLAY_WINDOW_PACKETS) return;
    this.bits[<i32>(k >> 6)] |= (<u64>1) << <u64>(k & 63);
  }

  /** Ages every bit by `d` positions (bits past the window fall off). */
  private shift(d: i64): void {
    if (d >= <i64>REPLAY_WINDOW_PACKETS) { for (let i = 0; i < WORDS; i++) this.bits[i] = 0; return; }
    const words = <i32>(d >> 6), s = <u64>(d & 63);
    for (let i = WORDS - 1; i >= 0; i--) {
      const src = i - words;
      let v: u64 = 0;
      if (src >= 0) {
        v = this.bits[src] << s;
        if (s != 0 && src - 1 >= 0) v |= this.bits[src - 1] >> (64 - s);
      }
      this.bits[i] = v;
    }
  }
}

@inline function abs64(x: i64): i64 { return x < 0 ? -x : x; }
