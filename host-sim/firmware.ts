/**
 * One firmware instance (build/firmware.wasm) wired to simulated hardware: the HAL imports of hal/ABI.md
 * implemented over a simulated network host, flash, LCD, audio, UART and node:crypto, and the exports driven
 * by the discrete-event scheduler. The same class backs every phone and supernode in a simulated world.
 */
import type { Handle } from './net/scheduler.js';
import type { SimHost, TcpConn, UdpSocket, HostCounters } from './net/types.js';
import { AudioDevice, Flash, Lcd, Uart, cryptoEngine } from './devices.js';

export const HAL_OK = 0, HAL_ERR = -1, HAL_NOSYS = -2, HAL_EINVAL = -3, HAL_EAGAIN = -4, HAL_ENOENT = -5,
  HAL_EADDRINUSE = -6, HAL_ENOTCONN = -7, HAL_EAUTH = -8, HAL_ENOSPC = -9, HAL_ECONNREFUSED = -10, HAL_ETIMEDOUT = -11;

/** A level-5 log line from the firmware: `name key=value …`, stamped with virtual time and traffic counters. */
export interface FwEvent {
  timeUs: number;
  node: string;
  name: string;
  kv: Record<string, string>;
  counters: HostCounters;
}

/**
 * The clock and timers a FirmwareNode runs on: the simulator's `Scheduler` (virtual µs) or the real-time
 * scheduler of host-sim/real (monotonic µs since start). `at` with a past time runs as soon as possible.
 */
export interface NodeScheduler {
  readonly nowUs: number;
  at(timeUs: number, fn: () => void): Handle;
  after(dtUs: number, fn: () => void): Handle;
  cancel(h: Handle | null | undefined): void;
}

export interface FirmwareNodeOpts {
  name: string;
  module: WebAssembly.Module;
  host: SimHost;
  sched: NodeScheduler;
  /** Seeds the firmware's PRNG streams (init's seed argument). */
  seed: number;
  /** Source of hal entropy (derived from the world seed in the simulator; node:crypto on a live node). */
  entropy: { u32(): number };
  flash?: Flash;
  lcd?: Lcd;
  onEvent?: (e: FwEvent) => void;
  /** Non-event log lines (level 0..4). */
  onLog?: (node: string, level: number, text: string, timeUs: number) => void;
  /**
   * Boot ROM behind the `system` boot imports (confirmBoot, bootInfo, update*; host-sim/bootrom.ts). Without it
   * they answer NOSYS and a reboot or crash re-instantiates `module` at once / leaves the node dead, as before.
   */
  bootRom?: BootRomBackend;
}

/** What the boot ROM offers the firmware (hal/ABI.md §system) and how it takes over on reboot or crash. */
export interface BootRomBackend {
  confirmBoot(): number;
  /** The 64-byte boot info record, or null (NOSYS). */
  bootInfo(): Uint8Array | null;
  updateBegin(size: number): number;
  updateWrite(offset: number, data: Uint8Array): number;
  updateFinish(): number;
  /** The firmware asked for a reboot (`request`) or trapped (`crash`); the node is already torn down. */
  reset(cause: 'request' | 'crash', detail: string): void;
}

interface FwExports {
  memory: WebAssembly.Memory;
  halRxBuf(): number; halRxCap(): number; halAudioBuf(): number; halAudioCap(): number;
  init(seed: bigint, now: bigint): bigint;
  tick(now: bigint): bigint;
  onUdp(sock: number, ip: number, port: number, len: number, now: bigint): bigint;
  onTcpAccept(listener: number, conn: number, ip: number, port: number, now: bigint): bigint;
  onTcpConnected(conn: number, status: number, now: bigint): bigint;
  onTcpData(conn: number, len: number, now: bigint): bigint;
  onTcpClosed(conn: number, reason: number, now: bigint): bigint;
  onAudio(samples: number, now: bigint): bigint;
  onKey(code: number, down: number, now: bigint): bigint;
  onUart(len: number, now: bigint): bigint;
}

