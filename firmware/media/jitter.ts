import { RtpHeader } from "./rtp";
import { DECODER_FRAME_MAX, MediaDecoder, codecDecoderFor } from "./codec";
import { CodecBank } from "./codec-bank";
import { PB_BAD, PB_DROPPED, PB_DUPLICATE, PB_EVICTED, PB_SLOT_BYTES, PacketBuffer } from "./packet-buffer";
import { DelayEstimator } from "./delay-estimator";
import { GenericPlc } from "./plc";
import { TSM_WIN_8K, tsmAccelerate, tsmDecelerate } from "./tsm";
import { JitterStats } from "./jitter-stats";
import {
  OP_ACCELERATE, OP_DECELERATE, OP_EXPAND, OP_MERGE, OP_NORMAL, OP_SILENCE, PlayoutPolicy,
} from "./playout";

/**
 * The jitter buffer of one call (issue #6): RTP packets in, one block of speaker samples out every
 * 10 ms.
 *
 * Input side (put): packets are unwrapped to 64-bit timestamps, checked for duplicates (sequence window
 * and timestamp), stored in timestamp order (packet-buffer.ts) and their transit is fed to the delay
 * estimator (delay-estimator.ts). A new SSRC or a timestamp jump (transit off the floor by more than
 * `TS_JUMP_US`) restarts the playout timeline; the delay histogram is kept (same network).
 *
 * Output side (pull): the *timeline* is the RTP timestamp of the next sample to play,
 * `futEndTs − futLen` (decoded-but-unplayed samples live in `fut`). The playout delay is how far this
 * is behind the floor (`delayUs()`); once per block playout.ts picks normal / accelerate / decelerate
 * against the target, and the block is then filled from decoded audio, decoding packets that continue
 * the timeline. When there is none, the block is concealed (EXPAND) and the timeline either
 *  - stays (underrun, nothing newer buffered: the audio is only late — the delay grows), or
 *  - advances over the missing audio (a newer packet is buffered and the missing one's playout time at
 *    the target delay has passed: it is declared lost; if the delay is above target the gap is skipped
 *    faster than real time, which removes the excess for free).
 * The first real audio after concealment is cross-faded in (MERGE). A packet whose audio the timeline has
 * already passed is late and discarded.
 *
 * Fixed mode (`adaptive = false`, the classic buffer the benchmark compares with): playout starts
 * `fixedDelayUs` after the first packet arrived and the timeline then advances exactly one block per
 * block — no time-stretching, concealment always advances.
 *
 * Everything is preallocated; put/pull never allocate and never trap on bad input.
 */
export const JB_BLOCK_MAX: i32 = 480;
const FUT_CAP: i32 = 4096;
/** A transit this far from the floor is a timestamp jump, not network delay, µs. */
export const TS_JUMP_US: i64 = 3_000_000;

/** put() results. */
export const PUT_OK: i32 = 0;
export const PUT_DUPLICATE: i32 = 1;
export const PUT_LATE: i32 = 2;
export const PUT_BAD: i32 = 3;
export const PUT_OVERFLOW: i32 = 4;

export class JitterBuffer {
  adaptive: bool;
  fixedDelayUs: i64;
  policy: PlayoutPolicy = new PlayoutPolicy();
  est: DelayEstimator = new DelayEstimator();
  stats: JitterStats = new JitterStats();
  rateHz: i32 = 8000;

  private pb: PacketBuffer = new PacketBuffer();
  private plc: GenericPlc = new GenericPlc(8000);
  private fut: StaticArray<i16> = new StaticArray<i16>(FUT_CAP);
  private futLen: i32 = 0;
  /** Extended timestamp just after the last decoded sample. */
  private futEndTs: i64 = 0;
  private codecPlc: StaticArray<i16> = new StaticArray<i16>(DECODER_FRAME_MAX);
  private codecPlcLen: i32 = 0;
  private codecPlcPos: i32 = 0;
  private decoder: MediaDecoder | null = null;
  /** (Issue #8.) Codec state of the stream when it is not the call's (a conference leg: media/codec-bank.ts). */
  bank: CodecBank | null = null;

  /** A packet has been accepted since reset (the stream exists). */
  started: bool = false;
  /** Playout of the stream has begun (after the initial delay). */
  playing: bool = false;
  private wasPlaying: bool = false;
  private startAtUs: i64 = 0;
  ssrc: u32 = 0;
  private firstTs: u32 = 0;
  private lastTs: u32 = 0;
  private lastTsExt: i64 = 0;
  /** Fixed mode: transit of the first packet (the classic buffer's only timing reference). */
  private anchorTransitUs: i64 = 0;
  private erasing: bool = false;
  /** Samples and blocks concealed in the erasure in progress: counted in the statistics when audio
   *  resumes, so the silence after a stream stops (hang-up) is not reported as concealment. */
  private erasedSamples: i32 = 0;
  private erasedBlocks: i32 = 0;

