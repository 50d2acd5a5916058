/**
 * Per-call statistics of the jitter buffer, shown by the console (`call`) and in the call.ended event as
 * `key=value` pairs. Counters only; rates are derived when printed. Sample counts are at the stream's
 * rate; "frames" are the sender's packets (one RTP packet = one frame here).
 */
export class JitterStats {
  // --- packets (RFC 3550 §6.4.1 / A.1 style sequence accounting) ---
  /** Packets stored for playout. */
  received: u32 = 0;
  /** Exact repeats of a packet already received (by sequence number or timestamp). */
  duplicates: u32 = 0;
  /** Arrived after their playout time had passed (discarded). */
  late: u32 = 0;
  /** Arrived with a lower sequence number than one received before. */
  reordered: u32 = 0;
  /** Dropped because the buffer was full. */
  overflow: u32 = 0;
  /** Payload that could not be decoded (unsupported type, bad length, decoder error). */
  bad: u32 = 0;
  ssrcChanges: u32 = 0;
  tsJumps: u32 = 0;
  baseSeqExt: u32 = 0;
  maxSeqExt: u32 = 0;
  seqStarted: bool = false;
  private anySeq: bool = false;
  /** Bit i set: sequence maxSeqExt − i was received (i < 128). */
  private seenLo: u64 = 0;
  private seenHi: u64 = 0;

  // --- playout (samples) ---
  /** Samples output since playout started (all kinds). */
  samplesOut: u64 = 0;
  /** Samples invented by concealment (expand). */
  samplesConcealed: u64 = 0;
  /** Samples removed by accelerate / added by decelerate. */
  samplesAccelerated: u64 = 0;
  samplesDecelerated: u64 = 0;
  accelerateOps: u32 = 0;
  decelerateOps: u32 = 0;
  /** Erasures (runs of concealment) and merges back into real audio. */
  expandEvents: u32 = 0;
  merges: u32 = 0;
  /** 10 ms blocks output after start, and blocks containing any concealment. */
  blocks: u32 = 0;
  blocksConcealed: u32 = 0;
  /** Frames played from a packet, and frames given up as lost (skipped on the timeline); loss runs. */
  framesPlayed: u32 = 0;
  framesLost: u32 = 0;
  lossRuns: u32 = 0;
  lastFrameLost: bool = false;

  // --- delay (µs) ---
  currentDelayUs: i64 = 0;
  targetDelayUs: i64 = 0;
  maxDelayUs: i64 = 0;
  driftPpm: i32 = 0;

  reset(): void {
    this.received = 0; this.duplicates = 0; this.late = 0; this.reordered = 0; this.overflow = 0; this.bad = 0;
    this.ssrcChanges = 0; this.tsJumps = 0; this.seqStarted = false; this.anySeq = false; this.baseSeqExt = 0; this.maxSeqExt = 0;
    this.seenLo = 0; this.seenHi = 0;
    this.samplesOut = 0; this.samplesConcealed = 0; this.samplesAccelerated = 0; this.samplesDecelerated = 0;
    this.accelerateOps = 0; this.decelerateOps = 0; this.expandEvents = 0; this.merges = 0;
    this.blocks = 0; this.blocksConcealed = 0; this.framesPlayed = 0; this.framesLost = 0; this.lossRuns = 0;
    this.lastFrameLost = false;
    this.currentDelayUs = 0; this.targetDelayUs = 0; this.maxDelayUs = 0; this.driftPpm = 0;
  }

  /** Restarts sequence accounting for a new source (counters of the call are kept). */
  newSource(): void { this.seqStarted = false; }

  /**
   * Extends a 16-bit sequence number against the highest seen (RFC 3550 A.1) and records it.
   * Returns false if this sequence number was already received (a duplicate).
   */
  noteSeq(seq: u16): bool {
    if (!this.seqStarted) {
      // Cumulative counts of earlier sources stay in expected(); rebase on the new one.
      const prevExpected = this.expected();
      this.seqStarted = true;
      this.anySeq = true;
      this.maxSeqExt = (this.maxSeqExt & 0xffff0000) + 0x10000 + <u32>seq;
      this.baseSeqExt = this.maxSeqExt - prevExpected;
      this.seenLo = 1; this.seenHi = 0;
      return true;
    }
    const d = <i32>(<i16>(seq - <u16>this.maxSeqExt));
    if (d > 0) {
      this.maxSeqExt += <u32>d;
      this.shiftSeen(d);
      this.seenLo |= 1;
      return true;
    }
    const back = -d;
    if (back >= 128) { this.reordered++; return true; }
    const bit: u64 = back < 64 ? (this.seenLo >> <u64>back) & 1 : (this.seenHi >> <u64>(back - 64)) & 1;
    if (bit != 0) return false;
    if (back < 64) this.seenLo |= (<u64>1) << <u64>back; else this.seenHi |= (<u64>1) << <u64>(back - 64);
    if (back > 0) this.reordered++;
    return true;
  }

