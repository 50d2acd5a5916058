/**
 * A firmware instance for fuzzing: the real build/firmware.wasm behind the simulator's own HAL
 * (host-sim/firmware.ts FirmwareNode) but on a fake host instead of a simulated network. Datagrams and TCP
 * bytes are handed straight to the HAL's receive callbacks, sends are only observed, outgoing connections
 * wait until the fuzzer completes or refuses them. No World, no links, no login server: hundreds of
 * thousands of calls into the firmware per second.
 *
 * Observations (what the firmware sent, logged, wrote to flash) are turned into short "behaviour tokens"
 * the fuzzer uses as its coverage signal (wasm has no edge counters here).
 */
import { FirmwareNode, type BootRomBackend } from '../../host-sim/firmware.js';
import { Scheduler } from '../../host-sim/net/scheduler.js';
import { Flash, Lcd } from '../../host-sim/devices.js';
import type { SimHost, TcpConn, TcpHandlers, UdpRecv, UdpSocket, HostCounters } from '../../host-sim/net/types.js';
import { ChanPeer, frame, unframe } from './chan.js';

export function ip(s: string): number { return s.split('.').reduce((a, x) => (a * 256 + Number(x)) >>> 0, 0); }

/** An LCD that keeps no history (the simulator's keeps every screen, which would grow without bound here). */
class FuzzLcd extends Lcd {
  override write(row: number, col: number, bytes: Uint8Array, timeUs: number): number {
    const r = super.write(row, col, bytes, timeUs);
    this.history.length = 0;
    return r;
  }
}

export class FakeConn implements TcpConn {
  state: 'connecting' | 'open' | 'closed';
  handlers: TcpHandlers;
  /** The fuzzer's end of the connection's Noise channel, if it runs one. */
  chan: ChanPeer | null = null;
  constructor(private readonly host: FakeHost, readonly localPort: number, readonly remoteIp: number, readonly remotePort: number,
    handlers: TcpHandlers, state: 'connecting' | 'open', readonly label: string) {
    this.handlers = handlers; this.state = state;
  }
  setHandlers(h: TcpHandlers): void { this.handlers = h; }
  send(data: Uint8Array): boolean {
    if (this.state !== 'open') return false;
    if (this.chan) {
      const r = this.chan.fromFirmware(data);
      for (const m of r.messages) { this.host.observe(`t>${this.label}:${m.length ? m[0] : -1}`); this.host.sent?.('tcp', m); }
      if (!r.messages.length) this.host.observe(`t>${this.label}:${this.chan.failed ? 'hs-fail' : 'hs'}`);
      // Handshake replies: FirmwareNode defers them until the current call returns (no re-entrancy).
      for (const b of r.reply) this.handlers.onData?.(b);
      // A scripted peer (the phone target's supernode + login server) may answer opened messages.
      for (const m of r.messages) for (const a of this.host.respond?.(this, m) ?? []) this.handlers.onData?.(this.chan.seal(a));
      return true;
    }
    this.host.observe(`t>${this.label}:${data.length >= 3 ? data[2] : 'k'}`);
    return true;
  }
  close(): void { this.state = 'closed'; this.host.dropConn(this); }
}

export class FakeHost implements SimHost {
  readonly counters: HostCounters = { udpPayloadSent: 0, udpPayloadRecv: 0, tcpPayloadSent: 0, tcpPayloadRecv: 0, wireSent: 0, wireRecv: 0, packetsSent: 0, packetsRecv: 0 };
  readonly udp = new Map<number, UdpRecv>();
  readonly listeners = new Map<number, (c: FakeConn) => void>();
  /** Outgoing connections the firmware asked for, not yet completed or refused. */
  readonly connecting: FakeConn[] = [];
  /** Open connections (inbound accepted and outgoing completed), oldest first. */
  readonly open: FakeConn[] = [];
  private ephemeral = 50000;
  observe: (token: string) => void = () => {};
  /** Answers to messages the firmware sent on a channel (plaintext in, plaintext messages out). */
  respond?: (c: FakeConn, msg: Uint8Array) => Uint8Array[];
  /** Every message the firmware sent (UDP payloads; TCP messages opened from its channels). */
  sent?: (transport: 'udp' | 'tcp', msg: Uint8Array) => void;
  constructor(readonly name: string, readonly ip: number) {}

