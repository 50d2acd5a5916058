/**
 * One flashing session with a phone's boot ROM over its serial line (the protocol of
 * host-sim/bootrom-device.ts): get the bootloader prompt, `load <size> <sha256>`, send the image by YMODEM
 * (from the offset the ROM answers: an interrupted transfer of the same image resumes), read the verdict, and
 * `boot` into the new image.
 *
 * Getting the prompt: CAN × 5 and CR (ends a transfer the ROM may still be waiting on, shows the prompt if the
 * bootloader is already running); if no prompt comes, `reboot` to the firmware console and Ctrl-B every 100 ms
 * so the ROM stops in its bootloader after the reset.
 *
 * A synchronous state machine with an explicit clock, like the YMODEM ends: `tools/flash.ts` drives it on a
 * serial port in real time, the tests on a simulated phone in virtual time.
 */
import * as crypto from 'node:crypto';
import { YmodemSender } from '../../host-sim/bootrom-ymodem.js';

export interface FlashSessionOpts {
  /** Give up when no bootloader prompt appears within this many ms (default 15000). */
  attentionTimeoutMs?: number;
  /** YMODEM: wait for ACK/NAK this long (default 3000 ms) and retransmit a block this often (default 10). */
  ackTimeoutMs?: number;
  retries?: number;
  /** Boot into the image afterwards (default true). */
  boot?: boolean;
  /** Port name for messages. */
  portName?: string;
  onProgress?: (bytesDone: number, total: number, retransmissions: number) => void;
  /** Human-readable steps ("resuming at 48 KiB …"). */
  onNote?: (line: string) => void;
}

export type FlashState = 'attention' | 'load' | 'ymodem' | 'cancelled' | 'result' | 'booting' | 'done' | 'failed';

const enc = (s: string) => new TextEncoder().encode(s);
const PROMPT = 'bootloader> ';

export class FlashSession {
  state: FlashState = 'attention';
  error = '';
  deadlineMs = Infinity;
  /** Offset the transfer started at (> 0: resumed). */
  resumedAt = 0;
  /** What the ROM says it booted: "slot B v2". */
  booted = '';
  resultLine = '';
  retransmissions = 0;
  /** The bootloader prompt was seen: the phone sits in its boot ROM until told to boot. */
  inBootloader = false;
  private text = '';
  private sender: YmodemSender | null = null;
  private rebootSent = false;
  private nextRebootMs = 0;
  private giveUpMs = Infinity;
  private readonly sha: string;
  private readonly o: Required<Pick<FlashSessionOpts, 'attentionTimeoutMs' | 'ackTimeoutMs' | 'retries' | 'boot' | 'portName'>> & FlashSessionOpts;

  constructor(private readonly image: Uint8Array, private readonly write: (b: Uint8Array) => void, opts: FlashSessionOpts = {}) {
    this.o = { attentionTimeoutMs: 15000, ackTimeoutMs: 3000, retries: 10, boot: true, portName: 'the serial port', ...opts };
    this.sha = crypto.createHash('sha256').update(image).digest('hex');
  }

  get finished(): boolean { return this.state === 'done' || this.state === 'failed'; }

  start(nowMs: number): void {
    this.write(Uint8Array.of(0x18, 0x18, 0x18, 0x18, 0x18, 0x0d));
    this.giveUpMs = nowMs + this.o.attentionTimeoutMs;
    this.deadlineMs = nowMs + 700;
  }

  feed(bytes: Uint8Array, nowMs: number): void {
    if (this.finished) return;
    let rest = bytes;
    if (this.state === 'ymodem' && this.sender) {
      const used = this.sender.feed(bytes, nowMs);
      this.afterSender(nowMs);
      rest = bytes.subarray(used);
    }
    if (rest.length === 0 || this.state === 'ymodem') return;
    this.text += Buffer.from(rest).toString('latin1');
    if (this.text.length > 65536) this.text = this.text.slice(-16384);
    this.scan(nowMs);
  }

