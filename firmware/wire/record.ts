import { ByteReader, ByteWriter } from "../lib/bytes";
import { USER_MAX } from "./types";
import { CERT_MAX } from "../sec/cert";

/**
 * A presence record (docs/protocol.md §Presence record): where a user can be reached.
 * Layout: [ulen u8][user][status u8][snIp u32][snPort u16][reflexIp u32][reflexPort u16]
 *         [localIp u32][localPort u16][flags u8][tcpPort u16][devId u32]
 *         [certLen u16][certificate, certLen ≤ CERT_MAX bytes]   (29 + ulen + certLen bytes)
 * The certificate (issue #7, firmware/sec/cert.ts) binds the user to its identity keys; supernodes check it
 * before storing a record (firmware/sec/presence.ts), callers can check the callee's Noise key against it.
 */
export class PresenceRecord {
  user: string = "";
  status: u8 = 0;
  /** The supernode the user is connected to. */
  snIp: u32 = 0; snPort: i32 = 0;
  /** The user's UDP endpoint as a supernode saw it (server-reflexive candidate). */
  reflexIp: u32 = 0; reflexPort: i32 = 0;
  /** The user's own address and UDP port (host candidate). */
  localIp: u32 = 0; localPort: i32 = 0;
  /** FLAG_UDP_OK | FLAG_PUBLIC */
  flags: u8 = 0;
  /** TCP port for direct signaling when FLAG_PUBLIC. */
  tcpPort: i32 = 0;
  /** Device id (issue #8: one user, several phones): from the device's identity key; firmware/im/device.ts. */
  devId: u32 = 0;
  /** The user's certificate (certLen bytes; 0: none). */
  cert: StaticArray<u8> | null = null;
  certLen: i32 = 0;
  /** Supernode-local: this SN's connection handle of the client, or -1. Not on the wire. */
  connHandle: i32 = -1;
  updatedUs: i64 = 0;

  write(w: ByteWriter): void {
    w.str8(this.user).u8(this.status).u32(this.snIp).u16(<u32>this.snPort)
      .u32(this.reflexIp).u16(<u32>this.reflexPort).u32(this.localIp).u16(<u32>this.localPort)
      .u8(this.flags).u16(<u32>this.tcpPort).u32(this.devId);
    const c = this.cert;
    if (c !== null && this.certLen > 0) w.u16(<u32>this.certLen).bytes(changetype<usize>(c), this.certLen);
    else w.u16(0);
  }

  /** Copies a certificate (len bytes at p) into the record. */
  setCert(p: usize, len: i32): void {
    if (len <= 0 || len > CERT_MAX) { this.certLen = 0; return; }
    let c = this.cert;
    if (c === null || c.length < len) { c = new StaticArray<u8>(CERT_MAX); this.cert = c; }
    memory.copy(changetype<usize>(c), p, <usize>len);
    this.certLen = len;
  }

  /** Address of the certificate bytes (0 when none). */
  certPtr(): usize { const c = this.cert; return c === null || this.certLen == 0 ? 0 : changetype<usize>(c); }

  /** Reads a record; returns false (and leaves r.ok false) on a short or bad record. */
  read(r: ByteReader): bool {
    this.user = r.str8(USER_MAX);
    this.status = <u8>r.u8();
    this.snIp = r.u32(); this.snPort = <i32>r.u16();
    this.reflexIp = r.u32(); this.reflexPort = <i32>r.u16();
    this.localIp = r.u32(); this.localPort = <i32>r.u16();
    this.flags = <u8>r.u8(); this.tcpPort = <i32>r.u16();
    this.devId = r.u32();
    const n = <i32>r.u16();
    if (n > CERT_MAX) { r.ok = false; return false; }
    const p = r.take(n);
    if (r.ok) this.setCert(p, n);
    return r.ok && this.user.length > 0;
  }

  /** Routing address of this device: `user/devid` (8 lowercase hex digits); user names never contain '/'. */
  addr(): string { return deviceAddr(this.user, this.devId); }
}

/** `user/devid` (devid as 8 lowercase hex digits). */
export function deviceAddr(user: string, devId: u32): string {
  let h = "";
  for (let i = 7; i >= 0; i--) h += "0123456789abcdef".charAt(<i32>((devId >> (<u32>i * 4)) & 15));
  return user + "/" + h;
}

/** The user part of a routing address (the whole string when it has no '/'). */
export function addrUser(addr: string): string {
  const i = addr.indexOf("/");
  return i < 0 ? addr : addr.substring(0, i);
}
