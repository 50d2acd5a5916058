/**
 * Login/directory server tests.
 *   node --import tsx --test tests/host/server.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

import {
  ErrCode,
  Op,
  Status,
  decodeResponse,
  encodeLogin,
  encodeLookup,
  encodeRegister,
  isValidPassword,
  isValidUsername,
  readU32,
  type ResponsePayload,
} from '../../server/protocol.ts';
import {
  generateX25519,
  hkdf,
  loadOrCreateServerKey,
  open,
  openResponse,
  seal,
  sealRequest,
  x25519,
  x25519Public,
} from '../../server/keys.ts';
import { SCRYPT_N_DEFAULT, UserStore } from '../../server/store.ts';
import { FrameDecoder, LoginService, encodeFrame, type LoginServiceOptions } from '../../server/service.ts';
import { FailureLimiter } from '../../server/ratelimit.ts';
import { listenTcp } from '../../server/net.ts';
import { LoopBusyAdmission } from '../../server/shed.ts';
import { BuddyOp, encodeBuddyRequest } from '../../server/buddies.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
/** Low scrypt cost for speed; the default (16384) is exercised by the timing and CLI tests. */
const TEST_N = 1024;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'login-server-test-'));
}

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Harness {
  svc: LoginService;
  store: UserStore;
  clock: { now: number };
  call(op: Op, pt: Uint8Array, peer?: string, reqId?: number): ResponsePayload & { raw: Uint8Array };
  register(u: string, p: string | Uint8Array, peer?: string): ResponsePayload & { raw: Uint8Array };
  login(u: string, p: string | Uint8Array, peer?: string): ResponsePayload & { raw: Uint8Array };
  lookup(u: string, peer?: string): ResponsePayload & { raw: Uint8Array };
}

function harness(extra: Partial<LoginServiceOptions> = {}, storePath = ':memory:'): Harness {
  const store = new UserStore(storePath, { scryptN: TEST_N });
  const clock = { now: 1_000_000 };
  const { privateKey } = generateX25519();
  const svc = new LoginService({ store, staticPrivateKey: privateKey, nowMs: () => clock.now, ...extra });
  const call = (op: Op, pt: Uint8Array, peer = '10.0.0.1', reqId = 0x0badf00d) => {
    const { body, key } = sealRequest(svc.publicKey, pt, undefined, reqId);
    const res = svc.handleFrame(body, peer);
    assert.ok(res, 'expected a response');
    const o = openResponse(key, res);
    assert.equal(o.kind, 'response');
    assert.equal(o.reqId, reqId);
    if (o.kind !== 'response') throw new Error('unreachable');
    return { ...decodeResponse(op, o.plaintext), raw: o.plaintext };
  };
  return {
    svc,
    store,
    clock,
    call,
    register: (u, p, peer) => call(Op.REGISTER, encodeRegister(u, p), peer),
    login: (u, p, peer) => call(Op.LOGIN, encodeLogin(u, p), peer),
    lookup: (u, peer) => call(Op.LOOKUP, encodeLookup(u), peer),
  };
}

// -------------------------------------------------------------------------------------------------

