/**
 * The `SimHost` interface (host-sim/net/types.ts) over real sockets: UDP on node:dgram, TCP on node:net, IPv4.
 * FirmwareNode drives it exactly as it drives a simulated host, so build/firmware.wasm runs as a live node.
 *
 * Differences from the simulated host, and why:
 *  - Binding is asynchronous in Node while the HAL's `udpOpen`/`tcpListen` answer at once. `prepare(port)`
 *    binds the node's one UDP+TCP port *before* the firmware boots (so "port in use" is a clear startup
 *    error); the firmware's later `udpBind`/`tcpListen` on that port get the prepared sockets. Other binds
 *    happen in the background and a failure is reported through `onWarn`.
 *  - The HAL is IPv4-only (addresses are u32), so the host is too.
 *  - `counters` apply the simulator's accounting to real traffic (payload + 28 B per UDP datagram, + 40 B
 *    per TCP segment of ≤ 1460 B, SYN/SYN-ACK/FIN 40 B, no pure ACKs), so live and simulated figures are
 *    counted alike. What the kernel really put on the wire (with ACKs and TCP options) is read from the
 *    interface counters (iface-stats.ts).
 * Addresses cross an `AddressView` (address-view.ts): the firmware may see loopback as 198.18/16.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { ipFromString, ipToString } from '../net/ip.js';
import type { HostCounters, SimHost, TcpConn, TcpConnectOpts, TcpHandlers, UdpRecv, UdpSocket } from '../net/types.js';
import { IDENTITY_VIEW, type AddressView } from './address-view.js';

const UDP_HEADER_BYTES = 28;
const TCP_HEADER_BYTES = 40;
const TCP_MSS = 1460;
const UDP_MAX_PAYLOAD = 65507;
/** As the simulator: a connect that has not completed after 7 s fails with 'timeout'. */
const TCP_CONNECT_TIMEOUT_MS = 7_000;
/** A connection whose unsent backlog exceeds this is reset rather than buffering without bound. */
const TCP_BACKLOG_MAX = 1 << 20;
/** Pre-bound ephemeral UDP sockets kept ready for `udpOpen(0)`. */
const EPHEMERAL_POOL = 2;

export interface RealHostOpts {
  name: string;
  /** Real IPv4 address to bind every socket to (dotted quad). */
  bindIp: string;
  view?: AddressView;
  /** Socket-level problems worth a log line (send errors, resets, a background bind that failed). */
  onWarn?: (msg: string) => void;
}

/** A startup error with a one-line message (e.g. port in use). */
export class HostError extends Error {
  constructor(msg: string, readonly code?: string) { super(msg); }
}

function segments(len: number): number { return Math.max(1, Math.ceil(len / TCP_MSS)); }

export class RealHost implements SimHost {
  readonly name: string;
  /** This host's address as the firmware sees it. */
  readonly ip: number;
  readonly bindIp: string;
  readonly view: AddressView;
  readonly counters: HostCounters = {
    udpPayloadSent: 0, udpPayloadRecv: 0, tcpPayloadSent: 0, tcpPayloadRecv: 0,
    wireSent: 0, wireRecv: 0, packetsSent: 0, packetsRecv: 0,
  };
  private readonly preparedUdp = new Map<number, dgram.Socket>();
  private readonly preparedTcp = new Map<number, net.Server>();
  private readonly unavailableUdp = new Set<number>();
  private readonly earlyConns = new Map<number, net.Socket[]>();
  private readonly pool: dgram.Socket[] = [];
  private closed = false;
  private readonly sockets = new Set<RealUdp>();
  private readonly servers = new Set<net.Server>();
  readonly conns = new Set<RealTcp>();

  constructor(private readonly opts: RealHostOpts) {
    this.name = opts.name;
    this.bindIp = opts.bindIp;
    this.view = opts.view ?? IDENTITY_VIEW;
    this.ip = this.view.toFirmware(ipFromString(opts.bindIp));
  }

