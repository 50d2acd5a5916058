/** IPv4 helpers. Addresses are unsigned 32-bit integers held in JS numbers. */

/** Parses dotted-quad notation ('1.2.3.4'). Throws RangeError on anything else. */
export function ipFromString(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address: '${s}'`);
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) throw new RangeError(`invalid IPv4 address: '${s}'`);
    const v = Number(p);
    if (v > 255) throw new RangeError(`invalid IPv4 address: '${s}'`);
    n = n * 256 + v;
  }
  return n;
}

/** Formats an address as dotted-quad. Throws RangeError if `n` is not an integer in [0, 2^32). */
export function ipToString(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`invalid IPv4 address: ${n}`);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Accepts either form and returns the numeric address (validated). */
export function toIp(ip: number | string): number {
  if (typeof ip === 'string') return ipFromString(ip);
  ipToString(ip); // validates
  return ip;
}

/** True if `ip` lies in `base/prefixLen`. */
export function inSubnet(ip: number, base: number, prefixLen: number): boolean {
  if (prefixLen <= 0) return true;
  const mask = prefixLen >= 32 ? 0xffffffff : (0xffffffff << (32 - prefixLen)) >>> 0;
  return ((ip & mask) >>> 0) === ((base & mask) >>> 0);
}

const PRIVATE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [ipFromString('10.0.0.0'), 8], // RFC 1918
  [ipFromString('172.16.0.0'), 12], // RFC 1918
  [ipFromString('192.168.0.0'), 16], // RFC 1918
  [ipFromString('100.64.0.0'), 10], // RFC 6598 shared address space (carrier-grade NAT)
  [ipFromString('127.0.0.0'), 8], // loopback
];

/** True for 10/8, 172.16/12, 192.168/16, 100.64/10 and 127/8. */
export function isPrivate(ip: number): boolean {
  for (const [base, len] of PRIVATE_RANGES) if (inSubnet(ip, base, len)) return true;
  return false;
}