describe('crypto primitives (published test vectors)', () => {
  test('X25519 RFC 7748 §6.1', () => {
    const aPriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const aPub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const bPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const bPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    assert.equal(toHex(x25519Public(aPriv)), toHex(aPub));
    assert.equal(toHex(x25519Public(bPriv)), toHex(bPub));
    assert.equal(toHex(x25519(aPriv, bPub)), k);
    assert.equal(toHex(x25519(bPriv, aPub)), k);
  });

  test('X25519 rejects low-order public keys and wrong lengths', () => {
    const priv = generateX25519().privateKey;
    assert.throws(() => x25519(priv, new Uint8Array(32)));
    assert.throws(() => x25519(priv, new Uint8Array(31)));
    assert.throws(() => x25519Public(new Uint8Array(33)));
  });

  test('HKDF-SHA256 RFC 5869 test case 1', () => {
    const okm = hkdf(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(
      toHex(okm),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  test('ChaCha20-Poly1305 RFC 8439 §2.8.2', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const pt = utf8(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const out = seal(key, nonce, pt, aad);
    const expectCt =
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116';
    const expectTag = '1ae10b594f09e26a7e902ecbd0600691';
    assert.equal(toHex(out), expectCt + expectTag);
    assert.deepEqual(open(key, nonce, out, aad), pt);
    const bad = out.slice();
    bad[bad.length - 1] ^= 1;
    assert.equal(open(key, nonce, bad, aad), null);
    assert.equal(open(key, nonce, out), null, 'AAD is authenticated');
    assert.equal(open(key, nonce, out.subarray(0, 15)), null, 'shorter than a tag');
  });
});

// -------------------------------------------------------------------------------------------------

describe('LoginService requests', () => {
  test('register → OK, again → EXISTS; ids are distinct', () => {
    const h = harness();
    const a = h.register('alice', 'correct horse');
    assert.equal(a.status, Status.OK);
    assert.equal(typeof a.userId, 'number');
    assert.equal(a.raw.length, 5);
    const again = h.register('alice', 'another password');
    assert.equal(again.status, Status.EXISTS);
    assert.equal(again.raw.length, 1);
    const b = h.register('bob.b-_9', 'hunter22');
    assert.equal(b.status, Status.OK);
    assert.notEqual(b.userId, a.userId);
    assert.equal(h.store.count(), 2);
  });

  test('login: right password → OK with userId and canonical name', () => {
    const h = harness();
    const reg = h.register('alice', 'correct horse');
    const r = h.login('alice', 'correct horse');
    assert.equal(r.status, Status.OK);
    assert.equal(r.userId, reg.userId);
    assert.equal(r.username, 'alice');
    assert.deepEqual([...r.raw.subarray(5)], [5, ...utf8('alice')]);
  });

  test('login: wrong password and unknown user → identical BAD_CREDENTIALS', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const wrong = h.login('alice', 'wrong horse');
    const unknown = h.login('mallory', 'correct horse');
    assert.equal(wrong.status, Status.BAD_CREDENTIALS);
    assert.deepEqual(wrong.raw, Uint8Array.of(Status.BAD_CREDENTIALS));
    assert.deepEqual(unknown.raw, wrong.raw);
    // Whole frames differ only in ciphertext bytes, not in length.
    const f1 = h.svc.handleFrame(sealRequest(h.svc.publicKey, encodeLogin('alice', 'nope-nope')).body, 'x');
    const f2 = h.svc.handleFrame(sealRequest(h.svc.publicKey, encodeLogin('nobody', 'nope-nope')).body, 'x');
    assert.equal(f1?.length, f2?.length);
  });

  test('login: unknown user costs the same scrypt work as a wrong password (default N)', () => {
    // Counted, not timed (wall-clock timing is flaky on a loaded machine): both paths run exactly one
    // scrypt evaluation at the store's N, and a plain existence lookup runs none.
    const store = new UserStore(':memory:');
    assert.equal(store.scryptN, SCRYPT_N_DEFAULT);
    assert.equal(SCRYPT_N_DEFAULT, 16384);
    store.register('alice', 'correct horse');
    const cost = (f: () => unknown) => { const k0 = store.kdfCount; f(); return store.kdfCount - k0; };
    assert.equal(cost(() => assert.equal(store.verify('alice', 'wrong horse'), null)), 1);
    assert.equal(cost(() => assert.equal(store.verify('mallory', 'wrong horse'), null)), 1);
    assert.equal(cost(() => store.exists('alice')), 0);
    store.close();
  });

  test('lookup: existing → OK, missing → NOT_FOUND', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const yes = h.lookup('alice');
    assert.equal(yes.status, Status.OK);
    assert.deepEqual(yes.raw, Uint8Array.of(0));
    assert.equal(h.lookup('bob').status, Status.NOT_FOUND);
  });

  test('username and password rules → INVALID_INPUT', () => {
    const h = harness();
    const badNames = [
      '',
      'ab',
      'a'.repeat(33),
      'Alice',
      'ALICE',
      '1alice',
      '.alice',
      '_alice',
      'al ice',
      'al!ce',
      'alicé',
      'al\u0000ice',
      'alice\n',
      'al/ice',
    ];
    for (const u of badNames) {
      assert.equal(isValidUsername(u), false, u);
      assert.equal(h.register(u, 'correct horse').status, Status.INVALID_INPUT, `register ${JSON.stringify(u)}`);
      assert.equal(h.login(u, 'correct horse').status, Status.INVALID_INPUT, `login ${JSON.stringify(u)}`);
      assert.equal(h.lookup(u).status, Status.INVALID_INPUT, `lookup ${JSON.stringify(u)}`);
    }
    // Raw non-ASCII byte in the username (not valid UTF-8 either).
    assert.equal(h.call(Op.LOOKUP, Uint8Array.of(Op.LOOKUP, 4, 0x61, 0x62, 0xff, 0x63)).status, Status.INVALID_INPUT);

    const badPasswords: Uint8Array[] = [
      new Uint8Array(0),
      utf8('12345'),
      new Uint8Array(65).fill(0x61),
      Uint8Array.of(0x61, 0x62, 0x63, 0x64, 0x65, 0xff), // invalid UTF-8
      Uint8Array.of(0x61, 0x62, 0x63, 0x64, 0x65, 0xc3), // truncated sequence
      Uint8Array.of(0x61, 0x62, 0x63, 0xed, 0xa0, 0x80), // UTF-16 surrogate
    ];
    for (const p of badPasswords) {
      assert.equal(isValidPassword(p), false);
      assert.equal(h.register('carol', p).status, Status.INVALID_INPUT);
      assert.equal(h.login('carol', p).status, Status.INVALID_INPUT);
    }
    assert.equal(h.lookup('carol').status, Status.NOT_FOUND, 'nothing was created');

    // Boundaries that must be accepted.
    assert.equal(h.register('abc', '123456').status, Status.OK);
    assert.equal(h.register('a' + 'z'.repeat(31), 'p'.repeat(64)).status, Status.OK);
    assert.equal(h.register('dave', 'pässwörd-✓').status, Status.OK);
    assert.equal(h.login('dave', 'pässwörd-✓').status, Status.OK);
    assert.equal(h.login('a' + 'z'.repeat(31), 'p'.repeat(64)).username, 'a' + 'z'.repeat(31));
  });

  test('structurally bad plaintexts → INVALID_INPUT (encrypted)', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(4, 5, ...utf8('alice')),
      Uint8Array.of(Op.LOOKUP),
      Uint8Array.of(Op.LOOKUP, 6, ...utf8('alice')),
      Uint8Array.of(Op.LOOKUP, 5, ...utf8('alice'), 0),
      Uint8Array.of(Op.LOGIN, 5, ...utf8('alice')),
      Uint8Array.of(Op.LOGIN, 5, ...utf8('alice'), 13, ...utf8('correct horse'), 0),
      Uint8Array.of(Op.LOGIN, 5, ...utf8('alice'), 14, ...utf8('correct horse')),
      Uint8Array.of(Op.REGISTER, 3, ...utf8('bob')),
    ];
    for (const pt of cases) {
      assert.equal(h.call(Op.LOOKUP, pt).status, Status.INVALID_INPUT, toHex(pt));
    }
    assert.equal(h.svc.stats.invalidInput, cases.length);
  });

  test('counters', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    h.register('alice', 'correct horse');
    h.login('alice', 'correct horse');
    h.login('alice', 'bad horse');
    h.lookup('zed');
    h.svc.handleFrame(new Uint8Array(2), 'p');
    h.svc.handleFrame(new Uint8Array(10), 'p');
    const s = h.svc.stats;
    assert.equal(s.requests, 7);
    assert.equal(s.ok, 2);
    assert.equal(s.failures, 3);
    assert.equal(s.malformed, 2);
    assert.equal(s.closed, 1);
    assert.equal(s.register, 2);
    assert.equal(s.login, 2);
    assert.equal(s.lookup, 1);
    assert.equal(s.loginFailures, 1);
  });

  test('database errors become SERVER_ERROR, not exceptions', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    h.store.close();
    assert.equal(h.login('alice', 'correct horse').status, Status.SERVER_ERROR);
    assert.equal(h.lookup('alice').status, Status.SERVER_ERROR);
    assert.equal(h.svc.stats.serverErrors, 2);
  });
});