  /** RTP timestamp of the first real sample of the last block, and whether it had one (for tests/bench). */
  blockTs: u32 = 0;
  blockHasAudio: bool = false;
  /** Operation of the last pull (OP_*). */
  lastOp: i32 = OP_SILENCE;

  constructor(adaptive: bool = true, fixedDelayMs: i32 = 60) {
    this.adaptive = adaptive;
    this.fixedDelayUs = <i64>fixedDelayMs * 1000;
    this.reset();
  }

  /** New call: forgets packets, statistics and delay history. */
  reset(): void {
    this.pb.flush();
    this.est.reset();
    this.stats.reset();
    this.plc.reset();
    this.futLen = 0; this.futEndTs = 0;
    this.codecPlcLen = 0; this.codecPlcPos = 0;
    this.decoder = null;
    this.started = false; this.playing = false; this.wasPlaying = false;
    this.erasing = false; this.erasedSamples = 0; this.erasedBlocks = 0;
    this.blockHasAudio = false; this.lastOp = OP_SILENCE;
  }

  // ------------------------------------------------------------------------------------------
  // input

  /** Stores one packet's payload (`len` bytes at `payload`) that arrived at `nowUs`. Returns PUT_*. */
  put(h: RtpHeader, payload: usize, len: i32, nowUs: i64): i32 {
    if (len <= 0 || len > PB_SLOT_BYTES) { this.stats.bad++; return PUT_BAD; }
    const dec = this.decoderFor(h.pt);
    if (dec === null) { this.stats.bad++; return PUT_BAD; }
    const samples = dec.samplesFor(len);
    if (samples <= 0) { this.stats.bad++; return PUT_BAD; }
    if (!this.started || h.ssrc != this.ssrc) {
      if (this.started) this.stats.ssrcChanges++;
      this.beginStream(h, dec, nowUs);
    }
    if (!this.stats.noteSeq(h.seq)) { this.stats.duplicates++; return PUT_DUPLICATE; }
    let tsExt = this.lastTsExt + <i64>(<i32>(h.timestamp - this.lastTs));
    let transit = nowUs - this.tsUs(tsExt);
    if (this.est.hasFloor()) {
      const off = transit - this.est.floorAt(nowUs);
      if (off > TS_JUMP_US || off < -TS_JUMP_US) {
        this.stats.tsJumps++;
        // a new timeline from this packet on (same source, same network), rebased at 0 so that repeated
        // jumps cannot walk the 64-bit timestamps anywhere near overflow
        this.firstTs = h.timestamp; this.lastTs = h.timestamp; this.lastTsExt = 0;
        tsExt = 0;
        transit = nowUs;
        this.restartTimeline(0, nowUs, false);
      }
    }
    if (tsExt > this.lastTsExt) { this.lastTsExt = tsExt; this.lastTs = h.timestamp; }
    this.est.update(nowUs, transit);
    if (this.playing) {
      if (tsExt + <i64>samples <= this.futEndTs) { this.stats.late++; return PUT_LATE; }
    } else if (tsExt < this.futEndTs) {
      // reordered before playout began: start from the earlier packet, keeping the planned delay
      this.startAtUs -= this.tsUs(this.futEndTs - tsExt);
      this.futEndTs = tsExt;
    }
    const r = this.pb.insert(tsExt, h.seq, h.pt, payload, len);
    if (r == PB_DUPLICATE) { this.stats.duplicates++; return PUT_DUPLICATE; }
    if (r == PB_BAD) { this.stats.bad++; return PUT_BAD; }
    if (r == PB_DROPPED) { this.stats.overflow++; return PUT_OVERFLOW; }
    if (r == PB_EVICTED) this.stats.overflow++;
    this.stats.received++;
    return PUT_OK;
  }

  private beginStream(h: RtpHeader, dec: MediaDecoder, nowUs: i64): void {
    this.started = true;
    this.ssrc = h.ssrc;
    this.firstTs = h.timestamp; this.lastTs = h.timestamp; this.lastTsExt = 0;
    this.rateHz = dec.rateHz;
    this.plc.setRate(dec.rateHz);
    dec.reset();
    this.decoder = dec;
    this.stats.newSource();
    this.restartTimeline(0, nowUs, true);
  }

