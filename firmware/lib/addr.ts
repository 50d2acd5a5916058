/** IPv4 helpers. Addresses are u32 in host order (1.2.3.4 = 0x01020304), as in the HAL. */

/** Dotted-quad text of an address, e.g. "192.168.1.10". */
export function ipToString(ip: u32): string {
  return (ip >> 24).toString() + "." + ((ip >> 16) & 255).toString() + "." + ((ip >> 8) & 255).toString() + "." + (ip & 255).toString();
}

/** "a.b.c.d:port" */
export function endpointToString(ip: u32, port: i32): string {
  return ipToString(ip) + ":" + port.toString();
}

/** Parses "a.b.c.d"; returns 0 (never a valid unicast address here) on error. */
export function ipParse(s: string): u32 {
  let ip: u32 = 0; let part: i32 = -1; let parts = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 46) { // '.'
      if (part < 0 || parts == 3) return 0;
      ip = (ip << 8) | <u32>part; part = -1; parts++;
    } else if (c >= 48 && c <= 57) {
      part = (part < 0 ? 0 : part) * 10 + (c - 48);
      if (part > 255) return 0;
    } else return 0;
  }
  if (part < 0 || parts != 3) return 0;
  return (ip << 8) | <u32>part;
}

/** RFC 1918 / RFC 6598 / loopback ranges: an address that cannot be reached from the public Internet. */
export function ipIsPrivate(ip: u32): bool {
  const a = ip >> 24; const b = (ip >> 16) & 255;
  return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) || (a == 100 && b >= 64 && b <= 127);
}
