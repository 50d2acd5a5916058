/**
 * A simulated phone as it is on the bench: power switch, boot ROM (host-sim/bootrom.ts), NOR flash with two
 * firmware slots, the firmware's key/value storage, LCD, codec chip, and one UART shared by the boot ROM, its
 * serial bootloader and the firmware's debug console.
 *
 * Boot sequence (every power-on and every reset): the ROM prints a banner and its slots, waits `bootWindowUs`
 * for Ctrl-B (0x02: enter the bootloader), verifies and picks an image (BootRom.selectBoot), prints what it
 * boots and instantiates it. An image on trial must call `system.confirmBoot` within `confirmTimeoutUs`, or the
 * ROM's watchdog resets the phone and the ROM falls back. A firmware crash (trap) resets the phone.
 *
 * Serial bootloader (prompt `bootloader> `, one command per line):
 *   info                     slots, versions, anti-rollback floor, trusted key id
 *   load <size> <sha256hex>  answers `ready offset=N` and receives the image by YMODEM (CRC-16, 1 KiB blocks)
 *                            from byte N on: N > 0 resumes an interrupted transfer of the same image
 *   boot                     leaves the bootloader and boots
 * Results are one line: `ok: …` or `error: …`.
 */
import * as crypto from 'node:crypto';
import { FirmwareNode, type FwEvent, type NodeScheduler } from './firmware.js';
import { Flash, Lcd } from './devices.js';
import type { SimHost } from './net/types.js';
import { BootRom, NorFlash, SLOT_BYTES, slotName, type RunningImage } from './bootrom.js';
import { IMAGE_HEADER_BYTES, hex, keyIdOf } from './bootrom-image.js';
import { YmodemReceiver } from './bootrom-ymodem.js';

export const CTRL_B = 0x02;
export const BOOTLOADER_PROMPT = 'bootloader> ';

export interface RomPhoneOpts {
  name: string;
  host: SimHost;
  sched: NodeScheduler;
  seed: number;
  entropy: { u32(): number };
  /** The vendor's raw 32-byte Ed25519 public key, burnt into the ROM. */
  trustedKey: Uint8Array;
  flash?: NorFlash;
  /** The firmware's key/value storage (provisioning, host cache, …). */
  kv?: Flash;
  lcd?: Lcd;
  /** How long the ROM waits for Ctrl-B after reset, µs (default 1 s). */
  bootWindowUs?: number;
  /** How long an image on trial has to call confirmBoot, µs (default 60 s). */
  confirmTimeoutUs?: number;
  onEvent?: (e: FwEvent) => void;
  onLog?: (node: string, level: number, text: string, timeUs: number) => void;
}

const moduleCache = new Map<string, WebAssembly.Module>();

/** Compiles a wasm payload once per content (tests boot the same images hundreds of times). */
function compile(payload: Uint8Array): WebAssembly.Module {
  const key = crypto.createHash('sha256').update(payload).digest('hex');
  let m = moduleCache.get(key);
  if (!m) { m = new WebAssembly.Module(payload); moduleCache.set(key, m); if (moduleCache.size > 16) moduleCache.delete(moduleCache.keys().next().value!); }
  return m;
}

export type PhoneMode = 'off' | 'rom' | 'bootloader' | 'firmware';

export class RomPhone {
  readonly name: string;
  readonly flash: NorFlash;
  readonly kv: Flash;
  readonly lcd: Lcd;
  readonly node: FirmwareNode;
  rom!: BootRom;
  mode: PhoneMode = 'off';
  /** Everything the phone wrote on its UART, as text (latin1), for tests and transcripts. */
  uartText = '';
  /** Boots so far (power-ons and resets). */
  boots = 0;
  /** One-line ROM messages (banner, boot decisions, fallbacks), with times. */
  readonly romLog: { timeUs: number; line: string }[] = [];
  private readonly listeners: ((b: Uint8Array) => void)[] = [];
  private gen = 0;
  private timer: ReturnType<NodeScheduler['at']> | null = null;
  private watchdog: ReturnType<NodeScheduler['at']> | null = null;
  private loader: SerialBootloader | null = null;
  private readonly opts: RomPhoneOpts;

