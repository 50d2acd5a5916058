import { storageRead, storageWrite } from "../../hal/storage";
import { KEY_IM_STATE } from "./keys";

/**
 * Persistent IM sequence state (flash key 14, one atomic record), so that a reboot neither reuses sequence
 * numbers (receivers would drop new messages as duplicates) nor forgets what was delivered (held messages
 * fetched again at the next login would show twice).
 *
 * Record: ["IM"][version u8 = 1][seqReserved u32][n u8][(addr str8, hw u32, mask u64) × n][FNV-1a 32 of all
 * bytes before]. Sequence numbers are handed out from a block reserved in flash (SEQ_BLOCK at a time: one flash
 * write per block, not per message). A record with a wrong magic, version, length or check value is ignored.
 */
const SEQ_BLOCK: u32 = 256;
const WINDOWS_MAX: i32 = 32;
const REC_CAP: i32 = 8 + WINDOWS_MAX * (1 + 48 + 12) + 4;

/**
 * Sliding duplicate window of one sender device (RFC 4303 §3.4.3 style): `hw` the highest seq delivered, bit i
 * of `mask` set when seq hw − i was delivered. Seqs more than 63 below hw count as delivered.
 */
export class RecvWindow {
  hw: u32 = 0;
  mask: u64 = 0;
  constructor(public addr: string) {}

  seen(seq: u32): bool {
    if (seq > this.hw || this.hw == 0) return false;
    const d = this.hw - seq;
    if (d >= 64) return true;
    return ((this.mask >> <u64>d) & 1) != 0;
  }

  mark(seq: u32): void {
    if (this.hw == 0 || seq > this.hw) {
      const shift = this.hw == 0 ? 64 : seq - this.hw;
      this.mask = shift >= 64 ? 0 : this.mask << <u64>shift;
      this.mask |= 1;
      this.hw = seq;
    } else {
      const d = this.hw - seq;
      if (d < 64) this.mask |= (<u64>1) << <u64>d;
    }
  }
}

let nextSeq: u32 = 0;
let reserved: u32 = 0;
const windows = new Map<string, RecvWindow>();
const order = new Array<string>();
const rec = new StaticArray<u8>(REC_CAP);

function fnv(p: usize, n: i32): u32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < n; i++) { h ^= <u32>load<u8>(p + <usize>i); h *= 16777619; }
  return h;
}

/** Reads the record (once, at first use). */
export function imStateLoad(): void {
  const p = changetype<usize>(rec);
  const n = storageRead(KEY_IM_STATE, p, REC_CAP);
  nextSeq = 1; reserved = 1;
  // A load replaces the windows; a record longer than the buffer is refused (it would be read past its end).
  windows.clear(); order.length = 0;
  if (n < 12 || n > REC_CAP || load<u8>(p) != 0x49 || load<u8>(p + 1) != 0x4D || load<u8>(p + 2) != 1) { reserve(); return; }
  const want = (<u32>load<u8>(p + <usize>(n - 4)) << 24) | (<u32>load<u8>(p + <usize>(n - 3)) << 16) | (<u32>load<u8>(p + <usize>(n - 2)) << 8) | <u32>load<u8>(p + <usize>(n - 1));
  if (fnv(p, n - 4) != want) { reserve(); return; }
  let o = 3;
  nextSeq = rd32(p + <usize>o); o += 4;
  if (nextSeq == 0) nextSeq = 1;
  const cnt = <i32>load<u8>(p + <usize>o); o++;
  for (let i = 0; i < cnt && i < WINDOWS_MAX; i++) {
    if (o + 1 > n - 4) break;
    const l = <i32>load<u8>(p + <usize>o); o++;
    if (l > 48 || o + l + 12 > n - 4) break;
    const addr = String.UTF8.decodeUnsafe(p + <usize>o, l, false); o += l;
    const w = new RecvWindow(addr);
    w.hw = rd32(p + <usize>o); o += 4;
    w.mask = (<u64>rd32(p + <usize>o) << 32) | <u64>rd32(p + <usize>(o + 4)); o += 8;
    // A sender listed twice would sit in `order` twice but in `windows` once: evicting one copy later would
    // leave save() a name with no window (fuzz regression fw.storage.records-im-state-duplicate). Keep the first.
    if (windows.has(addr)) continue;
    windows.set(addr, w); order.push(addr);
  }
  reserved = nextSeq;
  reserve();
}

function reserve(): void {
  reserved = nextSeq + SEQ_BLOCK;
  save();
}

/** Takes `n` consecutive sequence numbers; returns the first. */
export function imStateNextSeq(n: i32): u32 {
  const s = nextSeq;
  nextSeq += <u32>n;
  if (nextSeq >= reserved) reserve();
  return s;
}

/** The duplicate window of sender device `addr` (a new one; the least recently created is forgotten past 32). */
export function imStateWindow(addr: string): RecvWindow {
  if (windows.has(addr)) return windows.get(addr);
  const w = new RecvWindow(addr);
  windows.set(addr, w); order.push(addr);
  if (order.length > WINDOWS_MAX) { windows.delete(order[0]); order.shift(); }
  return w;
}

let wo = 0;
function w8(v: u32): void { store<u8>(changetype<usize>(rec) + <usize>wo, <u8>v); wo++; }
function w32(v: u32): void { w8(v >> 24); w8(v >> 16); w8(v >> 8); w8(v); }
function rd32(q: usize): u32 { return (<u32>load<u8>(q) << 24) | (<u32>load<u8>(q + 1) << 16) | (<u32>load<u8>(q + 2) << 8) | <u32>load<u8>(q + 3); }

function save(): void {
  const p = changetype<usize>(rec);
  wo = 0;
  w8(0x49); w8(0x4D); w8(1);
  w32(reserved);
  const cnt = order.length;
  w8(<u32>cnt);
  for (let i = 0; i < cnt; i++) {
    const w = windows.get(order[i]);
    const b = String.UTF8.encode(w.addr, false);
    const l = min(b.byteLength, 48);
    w8(<u32>l);
    memory.copy(p + <usize>wo, changetype<usize>(b), <usize>l); wo += l;
    w32(w.hw); w32(<u32>(w.mask >> 32)); w32(<u32>w.mask);
  }
  w32(fnv(p, wo));
  storageWrite(KEY_IM_STATE, p, wo);
}

/** Persists the receive windows (after a delivery). `_recv` is unused: the windows are shared objects. */
export function imStateSave<T>(_recv: T): void { save(); }
