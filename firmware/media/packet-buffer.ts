/**
 * The jitter buffer's packet store: received RTP payloads kept in RTP-timestamp order (extended,
 * 64-bit timestamps, so wrap-around is not a concern here). Preallocated, allocation-free: `PB_SLOTS`
 * slots of `PB_SLOT_BYTES` bytes; a sorted index gives the oldest packet in O(1) and inserts in O(n),
 * n ≤ 64, which is cheaper than a heap at this size and keeps duplicates trivial to find.
 */
export const PB_SLOTS: i32 = 64;
/** Largest payload kept (60 ms of G.711 = 480 B; iLBC frames are 38/50 B). */
export const PB_SLOT_BYTES: i32 = 512;

/** insert(): stored. */
export const PB_OK: i32 = 0;
/** insert(): stored, but the buffer was full and its oldest packet was dropped. */
export const PB_EVICTED: i32 = 1;
/** insert(): a packet with this timestamp is already stored; the new one was not. */
export const PB_DUPLICATE: i32 = -1;
/** insert(): empty or oversize payload. */
export const PB_BAD: i32 = -2;
/** insert(): buffer full and the packet is older than everything in it; not stored. */
export const PB_DROPPED: i32 = -3;

export class PacketBuffer {
  count: i32 = 0;
  private ts: StaticArray<i64> = new StaticArray<i64>(PB_SLOTS);
  private seqs: StaticArray<u16> = new StaticArray<u16>(PB_SLOTS);
  private pts: StaticArray<u8> = new StaticArray<u8>(PB_SLOTS);
  private lens: StaticArray<i32> = new StaticArray<i32>(PB_SLOTS);
  private data: StaticArray<u8> = new StaticArray<u8>(PB_SLOTS * PB_SLOT_BYTES);
  /** Slot numbers ordered by timestamp: order[0] is the oldest packet. */
  private order: StaticArray<i32> = new StaticArray<i32>(PB_SLOTS);
  /** Stack of free slot numbers. */
  private free: StaticArray<i32> = new StaticArray<i32>(PB_SLOTS);
  private freeCount: i32 = 0;

  constructor() { this.flush(); }

  /** Forgets every packet. */
  flush(): void {
    this.count = 0;
    this.freeCount = PB_SLOTS;
    for (let i = 0; i < PB_SLOTS; i++) unchecked(this.free[i] = PB_SLOTS - 1 - i);
  }

  /**
   * Stores a copy of `len` payload bytes at `payload` under extended timestamp `tsExt`.
   * Returns PB_OK, PB_EVICTED, PB_DUPLICATE, PB_BAD or PB_DROPPED (see above).
   */
  insert(tsExt: i64, seq: u16, pt: u8, payload: usize, len: i32): i32 {
    if (len <= 0 || len > PB_SLOT_BYTES) return PB_BAD;
    // Position: after every packet with a smaller timestamp. Scan from the newest end: arrivals are
    // mostly in order, so this is usually one comparison.
    let pos = this.count;
    while (pos > 0 && unchecked(this.ts[unchecked(this.order[pos - 1])]) > tsExt) pos--;
    if (pos > 0 && unchecked(this.ts[unchecked(this.order[pos - 1])]) == tsExt) return PB_DUPLICATE;
    let result = PB_OK;
    if (this.freeCount == 0) {
      if (pos == 0) return PB_DROPPED;
      this.popHead();
      pos--;
      result = PB_EVICTED;
    }
    const slot = unchecked(this.free[--this.freeCount]);
    for (let i = this.count; i > pos; i--) unchecked(this.order[i] = this.order[i - 1]);
    unchecked(this.order[pos] = slot);
    this.count++;
    unchecked(this.ts[slot] = tsExt);
    unchecked(this.seqs[slot] = seq);
    unchecked(this.pts[slot] = pt);
    unchecked(this.lens[slot] = len);
    memory.copy(this.slotPtr(slot), payload, <usize>len);
    return result;
  }

  /** Extended timestamp of the oldest packet (call only when count > 0). */
  headTs(): i64 { return unchecked(this.ts[unchecked(this.order[0])]); }
  headSeq(): u16 { return unchecked(this.seqs[unchecked(this.order[0])]); }
  headPt(): u8 { return unchecked(this.pts[unchecked(this.order[0])]); }
  headLen(): i32 { return unchecked(this.lens[unchecked(this.order[0])]); }
  /** Address of the oldest packet's payload (valid until it is popped). */
  headPayload(): usize { return this.slotPtr(unchecked(this.order[0])); }
  /** Extended timestamp of the newest packet (call only when count > 0). */
  tailTs(): i64 { return unchecked(this.ts[unchecked(this.order[this.count - 1])]); }

  /** Removes the oldest packet (no-op when empty). */
  popHead(): void {
    if (this.count == 0) return;
    const slot = unchecked(this.order[0]);
    for (let i = 1; i < this.count; i++) unchecked(this.order[i - 1] = this.order[i]);
    this.count--;
    unchecked(this.free[this.freeCount++] = slot);
  }

  /** True if a packet with exactly this timestamp is stored. */
  has(tsExt: i64): bool {
    for (let i = 0; i < this.count; i++) if (unchecked(this.ts[unchecked(this.order[i])]) == tsExt) return true;
    return false;
  }

  @inline private slotPtr(slot: i32): usize {
    return changetype<usize>(this.data) + <usize>(slot * PB_SLOT_BYTES);
  }
}
