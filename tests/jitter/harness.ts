// Host-driven harness around the firmware's jitter buffer, time-stretching and concealment — the same
// code firmware.wasm runs (firmware/media/*). Compiled on its own to build/jitter-harness.wasm
// (tests/jitter/asconfig.json) for the host tests and `npm run bench:jitter`: the host owns the clock and
// the packet trace, and exchanges samples and payloads through the preallocated buffers exported below.

import { JitterBuffer } from "../../firmware/media/jitter";
import { RtpHeader } from "../../firmware/media/rtp";
import { codecEncode, codecReset } from "../../firmware/media/codec";
import { tsmAccelerate, tsmDecelerate, tsmLastCorrQ14 } from "../../firmware/media/tsm";
import { GenericPlc } from "../../firmware/media/plc";

const PCM_IN = new StaticArray<i16>(4096);
const PCM_OUT = new StaticArray<i16>(4096);
const PAYLOAD = new StaticArray<u8>(1024);
const hdr = new RtpHeader();
const buffers: JitterBuffer[] = [];
const plcs: GenericPlc[] = [];
let textCache: string = "";

export function pcmInPtr(): usize { return changetype<usize>(PCM_IN); }
export function pcmOutPtr(): usize { return changetype<usize>(PCM_OUT); }
export function payloadPtr(): usize { return changetype<usize>(PAYLOAD); }
/** Address of a fresh 0-byte object: heap growth between two calls = bytes allocated in between. */
export function heapMark(): usize { return changetype<usize>(new StaticArray<u8>(0)); }

/** New buffer: adaptive (1) or fixed with `fixedDelayMs` (0). Returns its handle. Allocates (setup only). */
export function newBuffer(adaptive: i32, fixedDelayMs: i32): i32 {
  buffers.push(new JitterBuffer(adaptive != 0, fixedDelayMs));
  return buffers.length - 1;
}

/** Overrides policy/estimator parameters (µs, Q14, ppm of tail mass, packets of memory); -1 keeps one. */
export function tune(h: i32, accMinUs: i64, decMarginUs: i64, initialDelayUs: i64, safetyUs: i64, tailPpm: i32, forgetPackets: i32): void {
  const b = buffers[h];
  if (accMinUs >= 0) b.policy.accMinUs = accMinUs;
  if (decMarginUs >= 0) b.policy.decMarginUs = decMarginUs;
  if (initialDelayUs >= 0) b.policy.initialDelayUs = initialDelayUs;
  if (safetyUs >= 0) b.policy.safetyUs = safetyUs;
  if (tailPpm >= 0) b.est.tailQ30 = <u32>(<u64>tailPpm * <u64>(1 << 30) / 1_000_000);
  if (forgetPackets > 0) b.est.forgetPackets = forgetPackets;
}

/** More policy parameters: accelerate band as a fraction of the target (target >> accShift). */
export function tune2(h: i32, accShift: i32, fastExcessUs: i64, corrFastQ14: i32, corrAccQ14: i32): void {
  const p = buffers[h].policy;
  if (accShift >= 0) p.accShift = accShift;
  if (fastExcessUs >= 0) p.fastExcessUs = fastExcessUs;
  if (corrFastQ14 >= 0) p.corrFastQ14 = corrFastQ14;
  if (corrAccQ14 >= 0) p.corrAccQ14 = corrAccQ14;
}

export function resetBuffer(h: i32): void { buffers[h].reset(); }

/** Encodes `n` samples of PCM_IN with payload type `pt` into PAYLOAD; returns bytes (< 0 on error). */
export function encode(pt: i32, n: i32): i32 {
  return codecEncode(<u8>pt, changetype<usize>(PCM_IN), n, changetype<usize>(PAYLOAD));
}
export function resetCodec(pt: i32): void { codecReset(<u8>pt); }

/** Gives buffer h the `len` bytes in PAYLOAD as an RTP packet that arrived at `nowUs`. Returns PUT_*. */
export function put(h: i32, pt: i32, seq: i32, ts: u32, ssrc: u32, len: i32, nowUs: i64): i32 {
  hdr.pt = <u8>pt; hdr.seq = <u16>seq; hdr.timestamp = ts; hdr.ssrc = ssrc; hdr.marker = false;
  return buffers[h].put(hdr, changetype<usize>(PAYLOAD), len, nowUs);
}

