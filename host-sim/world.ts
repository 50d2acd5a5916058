/**
 * A simulated world: one scheduler, one seeded RNG, a network, a login server and firmware nodes.
 * Scenarios (scenario.ts) build on it; tests use it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scheduler } from './net/scheduler.js';
import { Rng } from './net/rng.js';
import { Network, type Middlebox } from './net/network.js';
import { ipToString, toIp } from './net/ip.js';
import type { LinkParams } from './net/types.js';
import { FirmwareNode, type FwEvent } from './firmware.js';
import { type LoginLoad, startLoginServer, type LoginHost } from './login-host.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Finds build/firmware.wasm from the source tree or from the dist/ bundle. */
export function firmwarePath(): string {
  for (const p of [path.resolve(here, '../build/firmware.wasm'), path.resolve(process.cwd(), 'build/firmware.wasm')]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('build/firmware.wasm not found: run `npm run build` first');
}

let cachedModule: WebAssembly.Module | null = null;
export function firmwareModule(): WebAssembly.Module {
  if (!cachedModule) cachedModule = new WebAssembly.Module(fs.readFileSync(firmwarePath()));
  return cachedModule;
}

/** Provisioning of one phone or supernode (written to its flash as `key=value` lines). */
export interface Provisioning {
  user?: string;
  password?: string;
  register?: boolean;
  port?: number;
  supernode?: 'auto' | 'never';
  codecs?: string[];
}

export const SN_PORT = 33033;
export const LOGIN_PORT = 33000;

export interface WorldOpts {
  seed: number;
  /** One-way core delay between sites, µs (default 20 ms: with 2.5 ms access links, a 50 ms RTT between sites). */
  coreDelayUs?: number;
  accessLink?: Partial<LinkParams>;
  verbose?: boolean;
  /**
   * scrypt cost N of the simulated login server's password store (default 16384, the production value). Virtual
   * time charges the production cost per hash either way (host-sim/login-host.ts), so a lower N changes no
   * figure, only the wall time of big runs (host-sim/scale.ts: 10,000 logins × 2 hashes).
   */
  loginScryptN?: number;
  /** The simulated login server's hashing workers and shedding bound (host-sim/login-host.ts LoginLoad). */
  loginLoad?: LoginLoad;
}

export class World {
  readonly sched = new Scheduler();
  readonly rng: Rng;
  readonly net: Network;
  readonly nodes = new Map<string, FirmwareNode>();
  readonly events: FwEvent[] = [];
  readonly logs: string[] = [];
  login!: LoginHost;
  loginIp = 0;
  readonly supernodes: { ip: number; port: number }[] = [];
  private listeners: ((e: FwEvent) => void)[] = [];

  constructor(readonly opts: WorldOpts) {
    this.rng = new Rng(opts.seed);
    this.net = new Network(this.sched, this.rng.split('network'), { coreDelayUs: opts.coreDelayUs ?? 20_000 });
  }

  get accessLink(): Partial<LinkParams> { return this.opts.accessLink ?? { delayUs: 2_500, jitterUs: 1_000, loss: 0 }; }

  /** Adds the login server on a public host. */
  addLoginServer(ip: string): LoginHost {
    const host = this.net.addHost('login', ip, { link: this.accessLink });
    this.loginIp = host.ip;
    this.login = startLoginServer(host, LOGIN_PORT, this.sched, this.rng.split('login'), ':memory:', this.opts.loginScryptN, this.opts.loginLoad);
    return this.login;
  }

  /** Declares a supernode address; `addNode` with supernode 'auto' on it makes it one. */
  bootstrapEntry(ip: string, port = SN_PORT): void { this.supernodes.push({ ip: toIp(ip), port }); }

  provisioningText(p: Provisioning): string {
    const lines = [
      p.user ? `user=${p.user}` : '',
      p.password !== undefined ? `password=${p.password}` : '',
      `register=${p.register ? 1 : 0}`,
      `port=${p.port ?? 0}`,
      `supernode=${p.supernode ?? 'never'}`,
      `bootstrap=${this.supernodes.map((s) => `${ipToString(s.ip)}:${s.port}`).join(',')}`,
      `server=${ipToString(this.loginIp)}:${LOGIN_PORT}`,
      `serverKey=${Buffer.from(this.login.publicKey).toString('hex')}`,
      `certKeys=${this.login.certKeys}`,
      p.codecs ? `codecs=${p.codecs.join(',')}` : '',
    ];
    return lines.filter((l) => l.length > 0).join('\n') + '\n';
  }

  /** Adds a host running the firmware with the given provisioning; boots it at `bootAtUs`. */
  addNode(name: string, ip: string, prov: Provisioning, opts: { behind?: Middlebox; bootAtUs?: number; link?: Partial<LinkParams> } = {}): FirmwareNode {
    const host = this.net.addHost(name, ip, { link: opts.link ?? this.accessLink, behind: opts.behind });
    const node = new FirmwareNode({
      name, host, sched: this.sched, module: firmwareModule(),
      seed: this.rng.split(`fw-seed:${name}`).u32(),
      entropy: this.rng.split(`entropy:${name}`),
      onEvent: (e) => { this.events.push(e); for (const l of this.listeners) l(e); },
      onLog: (n, level, text, t) => {
        const line = `${(t / 1000).toFixed(1).padStart(9)} ms ${n}: ${text}`;
        this.logs.push(line);
        if (this.opts.verbose || level === 0) process.stderr.write(line + '\n');
      },
    });
    node.flash.write(1, new TextEncoder().encode(this.provisioningText(prov)));
    this.nodes.set(name, node);
    this.sched.at(opts.bootAtUs ?? 0, () => node.boot());
    return node;
  }

  node(name: string): FirmwareNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  onEvent(fn: (e: FwEvent) => void): void { this.listeners.push(fn); }

  /** First event `name` from `node` (optionally matching kv), or undefined. */
  find(node: string, name: string, kv: Record<string, string> = {}): FwEvent | undefined {
    return this.events.find((e) => e.node === node && e.name === name && Object.entries(kv).every(([k, v]) => e.kv[k] === v));
  }

  /** Runs until `pred` holds or virtual time reaches `limitUs`. Returns whether pred held. */
  runUntil(pred: () => boolean, limitUs: number): boolean {
    return this.sched.runWhile(() => !pred(), limitUs);
  }

  /** Types `keys` on a node's keypad, `gapUs` apart, starting now. Returns when the last key is pressed (µs). */
  typeKeys(node: FirmwareNode, keys: number[], gapUs = 150_000): number {
    let t = this.sched.nowUs;
    for (const k of keys) { t += gapUs; this.sched.at(t, () => node.pressKey(k)); }
    return t;
  }

  close(): void { this.login?.close(); }
}

/**
 * The standard backbone of scenarios and tests: a login server at 198.51.100.10 and `snCount` supernodes at
 * 198.51.100.21, .22, … (port 33033), all public; phones are added by the caller.
 */
export function backboneWorld(seed: number, snCount = 3): World {
  const w = new World({ seed });
  w.addLoginServer('198.51.100.10');
  const sns = Array.from({ length: snCount }, (_, i) => `198.51.100.${21 + i}`);
  for (const ip of sns) w.bootstrapEntry(ip);
  sns.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: SN_PORT }));
  return w;
}
