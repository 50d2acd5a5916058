/**
 * The host side of the supernodes' sealed datagrams (firmware/sec/dgram.ts, docs/security.md §Backbone), for
 * tests and tools that talk to supernodes over UDP as a peer supernode would (DHT_FIND probes, attacks):
 * initiator only, Noise_XX_25519_ChaChaPoly_SHA256 with node:crypto (server/noise.ts), prologue
 * "p2pphone-dgram-v1".
 *
 *   0x37 INIT  [sidI u32][e 32]            0x38 REPLY [sidI u32][sidR u32][e, s, tag: 96]
 *   0x39 FIRST [sidR u32][s 48][message ‖ tag 16]
 *   0x3A DATA  [sid u32][ctr u32][ChaCha20-Poly1305(k, ctr, ad = the 9-byte header, message) ‖ tag 16]
 *   0x3B RESET [sid u32]
 */
import { createHash } from 'node:crypto';
import type { SimHost } from './net/types.js';
import { NoiseHandshake, aeadDecrypt, aeadEncrypt } from '../server/noise.ts';

export const DGRAM_INIT = 0x37, DGRAM_REPLY = 0x38, DGRAM_FIRST = 0x39, DGRAM_DATA = 0x3A, DGRAM_RESET = 0x3B;
const PROLOGUE = new TextEncoder().encode('p2pphone-dgram-v1');

interface Session {
  sidI: number; sidR: number; ip: number; port: number;
  hs: NoiseHandshake | null; txKey: Uint8Array | null; rxKey: Uint8Array | null; ctr: number;
  queue: Uint8Array[];
}

const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const getU32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export class DgramPeer {
  private sock: { send(ip: number, port: number, d: Uint8Array): boolean; close(): void };
  private sessions = new Map<string, Session>();
  private bySid = new Map<number, Session>();
  private n = 0;
  /** Every datagram this peer sent, as sent (tests replay or tamper with them). */
  readonly sent: { ip: number; port: number; data: Uint8Array }[] = [];
  /** Opened messages `[type][body]` from supernodes. */
  onMessage: (ip: number, port: number, msg: Uint8Array) => void = () => {};
  resets = 0;

  /** `seed` makes the static and ephemeral keys (and session ids) reproducible. */
  constructor(readonly host: SimHost, readonly localPort: number, readonly seed: string) {
    this.sock = host.udpBind(localPort, (ip, port, d) => this.onUdp(ip, port, d));
  }

  private key(what: string): Buffer { return createHash('sha256').update(`dgram-peer ${this.seed} ${what} ${this.n++}`).digest(); }

  /** Sends a sealed message `[type][body]` to the supernode at ip:port (a handshake first on first contact). */
  send(ip: number, port: number, msg: Uint8Array): void {
    const k = `${ip}:${port}`;
    let s = this.sessions.get(k);
    if (s?.txKey) { this.sendData(s, msg); return; }
    if (s) { s.queue.push(msg); return; }
    const sidI = this.key('sid').readUInt32BE(0) || 1;
    s = { sidI, sidR: 0, ip, port, hs: new NoiseHandshake('XX', true, PROLOGUE, { s: createHash('sha256').update(`dgram-peer ${this.seed} static`).digest(), e: this.key('e') }), txKey: null, rxKey: null, ctr: 0, queue: [msg] };
    this.sessions.set(k, s);
    this.bySid.set(sidI, s);
    this.raw(ip, port, Uint8Array.from([DGRAM_INIT, ...u32(sidI), ...s.hs!.writeMessage()]));
  }

  /** Sends bytes as they are (forged or replayed datagrams). */
  raw(ip: number, port: number, d: Uint8Array): void { this.sent.push({ ip, port, data: Uint8Array.from(d) }); this.sock.send(ip, port, d); }

  /** Whether a session with ip:port is ready. */
  ready(ip: number, port: number): boolean { return !!this.sessions.get(`${ip}:${port}`)?.txKey; }

  private sendData(s: Session, msg: Uint8Array): void {
    const hdr = Uint8Array.from([DGRAM_DATA, ...u32(s.sidR), ...u32(s.ctr)]);
    const ct = aeadEncrypt(s.txKey!, BigInt(s.ctr), hdr, msg);
    s.ctr++;
    this.raw(s.ip, s.port, Uint8Array.from([...hdr, ...ct]));
  }

  private onUdp(ip: number, port: number, d: Uint8Array): void {
    if (d[0] === DGRAM_REPLY && d.length === 105) {
      const s = this.bySid.get(getU32(d, 1));
      if (!s || !s.hs || s.ip !== ip || s.port !== port) return;
      try { s.hs.readMessage(d.subarray(9)); } catch { return; }
      s.sidR = getU32(d, 5);
      const first = s.queue.shift() ?? new Uint8Array(0);
      const m3 = s.hs.writeMessage(first);
      const [c1, c2] = s.hs.split();
      s.txKey = c1.k; s.rxKey = c2.k; s.hs = null;
      this.raw(ip, port, Uint8Array.from([DGRAM_FIRST, ...u32(s.sidR), ...m3]));
      for (const q of s.queue.splice(0)) this.sendData(s, q);
    } else if (d[0] === DGRAM_DATA && d.length >= 26) {
      const s = this.bySid.get(getU32(d, 1));
      if (!s?.rxKey || s.ip !== ip || s.port !== port) return;
      try { this.onMessage(ip, port, aeadDecrypt(s.rxKey, BigInt(getU32(d, 5)), d.subarray(0, 9), d.subarray(9))); } catch { /* not ours */ }
    } else if (d[0] === DGRAM_RESET && d.length === 5) {
      this.resets++;
      for (const [k, s] of this.sessions) if (s.sidR === getU32(d, 1) && s.ip === ip && s.port === port) { this.sessions.delete(k); this.bySid.delete(s.sidI); }
    }
  }

  close(): void { this.sock.close(); }
}
