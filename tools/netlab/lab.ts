/**
 * A Linux NAT lab made of network namespaces (needs root): one namespace per host, one router namespace per
 * site, and a core namespace that routes between sites ("the Internet").
 *
 *   host ──veth── router ══uplink (12.5 ms each way)══ core ══ … other sites
 *
 * Site routers: `public` forwards; `nat` is iptables MASQUERADE (Linux conntrack: endpoint-independent mapping
 * with port preservation, address-and-port-dependent filtering — a port-restricted cone NAT, RFC 4787);
 * `symmetric-nat` is MASQUERADE --random-fully (a new random external port per 5-tuple: address-and-port-
 * dependent mapping); `nat-fw` adds a firewall dropping all forwarded UDP. Uplink delay is `tc netem` where the
 * kernel has sch_netem, otherwise a TUN delay line (delayline.py) — this machine's kernel has no netem.
 *
 * Only addresses inside namespaces this lab creates are used; nothing is routed to the machine's own
 * namespace. `destroy()` kills the lab's processes by pid and deletes every namespace it made (all links,
 * routes and iptables rules go with them); it is idempotent and run from exit/signal handlers, and
 * tests/netlab/netlab.sh deletes the prefix's namespaces again from a shell trap.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proc } from '../../host-sim/real/procs.js';
import { UPLINK_DELAY_MS, type SiteKind } from './topology.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORE_ADDR_BASE = '169.254.250.'; // point-to-point next hops (link-local: never leave a link)

export interface SiteOpts {
  /** Short name, [a-z0-9] (namespace names are `<prefix>-<name>` and `<prefix>-<name>-r`). */
  name: string;
  kind: SiteKind;
  /** The host's address: public for `public`, private (a /24 with .1 as router) for NAT kinds. */
  hostIp: string;
  /** NAT kinds: the router's public address. */
  publicIp?: string;
}