  constructor(opts: RomPhoneOpts) {
    this.opts = opts;
    this.name = opts.name;
    this.flash = opts.flash ?? new NorFlash();
    this.kv = opts.kv ?? new Flash();
    this.lcd = opts.lcd ?? new Lcd();
    this.flash.onPowerCut = () => this.powerCut();
    const self = this;
    this.node = new FirmwareNode({
      name: opts.name, host: opts.host, sched: opts.sched, seed: opts.seed, entropy: opts.entropy,
      module: new WebAssembly.Module(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0)), // replaced at every boot
      flash: this.kv, lcd: this.lcd, onEvent: opts.onEvent, onLog: opts.onLog,
      bootRom: {
        confirmBoot: () => { if (this.watchdog) { opts.sched.cancel(this.watchdog); this.watchdog = null; } return this.rom.confirm(); },
        bootInfo: () => this.rom.bootInfo(),
        updateBegin: (size) => this.rom.updateBegin(size),
        updateWrite: (off, data) => this.rom.updateWrite(off, data),
        updateFinish: () => this.rom.updateFinish(),
        reset(cause, detail) { self.reset(cause === 'crash' ? `crash: ${detail}` : 'reboot requested by the firmware'); },
      },
    });
    this.node.uart.onOutput = (b) => this.emit(b);
  }

  get sched(): NodeScheduler { return this.opts.sched; }
  get running(): RunningImage | null { return this.mode === 'firmware' ? this.rom.running : null; }

  /** Subscribes to UART output bytes. */
  onUart(fn: (b: Uint8Array) => void): void { this.listeners.push(fn); }

  /** Bytes arriving on the UART (from a terminal, the console tool or the flash tool). */
  uartInput(data: Uint8Array): void {
    if (this.mode === 'firmware') this.node.uartInput(data);
    else if (this.mode === 'rom') { if (data.includes(CTRL_B)) this.enterBootloader('Ctrl-B'); }
    else if (this.mode === 'bootloader') this.loader?.feed(data);
  }

  /** Switches the phone on: the boot ROM starts. */
  powerOn(): void {
    if (this.mode !== 'off') return;
    this.flash.powerOn();
    this.boot('power on');
  }

  /** Cuts power at once: firmware, ROM and timers stop; flash keeps what was written (see NorFlash). */
  powerCut(): void {
    if (this.mode === 'off') return;
    this.gen++;
    this.cancelTimers();
    this.node.powerOff();
    this.loader = null;
    this.mode = 'off';
    this.logRom('-- power cut --', false);
  }

  /** A reset (watchdog, crash, reboot request): the ROM starts over after 10 ms. */
  reset(why: string): void {
    if (this.mode === 'off') return;
    this.gen++;
    this.cancelTimers();
    if (this.mode === 'firmware') this.node.powerOff();
    this.loader = null;
    this.mode = 'rom';
    this.logRom(`bootrom: reset (${why})`);
    const g = this.gen;
    this.timer = this.sched.after(10_000, () => { if (g === this.gen) this.boot('reset'); });
  }

  print(line: string): void { this.emit(new TextEncoder().encode(line + '\r\n')); }

  private logRom(line: string, print = true): void {
    this.romLog.push({ timeUs: this.sched.nowUs, line });
    if (print) this.print(line);
  }

  /** Bytes out of the UART (ROM, bootloader and firmware share it). */
  emit(b: Uint8Array): void {
    if (this.mode === 'off') return;
    this.uartText += Buffer.from(b).toString('latin1');
    if (this.uartText.length > 1_000_000) this.uartText = this.uartText.slice(-500_000);
    for (const l of this.listeners) l(b);
  }

  private cancelTimers(): void {
    if (this.timer) this.sched.cancel(this.timer);
    if (this.watchdog) this.sched.cancel(this.watchdog);
    this.timer = null; this.watchdog = null;
  }

  private boot(why: string): void {
    this.gen++;
    const g = this.gen;
    this.boots++;
    this.mode = 'rom';
    this.rom = new BootRom(this.flash, this.opts.trustedKey, (l) => this.logRom(l));
    this.logRom(`BOOTROM 1.0 (${why}) key ${hex(keyIdOf(this.opts.trustedKey))}`);
    for (const s of [0, 1]) this.logRom(this.slotLine(s));
    const windowUs = this.opts.bootWindowUs ?? 1_000_000;
    if (windowUs > 0) this.print(`press Ctrl-B within ${windowUs / 1e6} s for the bootloader`);
    this.timer = this.sched.after(windowUs, () => { if (g === this.gen && this.mode === 'rom') this.startImage(); });
  }

  private slotLine(s: number): string {
    const st = this.rom.slotStatus(s);
    const cfm = this.rom.state.confirmedSlot === s ? ' confirmed' : this.rom.state.trialSlot === s ? ` on trial (${this.rom.state.trialBoots} boot(s))` : '';
    if (st.valid) return `slot ${slotName(s)}: v${st.header!.version} build ${st.header!.buildId || '-'}${cfm}`;
    return `slot ${slotName(s)}: ${st.header ? `v${st.header.version} ` : ''}not bootable (${st.reason})`;
  }

  private startImage(): void {
    const d = this.rom.selectBoot();
    if (this.mode === 'off') return; // power was cut while the ROM wrote its state
    if (!d.ok) { this.logRom(`bootrom: ${d.reason}; staying in the bootloader`); this.enterBootloader('no image'); return; }
    const r = d.running;
    this.logRom(`booting slot ${slotName(r.slot)} v${r.header.version} build ${r.header.buildId || '-'}${r.trial ? ` on trial (boot ${r.trialBoots} of 3, must confirm within ${(this.opts.confirmTimeoutUs ?? 60_000_000) / 1e6} s)` : ''}`);
    let module: WebAssembly.Module;
    try {
      module = compile(r.image.subarray(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + r.header.payloadBytes));
    } catch (e) { this.reset(`image does not compile: ${(e as Error).message}`); return; }
    const g = this.gen;
    if (r.trial) {
      this.watchdog = this.sched.after(this.opts.confirmTimeoutUs ?? 60_000_000, () => {
        if (g !== this.gen || !this.rom.running?.trial) return;
        this.logRom(`bootrom: watchdog: v${r.header.version} did not confirm a healthy boot in time`);
        this.rom.trialTimedOut();
        this.reset('confirm timeout');
      });
    }
    this.mode = 'firmware';
    try {
      this.node.boot(module);
    } catch (e) {
      if (g === this.gen) this.reset(`firmware does not start: ${(e as Error).message}`);
    }
  }

  private enterBootloader(why: string): void {
    this.gen++;
    this.cancelTimers();
    this.mode = 'bootloader';
    this.loader = new SerialBootloader(this, this.rom, this.gen);
    this.logRom(`bootloader (${why}): commands info, load <size> <sha256>, boot`);
    this.emit(new TextEncoder().encode(BOOTLOADER_PROMPT));
  }

  /** Used by the bootloader's `boot` command. */
  leaveBootloader(g: number): void {
    if (g !== this.gen) return;
    this.loader = null;
    this.mode = 'rom';
    this.gen++;
    this.startImage();
  }

  /** Is `g` still the current boot generation (nothing reset or cut since)? */
  current(g: number): boolean { return g === this.gen && this.mode !== 'off'; }
}

