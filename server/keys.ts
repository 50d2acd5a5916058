/**
 * Crypto helpers for the login protocol, built only on node:crypto:
 *  - raw 32-byte X25519 keys (wrapped into PKCS8/SPKI DER to make KeyObjects),
 *  - HKDF-SHA256 key derivation,
 *  - ChaCha20-Poly1305 (RFC 8439) seal/open with a 16-byte tag and empty AAD,
 *  - loading/creating the server's static key file,
 *  - a client-side `sealRequest`/`openResponse` pair for tests and simulator tools.
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
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KEY_LEN,
  KIND_ERROR,
  KIND_REQUEST,
  KIND_RESPONSE,
  REQUEST_HEADER_LEN,
  RESPONSE_HEADER_LEN,
  TAG_LEN,
  readU32,
  writeU32,
} from './protocol.ts';

/** HKDF salt fixed by the protocol. */
export const HKDF_SALT = new TextEncoder().encode('p2pphone-login-v0');
/** Request nonce: 12 zero bytes. */
export const REQUEST_NONCE = new Uint8Array(12);
/** Response nonce: 11 zero bytes then 0x01. */
export const RESPONSE_NONCE = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

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

/** Per-request session key: HKDF(shared, "p2pphone-login-v0", ephPub ‖ serverPub, 32). */
export function deriveSessionKey(shared: Uint8Array, ephPub: Uint8Array, serverPub: Uint8Array): Uint8Array {
  const info = new Uint8Array(64);
  info.set(ephPub, 0);
  info.set(serverPub, 32);
  return hkdf(shared, HKDF_SALT, info, KEY_LEN);
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

/**
 * Encrypts a request plaintext to the server. Returns the complete request frame body
 * `[reqId][0x01][ephPub][ct‖tag]` (without the u16 length prefix) and the session key needed to
 * open the response. A fresh ephemeral key is generated unless `ephPriv` is supplied.
 */
export function sealRequest(
  serverPub: Uint8Array,
  plaintext: Uint8Array,
  ephPriv?: Uint8Array,
  reqId = 0,
): { body: Uint8Array; key: Uint8Array } {
  const priv = ephPriv ?? generateX25519().privateKey;
  const ephPub = x25519Public(priv);
  const key = deriveSessionKey(x25519(priv, serverPub), ephPub, serverPub);
  const ct = seal(key, REQUEST_NONCE, plaintext);
  const body = new Uint8Array(REQUEST_HEADER_LEN + ct.length);
  writeU32(body, 0, reqId >>> 0);
  body[4] = KIND_REQUEST;
  body.set(ephPub, 5);
  body.set(ct, REQUEST_HEADER_LEN);
  return { body, key };
}

export type OpenedResponse =
  | { kind: 'response'; reqId: number; plaintext: Uint8Array }
  | { kind: 'error'; reqId: number; errcode: number };

/**
 * Opens a response frame body from the server. Plain error frames (kind 0x03) are returned as
 * `{kind:'error'}`. Throws if the body is malformed or the tag does not verify.
 */
export function openResponse(key: Uint8Array, body: Uint8Array): OpenedResponse {
  if (body.length < RESPONSE_HEADER_LEN) throw new Error('response too short');
  const reqId = readU32(body, 0);
  const kind = body[4];
  if (kind === KIND_ERROR) {
    if (body.length !== 6) throw new Error('malformed error frame');
    return { kind: 'error', reqId, errcode: body[5] };
  }
  if (kind !== KIND_RESPONSE) throw new Error(`unknown response kind 0x${kind.toString(16)}`);
  const pt = open(key, RESPONSE_NONCE, body.subarray(RESPONSE_HEADER_LEN));
  if (!pt) throw new Error('response authentication failed');
  return { kind: 'response', reqId, plaintext: pt };
}
