/**
 * Signed firmware images (docs/image-format.md): a 96-byte header, the wasm payload, and an Ed25519
 * signature (RFC 8032, pure Ed25519) over header ‖ payload. Built by `npm run image`, checked by the boot ROM
 * (host-sim/bootrom.ts) before every boot and before it accepts an image over serial or from an update.
 *
 * Header (little-endian):
 *   0  magic "P2PF"            4  format version u16 (1)   6  header bytes u16 (96)
 *   8  firmware version u32   12  payload bytes u32       16  flags u32 (0)     20  reserved u32
 *  24  build id (16 B ASCII, NUL-padded)                  40  payload SHA-256 (32 B)
 *  72  key id: SHA-256(signer's public key)[0..8)         80  reserved (16 B, zero)
 */
import * as crypto from 'node:crypto';

export const IMAGE_MAGIC = 'P2PF';
export const IMAGE_FORMAT_VERSION = 1;
export const IMAGE_HEADER_BYTES = 96;
export const IMAGE_SIGNATURE_BYTES = 64;
export const BUILD_ID_BYTES = 16;

export interface ImageHeader {
  formatVersion: number;
  /** Firmware version: a positive integer that only grows (anti-rollback compares it). */
  version: number;
  payloadBytes: number;
  flags: number;
  /** ASCII build id, e.g. a git describe. */
  buildId: string;
  payloadSha256: Uint8Array;
  /** First 8 bytes of SHA-256 of the signer's raw 32-byte Ed25519 public key. */
  keyId: Uint8Array;
}

/** Why an image is refused, with a one-line reason. */
export type ImageError =
  | { ok: false; code: 'format' | 'size' | 'key' | 'hash' | 'signature' | 'rollback'; reason: string };

const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

export function sha256(b: Uint8Array): Uint8Array { return new Uint8Array(crypto.createHash('sha256').update(b).digest()); }

/** Key id of a raw 32-byte Ed25519 public key (8 bytes). */
export function keyIdOf(publicKey: Uint8Array): Uint8Array { return sha256(publicKey).subarray(0, 8); }

export function hex(b: Uint8Array): string { return Buffer.from(b).toString('hex'); }