  /** Playout restarts at packet `tsExt` (first packet, new SSRC or timestamp jump). */
  private restartTimeline(tsExt: i64, nowUs: i64, newSource: bool): void {
    this.pb.flush();
    this.est.resetTiming();
    this.wasPlaying = this.playing || this.wasPlaying;
    this.playing = false;
    this.futLen = 0;
    this.futEndTs = tsExt;
    this.lastTsExt = tsExt;
    this.codecPlcLen = 0; this.codecPlcPos = 0;
    if (this.adaptive) {
      const q = this.est.packets > 0 ? this.policy.target(this.est.quantileUs()) : 0;
      this.startAtUs = nowUs + (q > this.policy.initialDelayUs ? q : this.policy.initialDelayUs);
    } else {
      this.startAtUs = nowUs + this.fixedDelayUs;
    }
    // fixed mode: the first packet's transit is the reference from now on
    this.anchorTransitUs = nowUs - this.tsUs(tsExt);
  }

  // ------------------------------------------------------------------------------------------
  // output

  /** Playout delay above the floor (fixed mode: above the first packet's transit), µs. */
  delayUs(nowUs: i64): i64 {
    const playTs = this.futEndTs - <i64>this.futLen;
    const ref = this.adaptive ? this.est.floorAt(nowUs) : this.anchorTransitUs;
    return nowUs - this.tsUs(playTs) - ref;
  }

  /** Current target delay above the floor, µs (fixed mode: the fixed delay). */
  targetUs(): i64 {
    return this.adaptive ? this.policy.target(this.est.quantileUs()) : this.fixedDelayUs;
  }

  /**
   * Writes `n` samples (one block, n ≤ JB_BLOCK_MAX) of playout at `nowUs` to `out`. Returns the
   * operation done (OP_* of playout.ts). Silence before the first packet and during the initial delay.
   */
  pull(out: usize, n: i32, nowUs: i64): i32 {
    this.blockHasAudio = false;
    if (n <= 0) return OP_SILENCE;
    if (n > JB_BLOCK_MAX) n = JB_BLOCK_MAX;
    if (!this.started) { memory.fill(out, 0, <usize>n << 1); this.lastOp = OP_SILENCE; return OP_SILENCE; }
    let produced = 0;
    if (!this.playing) {
      const waitUs = this.startAtUs - nowUs;
      const waitSamples = waitUs <= 0 ? 0 : <i32>(waitUs * <i64>this.rateHz / 1_000_000);
      if (waitSamples >= n) {
        this.idle(out, n);
        this.lastOp = OP_SILENCE;
        return OP_SILENCE;
      }
      if (waitSamples > 0) { this.idle(out, waitSamples); produced = waitSamples; }
      this.playing = true;
    }
    this.stats.blocks++;
    const blockStartUs = nowUs + <i64>produced * 1_000_000 / <i64>this.rateHz;
    const delay = this.delayUs(blockStartUs);
    const target = this.targetUs();
    let op = OP_NORMAL;
    if (this.adaptive) op = this.stretch(n - produced, delay, target);
    const concealedBefore = this.erasedSamples;
    while (produced < n) {
      const want = n - produced;
      const dst = out + (<usize>produced << 1);
      if (this.futLen == 0) this.fill(want);
      if (this.futLen > 0) {
        const k = min(want, this.futLen);
        if (!this.blockHasAudio) { this.blockHasAudio = true; this.blockTs = this.rtpTs(this.futEndTs - <i64>this.futLen); }
        const f = changetype<usize>(this.fut);
        memory.copy(dst, f, <usize>k << 1);
        this.futLen -= k;
        if (this.futLen > 0) memory.copy(f, f + (<usize>k << 1), <usize>this.futLen << 1);
        if (this.erasing) {
          const dec = this.decoder;
          if (dec === null || !dec.hasPlc()) this.plc.merge(dst, k);
          else this.mergeCodecPlc(dst, k);
          this.endErasure();
          op = OP_MERGE;
        }
        produced += k;
        continue;
      }
      this.expand(dst, want, delay, target);
      produced += want;
      op = OP_EXPAND;
    }
    this.plc.push(out, n);
    this.stats.samplesOut += <u64>n;
    if (this.erasedSamples != concealedBefore) this.erasedBlocks++;
    const d = this.delayUs(nowUs + <i64>n * 1_000_000 / <i64>this.rateHz);
    this.stats.currentDelayUs = d;
    if (d > this.stats.maxDelayUs) this.stats.maxDelayUs = d;
    this.stats.targetDelayUs = target;
    this.stats.driftPpm = this.adaptive ? this.est.driftPpm() : 0;
    this.lastOp = op;
    return op;
  }

