// HKDF-SHA256 (firmware/sec/hkdf.ts, RFC 5869) on the crypto HAL: the RFC's SHA-256 test cases, node:crypto's
// hkdfSync for other lengths, and the one-block form the media keys used before (sec/srtp.ts): same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { loadHarness } from './harness/load.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const range = (a: number, b: number) => Uint8Array.from({ length: b - a + 1 }, (_, i) => a + i);
const h = loadHarness();
function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, len: number): Uint8Array | null {
  h.put(0, salt); h.put(1, ikm); h.put(2, info);
  return h.ex.hkdf(salt.length, ikm.length, info.length, len) ? h.get(3, len) : null;
}

test('RFC 5869 appendix A, test cases 1-3 (SHA-256)', () => {
  assert.equal(toHex(hkdf(hex('000102030405060708090a0b0c'), new Uint8Array(22).fill(0x0b), hex('f0f1f2f3f4f5f6f7f8f9'), 42)!),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  assert.equal(toHex(hkdf(range(0x60, 0xaf), range(0x00, 0x4f), range(0xb0, 0xff), 82)!),
    'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87');
  assert.equal(toHex(hkdf(new Uint8Array(0), new Uint8Array(22).fill(0x0b), new Uint8Array(0), 42)!),
    '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
});

test('equals node:crypto hkdfSync for lengths 0..200 and info up to 128 bytes; longer info or output refused', () => {
  let seed = 7;
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (const len of [0, 1, 12, 31, 32, 33, 64, 65, 100, 200]) {
    const salt = rnd(len % 40), ikm = rnd(1 + (len % 50)), info = rnd(len % 129);
    const want = new Uint8Array(crypto.hkdfSync('sha256', ikm, salt, info, len));
    assert.equal(toHex(hkdf(salt, ikm, info, len)!), toHex(want), `L=${len}`);
  }
  assert.equal(hkdf(rnd(32), rnd(32), rnd(129), 32), null, 'info > 128 bytes');
  assert.equal(hkdf(rnd(32), rnd(32), rnd(8), 255 * 32 + 1), null, 'L > 255·HashLen');
});

test('the media keys are the same bytes as the one-block Extract+Expand srtp.ts used before', () => {
  const transcript = crypto.randomBytes(32), secret = crypto.randomBytes(32);
  const hmac = (k: Uint8Array, m: Uint8Array) => new Uint8Array(crypto.createHmac('sha256', k).update(m).digest());
  const prk = hmac(transcript, secret);
  for (const [label, n] of [['p2pphone srtp key c>e', 32], ['p2pphone srtp salt c>e', 12], ['p2pphone srtp key e>c', 32], ['p2pphone srtp salt e>c', 12]] as const) {
    const old = hmac(prk, Buffer.concat([Buffer.from(label), Buffer.of(1)])).subarray(0, n);
    assert.equal(toHex(hkdf(transcript, secret, new TextEncoder().encode(label), n)!), toHex(old), label);
  }
});
