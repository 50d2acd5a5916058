/**
 * Packet capture of the simulated network in libpcap format (the classic `.pcap` of tcpdump, Wireshark and
 * tshark: magic 0xa1b2c3d4, microsecond timestamps, LINKTYPE_ETHERNET), fed by `Network.addTap`.
 *
 * The simulator moves payloads, not frames, so each captured packet is given synthesized headers:
 *  - Ethernet II: locally administered MACs 02:00:a:b:c:d made from the IPv4 addresses, EtherType 0x0800;
 *  - IPv4 (RFC 791): 20-byte header, DF set, TTL 64, an identification counter, correct header checksum;
 *  - UDP (RFC 768) with the pseudo-header checksum, or TCP (RFC 793) with the simulated sequence and
 *    acknowledgement numbers and flags, a 20-byte header (no options), window 65535, correct checksum.
 * Timestamps are the virtual time of the tap (when the packet was put on a link), counted from the epoch: a
 * capture of seed N is byte-for-byte reproducible. Every tap point is recorded — the sending host and, for
 * NATed traffic, the NAT after translation — so a call through a NAT shows each packet on both sides of it,
 * as a capture on both interfaces of the NAT would. The simulated TCP sends no pure ACKs (its segments are
 * acknowledged implicitly), so Wireshark's TCP analysis may flag "ACKed unseen segment"; the bytes are right.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CapturedPacket } from './net/types.js';

const LINKTYPE_ETHERNET = 1;
const ETH_LEN = 14;
const IP_LEN = 20;
const UDP_LEN = 8;
const TCP_LEN = 20;
const FLUSH_BYTES = 1 << 20;

/** One's-complement sum of 16-bit words (RFC 1071), folded, not yet inverted. */
function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  for (let i = 0; i + 1 < len; i += 2) s += (buf[off + i] << 8) | buf[off + i + 1];
  if (len & 1) s += buf[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The Internet checksum (RFC 1071) of `len` bytes at `off`, with an initial partial sum. */
export function inetChecksum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  return ~sum16(buf, off, len, acc) & 0xffff;
}

/**
 * Builds one Ethernet frame for a captured packet. Returns the frame bytes (Ethernet + IPv4 + UDP/TCP + payload).
 * `ipId` is the IPv4 identification field.
 */
export function frameFor(p: CapturedPacket, ipId: number): Uint8Array {
  const l4 = p.proto === 'udp' ? UDP_LEN : TCP_LEN;
  const ipTotal = IP_LEN + l4 + p.payload.length;
  const f = new Uint8Array(ETH_LEN + ipTotal);
  const dv = new DataView(f.buffer);
  // Ethernet: dst, src, type
  f[0] = 0x02; f[1] = 0; dv.setUint32(2, p.dstIp >>> 0);
  f[6] = 0x02; f[7] = 0; dv.setUint32(8, p.srcIp >>> 0);
  dv.setUint16(12, 0x0800);
  // IPv4
  const ip = ETH_LEN;
  f[ip] = 0x45; f[ip + 1] = 0;
  dv.setUint16(ip + 2, ipTotal);
  dv.setUint16(ip + 4, ipId & 0xffff);
  dv.setUint16(ip + 6, 0x4000); // DF
  f[ip + 8] = 64;
  f[ip + 9] = p.proto === 'udp' ? 17 : 6;
  dv.setUint32(ip + 12, p.srcIp >>> 0);
  dv.setUint32(ip + 16, p.dstIp >>> 0);
  dv.setUint16(ip + 10, inetChecksum(f, ip, IP_LEN));
  // L4
  const t = ip + IP_LEN;
  const l4Len = l4 + p.payload.length;
  dv.setUint16(t, p.srcPort);
  dv.setUint16(t + 2, p.dstPort);
  if (p.proto === 'udp') {
    dv.setUint16(t + 4, l4Len);
  } else {
    const fl = p.flags ?? {};
    dv.setUint32(t + 4, (p.seq ?? 0) >>> 0);
    dv.setUint32(t + 8, fl.ack ? (p.ackNo ?? 0) >>> 0 : 0);
    f[t + 12] = (TCP_LEN / 4) << 4;
    f[t + 13] = (fl.fin ? 1 : 0) | (fl.syn ? 2 : 0) | (fl.rst ? 4 : 0) | (p.payload.length > 0 ? 8 : 0) | (fl.ack ? 16 : 0);
    dv.setUint16(t + 14, 65535);
  }
  f.set(p.payload, t + l4);
  // pseudo-header: src, dst, zero, protocol, L4 length
  let ps = sum16(f, ip + 12, 8);
  ps += f[ip + 9] + l4Len;
  let c = inetChecksum(f, t, l4Len, ps);
  if (p.proto === 'udp' && c === 0) c = 0xffff; // RFC 768: 0 means "no checksum"
  dv.setUint16(t + (p.proto === 'udp' ? 6 : 16), c);
  return f;
}

/** Streams captured packets to a libpcap file. */
export class PcapWriter {
  private readonly fd: number;
  private buf: Buffer[] = [];
  private buffered = 0;
  private ipId = 0;
  packets = 0;

  /** Creates (truncates) `file`, writing the global header. Throws with the OS error on failure. */
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.fd = fs.openSync(file, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8); h.writeUInt32LE(0, 12);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.push(h);
  }

  /** Appends one packet (time in µs). */
  write(p: CapturedPacket): void {
    const frame = frameFor(p, this.ipId++);
    const rec = Buffer.alloc(16);
    const t = Math.max(0, Math.floor(p.timeUs));
    rec.writeUInt32LE(Math.floor(t / 1e6), 0);
    rec.writeUInt32LE(t % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    this.push(rec);
    this.push(Buffer.from(frame.buffer, frame.byteOffset, frame.length));
    this.packets++;
  }

  private push(b: Buffer): void {
    this.buf.push(b);
    this.buffered += b.length;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.buffered === 0) return;
    fs.writeSync(this.fd, Buffer.concat(this.buf));
    this.buf = [];
    this.buffered = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/**
 * Captures everything `net` carries into `file` until the returned function is called (it also closes the
 * file and returns the number of packets written).
 */
export function capturePcap(net: { addTap(fn: (p: CapturedPacket) => void): () => void }, file: string): () => number {
  const w = new PcapWriter(file);
  const remove = net.addTap((p) => w.write(p));
  return () => { remove(); w.close(); return w.packets; };
}