const AUDIO_BLOCK_US = 10_000;

export class FirmwareNode {
  readonly name: string;
  readonly host: SimHost;
  readonly flash: Flash;
  readonly lcd: Lcd;
  readonly audio = new AudioDevice();
  readonly uart = new Uart();
  readonly events: FwEvent[] = [];
  /** Set when the firmware trapped (an AssemblyScript abort or a wasm trap): the phone crashed. */
  crash: string | null = null;
  private ex!: FwExports;
  private readonly sched: NodeScheduler;
  private readonly udp = new Map<number, UdpSocket>();
  private readonly tcp = new Map<number, TcpConn>();
  private readonly listeners = new Map<number, { close(): void }>();
  private nextHandle = 1;
  private tickHandle: Handle | null = null;
  private tickAt = Infinity;
  private audioHandle: Handle | null = null;
  private depth = 0;
  private rxPtr = 0;
  private rxCap = 0;
  private audioPtr = 0;
  private micBlock = new Int16Array(0);

  constructor(private readonly opts: FirmwareNodeOpts) {
    this.name = opts.name;
    this.host = opts.host;
    this.sched = opts.sched;
    this.flash = opts.flash ?? new Flash();
    this.lcd = opts.lcd ?? new Lcd();
  }

  get nowUs(): number { return this.sched.nowUs; }
  private now(): bigint { return BigInt(Math.floor(this.sched.nowUs)); }

  /** Instantiates the module and calls init. */
  boot(module: WebAssembly.Module = this.opts.module): void {
    this.crash = null;
    const inst = new WebAssembly.Instance(module, this.imports());
    this.ex = inst.exports as unknown as FwExports;
    this.rxPtr = this.ex.halRxBuf();
    this.rxCap = this.ex.halRxCap();
    this.audioPtr = this.ex.halAudioBuf();
    this.enter(() => this.ex.init(BigInt(this.opts.seed), this.now()));
  }

  // ----- driving the firmware -----------------------------------------------------------------

  /** Calls into the firmware, catching traps, and (re)schedules its next deadline. */
  private enter(fn: () => bigint): void {
    if (this.crash) return;
    this.depth++;
    let next: bigint;
    try {
      next = fn();
    } catch (e) {
      this.depth--;
      this.die(`trap: ${(e as Error).message}`);
      return;
    }
    this.depth--;
    this.schedule(Number(next));
  }

  /** Watchdog: consecutive firmware calls at one virtual instant (a firmware that never lets time pass). */
  private sameTimeCalls = 0;
  private sameTimeAt = -1;
  static readonly WATCHDOG_CALLS = 100_000;

  private schedule(deadlineUs: number): void {
    if (deadlineUs >= 0 && deadlineUs <= this.sched.nowUs) {
      if (this.sameTimeAt === this.sched.nowUs) {
        if (++this.sameTimeCalls > FirmwareNode.WATCHDOG_CALLS) { this.die(`watchdog: deadline ${deadlineUs} never advances past ${this.sched.nowUs} µs`); return; }
      } else { this.sameTimeAt = this.sched.nowUs; this.sameTimeCalls = 0; }
    }
    if (deadlineUs < 0) { if (this.tickHandle) this.sched.cancel(this.tickHandle); this.tickHandle = null; this.tickAt = Infinity; return; }
    const t = Math.max(deadlineUs, this.sched.nowUs);
    if (this.tickHandle && this.tickAt === t) return;
    if (this.tickHandle) this.sched.cancel(this.tickHandle);
    this.tickAt = t;
    this.tickHandle = this.sched.at(t, () => { this.tickHandle = null; this.tickAt = Infinity; this.enter(() => this.ex.tick(this.now())); });
  }

