/**
 * Noise Protocol Framework (noiseprotocol.org, revision 34) on node:crypto, for the login server and the
 * tests: Noise_<PATTERN>_25519_ChaChaPoly_SHA256. Written independently of the firmware's
 * firmware/sec/noise.ts so each checks the other (tests/security/security-noise.test.ts), and both against
 * the published IK test vector.
 *
 *   const hs = new NoiseHandshake('IK', initiator, prologue, { s: priv32?, rs: pub32?, e: priv32? });
 *   hs.writeMessage(payload) → Uint8Array;  hs.readMessage(msg) → payload (throws NoiseError on failure)
 *   hs.complete; hs.split() → [c1 (initiator→responder), c2]; hs.handshakeHash; hs.rs (peer static, or null)
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { x25519, x25519Public } from './keys.ts';

export class NoiseError extends Error {}

type Tok = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

/** pre: [initiator's s pre-known, responder's s pre-known]; msgs: token lists, alternating from the initiator. */
const PATTERNS: Record<string, { pre: [boolean, boolean]; msgs: Tok[][] }> = {
  N: { pre: [false, true], msgs: [['e', 'es']] },
  K: { pre: [true, true], msgs: [['e', 'es', 'ss']] },
  X: { pre: [false, true], msgs: [['e', 'es', 's', 'ss']] },
  NN: { pre: [false, false], msgs: [['e'], ['e', 'ee']] },
  NK: { pre: [false, true], msgs: [['e', 'es'], ['e', 'ee']] },
  NX: { pre: [false, false], msgs: [['e'], ['e', 'ee', 's', 'es']] },
  XN: { pre: [false, false], msgs: [['e'], ['e', 'ee'], ['s', 'se']] },
  XK: { pre: [false, true], msgs: [['e', 'es'], ['e', 'ee'], ['s', 'se']] },
  XX: { pre: [false, false], msgs: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']] },
  KN: { pre: [true, false], msgs: [['e'], ['e', 'ee', 'se']] },
  KK: { pre: [true, true], msgs: [['e', 'es', 'ss'], ['e', 'ee', 'se']] },
  KX: { pre: [true, false], msgs: [['e'], ['e', 'ee', 'se', 's', 'es']] },
  IN: { pre: [false, false], msgs: [['e', 's'], ['e', 'ee', 'se']] },
  IK: { pre: [false, true], msgs: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']] },
  IX: { pre: [false, false], msgs: [['e', 's'], ['e', 'ee', 'se', 's', 'es']] },
};

const MAX_NONCE = 0xffffffffffffffffn;

function nonceBytes(n: bigint): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(n, 4);
  return b;
}

function hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** §4.3 HKDF with 2 or 3 outputs. */
export function noiseHkdf(ck: Uint8Array, ikm: Uint8Array, n: 2 | 3): Buffer[] {
  const t = hmac(ck, ikm);
  const o1 = hmac(t, Uint8Array.of(1));
  const o2 = hmac(t, o1, Uint8Array.of(2));
  if (n === 2) return [o1, o2];
  return [o1, o2, hmac(t, o2, Uint8Array.of(3))];
}

export function aeadEncrypt(k: Uint8Array, n: bigint, ad: Uint8Array, pt: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', k, nonceBytes(n), { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

export function aeadDecrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ct: Uint8Array): Buffer {
  if (ct.length < 16) throw new NoiseError('ciphertext shorter than a tag');
  const d = createDecipheriv('chacha20-poly1305', k, nonceBytes(n), { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: ct.length - 16 });
  d.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  } catch {
    throw new NoiseError('authentication failed');
  }
}

/** §5.1 CipherState. */
export class NoiseCipher {
  n = 0n;
  constructor(public k: Uint8Array | null) {}
  encrypt(ad: Uint8Array, pt: Uint8Array): Buffer {
    if (!this.k) return Buffer.from(pt);
    if (this.n === MAX_NONCE) throw new NoiseError('nonce exhausted');
    const out = aeadEncrypt(this.k, this.n, ad, pt);
    this.n++;
    return out;
  }
  decrypt(ad: Uint8Array, ct: Uint8Array): Buffer {
    if (!this.k) return Buffer.from(ct);
    if (this.n === MAX_NONCE) throw new NoiseError('nonce exhausted');
    const out = aeadDecrypt(this.k, this.n, ad, ct);
    this.n++;
    return out;
  }
  rekey(): void {
    if (!this.k) return;
    this.k = aeadEncrypt(this.k, MAX_NONCE, new Uint8Array(0), new Uint8Array(32)).subarray(0, 32);
  }
}

export class NoiseHandshake {
  readonly protocolName: string;
  private ck: Buffer;
  private h: Buffer;
  private cs = new NoiseCipher(null);
  private readonly msgs: Tok[][];
  private idx = 0;
  private s: { priv: Uint8Array; pub: Uint8Array } | null = null;
  private e: { priv: Uint8Array; pub: Uint8Array } | null = null;
  rs: Uint8Array | null = null;
  re: Uint8Array | null = null;

