/**
 * The firmware's Noise implementation (firmware/sec/noise.ts, through build/sec-harness.wasm) and the server's
 * (server/noise.ts, node:crypto) against the published Noise_IK_25519_ChaChaPoly_SHA256 test vector, and
 * against each other for every supported pattern, plus tampering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NoiseHandshake, NoiseError } from '../../server/noise.ts';
import { x25519Public } from '../../server/keys.ts';
import { loadHarness } from './harness/load.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Published vector (cacophony/snow format): Noise_IK_25519_ChaChaPoly_SHA256, prologue "John Galt".
const V = {
  initStatic: hex('e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1'),
  initEphemeral: hex('893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a'),
  respStatic: hex('4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893'),
  respEphemeral: hex('bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b'),
  prologue: new TextEncoder().encode('John Galt'),
  hash: '0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7',
  messages: [
    ['4c756477696720766f6e204d69736573',
      'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd91528520204f904b9bd6c7413dccdc214d951e15253e39987f18146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b7bba2e89083169825e59642148d492020664ccf7'],
    ['4d757272617920526f746862617264',
      '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6c9ec387d1d6b3b840f194e373979d241b203c4acafccf5'],
    ['462e20412e20486179656b', '050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8'],
    ['4361726c204d656e676572', '344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667'],
    ['4a65616e2d426170746973746520536179', '62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4'],
    ['457567656e2042f6686d20766f6e2042617765726b', '029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024'],
  ].map(([p, c]) => [hex(p), hex(c)] as const),
};

const PATTERN_ID: Record<string, number> = { N: 0, K: 1, X: 2, NN: 3, NK: 4, NX: 5, XN: 6, XK: 7, XX: 8, KN: 9, KK: 10, KX: 11, IN: 12, IK: 13, IX: 14 };
const ONE_WAY = new Set(['N', 'K', 'X']);
/** Which static keys each side needs up front: [initiator knows rs, responder knows rs]. */
const PRE: Record<string, [boolean, boolean]> = {
  N: [true, false], K: [true, true], X: [true, false], NN: [false, false], NK: [true, false], NX: [false, false],
  XN: [false, false], XK: [true, false], XX: [false, false], KN: [false, true], KK: [true, true], KX: [false, true],
  IN: [false, false], IK: [true, false], IX: [false, false],
};

test('server/noise.ts reproduces the published IK vector', () => {
  const i = new NoiseHandshake('IK', true, V.prologue, { s: V.initStatic, e: V.initEphemeral, rs: x25519Public(V.respStatic) });
  const r = new NoiseHandshake('IK', false, V.prologue, { s: V.respStatic, e: V.respEphemeral });
  const m0 = i.writeMessage(V.messages[0][0]);
  assert.equal(toHex(m0), toHex(V.messages[0][1]));
  assert.deepEqual(r.readMessage(m0), V.messages[0][0]);
  const m1 = r.writeMessage(V.messages[1][0]);
  assert.equal(toHex(m1), toHex(V.messages[1][1]));
  assert.deepEqual(i.readMessage(m1), V.messages[1][0]);
  assert.equal(toHex(i.handshakeHash), V.hash);
  assert.equal(toHex(r.handshakeHash), V.hash);
  const [ic1, ic2] = i.split();
  const [rc1, rc2] = r.split();
  for (let k = 2; k < 6; k++) {
    const [pt, ct] = V.messages[k];
    const fromInit = k % 2 === 0;
    const out = (fromInit ? ic1 : rc2).encrypt(new Uint8Array(0), pt);
    assert.equal(toHex(out), toHex(ct), `transport message ${k}`);
    assert.deepEqual(new Uint8Array((fromInit ? rc1 : ic2).decrypt(new Uint8Array(0), out)), pt);
  }
});