/** Raw 32-byte public key of a node:crypto Ed25519 key (private or public). */
export function rawPublicKey(key: crypto.KeyObject): Uint8Array {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function publicKeyFromRaw(raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' });
}

/**
 * Builds and signs an image. `privateKey` is an Ed25519 private KeyObject; `version` an integer 1..2^32−1;
 * `buildId` at most 16 ASCII characters. Throws RangeError on bad arguments.
 */
export function buildImage(o: { wasm: Uint8Array; version: number; buildId: string; privateKey: crypto.KeyObject }): Uint8Array {
  if (!Number.isInteger(o.version) || o.version < 1 || o.version > 0xffffffff) throw new RangeError(`version must be an integer 1..4294967295, got ${o.version}`);
  if (!/^[\x20-\x7e]{0,16}$/.test(o.buildId)) throw new RangeError(`build id must be at most 16 printable ASCII characters, got "${o.buildId}"`);
  if (o.privateKey.asymmetricKeyType !== 'ed25519' || o.privateKey.type !== 'private') throw new RangeError('the signing key must be an Ed25519 private key');
  const h = Buffer.alloc(IMAGE_HEADER_BYTES);
  h.write(IMAGE_MAGIC, 0, 'latin1');
  h.writeUInt16LE(IMAGE_FORMAT_VERSION, 4);
  h.writeUInt16LE(IMAGE_HEADER_BYTES, 6);
  h.writeUInt32LE(o.version, 8);
  h.writeUInt32LE(o.wasm.length, 12);
  h.write(o.buildId, 24, 'latin1');
  Buffer.from(sha256(o.wasm)).copy(h, 40);
  Buffer.from(keyIdOf(rawPublicKey(o.privateKey))).copy(h, 72);
  const signed = Buffer.concat([h, o.wasm]);
  const sig = crypto.sign(null, signed, o.privateKey);
  return new Uint8Array(Buffer.concat([signed, sig]));
}

/** Parses and sanity-checks a header (the first 96 bytes). Does not verify hash or signature. */
export function parseHeader(b: Uint8Array): { ok: true; header: ImageHeader } | ImageError {
  if (b.length < IMAGE_HEADER_BYTES) return { ok: false, code: 'format', reason: `image is ${b.length} bytes, shorter than its ${IMAGE_HEADER_BYTES}-byte header` };
  const v = Buffer.from(b.buffer, b.byteOffset, IMAGE_HEADER_BYTES);
  if (v.toString('latin1', 0, 4) !== IMAGE_MAGIC) return { ok: false, code: 'format', reason: 'not a firmware image (bad magic; expected "P2PF")' };
  const formatVersion = v.readUInt16LE(4);
  if (formatVersion !== IMAGE_FORMAT_VERSION) return { ok: false, code: 'format', reason: `unsupported image format version ${formatVersion} (this ROM reads ${IMAGE_FORMAT_VERSION})` };
  if (v.readUInt16LE(6) !== IMAGE_HEADER_BYTES) return { ok: false, code: 'format', reason: `bad header size ${v.readUInt16LE(6)}` };
  const version = v.readUInt32LE(8);
  if (version === 0) return { ok: false, code: 'format', reason: 'firmware version 0 is not allowed' };
  const buildRaw = v.subarray(24, 40);
  const nul = buildRaw.indexOf(0);
  return {
    ok: true,
    header: {
      formatVersion, version, payloadBytes: v.readUInt32LE(12), flags: v.readUInt32LE(16),
      buildId: buildRaw.subarray(0, nul < 0 ? 16 : nul).toString('latin1').replace(/[^\x20-\x7e]/g, '?'),
      payloadSha256: new Uint8Array(v.subarray(40, 72)), keyId: new Uint8Array(v.subarray(72, 80)),
    },
  };
}

/** Total image size for a header. */
export function imageBytes(h: ImageHeader): number { return IMAGE_HEADER_BYTES + h.payloadBytes + IMAGE_SIGNATURE_BYTES; }

/**
 * Full verification: format, size, key id, payload SHA-256, Ed25519 signature over header ‖ payload, and the
 * anti-rollback floor (`minVersion`). `b` may be longer than the image (a flash slot); the header's size rules.
 */
export function verifyImage(b: Uint8Array, trustedKey: Uint8Array, minVersion = 0): { ok: true; header: ImageHeader; bytes: number } | ImageError {
  const p = parseHeader(b);
  if (!p.ok) return p;
  const h = p.header;
  const total = imageBytes(h);
  if (total > b.length) return { ok: false, code: 'size', reason: `image claims ${total} bytes but only ${b.length} are present (truncated?)` };
  const want = keyIdOf(trustedKey);
  if (!Buffer.from(h.keyId).equals(Buffer.from(want))) return { ok: false, code: 'key', reason: `signed with key ${hex(h.keyId)}, this phone trusts key ${hex(want)}` };
  const payload = b.subarray(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + h.payloadBytes);
  if (!Buffer.from(sha256(payload)).equals(Buffer.from(h.payloadSha256))) return { ok: false, code: 'hash', reason: 'payload SHA-256 does not match the header (image corrupted or tampered)' };
  const sig = b.subarray(IMAGE_HEADER_BYTES + h.payloadBytes, total);
  let good = false;
  try { good = crypto.verify(null, b.subarray(0, IMAGE_HEADER_BYTES + h.payloadBytes), publicKeyFromRaw(trustedKey), sig); } catch { good = false; }
  if (!good) return { ok: false, code: 'signature', reason: 'Ed25519 signature does not verify (image tampered or not signed by the vendor key)' };
  if (h.version < minVersion) return { ok: false, code: 'rollback', reason: `version ${h.version} is older than this phone's anti-rollback floor ${minVersion}` };
  return { ok: true, header: h, bytes: total };
}

/** Loads an Ed25519 private key from PEM (PKCS#8). Throws Error with a one-line message. */
export function loadPrivateKey(pem: string | Buffer, what = 'key'): crypto.KeyObject {
  let k: crypto.KeyObject;
  try { k = crypto.createPrivateKey(pem); } catch (e) { throw new Error(`${what} is not a PEM private key (${(e as Error).message})`); }
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is a ${k.asymmetricKeyType} key; images are signed with Ed25519`);
  return k;
}

/**
 * Loads a raw 32-byte Ed25519 public key from text: 64 hex digits, or a PEM public or private key.
 * Throws Error with a one-line message.
 */
export function loadPublicKey(text: string, what = 'public key'): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return new Uint8Array(Buffer.from(t, 'hex'));
  try {
    const k = t.includes('PRIVATE KEY') ? crypto.createPrivateKey(t) : crypto.createPublicKey(t);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error(`a ${k.asymmetricKeyType} key`);
    return rawPublicKey(k);
  } catch (e) {
    throw new Error(`${what} is neither 64 hex digits nor an Ed25519 PEM key (${(e as Error).message})`);
  }
}
