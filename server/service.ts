/**
 * Transport-agnostic core of the login/directory server.
 *
 * `LoginService.handleFrame` maps one request frame body to one response frame body (or null =
 * close the connection). It is synchronous (scrypt runs inline) and never throws. `FrameDecoder`
 * and `encodeFrame` implement the u16-length framing for any reliable byte stream (node:net here,
 * the simulator's virtual TCP elsewhere).
 */
import {
  ErrCode,
  KIND_ERROR,
  KIND_REQUEST,
  KIND_RESPONSE,
  MAX_FRAME_BODY,
  Op,
  REQUEST_HEADER_LEN,
  RESPONSE_HEADER_LEN,
  Status,
  TAG_LEN,
  isValidPassword,
  isValidUsername,
  parseRequest,
  readU32,
  writeU32,
} from './protocol.ts';
import { REQUEST_NONCE, RESPONSE_NONCE, deriveSessionKey, open, seal, x25519, x25519Public } from './keys.ts';
import { FailureLimiter, type FailureLimitOptions } from './ratelimit.ts';
import type { UserStore } from './store.ts';

// ---------------------------------------------------------------------------------------------
// Framing

/** Prefixes `body` with its u16 big-endian length. Throws RangeError if body > 4096 bytes. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  if (body.length > MAX_FRAME_BODY) throw new RangeError(`frame body ${body.length} > ${MAX_FRAME_BODY}`);
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length >>> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
}

/**
 * Incremental u16-length frame decoder. `push` returns every frame completed by the new bytes
 * (each a fresh copy the caller may keep). When a header announces a body larger than
 * `maxBody` the decoder latches `oversize = true`, discards its buffer and ignores all further
 * input: the caller must close the connection. Frames completed before the bad header in the
 * same push are still returned. Never throws.
 */
export class FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private bad = false;

  constructor(readonly maxBody: number = MAX_FRAME_BODY) {}

  /** True once an oversize length header was seen. */
  get oversize(): boolean {
    return this.bad;
  }

  /** Bytes buffered waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    if (this.bad || chunk.length === 0) return frames;
    let data: Uint8Array;
    if (this.buf.length === 0) {
      data = chunk;
    } else {
      data = new Uint8Array(this.buf.length + chunk.length);
      data.set(this.buf, 0);
      data.set(chunk, this.buf.length);
    }
    let off = 0;
    while (data.length - off >= 2) {
      const n = (data[off] << 8) | data[off + 1];
      if (n > this.maxBody) {
        this.bad = true;
        this.buf = new Uint8Array(0);
        return frames;
      }
      if (data.length - off - 2 < n) break;
      frames.push(copyOf(data, off + 2, off + 2 + n));
      off += 2 + n;
    }
    this.buf = copyOf(data, off, data.length);
    return frames;
  }
}

/**
 * Plain Uint8Array copy of data[from, to). Not `data.slice`: on a node Buffer that is a view, and
 * a typed-array slice would keep the Buffer subclass.
 */