  poll(nowMs: number): void {
    if (this.finished || nowMs < this.deadlineMs) return;
    switch (this.state) {
      case 'attention':
        if (nowMs >= this.giveUpMs) {
          this.fail(`timeout: no phone bootloader answered on ${this.o.portName} within ${this.o.attentionTimeoutMs / 1000} s (is the phone powered, and is this its console port?)`);
          return;
        }
        // Ask the firmware console to reboot (again every 3 s: a noisy line may eat the command) and keep
        // sending Ctrl-B so the ROM stops in its bootloader.
        if (nowMs >= this.nextRebootMs) {
          this.write(enc('\x15reboot\r\n'));
          if (!this.rebootSent) this.note('asking the firmware to reboot into the boot ROM');
          this.rebootSent = true;
          this.nextRebootMs = nowMs + 3000;
        } else this.write(Uint8Array.of(0x02));
        this.deadlineMs = nowMs + 100;
        return;
      case 'load': this.fail('timeout: the bootloader did not answer the load command'); return;
      case 'ymodem': this.sender?.poll(nowMs); this.afterSender(nowMs); return;
      case 'cancelled': this.fail('the phone cancelled the transfer (no reason given)'); return;
      case 'result': this.fail('timeout: the phone did not report whether it accepted the image'); return;
      case 'booting': this.fail('timeout: the phone did not say which image it boots'); return;
    }
  }

  private scan(nowMs: number): void {
    if (this.state === 'attention') {
      if (this.text.includes(PROMPT)) {
        this.text = '';
        this.inBootloader = true;
        this.write(enc(`load ${this.image.length} ${this.sha}\r`));
        this.state = 'load';
        this.deadlineMs = nowMs + 5000;
      }
      return;
    }
    for (;;) {
      const st = this.state;
      const line = this.takeLine(/(ready offset=\d+[^\r\n]*|error: [^\r\n]*|ok: [^\r\n]*|booting slot [AB] v\d+[^\r\n]*|bootrom: [^\r\n]*)\r?\n/);
      if (!line) return;
      this.onLine(line, nowMs);
      if (this.finished || this.state === 'ymodem' || (this.state === st && st === 'load')) return;
    }
  }

  private onLine(line: string, nowMs: number): void {
    if (this.state === 'load') {
      const m = /^ready offset=(\d+)/.exec(line);
      if (!m) { if (line.startsWith('error: ')) this.fail(`the phone refused the image: ${line.slice(7)}`); return; }
      const offset = Number(m[1]);
      if (!(offset >= 0 && offset < this.image.length)) { this.fail(`the bootloader asked for a bad offset ${offset}`); return; }
      this.resumedAt = offset;
      if (offset > 0) this.note(`resuming at ${offset} of ${this.image.length} bytes (an earlier transfer of this image was interrupted)`);
      this.state = 'ymodem';
      this.sender = new YmodemSender(this.image.subarray(offset), 'firmware.bin', this.write, { ackTimeoutMs: this.o.ackTimeoutMs, retries: this.o.retries });
      this.sender.start(nowMs);
      this.deadlineMs = this.sender.deadlineMs;
      this.text = '';
      this.o.onProgress?.(offset, this.image.length, 0);
    } else if (this.state === 'result' || this.state === 'cancelled') {
      if (line.startsWith('ok: ')) {
        this.resultLine = line.slice(4);
        this.note(`phone: ${this.resultLine}`);
        if (!this.o.boot) { this.done(); return; }
        this.write(enc('boot\r'));
        this.state = 'booting';
        this.deadlineMs = nowMs + 5000;
      } else if (line.startsWith('error: ')) {
        this.fail(`the phone refused the image: ${line.slice(7).replace(/^refused: /, '')}`);
      }
    } else if (this.state === 'booting') {
      const m = /^booting (slot [AB] v\d+)/.exec(line);
      if (m) { this.booted = m[1]; this.done(); }
      else if (line.startsWith('bootrom: ')) this.note(`phone: ${line}`);
    }
  }

  private takeLine(re: RegExp): string | null {
    const m = re.exec(this.text);
    if (!m) return null;
    this.text = this.text.slice(m.index + m[0].length);
    return m[1];
  }

  private afterSender(nowMs: number): void {
    const s = this.sender!;
    this.retransmissions = s.retransmissions;
    this.o.onProgress?.(this.resumedAt + s.ackedBytes, this.image.length, s.retransmissions);
    if (s.state === 'done') { this.state = 'result'; this.deadlineMs = nowMs + 15000; this.scan(nowMs); return; }
    if (s.state === 'failed') {
      if (s.cancelledByReceiver) { this.state = 'cancelled'; this.deadlineMs = nowMs + 3000; this.scan(nowMs); return; }
      this.fail(`${s.error}; run the same command again to resume`);
      return;
    }
    this.deadlineMs = s.deadlineMs;
  }

  /** Stops a transfer in progress (CAN × 5) and fails with `why`. */
  abort(why: string): void {
    if (this.finished) return;
    this.sender?.abort(why);
    this.fail(why);
  }

  private note(l: string): void { this.o.onNote?.(l); }
  private done(): void { this.state = 'done'; this.deadlineMs = Infinity; }
  private fail(msg: string): void { this.state = 'failed'; this.error = msg; this.deadlineMs = Infinity; }
}
