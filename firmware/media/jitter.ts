import { RtpHeader } from "./rtp";
import { codecDecode } from "./codec";

/**
 * Fixed-delay jitter buffer (v0; issue #6 brings the adaptive one). Packets are stored by RTP timestamp;
 * playout runs `delaySamples` behind the first packet's arrival and advances by the 10 ms audio clock.
 * Duplicates are dropped, reordering is absorbed up to the delay, packets whose playout time has passed are
 * counted late and dropped, missing frames play silence (counted as concealed).
 */
const SLOTS: i32 = 64;
const SLOT_BYTES: i32 = 480;
const PCM_MAX: i32 = 480;

export class FixedJitterBuffer {
  delaySamples: i32;
  frameSamples: i32 = 160;
  private slotTs: StaticArray<u32> = new StaticArray<u32>(SLOTS);
  private slotLen: StaticArray<i32> = new StaticArray<i32>(SLOTS);
  private slotPt: StaticArray<u8> = new StaticArray<u8>(SLOTS);
  private slotData: StaticArray<u8> = new StaticArray<u8>(SLOTS * SLOT_BYTES);
  private pcm: StaticArray<i16> = new StaticArray<i16>(PCM_MAX);
  private pcmTs: u32 = 0;
  private pcmValid: bool = false;
  started: bool = false;
  baseTs: u32 = 0;
  playTs: u32 = 0;
  ssrc: u32 = 0;
  // statistics
  received: u32 = 0;
  late: u32 = 0;
  duplicates: u32 = 0;
  /** 10 ms blocks played as silence because their frame was missing. */
  concealedBlocks: u32 = 0;
  playedBlocks: u32 = 0;
  firstSeq: u32 = 0;
  /** Extended highest sequence number (RFC 3550 §A.1 style, 32 bits). */
  maxSeqExt: u32 = 0;

  constructor(delaySamples: i32) { this.delaySamples = delaySamples; this.reset(); }

  reset(): void {
    for (let i = 0; i < SLOTS; i++) this.slotLen[i] = -1;
    this.started = false; this.pcmValid = false;
    this.received = 0; this.late = 0; this.duplicates = 0; this.concealedBlocks = 0; this.playedBlocks = 0;
  }

  /** Stores one packet's payload. Returns false if dropped (late, duplicate, oversize). */
  put(h: RtpHeader, payload: usize, len: i32): bool {
    if (len <= 0 || len > SLOT_BYTES) return false;
    if (!this.started || h.ssrc != this.ssrc) {
      // First packet (or a new source): anchor the playout clock.
      this.started = true; this.ssrc = h.ssrc;
      this.baseTs = h.timestamp;
      this.playTs = h.timestamp - <u32>this.delaySamples;
      this.firstSeq = h.seq; this.maxSeqExt = h.seq;
      this.pcmValid = false;
      for (let i = 0; i < SLOTS; i++) this.slotLen[i] = -1;
    } else {
      // Extend the 16-bit sequence number against the highest seen.
      const d = <i32>(<i16>(<u16>h.seq - <u16>this.maxSeqExt));
      if (d > 0) this.maxSeqExt += <u32>d;
    }
    if (<i32>(h.timestamp + <u32>this.frameSamples - this.playTs) <= 0) { this.late++; return false; }
    const idx = this.slotOf(h.timestamp);
    if (this.slotLen[idx] >= 0 && this.slotTs[idx] == h.timestamp) { this.duplicates++; return false; }
    this.slotTs[idx] = h.timestamp;
    this.slotLen[idx] = len;
    this.slotPt[idx] = h.pt;
    memory.copy(changetype<usize>(this.slotData) + <usize>(idx * SLOT_BYTES), payload, <usize>len);
    this.received++;
    return true;
  }

  @inline private slotOf(ts: u32): i32 {
    const k = <i32>(ts - this.baseTs) / this.frameSamples;
    return ((k % SLOTS) + SLOTS) % SLOTS;
  }

  /** Writes `n` samples (n ≤ frameSamples, 10 ms = 80 at 8 kHz) of playout to out and advances the clock. */
  pull(out: usize, n: i32): void {
    if (!this.started) { memory.fill(out, 0, <usize>(n * 2)); return; }
    const rel = <i32>(this.playTs - this.baseTs);
    let k = rel >= 0 ? rel / this.frameSamples : -((-rel + this.frameSamples - 1) / this.frameSamples);
    const frameTs = this.baseTs + <u32>(k * this.frameSamples);
    const off = <i32>(this.playTs - frameTs);
    if (!this.pcmValid || this.pcmTs != frameTs) this.load(frameTs);
    if (this.pcmValid && this.pcmTs == frameTs && off + n <= this.frameSamples) {
      memory.copy(out, changetype<usize>(this.pcm) + <usize>(off * 2), <usize>(n * 2));
    } else {
      memory.fill(out, 0, <usize>(n * 2));
      if (rel >= 0) this.concealedBlocks++;
    }
    if (rel >= 0) this.playedBlocks++;
    this.playTs += <u32>n;
  }

  private load(frameTs: u32): void {
    this.pcmValid = false;
    const idx = this.slotOf(frameTs);
    if (this.slotLen[idx] < 0 || this.slotTs[idx] != frameTs) return;
    const got = codecDecode(this.slotPt[idx], changetype<usize>(this.slotData) + <usize>(idx * SLOT_BYTES), this.slotLen[idx],
      changetype<usize>(this.pcm), PCM_MAX);
    this.slotLen[idx] = -1;
    if (got != this.frameSamples) return;
    this.pcmTs = frameTs;
    this.pcmValid = true;
  }

  /** Packets expected from the sequence numbers seen, minus those received (RFC 3550 §6.4.1 cumulative loss). */
  lost(): i32 {
    if (!this.started) return 0;
    const expected = <i32>(this.maxSeqExt - this.firstSeq + 1);
    const l = expected - <i32>this.received - <i32>this.late;
    return l > 0 ? l : 0;
  }
}
