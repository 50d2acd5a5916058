/**
 * Identity certificates issued by the login server (docs/security.md §Certificates; the firmware's reader is
 * firmware/sec/cert.ts). Layout, big-endian:
 *   [version u8 = 1][keyId u16][notBeforeS u32][notAfterS u32][ulen u8][user][idPub 32][noisePub 32][sig 64]
 *   sig = Ed25519(signing key keyId, "p2pphone-cert-v1" ‖ every byte before sig)          (RFC 8032)
 * Times are seconds on the server's clock. Signing keys carry a u16 id; phones trust a provisioned set of
 * (id, public key) pairs, so a new key can be provisioned before it starts signing (rotation).
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const CERT_VERSION = 1;
export const CERT_SIG_CONTEXT = new TextEncoder().encode('p2pphone-cert-v1');
export const BIND_CONTEXT = new TextEncoder().encode('p2pphone-bind-v1');
export const CERT_FIXED = 1 + 2 + 4 + 4 + 1 + 32 + 32 + 64;
/** Default certificate lifetime: 24 h. */
export const CERT_LIFETIME_S = 24 * 3600;

// RFC 8410 DER prefixes for Ed25519 (OID 1.3.101.112).
const ED_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function edPriv(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError('Ed25519 seed must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED_PKCS8, seed]), format: 'der', type: 'pkcs8' });
}
function edPub(pub: Uint8Array): KeyObject {
  if (pub.length !== 32) throw new RangeError('Ed25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED_SPKI, pub]), format: 'der', type: 'spki' });
}

export function ed25519Public(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(edPriv(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}
export function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, edPriv(seed)));
}
/** False (never throws) for a bad key, a bad length or a bad signature. */
export function ed25519Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return sig.length === 64 && verify(null, msg, edPub(pub), sig);
  } catch {
    return false;
  }
}

export interface SigningKey {
  /** 0..65535 */
  id: number;
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export function signingKey(id: number, seed: Uint8Array): SigningKey {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError('signing key id must be 0..65535');
  return { id, seed: Uint8Array.from(seed), publicKey: ed25519Public(seed) };
}

export interface CertFields {
  keyId: number;
  notBeforeS: number;
  notAfterS: number;
  user: string;
  idPub: Uint8Array;
  noisePub: Uint8Array;
}

/** Encodes and signs a certificate. Throws on out-of-range fields. */
export function issueCert(key: SigningKey, f: Omit<CertFields, 'keyId'>): Uint8Array {
  const u = new TextEncoder().encode(f.user);
  if (u.length < 1 || u.length > 32) throw new RangeError('user name must be 1..32 bytes');
  if (f.idPub.length !== 32 || f.noisePub.length !== 32) throw new RangeError('keys must be 32 bytes');
  const body = new Uint8Array(12 + u.length + 64);
  const dv = new DataView(body.buffer);
  body[0] = CERT_VERSION;
  dv.setUint16(1, key.id);
  dv.setUint32(3, f.notBeforeS >>> 0);
  dv.setUint32(7, f.notAfterS >>> 0);
  body[11] = u.length;
  body.set(u, 12);
  body.set(f.idPub, 12 + u.length);
  body.set(f.noisePub, 44 + u.length);
  const sig = ed25519Sign(key.seed, concat(CERT_SIG_CONTEXT, body));
  return concat(body, sig);
}

/** Parses a certificate's layout (no signature check); null when malformed. */
export function parseCert(c: Uint8Array): (CertFields & { signed: Uint8Array; sig: Uint8Array }) | null {
  if (c.length < CERT_FIXED + 1 || c[0] !== CERT_VERSION) return null;
  const ulen = c[11];
  if (ulen < 1 || ulen > 32 || c.length !== CERT_FIXED + ulen) return null;
  const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const user = String.fromCharCode(...c.subarray(12, 12 + ulen));
  return {
    keyId: dv.getUint16(1),
    notBeforeS: dv.getUint32(3),
    notAfterS: dv.getUint32(7),
    user,
    idPub: c.slice(12 + ulen, 44 + ulen),
    noisePub: c.slice(44 + ulen, 76 + ulen),
    signed: c.subarray(0, 76 + ulen),
    sig: c.subarray(76 + ulen),
  };
}

/** Full check with a trusted key set (id → public key): layout, key id, signature, validity at nowS. */
export function verifyCert(
  c: Uint8Array,
  trusted: Map<number, Uint8Array>,
  nowS: number,
): { ok: true; cert: CertFields } | { ok: false; reason: string } {
  const p = parseCert(c);
  if (!p) return { ok: false, reason: 'malformed' };
  const pub = trusted.get(p.keyId);
  if (!pub) return { ok: false, reason: 'unknown-key' };
  if (!ed25519Verify(pub, concat(CERT_SIG_CONTEXT, p.signed), p.sig)) return { ok: false, reason: 'signature' };
  if (nowS > p.notAfterS) return { ok: false, reason: 'expired' };
  if (nowS + 300 < p.notBeforeS) return { ok: false, reason: 'not-yet-valid' };
  return { ok: true, cert: p };
}

/** The message an identity key signs to vouch for its Noise static key under a user name. */
export function bindMessage(noisePub: Uint8Array, user: string): Uint8Array {
  return concat(BIND_CONTEXT, noisePub, new TextEncoder().encode(user));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
