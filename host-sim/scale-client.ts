/**
 * A raw overlay client for tests and the scale run (issue #5): opens a TCP connection to a supernode, runs the
 * Noise_XX channel handshake every overlay TCP connection starts with (firmware/sec/channel.ts; initiator, no
 * certificate, keys derived from the host address so runs stay reproducible), sends HELLO, then SEARCH frames,
 * and decodes SEARCH_RESP (docs/protocol.md §Distributed index). Also sends DHT_FIND datagrams (sealed as
 * between supernodes, host-sim/dgram-peer.ts) to ask one supernode whether it holds a record (index placement checks).
 */
import { createHash } from 'node:crypto';
import type { SimHost, TcpConn } from './net/types.js';
import type { Scheduler } from './net/scheduler.js';
import { NoiseHandshake, type NoiseCipher } from '../server/noise.ts';
import { DgramPeer } from './dgram-peer.ts';

export type SearchResult = 'online' | 'offline' | 'exists' | 'unknown' | 'error' | 'timeout';

export interface SearchOutcome {
  name: string;
  result: SearchResult;
  /** The user's supernode from the record ("ip:port"), when a record came back. */
  sn?: string;
  status?: number;
  ms: number;
  /** Bytes of the SEARCH and SEARCH_RESP frames on the client's link (sealed: each with its 16-byte tag). */
  bytes: number;
}

const MSG_HELLO = 0x10, MSG_SEARCH = 0x15, MSG_SEARCH_RESP = 0x16, MSG_DHT_FIND = 0x30, MSG_DHT_FOUND = 0x31;

function rawFrame(body: Uint8Array): Uint8Array {
  const f = new Uint8Array(2 + body.length);
  f[0] = body.length >> 8; f[1] = body.length & 255; f.set(body, 2);
  return f;
}