export interface Site extends SiteOpts {
  hostNs: string;
  routerNs: string;
  index: number;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr || err.message).trim().split('\n')[0]}`);
  }
}

/** True when the kernel offers the netem qdisc (tested in a scratch namespace). */
function hasNetem(ns: string): boolean {
  try { sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']); } catch { return false; }
  sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}

export class Lab {
  readonly core: string;
  readonly sites: Site[] = [];
  readonly namespaces: string[] = [];
  readonly procs: Proc[] = [];
  /** 'netem' or 'tun-delayline'. */
  delayMethod = '';
  private delayline: Proc | null = null;
  private destroyed = false;

  /** `prefix`: namespace name prefix unique to this run (e.g. `p2pl-<pid>`). */
  constructor(readonly prefix: string, readonly logDir: string) {
    this.core = `${prefix}-core`;
  }

  /** Runs `cmd args` inside namespace `ns`. */
  exec(ns: string, cmd: string, ...args: string[]): string { return sh('ip', ['netns', 'exec', ns, cmd, ...args]); }

  private addNs(name: string): void {
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.exec(name, 'ip', 'link', 'set', 'lo', 'up');
    // IPv4 only (the HAL is IPv4): no IPv6 chatter in the interface counters.
    this.exec(name, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6');
  }

  /** Creates the core and every site (routers, hosts, uplinks with delay, NAT/firewall rules). */
  build(sites: SiteOpts[]): void {
    this.addNs(this.core);
    this.exec(this.core, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
    this.delayMethod = hasNetem(this.core) ? 'netem' : 'tun-delayline';
    sites.forEach((s, i) => {
      const site: Site = { ...s, index: i + 1, hostNs: `${this.prefix}-${s.name}`, routerNs: `${this.prefix}-${s.name}-r` };
      this.addNs(site.routerNs);
      this.addNs(site.hostNs);
      this.exec(site.routerNs, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
      this.sites.push(site);
    });
    this.uplinks();
    for (const s of this.sites) this.lan(s);
  }

  /** Router ↔ core links with UPLINK_DELAY_MS each way. */
  private uplinks(): void {
    if (this.delayMethod === 'tun-delayline') {
      for (const s of this.sites) {
        this.exec(this.core, 'ip', 'tuntap', 'add', 'dev', `u${s.index}`, 'mode', 'tun');
        this.exec(this.core, 'ip', 'tuntap', 'add', 'dev', `c${s.index}`, 'mode', 'tun');
      }
      this.delayline = new Proc({
        name: 'delayline', cmd: 'ip', logFile: path.join(this.logDir, 'delayline.log'),
        args: ['netns', 'exec', this.core, 'python3', path.join(here, 'delayline.py'), String(UPLINK_DELAY_MS), ...this.sites.map((s) => `u${s.index}:c${s.index}`)],
      });
      this.procs.push(this.delayline);
    }
    for (const s of this.sites) {
      const up = `u${s.index}`, cd = `c${s.index}`;
      if (this.delayMethod === 'netem') {
        this.exec(this.core, 'ip', 'link', 'add', cd, 'type', 'veth', 'peer', 'name', up, 'netns', s.routerNs);
        this.exec(this.core, 'tc', 'qdisc', 'add', 'dev', cd, 'root', 'netem', 'delay', `${UPLINK_DELAY_MS}ms`);
        this.exec(s.routerNs, 'tc', 'qdisc', 'add', 'dev', up, 'root', 'netem', 'delay', `${UPLINK_DELAY_MS}ms`);
      }
    }
  }

  /** Waits for the delay line (if any), then moves uplinks into routers and configures addresses and rules. */
  async finish(): Promise<void> {
    if (this.delayline) await this.delayline.waitLine(/^ready$/, 10_000);
    for (const s of this.sites) {
      const up = `u${s.index}`, cd = `c${s.index}`;
      if (this.delayMethod === 'tun-delayline') this.exec(this.core, 'ip', 'link', 'set', up, 'netns', s.routerNs);
      const coreHop = `${CORE_ADDR_BASE}${s.index}`;
      const routerHop = '169.254.251.1';
      this.exec(this.core, 'ip', 'link', 'set', cd, 'up');
      this.exec(this.core, 'ip', 'addr', 'add', `${coreHop}/32`, 'scope', 'link', 'dev', cd);
      this.exec(s.routerNs, 'ip', 'link', 'set', up, 'up');
      // Link scope: MASQUERADE must pick the public address, never the hop address.
      this.exec(s.routerNs, 'ip', 'addr', 'add', `${routerHop}/32`, 'scope', 'link', 'dev', up);
      this.exec(s.routerNs, 'ip', 'route', 'add', 'default', 'via', coreHop, 'dev', up, 'onlink');
      const reachable = s.kind === 'public' ? s.hostIp : s.publicIp!;
      this.exec(this.core, 'ip', 'route', 'add', `${reachable}/32`, 'via', routerHop, 'dev', cd, 'onlink');
      if (s.kind !== 'public') this.exec(s.routerNs, 'ip', 'addr', 'add', `${s.publicIp}/32`, 'dev', up);
      this.rules(s, up);
    }
  }

  /** Host ↔ router veth and the host's address and default route. */
  private lan(s: Site): void {
    this.exec(s.routerNs, 'ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.hostNs);
    this.exec(s.routerNs, 'ip', 'link', 'set', 'lan0', 'up');
    this.exec(s.hostNs, 'ip', 'link', 'set', 'eth0', 'up');
    if (s.kind === 'public') {
      const gw = '169.254.252.1';
      this.exec(s.routerNs, 'ip', 'addr', 'add', `${gw}/32`, 'scope', 'link', 'dev', 'lan0');
      this.exec(s.routerNs, 'ip', 'route', 'add', `${s.hostIp}/32`, 'dev', 'lan0');
      this.exec(s.hostNs, 'ip', 'addr', 'add', `${s.hostIp}/32`, 'dev', 'eth0');
      this.exec(s.hostNs, 'ip', 'route', 'add', 'default', 'via', gw, 'dev', 'eth0', 'onlink');
    } else {
      const gw = s.hostIp.replace(/\.\d+$/, '.1');
      this.exec(s.routerNs, 'ip', 'addr', 'add', `${gw}/24`, 'dev', 'lan0');
      this.exec(s.hostNs, 'ip', 'addr', 'add', `${s.hostIp}/24`, 'dev', 'eth0');
      this.exec(s.hostNs, 'ip', 'route', 'add', 'default', 'via', gw);
    }
  }

  /** iptables in the site router: NAT and firewall. */
  private rules(s: Site, up: string): void {
    const ipt = (...a: string[]) => this.exec(s.routerNs, 'iptables', '-w', ...a);
    if (s.kind === 'nat' || s.kind === 'nat-fw') ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', up, '-j', 'MASQUERADE');
    if (s.kind === 'symmetric-nat') ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', up, '-j', 'MASQUERADE', '--random-fully');
    if (s.kind !== 'public') {
      // Stateful: only replies and related traffic come in (a NAT drops unsolicited inbound anyway).
      ipt('-A', 'FORWARD', '-i', up, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP');
    }
    if (s.kind === 'nat-fw') {
      ipt('-I', 'FORWARD', '1', '-p', 'udp', '-j', 'DROP');
    }
  }

  /** Starts a process inside namespace `ns` (logs to logDir/name.log). */
  spawn(ns: string, name: string, cmd: string, args: string[], cwd: string, onLine?: (l: string) => void): Proc {
    const p = new Proc({ name, cmd: 'ip', args: ['netns', 'exec', ns, cmd, ...args], cwd, logFile: path.join(this.logDir, `${name}.log`), onLine });
    this.procs.push(p);
    return p;
  }

  site(name: string): Site {
    const s = this.sites.find((x) => x.name === name);
    if (!s) throw new Error(`no site ${name}`);
    return s;
  }

  /** Stops every process (by pid) and deletes every namespace this lab created. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.procs.map((p) => p.stop(3000)));
    this.destroySync();
  }

  /** The synchronous part of destroy, for `process.on('exit')`: SIGKILL what still runs, delete namespaces. */
  destroySync(): void {
    for (const p of this.procs) if (p.running) try { p.child.kill('SIGKILL'); } catch { /* gone */ }
    for (const ns of [...this.namespaces].reverse()) {
      try {
        const pids = sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean);
        for (const pid of pids) try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      } catch { /* namespace already gone */ }
      try { sh('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
    }
    this.namespaces.length = 0;
  }
}

/** Namespaces left by an earlier run whose process is gone (`<base>-<pid>-…` with a dead pid). */
export function staleNamespaces(base: string): string[] {
  let list: string[];
  try { list = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean); } catch { return []; }
  return list.filter((n) => {
    const m = new RegExp(`^${base}-(\\d+)-`).exec(n);
    if (!m) return false;
    try { process.kill(Number(m[1]), 0); return false; } catch { return true; }
  });
}

/** Deletes namespaces by name (stale ones from a crashed run). */
export function deleteNamespaces(names: string[]): void {
  for (const n of names) {
    try { for (const pid of sh('ip', ['netns', 'pids', n]).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    try { sh('ip', ['netns', 'del', n]); } catch { /* gone */ }
  }
}