  /** Output while waiting for playout to (re)start: silence, or the fade-out of what was playing. */
  private idle(out: usize, n: i32): void {
    if (this.wasPlaying) { this.plc.conceal(out, n); this.erasing = true; }
    else memory.fill(out, 0, <usize>n << 1);
  }

  /** Accelerate or decelerate the decoded audio ahead of this block. Returns the op. */
  private stretch(n: i32, delay: i64, target: i64): i32 {
    if (this.erasing || this.codecPlcPos < this.codecPlcLen) return OP_NORMAL;
    const want = this.policy.decide(delay, target);
    if (want == OP_NORMAL) return OP_NORMAL;
    const scale = this.rateHz / 8000;
    const pMin = 20 * scale, pMaxAll = 120 * scale, win = TSM_WIN_8K * scale;
    this.fill(n + 2 * pMaxAll + win);
    const f = changetype<usize>(this.fut);
    if (want == OP_ACCELERATE) {
      const excess = delay - target;
      // remove at most the excess and keep a block's worth of audio after the cut
      let pMax = <i32>(excess * <i64>this.rateHz / 1_000_000);
      if (pMax > pMaxAll) pMax = pMaxAll;
      if (pMax > this.futLen - n) pMax = this.futLen - n;
      const removed = tsmAccelerate(f, this.futLen, pMin, pMax, win, this.policy.accCorrQ14(excess));
      if (removed <= 0) return OP_NORMAL;
      this.futLen -= removed;
      this.stats.samplesAccelerated += <u64>removed;
      this.stats.accelerateOps++;
      return OP_ACCELERATE;
    }
    let pMax = <i32>((target - delay + this.policy.decOvershootUs) * <i64>this.rateHz / 1_000_000);
    if (pMax > pMaxAll) pMax = pMaxAll;
    const added = tsmDecelerate(f, this.futLen, FUT_CAP, pMin, pMax, win, this.policy.corrDecQ14);
    if (added <= 0) return OP_NORMAL;
    this.futLen += added;
    this.stats.samplesDecelerated += <u64>added;
    this.stats.decelerateOps++;
    return OP_DECELERATE;
  }

  /** Conceals `n` samples at dst; decides whether the timeline advances over missing audio. */
  private expand(dst: usize, n: i32, delay: i64, target: i64): void {
    let advance: i64 = 0;
    if (!this.adaptive) {
      advance = <i64>n;
    } else if (this.pb.count > 0 && delay >= target) {
      // a newer packet is here and the missing audio's time has come: it is lost. Skip it, faster
      // than real time while the delay is above target.
      const gap = this.pb.headTs() - this.futEndTs;
      const extra = (delay - target) * <i64>this.rateHz / 1_000_000;
      advance = <i64>n + extra;
      if (advance > gap) advance = gap;
    }
    if (advance > 0) this.skip(advance);
    if (!this.erasing) { this.erasing = true; this.erasedSamples = 0; this.erasedBlocks = 0; }
    const dec = this.decoder;
    if (dec !== null && dec.hasPlc()) {
      let done = 0;
      while (done < n) {
        if (this.codecPlcPos >= this.codecPlcLen) {
          const got = dec.conceal(changetype<usize>(this.codecPlc), DECODER_FRAME_MAX);
          if (got <= 0) { this.plc.conceal(dst + (<usize>done << 1), n - done); done = n; break; }
          this.codecPlcLen = got; this.codecPlcPos = 0;
        }
        const k = min(n - done, this.codecPlcLen - this.codecPlcPos);
        memory.copy(dst + (<usize>done << 1), changetype<usize>(this.codecPlc) + (<usize>this.codecPlcPos << 1), <usize>k << 1);
        this.codecPlcPos += k;
        done += k;
      }
    } else {
      this.plc.conceal(dst, n);
    }
    this.erasedSamples += n;
  }

  private endErasure(): void {
    this.erasing = false;
    this.stats.merges++;
    this.stats.expandEvents++;
    this.stats.samplesConcealed += <u64>this.erasedSamples;
    this.stats.blocksConcealed += <u32>this.erasedBlocks;
    this.erasedSamples = 0; this.erasedBlocks = 0;
  }

