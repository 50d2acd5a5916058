/**
 * How a live node's IPv4 addresses look to the firmware.
 *
 * The firmware (firmware/lib/addr.ts `ipIsPrivate`) treats 127/8 like RFC 1918 space: a node bound to
 * loopback would never take the supernode role and every phone would think it sits behind a NAT. For a
 * loopback deployment (`npm run demo:live`, tests) the host therefore presents 127.0.x.y to the firmware as
 * 198.18.x.y (RFC 2544 benchmarking space, never routed on the Internet) and translates back on every send
 * and receive — a consistent 1:1 mapping, like a static NAT inside the host. Every other address is shown
 * unchanged, so in the NAT lab (real namespaces, real addresses) the firmware sees exactly what the kernel
 * sees.
 */
import { ipFromString, ipToString } from '../net/ip.js';

const LOOPBACK_NET = ipFromString('127.0.0.0');
const ALIAS_NET = ipFromString('198.18.0.0');
const MASK16 = 0xffff0000;

export interface AddressView {
  /** Address as the firmware sees it (u32) for a real address. */
  toFirmware(realIp: number): number;
  /** Real address to use on a socket for an address the firmware gave. */
  toReal(fwIp: number): number;
  /** True when the view changes anything (for a one-line notice). */
  readonly aliased: boolean;
}

/** The identity view: the firmware sees real addresses. */
export const IDENTITY_VIEW: AddressView = { toFirmware: (ip) => ip, toReal: (ip) => ip, aliased: false };

/** 127.0.x.y ↔ 198.18.x.y (both /16); other addresses unchanged. */
export const LOOPBACK_ALIAS_VIEW: AddressView = {
  toFirmware: (ip) => (((ip & MASK16) >>> 0) === LOOPBACK_NET ? (ALIAS_NET | (ip & 0xffff)) >>> 0 : ip),
  toReal: (ip) => (((ip & MASK16) >>> 0) === ALIAS_NET ? (LOOPBACK_NET | (ip & 0xffff)) >>> 0 : ip),
  aliased: true,
};

/** The view for a node bound to `bindIp` (dotted quad): the loopback alias for 127.0/16, else identity. */
export function viewFor(bindIp: string): AddressView {
  return ((ipFromString(bindIp) & MASK16) >>> 0) === LOOPBACK_NET ? LOOPBACK_ALIAS_VIEW : IDENTITY_VIEW;
}

/** "a.b.c.d:port" with the address as the firmware would see it. */
export function fwEndpoint(view: AddressView, realIp: string, port: number): string {
  return `${ipToString(view.toFirmware(ipFromString(realIp)))}:${port}`;
}
