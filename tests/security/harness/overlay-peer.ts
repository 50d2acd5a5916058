/**
 * An attacker's overlay client for the simulator, in JS: opens a TCP connection from a raw simulated host to a
 * supernode, runs the initiator side of the overlay's Noise_XX channel (firmware/sec/channel.ts: prologue
 * "p2pphone-chan-v1", frames [len u16][Noise message], then [len u16][AEAD([type][body])]) with any static key
 * and any certificate payload, and then sends and receives overlay messages. Used by the impersonation tests.
 */
import { NoiseHandshake, type NoiseCipher } from '../../../server/noise.ts';
import { FrameDecoder, encodeFrame } from '../../../server/service.ts';
import type { World } from '../../../host-sim/world.ts';
import type { SimHost, TcpConn } from '../../../host-sim/net/types.ts';

const PROLOGUE = new TextEncoder().encode('p2pphone-chan-v1');

export class OverlayPeer {
  readonly received: { type: number; body: Uint8Array; timeUs: number }[] = [];
  closed = false;
  ready = false;
  private conn: TcpConn;
  private hs: NoiseHandshake;
  private tx: NoiseCipher | null = null;
  private rx: NoiseCipher | null = null;
  private dec = new FrameDecoder(8192);
  private queue: Uint8Array[] = [];

  constructor(private readonly w: World, host: SimHost, snIp: number, snPort: number, noisePriv: Uint8Array, private readonly cert: Uint8Array) {
    this.hs = new NoiseHandshake('XX', true, PROLOGUE, { s: noisePriv });
    this.conn = host.tcpConnect(snIp, snPort, {
      onConnect: () => this.conn.send(encodeFrame(this.hs.writeMessage(new Uint8Array(0)))),
      onData: (d) => { for (const f of this.dec.push(d)) this.onFrame(f); },
      onClose: () => { this.closed = true; },
    });
  }

  private onFrame(f: Uint8Array): void {
    if (!this.ready) {
      this.hs.readMessage(f); // the supernode's certificate (if any) in the payload; not checked here
      this.conn.send(encodeFrame(this.hs.writeMessage(this.cert)));
      [this.tx, this.rx] = this.hs.split();
      this.ready = true;
      for (const m of this.queue) this.sendRaw(m);
      this.queue = [];
      return;
    }
    const pt = this.rx!.decrypt(new Uint8Array(0), f);
    this.received.push({ type: pt[0], body: pt.subarray(1), timeUs: this.w.sched.nowUs });
  }

  private sendRaw(m: Uint8Array): void { this.conn.send(encodeFrame(this.tx!.encrypt(new Uint8Array(0), m))); }

  /** Sends one overlay message [type][body] (queued until the channel is up). */
  send(type: number, body: Uint8Array): void {
    const m = new Uint8Array(1 + body.length);
    m[0] = type;
    m.set(body, 1);
    if (this.ready) this.sendRaw(m); else this.queue.push(m);
  }

  /** Runs the world until a message of `type` arrives (after `from` received ones) or `limitUs` passes. */
  waitFor(type: number, limitUs = 3_000_000, from = 0): { type: number; body: Uint8Array } | undefined {
    const find = () => this.received.slice(from).find((m) => m.type === type);
    this.w.runUntil(() => !!find() || this.closed, this.w.sched.nowUs + limitUs);
    return find();
  }

  close(): void { this.conn.close(); }
}

/** Byte writer for overlay bodies (big-endian). */
export class W {
  private b: number[] = [];
  u8(v: number) { this.b.push(v & 255); return this; }
  u16(v: number) { this.b.push((v >>> 8) & 255, v & 255); return this; }
  u32(v: number) { this.b.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255); return this; }
  bytes(x: Uint8Array) { for (const v of x) this.b.push(v); return this; }
  str8(s: string) { const e = new TextEncoder().encode(s); return this.u8(e.length).bytes(e); }
  get out() { return Uint8Array.from(this.b); }
}

/** A presence record (firmware/wire/record.ts) parsed from `b` at `off`; returns it and the offset after it. */
export function readRecord(b: Uint8Array, off: number): { user: string; devId: number; snIp: number; reflexIp: number; cert: Uint8Array; end: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ul = b[off];
  const user = new TextDecoder().decode(b.subarray(off + 1, off + 1 + ul));
  let o = off + 1 + ul + 1;
  const snIp = dv.getUint32(o); o += 6;
  const reflexIp = dv.getUint32(o); o += 6;
  o += 6; // local
  o += 1 + 2; // flags, tcpPort
  const devId = dv.getUint32(o); o += 4;
  const cl = dv.getUint16(o); o += 2;
  const cert = b.slice(o, o + cl);
  return { user, devId, snIp, reflexIp, cert, end: o + cl };
}