// -------------------------------------------------------------------------------------------------

describe('malformed and hostile frames', () => {
  // Error frame [reqId][code] (issue #7, Noise login; the one-shot v0 format with its 0x01 byte is gone).
  const expectError = (res: Uint8Array | null, reqId: number, code: number) => {
    assert.ok(res, 'expected an error frame, got close');
    assert.equal(res.length, 5, `error frame length ${res.length}`);
    assert.equal(readU32(res, 0), reqId);
    assert.equal(res[res.length - 1], code);
  };

  test('too short for a reqId, or over 4096 bytes → null (close)', () => {
    const h = harness();
    for (let n = 0; n < 4; n++) assert.equal(h.svc.handleFrame(new Uint8Array(n), 'p'), null);
    assert.equal(h.svc.handleFrame(new Uint8Array(4097), 'p'), null);
    assert.equal(h.svc.handleFrame(undefined as unknown as Uint8Array, 'p'), null);
    assert.equal(h.svc.handleFrame('garbage' as unknown as Uint8Array, 'p'), null);
  });

  test('too short for Noise_IK message 1 (e 32 + s 48 + tag 16) → MALFORMED, reqId echoed', () => {
    const h = harness();
    const { body } = sealRequest(h.svc.publicKey, encodeLookup('alice'), undefined, 0xdeadbeef);
    for (const n of [4, 5, 4 + 32, 4 + 32 + 48 + 15]) {
      expectError(h.svc.handleFrame(body.subarray(0, n), 'p'), 0xdeadbeef, ErrCode.MALFORMED);
    }
  });

  test('a v0-format request (0x01, ephPub, one-shot AEAD) is refused: no fixed-header format is accepted', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const before = h.svc.stats;
    // [reqId][0x01][ephPub 32][ciphertext ‖ tag]: the shape of the removed v0 LOGIN, short and long.
    for (const ctLen of [16 + 21, 16 + 200]) {
      const b = new Uint8Array(4 + 1 + 32 + ctLen);
      for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) & 0xff;
      b.set([0, 0, 0, 9, 0x01], 0);
      expectError(h.svc.handleFrame(b, 'p'), 9, b.length < 4 + 96 ? ErrCode.MALFORMED : ErrCode.DECRYPT_FAILED);
    }
    assert.equal(h.svc.stats.ok, before.ok);
    assert.equal(h.svc.stats.login, before.login);
  });

  test('tampered ciphertext, tag, ephPub, wrong server key, low-order key → DECRYPT_FAILED', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const { body } = sealRequest(h.svc.publicKey, encodeLogin('alice', 'correct horse'), undefined, 7);
    // Every single-bit flip after the reqId must be caught.
    for (let i = 4; i < body.length; i++) {
      const b = body.slice();
      b[i] ^= 1 << (i % 8);
      expectError(h.svc.handleFrame(b, 'p'), 7, ErrCode.DECRYPT_FAILED);
    }
    // Truncated / extended ciphertext.
    expectError(h.svc.handleFrame(body.subarray(0, body.length - 1), 'p'), 7, ErrCode.DECRYPT_FAILED);
    expectError(h.svc.handleFrame(Uint8Array.of(...body, 0), 'p'), 7, ErrCode.DECRYPT_FAILED);
    // Encrypted to another server.
    const other = generateX25519().publicKey;
    expectError(h.svc.handleFrame(sealRequest(other, encodeLookup('alice'), undefined, 8).body, 'p'), 8, ErrCode.DECRYPT_FAILED);
    // Low-order ephemeral keys (all-zero shared secret) must not crash the server.
    for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      const b = body.slice();
      b.set(lowOrder, 5);
      expectError(h.svc.handleFrame(b, 'p'), 7, ErrCode.DECRYPT_FAILED);
    }
    // The untampered request still works, and no tampered one was ever accepted.
    const ok = h.svc.handleFrame(body, 'p');
    assert.ok(ok && ok.length > 6, 'a Noise answer');
    assert.equal(h.svc.stats.ok, 2);
  });

  test('fuzz: 3,000 random and mutated bodies never throw', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    const rnd = prng(0x5eed);
    const byte = () => Math.floor(rnd() * 256);
    const valid = sealRequest(h.svc.publicKey, encodeLogin('alice', 'correct horse'), undefined, 42).body;
    const before = h.svc.stats;
    let closes = 0;
    let errors = 0;
    const N = 3000;
    for (let i = 0; i < N; i++) {
      let body: Uint8Array;
      const mode = i % 3;
      if (mode === 0) {
        // Pure noise, lengths clustered around the interesting boundaries.
        const len = rnd() < 0.5 ? Math.floor(rnd() * 80) : Math.floor(rnd() * 4200);
        body = Uint8Array.from({ length: len }, byte);
      } else if (mode === 1) {
        // Noise behind a correct kind byte.
        const len = 5 + Math.floor(rnd() * 200);
        body = Uint8Array.from({ length: len }, byte);
        body[4] = 0x01;
      } else {
        // Mutated / truncated valid request.
        body = valid.slice(0, Math.floor(rnd() * (valid.length + 1)));
        const flips = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < flips && body.length > 0; k++) body[Math.floor(rnd() * body.length)] ^= 1 + byte() % 255;
      }
      let res: Uint8Array | null;
      assert.doesNotThrow(() => {
        res = h.svc.handleFrame(body, `peer${i % 7}`);
      });
      res = h.svc.handleFrame(body, `peer${i % 7}`); // twice: same answer, still no throw
      if (res === null) {
        closes++;
        assert.ok(body.length < 4 || body.length > 4096, `closed on length ${body.length}`);
        continue;
      }
      errors++;
      assert.equal(res.length, 5);
      assert.equal(readU32(res, 0), readU32(body, 0));
      assert.ok(res[res.length - 1] === ErrCode.MALFORMED || res[res.length - 1] === ErrCode.DECRYPT_FAILED);
    }
    const after = h.svc.stats;
    assert.equal(after.requests - before.requests, 2 * N);
    assert.equal(after.ok, before.ok, 'no fuzzed frame was accepted');
    assert.equal(after.malformed - before.malformed, 2 * N);
    assert.equal(after.closed - before.closed, 2 * closes);
    assert.ok(closes > 10 && errors > 1000, `closes ${closes} errors ${errors}`);
  });
});

