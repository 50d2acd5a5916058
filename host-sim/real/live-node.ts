/**
 * One live node: build/firmware.wasm in an unchanged FirmwareNode, on real sockets (RealHost), the real-time
 * scheduler, flash in a file, node:crypto entropy. Shared by `npm run phone` and `npm run supernode`.
 *
 * Start-up order: validate config → bind the node's UDP+TCP port (clear error if taken) → write provisioning
 * to flash key 1 → boot. Shutdown (`stop`): hang up a call in progress (BYE goes out), give it 300 ms, close
 * every socket (the supernode sees the TCP connection drop and takes the user offline: the v0 logout), flush
 * flash, close the event log.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FirmwareNode, type FwEvent } from '../firmware.js';
import { Flash, Lcd } from '../devices.js';
import { firmwareModule } from '../world.js';
import { RealHost } from './host.js';
import { RealScheduler } from './scheduler.js';
import { FileFlash } from './flash-file.js';
import { viewFor } from './address-view.js';
import { provisioningText, type NodeConfig } from './config.js';
import { readIfaceCounters, type IfaceCounters } from './iface-stats.js';

/** A firmware event as a live node records it (one JSON line in the events file). */
export interface LiveEvent {
  /** Monotonic ms since the node's scheduler started (boot is at ≈ 0). */
  tMs: number;
  node: string;
  name: string;
  kv: Record<string, string>;
  /** RealHost counters: the simulator's byte accounting applied to real traffic. */
  counters: FwEvent['counters'];
  /** Kernel interface counters at that moment (with `ifaceStats`). */
  iface?: IfaceCounters;
}

export interface LiveNodeOpts {
  config: NodeConfig;
  module?: WebAssembly.Module;
  /** Append events as JSON lines to this file. */
  eventsFile?: string;
  /** Attach /sys/class/net counters to every event (for the NAT lab). */
  ifaceStats?: boolean;
  /** Firmware log lines at levels 0..4 (level 0 always reaches `log`). */
  verbose?: boolean;
  /** Human-readable lines (stderr in the tools). */
  log: (line: string) => void;
  onEvent?: (e: LiveEvent, node: LiveNode) => void;
  /** A background socket failure or a firmware crash: the node cannot go on. */
  onFatal: (msg: string) => void;
  lcd?: Lcd;
}

export class LiveNode {
  readonly events: LiveEvent[] = [];
  private eventsFd: number | null = null;
  private stopping: Promise<void> | null = null;
  private booted = false;

  private constructor(
    readonly config: NodeConfig,
    readonly host: RealHost,
    readonly sched: RealScheduler,
    readonly flash: Flash,
    readonly fw: FirmwareNode,
    readonly port: number,
  ) {}

  /** Binds, provisions and boots. Rejects with a one-line Error (port in use, unreadable flash file, …). */
  static async start(o: LiveNodeOpts): Promise<LiveNode> {
    const n = await LiveNode.prepare(o);
    n.boot();
    return n;
  }

  /**
   * Binds the node's port and provisions its flash, without booting: a supernode can then wait for its
   * peers to listen before its firmware dials them (`boot`). Connections that arrive meanwhile are kept for
   * the firmware's listener.
   */
  static async prepare(o: LiveNodeOpts): Promise<LiveNode> {
    const c = o.config;
    const view = viewFor(c.bind);
    const host = new RealHost({ name: c.name, bindIp: c.bind, view, onWarn: (m) => { if (o.verbose || m.startsWith('background')) o.log(`${c.name}: ${m}`); } });
    const port = await host.prepare(c.port, { alternateUdp: c.role === 'supernode' });
    const flash = c.flash ? new FileFlash(c.flash) : new Flash();
    flash.write(1, new TextEncoder().encode(provisioningText(c, port, view)));
    // The firmware's clock starts at the wall-clock time: certificates carry the login server's (Unix) time,
    // and a supernode, which never logs in, has no other way to learn it (docs/security.md §Certificates).
    const sched = new RealScheduler({ epochUs: Date.now() * 1000, onError: (e) => o.onFatal(`internal error: ${(e as Error).stack ?? e}`) });
    let node: LiveNode | null = null;
    const fw = new FirmwareNode({
      name: c.name, host, sched, module: o.module ?? firmwareModule(), flash, lcd: o.lcd,
      seed: c.seed ?? crypto.randomInt(0, 0xffffffff),
      entropy: { u32: () => crypto.randomBytes(4).readUInt32LE(0) },
      onEvent: (e) => node?.record(e, o),
      onLog: (n, level, text) => {
        if (level === 0 || o.verbose) o.log(`${n}: ${level === 0 ? 'error: ' : ''}${text}`);
        if (text.startsWith('CRASH ')) o.onFatal(`firmware crashed: ${text.slice(6)}`);
      },
    });
    node = new LiveNode(c, host, sched, flash, fw, port);
    if (o.eventsFile) {
      fs.mkdirSync(path.dirname(path.resolve(o.eventsFile)), { recursive: true });
      node.eventsFd = fs.openSync(o.eventsFile, 'w');
    }
    return node;
  }

  /** Boots the firmware (once). */
  boot(): void {
    if (this.booted) return;
    this.booted = true;
    this.fw.boot();
  }

  private record(e: FwEvent, o: LiveNodeOpts): void {
    const le: LiveEvent = { tMs: Math.round(e.timeUs / 100) / 10, node: e.node, name: e.name, kv: e.kv, counters: e.counters };
    if (o.ifaceStats) le.iface = readIfaceCounters() ?? undefined;
    this.events.push(le);
    if (this.eventsFd !== null) fs.writeSync(this.eventsFd, JSON.stringify(le) + '\n');
    o.onEvent?.(le, this);
  }

  /** First event `name` (optionally matching kv). */
  find(name: string, kv: Record<string, string> = {}): LiveEvent | undefined {
    return this.events.find((e) => e.name === name && Object.entries(kv).every(([k, v]) => e.kv[k] === v));
  }

  /** Last event `name`. */
  last(name: string): LiveEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].name === name) return this.events[i];
    return undefined;
  }

  /** True between a call's start (dial or incoming) and its end. */
  inCall(): boolean {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const n = this.events[i].name;
      if (n === 'call.ended') return false;
      if (n === 'call.dial' || n === 'call.incoming') return true;
    }
    return false;
  }

  /** Graceful shutdown (idempotent): hang up, close sockets, flush flash, close the event log. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.inCall() && !this.fw.crash) {
        this.fw.hook(false);
        await new Promise((r) => setTimeout(r, 300));
      }
      this.sched.stop();
      this.host.closeAll();
      if (this.flash instanceof FileFlash) this.flash.flush();
      if (this.eventsFd !== null) { fs.closeSync(this.eventsFd); this.eventsFd = null; }
    })();
    return this.stopping;
  }
}