  /**
   * Real audio resumes while part of a codec-concealed frame is unplayed: fade from that concealment into
   * the real samples at io (≤ 5 ms) and drop the rest of it (playing it first would add delay).
   */
  private mergeCodecPlc(io: usize, n: i32): void {
    const left = this.codecPlcLen - this.codecPlcPos;
    let len = min(min(left, n), 5 * this.rateHz / 1000);
    const syn = changetype<usize>(this.codecPlc) + (<usize>this.codecPlcPos << 1);
    for (let i = 0; i < len; i++) {
      const wQ15 = ((i + 1) << 15) / (len + 1);
      const real = <i32>load<i16>(io + (<usize>i << 1));
      const s = <i32>load<i16>(syn + (<usize>i << 1));
      store<i16>(io + (<usize>i << 1), <i16>((real * wQ15 + s * (32768 - wQ15) + 16384) >> 15));
    }
    this.codecPlcLen = 0; this.codecPlcPos = 0;
  }

  /** Moves the timeline `count` samples past missing audio (counted as lost frames). */
  private skip(count: i64): void {
    const dec = this.decoder;
    const frame = dec !== null ? <i64>dec.frameSamples : 160;
    // a frame counts as lost when the timeline passes its start
    const before = this.futEndTs;
    this.futEndTs += count;
    const lostFrames = (this.futEndTs + frame - 1) / frame - (before + frame - 1) / frame;
    if (lostFrames > 0) this.stats.noteLost(<u32>lostFrames);
  }

  private decoderFor(pt: u8): MediaDecoder | null { const b = this.bank; return b !== null ? b.decoderFor(pt) : codecDecoderFor(pt); }

  /** Decodes buffered packets that continue the timeline until `need` samples are ready (or none fits). */
  private fill(need: i32): void {
    while (this.futLen < need && this.pb.count > 0) {
      const hts = this.pb.headTs();
      if (hts > this.futEndTs) return; // gap: the next audio is missing
      const pt = this.pb.headPt();
      const len = this.pb.headLen();
      const dec = this.decoderFor(pt);
      const samples = dec !== null ? dec.samplesFor(len) : 0;
      if (dec === null || samples <= 0) { this.pb.popHead(); this.stats.bad++; continue; }
      if (hts + <i64>samples <= this.futEndTs) {
        // stored in time, but the timeline has passed it since (a fixed buffer's concealment advanced)
        this.pb.popHead(); this.stats.received--; this.stats.late++; continue;
      }
      if (this.futLen + samples > FUT_CAP) return;
      const f = changetype<usize>(this.fut) + (<usize>this.futLen << 1);
      const got = dec.decode(this.pb.headPayload(), len, f, FUT_CAP - this.futLen);
      this.pb.popHead();
      if (got <= 0) { this.stats.bad++; continue; } // concealed later as a gap
      if (this.decoder !== dec) { if (this.decoder !== null) dec.reset(); this.decoder = dec; }
      const skipped = <i32>(this.futEndTs - hts); // audio the timeline already passed (partly late)
      if (skipped >= got) continue;
      if (skipped > 0) memory.copy(f, f + (<usize>skipped << 1), <usize>(got - skipped) << 1);
      this.futLen += got - skipped;
      this.futEndTs = hts + <i64>got;
      this.stats.noteFrame(false);
    }
  }

  @inline private tsUs(ts: i64): i64 { return ts * 1_000_000 / <i64>this.rateHz; }
  @inline private rtpTs(tsExt: i64): u32 { return this.firstTs + <u32>tsExt; }

  // v0 (FixedJitterBuffer) names, still read by the console and the UI screens
  get received(): u32 { return this.stats.received; }
  get late(): u32 { return this.stats.late; }
  get duplicates(): u32 { return this.stats.duplicates; }
  get playedBlocks(): u32 { return this.stats.blocks; }
  get concealedBlocks(): u32 { return this.stats.blocksConcealed; }
  /** Current playout delay above the floor, samples. */
  get delaySamples(): i32 { return <i32>(this.stats.currentDelayUs * <i64>this.rateHz / 1_000_000); }
  /** Samples per frame of the codec being played. */
  get frameSamples(): i32 { const d = this.decoder; return d !== null ? d.frameSamples : 160; }
  /** Packets never received (RFC 3550 §6.4.1 cumulative loss). */
  lost(): i32 { return this.stats.lost(); }

  /** Packets waiting in the buffer. */
  packetCount(): i32 { return this.pb.count; }
  /** Decoded samples waiting to be played. */
  decodedSamples(): i32 { return this.futLen; }
}