  /**
   * Binds UDP and TCP on `port` of the bind address before the firmware boots; 0 picks a port free for both.
   * With `alternateUdp`, also tries UDP `port + 1` (a supernode's alternate port for RFC 5780-style NAT
   * behaviour tests, firmware/overlay/supernode.ts): if it is taken, the firmware's later `udpOpen(port + 1)`
   * gets EADDRINUSE at once, as the HAL promises. Also pre-binds a small pool of ephemeral UDP sockets so
   * that `udpOpen(0)` (the NAT discovery socket) knows its port immediately.
   * Resolves to the port. Rejects with a HostError ("UDP port 33033 on 127.0.0.1 is already in use", …).
   */
  async prepare(port: number, opts: { alternateUdp?: boolean } = {}): Promise<number> {
    let bound = -1;
    for (let attempt = 0; attempt < (port === 0 ? 20 : 1) && bound < 0; attempt++) {
      const udp = await bindUdp(this.bindIp, port).catch((e) => { throw this.bindError('UDP', port, e); });
      const p = udp.address().port;
      try {
        const srv = await listenTcp(this.bindIp, p);
        // Connections that arrive before the firmware's tcpListen wait for it (the kernel already accepted them).
        const early: net.Socket[] = [];
        srv.on('connection', (sock: net.Socket) => early.push(sock));
        this.earlyConns.set(p, early);
        this.preparedUdp.set(p, udp);
        this.preparedTcp.set(p, srv);
        bound = p;
      } catch (e) {
        udp.close();
        if (port !== 0) throw this.bindError('TCP', p, e);
      }
    }
    if (bound < 0) throw new HostError(`no port on ${this.bindIp} is free for both UDP and TCP`);
    if (opts.alternateUdp && bound < 65535) {
      try { this.preparedUdp.set(bound + 1, await bindUdp(this.bindIp, bound + 1)); } catch { this.unavailableUdp.add(bound + 1); }
    }
    await this.refillPool();
    return bound;
  }

  private async refillPool(): Promise<void> {
    while (this.pool.length < EPHEMERAL_POOL && !this.closed) {
      let s: dgram.Socket;
      try { s = await bindUdp(this.bindIp, 0); } catch { return; }
      if (this.closed) s.close(); else this.pool.push(s);
    }
  }

  private bindError(proto: string, port: number, e: unknown): HostError {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') return new HostError(`${proto} port ${port} on ${this.bindIp} is already in use`, code);
    if (code === 'EADDRNOTAVAIL') return new HostError(`address ${this.bindIp} is not an address of this host`, code);
    if (code === 'EACCES') return new HostError(`permission denied binding ${proto} ${this.bindIp}:${port}`, code);
    return new HostError(`cannot bind ${proto} ${this.bindIp}:${port} (${(e as Error).message})`, code);
  }

  udpBind(port: number, onRecv: UdpRecv): UdpSocket {
    if (this.unavailableUdp.has(port)) throw new Error('EADDRINUSE');
    let sock = port === 0 ? this.pool.shift() : this.preparedUdp.get(port);
    if (sock) {
      this.preparedUdp.delete(port);
      if (port === 0) void this.refillPool();
    } else {
      for (const s of this.sockets) if (s.localPort === port && port !== 0) throw new Error('EADDRINUSE');
      sock = dgram.createSocket({ type: 'udp4' });
      const s = sock;
      s.once('error', (e) => this.warn(`background bind failed: ${this.bindError('UDP', port, e).message}`));
      s.bind(port, this.bindIp);
    }
    const u = new RealUdp(this, sock, port, onRecv);
    this.sockets.add(u);
    return u;
  }