function ipStr(n: number): string { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'); }

/** Reads a presence record at o; returns its user, status, SN endpoint and the offset after it. */
function readRecord(b: Uint8Array, o: number): { user: string; status: number; sn: string; end: number } | null {
  if (o >= b.length) return null;
  const ul = b[o];
  const end = o + 1 + ul + 22;
  if (end > b.length) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const user = new TextDecoder().decode(b.subarray(o + 1, o + 1 + ul));
  const p = o + 1 + ul;
  return { user, status: b[p], sn: `${ipStr(dv.getUint32(p + 1))}:${dv.getUint16(p + 5)}`, end };
}

export class SearchClient {
  private conn: TcpConn;
  private buf = new Uint8Array(0);
  private nextTx = 1;
  private pending = new Map<number, { name: string; startUs: number; bytes: number; done: (o: SearchOutcome) => void }>();
  connected = false;
  private queue: Uint8Array[] = [];
  private hs: NoiseHandshake;
  private txc: NoiseCipher | null = null;
  private rxc: NoiseCipher | null = null;

  constructor(readonly host: SimHost, readonly sched: Scheduler, snIp: number, snPort: number) {
    const key = (what: string) => createHash('sha256').update(`scale-client ${what} ${host.ip}:${snIp}:${snPort}`).digest();
    this.hs = new NoiseHandshake('XX', true, new TextEncoder().encode('p2pphone-chan-v1'), { s: key('s'), e: key('e') });
    this.conn = host.tcpConnect(snIp, snPort, {
      onConnect: () => { this.conn.send(rawFrame(this.hs.writeMessage())); },
      onData: (d) => this.onData(d),
      onClose: () => { this.connected = false; },
    });
    // HELLO [udpPort u16][localIp u32][flags u8][reflexIp u32][reflexPort u16]: no UDP, not public.
    const hello = new Uint8Array(2 + 1 + 13);
    const dv = new DataView(hello.buffer);
    dv.setUint16(0, 14); hello[2] = MSG_HELLO;
    dv.setUint16(3, 0); dv.setUint32(5, host.ip >>> 0); hello[9] = 0;
    this.sendFrame(hello);
  }

  /** f = [len u16][type][body]: sealed as [len u16][ChaCha20-Poly1305([type][body]) ‖ tag] once the channel is up. */
  private sendFrame(f: Uint8Array): void {
    if (!this.connected) { this.queue.push(f); return; }
    this.conn.send(rawFrame(this.txc!.encrypt(new Uint8Array(0), f.subarray(2))));
  }

  /** Sends SEARCH for `name`; `done` gets the outcome (or 'timeout' after timeoutUs). */
  search(name: string, done: (o: SearchOutcome) => void, timeoutUs = 10_000_000): void {
    const txid = this.nextTx++;
    const nb = new TextEncoder().encode(name);
    const f = new Uint8Array(2 + 1 + 4 + 1 + nb.length);
    const dv = new DataView(f.buffer);
    dv.setUint16(0, f.length - 2); f[2] = MSG_SEARCH; dv.setUint32(3, txid); f[7] = nb.length; f.set(nb, 8);
    const startUs = this.sched.nowUs;
    this.pending.set(txid, { name, startUs, bytes: f.length + 16, done });
    this.sendFrame(f);
    this.sched.at(startUs + timeoutUs, () => {
      const p = this.pending.get(txid);
      if (!p) return;
      this.pending.delete(txid);
      p.done({ name, result: 'timeout', ms: timeoutUs / 1000, bytes: p.bytes });
    });
  }

  private onData(d: Uint8Array): void {
    const nb = new Uint8Array(this.buf.length + d.length);
    nb.set(this.buf); nb.set(d, this.buf.length);
    this.buf = nb;
    while (this.buf.length >= 2) {
      const len = (this.buf[0] << 8) | this.buf[1];
      if (this.buf.length < 2 + len) break;
      let fr = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      if (len === 0) continue;
      if (!this.rxc) {
        // Noise message 2 (e, ee, s, es + the SN's certificate, if any): answer with message 3, then split.
        try { this.hs.readMessage(fr); this.conn.send(rawFrame(this.hs.writeMessage())); } catch { this.conn.close(); return; }
        [this.txc, this.rxc] = this.hs.split();
        this.connected = true;
        for (const q of this.queue) this.sendFrame(q);
        this.queue = [];
        continue;
      }
      try { fr = this.rxc.decrypt(new Uint8Array(0), fr); } catch { this.conn.close(); return; }
      // Bytes as on the wire: the sealed frame (16 B of tag more than the plain one).
      if (fr.length > 0 && fr[0] === MSG_SEARCH_RESP) this.onResp(fr, len + 2);
    }
  }

  private onResp(fr: Uint8Array, frameBytes: number): void {
    if (fr.length < 6) return;
    const dv = new DataView(fr.buffer, fr.byteOffset, fr.byteLength);
    const txid = dv.getUint32(1);
    const p = this.pending.get(txid);
    if (!p) return;
    this.pending.delete(txid);
    const found = fr[5];
    const out: SearchOutcome = { name: p.name, result: 'error', ms: (this.sched.nowUs - p.startUs) / 1000, bytes: p.bytes + frameBytes };
    if (found === 1) {
      const r = readRecord(fr, 6);
      out.result = 'online'; out.sn = r?.sn; out.status = r?.status;
    } else {
      const reason = fr[6];
      if (reason === 2) { const r = readRecord(fr, 7); out.result = 'offline'; out.sn = r?.sn; out.status = r?.status; }
      else out.result = reason === 0 ? 'unknown' : reason === 1 ? 'exists' : 'error';
    }
    p.done(out);
  }

  close(): void { this.conn.close(); }
}

/**
 * Asks the supernode at ip:port (UDP DHT_FIND with wantValue) whether it holds `name`'s record; `done` gets
 * true/false, or null on no answer within 1 s. `srcPort` is a UDP port the host may bind.
 */
export function probeHolder(host: SimHost, sched: Scheduler, ip: number, port: number, name: string, srcPort: number, done: (held: boolean | null) => void): void {
  let answered = false;
  // Supernodes accept DHT messages only sealed (firmware/sec/dgram.ts): speak it as a peer supernode would.
  const sock = new DgramPeer(host, srcPort, `probe ${host.ip}:${srcPort}`);
  sock.onMessage = (_src, _sport, data) => {
    if (answered || data[0] !== MSG_DHT_FOUND) return;
    answered = true;
    sock.close();
    done(data[5] === 1);
  };
  const nb = new TextEncoder().encode(name);
  const f = new Uint8Array(1 + 4 + 8 + 1 + 1 + nb.length);
  f[0] = MSG_DHT_FIND; new DataView(f.buffer).setUint32(1, 0xfeed0000 + srcPort);
  f[13] = 1; f[14] = nb.length; f.set(nb, 15);
  sock.send(ip, port, f);
  sched.at(sched.nowUs + 1_000_000, () => { if (!answered) { answered = true; sock.close(); done(null); } });
}