  constructor(
    pattern: string,
    readonly initiator: boolean,
    prologue: Uint8Array,
    keys: { s?: Uint8Array; rs?: Uint8Array; e?: Uint8Array } = {},
  ) {
    const p = PATTERNS[pattern];
    if (!p) throw new NoiseError(`unknown pattern ${pattern}`);
    this.msgs = p.msgs;
    this.protocolName = `Noise_${pattern}_25519_ChaChaPoly_SHA256`;
    const name = Buffer.from(this.protocolName, 'ascii');
    this.h = name.length <= 32 ? Buffer.concat([name, Buffer.alloc(32 - name.length)]) : createHash('sha256').update(name).digest();
    this.ck = Buffer.from(this.h);
    if (keys.s) this.s = { priv: keys.s, pub: x25519Public(keys.s) };
    if (keys.e) this.e = { priv: keys.e, pub: x25519Public(keys.e) };
    if (keys.rs) this.rs = keys.rs;
    this.mixHash(prologue);
    const [iPre, rPre] = p.pre;
    if (iPre) this.mixHash(this.need(initiator ? this.s?.pub : this.rs, 'initiator static'));
    if (rPre) this.mixHash(this.need(initiator ? this.rs : this.s?.pub, 'responder static'));
  }

  private need<T>(v: T | null | undefined, what: string): T {
    if (v === null || v === undefined) throw new NoiseError(`missing ${what}`);
    return v;
  }

  get complete(): boolean {
    return this.idx >= this.msgs.length;
  }
  get handshakeHash(): Uint8Array {
    return Uint8Array.from(this.h);
  }
  private get myTurn(): boolean {
    return (this.idx % 2 === 0) === this.initiator;
  }

  private mixHash(d: Uint8Array): void {
    this.h = createHash('sha256').update(this.h).update(d).digest();
  }
  private mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseHkdf(this.ck, ikm, 2);
    this.ck = ck;
    this.cs = new NoiseCipher(k);
  }
  private encryptAndHash(pt: Uint8Array): Buffer {
    const ct = this.cs.encrypt(this.h, pt);
    this.mixHash(ct);
    return ct;
  }
  private decryptAndHash(ct: Uint8Array): Buffer {
    const pt = this.cs.decrypt(this.h, ct);
    this.mixHash(ct);
    return pt;
  }
  private dh(tok: Tok): void {
    const I = this.initiator;
    const S = () => this.need(this.s, 'static key').priv;
    const E = () => this.need(this.e, 'ephemeral key').priv;
    const RS = () => this.need(this.rs, 'remote static');
    const RE = () => this.need(this.re, 'remote ephemeral');
    let out: Uint8Array;
    try {
      if (tok === 'ee') out = x25519(E(), RE());
      else if (tok === 'es') out = I ? x25519(E(), RS()) : x25519(S(), RE());
      else if (tok === 'se') out = I ? x25519(S(), RE()) : x25519(E(), RS());
      else out = x25519(S(), RS());
    } catch (e) {
      if (e instanceof NoiseError) throw e;
      throw new NoiseError('DH failed (low-order point)');
    }
    this.mixKey(out);
  }

  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (this.complete || !this.myTurn) throw new NoiseError('not our turn');
    const parts: Uint8Array[] = [];
    for (const t of this.msgs[this.idx]) {
      if (t === 'e') {
        if (!this.e) {
          const priv = new Uint8Array(randomBytes(32));
          this.e = { priv, pub: x25519Public(priv) };
        }
        parts.push(this.e.pub);
        this.mixHash(this.e.pub);
      } else if (t === 's') parts.push(this.encryptAndHash(this.need(this.s, 'static key').pub));
      else this.dh(t);
    }
    parts.push(this.encryptAndHash(payload));
    this.idx++;
    const out = Buffer.concat(parts);
    if (out.length > 65535) throw new NoiseError('message too long');
    return new Uint8Array(out);
  }

  readMessage(msg: Uint8Array): Uint8Array {
    if (this.complete || this.myTurn) throw new NoiseError('not their turn');
    if (msg.length > 65535) throw new NoiseError('message too long');
    let off = 0;
    for (const t of this.msgs[this.idx]) {
      if (t === 'e') {
        if (msg.length - off < 32) throw new NoiseError('short message');
        this.re = Uint8Array.from(msg.subarray(off, off + 32));
        this.mixHash(this.re);
        off += 32;
      } else if (t === 's') {
        const n = this.cs.k ? 48 : 32;
        if (msg.length - off < n) throw new NoiseError('short message');
        this.rs = new Uint8Array(this.decryptAndHash(msg.subarray(off, off + n)));
        off += n;
      } else this.dh(t);
    }
    if (this.cs.k && msg.length - off < 16) throw new NoiseError('short message');
    const pt = this.decryptAndHash(msg.subarray(off));
    this.idx++;
    return new Uint8Array(pt);
  }

  split(): [NoiseCipher, NoiseCipher] {
    if (!this.complete) throw new NoiseError('handshake not complete');
    const [k1, k2] = noiseHkdf(this.ck, new Uint8Array(0), 2);
    return [new NoiseCipher(k1), new NoiseCipher(k2)];
  }
}
