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
  MAX_FRAME_BODY,
  Op,
  InvalidReason,
  Status,
  isValidPassword,
  isValidUsername,
  parseRequest,
  readU32,
  writeU32,
} from './protocol.ts';
import { x25519Public } from './keys.ts';
import { FailureLimiter, type FailureLimitOptions } from './ratelimit.ts';
import type { UserStore } from './store.ts';
import { NoiseHandshake } from './noise.ts';
import { LOGIN_PROLOGUE, padPlaintext, unpadPlaintext } from './keys.ts';
import { CERT_LIFETIME_S, bindMessage, ed25519Verify, issueCert, signingKey, type SigningKey } from './cert.ts';
import { randomBytes } from 'node:crypto';

/** Shortest Noise_IK message 1: e 32 + enc(s) 48 + tag 16 (empty payload). */
const NOISE_IK_MSG1_MIN = 32 + 48 + 16;
import { BuddyBook, isBuddyOp, parseBuddyRequest } from './buddies.ts';

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
   * Source of the Noise responder's ephemeral keys (issue #7); the simulator injects its seeded RNG so that
   * runs are reproducible. Default: node:crypto. (Salts come from the store's own source.)
   */
  randomBytes?: (n: number) => Uint8Array;
  /** Clock for rate limiting, ms. Default Date.now. */
  nowMs?: () => number;
  /** Overrides for the LOGIN-failure limiters, keyed by username and by peer. */
  rateLimit?: { user?: Partial<FailureLimitOptions>; peer?: Partial<FailureLimitOptions> };
  /** Certificate signing key (server/cert.ts); a random one (id 1) when absent. */
  signingKey?: SigningKey;
  /** Certificate lifetime, seconds. Default CERT_LIFETIME_S (24 h). */
  certLifetimeS?: number;
  /**
   * Admission control for requests that run the password hash (REGISTER, LOGIN, buddy operations): called
   * after the request opened and parsed, before any hashing. Returns 0 to admit, or a retry-after in ms (the
   * answer is then Status.BUSY with it, and nothing else is done: no hash, no limiter update, no account).
   * Default: admit all. The simulator's server sheds when its hash queue would delay the answer too long
   * (host-sim/login-host.ts), so a login storm cannot pile up requests that the phones have given up on.
   */
  admit?: () => number;
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
  /** Certificates issued (LOGIN OK with an identity). */
  certsIssued: number;
  register: number;
  login: number;
  lookup: number;
  /** LOGIN answered BAD_CREDENTIALS. */
  loginFailures: number;
  rateLimited: number;
  /** Hashing requests answered Status.BUSY by admission control (options.admit). */
  shed: number;
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
    certsIssued: 0,
    register: 0,
    login: 0,
    lookup: 0,
    loginFailures: 0,
    rateLimited: 0,
    shed: 0,
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
  /** Signs certificates. */
  readonly signingKey: SigningKey;
  readonly certLifetimeS: number;
  /** Source of the Noise responder's ephemeral keys (default: node:crypto inside NoiseHandshake). */
  private readonly rand: ((n: number) => Uint8Array) | undefined;
  private readonly admit: (() => number) | undefined;
  /** The Noise initiator static key of the request being dispatched (null outside a dispatch). */
  private sessionRs: Uint8Array | null = null;
  /** Buddy and block lists (issue #8, server/buddies.ts): ops 0x70–0x76 in the same sealed request. */
  readonly buddies: BuddyBook;

  constructor(opts: LoginServiceOptions) {
    this.store = opts.store;
    this.priv = Uint8Array.from(opts.staticPrivateKey);
    this.publicKey = x25519Public(this.priv);
    this.now = opts.nowMs ?? Date.now;
    this.signingKey = opts.signingKey ?? signingKey(1, new Uint8Array(randomBytes(32)));
    this.certLifetimeS = opts.certLifetimeS ?? CERT_LIFETIME_S;
    if (!Number.isInteger(this.certLifetimeS) || this.certLifetimeS < 1) throw new RangeError('certLifetimeS must be a positive integer');
    this.rand = opts.randomBytes;
    this.admit = opts.admit;
    this.buddies = new BuddyBook(this.store, this.now);
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
    // Noise_IK only (docs/security.md §Login): there is no other request format, so nothing on the wire is a
    // fixed plaintext byte. Too short for message 1 → MALFORMED; does not open → DECRYPT_FAILED.
    if (body.length < 4 + NOISE_IK_MSG1_MIN) {
      c.malformed++;
      return errorFrame(reqId, ErrCode.MALFORMED);
    }
    const reply = this.handleNoise(reqId, body.subarray(4), peer);
    if (reply) return reply;
    c.malformed++;
    c.decryptFailed++;
    return errorFrame(reqId, ErrCode.DECRYPT_FAILED);
  }

  private prefixSearch(pt: Uint8Array): Uint8Array { return prefixSearchImpl(this.store, this.counters, pt); }

  /**
   * Opens `msg` as Noise_IK message 1 with our static key; on success answers with message 2 (the padded reply)
   * and returns the response body. Returns null when the message does not open (the caller decides what
   * to answer). The initiator's static key (hs.rs) goes to dispatch for LOGIN identity binding.
   */
  private handleNoise(reqId: number, msg: Uint8Array, peer: string): Uint8Array | null {
    let hs: NoiseHandshake;
    let pt: Uint8Array | null;
    try {
      // The ephemeral key comes from the injected source when there is one (the simulator: reproducible runs).
      hs = new NoiseHandshake('IK', false, LOGIN_PROLOGUE, { s: this.priv, e: this.rand ? this.rand(32) : undefined });
      pt = unpadPlaintext(hs.readMessage(msg));
    } catch {
      return null;
    }
    const c = this.counters;
    if (!pt) {
      // Authentic but badly padded: answer (encrypted) INVALID_INPUT.
      c.invalidInput++;
      pt = null;
    }
    const reply = pt ? this.dispatchCounted(pt, peer, hs.rs) : invalid(InvalidReason.MALFORMED, c);
    const m2 = hs.writeMessage(padPlaintext(reply));
    const out = new Uint8Array(4 + m2.length);
    writeU32(out, 0, reqId);
    out.set(m2, 4);
    return out;
  }

  /** dispatch + SERVER_ERROR on exceptions + ok/failure counters. */
  private dispatchCounted(pt: Uint8Array, peer: string, rs: Uint8Array | null): Uint8Array {
    const c = this.counters;
    let reply: Uint8Array;
    try {
      this.sessionRs = rs;
      reply = this.dispatch(pt, peer);
    } catch {
      c.serverErrors++;
      reply = Uint8Array.of(Status.SERVER_ERROR);
    } finally {
      this.sessionRs = null;
    }
    if (reply[0] === Status.OK) c.ok++;
    else c.failures++;
    return reply;
  }

  /** Admission control before a password hash: null admits; otherwise the BUSY answer [8][retryAfterMs u32 BE]. */
  private shed(): Uint8Array | null {
    const ms = this.admit ? this.admit() : 0;
    if (!(ms > 0)) return null;
    this.counters.shed++;
    const out = new Uint8Array(5);
    out[0] = Status.BUSY;
    writeU32(out, 1, Math.min(0xffffffff, Math.ceil(ms)));
    return out;
  }

  /** Decrypted plaintext → response plaintext. May throw (database trouble) → SERVER_ERROR. */
  private dispatch(pt: Uint8Array, peer: string): Uint8Array {
    const c = this.counters;
    if (pt.length > 0 && isBuddyOp(pt[0])) {
      const b = parseBuddyRequest(pt);
      if (!b) { c.invalidInput++; return Uint8Array.of(Status.INVALID_INPUT); }
      // Shed only what would hash: a buddy request right after its login is vouched for without one.
      const busy = this.buddies.needsHash(b.username, b.password) ? this.shed() : null;
      if (busy) return busy;
      // Same password-guessing limits as LOGIN: a buddy op must not be a way around them.
      const now = this.now();
      if (Math.max(this.userLimiter.retryAfterMs(b.username, now), this.peerLimiter.retryAfterMs(peer, now)) > 0) {
        c.rateLimited++;
        return Uint8Array.of(Status.RATE_LIMITED);
      }
      const out = this.buddies.handle(b);
      if (out[0] === Status.BAD_CREDENTIALS) {
        this.userLimiter.recordFailure(b.username, now);
        this.peerLimiter.recordFailure(peer, now);
      }
      return out;
    }
    if (pt.length > 0 && pt[0] === OP_PREFIX) return this.prefixSearch(pt);
    const req = parseRequest(pt);
    if (!req) return invalid(InvalidReason.MALFORMED, c);
    if (!isValidUsername(req.username)) return invalid(InvalidReason.USERNAME, c);
    switch (req.op) {
      case Op.LOOKUP:
        c.lookup++;
        return this.store.exists(req.username) ? ST_OK : Uint8Array.of(Status.NOT_FOUND);

      case Op.REGISTER: {
        c.register++;
        if (!isValidPassword(req.password)) return invalid(InvalidReason.PASSWORD, c);
        const busy = this.shed();
        if (busy) return busy;
        const r = this.store.register(req.username, req.password);
        if (r.status === 'exists') return Uint8Array.of(Status.EXISTS);
        const out = new Uint8Array(5);
        writeU32(out, 1, checkId(r.userId));
        return out;
      }

      case Op.LOGIN: {
        c.login++;
        if (!isValidPassword(req.password)) return invalid(InvalidReason.PASSWORD, c);
        // The identity key must vouch for the Noise key this request came with (checked before the password,
        // so the answer says nothing about the account).
        const rs = this.sessionRs;
        if (req.identity && (!rs || !ed25519Verify(req.identity.idPub, bindMessage(rs, req.username), req.identity.bindSig))) {
          return invalid(InvalidReason.IDENTITY, c);
        }
        const busy = this.shed();
        if (busy) return busy;
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
        this.buddies.noteLogin(user.username, req.password);
        const name = user.username;
        let cert: Uint8Array | null = null;
        const nowS = Math.floor(now / 1000);
        if (req.identity && rs) {
          cert = issueCert(this.signingKey, {
            notBeforeS: nowS, notAfterS: nowS + this.certLifetimeS, user: name, idPub: req.identity.idPub, noisePub: rs,
          });
          c.certsIssued++;
        }
        const out = new Uint8Array(6 + name.length + (cert ? 6 + cert.length : 0));
        writeU32(out, 1, checkId(user.id));
        out[5] = name.length;
        for (let i = 0; i < name.length; i++) out[6 + i] = name.charCodeAt(i);
        if (cert) {
          const o = 6 + name.length;
          writeU32(out, o, nowS >>> 0);
          out[o + 4] = cert.length >>> 8;
          out[o + 5] = cert.length & 0xff;
          out.set(cert, o + 6);
        }
        return out;
      }
    }
  }
}

