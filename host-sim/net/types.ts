/**
 * Public types of the simulated IP network (host-sim/net).
 *
 * Addresses are IPv4 as unsigned 32-bit numbers (`ipToString`/`ipFromString` convert).
 * Time is virtual microseconds (a JS number, exact up to 2^53 µs ≈ 285 years).
 * Payloads are Uint8Array; the network copies them on send, so callers may reuse buffers.
 */

/** One-way characteristics of a host's access link (applied in both directions). */
export interface LinkParams {
  /** One-way base delay, µs. */
  delayUs: number;
  /** Extra uniform random delay in [0, jitterUs], µs. UDP may reorder; TCP keeps order. */
  jitterUs: number;
  /** Independent loss probability per packet, 0..1. TCP retransmits lost segments. */
  loss: number;
  /**
   * (Added, issue #6.) A delay/loss model (link-models.ts) that replaces delayUs/jitterUs/loss for
   * this link: Pareto jitter, spikes, route changes, Gilbert–Elliott loss, G.1050-style paths, traces.
   */
  model?: LinkModel;
}

/**
 * (Added, issue #6.) Decides each packet's fate on a link: its delay through the link in µs, or a
 * negative number when it is lost. May keep state (bursts, spikes); draws randomness only from `rng`.
 */
export interface LinkModel {
  /** Smallest delay the model produces (the link's base one-way delay, µs; TCP derives its RTO from it). */
  readonly baseUs: number;
  transit(nowUs: number, rng: import('./rng.js').Rng): number;
}

/** RFC 4787 §4.1 mapping behaviour. */
export type MappingBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
/** RFC 4787 §5 filtering behaviour. */
export type FilteringBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
/** RFC 4787 §4.2 port assignment. */
export type PortAssignment = 'preserving' | 'sequential' | 'random';

export interface NatParams {
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  portAssignment: PortAssignment;
  /** UDP mapping idle timeout, µs (RFC 4787 REQ-5: ≥ 120 s). Refreshed by outbound packets only. */
  udpTimeoutUs: number;
  /** TCP established-mapping idle timeout, µs (RFC 5382: ≥ 2 h 4 min). */
  tcpTimeoutUs: number;
  /** Whether packets from inside to the NAT's own public address are looped back (RFC 4787 §6). */
  hairpinning: boolean;
}

export interface FirewallParams {
  /** Drop every UDP datagram in both directions. */
  blockUdp: boolean;
  /** If set, outbound TCP is allowed only to these destination ports (e.g. [80, 443]). */
  tcpPortsAllowed?: number[];
  /** Stateful: inbound TCP SYNs are always dropped; replies on connections opened from inside pass. */
  /**
   * (Added.) If true, an outbound SYN to a port not in `tcpPortsAllowed` is answered by the firewall
   * with a RST (the connect fails fast with 'refused'); default false: silently dropped ('timeout').
   */
  rejectWithRst?: boolean;
}

export type UdpRecv = (srcIp: number, srcPort: number, data: Uint8Array) => void;

export interface UdpSocket {
  readonly localPort: number;
  /** Queues a datagram; returns false if the socket is closed or the payload exceeds 65507 bytes. */
  send(dstIp: number, dstPort: number, data: Uint8Array): boolean;
  close(): void;
}

export interface TcpHandlers {
  /** Connection established (client side: after SYN/SYN-ACK; server side: not called, accept is the event). */
  onConnect?: () => void;
  /** In-order bytes. */
  onData?: (data: Uint8Array) => void;
  /** Closed by the peer (FIN/RST), by failure to connect (`reason` 'refused' | 'timeout'), or by a middlebox timeout. */
  onClose?: (reason: 'closed' | 'refused' | 'timeout' | 'reset') => void;
}

export interface TcpConn {
  readonly localPort: number;
  /** Remote address as seen by this host (after NAT translation for inbound connections). */
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly state: 'connecting' | 'open' | 'closed';
  /** Replace the event handlers (used by the acceptor of an inbound connection). */
  setHandlers(h: TcpHandlers): void;
  /** Queues bytes (segmented at 1460 B); returns false when not open. */
  send(data: Uint8Array): boolean;
  close(): void;
}

export interface HostCounters {
  udpPayloadSent: number; udpPayloadRecv: number;
  tcpPayloadSent: number; tcpPayloadRecv: number;
  /** Bytes on the wire including IPv4+UDP (28 B) / IPv4+TCP (40 B) headers and bare SYN/FIN/RST segments. */
  wireSent: number; wireRecv: number;
  packetsSent: number; packetsRecv: number;
}

export interface SimHost {
  readonly name: string;
  /** The host's own (possibly private) address. */
  readonly ip: number;
  readonly counters: HostCounters;
  /** Binds a UDP port (0 = ephemeral). Throws Error('EADDRINUSE') if taken. */
  udpBind(port: number, onRecv: UdpRecv): UdpSocket;
  /** Listens for TCP connections. Throws Error('EADDRINUSE') if taken. */
  tcpListen(port: number, onAccept: (conn: TcpConn) => void): { close(): void };
  /** Starts a TCP connection. `opts` (added, optional) lets a caller pick the local port. */
  tcpConnect(dstIp: number, dstPort: number, handlers: TcpHandlers, opts?: TcpConnectOpts): TcpConn;
}

/**
 * (Added.) Options for `SimHost.tcpConnect`.
 */
export interface TcpConnectOpts {
  /**
   * Local port to connect from (default: an ephemeral port). May equal a port this host listens on
   * (SO_REUSEADDR semantics), which is what TCP hole punching / simultaneous open needs. Throws
   * Error('EADDRINUSE') only if a connection with the same local port and remote endpoint exists.
   */
  localPort?: number;
}

/**
 * (Added.) Network-wide packet counters (`Network.stats`). Every packet an end host sends is counted
 * in `sent`; it then either arrives at a host (`delivered`), is dropped on the way (exactly one of
 * the drop reasons below other than `noListener`), or is still in flight. So at any time:
 *   sent = delivered + noRoute + natNoMapping + natFiltered + firewall + loss + hairpin + fault + in-flight.
 * `noListener` counts packets that arrived (so are also in `delivered`) but found no UDP socket / no
 * TCP listener. Packets generated by middleboxes (a firewall's RST) are not in `sent`/`delivered`.
 */
export interface NetStats {
  sent: number;
  delivered: number;
  /** Destination address unknown in the realm where the packet was routed. */
  noRoute: number;
  /** Inbound packet for a NAT external port with no live mapping (or expired one); outbound non-SYN TCP without a mapping. */
  natNoMapping: number;
  /** Inbound packet rejected by the NAT's filtering behaviour (or unsolicited SYN to a mapping). */
  natFiltered: number;
  /** Dropped by a firewall rule. */
  firewall: number;
  /** Random loss on an access link or a middlebox uplink. */
  loss: number;
  /** UDP datagram to an unbound port, or TCP SYN to a port without listener (answered by RST). */
  noListener: number;
  /** Packet from inside to the NAT's own public address while hairpinning is off. */
  hairpin: number;
  /** Dropped by an injected fault (`Network.addFault`). */
  fault: number;
}

/** What a packet capture tap sees (one record per IP packet, at the moment it is sent on a link). */
export interface CapturedPacket {
  timeUs: number;
  proto: 'udp' | 'tcp';
  srcIp: number; srcPort: number; dstIp: number; dstPort: number;
  /** TCP only. */
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean };
  seq?: number; ackNo?: number;
  payload: Uint8Array;
  /** Where it was seen: 'host:NAME' (sent by an end host) or 'nat:NAME' (after translation). */
  where: string;
}