// -------------------------------------------------------------------------------------------------

describe('rate limiting', () => {
  test('per-username: 5 failures in 60 s lock the name, released after backoff, backoff doubles', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    // Spread over different peers so only the username limiter is involved.
    for (let i = 0; i < 5; i++) {
      assert.equal(h.login('alice', 'bad horse', `10.0.1.${i}`).status, Status.BAD_CREDENTIALS);
      h.clock.now += 1000;
    }
    assert.equal(h.login('alice', 'correct horse', '10.0.2.1').status, Status.RATE_LIMITED, 'right password too');
    assert.equal(h.login('alice', 'bad horse', '10.0.2.1').status, Status.RATE_LIMITED);
    // Other users are unaffected.
    h.register('bob', 'bob-password');
    assert.equal(h.login('bob', 'bob-password', '10.0.2.2').status, Status.OK);
    // Lock is 30 s from the 5th failure.
    h.clock.now += 30_000 - 1000 - 1;
    assert.equal(h.login('alice', 'correct horse', '10.0.2.1').status, Status.RATE_LIMITED);
    h.clock.now += 1;
    // Second lockout is 60 s.
    for (let i = 0; i < 5; i++) assert.equal(h.login('alice', 'bad horse', `10.0.3.${i}`).status, Status.BAD_CREDENTIALS);
    h.clock.now += 30_000;
    assert.equal(h.login('alice', 'correct horse', '10.0.2.1').status, Status.RATE_LIMITED);
    h.clock.now += 30_000;
    assert.equal(h.login('alice', 'correct horse', '10.0.2.1').status, Status.OK);
    // Success clears the name's history: 4 failures do not lock.
    for (let i = 0; i < 4; i++) h.login('alice', 'bad horse', `10.0.4.${i}`);
    assert.equal(h.login('alice', 'correct horse', '10.0.2.1').status, Status.OK);
    assert.ok(h.svc.stats.rateLimited >= 4);
  });

  test('unknown usernames are limited the same way (no enumeration via the limiter)', () => {
    const h = harness();
    for (let i = 0; i < 5; i++) assert.equal(h.login('ghost', 'whatever1', `10.9.0.${i}`).status, Status.BAD_CREDENTIALS);
    assert.equal(h.login('ghost', 'whatever1', '10.9.1.1').status, Status.RATE_LIMITED);
  });

  test('failures outside the 60 s window do not accumulate', () => {
    const h = harness();
    h.register('alice', 'correct horse');
    for (let i = 0; i < 4; i++) h.login('alice', 'bad horse', `10.0.0.${i}`);
    h.clock.now += 60_001;
    for (let i = 0; i < 4; i++) h.login('alice', 'bad horse', `10.0.0.${i}`);
    assert.equal(h.login('alice', 'correct horse').status, Status.OK);
  });

  test('per-peer: failures across many usernames lock the peer only', () => {
    const h = harness({ rateLimit: { peer: { maxFailures: 3, baseBackoffMs: 10_000 } } });
    h.register('alice', 'correct horse');
    for (const u of ['u1x', 'u2x', 'u3x']) assert.equal(h.login(u, 'password', '192.0.2.9').status, Status.BAD_CREDENTIALS);
    assert.equal(h.login('alice', 'correct horse', '192.0.2.9').status, Status.RATE_LIMITED);
    assert.equal(h.login('alice', 'correct horse', '192.0.2.10').status, Status.OK, 'other peers fine');
    // Register/lookup are not login attempts and stay available.
    assert.equal(h.lookup('alice', '192.0.2.9').status, Status.OK);
    h.clock.now += 10_000;
    assert.equal(h.login('alice', 'correct horse', '192.0.2.9').status, Status.OK);
    // Success does not wipe the peer's strike count: next lockout is 20 s.
    for (const u of ['u4x', 'u5x', 'u6x']) h.login(u, 'password', '192.0.2.9');
    h.clock.now += 10_000;
    assert.equal(h.login('alice', 'correct horse', '192.0.2.9').status, Status.RATE_LIMITED);
    h.clock.now += 10_000;
    assert.equal(h.login('alice', 'correct horse', '192.0.2.9').status, Status.OK);
  });

  test('FailureLimiter: cap, forgetting, bounded memory', () => {
    const l = new FailureLimiter({ maxFailures: 1, baseBackoffMs: 1000, maxBackoffMs: 4000, forgetAfterMs: 100_000, maxEntries: 50 });
    let t = 0;
    const locks: number[] = [];
    for (let i = 0; i < 5; i++) {
      locks.push(l.recordFailure('k', t));
      t += l.retryAfterMs('k', t);
    }
    assert.deepEqual(locks, [1000, 2000, 4000, 4000, 4000]);
    t += 100_000;
    assert.equal(l.retryAfterMs('k', t), 0);
    assert.equal(l.recordFailure('k', t), 1000, 'strikes forgotten after quiet period');
    for (let i = 0; i < 500; i++) l.recordFailure(`x${i}`, t + 200_000 + i);
    assert.ok(l.size <= 51, `size ${l.size}`);
  });
});