  private die(reason: string): void {
    this.crash = reason;
    if (this.opts.bootRom) { this.teardown(); this.opts.onLog?.(this.name, 0, `CRASH ${reason}`, this.sched.nowUs); this.opts.bootRom.reset('crash', reason); return; }
    this.opts.onLog?.(this.name, 0, `CRASH ${reason}`, this.sched.nowUs);
    if (this.tickHandle) this.sched.cancel(this.tickHandle);
    if (this.audioHandle) this.sched.cancel(this.audioHandle);
    for (const s of this.udp.values()) s.close();
    for (const c of this.tcp.values()) c.close();
    for (const l of this.listeners.values()) l.close();
  }

  private mem(): Uint8Array { return new Uint8Array(this.ex.memory.buffer); }

  private range(ptr: number, len: number): boolean {
    return Number.isInteger(ptr) && Number.isInteger(len) && ptr >= 0 && len >= 0 && ptr + len <= this.ex.memory.buffer.byteLength;
  }

  private bytes(ptr: number, len: number): Uint8Array { return this.mem().slice(ptr, ptr + len); }

  /** Runs fn now if the firmware is idle, else right after the current call (no re-entrancy). */
  private deliver(fn: () => void): void {
    if (this.crash) return;
    if (this.depth > 0) this.sched.after(0, fn); else fn();
  }

  /** A key press (down then up `holdUs` later). Codes: firmware/ui/keys.ts. */
  pressKey(code: number, holdUs = 80_000): void {
    this.deliver(() => this.enter(() => this.ex.onKey(code, 1, this.now())));
    this.sched.after(holdUs, () => this.deliver(() => this.enter(() => this.ex.onKey(code, 0, this.now()))));
  }

  /** Hook switch: off-hook (lift handset) or on-hook. */
  hook(off: boolean): void { this.deliver(() => this.enter(() => this.ex.onKey(off ? 0x100 : 0x101, 1, this.now()))); }

  /** Bytes typed on the UART. */
  uartInput(data: Uint8Array): void {
    this.deliver(() => {
      for (let off = 0; off < data.length; off += this.rxCap) {
        const chunk = data.subarray(off, off + this.rxCap);
        this.mem().set(chunk, this.rxPtr);
        this.enter(() => this.ex.onUart(chunk.length, this.now()));
      }
    });
  }

  // ----- HAL imports ---------------------------------------------------------------------------