  udpBind(port: number, onRecv: UdpRecv): UdpSocket {
    if (port === 0) port = this.ephemeral++;
    if (this.udp.has(port)) throw new Error('EADDRINUSE');
    this.udp.set(port, onRecv);
    const host = this;
    return {
      localPort: port,
      send(_ip: number, dstPort: number, data: Uint8Array) { host.observe(`u>${dstPort === 0 ? 0 : 1}:${data.length ? data[0] : 'e'}`); host.sent?.('udp', data); return data.length <= 65507; },
      close() { host.udp.delete(port); },
    };
  }
  tcpListen(port: number, onAccept: (conn: TcpConn) => void): { close(): void } {
    if (this.listeners.has(port)) throw new Error('EADDRINUSE');
    this.listeners.set(port, onAccept as (c: FakeConn) => void);
    return { close: () => { this.listeners.delete(port); } };
  }
  tcpConnect(dstIp: number, dstPort: number, handlers: TcpHandlers): TcpConn {
    // Labels name the role, not the port (peers' ports come from fuzzed messages and would flood the coverage set).
    const label = dstPort === 33000 ? 'oLogin' : dstPort === 8080 ? 'oHttp' : 'oPeer';
    const c = new FakeConn(this, this.ephemeral++, dstIp, dstPort, handlers, 'connecting', label);
    this.connecting.push(c);
    this.observe(`connect:${label}`);
    return c;
  }
  dropConn(c: FakeConn): void {
    let i = this.open.indexOf(c); if (i >= 0) this.open.splice(i, 1);
    i = this.connecting.indexOf(c); if (i >= 0) this.connecting.splice(i, 1);
  }
}

/** A boot ROM that accepts everything (so the update client runs) and keeps nothing. */
export function fakeBootRom(vendorKey: Uint8Array, version = 5): BootRomBackend {
  const info = new Uint8Array(64);
  const dv = new DataView(info.buffer);
  dv.setUint32(0, version, true); info[4] = 0; info[5] = 0; info[6] = 0; dv.setUint32(12, 1, true);
  info.set(new TextEncoder().encode('fuzz-build'), 16);
  info.set(vendorKey.subarray(0, 32), 32);
  return {
    confirmBoot: () => 0, bootInfo: () => info, updateBegin: (size) => (size > 0 && size < 1 << 24 ? 0 : -9),
    updateWrite: (_o, d) => d.length, updateFinish: () => -8, reset: () => {},
  };
}

export interface RigOpts {
  name: string;
  module: WebAssembly.Module;
  ip: string;
  /** Flash records at boot (key → bytes). */
  flash: Map<number, Uint8Array>;
  seed: number;
  bootRom?: BootRomBackend;
}

/**
 * One booted firmware on a FakeHost. `crash` is the trap message after a trap (the instance is then dead:
 * make a new Rig). Virtual time only moves when the fuzzer calls `advance`.
 */
export class Rig {
  readonly host: FakeHost;
  readonly sched = new Scheduler();
  readonly node: FirmwareNode;
  readonly flash = new Flash();
  /** Tokens observed since the last `takeTokens`. */
  tokens: string[] = [];
  panic = '';
  /** Innermost wasm frames of the last trap. */
  trapStack = '';
  constructor(o: RigOpts) {
    this.host = new FakeHost(o.name, ip(o.ip));
    this.host.observe = (t) => { if (this.tokens.length < 64) this.tokens.push(t); };
    for (const [k, v] of o.flash) this.flash.write(k, v);
    let e = o.seed >>> 0 || 1;
    const entropy = { u32: () => { e ^= e << 13; e >>>= 0; e ^= e >>> 17; e ^= e << 5; e >>>= 0; return e; } };
    this.node = new FirmwareNode({
      name: o.name, module: o.module, host: this.host, sched: this.sched, seed: o.seed, entropy,
      flash: this.flash, lcd: new FuzzLcd(), bootRom: o.bootRom ? { ...o.bootRom, reset: () => {} } : undefined,
      onEvent: (ev) => { if (this.tokens.length < 64) this.tokens.push(`e:${ev.name}`); },
      onLog: (_n, level, text) => {
        if (text.startsWith('panic:')) this.panic = text;
        if (level <= 2 && this.tokens.length < 64) this.tokens.push(`l${level}:${text.replace(/[0-9a-f]{6,}|\d+(\.\d+)*/g, '#').slice(0, 40)}`);
      },
    });
    // Speaker samples are not parsed input: drop them instead of copying every sample into JS arrays.
    const nodeAny = this.node as unknown as { imports(): WebAssembly.Imports };
    const imports = nodeAny.imports.bind(this.node);
    nodeAny.imports = () => {
      const im = imports();
      (im.audio as Record<string, unknown>).play = (_ptr: number, samples: number) => samples;
      return im;
    };
    // Keep the wasm stack of a trap (FirmwareNode records only its message): with FUZZ_WASM=build/firmware.debug.wasm
    // the frames carry function names.
    const enterAny = this.node as unknown as { enter(fn: () => bigint): void };
    const enter = enterAny.enter.bind(this.node);
    enterAny.enter = (fn) => enter(() => {
      try { return fn(); } catch (e) {
        this.trapStack = ((e as Error).stack ?? '').split('\n').filter((l) => l.includes('wasm')).slice(0, 4).map((l) => l.trim().replace(/^at /, '')).join(' < ');
        throw e;
      }
    });
    // Console output is behaviour too (the console target's coverage): its first words, numbers stripped.
    // (Only the first word of complete lines: echoed keystrokes are not behaviour.)
    this.node.uart.onOutput = (b) => {
      if (this.tokens.length >= 64 || b.length < 4) return;
      const lines = Buffer.from(b).toString('latin1').split('\r\n').slice(0, -1);
      for (const l of lines.slice(0, 2)) { const m = /^[a-zA-Z:|.]{2,14}/.exec(l); if (m) this.tokens.push(`o:${m[0]}`); }
    };
    this.node.boot();
    this.node.events.length = 0;
  }

