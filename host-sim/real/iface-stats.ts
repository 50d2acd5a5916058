/**
 * What the kernel really put on the wire, from the interface counters in /sys/class/net (all interfaces but
 * loopback). Inside a network namespace (`ip netns exec` mounts that namespace's sysfs) this is exactly the
 * traffic of the one host in it, TCP ACKs and options included — the reference the simulator's byte model
 * is compared with in the NAT lab.
 */
import * as fs from 'node:fs';

export interface IfaceCounters {
  /** IPv4/IPv6 packet bytes (link-layer headers removed: 14 B per frame on Ethernet-type devices). */
  ipBytesSent: number;
  ipBytesRecv: number;
  packetsSent: number;
  packetsRecv: number;
}

const SYS = '/sys/class/net';
const ARPHRD_ETHER = 1;

function num(file: string): number {
  try { return Number(fs.readFileSync(file, 'utf8').trim()) || 0; } catch { return 0; }
}

/** Sums the counters of every non-loopback interface, or returns null when /sys/class/net is unreadable. */
export function readIfaceCounters(): IfaceCounters | null {
  let names: string[];
  try { names = fs.readdirSync(SYS); } catch { return null; }
  const c: IfaceCounters = { ipBytesSent: 0, ipBytesRecv: 0, packetsSent: 0, packetsRecv: 0 };
  for (const n of names) {
    if (n === 'lo') continue;
    const d = `${SYS}/${n}`;
    const l2 = num(`${d}/type`) === ARPHRD_ETHER ? 14 : 0;
    const txp = num(`${d}/statistics/tx_packets`), rxp = num(`${d}/statistics/rx_packets`);
    c.ipBytesSent += num(`${d}/statistics/tx_bytes`) - l2 * txp;
    c.ipBytesRecv += num(`${d}/statistics/rx_bytes`) - l2 * rxp;
    c.packetsSent += txp;
    c.packetsRecv += rxp;
  }
  return c;
}
