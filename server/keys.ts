/**
 * Crypto helpers for the login protocol, built only on node:crypto:
 *  - raw 32-byte X25519 keys (wrapped into PKCS8/SPKI DER to make KeyObjects),
 *  - HKDF-SHA256 key derivation,
 *  - ChaCha20-Poly1305 (RFC 8439) seal/open with a 16-byte tag and empty AAD,
 *  - loading/creating the server's static key file,
 *  - the login exchange over Noise_IK_25519_ChaChaPoly_SHA256 (server/noise.ts; docs/security.md §Login):
 *    `sealRequest`/`openResponse` for tests and simulator tools, `padPlaintext`/`unpadPlaintext`,
 *  - the server's Ed25519 certificate signing keys (`loadOrCreateSigningKeys`).
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { NoiseHandshake } from './noise.ts';
import { signingKey, type SigningKey } from './cert.ts';
import { join } from 'node:path';
import {
  TAG_LEN,
  readU32,
  writeU32,
} from './protocol.ts';

// RFC 8410 DER prefixes for X25519 (OID 1.3.101.110).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function checkLen(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
}

function privateKeyObject(priv: Uint8Array): KeyObject {
  checkLen(priv, 32, 'X25519 private key');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, priv]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  checkLen(pub, 32, 'X25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

/** Raw 32-byte X25519 public key for a raw 32-byte private key. */
export function x25519Public(priv: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(priv)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * Raw X25519 shared secret. Throws if either key has the wrong length, or if OpenSSL rejects the
 * result (an all-zero secret from a low-order public key).
 */
export function x25519(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  const s = diffieHellman({ privateKey: privateKeyObject(priv), publicKey: publicKeyObject(pub) });
  return new Uint8Array(s);
}

/** Fresh random X25519 key pair (raw 32-byte halves). */
export function generateX25519(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const priv = new Uint8Array(der.subarray(der.length - 32));
  return { privateKey: priv, publicKey: x25519Public(priv) };
}

/** HKDF-SHA256 (RFC 5869). */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** ChaCha20-Poly1305 encrypt; returns ciphertext ‖ 16-byte tag. AAD is empty unless given. */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  checkLen(key, 32, 'ChaCha20-Poly1305 key');
  checkLen(nonce, 12, 'ChaCha20-Poly1305 nonce');
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  if (aad && aad.length) c.setAAD(aad, { plaintextLength: plaintext.length });
  const head = c.update(plaintext);
  const tail = c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(head.length + tail.length + TAG_LEN);
  out.set(head, 0);
  out.set(tail, head.length);
  out.set(tag, head.length + tail.length);
  return out;
}

