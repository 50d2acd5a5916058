/**
 * Deterministic simulated IPv4 network: hosts, NATs (RFC 4787 / RFC 5382 behaviours), stateful
 * firewalls, UDP and a simplified reliable TCP, all driven by a `Scheduler` and a seeded `Rng`.
 *
 * Topology model
 * --------------
 * Address spaces are "realms". The public Internet is the root realm. Every middlebox (NAT or
 * firewall) sits in an outer realm (root unless created `behind` another middlebox, e.g. a home NAT
 * behind a carrier-grade NAT) and owns an inner realm holding the hosts behind it.
 *   - A NAT has one address (its public IP) in the outer realm; inner hosts have their own
 *     (usually private) addresses that are only meaningful inside.
 *   - A firewall does not translate: the addresses of the hosts behind it are also routable in the
 *     outer realm, where they lead to the firewall.
 *
 * A packet from host A to address D first crosses A's access link, then is routed in A's realm: if
 * D is in that realm it goes straight down to D's entity (LAN: no core delay, no translation);
 * otherwise it goes up through the realm's middlebox (translation / filtering, then the middlebox's
 * uplink) into the outer realm, and so on. In the root realm the core delay is added when source
 * and destination belong to different sites (a site = one public host, or everything behind one
 * top-level middlebox). Going down into a middlebox applies its uplink, then its inbound processing
 * (NAT mapping lookup + filtering, or firewall rules), then the next hop, finally the receiver's
 * access link. Middlebox processing happens in a scheduler event at the exact virtual time the
 * packet reaches the middlebox, so mapping creation / expiry / filtering races are timed right.
 *
 * NAT details: mappings are per protocol (separate UDP / TCP port spaces). A UDP mapping is created
 * or refreshed by outbound packets only (RFC 4787 REQ-6). A TCP mapping is created only by an
 * outbound SYN (other outbound segments without a live mapping are dropped: the connection is dead),
 * and is refreshed by segments in both directions because ACKs are not modelled as packets. Filtering
 * permissions (addresses / endpoints contacted) live as long as their mapping. An inbound SYN passes
 * only as a simultaneous open: the mapping must have sent a SYN to exactly that remote endpoint (and
 * the filter must allow it), or the mapping is a port forward (`Nat.addPortForward`). 'preserving'
 * port assignment falls back to sequential (from 1024, wrapping) when the internal port is taken.
 * Expired mappings are removed lazily (on lookup or when their port is reused).
 *
 * Firewall details: UDP passes both ways unless `blockUdp`. TCP flows opened from inside (by an
 * outbound SYN, subject to `tcpPortsAllowed`) pass in both directions and are never expired; every
 * inbound SYN is dropped, even one matching such a flow.
 *
 * Randomness: every access link / uplink has its own stream `rng.split('link:' + name)`; TCP
 * initial sequence numbers use `'tcp:' + name`, ephemeral ports `'port:' + name`, NAT random port
 * assignment `'nat:' + name`. Names are unique, so one seed reproduces a run bit for bit and adding
 * a host does not perturb the others.
 *
 * TCP model (simplified, omniscient): SYN / SYN-ACK / RST / data / FIN segments travel the network
 * like any packet. ACKs are not sent as packets: a segment that reaches the peer host counts as
 * acknowledged; a segment dropped anywhere is retransmitted RTO after it was sent, where
 * RTO = max(200 ms, 2 × base RTT) and base RTT = 2 × the one-way base delay measured on the
 * handshake. A segment lost `tcpMaxLosses` (default 5) times in a row kills the connection on the
 * sending side with onClose('timeout'). There is no flow or congestion control: `send()` puts all
 * segments on the wire at once; the receiver reassembles and delivers strictly in order. The server
 * side's `onAccept` runs one one-way base delay after the SYN-ACK reached the client (the time the
 * client's handshake ACK would take).
 */