  get crash(): string | null { return this.node.crash; }
  get nowUs(): number { return this.sched.nowUs; }

  /** Runs timers up to nowUs + dtUs. */
  advance(dtUs: number): void {
    // While audio runs the firmware is called every 10 ms of virtual time: long waits cost real time, so
    // they are capped at 1 s then (timeouts of a call in progress are still reached over several steps).
    if (this.node.audio.running && dtUs > 1_000_000) dtUs = 1_000_000;
    this.sched.runUntil(this.sched.nowUs + dtUs);
    this.trim();
  }

  udpPorts(): number[] { return [...this.host.udp.keys()]; }

  udp(port: number, srcIp: number, srcPort: number, data: Uint8Array): void {
    const f = this.host.udp.get(port);
    if (f) f(srcIp, srcPort, data);
  }

  private chans = 0;
  /** Runs what the HAL deferred to "right after the current call" (handshake replies). */
  flush(): void { this.sched.runUntil(this.sched.nowUs); }

  /**
   * Accepts an inbound connection on a listening port; null if nothing listens there. With `secure` the
   * fuzzer runs a Noise channel on it (initiator: message 1 now, message 3 when message 2 arrives).
   */
  accept(port: number, srcIp: number, srcPort: number, secure = false, corruptAt = -1): FakeConn | null {
    const l = this.host.listeners.get(port);
    if (!l) return null;
    const c = new FakeConn(this.host, port, srcIp, srcPort, {}, 'open', `i${port}`);
    this.host.open.push(c);
    l(c);
    if (secure && !this.crash && c.state === 'open') {
      c.chan = new ChanPeer(true, ++this.chans, corruptAt);
      c.handlers.onData?.(c.chan.start());
      this.flush();
    }
    return c;
  }

  /** Sends messages on c: sealed if its channel is up, else framed in clear. */
  sendMessages(c: FakeConn, msgs: Uint8Array[]): void {
    const parts = msgs.map((m) => (c.chan ? c.chan.seal(m) : frame(m)));
    const n = parts.reduce((a, p) => a + p.length, 0);
    const all = new Uint8Array(n);
    let o = 0; for (const p of parts) { all.set(p, o); o += p.length; }
    this.tcpData(c, all);
    this.flush();
  }

  static unframe = unframe;

  /**
   * Completes (or refuses) the oldest pending outgoing connection. The firmware opens a Noise channel on every
   * overlay connection (not to the login server, port 33000, nor the update service, HTTP): the fuzzer answers it.
   */
  completeConnect(ok: boolean, corruptAt = -1): FakeConn | null {
    const c = this.host.connecting.shift();
    if (!c) return null;
    if (ok) {
      c.state = 'open'; this.host.open.push(c);
      if (c.remotePort !== 33000 && c.remotePort !== 8080) c.chan = new ChanPeer(false, ++this.chans, corruptAt);
      c.handlers.onConnect?.();
      this.flush();
      return c;
    }
    c.state = 'closed';
    c.handlers.onClose?.('refused');
    return null;
  }

  tcpData(c: FakeConn, data: Uint8Array): void {
    if (c.state === 'open' && data.length) c.handlers.onData?.(data);
  }

  peerClose(c: FakeConn): void {
    if (c.state !== 'open') return;
    c.state = 'closed';
    this.host.dropConn(c);
    c.handlers.onClose?.('closed');
  }

  uart(data: Uint8Array): void { this.node.uartInput(data); }

  key(code: number, down: boolean): void { (this.node as unknown as { deliver(f: () => void): void }).deliver(() => (this.node as any).enter(() => (this.node as any).ex.onKey(code, down ? 1 : 0, BigInt(Math.floor(this.sched.nowUs))))); }

  /** Drops what accumulates in the simulator's device models (UART output, events). */
  private trim(): void {
    if (this.node.uart.out.length > 65536) this.node.uart.out.length = 0;
    if (this.node.events.length > 1024) this.node.events.length = 0;
    if (this.node.loudspeaker.length > 1 << 16) this.node.loudspeaker.length = 0;
    if (this.node.audio.speaker.length > 1 << 16) this.node.audio.speaker.length = 0;
  }

  takeTokens(): string[] { const t = this.tokens; this.tokens = []; return t; }
}
