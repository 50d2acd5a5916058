import { ByteReader, ByteWriter } from "../lib/bytes";
import { USER_MAX } from "./types";

/**
 * A presence record (docs/protocol.md §Presence record): where a user can be reached.
 * Layout: [ulen u8][user][status u8][snIp u32][snPort u16][reflexIp u32][reflexPort u16]
 *         [localIp u32][localPort u16][flags u8][tcpPort u16]   (23 + ulen bytes)
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
  /** Supernode-local: this SN's connection handle of the client, or -1. Not on the wire. */
  connHandle: i32 = -1;
  updatedUs: i64 = 0;

  write(w: ByteWriter): void {
    w.str8(this.user).u8(this.status).u32(this.snIp).u16(<u32>this.snPort)
      .u32(this.reflexIp).u16(<u32>this.reflexPort).u32(this.localIp).u16(<u32>this.localPort)
      .u8(this.flags).u16(<u32>this.tcpPort);
  }

  /** Reads a record; returns false (and leaves r.ok false) on a short or bad record. */
  read(r: ByteReader): bool {
    this.user = r.str8(USER_MAX);
    this.status = <u8>r.u8();
    this.snIp = r.u32(); this.snPort = <i32>r.u16();
    this.reflexIp = r.u32(); this.reflexPort = <i32>r.u16();
    this.localIp = r.u32(); this.localPort = <i32>r.u16();
    this.flags = <u8>r.u8(); this.tcpPort = <i32>r.u16();
    return r.ok && this.user.length > 0;
  }
}
