/**
 * YMODEM batch transfer (Chuck Forsberg, "XMODEM/YMODEM Protocol Reference", 1988): 1024-byte blocks (STX),
 * 128-byte blocks (SOH), block number and its complement, CRC-16/XMODEM (poly 0x1021, init 0) over the data,
 * receiver-driven: the receiver asks with 'C', ACKs good blocks, NAKs bad ones, and the sender retransmits.
 * Block 0 carries "name NUL size"; an empty block 0 ends the batch; EOT is NAKed once then ACKed.
 *
 * Both ends are synchronous state machines driven by `feed(bytes, nowMs)` and `poll(nowMs)` with an explicit
 * clock, so the same code runs in the flash tool on real time and in the simulated boot ROM on virtual time
 * (deterministic tests with injected line errors and power cuts).
 */
/** Quiet time that ends a purge after a bad block, ms (a 1 KiB block takes 90 ms at 115200 baud). */
export const PURGE_MS = 150;
export const SOH = 0x01, STX = 0x02, EOT = 0x04, ACK = 0x06, NAK = 0x15, CAN = 0x18, CRC_REQUEST = 0x43 /* 'C' */, SUB = 0x1a;

/** CRC-16/XMODEM (CCITT polynomial 0x1021, initial value 0, no reflection). check("123456789") = 0x31C3. */
export function crc16Xmodem(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= data[i] << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** One YMODEM block: header, block number, complement, data padded with SUB (or NUL for block 0), CRC. */
export function ymodemBlock(blk: number, data: Uint8Array, size: 128 | 1024, pad = SUB): Uint8Array {
  const b = new Uint8Array(3 + size + 2);
  b[0] = size === 1024 ? STX : SOH;
  b[1] = blk & 255;
  b[2] = 255 - (blk & 255);
  b.fill(pad, 3, 3 + size);
  b.set(data.subarray(0, size), 3);
  const crc = crc16Xmodem(b, 3, 3 + size);
  b[3 + size] = crc >> 8;
  b[4 + size] = crc & 255;
  return b;
}

export interface SenderOpts {
  /** Retransmissions of one block before giving up (default 10). */
  retries?: number;
  /** How long to wait for ACK/NAK after a block, ms (default 3000). */
  ackTimeoutMs?: number;
  /** How long to wait for the receiver's first 'C', ms (default 15000). */
  startTimeoutMs?: number;
}

/**
 * The sending side: `data` goes out as one file named `name`. `write` puts bytes on the line. After `start`,
 * call `feed` with every received byte chunk and `poll` at `deadlineMs` (or whenever). `state` ends in
 * 'done' or 'failed' (then `error` says why, one line; `cancelledByReceiver` when the receiver sent CAN).
 */
export class YmodemSender {
  state: 'wait-c' | 'block0' | 'wait-c1' | 'data' | 'eot1' | 'eot2' | 'wait-c-end' | 'end0' | 'done' | 'failed' = 'wait-c';
  error = '';
  cancelledByReceiver = false;
  /** Bytes of `data` the receiver has acknowledged. */
  ackedBytes = 0;
  retransmissions = 0;
  deadlineMs = Infinity;
  private blk = 1;
  private tries = 0;
  private lastCan = false;
  private readonly retries: number;
  private readonly ackTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly blocks: number;

  constructor(private readonly data: Uint8Array, private readonly name: string, private readonly write: (b: Uint8Array) => void, o: SenderOpts = {}) {
    this.retries = o.retries ?? 10;
    this.ackTimeoutMs = o.ackTimeoutMs ?? 3000;
    this.startTimeoutMs = o.startTimeoutMs ?? 15000;
    this.blocks = Math.ceil(data.length / 1024);
  }

  get finished(): boolean { return this.state === 'done' || this.state === 'failed'; }

  start(nowMs: number): void { this.deadlineMs = nowMs + this.startTimeoutMs; }

  /** Takes received bytes; returns how many it consumed (the rest, after the transfer ended, is text). */
  feed(bytes: Uint8Array, nowMs: number): number {
    for (let i = 0; i < bytes.length; i++) {
      if (this.finished) return i;
      const b = bytes[i];
      if (b === CAN) {
        if (this.lastCan) { this.fail('the receiver cancelled the transfer', true); return i + 1; }
        this.lastCan = true; continue;
      }
      this.lastCan = false;
      this.byte(b, nowMs);
    }
    return bytes.length;
  }

  poll(nowMs: number): void {
    if (this.finished || nowMs < this.deadlineMs) return;
    switch (this.state) {
      case 'wait-c': this.fail('timeout: the receiver never asked for the transfer'); return;
      case 'wait-c1': this.sendData(nowMs); return; // ACKed block 0 but the 'C' got lost: go on
      case 'wait-c-end': case 'end0': this.state = 'done'; this.deadlineMs = Infinity; return;
      default: this.retransmit(nowMs, 'timeout');
    }
  }

  private byte(b: number, nowMs: number): void {
    switch (this.state) {
      case 'wait-c': if (b === CRC_REQUEST) this.sendBlock0(nowMs); return;
      case 'block0':
        if (b === ACK) { this.state = 'wait-c1'; this.deadlineMs = nowMs + this.ackTimeoutMs; }
        else if (b === NAK || b === CRC_REQUEST) this.retransmit(nowMs, 'NAK');
        return;
      case 'wait-c1': if (b === CRC_REQUEST) this.sendData(nowMs); return;
      case 'data':
        if (b === ACK) {
          this.ackedBytes = Math.min(this.data.length, this.blk * 1024);
          this.blk++; this.tries = 0;
          this.sendData(nowMs);
        } else if (b === NAK) this.retransmit(nowMs, 'NAK');
        return;
      case 'eot1':
        if (b === NAK) { this.state = 'eot2'; this.sendEot(nowMs); }
        else if (b === ACK) { this.state = 'wait-c-end'; this.deadlineMs = nowMs + this.ackTimeoutMs; }
        return;
      case 'eot2':
        if (b === ACK) { this.state = 'wait-c-end'; this.deadlineMs = nowMs + this.ackTimeoutMs; }
        else if (b === NAK) this.retransmit(nowMs, 'NAK');
        return;
      case 'wait-c-end':
        if (b === CRC_REQUEST) { this.state = 'end0'; this.tries = 0; this.write(ymodemBlock(0, new Uint8Array(0), 128, 0)); this.deadlineMs = nowMs + this.ackTimeoutMs; }
        return;
      case 'end0':
        if (b === ACK) { this.state = 'done'; this.deadlineMs = Infinity; }
        else if (b === NAK || b === CRC_REQUEST) this.retransmit(nowMs, 'NAK');
        return;
    }
  }

  private sendBlock0(nowMs: number): void {
    this.state = 'block0';
    const info = new TextEncoder().encode(`${this.name}\0${this.data.length} 0 0`);
    this.write(ymodemBlock(0, info, 128, 0));
    this.deadlineMs = nowMs + this.ackTimeoutMs;
  }

  private sendData(nowMs: number): void {
    if (this.blk > this.blocks) { this.state = 'eot1'; this.tries = 0; this.sendEot(nowMs); return; }
    this.state = 'data';
    const off = (this.blk - 1) * 1024;
    this.write(ymodemBlock(this.blk, this.data.subarray(off, off + 1024), 1024));
    this.deadlineMs = nowMs + this.ackTimeoutMs;
  }

  private sendEot(nowMs: number): void { this.write(Uint8Array.of(EOT)); this.deadlineMs = nowMs + this.ackTimeoutMs; }

  private retransmit(nowMs: number, why: string): void {
    if (++this.tries > this.retries) {
      const what = this.state === 'data' ? `block ${this.blk} (bytes ${(this.blk - 1) * 1024}..${Math.min(this.data.length, this.blk * 1024)})` : this.state === 'block0' ? 'the file header block' : 'end of transfer';
      this.fail(`line too noisy: ${what} failed ${this.retries + 1} times (last: ${why})`);
      return;
    }
    this.retransmissions++;
    if (this.state === 'block0') this.sendBlock0(nowMs);
    else if (this.state === 'data') this.sendData(nowMs);
    else if (this.state === 'end0') { this.write(ymodemBlock(0, new Uint8Array(0), 128, 0)); this.deadlineMs = nowMs + this.ackTimeoutMs; }
    else this.sendEot(nowMs);
  }

  private fail(msg: string, byReceiver = false): void {
    this.state = 'failed'; this.error = msg; this.cancelledByReceiver = byReceiver; this.deadlineMs = Infinity;
  }

  /** Aborts: CAN × 5 on the line (the receiver stops). */
  abort(msg: string): void {
    if (this.finished) return;
    this.write(Uint8Array.of(CAN, CAN, CAN, CAN, CAN));
    this.fail(msg);
  }
}

export interface ReceiverHooks {
  /** Bytes to the line. */
  write(b: Uint8Array): void;
  /** Block 0 arrived: file `name` of `size` bytes. Return an error line to refuse it (the receiver cancels). */
  onFile(name: string, size: number): string | null;
  /** Data bytes at `offset` of the file (already cut to the announced size). Return an error line to cancel. */
  onData(offset: number, data: Uint8Array): string | null;
  /** The batch ended normally. */
  onEnd(): void;
  /** The transfer was abandoned (`reason` is one line). CAN has already been sent when we cancelled. */
  onCancel(reason: string): void;
}

/**
 * The receiving side (the boot ROM). Starts by asking with 'C' every second. `feed` takes received bytes;
 * `poll` runs timeouts; `deadlineMs` is when it next needs `poll`.
 */
export class YmodemReceiver {
  state: 'block0' | 'data' | 'eot' | 'end' | 'done' | 'cancelled' = 'block0';
  deadlineMs: number;
  /** Blocks that failed CRC, complement or timing checks (and were NAKed). */
  badBlocks = 0;
  private buf = new Uint8Array(1029);
  private fill = 0;
  private need = 0;
  private expected = 1;
  private size = 0;
  private received = 0;
  private errors = 0;
  private cRequests = 0;
  private lastCan = false;
  private packetStartMs = 0;
  /** After a bad block: bytes are dropped until the line has been quiet for PURGE_MS, then NAK. */
  private purgeUntilMs = -1;

  constructor(private readonly h: ReceiverHooks, nowMs: number, private readonly maxErrors = 10) {
    this.deadlineMs = nowMs;
  }

  get finished(): boolean { return this.state === 'done' || this.state === 'cancelled'; }

  feed(bytes: Uint8Array, nowMs: number): void {
    if (this.purgeUntilMs >= 0) { this.purgeUntilMs = nowMs + PURGE_MS; this.deadlineMs = this.purgeUntilMs; return; }
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.finished) return;
      if (this.purgeUntilMs >= 0) { this.purgeUntilMs = nowMs + PURGE_MS; this.deadlineMs = this.purgeUntilMs; return; }
      if (this.fill === 0) {
        if (b === SOH || b === STX) { this.need = b === STX ? 1029 : 133; this.buf[0] = b; this.fill = 1; this.packetStartMs = nowMs; this.deadlineMs = nowMs + 1000; this.lastCan = false; continue; }
        if (b === EOT) { this.lastCan = false; this.onEot(nowMs); continue; }
        if (b === CAN) { if (this.lastCan) { this.cancel('the sender cancelled the transfer', false); return; } this.lastCan = true; continue; }
        this.lastCan = false;
        continue; // noise between packets
      }
      this.buf[this.fill++] = b;
      if (this.fill === this.need) { this.fill = 0; this.onPacket(nowMs); }
    }
  }

  poll(nowMs: number): void {
    if (this.finished || nowMs < this.deadlineMs) return;
    if (this.purgeUntilMs >= 0) {
      this.purgeUntilMs = -1;
      this.h.write(Uint8Array.of(this.state === 'block0' ? CRC_REQUEST : NAK));
      this.deadlineMs = nowMs + (this.state === 'block0' ? 1000 : 10_000);
      return;
    }
    if (this.fill > 0) { this.fill = 0; this.nak(nowMs, 'block timed out'); return; }
    if (this.state === 'block0') {
      if (++this.cRequests > 60) { this.cancel('timeout: no transfer started within 60 s', true); return; }
      this.h.write(Uint8Array.of(CRC_REQUEST));
      this.deadlineMs = nowMs + 1000;
    } else if (this.state === 'end') {
      this.finish();
    } else {
      this.nak(nowMs, 'timeout');
    }
  }

  private onPacket(nowMs: number): void {
    const size = this.need - 5;
    const blk = this.buf[1];
    if (this.buf[2] !== 255 - blk) { this.nak(nowMs, 'bad block number complement'); return; }
    const crc = (this.buf[3 + size] << 8) | this.buf[4 + size];
    if (crc16Xmodem(this.buf, 3, 3 + size) !== crc) { this.nak(nowMs, 'CRC error'); return; }
    this.errors = 0;
    const data = this.buf.subarray(3, 3 + size);
    if (this.state === 'block0' || (this.state === 'data' && blk === 0 && this.expected === 1)) {
      if (blk !== 0) { this.nak(nowMs, 'expected block 0'); return; }
      if (this.state === 'data') { this.h.write(Uint8Array.of(ACK, CRC_REQUEST)); this.deadlineMs = nowMs + 10_000; return; } // duplicate header
      const nul = data.indexOf(0);
      const name = new TextDecoder().decode(data.subarray(0, nul < 0 ? 0 : nul));
      const sizeText = new TextDecoder().decode(data.subarray(nul + 1, data.indexOf(0, nul + 1) < 0 ? size : data.indexOf(0, nul + 1))).split(' ')[0];
      const fileSize = Number(sizeText);
      if (nul <= 0 || !/^\d+$/.test(sizeText) || !Number.isSafeInteger(fileSize)) { this.cancel('bad YMODEM header block (no file name or size)', true); return; }
      const err = this.h.onFile(name, fileSize);
      if (err) { this.cancel(err, true); return; }
      this.size = fileSize; this.received = 0; this.expected = 1;
      this.state = 'data';
      this.h.write(Uint8Array.of(ACK, CRC_REQUEST));
      this.deadlineMs = nowMs + 10_000;
      return;
    }
    if (this.state === 'end') {
      if (blk === 0) { this.h.write(Uint8Array.of(ACK)); this.finish(); }
      return;
    }
    if (this.state !== 'data') return;
    if (blk === ((this.expected - 1) & 255)) { this.h.write(Uint8Array.of(ACK)); this.deadlineMs = nowMs + 10_000; return; } // our ACK was lost
    if (blk !== (this.expected & 255)) { this.cancel(`lost block sync (got block ${blk}, expected ${this.expected & 255})`, true); return; }
    const take = Math.max(0, Math.min(size, this.size - this.received));
    if (take > 0) {
      const err = this.h.onData(this.received, data.subarray(0, take));
      if (err) { this.cancel(err, true); return; }
    }
    this.received += take;
    this.expected++;
    this.h.write(Uint8Array.of(ACK));
    this.deadlineMs = nowMs + 10_000;
  }

  private onEot(nowMs: number): void {
    if (this.state === 'data') { this.state = 'eot'; this.h.write(Uint8Array.of(NAK)); this.deadlineMs = nowMs + 10_000; return; }
    if (this.state === 'eot' || this.state === 'end') {
      this.state = 'end';
      this.h.write(Uint8Array.of(ACK, CRC_REQUEST));
      this.deadlineMs = nowMs + 3000;
    }
  }

  /** A bad or incomplete block: purge the line (drop bytes until it is quiet), then NAK from `poll`. */
  private nak(nowMs: number, _why: string): void {
    this.badBlocks++;
    this.fill = 0;
    if (++this.errors > this.maxErrors) { this.cancel(`too many line errors (${this.errors} in a row)`, true); return; }
    this.purgeUntilMs = nowMs + PURGE_MS;
    this.deadlineMs = this.purgeUntilMs;
  }

  private finish(): void {
    if (this.finished) return;
    this.state = 'done'; this.deadlineMs = Infinity;
    this.h.onEnd();
  }

  private cancel(reason: string, sendCan: boolean): void {
    if (this.finished) return;
    this.state = 'cancelled'; this.deadlineMs = Infinity;
    if (sendCan) this.h.write(Uint8Array.of(CAN, CAN, CAN, CAN, CAN));
    this.h.onCancel(reason);
  }

  /** Bytes of the file received so far. */
  get receivedBytes(): number { return this.received; }
}
