/**
 * The far end of a firmware Noise channel (firmware/sec/channel.ts: Noise_XX_25519_ChaChaPoly_SHA256,
 * prologue "p2pphone-chan-v1", frames `[len u16][Noise message]`, then `[len u16][AEAD([type][body]) ‖ tag]`),
 * so the fuzzer can get past the handshake and feed hostile *plaintext* overlay messages to the parsers
 * behind it. Built on server/noise.ts (an independent implementation). Keys are fixed per connection
 * number, so a run is reproducible. The peer presents no certificate (allowed: a supernode has none).
 */
import { NoiseHandshake, type NoiseCipher } from '../../server/noise.js';

const PROLOGUE = new TextEncoder().encode('p2pphone-chan-v1');

function key(tag: number, n: number): Uint8Array { const k = new Uint8Array(32).fill(tag); new DataView(k.buffer).setUint32(0, n); return k; }

export class ChanPeer {
  private hs: NoiseHandshake | null;
  private tx: NoiseCipher | null = null;
  private rx: NoiseCipher | null = null;
  private buf: number[] = [];
  failed = false;
  /** corruptAt ≥ 0: flip one bit of our next handshake reply at that offset (fuzzes the firmware's message 2/3 parsing). */
  constructor(readonly initiator: boolean, n: number, private corruptAt = -1) {
    this.hs = new NoiseHandshake('XX', initiator, PROLOGUE, { s: key(0x51, 1), e: key(0xe5, n) });
  }
  get ready(): boolean { return this.tx !== null; }

  /** Initiator: message 1, framed. */
  start(): Uint8Array { return frame(this.hs!.writeMessage()); }

  /**
   * Bytes the firmware sent. Returns what to send back (handshake messages, framed) and the sealed messages
   * it could open.
   */
  fromFirmware(data: Uint8Array): { reply: Uint8Array[]; messages: Uint8Array[] } {
    const reply: Uint8Array[] = [];
    const messages: Uint8Array[] = [];
    if (this.failed) return { reply, messages };
    for (const b of data) this.buf.push(b);
    while (this.buf.length >= 2) {
      const n = (this.buf[0] << 8) | this.buf[1];
      if (this.buf.length < 2 + n) break;
      const msg = Uint8Array.from(this.buf.splice(0, 2 + n).slice(2));
      if (n === 0) continue; // keep-alive
      try {
        if (this.rx) { messages.push(new Uint8Array(this.rx.decrypt(new Uint8Array(0), msg))); continue; }
        const hs = this.hs!;
        hs.readMessage(msg);
        if (!hs.complete) {
          const m = hs.writeMessage();
          if (this.corruptAt >= 0 && m.length) { m[this.corruptAt % m.length] ^= 1 << (this.corruptAt & 7); this.corruptAt = -1; this.failed = true; }
          reply.push(frame(m));
        }
        if (hs.complete) this.finish();
      } catch { this.failed = true; this.buf = []; break; }
    }
    return { reply, messages };
  }

  private finish(): void {
    const [c1, c2] = this.hs!.split();
    if (this.initiator) { this.tx = c1; this.rx = c2; } else { this.tx = c2; this.rx = c1; }
    this.hs = null;
  }

  /** Seals one plaintext message as a frame (or frames it in clear while the channel is not ready). */
  seal(msg: Uint8Array): Uint8Array { return frame(this.tx ? this.tx.encrypt(new Uint8Array(0), msg) : msg); }
}

export function frame(b: Uint8Array): Uint8Array { const f = new Uint8Array(b.length + 2); f[0] = b.length >> 8; f[1] = b.length & 255; f.set(b, 2); return f; }

/** Splits `[len u16][msg]…` into messages; a trailing partial frame is returned whole as a last message. */
export function unframe(d: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i + 2 <= d.length) {
    const n = (d[i] << 8) | d[i + 1];
    if (i + 2 + n > d.length) break;
    out.push(d.subarray(i + 2, i + 2 + n));
    i += 2 + n;
  }
  if (i < d.length) out.push(d.subarray(i));
  return out;
}