  private imports(): WebAssembly.Imports {
    const self = this;
    const h = this.host;
    return {
      clock: { nowUs: () => self.now() },
      entropy: {
        fill(ptr: number, len: number) {
          if (!self.range(ptr, len)) return HAL_EINVAL;
          const m = self.mem();
          for (let i = 0; i < len; i++) m[ptr + i] = self.opts.entropy.u32() & 255;
          return len;
        },
      },
      net: {
        localIp: () => h.ip | 0,
        udpOpen(port: number) {
          try {
            const handle = self.nextHandle++;
            const s = h.udpBind(port, (srcIp, srcPort, data) => self.deliver(() => {
              if (data.length > self.rxCap) return;
              self.mem().set(data, self.rxPtr);
              self.enter(() => self.ex.onUdp(handle, srcIp | 0, srcPort, data.length, self.now()));
            }));
            self.udp.set(handle, s);
            return handle;
          } catch (e) { return (e as Error).message === 'EADDRINUSE' ? HAL_EADDRINUSE : HAL_ERR; }
        },
        udpSend(sock: number, ip: number, port: number, ptr: number, len: number) {
          const s = self.udp.get(sock);
          if (!s) return HAL_ENOENT;
          if (!self.range(ptr, len) || port <= 0 || port > 65535) return HAL_EINVAL;
          return s.send(ip >>> 0, port, self.bytes(ptr, len)) ? len : HAL_ERR;
        },
        udpLocalPort(sock: number) { const s = self.udp.get(sock); return s ? s.localPort : HAL_ENOENT; },
        udpClose(sock: number) { const s = self.udp.get(sock); if (!s) return HAL_ENOENT; s.close(); self.udp.delete(sock); return HAL_OK; },
        tcpListen(port: number) {
          try {
            const handle = self.nextHandle++;
            const l = h.tcpListen(port, (conn) => self.deliver(() => {
              const ch = self.nextHandle++;
              self.tcp.set(ch, conn);
              conn.setHandlers(self.tcpHandlers(ch));
              self.enter(() => self.ex.onTcpAccept(handle, ch, conn.remoteIp | 0, conn.remotePort, self.now()));
            }));
            self.listeners.set(handle, l);
            return handle;
          } catch (e) { return (e as Error).message === 'EADDRINUSE' ? HAL_EADDRINUSE : HAL_ERR; }
        },
        tcpConnect(ip: number, port: number) {
          if (port <= 0 || port > 65535) return HAL_EINVAL;
          const ch = self.nextHandle++;
          const handlers = self.tcpHandlers(ch);
          let established = false;
          const conn = h.tcpConnect(ip >>> 0, port, {
            onConnect: () => {
              established = true;
              self.deliver(() => self.enter(() => self.ex.onTcpConnected(ch, 0, self.now())));
            },
            onData: handlers.onData,
            onClose: (reason) => {
              if (established) { handlers.onClose(reason); return; }
              if (!self.tcp.has(ch)) return; // closed by the firmware first
              self.tcp.delete(ch);
              const err = reason === 'refused' ? HAL_ECONNREFUSED : HAL_ETIMEDOUT;
              self.deliver(() => self.enter(() => self.ex.onTcpConnected(ch, err, self.now())));
            },
          });
          self.tcp.set(ch, conn);
          return ch;
        },
        tcpSend(conn: number, ptr: number, len: number) {
          const c = self.tcp.get(conn);
          if (!c) return HAL_ENOENT;
          if (!self.range(ptr, len)) return HAL_EINVAL;
          if (c.state !== 'open') return HAL_ENOTCONN;
          return c.send(self.bytes(ptr, len)) ? len : HAL_ENOTCONN;
        },
        tcpClose(conn: number) {
          const c = self.tcp.get(conn);
          if (c) { self.tcp.delete(conn); c.close(); return HAL_OK; }
          const l = self.listeners.get(conn);
          if (l) { self.listeners.delete(conn); l.close(); return HAL_OK; }
          return HAL_ENOENT;
        },
      },
      audio: {
        start(rateHz: number) {
          if (rateHz !== 8000 && rateHz !== 16000) return HAL_EINVAL;
          self.audio.rateHz = rateHz;
          self.audio.starts++;
          if (!self.audio.running) {
            self.audio.running = true;
            self.micBlock = new Int16Array(rateHz / 100);
            const period = () => {
              self.audioHandle = self.sched.after(AUDIO_BLOCK_US, period);
              self.deliver(() => {
                if (!self.audio.running) return;
                self.audio.mic.read(self.micBlock);
                new Int16Array(self.ex.memory.buffer, self.audioPtr, self.micBlock.length).set(self.micBlock);
                self.enter(() => self.ex.onAudio(self.micBlock.length, self.now()));
              });
            };
            self.audioHandle = self.sched.after(AUDIO_BLOCK_US, period);
          }
          return HAL_OK;
        },
        route(output: number) {
          if (output !== 0 && output !== 1) return HAL_EINVAL;
          self.audioOutput = output;
          return HAL_OK;
        },
        volume(output: number, step: number) {
          if ((output !== 0 && output !== 1) || !Number.isInteger(step) || step < 0 || step > 8) return HAL_EINVAL;
          self.volumeStep[output] = step;
          return HAL_OK;
        },
        stop() {
          self.audio.running = false;
          if (self.audioHandle) self.sched.cancel(self.audioHandle);
          self.audioHandle = null;
          return HAL_OK;
        },
        play(ptr: number, samples: number) {
          if (!self.range(ptr, samples * 2) || (ptr & 1)) return HAL_EINVAL;
          if (self.audioOutput === 1 || self.volumeStep[self.audioOutput] !== 5) { self.playRouted(ptr, samples); return samples; }
          if (self.audio.speakerStartUs < 0) self.audio.speakerStartUs = self.sched.nowUs;
          const v = new Int16Array(self.ex.memory.buffer, ptr, samples);
          for (let i = 0; i < samples; i++) self.audio.speaker.push(v[i]);
          return samples;
        },
      },
      display: {
        size: () => (self.lcd.rows << 8) | self.lcd.cols,
        write(row: number, col: number, ptr: number, len: number) {
          if (!self.range(ptr, len)) return HAL_EINVAL;
          return self.lcd.write(row, col, self.bytes(ptr, len), self.sched.nowUs);
        },
        clear() { self.lcd.clear(); return HAL_OK; },
      },
      storage: {
        read(key: number, ptr: number, cap: number) {
          const r = self.flash.read(key);
          if (!r) return HAL_ENOENT;
          if (!self.range(ptr, cap)) return HAL_EINVAL;
          self.mem().set(r.subarray(0, Math.min(cap, r.length)), ptr);
          return r.length;
        },
        write(key: number, ptr: number, len: number) {
          if (!self.range(ptr, len)) return HAL_EINVAL;
          return self.flash.write(key, self.bytes(ptr, len)) ? len : HAL_ENOSPC;
        },
        erase(key: number) { return self.flash.erase(key) ? HAL_OK : HAL_ENOENT; },
      },
      crypto: {
        sha256(ptr: number, len: number, out: number) {
          if (!self.range(ptr, len) || !self.range(out, 32)) return HAL_EINVAL;
          self.mem().set(cryptoEngine.sha256(self.bytes(ptr, len)), out); return 32;
        },
        hmacSha256(key: number, keyLen: number, ptr: number, len: number, out: number) {
          if (!self.range(key, keyLen) || !self.range(ptr, len) || !self.range(out, 32)) return HAL_EINVAL;
          self.mem().set(cryptoEngine.hmacSha256(self.bytes(key, keyLen), self.bytes(ptr, len)), out); return 32;
        },
        x25519Public(priv: number, out: number) {
          if (!self.range(priv, 32) || !self.range(out, 32)) return HAL_EINVAL;
          self.mem().set(cryptoEngine.x25519Public(self.bytes(priv, 32)), out); return 32;
        },
        x25519(priv: number, pub: number, out: number) {
          if (!self.range(priv, 32) || !self.range(pub, 32) || !self.range(out, 32)) return HAL_EINVAL;
          const s = cryptoEngine.x25519(self.bytes(priv, 32), self.bytes(pub, 32));
          if (!s) return HAL_EAUTH;
          self.mem().set(s, out); return 32;
        },
        aeadSeal(key: number, nonce: number, aad: number, aadLen: number, pt: number, ptLen: number, out: number) {
          if (!self.range(key, 32) || !self.range(nonce, 12) || !self.range(aad, aadLen) || !self.range(pt, ptLen) || !self.range(out, ptLen + 16)) return HAL_EINVAL;
          const ct = cryptoEngine.aeadSeal(self.bytes(key, 32), self.bytes(nonce, 12), self.bytes(aad, aadLen), self.bytes(pt, ptLen));
          self.mem().set(ct, out); return ct.length;
        },
        aeadOpen(key: number, nonce: number, aad: number, aadLen: number, ct: number, ctLen: number, out: number) {
          if (!self.range(key, 32) || !self.range(nonce, 12) || !self.range(aad, aadLen) || !self.range(ct, ctLen) || ctLen < 16 || !self.range(out, ctLen - 16)) return HAL_EINVAL;
          const pt = cryptoEngine.aeadOpen(self.bytes(key, 32), self.bytes(nonce, 12), self.bytes(aad, aadLen), self.bytes(ct, ctLen));
          if (!pt) return HAL_EAUTH;
          self.mem().set(pt, out); return pt.length;
        },
        ed25519Public(seed: number, out: number) {
          if (!self.range(seed, 32) || !self.range(out, 32)) return HAL_EINVAL;
          self.mem().set(cryptoEngine.ed25519Public(self.bytes(seed, 32)), out); return 32;
        },
        ed25519Sign(seed: number, msg: number, len: number, out: number) {
          if (!self.range(seed, 32) || !self.range(msg, len) || !self.range(out, 64)) return HAL_EINVAL;
          self.mem().set(cryptoEngine.ed25519Sign(self.bytes(seed, 32), self.bytes(msg, len)), out); return 64;
        },
        ed25519Verify(pub: number, msg: number, len: number, sig: number) {
          if (!self.range(pub, 32) || !self.range(msg, len) || !self.range(sig, 64)) return HAL_EINVAL;
          return cryptoEngine.ed25519Verify(self.bytes(pub, 32), self.bytes(msg, len), self.bytes(sig, 64)) ? HAL_OK : HAL_EAUTH;
        },
      },
      uart: {
        write(ptr: number, len: number) {
          if (!self.range(ptr, len)) return HAL_EINVAL;
          const b = self.bytes(ptr, len);
          for (const x of b) self.uart.out.push(x);
          self.uart.onOutput?.(b);
          return len;
        },
      },
      log: {
        write(level: number, ptr: number, len: number) {
          if (!self.range(ptr, len)) return HAL_EINVAL;
          const text = Buffer.from(self.bytes(ptr, len)).toString('utf8');
          if (level === 5) self.recordEvent(text);
          else self.opts.onLog?.(self.name, level, text, self.sched.nowUs);
          return len;
        },
      },
      system: {
        reboot() { self.sched.after(0, () => self.reboot()); },
        confirmBoot() { return self.opts.bootRom ? self.opts.bootRom.confirmBoot() : HAL_NOSYS; },
        bootInfo(ptr: number, cap: number) {
          const info = self.opts.bootRom?.bootInfo();
          if (!info) return HAL_NOSYS;
          if (!self.range(ptr, cap) || cap < info.length) return HAL_EINVAL;
          self.mem().set(info, ptr);
          return info.length;
        },
        updateBegin(size: number) { return self.opts.bootRom ? self.opts.bootRom.updateBegin(size) : HAL_NOSYS; },
        updateWrite(offset: number, ptr: number, len: number) {
          if (!self.opts.bootRom) return HAL_NOSYS;
          if (!self.range(ptr, len)) return HAL_EINVAL;
          return self.opts.bootRom.updateWrite(offset, self.bytes(ptr, len));
        },
        updateFinish() { return self.opts.bootRom ? self.opts.bootRom.updateFinish() : HAL_NOSYS; },
        panic(msg: number, file: number, line: number, col: number) {
          const m = self.asString(msg), f = self.asString(file);
          self.opts.onLog?.(self.name, 0, `panic: ${m} at ${f}:${line}:${col}`, self.sched.nowUs);
        },
      },
    };
  }

