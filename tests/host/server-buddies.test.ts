/**
 * Buddy and block lists on the login server (issue #8, server/buddies.ts), through the sealed request path.
 *   node --import tsx --test tests/host/server-buddies.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Status, encodeLogin } from '../../server/protocol.ts';
import { PAD_BLOCK, PAD_MAX, generateX25519, openResponse, sealRequest } from '../../server/keys.ts';
import { LoginService } from '../../server/service.ts';
import { UserStore } from '../../server/store.ts';
import {
  BuddyOp, KIND_BLOCKED, KIND_BUDDY, KIND_RECEIVED, KIND_SENT, MAX_OWN, STATUS_FULL,
  decodeBuddyResponse, encodeBuddyRequest, type BuddyEntry,
} from '../../server/buddies.ts';

function harness() {
  const store = new UserStore(':memory:', { scryptN: 16 });
  const clock = { now: 1_000_000 };
  const svc = new LoginService({ store, staticPrivateKey: generateX25519().privateKey, nowMs: () => clock.now });
  for (const u of ['alice', 'bob', 'carol', 'mallory']) store.register(u, `${u}-secret`);
  const call = (pt: Uint8Array): Uint8Array => {
    const { body, key } = sealRequest(svc.publicKey, pt, undefined, 7);
    const res = svc.handleFrame(body, 'peer-1');
    assert.ok(res);
    const o = openResponse(key, res);
    assert.equal(o.kind, 'response');
    return (o as { plaintext: Uint8Array }).plaintext;
  };
  const op = (o: number, user: string, target = '', password = `${user}-secret`) => decodeBuddyResponse(call(encodeBuddyRequest(o, user, password, target)));
  return { store, svc, clock, call, op };
}

const has = (list: BuddyEntry[], kind: number, name: string) => list.some((e) => e.kind === kind && e.name === name);

describe('server buddy lists', () => {
  test('add → the other user sees the request → accept makes both buddies', () => {
    const h = harness();
    let r = h.op(BuddyOp.ADD, 'alice', 'bob');
    assert.equal(r.status, Status.OK);
    assert.deepEqual(r.entries, [{ kind: KIND_SENT, name: 'bob' }]);
    r = h.op(BuddyOp.SYNC, 'bob');
    assert.deepEqual(r.entries, [{ kind: KIND_RECEIVED, name: 'alice' }]);
    r = h.op(BuddyOp.ACCEPT, 'bob', 'alice');
    assert.deepEqual(r.entries, [{ kind: KIND_BUDDY, name: 'alice' }]);
    assert.deepEqual(h.op(BuddyOp.SYNC, 'alice').entries, [{ kind: KIND_BUDDY, name: 'bob' }]);
  });

  test('decline drops the request; accept without a request is NOT_FOUND', () => {
    const h = harness();
    h.op(BuddyOp.ADD, 'alice', 'bob');
    assert.equal(h.op(BuddyOp.DECLINE, 'bob', 'alice').entries.length, 0);
    assert.deepEqual(h.op(BuddyOp.SYNC, 'alice').entries, []);
    assert.equal(h.op(BuddyOp.ACCEPT, 'bob', 'alice').status, Status.NOT_FOUND);
    assert.equal(h.op(BuddyOp.ACCEPT, 'carol', 'bob').status, Status.NOT_FOUND);
  });

  test('two users asking each other become buddies at once', () => {
    const h = harness();
    h.op(BuddyOp.ADD, 'alice', 'bob');
    assert.deepEqual(h.op(BuddyOp.ADD, 'bob', 'alice').entries, [{ kind: KIND_BUDDY, name: 'alice' }]);
    assert.deepEqual(h.op(BuddyOp.SYNC, 'alice').entries, [{ kind: KIND_BUDDY, name: 'bob' }]);
  });

  test('remove ends the relation on both sides', () => {
    const h = harness();
    h.op(BuddyOp.ADD, 'alice', 'bob'); h.op(BuddyOp.ACCEPT, 'bob', 'alice');
    assert.deepEqual(h.op(BuddyOp.REMOVE, 'alice', 'bob').entries, []);
    assert.deepEqual(h.op(BuddyOp.SYNC, 'bob').entries, []);
  });

  test('block: removes the buddy, hides their requests, is stored; unblock', () => {
    const h = harness();
    h.op(BuddyOp.ADD, 'alice', 'mallory'); h.op(BuddyOp.ACCEPT, 'mallory', 'alice');
    let r = h.op(BuddyOp.BLOCK, 'alice', 'mallory');
    assert.deepEqual(r.entries, [{ kind: KIND_BLOCKED, name: 'mallory' }]);
    assert.deepEqual(h.op(BuddyOp.SYNC, 'mallory').entries, []);
    // mallory asks again: alice never sees it, mallory is not told she is blocked
    assert.ok(has(h.op(BuddyOp.ADD, 'mallory', 'alice').entries, KIND_SENT, 'alice'));
    r = h.op(BuddyOp.SYNC, 'alice');
    assert.deepEqual(r.entries, [{ kind: KIND_BLOCKED, name: 'mallory' }]);
    assert.equal(h.op(BuddyOp.ACCEPT, 'alice', 'mallory').status, Status.NOT_FOUND);
    assert.deepEqual(h.op(BuddyOp.UNBLOCK, 'alice', 'mallory').entries, [{ kind: KIND_RECEIVED, name: 'mallory' }]);
  });

  test('bad input: unknown target, self, bad name, wrong password, truncated plaintext', () => {
    const h = harness();
    assert.equal(h.op(BuddyOp.ADD, 'alice', 'nobody').status, Status.NOT_FOUND);
    assert.equal(h.op(BuddyOp.ADD, 'alice', 'alice').status, Status.INVALID_INPUT);
    assert.equal(h.op(BuddyOp.ADD, 'alice', 'Bad Name').status, Status.INVALID_INPUT);
    assert.equal(h.op(BuddyOp.SYNC, 'alice', '', 'wrong-password').status, Status.BAD_CREDENTIALS);
    const pt = encodeBuddyRequest(BuddyOp.ADD, 'alice', 'alice-secret', 'bob');
    assert.deepEqual([...h.call(pt.subarray(0, pt.length - 1))], [Status.INVALID_INPUT]);
    assert.deepEqual([...h.call(Uint8Array.of(...pt, 0))], [Status.INVALID_INPUT]);
    assert.equal(h.svc.buddies.stats.authFailures, 1);
  });

  test('wrong passwords on buddy ops count against the LOGIN rate limit', () => {
    const h = harness();
    let last = -1;
    for (let i = 0; i < 12; i++) last = h.op(BuddyOp.SYNC, 'alice', '', `guess-${i}xx`).status;
    assert.equal(last, Status.RATE_LIMITED);
    assert.equal(h.op(BuddyOp.SYNC, 'alice').status, Status.RATE_LIMITED);
  });

  test('a recent LOGIN saves the scrypt of the following buddy sync; an old one does not', () => {
    const h = harness();
    const login = h.call(encodeLogin('alice', 'alice-secret'));
    assert.equal(login[0], Status.OK);
    const before = h.svc.buddies.stats.hashes;
    h.op(BuddyOp.SYNC, 'alice');
    assert.equal(h.svc.buddies.stats.hashes, before);
    h.clock.now += h.svc.buddies.credentialTtlMs + 1;
    h.op(BuddyOp.SYNC, 'alice');
    assert.equal(h.svc.buddies.stats.hashes, before + 1);
    // a different password never matches the cached credential
    assert.equal(h.op(BuddyOp.SYNC, 'alice', '', 'alice-secreT').status, Status.BAD_CREDENTIALS);
  });

  test('lists are bounded so an answer fits one frame', () => {
    const h = harness();
    const names: string[] = [];
    for (let i = 0; i < MAX_OWN + 1; i++) {
      const n = `u${String(i).padStart(3, '0')}${'x'.repeat(28)}`;
      h.store.register(n, 'password1');
      names.push(n);
    }
    for (let i = 0; i < MAX_OWN; i++) assert.equal(h.op(BuddyOp.ADD, 'alice', names[i]).status, Status.OK);
    assert.equal(h.op(BuddyOp.ADD, 'alice', names[MAX_OWN]).status, STATUS_FULL);
    for (let i = 0; i < 30; i++) h.op(BuddyOp.ADD, names[i], 'bob', 'password1');
    const bob = h.op(BuddyOp.SYNC, 'bob');
    assert.equal(bob.entries.length, 20);
    const pt = h.call(encodeBuddyRequest(BuddyOp.SYNC, 'alice', 'alice-secret'));
    // Noise_IK message 2: [reqId 4][e 32][padded plaintext][tag 16] in one 4096-byte frame; the firmware's
    // buddy exchange (overlay/login.ts PAYLOAD_MAX_BUDDY = 4096) holds any padded answer up to PAD_MAX.
    const padded = Math.ceil((pt.length + 2) / PAD_BLOCK) * PAD_BLOCK;
    assert.ok(padded <= PAD_MAX && 4 + 32 + padded + 16 <= 4096, `answer ${pt.length} bytes (padded ${padded})`);
  });
});
