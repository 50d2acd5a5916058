/**
 * Wire constants and plaintext codecs of the login/directory protocol.
 *
 * Frame:    [len u16 BE][body, len <= MAX_FRAME_BODY]
 * v1 (Noise_IK, docs/security.md §Login; no fixed plaintext byte anywhere):
 *   Request:  [reqId u32 BE][Noise_IK message 1: e 32 ‖ enc(s) 48 ‖ enc(padded plaintext) + 16]
 *   Response: [reqId u32 BE][Noise_IK message 2: e 32 ‖ enc(padded plaintext) + 16]
 *   Error:    [reqId u32 BE][errcode u8]   (only for a request that could not be opened)
 * (The one-shot "v0" sealing, whose requests began with a fixed 0x01 byte, is gone: issue #7.)
 *
 * The plaintext helpers here are pure byte codecs shared by the server, the tests and the
 * simulator's client tools; nothing in this module touches keys or the database.
 */

export const MAX_FRAME_BODY = 4096;

export const TAG_LEN = 16;
export const KEY_LEN = 32;

export const Op = {
  REGISTER: 1,
  LOGIN: 2,
  LOOKUP: 3,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const Status = {
  OK: 0,
  EXISTS: 1,
  BAD_CREDENTIALS: 2,
  INVALID_INPUT: 3,
  NOT_FOUND: 4,
  RATE_LIMITED: 5,
  SERVER_ERROR: 6,
  /**
   * Load shedding: the server would not answer within its queue bound, so it did not run the password hash.
   * Plaintext [8][retryAfterMs u32 BE] (7 is the buddy list's STATUS_FULL, server/buddies.ts): try again no sooner than that (the client adds its own jitter).
   */
  BUSY: 8,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const ErrCode = {
  MALFORMED: 1,
  DECRYPT_FAILED: 2,
} as const;
export type ErrCode = (typeof ErrCode)[keyof typeof ErrCode];

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 6;
export const PASSWORD_MAX = 64;

const USERNAME_RE = /^[a-z][a-z0-9._-]*$/;

/** True when `name` satisfies the username rules (3–32 chars, `[a-z][a-z0-9._-]*`). */
export function isValidUsername(name: string): boolean {
  return name.length >= USERNAME_MIN && name.length <= USERNAME_MAX && USERNAME_RE.test(name);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** True when `pw` is 6–64 bytes of well-formed UTF-8. */
export function isValidPassword(pw: Uint8Array): boolean {
  if (pw.length < PASSWORD_MIN || pw.length > PASSWORD_MAX) return false;
  try {
    utf8Strict.decode(pw);
    return true;
  } catch {
    return false;
  }
}

/** A LOGIN's identity: Ed25519 identity key and its signature over server/cert.ts bindMessage(noisePub, user). */
export interface LoginIdentity {
  idPub: Uint8Array;
  bindSig: Uint8Array;
}

export type Request =
  | { op: typeof Op.REGISTER; username: string; password: Uint8Array }
  | { op: typeof Op.LOGIN; username: string; password: Uint8Array; identity?: LoginIdentity }
  | { op: typeof Op.LOOKUP; username: string };

/** Detail byte after Status.INVALID_INPUT (v1 answers): which rule the request broke. */
export const InvalidReason = {
  MALFORMED: 1,
  USERNAME: 2,
  PASSWORD: 3,
  IDENTITY: 4,
} as const;

/**
 * Parses a decrypted request plaintext. Returns null when the structure is wrong (unknown op,
 * truncated, trailing bytes). The username is decoded byte-for-byte (latin1), so any non-ASCII
 * byte survives to fail `isValidUsername` rather than being silently replaced.
 * Content rules (username/password) are NOT checked here.
 */
export function parseRequest(pt: Uint8Array): Request | null {
  if (pt.length < 2) return null;
  const op = pt[0];
  const ulen = pt[1];
  let off = 2;
  if (off + ulen > pt.length) return null;
  const username = latin1(pt.subarray(off, off + ulen));
  off += ulen;
  if (op === Op.LOOKUP) {
    if (off !== pt.length) return null;
    return { op, username };
  }
  if (op !== Op.REGISTER && op !== Op.LOGIN) return null;
  if (off >= pt.length) return null;
  const plen = pt[off++];
  if (off + plen > pt.length) return null;
  const password = pt.slice(off, off + plen);
  off += plen;
  if (op === Op.LOGIN && pt.length - off === 32 + 64) {
    return { op, username, password, identity: { idPub: pt.slice(off, off + 32), bindSig: pt.slice(off + 32, off + 96) } };
  }
  if (off !== pt.length) return null;
  return { op, username, password };
}

/** LOGIN plaintext with an identity: [op][user str8][password str8][idPub 32][bindSig 64]. */
export function encodeLoginWithIdentity(
  username: string | Uint8Array,
  password: string | Uint8Array,
  idPub: Uint8Array,
  bindSig: Uint8Array,
): Uint8Array {
  if (idPub.length !== 32 || bindSig.length !== 64) throw new RangeError('idPub 32 bytes, bindSig 64 bytes');
  const base = encodeCredentials(Op.LOGIN, username, password);
  const out = new Uint8Array(base.length + 96);
  out.set(base, 0);
  out.set(idPub, base.length);
  out.set(bindSig, base.length + 32);
  return out;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function str8(s: string | Uint8Array, what: string): Uint8Array {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  if (b.length > 255) throw new RangeError(`${what} longer than 255 bytes`);
  return b;
}

/** Builds a REGISTER (op 1) or LOGIN (op 2) plaintext. Strings are UTF-8 encoded; no rule checks. */
export function encodeCredentials(
  op: typeof Op.REGISTER | typeof Op.LOGIN,
  username: string | Uint8Array,
  password: string | Uint8Array,
): Uint8Array {
  const u = str8(username, 'username');
  const p = str8(password, 'password');
  const out = new Uint8Array(3 + u.length + p.length);
  out[0] = op;
  out[1] = u.length;
  out.set(u, 2);
  out[2 + u.length] = p.length;
  out.set(p, 3 + u.length);
  return out;
}

export function encodeRegister(username: string | Uint8Array, password: string | Uint8Array): Uint8Array {
  return encodeCredentials(Op.REGISTER, username, password);
}

export function encodeLogin(username: string | Uint8Array, password: string | Uint8Array): Uint8Array {
  return encodeCredentials(Op.LOGIN, username, password);
}

export function encodeLookup(username: string | Uint8Array): Uint8Array {
  const u = str8(username, 'username');
  const out = new Uint8Array(2 + u.length);
  out[0] = Op.LOOKUP;
  out[1] = u.length;
  out.set(u, 2);
  return out;
}

/** Decoded response plaintext. `userId`/`username` are present only where the protocol carries them. */
export interface ResponsePayload {
  status: number;
  userId?: number;
  username?: string;
  /** INVALID_INPUT detail (InvalidReason), when given. */
  reason?: number;
  /** LOGIN OK with an identity: the server's clock (s) and the certificate it issued. */
  serverTimeS?: number;
  cert?: Uint8Array;
  /** BUSY (load shedding): try again no sooner than this many ms. */
  retryAfterMs?: number;
}

/**
 * Decodes a response plaintext. `op` tells which OK layout to expect (REGISTER: userId,
 * LOGIN: userId + canonical name, LOOKUP: nothing). Non-OK statuses carry only the status byte, except
 * INVALID_INPUT (+ reason) and BUSY (+ retryAfterMs u32).
 * Throws on a structurally invalid plaintext (client side; the server never calls this).
 */
export function decodeResponse(op: Op, pt: Uint8Array): ResponsePayload {
  if (pt.length < 1) throw new Error('empty response plaintext');
  const status = pt[0];
  if (status === Status.INVALID_INPUT && pt.length === 2) return { status, reason: pt[1] };
  if (status === Status.BUSY && pt.length === 5) return { status, retryAfterMs: readU32(pt, 1) };
  if (status !== Status.OK || op === Op.LOOKUP) {
    if (pt.length !== 1) throw new Error('unexpected bytes after status');
    return { status };
  }
  if (pt.length < 5) throw new Error('truncated OK response');
  const userId = readU32(pt, 1);
  if (op === Op.REGISTER) {
    if (pt.length !== 5) throw new Error('unexpected bytes after userId');
    return { status, userId };
  }
  if (pt.length < 6 || pt.length < 6 + pt[5]) throw new Error('bad username length in LOGIN OK');
  const end = 6 + pt[5];
  const username = latin1(pt.subarray(6, end));
  if (pt.length === end) return { status, userId, username };
  // [serverTimeS u32][certLen u16][cert]
  if (pt.length < end + 6) throw new Error('truncated certificate in LOGIN OK');
  const serverTimeS = readU32(pt, end);
  const clen = (pt[end + 4] << 8) | pt[end + 5];
  if (pt.length !== end + 6 + clen) throw new Error('bad certificate length in LOGIN OK');
  return { status, userId, username, serverTimeS, cert: pt.slice(end + 6) };
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}