test('firmware/sec/noise.ts reproduces the published IK vector (as initiator and as responder)', () => {
  const h = loadHarness();
  const ex = h.ex;
  h.put(3, V.prologue);
  // initiator
  h.put(2, V.initStatic, 0); h.put(2, x25519Public(V.respStatic), 32); h.put(2, V.initEphemeral, 64);
  const hi = ex.hsNew(PATTERN_ID.IK, 1, V.prologue.length, 1, 1);
  assert.ok(hi >= 0);
  assert.equal(ex.hsSetE(hi), 1);
  h.put(0, V.messages[0][0]);
  const n0 = ex.hsWrite(hi, V.messages[0][0].length);
  assert.equal(toHex(h.get(1, n0)), toHex(V.messages[0][1]));
  // responder
  h.put(2, V.respStatic, 0); h.put(2, V.respEphemeral, 64);
  const hr = ex.hsNew(PATTERN_ID.IK, 0, V.prologue.length, 1, 0);
  assert.ok(hr >= 0);
  assert.equal(ex.hsSetE(hr), 1);
  const p0 = ex.hsRead(hr, n0);
  assert.equal(toHex(h.get(0, p0)), toHex(V.messages[0][0]));
  assert.equal(ex.hsInfo(hr), 1);
  assert.equal(toHex(h.get(2, 32, 128)), toHex(x25519Public(V.initStatic)), 'responder learned the initiator static');
  h.put(0, V.messages[1][0]);
  const n1 = ex.hsWrite(hr, V.messages[1][0].length);
  assert.equal(toHex(h.get(1, n1)), toHex(V.messages[1][1]));
  const p1 = ex.hsRead(hi, n1);
  assert.equal(toHex(h.get(0, p1)), toHex(V.messages[1][0]));
  assert.equal(ex.hsComplete(hi), 1);
  assert.equal(ex.hsComplete(hr), 1);
  ex.hsInfo(hi);
  assert.equal(toHex(h.get(2, 32, 96)), V.hash);
  assert.equal(ex.hsSplit(hi), 1);
  assert.equal(ex.hsSplit(hr), 1);
  for (let k = 2; k < 6; k++) {
    const [pt, ct] = V.messages[k];
    const fromInit = k % 2 === 0;
    h.put(0, pt);
    const n = ex.csEncrypt(fromInit ? hi : hr, fromInit ? 1 : 2, pt.length);
    assert.equal(toHex(h.get(1, n)), toHex(ct), `transport message ${k}`);
    const m = ex.csDecrypt(fromInit ? hr : hi, fromInit ? 1 : 2, n);
    assert.equal(toHex(h.get(0, m)), toHex(pt));
  }
});

/** Runs `pattern` with the firmware on side `fwInitiator ? initiator : responder` and node on the other. */
function crossRun(pattern: string, fwInitiator: boolean): void {
  const h = loadHarness();
  const ex = h.ex;
  const iS = new Uint8Array(randomBytes(32)), rS = new Uint8Array(randomBytes(32));
  const prologue = new Uint8Array(randomBytes(7));
  h.put(3, prologue);
  const [iKnowsRs, rKnowsRs] = PRE[pattern];
  const fwS = fwInitiator ? iS : rS;
  const fwRs = fwInitiator ? (iKnowsRs ? x25519Public(rS) : null) : (rKnowsRs ? x25519Public(iS) : null);
  h.put(2, fwS, 0);
  if (fwRs) h.put(2, fwRs, 32);
  h.put(2, new Uint8Array(randomBytes(32)), 64);
  const id = ex.hsNew(PATTERN_ID[pattern], fwInitiator ? 1 : 0, prologue.length, 1, fwRs ? 1 : 0);
  assert.ok(id >= 0, `${pattern}: firmware initialize`);
  assert.equal(ex.hsSetE(id), 1);
  const js = new NoiseHandshake(pattern, !fwInitiator, prologue, fwInitiator
    ? { s: rS, rs: rKnowsRs ? x25519Public(iS) : undefined }
    : { s: iS, rs: iKnowsRs ? x25519Public(rS) : undefined });
  const nMsgs = ONE_WAY.has(pattern) ? 1 : ['XN', 'XK', 'XX'].includes(pattern) ? 3 : 2;
  for (let m = 0; m < nMsgs; m++) {
    const fwWrites = (m % 2 === 0) === fwInitiator;
    const payload = new Uint8Array(randomBytes(1 + m * 5));
    if (fwWrites) {
      h.put(0, payload);
      const n = ex.hsWrite(id, payload.length);
      assert.ok(n > 0, `${pattern} msg ${m}: firmware write ${n}`);
      assert.deepEqual(js.readMessage(h.get(1, n)), payload);
    } else {
      const msg = js.writeMessage(payload);
      h.put(1, msg);
      const n = ex.hsRead(id, msg.length);
      assert.equal(n, payload.length, `${pattern} msg ${m}: firmware read`);
      assert.deepEqual(h.get(0, n), payload);
    }
  }
  assert.equal(ex.hsComplete(id), 1, `${pattern} complete`);
  assert.ok(js.complete);
  const hasRs = ex.hsInfo(id);
  assert.equal(toHex(h.get(2, 32, 96)), toHex(js.handshakeHash), `${pattern}: same handshake hash`);
  // The initiator authenticates the responder unless the pattern's second letter is N (or it is one-way);
  // the responder authenticates the initiator unless the first letter is N.
  const fwLearns = fwInitiator ? (ONE_WAY.has(pattern) || pattern[1] !== 'N') : pattern[0] !== 'N';
  assert.equal(hasRs, fwLearns ? 1 : 0, `${pattern}: firmware knows the peer's static key`);
  if (fwLearns) assert.equal(toHex(h.get(2, 32, 128)), toHex(fwInitiator ? x25519Public(rS) : x25519Public(iS)), `${pattern}: peer static`);
  if (ONE_WAY.has(pattern)) return;
  assert.equal(ex.hsSplit(id), 1);
  const [jc1, jc2] = js.split();
  // firmware → node and back on the transport ciphers
  const pt = new Uint8Array(randomBytes(40));
  h.put(0, pt);
  const n = ex.csEncrypt(id, fwInitiator ? 1 : 2, pt.length);
  assert.deepEqual(new Uint8Array((fwInitiator ? jc1 : jc2).decrypt(new Uint8Array(0), h.get(1, n))), pt);
  const back = (fwInitiator ? jc2 : jc1).encrypt(new Uint8Array(0), pt);
  h.put(1, back);
  assert.equal(ex.csDecrypt(id, fwInitiator ? 2 : 1, back.length), pt.length);
  // rekey on both sides keeps them in step
  assert.equal(ex.csRekey(id, fwInitiator ? 1 : 2), 1);
  (fwInitiator ? jc1 : jc2).rekey();
  h.put(0, pt);
  const n2 = ex.csEncrypt(id, fwInitiator ? 1 : 2, pt.length);
  assert.deepEqual(new Uint8Array((fwInitiator ? jc1 : jc2).decrypt(new Uint8Array(0), h.get(1, n2))), pt);
}