/** The bootloader's command line and its YMODEM receiver. */
class SerialBootloader {
  private line = '';
  private rx: YmodemReceiver | null = null;
  private pollTimer: ReturnType<NodeScheduler['at']> | null = null;
  private size = 0;
  private offset = 0;

  constructor(private readonly phone: RomPhone, private readonly rom: BootRom, private readonly gen: number) {}

  private get nowMs(): number { return this.phone.sched.nowUs / 1000; }

  feed(data: Uint8Array): void {
    if (!this.phone.current(this.gen)) return;
    if (this.rx) { this.rx.feed(data, this.nowMs); this.arm(); return; }
    for (const b of data) {
      if (b === 13 || b === 10) {
        const l = this.line.trim();
        this.line = '';
        if (b === 13) this.phone.print('');
        if (l) this.command(l); else if (b === 13) this.prompt();
        if (this.rx) return; // the rest of the chunk is not for the command line
      } else if (b === 8 || b === 127) {
        if (this.line.length > 0) { this.line = this.line.slice(0, -1); this.echo('\b \b'); }
      } else if (b < 32 || b >= 127) {
        // Binary bytes (a sender still mid-block after a cancel, line noise, CAN, Ctrl-B) void the line.
        this.line = '';
      } else if (b >= 32 && b < 127 && this.line.length < 200) {
        this.line += String.fromCharCode(b);
        this.echo(String.fromCharCode(b));
      }
    }
  }