import { Scheduler, type Handle } from './scheduler.js';
import { Rng } from './rng.js';
import { ipToString, toIp } from './ip.js';
import type {
  CapturedPacket,
  FirewallParams,
  HostCounters,
  LinkParams,
  NatParams,
  NetStats,
  SimHost,
  TcpConn,
  TcpConnectOpts,
  TcpHandlers,
  UdpRecv,
  UdpSocket,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Public constants and presets
// ---------------------------------------------------------------------------------------------

/** Default access link of a host: 5 ms one way, no jitter, no loss. */
export const DEFAULT_HOST_LINK: Readonly<LinkParams> = Object.freeze({ delayUs: 5_000, jitterUs: 0, loss: 0 });
/** Default uplink of a NAT / firewall: transparent (0 delay, no jitter, no loss). */
export const DEFAULT_UPLINK: Readonly<LinkParams> = Object.freeze({ delayUs: 0, jitterUs: 0, loss: 0 });
/** Default one-way core delay between two different sites. */
export const DEFAULT_CORE_DELAY_US = 10_000;

export const UDP_HEADER_BYTES = 28;
export const TCP_HEADER_BYTES = 40;
export const TCP_MSS = 1460;
export const UDP_MAX_PAYLOAD = 65507;
/** Minimum TCP retransmission timeout, µs. */
export const TCP_MIN_RTO_US = 200_000;
/** SYN retransmissions after 1 s and 2 s more; connect fails 7 s after the first SYN. */
export const TCP_SYN_RETRY_US: readonly number[] = [1_000_000, 3_000_000];
export const TCP_CONNECT_TIMEOUT_US = 7_000_000;

const UDP_TIMEOUT_DEFAULT_US = 120_000_000;
const TCP_TIMEOUT_DEFAULT_US = 7_440_000_000;

function natPreset(
  mapping: NatParams['mapping'],
  filtering: NatParams['filtering'],
  portAssignment: NatParams['portAssignment'],
): Readonly<NatParams> {
  return Object.freeze({
    mapping,
    filtering,
    portAssignment,
    udpTimeoutUs: UDP_TIMEOUT_DEFAULT_US,
    tcpTimeoutUs: TCP_TIMEOUT_DEFAULT_US,
    hairpinning: false,
  });
}

/**
 * Classic NAT "types" expressed as RFC 4787 behaviours. `preserving` port assignment keeps the
 * internal port when it is free and otherwise falls back to sequential allocation.
 */
export const natPresets = Object.freeze({
  'full-cone': natPreset('endpoint-independent', 'endpoint-independent', 'preserving'),
  'restricted-cone': natPreset('endpoint-independent', 'address-dependent', 'preserving'),
  'port-restricted-cone': natPreset('endpoint-independent', 'address-and-port-dependent', 'preserving'),
  symmetric: natPreset('address-and-port-dependent', 'address-and-port-dependent', 'random'),
});
export type NatPresetName = keyof typeof natPresets;

export const firewallPresets = Object.freeze({
  'udp-blocked': Object.freeze({ blockUdp: true }) as Readonly<FirewallParams>,
  'tcp-80-443': Object.freeze({ blockUdp: true, tcpPortsAllowed: Object.freeze([80, 443]) as number[] }) as Readonly<FirewallParams>,
});
export type FirewallPresetName = keyof typeof firewallPresets;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** What a fault predicate (`Network.addFault`) sees of a packet as its sender emits it. */
export interface FaultView {
  proto: 'udp' | 'tcp';
  /** Name of the sending host. */
  from: string;
  srcIp: number; srcPort: number; dstIp: number; dstPort: number;
}

export interface NetworkOpts {
  /** One-way core delay between different sites, µs (default 10 000). */
  coreDelayUs?: number;
  /** A TCP segment lost this many times in a row kills the connection (default 5). */
  tcpMaxLosses?: number;
}

export interface HostOpts {
  /** Access link (defaults: DEFAULT_HOST_LINK). */
  link?: Partial<LinkParams>;
  /** The NAT or firewall this host sits behind; absent = public host. */
  behind?: Middlebox;
}

export interface MiddleboxOpts {
  /** Shared uplink between the middlebox and its outer realm (defaults: DEFAULT_UPLINK). */
  link?: Partial<LinkParams>;
  /** Outer middlebox (e.g. a carrier-grade NAT); absent = attached to the public Internet. */
  behind?: Middlebox;
}

/** A snapshot of one live NAT mapping (for tests and debugging). */
export interface NatMappingInfo {
  proto: 'udp' | 'tcp';
  internalIp: number;
  internalPort: number;
  externalPort: number;
  /** Remote address the mapping is bound to (address-dependent / APD mapping), else undefined. */
  remoteIp?: number;
  /** Remote port the mapping is bound to (APD mapping), else undefined. */
  remotePort?: number;
  /** Port forward (never expires, no filtering). */
  static: boolean;
  lastActivityUs: number;
  /** When it will expire if not refreshed (Infinity for static). */
  expiresUs: number;
}

// ---------------------------------------------------------------------------------------------
// Internals: constants
// ---------------------------------------------------------------------------------------------

const UDP = 0;
const TCP = 1;
type Proto = typeof UDP | typeof TCP;

const F_SYN = 1;
const F_ACK = 2;
const F_FIN = 4;
const F_RST = 8;

// packet stages (which event handler runs next)
const ST_OUT = 1; // arrives at a middlebox from its inner realm
const ST_IN = 2; // arrives at a middlebox from its outer realm
const ST_DELIVER = 3; // arrives at the destination host

// drop reasons (0 = pass)
const OK = 0;
const R_NO_ROUTE = 1;
const R_NAT_NO_MAPPING = 2;
const R_NAT_FILTERED = 3;
const R_FIREWALL = 4;
const R_LOSS = 5;
const R_HAIRPIN = 6;
const R_FAULT = 8;
/** Firewall rejects an outbound SYN and answers with a RST. Counted as `firewall`. */
const R_FIREWALL_REJECT = 7;

const K_HOST = 0;
const K_NAT = 1;
const K_FIREWALL = 2;

const PORT_LO = 1024;
const PORT_SPAN = 65536 - PORT_LO;
const EPHEMERAL_LO = 49152;
const EPHEMERAL_SPAN = 65536 - EPHEMERAL_LO;

function endpointKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

function mergeLink(base: Readonly<LinkParams>, p: Partial<LinkParams> | undefined): LinkParams {
  const l: LinkParams = { delayUs: base.delayUs, jitterUs: base.jitterUs, loss: base.loss };
  if (base.model !== undefined) l.model = base.model;
  if (p) {
    if (p.delayUs !== undefined) l.delayUs = p.delayUs;
    if (p.jitterUs !== undefined) l.jitterUs = p.jitterUs;
    if (p.loss !== undefined) l.loss = p.loss;
    if (p.model !== undefined) l.model = p.model;
  }
  if (!(l.delayUs >= 0) || !(l.jitterUs >= 0) || !(l.loss >= 0 && l.loss <= 1)) {
    throw new RangeError(`invalid link params ${JSON.stringify(l)}`);
  }
  return l;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function validIp(ip: number): boolean {
  return Number.isInteger(ip) && ip >= 0 && ip <= 0xffffffff;
}

// ---------------------------------------------------------------------------------------------
// Internals: realms, packets, segments
// ---------------------------------------------------------------------------------------------

type Entity = NetHost | Nat | Firewall;

/** An address space: the public Internet (box null) or the inside of a middlebox. */
class Realm {
  readonly table = new Map<number, Entity>();
  constructor(readonly box: Middlebox | null) {}
}

/** One IP packet in flight. Header fields are rewritten by NATs; `o*` keep the values as sent. */
class Pkt {
  stage = 0;
  /** Absolute time at which the packet reaches its next stage. */
  t = 0;
  /** Accumulated base (jitter-free) one-way delay, µs. */
  base = 0;
  box: Middlebox | null = null;
  target: NetHost | null = null;
  seq = 0;
  ack = 0;
  sentUs = 0;
  seg: Seg | null = null;
  /** On SYN-ACKs from a listener: the listener (to create the server side on arrival). */
  listener: Listener | null = null;
  readonly oSrcPort: number;
  readonly oDstIp: number;
  readonly oDstPort: number;
  constructor(
    readonly proto: Proto,
    readonly flags: number,
    /** Sending host; null for packets synthesised by a middlebox. */
    readonly from: NetHost | null,
    /** Site id of the sender (for the core delay decision). */
    readonly site: number,
    public srcIp: number,
    public srcPort: number,
    public dstIp: number,
    public dstPort: number,
    readonly payload: Uint8Array,
  ) {
    this.oSrcPort = srcPort;
    this.oDstIp = dstIp;
    this.oDstPort = dstPort;
  }
}

/** A TCP data or FIN segment (kept until delivered or given up, reused for retransmissions). */
class Seg {
  lost = 0;
  constructor(
    readonly ep: TcpEp,
    /** Byte offset in the sender's stream. */
    readonly off: number,
    readonly data: Uint8Array,
    readonly fin: boolean,
  ) {}
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Middleboxes
// ---------------------------------------------------------------------------------------------

abstract class MiddleboxBase {
  /** Uplink parameters; may be changed at run time. */
  link: LinkParams;
  /** Address space inside the middlebox. */
  readonly inner: Realm;
  /** @internal */ readonly linkRng: Rng;
  /** @internal site id (top-level ancestor). */ site = 0;
  constructor(
    readonly id: number,
    readonly name: string,
    /** @internal the realm this middlebox sits in. */ readonly realm: Realm,
    link: LinkParams,
    rng: Rng,
  ) {
    this.link = link;
    this.linkRng = rng.split('link:' + name);
    this.inner = new Realm(this as unknown as Middlebox);
  }
  /** The middlebox this one sits behind, or null if attached to the public Internet. */
  get behind(): Middlebox | null {
    return this.realm.box;
  }
}

class Mapping {
  lastUs: number;
  /** ADF: remote addresses contacted. */
  permitIps: Set<number> | null = null;
  /** APDF: remote endpoints contacted. */
  permitEps: Set<number> | null = null;
  /** TCP: remote endpoints an outbound SYN went to (allows simultaneous open). */
  synTo: Set<number> | null = null;
  constructor(
    readonly proto: Proto,
    readonly intIp: number,
    readonly intPort: number,
    readonly extPort: number,
    /** Key in the per-internal-endpoint map: 0 (EIM), remote ip (ADM) or remote endpoint key (APDM). */
    readonly remoteKey: number,
    readonly isStatic: boolean,
    now: number,
  ) {
    this.lastUs = now;
  }
}

export class Nat extends MiddleboxBase {
  readonly kind = 'nat' as const;
  /** @internal */ readonly k = K_NAT;
  /** Behaviour; fields may be changed at run time (affects subsequent packets). */
  readonly params: NatParams;
  private readonly rng: Rng;
  /** Per protocol: internal endpoint key → (remoteKey → mapping). */
  private readonly byInt: [Map<number, Map<number, Mapping>>, Map<number, Map<number, Mapping>>] = [new Map(), new Map()];
  /** Per protocol: external port → mapping. */
  private readonly byExt: [Map<number, Mapping>, Map<number, Mapping>] = [new Map(), new Map()];
  /** Per protocol: internal endpoint key → port forward. */
  private readonly statics: [Map<number, Mapping>, Map<number, Mapping>] = [new Map(), new Map()];
  private readonly nextPort: [number, number] = [PORT_LO, PORT_LO];

  constructor(
    id: number,
    name: string,
    readonly publicIp: number,
    realm: Realm,
    params: NatParams,
    link: LinkParams,
    rng: Rng,
    private readonly sched: Scheduler,
  ) {
    super(id, name, realm, link, rng);
    this.params = params;
    this.rng = rng.split('nat:' + name);
  }

  /**
   * Adds a port forward (static mapping, e.g. configured via UPnP): inbound `proto` traffic to
   * `externalPort` goes to `host:internalPort` without filtering, and outbound traffic from that
   * internal endpoint uses `externalPort`. Throws if the external port is held by a live mapping.
   */
  addPortForward(proto: 'udp' | 'tcp', externalPort: number, host: SimHost, internalPort: number): void {
    const p: Proto = proto === 'udp' ? UDP : TCP;
    if (!validPort(externalPort) || !validPort(internalPort)) throw new RangeError('addPortForward: bad port');
    if (this.inner.table.get(host.ip) !== host) throw new Error(`addPortForward: ${host.name} is not behind ${this.name}`);
    const now = this.sched.nowUs;
    const old = this.byExt[p].get(externalPort);
    if (old) {
      if (!this.expired(old, now)) throw new Error('EADDRINUSE');
      this.evict(old);
    }
    const m = new Mapping(p, host.ip, internalPort, externalPort, 0, true, now);
    this.byExt[p].set(externalPort, m);
    this.statics[p].set(endpointKey(host.ip, internalPort), m);
  }

  /** Removes a port forward added by `addPortForward` (no-op if none). */
  removePortForward(proto: 'udp' | 'tcp', externalPort: number): void {
    const p: Proto = proto === 'udp' ? UDP : TCP;
    const m = this.byExt[p].get(externalPort);
    if (!m || !m.isStatic) return;
    this.byExt[p].delete(externalPort);
    this.statics[p].delete(endpointKey(m.intIp, m.intPort));
  }

  /** Live mappings (expired ones are omitted), sorted by protocol then external port. */
  mappings(): NatMappingInfo[] {
    const now = this.sched.nowUs;
    const out: NatMappingInfo[] = [];
    for (const p of [UDP, TCP] as const) {
      const ports = [...this.byExt[p].keys()].sort((a, b) => a - b);
      for (const port of ports) {
        const m = this.byExt[p].get(port)!;
        if (this.expired(m, now)) continue;
        const info: NatMappingInfo = {
          proto: p === UDP ? 'udp' : 'tcp',
          internalIp: m.intIp,
          internalPort: m.intPort,
          externalPort: m.extPort,
          static: m.isStatic,
          lastActivityUs: m.lastUs,
          expiresUs: m.isStatic ? Infinity : m.lastUs + this.timeout(p),
        };
        if (!m.isStatic && this.params.mapping !== 'endpoint-independent') {
          if (this.params.mapping === 'address-dependent') info.remoteIp = m.remoteKey;
          else {
            info.remoteIp = Math.floor(m.remoteKey / 65536);
            info.remotePort = m.remoteKey % 65536;
          }
        }
        out.push(info);
      }
    }
    return out;
  }

  /** The external port currently mapped for an internal endpoint toward a remote endpoint, if any. */
  externalPortFor(proto: 'udp' | 'tcp', internalIp: number, internalPort: number, remoteIp: number, remotePort: number): number | undefined {
    const p: Proto = proto === 'udp' ? UDP : TCP;
    const ik = endpointKey(internalIp, internalPort);
    const st = this.statics[p].get(ik);
    if (st) return st.extPort;
    const m = this.byInt[p].get(ik)?.get(this.remoteKeyOf(remoteIp, remotePort));
    if (!m || this.expired(m, this.sched.nowUs)) return undefined;
    return m.extPort;
  }

  private timeout(p: Proto): number {
    return p === UDP ? this.params.udpTimeoutUs : this.params.tcpTimeoutUs;
  }

  private expired(m: Mapping, now: number): boolean {
    return !m.isStatic && now - m.lastUs >= this.timeout(m.proto);
  }

  private remoteKeyOf(ip: number, port: number): number {
    const mb = this.params.mapping;
    return mb === 'endpoint-independent' ? 0 : mb === 'address-dependent' ? ip : endpointKey(ip, port);
  }

  private evict(m: Mapping): void {
    const p = m.proto;
    if (this.byExt[p].get(m.extPort) === m) this.byExt[p].delete(m.extPort);
    if (m.isStatic) {
      this.statics[p].delete(endpointKey(m.intIp, m.intPort));
      return;
    }
    const ik = endpointKey(m.intIp, m.intPort);
    const inner = this.byInt[p].get(ik);
    if (inner && inner.get(m.remoteKey) === m) {
      inner.delete(m.remoteKey);
      if (inner.size === 0) this.byInt[p].delete(ik);
    }
  }

  /** True if the external port is free (evicting an expired mapping that held it). */
  private portFree(p: Proto, port: number, now: number): boolean {
    const o = this.byExt[p].get(port);
    if (o === undefined) return true;
    if (this.expired(o, now)) {
      this.evict(o);
      return true;
    }
    return false;
  }

  /** Picks an external port per the port-assignment behaviour; -1 if the pool is exhausted. */
  private allocPort(p: Proto, intPort: number, now: number): number {
    const pa = this.params.portAssignment;
    if (pa === 'preserving' && this.portFree(p, intPort, now)) return intPort;
    if (pa === 'random') {
      for (let i = 0; i < 64; i++) {
        const port = PORT_LO + this.rng.int(PORT_SPAN);
        if (this.portFree(p, port, now)) return port;
      }
    }
    // sequential (also the fallback of 'preserving' and of an unlucky 'random')
    let port = this.nextPort[p];
    for (let i = 0; i < PORT_SPAN; i++) {
      const cand = port;
      port = port >= 65535 ? PORT_LO : port + 1;
      if (this.portFree(p, cand, now)) {
        this.nextPort[p] = port;
        return cand;
      }
    }
    return -1;
  }

  /** @internal Outbound translation (source rewrite). Returns a drop reason or OK. */
  outbound(pk: Pkt, now: number): number {
    const p = pk.proto;
    const ik = endpointKey(pk.srcIp, pk.srcPort);
    const remEp = endpointKey(pk.dstIp, pk.dstPort);
    const synOnly = p === TCP && (pk.flags & (F_SYN | F_ACK)) === F_SYN;
    let m = this.statics[p].get(ik);
    if (m === undefined) {
      const rk = this.remoteKeyOf(pk.dstIp, pk.dstPort);
      let inner = this.byInt[p].get(ik);
      m = inner?.get(rk);
      if (m !== undefined && this.expired(m, now)) {
        this.evict(m);
        m = undefined;
        inner = this.byInt[p].get(ik);
      }
      if (m === undefined) {
        // TCP mappings are created by SYNs only; other segments of a dead connection are dropped.
        if (p === TCP && !synOnly) return R_NAT_NO_MAPPING;
        const port = this.allocPort(p, pk.srcPort, now);
        if (port < 0) return R_NAT_NO_MAPPING;
        m = new Mapping(p, pk.srcIp, pk.srcPort, port, rk, false, now);
        this.byExt[p].set(port, m);
        if (inner === undefined) {
          inner = new Map();
          this.byInt[p].set(ik, inner);
        }
        inner.set(rk, m);
      }
      m.lastUs = now; // refreshed by outbound traffic (RFC 4787 REQ-6)
      const f = this.params.filtering;
      if (f === 'address-dependent') (m.permitIps ??= new Set()).add(pk.dstIp);
      else if (f === 'address-and-port-dependent') (m.permitEps ??= new Set()).add(remEp);
      if (synOnly) (m.synTo ??= new Set()).add(remEp);
    }
    pk.srcIp = this.publicIp;
    pk.srcPort = m.extPort;
    return OK;
  }

  /** @internal Inbound translation (destination rewrite) with filtering. Returns a drop reason or OK. */
  inbound(pk: Pkt, now: number): number {
    const p = pk.proto;
    const m = this.byExt[p].get(pk.dstPort);
    if (m === undefined) return R_NAT_NO_MAPPING;
    if (!m.isStatic) {
      if (this.expired(m, now)) {
        this.evict(m);
        return R_NAT_NO_MAPPING;
      }
      const f = this.params.filtering;
      if (f === 'address-dependent') {
        if (m.permitIps === null || !m.permitIps.has(pk.srcIp)) return R_NAT_FILTERED;
      } else if (f === 'address-and-port-dependent') {
        if (m.permitEps === null || !m.permitEps.has(endpointKey(pk.srcIp, pk.srcPort))) return R_NAT_FILTERED;
      }
      if (p === TCP) {
        // An unsolicited SYN passes only as a simultaneous open toward an endpoint we SYNed.
        if ((pk.flags & (F_SYN | F_ACK)) === F_SYN) {
          if (m.synTo === null || !m.synTo.has(endpointKey(pk.srcIp, pk.srcPort))) return R_NAT_FILTERED;
        }
        // ACKs are not modelled as packets, so inbound segments refresh TCP mappings too (in real
        // life the receiver's ACKs would refresh it on the way out).
        m.lastUs = now;
      }
    }
    pk.dstIp = m.intIp;
    pk.dstPort = m.intPort;
    return OK;
  }
}

export class Firewall extends MiddleboxBase {
  readonly kind = 'firewall' as const;
  /** @internal */ readonly k = K_FIREWALL;
  readonly params: FirewallParams;
  private readonly allowed: Set<number> | null;
  /** Connections opened from inside: inside endpoint key → remote endpoint keys. */
  private readonly flows = new Map<number, Set<number>>();

  constructor(id: number, name: string, realm: Realm, params: FirewallParams, link: LinkParams, rng: Rng) {
    super(id, name, realm, link, rng);
    this.params = params;
    this.allowed = params.tcpPortsAllowed ? new Set(params.tcpPortsAllowed) : null;
  }

  /** @internal */
  outbound(pk: Pkt): number {
    if (pk.proto === UDP) return this.params.blockUdp ? R_FIREWALL : OK;
    const ik = endpointKey(pk.srcIp, pk.srcPort);
    const rk = endpointKey(pk.dstIp, pk.dstPort);
    if ((pk.flags & (F_SYN | F_ACK)) === F_SYN) {
      if (this.allowed !== null && !this.allowed.has(pk.dstPort)) {
        return this.params.rejectWithRst ? R_FIREWALL_REJECT : R_FIREWALL;
      }
      let s = this.flows.get(ik);
      if (s === undefined) {
        s = new Set();
        this.flows.set(ik, s);
      }
      s.add(rk);
      return OK;
    }
    const s = this.flows.get(ik);
    return s !== undefined && s.has(rk) ? OK : R_FIREWALL;
  }

  /** @internal */
  inbound(pk: Pkt): number {
    if (pk.proto === UDP) return this.params.blockUdp ? R_FIREWALL : OK;
    if ((pk.flags & (F_SYN | F_ACK)) === F_SYN) return R_FIREWALL;
    const s = this.flows.get(endpointKey(pk.dstIp, pk.dstPort));
    return s !== undefined && s.has(endpointKey(pk.srcIp, pk.srcPort)) ? OK : R_FIREWALL;
  }
}

/** A NAT or a firewall: what a host (or another middlebox) can sit behind. */
export type Middlebox = Nat | Firewall;

// ---------------------------------------------------------------------------------------------
// Hosts, sockets, TCP endpoints
// ---------------------------------------------------------------------------------------------

class UdpSock implements UdpSocket {
  closed = false;
  constructor(
    private readonly net: Network,
    private readonly host: NetHost,
    readonly localPort: number,
    readonly onRecv: UdpRecv,
  ) {}
  send(dstIp: number, dstPort: number, data: Uint8Array): boolean {
    if (this.closed || data.length > UDP_MAX_PAYLOAD) return false;
    if (!validIp(dstIp) || !validPort(dstPort)) return false;
    this.net._sendUdp(this.host, this.localPort, dstIp, dstPort, data.slice());
    return true;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.host.udp.get(this.localPort) === this) this.host.udp.delete(this.localPort);
  }
}

class Listener {
  closed = false;
  constructor(
    readonly host: NetHost,
    readonly port: number,
    readonly onAccept: (conn: TcpConn) => void,
  ) {}
}

class TcpEp implements TcpConn {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** @internal */ h: TcpHandlers;
  /** @internal */ isn = 0;
  /** @internal */ peerIsn = 0;
  /** @internal bytes queued so far (next byte offset to send). */ sndNext = 0;
  /** @internal next byte offset expected from the peer. */ rcvNext = 0;
  /** @internal out-of-order segments by offset. */ ooo: Map<number, Uint8Array> | null = null;
  /** @internal offset of the peer's FIN, -1 if not received. */ finAt = -1;
  /** @internal */ rto = TCP_MIN_RTO_US;
  /** @internal data/FIN segments sent but neither delivered nor given up. */ inflight = 0;
  /** @internal removed from the host; no more activity. */ dead = false;
  /** @internal close() was called locally. */ localClosed = false;
  /** @internal false for a server-side endpoint until onAccept ran. */ accepted = true;
  /** @internal data that arrived before accept. */ pendingData: Uint8Array[] | null = null;
  /** @internal close reason that arrived before accept. */ pendingClose: 'closed' | 'refused' | 'timeout' | 'reset' | null = null;
  /** @internal SYN retransmission / connect timeout timers. */ timers: Handle[] | null = null;
  /** @internal server side: the listener that accepted it. */ listener: Listener | null = null;

  constructor(
    private readonly net: Network,
    /** @internal */ readonly host: NetHost,
    readonly localPort: number,
    readonly remoteIp: number,
    readonly remotePort: number,
    handlers: TcpHandlers,
  ) {
    this.h = handlers;
  }

  /** @internal */
  get remoteKey(): number {
    return endpointKey(this.remoteIp, this.remotePort);
  }

  setHandlers(h: TcpHandlers): void {
    this.h = h;
  }

  send(data: Uint8Array): boolean {
    if (this.state !== 'open') return false;
    if (data.length > 0) this.net._tcpSend(this, data);
    return true;
  }

  close(): void {
    this.net._tcpClose(this);
  }
}

export class NetHost implements SimHost {
  readonly kind = 'host' as const;
  /** @internal */ readonly k = K_HOST;
  readonly counters: HostCounters = {
    udpPayloadSent: 0,
    udpPayloadRecv: 0,
    tcpPayloadSent: 0,
    tcpPayloadRecv: 0,
    wireSent: 0,
    wireRecv: 0,
    packetsSent: 0,
    packetsRecv: 0,
  };
  /** Access link parameters; may be changed at run time (e.g. `host.link.loss = 1` for an outage). */
  link: LinkParams;
  /** @internal */ readonly linkRng: Rng;
  /** @internal */ readonly tcpRng: Rng;
  /** @internal */ site = 0;
  /** @internal */ readonly tapName: string;
  /** @internal */ readonly udp = new Map<number, UdpSock>();
  /** @internal */ readonly listeners = new Map<number, Listener>();
  /** @internal remote endpoint key → local port → endpoint */
  readonly conns = new Map<number, Map<number, TcpEp>>();
  /** @internal local port → number of TCP endpoints using it */
  private readonly tcpPortUse = new Map<number, number>();
  private nextUdpPort: number;
  private nextTcpPort: number;

  constructor(
    private readonly net: Network,
    readonly id: number,
    readonly name: string,
    readonly ip: number,
    /** @internal */ readonly realm: Realm,
    link: LinkParams,
    rng: Rng,
  ) {
    this.link = link;
    this.linkRng = rng.split('link:' + name);
    this.tcpRng = rng.split('tcp:' + name);
    const pr = rng.split('port:' + name);
    this.nextUdpPort = EPHEMERAL_LO + pr.int(EPHEMERAL_SPAN);
    this.nextTcpPort = EPHEMERAL_LO + pr.int(EPHEMERAL_SPAN);
    this.tapName = 'host:' + name;
  }

  /** The middlebox this host sits behind, or null for a public host. */
  get behind(): Middlebox | null {
    return this.realm.box;
  }

  udpBind(port: number, onRecv: UdpRecv): UdpSocket {
    if (port === 0) {
      port = this.pickEphemeral(this.nextUdpPort, (p) => !this.udp.has(p));
      this.nextUdpPort = port >= 65535 ? EPHEMERAL_LO : port + 1;
    } else if (!validPort(port)) {
      throw new RangeError(`udpBind: bad port ${port}`);
    } else if (this.udp.has(port)) {
      throw new Error('EADDRINUSE');
    }
    const s = new UdpSock(this.net, this, port, onRecv);
    this.udp.set(port, s);
    return s;
  }

  tcpListen(port: number, onAccept: (conn: TcpConn) => void): { close(): void } {
    if (port === 0) {
      port = this.pickEphemeral(this.nextTcpPort, (p) => !this.listeners.has(p) && !this.tcpPortUse.has(p));
      this.nextTcpPort = port >= 65535 ? EPHEMERAL_LO : port + 1;
    } else if (!validPort(port)) {
      throw new RangeError(`tcpListen: bad port ${port}`);
    } else if (this.listeners.has(port)) {
      throw new Error('EADDRINUSE');
    }
    const l = new Listener(this, port, onAccept);
    this.listeners.set(port, l);
    return {
      close: () => {
        l.closed = true;
        if (this.listeners.get(port) === l) this.listeners.delete(port);
      },
    };
  }

  tcpConnect(dstIp: number, dstPort: number, handlers: TcpHandlers, opts?: TcpConnectOpts): TcpConn {
    if (!validIp(dstIp)) throw new RangeError(`tcpConnect: bad address ${dstIp}`);
    if (!validPort(dstPort)) throw new RangeError(`tcpConnect: bad port ${dstPort}`);
    const rk = endpointKey(dstIp, dstPort);
    let port: number;
    if (opts?.localPort !== undefined) {
      port = opts.localPort;
      if (!validPort(port)) throw new RangeError(`tcpConnect: bad local port ${port}`);
      if (this.findConn(rk, port) !== undefined) throw new Error('EADDRINUSE');
    } else {
      port = this.pickEphemeral(this.nextTcpPort, (p) => !this.listeners.has(p) && !this.tcpPortUse.has(p));
      this.nextTcpPort = port >= 65535 ? EPHEMERAL_LO : port + 1;
    }
    return this.net._tcpConnect(this, port, dstIp, dstPort, handlers);
  }

  private pickEphemeral(start: number, free: (p: number) => boolean): number {
    let p = start;
    for (let i = 0; i < EPHEMERAL_SPAN; i++) {
      if (free(p)) return p;
      p = p >= 65535 ? EPHEMERAL_LO : p + 1;
    }
    throw new Error('EADDRNOTAVAIL');
  }

  /** @internal */
  findConn(remoteKey: number, localPort: number): TcpEp | undefined {
    const m = this.conns.get(remoteKey);
    return m === undefined ? undefined : m.get(localPort);
  }

  /** @internal */
  addConn(ep: TcpEp): void {
    const rk = ep.remoteKey;
    let m = this.conns.get(rk);
    if (m === undefined) {
      m = new Map();
      this.conns.set(rk, m);
    }
    m.set(ep.localPort, ep);
    this.tcpPortUse.set(ep.localPort, (this.tcpPortUse.get(ep.localPort) ?? 0) + 1);
  }

  /** @internal */
  removeConn(ep: TcpEp): void {
    const rk = ep.remoteKey;
    const m = this.conns.get(rk);
    if (m === undefined || m.get(ep.localPort) !== ep) return;
    m.delete(ep.localPort);
    if (m.size === 0) this.conns.delete(rk);
    const n = (this.tcpPortUse.get(ep.localPort) ?? 1) - 1;
    if (n <= 0) this.tcpPortUse.delete(ep.localPort);
    else this.tcpPortUse.set(ep.localPort, n);
  }

  /** Number of TCP connection endpoints currently registered on this host (incl. closing ones). */
  tcpConnectionCount(): number {
    let n = 0;
    for (const m of this.conns.values()) n += m.size;
    return n;
  }
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

export class Network {
  readonly stats: NetStats = {
    sent: 0,
    delivered: 0,
    noRoute: 0,
    natNoMapping: 0,
    natFiltered: 0,
    firewall: 0,
    loss: 0,
    noListener: 0,
    hairpin: 0,
    fault: 0,
  };
  readonly coreDelayUs: number;
  readonly tcpMaxLosses: number;

  private readonly root = new Realm(null);
  private readonly hostsByName = new Map<string, NetHost>();
  private readonly boxesByName = new Map<string, Middlebox>();
  private nextId = 1;
  private taps: Array<(p: CapturedPacket) => void> = [];
  private faults: Array<(p: FaultView) => boolean> = [];
  private readonly onEvent = (p: Pkt): void => this.handle(p);
  private readonly onRetransmit = (s: Seg): void => this.retransmit(s);
  private readonly onSynTimer = (ep: TcpEp): void => this.synTimer(ep);
  private readonly onConnectTimeout = (ep: TcpEp): void => {
    if (ep.state === 'connecting') this.tcpFail(ep, 'timeout');
  };
  private readonly onAcceptEv = (ep: TcpEp): void => this.accept(ep);

  constructor(
    readonly sched: Scheduler,
    private readonly rng: Rng,
    opts?: NetworkOpts,
  ) {
    this.coreDelayUs = opts?.coreDelayUs ?? DEFAULT_CORE_DELAY_US;
    this.tcpMaxLosses = opts?.tcpMaxLosses ?? 5;
    if (!(this.coreDelayUs >= 0)) throw new RangeError('coreDelayUs must be ≥ 0');
    if (!(this.tcpMaxLosses >= 1)) throw new RangeError('tcpMaxLosses must be ≥ 1');
  }

  // ---- topology ------------------------------------------------------------------------------

  /** Adds an end host: public if `opts.behind` is absent, else inside that NAT / firewall. */
  addHost(name: string, ip: number | string, opts?: HostOpts): NetHost {
    this.checkName(name);
    const addr = toIp(ip);
    const realm = this.realmOf(opts?.behind);
    const box = realm.box;
    if (box !== null && box.kind === 'nat' && box.publicIp === addr) {
      throw new Error(`addHost ${name}: address equals ${box.name}'s public address`);
    }
    const h = new NetHost(this, this.nextId++, name, addr, realm, mergeLink(DEFAULT_HOST_LINK, opts?.link), this.rng);
    this.register(realm, addr, h, name);
    h.site = box === null ? h.id : this.topLevel(box).id;
    this.hostsByName.set(name, h);
    return h;
  }

  /** Adds a NAT whose public address is `publicIp` (defaults: the port-restricted-cone preset). */
  addNat(name: string, publicIp: number | string, params?: Partial<NatParams> & MiddleboxOpts): Nat {
    this.checkName(name);
    const addr = toIp(publicIp);
    const realm = this.realmOf(params?.behind);
    const p: NatParams = { ...natPresets['port-restricted-cone'] };
    if (params) {
      for (const k of ['mapping', 'filtering', 'portAssignment', 'udpTimeoutUs', 'tcpTimeoutUs', 'hairpinning'] as const) {
        if (params[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = params[k];
      }
    }
    if (!(p.udpTimeoutUs > 0) || !(p.tcpTimeoutUs > 0)) throw new RangeError('NAT timeouts must be > 0');
    const nat = new Nat(this.nextId++, name, addr, realm, p, mergeLink(DEFAULT_UPLINK, params?.link), this.rng, this.sched);
    this.register(realm, addr, nat, name);
    nat.site = realm.box === null ? nat.id : this.topLevel(realm.box).id;
    this.boxesByName.set(name, nat);
    return nat;
  }

  /** Adds a stateful firewall (no translation: hosts behind it keep routable addresses). */
  addFirewall(name: string, params: FirewallParams & MiddleboxOpts): Firewall {
    this.checkName(name);
    const realm = this.realmOf(params.behind);
    const fp: FirewallParams = { blockUdp: !!params.blockUdp };
    if (params.tcpPortsAllowed) fp.tcpPortsAllowed = [...params.tcpPortsAllowed];
    if (params.rejectWithRst) fp.rejectWithRst = true;
    const fw = new Firewall(this.nextId++, name, realm, fp, mergeLink(DEFAULT_UPLINK, params.link), this.rng);
    fw.site = realm.box === null ? fw.id : this.topLevel(realm.box).id;
    this.boxesByName.set(name, fw);
    return fw;
  }

  /** Host by name. */
  host(name: string): NetHost | undefined {
    return this.hostsByName.get(name);
  }

  /** NAT or firewall by name. */
  middlebox(name: string): Middlebox | undefined {
    return this.boxesByName.get(name);
  }

  /** All hosts in creation order. */
  hosts(): NetHost[] {
    return [...this.hostsByName.values()];
  }

  /** Registers a capture hook; returns a function removing it. */
  addTap(fn: (p: CapturedPacket) => void): () => void {
    this.taps = [...this.taps, fn];
    return () => {
      this.taps = this.taps.filter((f) => f !== fn);
    };
  }

  /**
   * Fault injection (tests, scenarios): a packet for which `fn` returns true is dropped as its sender emits it
   * (counted in `stats.fault`). Returns a function removing the fault, e.g. to heal a cut path.
   */
  addFault(fn: (p: FaultView) => boolean): () => void {
    this.faults = [...this.faults, fn];
    return () => { this.faults = this.faults.filter((f) => f !== fn); };
  }

  /** Current virtual time, µs. */
  get nowUs(): number {
    return this.sched.nowUs;
  }

  private checkName(name: string): void {
    if (this.hostsByName.has(name) || this.boxesByName.has(name)) throw new Error(`duplicate network node name '${name}'`);
  }

  private realmOf(box: Middlebox | undefined): Realm {
    if (box === undefined) return this.root;
    if (this.boxesByName.get(box.name) !== box) throw new Error(`middlebox ${box.name} belongs to another network`);
    return box.inner;
  }

  private topLevel(box: Middlebox): Middlebox {
    let b = box;
    while (b.realm.box !== null) b = b.realm.box;
    return b;
  }

  /** Puts `addr` → `e` in `realm` and, through firewalls, in the outer realms. */
  private register(realm: Realm, addr: number, e: Entity, name: string): void {
    // check first, then insert, so a failure leaves no partial state
    for (let r: Realm | null = realm; r !== null; r = r.box !== null && r.box.kind === 'firewall' ? r.box.realm : null) {
      if (r.table.has(addr)) throw new Error(`${name}: address ${ipToString(addr)} already in use`);
    }
    let ent: Entity = e;
    for (let r: Realm | null = realm; r !== null; ) {
      r.table.set(addr, ent);
      const b: Middlebox | null = r.box;
      if (b !== null && b.kind === 'firewall') {
        ent = b;
        r = b.realm;
      } else r = null;
    }
  }

  // ---- packet path ---------------------------------------------------------------------------

  /** @internal */
  _sendUdp(host: NetHost, srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array): void {
    const p = new Pkt(UDP, 0, host, host.site, host.ip, srcPort, dstIp, dstPort, payload);
    host.counters.udpPayloadSent += payload.length;
    this.emit(host, p);
  }

  private emit(host: NetHost, p: Pkt): void {
    const now = this.sched.nowUs;
    const c = host.counters;
    c.packetsSent++;
    c.wireSent += p.payload.length + (p.proto === UDP ? UDP_HEADER_BYTES : TCP_HEADER_BYTES);
    this.stats.sent++;
    if (this.taps.length !== 0) this.tap(p, host.tapName);
    if (this.faults.length !== 0) {
      const v: FaultView = { proto: p.proto === UDP ? 'udp' : 'tcp', from: host.name, srcIp: p.srcIp, srcPort: p.srcPort, dstIp: p.dstIp, dstPort: p.dstPort };
      for (const f of this.faults) if (f(v)) { this.drop(p, R_FAULT); return; }
    }
    p.sentUs = now;
    p.t = now;
    if (!this.cross(p, host.link, host.linkRng)) {
      this.drop(p, R_LOSS);
      return;
    }
    this.route(p, host.realm);
  }

  /** Applies one link: loss, then delay + jitter (or its model). Returns false if the packet is lost. */
  private cross(p: Pkt, l: LinkParams, rng: Rng): boolean {
    if (l.model !== undefined) {
      // a link model (link-models.ts) decides loss and the whole delay
      const d = l.model.transit(p.t, rng);
      if (!(d >= 0)) return false;
      p.t += d;
      p.base += l.model.baseUs;
      return true;
    }
    if (l.loss > 0 && rng.float() < l.loss) return false;
    p.t += l.delayUs;
    p.base += l.delayUs;
    if (l.jitterUs > 0) p.t += rng.int(Math.floor(l.jitterUs) + 1);
    return true;
  }

  /** The packet has arrived in `realm` (from below or from a host); decide where it goes next. */
  private route(p: Pkt, realm: Realm): void {
    const e = realm.table.get(p.dstIp);
    if (e !== undefined) {
      this.down(p, realm, e);
      return;
    }
    const box = realm.box;
    if (box === null) {
      this.drop(p, R_NO_ROUTE);
      return;
    }
    p.stage = ST_OUT;
    p.box = box;
    this.sched.at(p.t, this.onEvent, p);
  }

  /** Sends the packet from `realm` down to entity `e` of that realm. */
  private down(p: Pkt, realm: Realm, e: Entity): void {
    if (realm === this.root && e.site !== p.site) {
      p.t += this.coreDelayUs;
      p.base += this.coreDelayUs;
    }
    if (!this.cross(p, e.link, e.linkRng)) {
      this.drop(p, R_LOSS);
      return;
    }
    if (e.k === K_HOST) {
      p.stage = ST_DELIVER;
      p.target = e as NetHost;
    } else {
      p.stage = ST_IN;
      p.box = e as Middlebox;
    }
    this.sched.at(p.t, this.onEvent, p);
  }

  private handle(p: Pkt): void {
    switch (p.stage) {
      case ST_DELIVER:
        this.deliver(p.target!, p);
        return;
      case ST_OUT:
        this.atBoxFromInside(p, p.box!);
        return;
      case ST_IN:
        this.atBoxFromOutside(p, p.box!);
        return;
    }
  }

  private atBoxFromInside(p: Pkt, box: Middlebox): void {
    const now = this.sched.nowUs;
    if (box.kind === 'nat') {
      if (p.dstIp === box.publicIp) {
        this.hairpin(p, box, now);
        return;
      }
      const r = box.outbound(p, now);
      if (r !== OK) {
        this.drop(p, r);
        return;
      }
      if (this.taps.length !== 0) this.tap(p, 'nat:' + box.name);
    } else {
      const r = box.outbound(p);
      if (r !== OK) {
        if (r === R_FIREWALL_REJECT) this.firewallReject(p, box);
        this.drop(p, r);
        return;
      }
    }
    if (!this.cross(p, box.link, box.linkRng)) {
      this.drop(p, R_LOSS);
      return;
    }
    this.route(p, box.realm);
  }

  private atBoxFromOutside(p: Pkt, box: Middlebox): void {
    const r = box.kind === 'nat' ? box.inbound(p, this.sched.nowUs) : box.inbound(p);
    if (r !== OK) {
      this.drop(p, r);
      return;
    }
    if (box.kind === 'nat' && this.taps.length !== 0) this.tap(p, 'nat:' + box.name);
    const e = box.inner.table.get(p.dstIp);
    if (e === undefined) {
      this.drop(p, R_NO_ROUTE);
      return;
    }
    this.down(p, box.inner, e);
  }

  /** Inside host → its own NAT's public address (RFC 4787 §6). */
  private hairpin(p: Pkt, nat: Nat, now: number): void {
    if (!nat.params.hairpinning) {
      this.drop(p, R_HAIRPIN);
      return;
    }
    let r = nat.outbound(p, now);
    if (r === OK) r = nat.inbound(p, now);
    if (r !== OK) {
      this.drop(p, r);
      return;
    }
    if (this.taps.length !== 0) this.tap(p, 'nat:' + nat.name);
    const e = nat.inner.table.get(p.dstIp);
    if (e === undefined) {
      this.drop(p, R_NO_ROUTE);
      return;
    }
    this.down(p, nat.inner, e);
  }

  /** A firewall answers a rejected outbound SYN with a RST toward the sender. */
  private firewallReject(syn: Pkt, fw: Firewall): void {
    const rst = new Pkt(TCP, F_RST | F_ACK, null, fw.site, syn.dstIp, syn.dstPort, syn.srcIp, syn.srcPort, EMPTY);
    rst.ack = (syn.seq + 1) >>> 0;
    rst.t = this.sched.nowUs;
    const e = fw.inner.table.get(rst.dstIp);
    if (e !== undefined) this.down(rst, fw.inner, e);
  }

  private drop(p: Pkt, reason: number): void {
    // Packets synthesised by a middlebox are not part of the sent/delivered balance.
    if (p.from === null) return;
    const s = this.stats;
    switch (reason) {
      case R_NO_ROUTE: s.noRoute++; break;
      case R_NAT_NO_MAPPING: s.natNoMapping++; break;
      case R_NAT_FILTERED: s.natFiltered++; break;
      case R_FIREWALL:
      case R_FIREWALL_REJECT: s.firewall++; break;
      case R_LOSS: s.loss++; break;
      case R_HAIRPIN: s.hairpin++; break;
      case R_FAULT: s.fault++; break;
    }
    if (p.seg !== null) this.segLost(p.seg, p.sentUs);
  }

  private deliver(host: NetHost, p: Pkt): void {
    const c = host.counters;
    c.packetsRecv++;
    const len = p.payload.length;
    if (p.from !== null) this.stats.delivered++;
    if (p.proto === UDP) {
      c.wireRecv += len + UDP_HEADER_BYTES;
      const s = host.udp.get(p.dstPort);
      if (s === undefined) {
        this.stats.noListener++;
        return;
      }
      c.udpPayloadRecv += len;
      s.onRecv(p.srcIp, p.srcPort, p.payload);
      return;
    }
    c.wireRecv += len + TCP_HEADER_BYTES;
    this.tcpArrive(host, p);
  }

  private tap(p: Pkt, where: string): void {
    const cp: CapturedPacket = {
      timeUs: this.sched.nowUs,
      proto: p.proto === UDP ? 'udp' : 'tcp',
      srcIp: p.srcIp,
      srcPort: p.srcPort,
      dstIp: p.dstIp,
      dstPort: p.dstPort,
      payload: p.payload,
      where,
    };
    if (p.proto === TCP) {
      const f = p.flags;
      cp.flags = { syn: (f & F_SYN) !== 0, ack: (f & F_ACK) !== 0, fin: (f & F_FIN) !== 0, rst: (f & F_RST) !== 0 };
      cp.seq = p.seq >>> 0;
      cp.ackNo = p.ack >>> 0;
    }
    for (const fn of this.taps) fn(cp);
  }

  // ---- TCP -----------------------------------------------------------------------------------

  private rtoFor(oneWayBaseUs: number): number {
    return Math.max(TCP_MIN_RTO_US, 4 * oneWayBaseUs); // 2 × RTT, RTT = 2 × one-way
  }

  private sendTcp(host: NetHost, srcPort: number, dstIp: number, dstPort: number, flags: number, seq: number, ack: number, payload: Uint8Array, seg: Seg | null, listener: Listener | null): void {
    const p = new Pkt(TCP, flags, host, host.site, host.ip, srcPort, dstIp, dstPort, payload);
    p.seq = seq >>> 0;
    p.ack = ack >>> 0;
    p.seg = seg;
    p.listener = listener;
    this.emit(host, p);
  }

  /** @internal */
  _tcpConnect(host: NetHost, localPort: number, dstIp: number, dstPort: number, handlers: TcpHandlers): TcpEp {
    const ep = new TcpEp(this, host, localPort, dstIp, dstPort, handlers);
    ep.isn = host.tcpRng.u32();
    host.addConn(ep);
    const t0 = this.sched.nowUs;
    ep.timers = [
      ...TCP_SYN_RETRY_US.map((dt) => this.sched.at(t0 + dt, this.onSynTimer, ep)),
      this.sched.at(t0 + TCP_CONNECT_TIMEOUT_US, this.onConnectTimeout, ep),
    ];
    this.sendSyn(ep);
    return ep;
  }

  private sendSyn(ep: TcpEp): void {
    this.sendTcp(ep.host, ep.localPort, ep.remoteIp, ep.remotePort, F_SYN, ep.isn, 0, EMPTY, null, null);
  }

  private synTimer(ep: TcpEp): void {
    if (ep.state === 'connecting' && !ep.dead) this.sendSyn(ep);
  }

  private cancelTimers(ep: TcpEp): void {
    if (ep.timers !== null) {
      for (const t of ep.timers) this.sched.cancel(t);
      ep.timers = null;
    }
  }

  /** @internal */
  _tcpSend(ep: TcpEp, data: Uint8Array): void {
    const copy = data.slice();
    ep.host.counters.tcpPayloadSent += copy.length;
    for (let off = 0; off < copy.length; off += TCP_MSS) {
      const chunk = copy.subarray(off, Math.min(off + TCP_MSS, copy.length));
      const seg = new Seg(ep, ep.sndNext, chunk, false);
      ep.sndNext += chunk.length;
      ep.inflight++;
      this.transmit(seg);
    }
  }

  /** @internal */
  _tcpClose(ep: TcpEp): void {
    if (ep.state === 'closed') return;
    if (ep.state === 'connecting') {
      ep.localClosed = true;
      this.tcpFail(ep, 'closed');
      return;
    }
    ep.state = 'closed';
    ep.localClosed = true;
    const fin = new Seg(ep, ep.sndNext, EMPTY, true);
    ep.inflight++;
    this.transmit(fin);
  }

  private transmit(seg: Seg): void {
    const ep = seg.ep;
    const flags = seg.fin ? F_FIN | F_ACK : F_ACK;
    this.sendTcp(ep.host, ep.localPort, ep.remoteIp, ep.remotePort, flags, ep.isn + 1 + seg.off, ep.peerIsn + 1 + ep.rcvNext, seg.data, seg, null);
  }

  private retransmit(seg: Seg): void {
    if (!seg.ep.dead) this.transmit(seg);
  }

  private segLost(seg: Seg, sentUs: number): void {
    const ep = seg.ep;
    if (ep.dead) return;
    if (++seg.lost >= this.tcpMaxLosses) {
      ep.inflight--;
      this.tcpFail(ep, 'timeout');
      return;
    }
    this.sched.at(sentUs + ep.rto, this.onRetransmit, seg);
  }

  private segDelivered(seg: Seg): void {
    const ep = seg.ep;
    ep.inflight--;
    if (ep.localClosed && ep.inflight <= 0 && !ep.dead) {
      // everything we sent (incl. FIN) arrived: the endpoint is gone
      ep.dead = true;
      ep.host.removeConn(ep);
    }
  }

  /** Kills an endpoint; notifies the application unless it closed the endpoint itself. */
  private tcpFail(ep: TcpEp, reason: 'closed' | 'refused' | 'timeout' | 'reset'): void {
    if (ep.dead) return;
    ep.dead = true;
    ep.state = 'closed';
    this.cancelTimers(ep);
    ep.host.removeConn(ep);
    if (ep.localClosed) return;
    if (!ep.accepted) {
      ep.pendingClose = reason;
      return;
    }
    ep.h.onClose?.(reason);
  }

  private tcpOpen(ep: TcpEp): void {
    ep.state = 'open';
    this.cancelTimers(ep);
    ep.h.onConnect?.();
  }

  private sendRstFor(host: NetHost, p: Pkt): void {
    // RFC 793: reply to a SYN with <SEQ=0><ACK=SEG.SEQ+SEG.LEN+1><CTL=RST,ACK>, else <SEQ=SEG.ACK><CTL=RST>
    if (p.flags & F_SYN) this.sendTcp(host, p.dstPort, p.srcIp, p.srcPort, F_RST | F_ACK, 0, p.seq + 1, EMPTY, null, null);
    else this.sendTcp(host, p.dstPort, p.srcIp, p.srcPort, F_RST, p.ack, 0, EMPTY, null, null);
  }

  private tcpArrive(host: NetHost, p: Pkt): void {
    const f = p.flags;
    const ep = host.findConn(endpointKey(p.srcIp, p.srcPort), p.dstPort);
    if (f & F_RST) {
      if (ep !== undefined) this.tcpFail(ep, ep.state === 'connecting' ? 'refused' : 'reset');
      return;
    }
    if (f & F_SYN) {
      if (f & F_ACK) this.onSynAck(ep, p);
      else this.onSyn(host, ep, p);
      return;
    }
    const seg = p.seg!;
    if (ep === undefined) {
      // no such connection (closed and gone, or never existed): the segment is "acked" by a RST
      this.segDelivered(seg);
      this.sendRstFor(host, p);
      return;
    }
    if (ep.state === 'connecting') {
      // Data racing ahead of a simultaneous-open SYN-ACK: not accepted, the sender retries.
      this.segLost(seg, p.sentUs);
      return;
    }
    this.segDelivered(seg);
    if (ep.localClosed) return; // we closed: discard
    if (seg.fin) {
      if (ep.finAt < 0) ep.finAt = seg.off;
    } else if (seg.off === ep.rcvNext) {
      this.tcpDeliver(ep, seg.data);
      const ooo = ep.ooo;
      if (ooo !== null) {
        for (let d = ooo.get(ep.rcvNext); d !== undefined && !ep.dead; d = ooo.get(ep.rcvNext)) {
          ooo.delete(ep.rcvNext);
          this.tcpDeliver(ep, d);
        }
      }
    } else if (seg.off > ep.rcvNext) {
      (ep.ooo ??= new Map()).set(seg.off, seg.data);
    }
    if (ep.finAt >= 0 && ep.rcvNext >= ep.finAt && !ep.dead && !ep.localClosed) this.tcpFail(ep, 'closed');
  }

  private tcpDeliver(ep: TcpEp, d: Uint8Array): void {
    ep.rcvNext += d.length;
    ep.host.counters.tcpPayloadRecv += d.length;
    if (!ep.accepted) (ep.pendingData ??= []).push(d);
    else if (ep.state === 'open') ep.h.onData?.(d);
  }

  private onSyn(host: NetHost, ep: TcpEp | undefined, p: Pkt): void {
    if (ep !== undefined) {
      if (ep.state === 'connecting') {
        // simultaneous open: both sides sent SYNs
        ep.peerIsn = p.seq;
        ep.rto = this.rtoFor(p.base);
        this.sendTcp(host, ep.localPort, ep.remoteIp, ep.remotePort, F_SYN | F_ACK, ep.isn, ep.peerIsn + 1, EMPTY, null, null);
        this.tcpOpen(ep);
      } else if (ep.state === 'open') {
        // duplicate SYN: repeat the SYN-ACK (the peer ignores it if already open)
        this.sendTcp(host, ep.localPort, ep.remoteIp, ep.remotePort, F_SYN | F_ACK, ep.isn, ep.peerIsn + 1, EMPTY, null, null);
      }
      return;
    }
    const l = host.listeners.get(p.dstPort);
    if (l === undefined) {
      this.stats.noListener++;
      this.sendRstFor(host, p);
      return;
    }
    // No state is kept until the SYN-ACK arrives (the SYN-ACK carries what the server side needs).
    this.sendTcp(host, p.dstPort, p.srcIp, p.srcPort, F_SYN | F_ACK, host.tcpRng.u32(), p.seq + 1, EMPTY, null, l);
  }

  private onSynAck(ep: TcpEp | undefined, p: Pkt): void {
    if (ep === undefined || ep.dead || ep.state !== 'connecting') return;
    const l = p.listener;
    if (l !== null) {
      if (l.closed) {
        this.tcpFail(ep, 'refused');
        return;
      }
      const server = p.from!;
      const rk = endpointKey(p.oDstIp, p.oDstPort);
      const existing = server.findConn(rk, p.oSrcPort);
      if (existing !== undefined && existing.state === 'closed') {
        existing.dead = true;
        server.removeConn(existing);
      }
      if (existing === undefined || existing.state === 'closed') {
        const sep = new TcpEp(this, server, p.oSrcPort, p.oDstIp, p.oDstPort, {});
        sep.isn = p.seq;
        sep.peerIsn = ep.isn;
        sep.state = 'open';
        sep.accepted = false;
        sep.listener = l;
        sep.rto = this.rtoFor(p.base);
        server.addConn(sep);
        // the client's handshake ACK would reach the server one one-way delay later
        this.sched.at(this.sched.nowUs + p.base, this.onAcceptEv, sep);
      }
    }
    ep.peerIsn = p.seq;
    ep.rto = this.rtoFor(p.base);
    this.tcpOpen(ep);
  }

  private accept(ep: TcpEp): void {
    if (ep.dead && ep.pendingClose !== 'closed') return; // reset before accept
    const l = ep.listener!;
    if (l.closed) {
      if (!ep.dead) {
        // listener went away: reset the connection
        this.sendTcp(ep.host, ep.localPort, ep.remoteIp, ep.remotePort, F_RST, ep.isn + 1 + ep.sndNext, 0, EMPTY, null, null);
        ep.localClosed = true;
        this.tcpFail(ep, 'reset');
      }
      return;
    }
    ep.accepted = true;
    l.onAccept(ep);
    const pd = ep.pendingData;
    ep.pendingData = null;
    if (pd !== null) for (const d of pd) if (ep.state === 'open' || ep.pendingClose !== null) ep.h.onData?.(d);
    const pc = ep.pendingClose;
    ep.pendingClose = null;
    if (pc !== null && !ep.localClosed) ep.h.onClose?.(pc);
  }
}