  tcpListen(port: number, onAccept: (conn: TcpConn) => void): { close(): void } {
    let srv = this.preparedTcp.get(port);
    const early = this.earlyConns.get(port) ?? [];
    if (srv) {
      this.preparedTcp.delete(port);
      this.earlyConns.delete(port);
      srv.removeAllListeners('connection');
    } else {
      srv = net.createServer();
      const s = srv;
      s.once('error', (e) => this.warn(`background listen failed: ${this.bindError('TCP', port, e).message}`));
      s.listen(port, this.bindIp);
    }
    const server = srv;
    this.servers.add(server);
    const accept = (sock: net.Socket) => {
      const ip = sock.remoteAddress && net.isIPv4(sock.remoteAddress) ? ipFromString(sock.remoteAddress) : 0;
      if (!ip || sock.destroyed) { sock.destroy(); return; }
      this.counters.wireRecv += TCP_HEADER_BYTES; this.counters.packetsRecv++; // SYN
      this.counters.wireSent += TCP_HEADER_BYTES; this.counters.packetsSent++; // SYN-ACK
      const c = new RealTcp(this, sock, this.view.toFirmware(ip), sock.remotePort ?? 0, {}, 'open');
      onAccept(c);
    };
    server.on('connection', accept);
    if (early.length) queueMicrotask(() => { for (const sock of early) accept(sock); });
    return { close: () => { this.servers.delete(server); server.close(); } };
  }

  tcpConnect(dstIp: number, dstPort: number, handlers: TcpHandlers, opts?: TcpConnectOpts): TcpConn {
    const real = ipToString(this.view.toReal(dstIp >>> 0));
    const sock = new net.Socket();
    const c = new RealTcp(this, sock, dstIp >>> 0, dstPort, handlers, 'connecting');
    this.counters.wireSent += TCP_HEADER_BYTES; this.counters.packetsSent++; // SYN
    sock.connect({ host: real, port: dstPort, localAddress: this.bindIp, localPort: opts?.localPort, family: 4 });
    return c;
  }

  /** Closes every socket (shutdown). */
  closeAll(): void {
    this.closed = true;
    for (const s of this.sockets) s.close();
    for (const s of this.servers) s.close();
    for (const c of this.conns) c.close();
    for (const s of this.preparedUdp.values()) s.close();
    for (const s of this.preparedTcp.values()) s.close();
    for (const s of this.pool) s.close();
    this.preparedUdp.clear(); this.preparedTcp.clear(); this.pool.length = 0;
  }

  /** @internal */ warn(msg: string): void { this.opts.onWarn?.(msg); }
  /** @internal */ forgetUdp(u: RealUdp): void { this.sockets.delete(u); }
}

class RealUdp implements UdpSocket {
  private closed = false;
  constructor(private readonly host: RealHost, private readonly sock: dgram.Socket, private readonly port: number, onRecv: UdpRecv) {
    sock.on('message', (msg, rinfo) => {
      if (this.closed || rinfo.family !== 'IPv4') return;
      const c = host.counters;
      c.udpPayloadRecv += msg.length; c.wireRecv += msg.length + UDP_HEADER_BYTES; c.packetsRecv++;
      onRecv(host.view.toFirmware(ipFromString(rinfo.address)), rinfo.port, new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    });
    sock.on('error', (e) => host.warn(`udp ${this.localPort}: ${e.message}`));
  }

  get localPort(): number {
    try { return this.sock.address().port; } catch { return this.port; }
  }

  send(dstIp: number, dstPort: number, data: Uint8Array): boolean {
    if (this.closed || data.length > UDP_MAX_PAYLOAD || dstPort < 1 || dstPort > 65535) return false;
    const c = this.host.counters;
    c.udpPayloadSent += data.length; c.wireSent += data.length + UDP_HEADER_BYTES; c.packetsSent++;
    const to = ipToString(this.host.view.toReal(dstIp >>> 0));
    this.sock.send(data, dstPort, to, (e) => { if (e) this.host.warn(`udp send to ${to}:${dstPort}: ${e.message}`); });
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.forgetUdp(this);
    try { this.sock.close(); } catch { /* already closed */ }
  }
}

class RealTcp implements TcpConn {
  state: 'connecting' | 'open' | 'closed';
  private h: TcpHandlers;
  private reported = false;
  private timer: NodeJS.Timeout | null = null;
  private pending: Uint8Array[] | null = null;