/** One playout block of `n` samples into PCM_OUT at `nowUs`. Returns the op (OP_* of playout.ts). */
export function pull(h: i32, n: i32, nowUs: i64): i32 { return buffers[h].pull(changetype<usize>(PCM_OUT), n, nowUs); }

export function blockTs(h: i32): u32 { return buffers[h].blockTs; }
export function blockHasAudio(h: i32): i32 { return buffers[h].blockHasAudio ? 1 : 0; }
export function delayUs(h: i32, nowUs: i64): i64 { return buffers[h].delayUs(nowUs); }
export function targetUs(h: i32): i64 { return buffers[h].targetUs(); }
export function driftPpm(h: i32): i32 { return buffers[h].est.driftPpm(); }
export function packetCount(h: i32): i32 { return buffers[h].packetCount(); }
export function decodedSamples(h: i32): i32 { return buffers[h].decodedSamples(); }

/** Statistics counter k of buffer h (see the host side for the list). */
export function stat(h: i32, k: i32): i64 {
  const s = buffers[h].stats;
  switch (k) {
    case 0: return s.received;
    case 1: return s.duplicates;
    case 2: return s.late;
    case 3: return s.lost();
    case 4: return <i64>s.samplesOut;
    case 5: return <i64>s.samplesConcealed;
    case 6: return <i64>s.samplesAccelerated;
    case 7: return <i64>s.samplesDecelerated;
    case 8: return s.accelerateOps;
    case 9: return s.decelerateOps;
    case 10: return s.expandEvents;
    case 11: return s.merges;
    case 12: return s.reordered;
    case 13: return s.ssrcChanges;
    case 14: return s.tsJumps;
    case 15: return s.framesPlayed;
    case 16: return s.framesLost;
    case 17: return s.lossRuns;
    case 18: return s.overflow;
    case 19: return s.bad;
    case 20: return s.blocks;
    case 21: return s.blocksConcealed;
    case 22: return s.maxDelayUs;
    case 23: return s.burstRQ10();
  }
  return -1;
}

/** The `key=value` statistics text; returns its length in UTF-16 units, read it at textPtr(). */
export function statsText(h: i32): i32 { textCache = buffers[h].stats.text(); return textCache.length; }
export function textPtr(): usize { return changetype<usize>(textCache); }

// --- kernels, for unit-level host tests ---

/** tsmAccelerate on PCM_IN[0..len); returns samples removed. */
export function accelerate(len: i32, pMin: i32, pMax: i32, win: i32, corrMinQ14: i32): i32 {
  return tsmAccelerate(changetype<usize>(PCM_IN), len, pMin, pMax, win, corrMinQ14);
}
/** tsmDecelerate on PCM_IN[0..len) (room for 4096); returns samples added. */
export function decelerate(len: i32, pMin: i32, pMax: i32, win: i32, corrMinQ14: i32): i32 {
  return tsmDecelerate(changetype<usize>(PCM_IN), len, 4096, pMin, pMax, win, corrMinQ14);
}
export function lastCorrQ14(): i32 { return tsmLastCorrQ14; }

export function newPlc(rateHz: i32): i32 { plcs.push(new GenericPlc(rateHz)); return plcs.length - 1; }
/** Pushes PCM_IN[0..n) as played history. */
export function plcPush(h: i32, n: i32): void { plcs[h].push(changetype<usize>(PCM_IN), n); }
/** Conceals n samples into PCM_OUT. */
export function plcConceal(h: i32, n: i32): void { plcs[h].conceal(changetype<usize>(PCM_OUT), n); }
/** Merges PCM_IN[0..n) (real audio) in place with the concealment; returns samples blended. */
export function plcMerge(h: i32, n: i32): i32 { return plcs[h].merge(changetype<usize>(PCM_IN), n); }
export function plcPitch(h: i32): i32 { return plcs[h].pitch; }