  private shiftSeen(d: i32): void {
    if (d >= 128) { this.seenLo = 0; this.seenHi = 0; return; }
    if (d >= 64) { this.seenHi = this.seenLo << <u64>(d - 64); this.seenLo = 0; return; }
    this.seenHi = (this.seenHi << <u64>d) | (this.seenLo >> <u64>(64 - d));
    this.seenLo = this.seenLo << <u64>d;
  }

  /** Packets expected from the sequence numbers seen (RFC 3550 §6.4.1). */
  expected(): u32 { return this.anySeq ? this.maxSeqExt - this.baseSeqExt + 1 : 0; }

  /** Packets never received (expected − received − late − duplicates counted once), ≥ 0. */
  lost(): i32 {
    const l = <i64>this.expected() - <i64>this.received - <i64>this.late;
    return l > 0 ? <i32>l : 0;
  }

  /** One frame's fate on the playout timeline (for the loss-burst figure). */
  noteFrame(lost: bool): void {
    if (lost) { this.framesLost++; if (!this.lastFrameLost) this.lossRuns++; }
    else this.framesPlayed++;
    this.lastFrameLost = lost;
  }

  /** `n` consecutive frames given up as lost. */
  noteLost(n: u32): void {
    if (n == 0) return;
    this.framesLost += n;
    if (!this.lastFrameLost) this.lossRuns++;
    this.lastFrameLost = true;
  }

  /**
   * BurstR of ITU-T G.107 §3.7 for a two-state Markov loss model fitted to the frame fates:
   * p = P(loss | previous received), q = P(received | previous lost), BurstR = 1/(p + q). 1 without loss.
   */
  burstRQ10(): i32 {
    if (this.framesLost == 0 || this.framesPlayed == 0) return 1024;
    // p + q = runs/played + runs/lost
    const runs = <u64>this.lossRuns;
    const num = <u64>this.framesPlayed * <u64>this.framesLost * 1024;
    const den = runs * (<u64>this.framesLost + <u64>this.framesPlayed);
    return den == 0 ? 1024 : <i32>(num / den);
  }

  /**
   * `key=value` text: delays in ms; rates as fractions with 4 decimals — lateLoss of the packets expected,
   * concealment (= expand rate), accelRate and decelRate of the samples played; drift in ppm.
   */
  text(): string {
    const out = this.samplesOut > 0 ? this.samplesOut : 1;
    const exp = <u64>this.expected();
    return "jbDelayMs=" + ms(this.currentDelayUs) + " jbTargetMs=" + ms(this.targetDelayUs) +
      " jbMaxDelayMs=" + ms(this.maxDelayUs) +
      " lateLoss=" + frac(<u64>this.late, exp) + " concealment=" + frac(this.samplesConcealed, out) +
      " accelRate=" + frac(this.samplesAccelerated, out) + " decelRate=" + frac(this.samplesDecelerated, out) +
 " expandEvents=" + this.expandEvents.toString() + " driftPpm=" + this.driftPpm.toString() +
      " burstR=" + q10(this.burstRQ10()) + " reordered=" + this.reordered.toString() +
      " merges=" + this.merges.toString() + " ssrcChanges=" + this.ssrcChanges.toString() + " tsJumps=" + this.tsJumps.toString();
  }
}

/** µs → "12.3" ms. */
function ms(us: i64): string {
  const t = (us < 0 ? -us : us) / 100;
  return (us < 0 ? "-" : "") + (t / 10).toString() + "." + (t % 10).toString();
}

/** a/b as "0.0123" (4 decimals, truncated; "0.0000" when b = 0). */
function frac(a: u64, b: u64): string {
  if (b == 0) return "0.0000";
  const v = a * 10000 / b;
  const i = v / 10000, f = v % 10000;
  let fs = f.toString();
  while (fs.length < 4) fs = "0" + fs;
  return i.toString() + "." + fs;
}

function q10(v: i32): string {
  const h = v * 100 / 1024;
  const f = h % 100;
  return (h / 100).toString() + "." + (f < 10 ? "0" : "") + f.toString();
}