for (const pattern of Object.keys(PATTERN_ID)) {
  test(`firmware and node interoperate: Noise_${pattern} (firmware initiator, then responder)`, () => {
    crossRun(pattern, true);
    crossRun(pattern, false);
  });
}

test('tampered or truncated handshake messages are rejected by the firmware, and the state refuses to go on', () => {
  const h = loadHarness();
  const ex = h.ex;
  const rS = new Uint8Array(randomBytes(32));
  for (const mutate of [(m: Uint8Array) => { m[40] ^= 1; }, (m: Uint8Array) => { m[m.length - 1] ^= 0x80; }, (m: Uint8Array) => { m[0] ^= 1; }]) {
    const js = new NoiseHandshake('IK', true, new Uint8Array(0), { s: new Uint8Array(randomBytes(32)), rs: x25519Public(rS) });
    const msg = js.writeMessage(new TextEncoder().encode('secret'));
    mutate(msg);
    h.put(2, rS, 0); h.put(2, new Uint8Array(randomBytes(32)), 64);
    const id = ex.hsNew(PATTERN_ID.IK, 0, 0, 1, 0);
    h.put(1, msg);
    assert.ok(ex.hsRead(id, msg.length) < 0);
    h.put(0, new Uint8Array(4));
    assert.ok(ex.hsWrite(id, 4) < 0, 'no reply after a failed read');
  }
  // truncated
  const js = new NoiseHandshake('IK', true, new Uint8Array(0), { s: new Uint8Array(randomBytes(32)), rs: x25519Public(rS) });
  const msg = js.writeMessage(new Uint8Array(0));
  for (const len of [0, 31, 32, 79, msg.length - 1]) {
    h.put(2, rS, 0);
    const id = ex.hsNew(PATTERN_ID.IK, 0, 0, 1, 0);
    h.put(1, msg.subarray(0, len));
    assert.ok(ex.hsRead(id, len) < 0, `length ${len}`);
  }
  // and node's side rejects a tampered firmware message the same way
  h.put(2, new Uint8Array(randomBytes(32)), 0); h.put(2, x25519Public(rS), 32); h.put(2, new Uint8Array(randomBytes(32)), 64);
  const id = ex.hsNew(PATTERN_ID.IK, 1, 0, 1, 1);
  ex.hsSetE(id);
  const n = ex.hsWrite(id, 0);
  const m = h.get(1, n);
  m[50] ^= 4;
  const r = new NoiseHandshake('IK', false, new Uint8Array(0), { s: rS });
  assert.throws(() => r.readMessage(m), NoiseError);
});

test('a low-order ephemeral key is refused (all-zero DH result)', () => {
  const h = loadHarness();
  const rS = new Uint8Array(randomBytes(32));
  h.put(2, rS, 0);
  const id = h.ex.hsNew(PATTERN_ID.NK, 0, 0, 1, 0);
  const msg = new Uint8Array(48); // e = 0 (a small-order point), then a tag
  h.put(1, msg);
  assert.ok(h.ex.hsRead(id, msg.length) < 0);
});