  constructor(
    private readonly host: RealHost,
    private readonly sock: net.Socket,
    readonly remoteIp: number,
    readonly remotePort: number,
    handlers: TcpHandlers,
    state: 'connecting' | 'open',
  ) {
    this.h = handlers;
    this.state = state;
    host.conns.add(this);
    sock.setNoDelay(true);
    if (state === 'connecting') {
      this.timer = setTimeout(() => this.fail('timeout'), TCP_CONNECT_TIMEOUT_MS);
      sock.once('connect', () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        if (this.state !== 'connecting') return;
        this.state = 'open';
        host.counters.wireRecv += TCP_HEADER_BYTES; host.counters.packetsRecv++; // SYN-ACK
        this.h.onConnect?.();
      });
    }
    sock.on('data', (d: Buffer) => {
      if (this.state !== 'open') return;
      const c = host.counters;
      const n = segments(d.length);
      c.tcpPayloadRecv += d.length; c.wireRecv += d.length + n * TCP_HEADER_BYTES; c.packetsRecv += n;
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.length);
      if (this.h.onData) this.h.onData(bytes); else (this.pending ??= []).push(bytes);
    });
    sock.on('end', () => { host.counters.wireRecv += TCP_HEADER_BYTES; host.counters.packetsRecv++; this.fail('closed'); });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (this.state === 'connecting') this.fail(code === 'ECONNREFUSED' ? 'refused' : 'timeout');
      else this.fail(code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'timeout');
    });
    sock.on('close', () => this.fail('closed'));
  }

  get localPort(): number { return this.sock.localPort ?? 0; }

  /** Replaces the handlers; bytes that arrived before an acceptor set them are delivered on the next microtask. */
  setHandlers(h: TcpHandlers): void {
    this.h = h;
    const p = this.pending;
    if (p && h.onData) {
      this.pending = null;
      queueMicrotask(() => { for (const b of p) if (this.state === 'open') this.h.onData?.(b); });
    }
  }

  send(data: Uint8Array): boolean {
    if (this.state !== 'open') return false;
    if (data.length === 0) return true;
    if (this.sock.writableLength > TCP_BACKLOG_MAX) {
      this.host.warn(`tcp to ${ipToString(this.remoteIp)}:${this.remotePort}: peer not reading, resetting`);
      this.fail('reset');
      return false;
    }
    const c = this.host.counters;
    const n = segments(data.length);
    c.tcpPayloadSent += data.length; c.wireSent += data.length + n * TCP_HEADER_BYTES; c.packetsSent += n;
    this.sock.write(Buffer.from(data));
    return true;
  }

  /** Local close: FIN, and no more events for this connection. */
  close(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.reported = true;
    this.cleanup();
    if (wasOpen) {
      this.host.counters.wireSent += TCP_HEADER_BYTES; this.host.counters.packetsSent++; // FIN
      this.sock.end();
      setTimeout(() => this.sock.destroy(), 2_000).unref();
    } else this.sock.destroy();
  }

  private fail(reason: 'closed' | 'refused' | 'timeout' | 'reset'): void {
    if (this.reported) return;
    this.reported = true;
    this.state = 'closed';
    this.cleanup();
    this.sock.destroy();
    this.h.onClose?.(reason);
  }

  private cleanup(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.host.conns.delete(this);
  }
}

function bindUdp(ip: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4' });
    s.once('error', (e) => { s.close(); reject(e); });
    s.bind(port, ip, () => { s.removeAllListeners('error'); resolve(s); });
  });
}

function listenTcp(ip: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, ip, () => { s.removeListener('error', reject); resolve(s); });
  });
}
