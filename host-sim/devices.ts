/**
 * Simulated devices behind the HAL (hal/ABI.md): flash, LCD, audio codec chip, UART and crypto engine.
 * Each is plain state the simulator and tests can inspect.
 */
import * as crypto from 'node:crypto';

/** Flash key/value store. `write` is atomic (a record is replaced whole), as the HAL promises. */
export class Flash {
  readonly records = new Map<number, Uint8Array>();
  writes = 0;
  static readonly RECORD_MAX = 4096;

  read(key: number): Uint8Array | undefined { return this.records.get(key); }
  write(key: number, data: Uint8Array): boolean {
    if (data.length > Flash.RECORD_MAX) return false;
    this.records.set(key, Uint8Array.from(data));
    this.writes++;
    return true;
  }
  erase(key: number): boolean { return this.records.delete(key); }
}

/** Character LCD: rows × cols of ASCII. */
export class Lcd {
  readonly lines: string[];
  /** Every full-screen state after a write, with its virtual time (for tests and the console). */
  readonly history: { timeUs: number; text: string }[] = [];
  constructor(readonly rows = 4, readonly cols = 24) {
    this.lines = Array.from({ length: rows }, () => ' '.repeat(cols));
  }
  write(row: number, col: number, bytes: Uint8Array, timeUs: number): number {
    if (row < 0 || row >= this.rows || col < 0 || col >= this.cols) return -3;
    const n = Math.min(bytes.length, this.cols - col);
    let s = '';
    for (let i = 0; i < n; i++) { const c = bytes[i]; s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '?'; }
    const line = this.lines[row];
    this.lines[row] = line.slice(0, col) + s + line.slice(col + n);
    const text = this.text();
    const last = this.history[this.history.length - 1];
    if (!last || last.text !== text) {
      if (last && last.timeUs === timeUs) last.text = text; else this.history.push({ timeUs, text });
      if (this.history.length > 2000) this.history.shift();
    }
    return n;
  }
  clear(): void { for (let i = 0; i < this.rows; i++) this.lines[i] = ' '.repeat(this.cols); }
  /** The screen as text, one line per row. */
  text(): string { return this.lines.join('\n'); }
}

/** Where a microphone's samples come from: a PCM buffer at the codec rate, started on demand. */
export class MicSource {
  private pos = 0;
  playing = false;
  /** Samples actually captured (what "the microphone heard"), for out/…-mic.wav. */
  readonly captured: number[] = [];
  constructor(private pcm: Int16Array = new Int16Array(0)) {}
  set(pcm: Int16Array): void { this.pcm = pcm; this.pos = 0; }
  start(): void { this.playing = true; }
  get remaining(): number { return this.pcm.length - this.pos; }
  /** Fills `out` with the next block (silence when stopped or exhausted). */
  read(out: Int16Array): void {
    for (let i = 0; i < out.length; i++) {
      const v = this.playing && this.pos < this.pcm.length ? this.pcm[this.pos++] : 0;
      out[i] = v;
      if (this.playing) this.captured.push(v);
    }
  }
}

/** The codec chip: 10 ms blocks while started; speaker output is appended to `speaker`. */
export class AudioDevice {
  rateHz = 0;
  running = false;
  readonly mic = new MicSource();
  readonly speaker: number[] = [];
  /** Virtual time of the first speaker sample (−1 before any). */
  speakerStartUs = -1;
  starts = 0;
}

/** The debug UART: bytes the firmware wrote (console output). */
export class Uart {
  readonly out: number[] = [];
  onOutput?: (bytes: Uint8Array) => void;
  text(): string { return Buffer.from(this.out).toString('utf8'); }
}

// --- crypto engine (node:crypto) ------------------------------------------------------------

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function x25519Priv(raw: Uint8Array) { return crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: 'der', type: 'pkcs8' }); }
function x25519Pub(raw: Uint8Array) { return crypto.createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: 'der', type: 'spki' }); }
function ed25519Priv(seed: Uint8Array) { return crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' }); }
function ed25519Pub(raw: Uint8Array) { return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' }); }

export const cryptoEngine = {
  sha256(data: Uint8Array): Uint8Array { return crypto.createHash('sha256').update(data).digest(); },
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array { return crypto.createHmac('sha256', key).update(data).digest(); },
  x25519Public(priv: Uint8Array): Uint8Array {
    const der = crypto.createPublicKey(x25519Priv(priv)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  },
  /** Returns null for an all-zero shared secret (small-order public key). */
  x25519(priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
    try {
      const s = crypto.diffieHellman({ privateKey: x25519Priv(priv), publicKey: x25519Pub(pub) });
      return s.every((b) => b === 0) ? null : new Uint8Array(s);
    } catch { return null; }
  },
  aeadSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
    const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    if (aad.length) c.setAAD(aad, { plaintextLength: pt.length });
    const ct = Buffer.concat([c.update(pt), c.final()]);
    return Buffer.concat([ct, c.getAuthTag()]);
  },
  /** Returns null when the tag does not verify. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array | null {
    if (ct.length < 16) return null;
    try {
      const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      if (aad.length) d.setAAD(aad, { plaintextLength: ct.length - 16 });
      d.setAuthTag(ct.subarray(ct.length - 16));
      return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
    } catch { return null; }
  },
  ed25519Public(seed: Uint8Array): Uint8Array {
    const der = crypto.createPublicKey(ed25519Priv(seed)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  },
  ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array { return new Uint8Array(crypto.sign(null, msg, ed25519Priv(seed))); },
  ed25519Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
    try { return crypto.verify(null, msg, ed25519Pub(pub), sig); } catch { return false; }
  },
};