// -------------------------------------------------------------------------------------------------

describe('UserStore', () => {
  test('database file never contains the plaintext password', () => {
    const dir = tmp();
    try {
      const dbPath = join(dir, 'users.db');
      const password = 'Plaintext-Canary-7f3a9c';
      const store = new UserStore(dbPath, { scryptN: TEST_N });
      const h = new LoginService({ store, staticPrivateKey: generateX25519().privateKey });
      const { body, key } = sealRequest(h.publicKey, encodeRegister('alice', password));
      assert.equal(openResponse(key, h.handleFrame(body, 'p')!).kind, 'response');
      assert.ok(store.verify('alice', password));
      const needles = [Buffer.from(password), Buffer.from(password, 'utf16le'), Buffer.from(password.toLowerCase())];
      const scan = () => {
        for (const f of readdirSync(dir)) {
          const bytes = readFileSync(join(dir, f));
          for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} contains the password`);
        }
      };
      scan(); // while open (WAL present)
      store.close();
      scan(); // after checkpoint
      assert.ok(readFileSync(dbPath).includes(Buffer.from('alice')), 'sanity: the scan reads real data');

      const db = new Database(dbPath, { readonly: true });
      const row = db.prepare('SELECT id, username, salt, hash, created_at FROM users').get() as {
        salt: Buffer;
        hash: Buffer;
        created_at: number;
      };
      assert.equal(row.salt.length, 16);
      assert.equal(row.hash.length, 32);
      assert.ok(row.created_at > 0);
      assert.equal((db.pragma('journal_mode', { simple: true }) as string).toLowerCase(), 'wal');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('salts are per user: same password → different hashes', () => {
    const dir = tmp();
    try {
      const store = new UserStore(join(dir, 'u.db'), { scryptN: TEST_N });
      store.register('alice', 'same-password');
      store.register('bob', 'same-password');
      store.close();
      const db = new Database(join(dir, 'u.db'), { readonly: true });
      const rows = db.prepare('SELECT salt, hash FROM users ORDER BY id').all() as { salt: Buffer; hash: Buffer }[];
      assert.notDeepEqual(rows[0].salt, rows[1].salt);
      assert.notDeepEqual(rows[0].hash, rows[1].hash);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('registration race is settled by the UNIQUE constraint → exists', () => {
    const dir = tmp();
    try {
      const path = join(dir, 'users.db');
      const a = new UserStore(path, { scryptN: TEST_N });
      let raced = false;
      let armed = false;
      // b's salt is drawn after its existence check and before its INSERT: let a win in between.
      const b = new UserStore(path, {
        scryptN: TEST_N,
        randomBytes: (n) => {
          if (armed && !raced) {
            raced = true;
            assert.equal(a.register('alice', 'first-writer').status, 'ok');
          }
          return new Uint8Array(Buffer.alloc(n, 7));
        },
      });
      armed = true;
      assert.deepEqual(b.register('alice', 'second-writer'), { status: 'exists' });
      assert.ok(raced);
      assert.ok(b.verify('alice', 'first-writer'));
      assert.equal(b.verify('alice', 'second-writer'), null);
      assert.equal(a.count(), 1);
      a.close();
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('reopen keeps users; mismatched scrypt N is refused; bad N rejected', () => {
    const dir = tmp();
    try {
      const path = join(dir, 'users.db');
      const s1 = new UserStore(path, { scryptN: TEST_N });
      const id = s1.register('alice', 'correct horse');
      s1.close();
      s1.close(); // idempotent
      const s2 = new UserStore(path, { scryptN: TEST_N });
      assert.deepEqual(s2.verify('alice', 'correct horse'), { id: (id as { userId: number }).userId, username: 'alice' });
      s2.close();
      assert.throws(() => new UserStore(path), /scrypt N=1024/);
      assert.throws(() => new UserStore(':memory:', { scryptN: 1000 }), RangeError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe('server key file', () => {
  test('created on first run (0600), reloaded unchanged, corruption detected', () => {
    const dir = join(tmp(), 'nested', 'data');
    try {
      const k1 = loadOrCreateServerKey(dir);
      assert.equal(k1.created, true);
      assert.deepEqual(x25519Public(k1.privateKey), k1.publicKey);
      if (process.platform !== 'win32') assert.equal(statSync(k1.path).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ['server-key.json'], 'no temp files left behind');
      const k2 = loadOrCreateServerKey(dir);
      assert.equal(k2.created, false);
      assert.deepEqual(k2.privateKey, k1.privateKey);
      const j = JSON.parse(readFileSync(k1.path, 'utf8'));
      writeFileSync(k1.path, JSON.stringify({ ...j, publicKey: '00'.repeat(32) }));
      assert.throws(() => loadOrCreateServerKey(dir), /does not match/);
      writeFileSync(k1.path, '{not json');
      assert.throws(() => loadOrCreateServerKey(dir), /not valid JSON/);
      writeFileSync(k1.path, JSON.stringify({ privateKey: 'abc' }));
      assert.throws(() => loadOrCreateServerKey(dir), /64 lowercase hex/);
    } finally {
      rmSync(join(dir, '..', '..'), { recursive: true, force: true });
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe('FrameDecoder / encodeFrame', () => {
  const frames = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(4096).fill(9), Uint8Array.of(0xff)];
  const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));

  test('merged frames in one chunk', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(wire), frames);
    assert.equal(d.pending, 0);
  });

  test('split at every byte, and random splits', () => {
    const d = new FrameDecoder();
    const out: Uint8Array[] = [];
    for (const b of wire) out.push(...d.push(Uint8Array.of(b)));
    assert.deepEqual(out, frames);
    const rnd = prng(99);
    for (let round = 0; round < 50; round++) {
      const d2 = new FrameDecoder();
      const got: Uint8Array[] = [];
      let off = 0;
      while (off < wire.length) {
        const n = 1 + Math.floor(rnd() * 300);
        got.push(...d2.push(wire.subarray(off, off + n)));
        off += n;
      }
      assert.deepEqual(got, frames);
    }
  });

  test('returned frames are plain Uint8Array copies, also for Buffer input (caller may keep them)', () => {
    for (const mk of [(u: Uint8Array) => u, (u: Uint8Array) => Buffer.from(u)]) {
      const d = new FrameDecoder();
      const chunk = mk(Uint8Array.of(...encodeFrame(Uint8Array.of(5, 6)), 0, 1));
      const [f] = d.push(chunk);
      const [g] = d.push(mk(Uint8Array.of(8)));
      chunk.fill(0);
      assert.deepEqual(f, Uint8Array.of(5, 6));
      assert.deepEqual(g, Uint8Array.of(8));
      assert.equal(Object.getPrototypeOf(f), Uint8Array.prototype);
    }
  });

  test('oversize header latches; earlier frames in the same chunk are still delivered', () => {
    const d = new FrameDecoder();
    const bad = Uint8Array.of(0x10, 0x01); // 4097
    const got = d.push(Buffer.concat([encodeFrame(Uint8Array.of(1)), bad, encodeFrame(Uint8Array.of(2))]));
    assert.deepEqual(got, [Uint8Array.of(1)]);
    assert.equal(d.oversize, true);
    assert.deepEqual(d.push(encodeFrame(Uint8Array.of(3))), []);
    const d2 = new FrameDecoder();
    d2.push(Uint8Array.of(0xff));
    assert.deepEqual(d2.push(Uint8Array.of(0xff)), []);
    assert.equal(d2.oversize, true);
    assert.throws(() => encodeFrame(new Uint8Array(4097)), RangeError);
    assert.deepEqual(encodeFrame(Uint8Array.of(7)), Uint8Array.of(0, 1, 7));
  });
});

// -------------------------------------------------------------------------------------------------

/** Minimal TCP client that speaks framed requests and collects framed responses. */
class TcpClient {
  private dec = new FrameDecoder();
  private waiting: ((f: Uint8Array) => void)[] = [];
  private queued: Uint8Array[] = [];
  closed: Promise<void>;
  constructor(readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      for (const f of this.dec.push(c)) {
        const w = this.waiting.shift();
        if (w) w(f);
        else this.queued.push(f);
      }
    });
    this.closed = new Promise((res) => sock.on('close', () => res()));
    sock.on('error', () => {});
  }
  static connect(port: number, host = '127.0.0.1'): Promise<TcpClient> {
    return new Promise((res, rej) => {
      const s = connect(port, host, () => res(new TcpClient(s)));
      s.once('error', rej);
    });
  }
  next(): Promise<Uint8Array> {
    const q = this.queued.shift();
    if (q) return Promise.resolve(q);
    return new Promise((res) => this.waiting.push(res));
  }
}

async function tcpCall(c: TcpClient, serverPub: Uint8Array, op: Op, pt: Uint8Array, reqId: number) {
  const { body, key } = sealRequest(serverPub, pt, undefined, reqId);
  c.sock.write(encodeFrame(body));
  const o = openResponse(key, await c.next());
  assert.equal(o.reqId, reqId);
  assert.equal(o.kind, 'response');
  return decodeResponse(op, (o as { plaintext: Uint8Array }).plaintext);
}

describe('TCP transport', () => {
  test('round trip over 127.0.0.1 with merged/split writes, then oversize closes', async () => {
    const store = new UserStore(':memory:', { scryptN: TEST_N });
    const svc = new LoginService({ store, staticPrivateKey: generateX25519().privateKey });
    const srv = await listenTcp(svc, { host: '127.0.0.1', port: 0 });
    try {
      assert.ok(srv.port > 0);
      const c = await TcpClient.connect(srv.port);
      assert.equal((await tcpCall(c, svc.publicKey, Op.REGISTER, encodeRegister('alice', 'correct horse'), 1)).status, Status.OK);

      // Two requests merged into one write; responses come back in order with their reqIds.
      const r1 = sealRequest(svc.publicKey, encodeLogin('alice', 'correct horse'), undefined, 0xffffffff);
      const r2 = sealRequest(svc.publicKey, encodeLookup('nobody'), undefined, 3);
      c.sock.write(Buffer.concat([encodeFrame(r1.body), encodeFrame(r2.body)]));
      const o1 = openResponse(r1.key, await c.next());
      const o2 = openResponse(r2.key, await c.next());
      assert.equal(o1.reqId, 0xffffffff);
      assert.equal(o2.reqId, 3);
      const p1 = decodeResponse(Op.LOGIN, (o1 as { plaintext: Uint8Array }).plaintext);
      assert.deepEqual({ s: p1.status, u: p1.username }, { s: Status.OK, u: 'alice' });
      assert.equal(decodeResponse(Op.LOOKUP, (o2 as { plaintext: Uint8Array }).plaintext).status, Status.NOT_FOUND);

      // One request split across three writes.
      const r3 = sealRequest(svc.publicKey, encodeLookup('alice'), undefined, 4);
      const w = encodeFrame(r3.body);
      c.sock.write(w.subarray(0, 1));
      await new Promise((r) => setTimeout(r, 10));
      c.sock.write(w.subarray(1, 20));
      await new Promise((r) => setTimeout(r, 10));
      c.sock.write(w.subarray(20));
      assert.equal(openResponse(r3.key, await c.next()).reqId, 4);

      // Garbage gets an error frame and the connection stays up.
      c.sock.write(encodeFrame(Uint8Array.of(0, 0, 0, 9, 0x77)));
      assert.deepEqual(await c.next(), Uint8Array.of(0, 0, 0, 9, ErrCode.MALFORMED)); // v1 error frame (issue #7)
      assert.equal((await tcpCall(c, svc.publicKey, Op.LOOKUP, encodeLookup('alice'), 5)).status, Status.OK);

      // Oversize length header → server closes.
      c.sock.write(Uint8Array.of(0x10, 0x01));
      await c.closed;

      // A body too short to carry a reqId → server closes.
      const c2 = await TcpClient.connect(srv.port);
      c2.sock.write(encodeFrame(Uint8Array.of(1, 2)));
      await c2.closed;

      // close() tears down idle clients too.
      const c3 = await TcpClient.connect(srv.port);
      await srv.close();
      await c3.closed;
    } finally {
      await srv.close().catch(() => {});
      store.close();
    }
  });

  test('pipelined flood without reading: every frame answered in order (backpressure does not stall)', async () => {
    const store = new UserStore(':memory:', { scryptN: TEST_N });
    const svc = new LoginService({ store, staticPrivateKey: generateX25519().privateKey });
    const srv = await listenTcp(svc, { host: '127.0.0.1', port: 0 });
    try {
      const c = await TcpClient.connect(srv.port);
      const N = 50_000;
      const wire = new Uint8Array(N * 7);
      for (let i = 0; i < N; i++) wire.set(encodeFrame(Uint8Array.of(0, 0, i >>> 8, i & 0xff, 0x77)), i * 7);
      c.sock.write(wire);
      for (let i = 0; i < N; i++) {
        const f = await c.next();
        assert.equal(readU32(f, 0), i);
        assert.equal(f[f.length - 1], ErrCode.MALFORMED);
      }
      assert.equal(svc.stats.malformed, N);
      c.sock.destroy();
    } finally {
      await srv.close();
      store.close();
    }
  });

  test('listen on a busy port rejects with EADDRINUSE', async () => {
    const store = new UserStore(':memory:', { scryptN: TEST_N });
    const svc = new LoginService({ store, staticPrivateKey: generateX25519().privateKey });
    const a = await listenTcp(svc, { host: '127.0.0.1', port: 0 });
    try {
      await assert.rejects(listenTcp(svc, { host: '127.0.0.1', port: a.port }), { code: 'EADDRINUSE' });
    } finally {
      await a.close();
      store.close();
    }
  });
});

// -------------------------------------------------------------------------------------------------

interface Spawned {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function spawnServer(args: string[]): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'server/main.ts'), ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s: Spawned = { child, stdout: '', stderr: '', exit: null as unknown as Promise<number | null> };
  child.stdout!.on('data', (d) => (s.stdout += d));
  child.stderr!.on('data', (d) => (s.stderr += d));
  s.exit = new Promise((res) => child.on('exit', (code) => res(code)));
  return s;
}

async function waitForLine(s: Spawned, ms = 20_000): Promise<string> {
  const t0 = Date.now();
  while (!s.stdout.includes('\n')) {
    if (Date.now() - t0 > ms) throw new Error(`no output; stderr: ${s.stderr}`);
    if (s.child.exitCode !== null) throw new Error(`exited ${s.child.exitCode}; stderr: ${s.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return s.stdout.split('\n')[0];
}

describe('server/main.ts CLI', () => {
  test('starts, prints address + key, serves, persists, stops cleanly on SIGTERM/SIGINT', async () => {
    const dir = join(tmp(), 'data');
    try {
      const s1 = spawnServer(['--port', '0', '--host', '127.0.0.1', '--data', dir]);
      const line = await waitForLine(s1);
      const m = /^login-server listening on 127\.0\.0\.1:(\d+) pubkey ([0-9a-f]{64})$/.exec(line);
      assert.ok(m, line);
      const port = Number(m[1]);
      const pub = hex(m[2]);
      assert.equal(JSON.parse(readFileSync(join(dir, 'server-key.json'), 'utf8')).publicKey, m[2]);
      assert.ok(existsSync(join(dir, 'users.db')));

      const c = await TcpClient.connect(port);
      const reg = await tcpCall(c, pub, Op.REGISTER, encodeRegister('alice', 'correct horse'), 1);
      assert.equal(reg.status, Status.OK);
      assert.equal((await tcpCall(c, pub, Op.LOGIN, encodeLogin('alice', 'correct horse'), 2)).userId, reg.userId);
      s1.child.kill('SIGTERM');
      assert.equal(await s1.exit, 0, s1.stderr);
      await c.closed;
      assert.match(s1.stderr, /stopped \(SIGTERM\): requests=2 ok=2/);

      // Restart on the same data dir: same key, same users.
      const s2 = spawnServer(['--port', '0', '--data', dir]);
      const line2 = await waitForLine(s2);
      assert.ok(line2.endsWith(`pubkey ${m[2]}`), line2);
      const port2 = Number(/:(\d+) pubkey/.exec(line2)![1]);
      const c2 = await TcpClient.connect(port2);
      const li = await tcpCall(c2, pub, Op.LOGIN, encodeLogin('alice', 'correct horse'), 9);
      assert.deepEqual({ s: li.status, id: li.userId, u: li.username }, { s: Status.OK, id: reg.userId, u: 'alice' });
      s2.child.kill('SIGINT');
      assert.equal(await s2.exit, 0, s2.stderr);
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  test('port in use → one-line error, exit 1', async () => {
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dir = tmp();
    try {
      const s = spawnServer(['--port', String(port), '--data', dir]);
      assert.equal(await s.exit, 1);
      assert.equal(s.stdout, '');
      assert.match(s.stderr, new RegExp(`^error: port ${port} on 127\\.0\\.0\\.1 is already in use\\n$`));
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unusable data dir and bad port → one-line error, exit 1', async () => {
    const dir = tmp();
    try {
      const file = join(dir, 'not-a-dir');
      writeFileSync(file, 'x');
      const s = spawnServer(['--port', '0', '--data', join(file, 'sub')]);
      assert.equal(await s.exit, 1);
      assert.match(s.stderr, /^error: data dir .*not-a-dir\/sub is not usable \(ENOTDIR[^\n]*\)\n$/);
      const s2 = spawnServer(['--port', '70000', '--data', dir]);
      assert.equal(await s2.exit, 1);
      assert.match(s2.stderr, /^error: invalid --port "70000"[^\n]*\n$/);
      const s3 = spawnServer(['--port', '0', '--data', dir, '--max-wait-ms', '-5']);
      assert.equal(await s3.exit, 1);
      assert.match(s3.stderr, /^error: invalid --max-wait-ms "-5"[^\n]*\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('load shedding (issue #5: login storms)', () => {
  test('admission refuses before any hash: LOGIN, REGISTER and buddy requests get BUSY [8][retryAfterMs], no account, no limiter strike; LOOKUP is still served', () => {
    let retryMs = 0;
    const h = harness({ admit: () => retryMs });
    assert.equal(h.register('alice', 'password-1').status, Status.OK);
    const kdf0 = h.store.kdfCount;
    retryMs = 7250;
    const l = h.login('alice', 'password-1');
    assert.deepEqual({ status: l.status, retryAfterMs: l.retryAfterMs }, { status: Status.BUSY, retryAfterMs: 7250 });
    assert.deepEqual([...l.raw], [8, 0, 0, 0x1c, 0x52]);
    const r = h.register('bob', 'password-1');
    assert.equal(r.status, Status.BUSY);
    assert.equal(h.store.exists('bob'), false, 'a turned-away REGISTER creates no account');
    const b = h.call(Op.LOGIN, encodeBuddyRequest(BuddyOp.ADD, 'alice', 'password-1', 'carol'));
    assert.equal(b.raw[0], Status.BUSY);
    // Wrong passwords while busy are not even checked: no strike towards a lockout.
    for (let i = 0; i < 10; i++) assert.equal(h.login('alice', 'wrong-password').status, Status.BUSY);
    assert.equal(h.store.kdfCount, kdf0, 'no hash was run');
    assert.equal(h.lookup('alice').status, Status.OK, 'directory lookups do not hash and are served');
    assert.equal(h.svc.stats.shed, 13);
    retryMs = 0;
    assert.equal(h.login('alice', 'password-1').status, Status.OK, 'admitted again once the queue is short');
    assert.equal(h.register('bob', 'password-1').status, Status.OK);
    // A buddy request vouched for by that login needs no hash: it is served even while the server sheds.
    retryMs = 9000;
    const kdf1 = h.store.kdfCount;
    const b2 = h.call(Op.LOGIN, encodeBuddyRequest(BuddyOp.ADD, 'alice', 'password-1', 'nobody'));
    assert.equal(b2.raw[0], Status.NOT_FOUND, 'served (no such buddy), not BUSY');
    assert.equal(h.store.kdfCount, kdf1);
    assert.equal(h.svc.stats.shed, 13);
  });

  test('the real server turns requests away once its event loop has been busy longer than --max-wait-ms (CoDel-style standing-queue test)', () => {
    const clock = { now: 1000 };
    const a = new LoopBusyAdmission(5000, () => clock.now, 20);
    assert.equal(a.admit(), 0);
    clock.now += 5020; // busy 5,000 ms: still admitted
    assert.equal(a.admit(), 0);
    clock.now += 1; // busy 5,001 ms
    assert.equal(a.admit(), 5001);
    clock.now += 2999;
    assert.equal(a.admit(), 8000, 'the retry-after is the busy time so far');
    a.noteFree(); // the loop got a break
    assert.equal(a.admit(), 0);
    assert.throws(() => new LoopBusyAdmission(0), RangeError);
    // On a real loop: a synchronous 120 ms stretch with a 50 ms bound.
    const live = new LoopBusyAdmission(50, Date.now, 5).start();
    try {
      live.noteFree();
      const t = Date.now();
      while (Date.now() - t < 120) { /* busy */ }
      assert.ok(live.admit() >= 50, 'busy loop → BUSY');
    } finally { live.stop(); }
  });
});