function copyOf(data: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(data.subarray(from, to));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Service

export interface LoginServiceOptions {
  store: UserStore;
  /** Raw 32-byte X25519 private key. */
  staticPrivateKey: Uint8Array;
  /**
   * Accepted for symmetry with the simulator's injection points. The server's responses need no
   * randomness (salts come from the store's own source), so it is currently unused.
   */
  randomBytes?: (n: number) => Uint8Array;
  /** Clock for rate limiting, ms. Default Date.now. */
  nowMs?: () => number;
  /** Overrides for the LOGIN-failure limiters, keyed by username and by peer. */
  rateLimit?: { user?: Partial<FailureLimitOptions>; peer?: Partial<FailureLimitOptions> };
}

export interface LoginServiceStats {
  /** Frames given to handleFrame. */
  requests: number;
  /** Encrypted responses with status OK. */
  ok: number;
  /** Encrypted responses with any non-OK status (breakdown below). */
  failures: number;
  /** Frames answered with a plain error frame or by closing (breakdown below). */
  malformed: number;
  /** ...of which: error frame with errcode 2 (key agreement or tag check failed). */
  decryptFailed: number;
  /** ...of which: handleFrame returned null (no reqId, or body over 4096 bytes). */
  closed: number;
  register: number;
  login: number;
  lookup: number;
  /** LOGIN answered BAD_CREDENTIALS. */
  loginFailures: number;
  rateLimited: number;
  invalidInput: number;
  /** Internal errors (database, unexpected exceptions). */
  serverErrors: number;
}

function zeroStats(): LoginServiceStats {
  return {
    requests: 0,
    ok: 0,
    failures: 0,
    malformed: 0,
    decryptFailed: 0,
    closed: 0,
    register: 0,
    login: 0,
    lookup: 0,
    loginFailures: 0,
    rateLimited: 0,
    invalidInput: 0,
    serverErrors: 0,
  };
}

const ST_OK = Uint8Array.of(Status.OK);

export class LoginService {
  /** Raw 32-byte X25519 public key (what the firmware must be provisioned with). */
  readonly publicKey: Uint8Array;
  readonly userLimiter: FailureLimiter;
  readonly peerLimiter: FailureLimiter;
  private readonly store: UserStore;
  private readonly priv: Uint8Array;
  private readonly now: () => number;
  private readonly counters: LoginServiceStats = zeroStats();

  constructor(opts: LoginServiceOptions) {
    this.store = opts.store;
    this.priv = Uint8Array.from(opts.staticPrivateKey);
    this.publicKey = x25519Public(this.priv);
    this.now = opts.nowMs ?? Date.now;
    this.userLimiter = new FailureLimiter(opts.rateLimit?.user);
    // A supernode multiplexes many phones over one connection, so by default a peer gets more
    // headroom than a single username before it is locked out.
    this.peerLimiter = new FailureLimiter({ maxFailures: 20, ...opts.rateLimit?.peer });
  }

  /** Snapshot of the counters. */
  get stats(): LoginServiceStats {
    return { ...this.counters };
  }

  /**
   * Request body → response body, or null when the connection should be closed (body shorter than
   * a reqId, or longer than 4096 bytes). `peer` identifies the sender for rate limiting (use the
   * remote address without port so reconnecting does not reset it). Never throws.
   */
  handleFrame(body: Uint8Array, peer: string): Uint8Array | null {
    const c = this.counters;
    c.requests++;
    try {
      return this.handle(body, String(peer));
    } catch {
      // Unreachable in practice: everything that can fail below is caught closer to its source.
      c.serverErrors++;
      c.malformed++;
      c.closed++;
      return null;
    }
  }

  private handle(body: Uint8Array, peer: string): Uint8Array | null {
    const c = this.counters;
    if (!(body instanceof Uint8Array) || body.length < 4 || body.length > MAX_FRAME_BODY) {
      c.malformed++;
      c.closed++;
      return null;
    }
    const reqId = readU32(body, 0);
    if (body.length < REQUEST_HEADER_LEN + TAG_LEN || body[4] !== KIND_REQUEST) {
      c.malformed++;
      return errorFrame(reqId, ErrCode.MALFORMED);
    }
    const ephPub = body.subarray(5, REQUEST_HEADER_LEN);
    let key: Uint8Array;
    let pt: Uint8Array | null;
    try {
      // x25519 throws on a low-order ephPub (all-zero shared secret).
      key = deriveSessionKey(x25519(this.priv, ephPub), ephPub, this.publicKey);
      pt = open(key, REQUEST_NONCE, body.subarray(REQUEST_HEADER_LEN));
    } catch {
      pt = null;
      key = new Uint8Array(0);
    }
    if (!pt) {
      c.malformed++;
      c.decryptFailed++;
      return errorFrame(reqId, ErrCode.DECRYPT_FAILED);
    }

    let reply: Uint8Array;
    try {
      reply = this.dispatch(pt, peer);
    } catch {
      c.serverErrors++;
      reply = Uint8Array.of(Status.SERVER_ERROR);
    }
    if (reply[0] === Status.OK) c.ok++;
    else c.failures++;

    const sealed = seal(key, RESPONSE_NONCE, reply);
    const out = new Uint8Array(RESPONSE_HEADER_LEN + sealed.length);
    writeU32(out, 0, reqId);
    out[4] = KIND_RESPONSE;
    out.set(sealed, RESPONSE_HEADER_LEN);
    return out;
  }

  /** Decrypted plaintext → response plaintext. May throw (database trouble) → SERVER_ERROR. */
  private dispatch(pt: Uint8Array, peer: string): Uint8Array {
    const c = this.counters;
    const req = parseRequest(pt);
    if (!req || !isValidUsername(req.username)) {
      c.invalidInput++;
      return Uint8Array.of(Status.INVALID_INPUT);
    }
    switch (req.op) {
      case Op.LOOKUP:
        c.lookup++;
        return this.store.exists(req.username) ? ST_OK : Uint8Array.of(Status.NOT_FOUND);

      case Op.REGISTER: {
        c.register++;
        if (!isValidPassword(req.password)) {
          c.invalidInput++;
          return Uint8Array.of(Status.INVALID_INPUT);
        }
        const r = this.store.register(req.username, req.password);
        if (r.status === 'exists') return Uint8Array.of(Status.EXISTS);
        const out = new Uint8Array(5);
        writeU32(out, 1, checkId(r.userId));
        return out;
      }

      case Op.LOGIN: {
        c.login++;
        if (!isValidPassword(req.password)) {
          c.invalidInput++;
          return Uint8Array.of(Status.INVALID_INPUT);
        }
        const now = this.now();
        const wait = Math.max(
          this.userLimiter.retryAfterMs(req.username, now),
          this.peerLimiter.retryAfterMs(peer, now),
        );
        if (wait > 0) {
          c.rateLimited++;
          return Uint8Array.of(Status.RATE_LIMITED);
        }
        const user = this.store.verify(req.username, req.password);
        if (!user) {
          c.loginFailures++;
          this.userLimiter.recordFailure(req.username, now);
          this.peerLimiter.recordFailure(peer, now);
          return Uint8Array.of(Status.BAD_CREDENTIALS);
        }
        this.userLimiter.reset(req.username);
        const name = user.username;
        const out = new Uint8Array(6 + name.length);
        writeU32(out, 1, checkId(user.id));
        out[5] = name.length;
        for (let i = 0; i < name.length; i++) out[6 + i] = name.charCodeAt(i);
        return out;
      }
    }
  }
}

function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError('userId out of u32 range');
  return id;
}

function errorFrame(reqId: number, code: number): Uint8Array {
  const out = new Uint8Array(6);
  writeU32(out, 0, reqId);
  out[4] = KIND_ERROR;
  out[5] = code;
  return out;
}