/** ChaCha20-Poly1305 decrypt of ciphertext ‖ tag; returns null on a short input or a bad tag. */
export function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | null {
  checkLen(key, 32, 'ChaCha20-Poly1305 key');
  checkLen(nonce, 12, 'ChaCha20-Poly1305 nonce');
  if (sealed.length < TAG_LEN) return null;
  const ctLen = sealed.length - TAG_LEN;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
  d.setAuthTag(sealed.subarray(ctLen));
  if (aad && aad.length) d.setAAD(aad, { plaintextLength: ctLen });
  try {
    const head = d.update(sealed.subarray(0, ctLen));
    const tail = d.final();
    const out = new Uint8Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Server static key file

export interface ServerKey {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export const KEY_FILE_NAME = 'server-key.json';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Loads `<dataDir>/server-key.json`, or generates a key pair and writes it (mode 0600, written to
 * a temp file then hard-linked into place) when the file does not exist. Throws with a descriptive
 * message if the file is unreadable, malformed, or its public key does not match its private key.
 */
export function loadOrCreateServerKey(dataDir: string): ServerKey & { created: boolean; path: string } {
  const path = join(dataDir, KEY_FILE_NAME);
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== null) {
    let j: { privateKey?: unknown; publicKey?: unknown };
    try {
      j = JSON.parse(text);
    } catch {
      throw new Error(`${path}: not valid JSON`);
    }
    if (typeof j.privateKey !== 'string' || !HEX64.test(j.privateKey)) {
      throw new Error(`${path}: privateKey must be 64 lowercase hex digits`);
    }
    const privateKey = new Uint8Array(Buffer.from(j.privateKey, 'hex'));
    const publicKey = x25519Public(privateKey);
    if (j.publicKey !== undefined && j.publicKey !== Buffer.from(publicKey).toString('hex')) {
      throw new Error(`${path}: publicKey does not match privateKey`);
    }
    return { privateKey, publicKey, created: false, path };
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey, publicKey } = generateX25519();
  const body =
    JSON.stringify(
      {
        alg: 'x25519',
        privateKey: Buffer.from(privateKey).toString('hex'),
        publicKey: Buffer.from(publicKey).toString('hex'),
      },
      null,
      2,
    ) + '\n';
  // Publish with link(): atomic and fails if another process created the file meanwhile, in which
  // case that process's key wins and is loaded instead of being overwritten.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, body, { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return loadOrCreateServerKey(dataDir);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    // File system without hard links: exclusive create (still never overwrites another key).
    writeFileSync(path, body, { mode: 0o600, flag: 'wx' });
  } finally {
    unlinkSync(tmp);
  }
  return { privateKey, publicKey, created: true, path };
}

// ---------------------------------------------------------------------------------------------
// Client side (tests, simulator tools)

/** What `openResponse` returns: the answer's plaintext, or the errcode of a plain error frame. */
export type OpenedResponse =
  | { kind: 'response'; reqId: number; plaintext: Uint8Array }
  | { kind: 'error'; reqId: number; errcode: number };

// ---------------------------------------------------------------------------------------------
// Login exchange over Noise_IK (docs/security.md §Login)

/** Noise prologue of the login exchange: both sides mix it into h, so another protocol's peer cannot match. */
export const LOGIN_PROLOGUE = new TextEncoder().encode('p2pphone-login-v1');
/** Plaintexts are padded to a multiple of this many bytes (after a u16 length), so sizes leak little. */
export const PAD_BLOCK = 64;
/** Largest padded plaintext: a 4096-byte frame body minus reqId, e, s (IK message 1), tags. */
export const PAD_MAX = 4096 - 4 - 32 - 48 - 16;

/** [len u16][pt][zeros] rounded up to PAD_BLOCK (never beyond PAD_MAX; throws if pt cannot fit). */
export function padPlaintext(pt: Uint8Array): Uint8Array {
  if (pt.length + 2 > PAD_MAX) throw new RangeError('plaintext too long');
  const n = Math.min(PAD_MAX, Math.ceil((pt.length + 2) / PAD_BLOCK) * PAD_BLOCK);
  const out = new Uint8Array(n);
  out[0] = pt.length >>> 8;
  out[1] = pt.length & 0xff;
  out.set(pt, 2);
  return out;
}

/** Inverse of padPlaintext; null when the length field overruns or the padding is not all zero. */
export function unpadPlaintext(b: Uint8Array): Uint8Array | null {
  if (b.length < 2) return null;
  const n = (b[0] << 8) | b[1];
  if (n + 2 > b.length) return null;
  for (let i = n + 2; i < b.length; i++) if (b[i] !== 0) return null;
  return b.slice(2, 2 + n);
}

/** Client side of one login exchange: the Noise_IK initiator state between request and response. */
export interface LoginSession {
  hs: NoiseHandshake;
  /** The client's static X25519 key pair used (random unless given). */
  staticPrivateKey: Uint8Array;
  staticPublicKey: Uint8Array;
}

/**
 * Builds a login-server request: body `[reqId u32][Noise_IK message 1]` whose payload is
 * padPlaintext(plaintext). The client static key is `opts.staticKey` (the phone's Noise key) or a fresh one;
 * `opts.ephPriv` fixes the ephemeral key (tests). Returns the body and the session to open the answer with.
 */
export function sealRequest(
  serverPub: Uint8Array,
  plaintext: Uint8Array,
  opts: { staticKey?: Uint8Array; ephPriv?: Uint8Array } | Uint8Array = {},
  reqId = 0,
): { body: Uint8Array; key: LoginSession } {
  const o = opts instanceof Uint8Array ? { ephPriv: opts } : opts;
  const s = o.staticKey ?? new Uint8Array(nodeRandomBytes(32));
  const hs = new NoiseHandshake('IK', true, LOGIN_PROLOGUE, { s, rs: serverPub, e: o.ephPriv });
  const msg = hs.writeMessage(padPlaintext(plaintext));
  const body = new Uint8Array(4 + msg.length);
  writeU32(body, 0, reqId >>> 0);
  body.set(msg, 4);
  return { body, key: { hs, staticPrivateKey: s, staticPublicKey: x25519Public(s) } };
}

/**
 * Opens the server's answer to `sealRequest`: `[reqId][Noise_IK message 2]` → plaintext, or an error frame
 * `[reqId][errcode u8]` → {kind:'error'}. Throws on a malformed or unauthentic answer.
 */
export function openResponse(key: LoginSession, body: Uint8Array): OpenedResponse {
  if (body.length < 5) throw new Error('response too short');
  const reqId = readU32(body, 0);
  if (body.length === 5) return { kind: 'error', reqId, errcode: body[4] };
  const pt = unpadPlaintext(key.hs.readMessage(body.subarray(4)));
  if (!pt) throw new Error('bad response padding');
  return { kind: 'response', reqId, plaintext: pt };
}

// ---------------------------------------------------------------------------------------------
// Certificate signing keys (docs/security.md §Rotation)

export const SIGNING_KEYS_FILE = 'signing-keys.json';

export type SigningKeyState = 'next' | 'active' | 'retired';

export interface SigningKeySet {
  /** Every key with its state; exactly one is active. */
  keys: (SigningKey & { state: SigningKeyState })[];
  path: string;
  created: boolean;
}

/** The key that signs new certificates. */
export function activeSigningKey(set: SigningKeySet): SigningKey {
  const k = set.keys.find((x) => x.state === 'active');
  if (!k) throw new Error(`${set.path}: no active signing key`);
  return k;
}

/**
 * `certKeys=` provisioning value: every key as `id:hex`, comma separated — retired keys too, since certificates
 * they signed stay valid until they expire (drop them with the 'drop' rotation step after CERT_LIFETIME_S).
 */
export function certKeysLine(keys: { id: number; publicKey: Uint8Array; state?: SigningKeyState }[]): string {
  return keys.map((k) => `${k.id}:${Buffer.from(k.publicKey).toString('hex')}`).join(',');
}

/**
 * Loads `<dataDir>/signing-keys.json` ({"keys":[{"id":1,"seed":"<64 hex>","state":"active"}]}), creating it
 * with one active key (id 1) on first run (mode 0600). Throws with a descriptive message when malformed.
 */
export function loadOrCreateSigningKeys(dataDir: string): SigningKeySet {
  const path = join(dataDir, SIGNING_KEYS_FILE);
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === null) {
    mkdirSync(dataDir, { recursive: true });
    const set: SigningKeySet = { keys: [{ ...signingKey(1, new Uint8Array(nodeRandomBytes(32))), state: 'active' }], path, created: true };
    try {
      writeFileSync(path, signingKeysJson(set), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateSigningKeys(dataDir);
      throw e;
    }
    return set;
  }
  let j: { keys?: unknown };
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
  if (!Array.isArray(j.keys) || j.keys.length === 0) throw new Error(`${path}: keys must be a non-empty array`);
  const keys = j.keys.map((k: { id?: unknown; seed?: unknown; state?: unknown }, i: number) => {
    if (typeof k.id !== 'number' || !Number.isInteger(k.id) || k.id < 0 || k.id > 0xffff) throw new Error(`${path}: keys[${i}].id must be 0..65535`);
    if (typeof k.seed !== 'string' || !HEX64.test(k.seed)) throw new Error(`${path}: keys[${i}].seed must be 64 lowercase hex digits`);
    if (k.state !== 'next' && k.state !== 'active' && k.state !== 'retired') throw new Error(`${path}: keys[${i}].state must be next, active or retired`);
    return { ...signingKey(k.id, new Uint8Array(Buffer.from(k.seed, 'hex'))), state: k.state as SigningKeyState };
  });
  if (keys.filter((k) => k.state === 'active').length !== 1) throw new Error(`${path}: exactly one key must be active`);
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error(`${path}: duplicate key id`);
  return { keys, path, created: false };
}

/**
 * Rotation steps (docs/security.md §Rotation): `add` a new key in state "next" (provision its public key to
 * phones), `activate` it (the old active key becomes "retired" but stays listed, and trusted by phones, until
 * every certificate it signed has expired), then `drop` the retired keys and re-provision the phones.
 */
export function rotateSigningKeys(set: SigningKeySet, step: 'add' | 'activate' | 'drop', id?: number): SigningKeySet {
  let keys = set.keys.map((k) => ({ ...k }));
  if (step === 'drop') keys = keys.filter((k) => k.state !== 'retired');
  if (step === 'add') {
    const nid = Math.max(...keys.map((k) => k.id)) + 1;
    if (nid > 0xffff) throw new Error('no free signing key id');
    keys.push({ ...signingKey(nid, new Uint8Array(nodeRandomBytes(32))), state: 'next' });
  } else if (step === 'activate') {
    const k = keys.find((x) => x.id === id);
    if (!k) throw new Error(`no signing key with id ${id}`);
    for (const x of keys) if (x.state === 'active') x.state = 'retired';
    k.state = 'active';
  }
  const out = { keys, path: set.path, created: false };
  const tmp = `${set.path}.${process.pid}.tmp`;
  writeFileSync(tmp, signingKeysJson(out), { mode: 0o600 });
  renameSync(tmp, set.path);
  return out;
}

function signingKeysJson(set: SigningKeySet): string {
  return JSON.stringify({ keys: set.keys.map((k) => ({ id: k.id, seed: Buffer.from(k.seed).toString('hex'), state: k.state })) }, null, 2) + '\n';
}