/** Directory prefix search (issue #5, "sal*"): request [4][prefix str8][limit u8]. */
export const OP_PREFIX = 4;
/** Most names one prefix search returns (a response must fit the phone's 512-byte sealed-response buffer). */
export const PREFIX_LIMIT_MAX = 10;
const PREFIX_RE = /^[a-z][a-z0-9._-]{0,31}$/;

/**
 * OP_PREFIX → [OK][more u8][n u8][(len u8, name) × n]: the first min(limit, PREFIX_LIMIT_MAX) names starting
 * with `prefix`, in byte order; more = 1 when there are further matches. A prefix of 1–32 characters of the
 * username alphabet and a limit ≥ 1, else INVALID_INPUT. Counted as a lookup.
 */
function prefixSearchImpl(store: UserStore, c: LoginServiceStats, pt: Uint8Array): Uint8Array {
  const plen = pt.length >= 2 ? pt[1] : -1;
  if (plen < 1 || pt.length !== 2 + plen + 1) { c.invalidInput++; return Uint8Array.of(Status.INVALID_INPUT); }
  let prefix = '';
  for (let i = 0; i < plen; i++) prefix += String.fromCharCode(pt[2 + i]);
  const limit = pt[2 + plen];
  if (!PREFIX_RE.test(prefix) || limit < 1) { c.invalidInput++; return Uint8Array.of(Status.INVALID_INPUT); }
  c.lookup++;
  const n = Math.min(limit, PREFIX_LIMIT_MAX);
  const found = store.prefix(prefix, n + 1);
  const names = found.slice(0, n);
  const out = new Uint8Array(3 + names.reduce((a, x) => a + 1 + x.length, 0));
  out[0] = Status.OK; out[1] = found.length > n ? 1 : 0; out[2] = names.length;
  let o = 3;
  for (const name of names) { out[o++] = name.length; for (let i = 0; i < name.length; i++) out[o++] = name.charCodeAt(i); }
  return out;
}

function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError('userId out of u32 range');
  return id;
}

/** v1 error frame: [reqId][errcode] (5 bytes; a Noise answer is never shorter than 48). */
function errorFrame(reqId: number, code: number): Uint8Array {
  const out = new Uint8Array(5);
  writeU32(out, 0, reqId);
  out[4] = code;
  return out;
}

function invalid(reason: number, c: LoginServiceStats): Uint8Array {
  c.invalidInput++;
  return Uint8Array.of(Status.INVALID_INPUT, reason);
}