  private echo(s: string): void { this.emitRaw(new TextEncoder().encode(s)); }
  private emitRaw(b: Uint8Array): void { this.phone.emit(b); }
  private prompt(): void { this.emitRaw(new TextEncoder().encode(BOOTLOADER_PROMPT)); }

  private command(l: string): void {
    const [cmd, ...args] = l.split(/\s+/);
    if (cmd === 'help') this.phone.print('commands: info | load <size> <sha256hex> | boot');
    else if (cmd === 'info') {
      for (const s of [0, 1]) {
        const st = this.rom.slotStatus(s);
        const tag = this.rom.state.confirmedSlot === s ? 'confirmed' : this.rom.state.trialSlot === s ? 'trial' : st.valid ? 'valid' : 'invalid';
        this.phone.print(`slot ${slotName(s)}: ${st.header ? `v${st.header.version} build ${st.header.buildId || '-'}` : 'empty'} ${tag}${st.valid ? '' : ` (${st.reason})`}`);
      }
      this.phone.print(`ok: floor ${this.rom.state.minVersion} key ${hex(keyIdOf(this.rom.trustedKey))} slot size ${SLOT_BYTES} next slot ${slotName(this.rom.inactiveSlot())}`);
    } else if (cmd === 'boot') {
      this.phone.print('ok: booting');
      this.phone.leaveBootloader(this.gen);
      return;
    } else if (cmd === 'load') {
      const size = Number(args[0]);
      if (args.length !== 2 || !/^\d+$/.test(args[0] ?? '') || !/^[0-9a-f]{64}$/i.test(args[1] ?? '')) {
        this.phone.print('error: usage: load <size in bytes> <sha256 as 64 hex digits>');
      } else {
        const r = this.rom.beginWrite(size, new Uint8Array(Buffer.from(args[1], 'hex')), true);
        if (!r.ok) this.phone.print(`error: ${r.reason}`);
        else {
          this.size = size; this.offset = r.offset;
          this.phone.print(`ready offset=${r.offset} slot=${slotName(r.slot)}`);
          this.startYmodem();
          return;
        }
      }
    } else this.phone.print(`error: unknown command '${cmd}' (try help)`);
    this.prompt();
  }

  private startYmodem(): void {
    const phone = this.phone;
    const base = this.offset;
    this.rx = new YmodemReceiver({
      write: (b) => { if (phone.current(this.gen)) this.emitRaw(b); },
      onFile: (_name, size) => (size === this.size - base ? null : `file is ${size} bytes, expected ${this.size - base} (image ${this.size} from offset ${base})`),
      onData: (off, data) => {
        const at = base + off;
        if (at === 0 && data.length >= IMAGE_HEADER_BYTES) {
          const err = this.rom.checkHeader(data.subarray(0, IMAGE_HEADER_BYTES), this.size);
          if (err) return `refused: ${err}`;
        }
        const err = this.rom.writeChunk(at, data);
        return err ? `refused: ${err}` : null;
      },
      onEnd: () => {
        this.rx = null;
        if (!phone.current(this.gen)) return;
        const r = this.rom.finishWrite(0);
        if (r.ok) phone.print(`ok: image v${r.header.version} build ${r.header.buildId || '-'} verified and written to slot ${slotName(r.slot)}`);
        else phone.print(`error: refused: ${r.reason}`);
        this.prompt();
      },
      onCancel: (reason) => {
        this.rx = null;
        if (!phone.current(this.gen)) return;
        phone.print(`error: ${reason}`);
        this.prompt();
      },
    }, this.nowMs);
    this.arm();
  }

  /** Keeps one timer at the receiver's deadline. */
  private arm(): void {
    if (this.pollTimer) this.phone.sched.cancel(this.pollTimer);
    this.pollTimer = null;
    const rx = this.rx;
    if (!rx || !Number.isFinite(rx.deadlineMs)) return;
    const due = rx.deadlineMs;
    this.pollTimer = this.phone.sched.at(due * 1000, () => {
      this.pollTimer = null;
      if (!this.phone.current(this.gen) || this.rx !== rx) return;
      rx.poll(Math.max(this.nowMs, due)); // µs↔ms rounding must not make the timer look early forever
      this.arm();
    });
  }
}