  private tcpHandlers(ch: number) {
    const self = this;
    return {
      onData(data: Uint8Array) {
        self.deliver(() => {
          for (let off = 0; off < data.length; off += self.rxCap) {
            if (!self.tcp.has(ch)) return;
            const chunk = data.subarray(off, off + self.rxCap);
            self.mem().set(chunk, self.rxPtr);
            self.enter(() => self.ex.onTcpData(ch, chunk.length, self.now()));
          }
        });
      },
      onClose(reason: string) {
        if (!self.tcp.has(ch)) return;
        self.tcp.delete(ch);
        self.deliver(() => self.enter(() => self.ex.onTcpClosed(ch, reason === 'closed' ? 0 : HAL_ENOTCONN, self.now())));
      },
    };
  }

  /** Reads an AssemblyScript string (UTF-16LE, byte length at ptr − 4). */
  private asString(ptr: number): string {
    if (!ptr || !this.range(ptr - 4, 4)) return '';
    const len = new DataView(this.ex.memory.buffer).getUint32(ptr - 4, true);
    if (!this.range(ptr, len)) return '';
    return Buffer.from(this.bytes(ptr, len)).toString('utf16le');
  }

  private recordEvent(text: string): void {
    const parts = text.split(' ');
    const kv: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const i = p.indexOf('=');
      if (i > 0) kv[p.slice(0, i)] = p.slice(i + 1);
    }
    const e: FwEvent = { timeUs: this.sched.nowUs, node: this.name, name: parts[0], kv, counters: { ...this.host.counters } };
    this.events.push(e);
    this.opts.onEvent?.(e);
  }

  /** Reboot: sockets closed, state lost except flash, firmware instantiated and booted again. */
  /** Speaker output selected by `audio.route`: 0 handset (→ `audio.speaker`), 1 loudspeaker (→ `loudspeaker`). */
  audioOutput = 0;
  /** `audio.volume` step per output (5 = 0 dB, 3 dB a step, 0 = mute). */
  readonly volumeStep = [5, 5];
  /** Samples played on the loudspeaker (ringer, hands-free), at the codec rate, with their first sample's time. */
  readonly loudspeaker: number[] = [];
  loudspeakerStartUs = -1;

  /** audio.play for the loudspeaker or a non-unity volume: scaled, clipped, appended to the selected output. */
  private playRouted(ptr: number, samples: number): void {
    const v = new Int16Array(this.ex.memory.buffer, ptr, samples);
    const step = this.volumeStep[this.audioOutput];
    const gain = step === 0 ? 0 : Math.pow(10, ((step - 5) * 3) / 20);
    const toLoud = this.audioOutput === 1;
    const out = toLoud ? this.loudspeaker : this.audio.speaker;
    if (toLoud && this.loudspeakerStartUs < 0) this.loudspeakerStartUs = this.sched.nowUs;
    if (!toLoud && this.audio.speakerStartUs < 0) this.audio.speakerStartUs = this.sched.nowUs;
    for (let i = 0; i < samples; i++) out.push(Math.max(-32768, Math.min(32767, Math.round(v[i] * gain))));
  }

  /** Closes every socket and stops timers and audio (reboot, power cut, crash under a boot ROM). */
  teardown(): void {
    for (const s of this.udp.values()) s.close();
    for (const c of this.tcp.values()) c.close();
    for (const l of this.listeners.values()) l.close();
    this.udp.clear(); this.tcp.clear(); this.listeners.clear();
    if (this.tickHandle) this.sched.cancel(this.tickHandle);
    if (this.audioHandle) this.sched.cancel(this.audioHandle);
    this.tickHandle = null; this.audioHandle = null; this.audio.running = false;
    this.audioOutput = 0; this.volumeStep[0] = 5; this.volumeStep[1] = 5;
  }

  /** Power cut: everything stops at once, no further events; `crash` is set so nothing is delivered. */
  powerOff(): void {
    this.teardown();
    this.crash = 'power off';
  }

  reboot(): void {
    if (this.opts.bootRom) { this.teardown(); this.crash = 'rebooting'; this.opts.bootRom.reset('request', 'reboot requested'); return; }
    for (const s of this.udp.values()) s.close();
    for (const c of this.tcp.values()) c.close();
    for (const l of this.listeners.values()) l.close();
    this.udp.clear(); this.tcp.clear(); this.listeners.clear();
    if (this.tickHandle) this.sched.cancel(this.tickHandle);
    if (this.audioHandle) this.sched.cancel(this.audioHandle);
    this.tickHandle = null; this.audioHandle = null; this.audio.running = false;
    this.crash = null;
    this.boot();
  }
}
