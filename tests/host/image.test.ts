// Firmware images (docs/image-format.md, host-sim/bootrom-image.ts) and the `npm run image` tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildImage, parseHeader, verifyImage, rawPublicKey, keyIdOf, IMAGE_HEADER_BYTES, IMAGE_SIGNATURE_BYTES } from '../../host-sim/bootrom-image.js';

const { privateKey } = crypto.generateKeyPairSync('ed25519');
const pub = rawPublicKey(privateKey);
const wasm = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);

test('header layout: magic, format, sizes, version, build id, payload hash, key id; signature over header ‖ payload', () => {
  const img = buildImage({ wasm, version: 42, buildId: 'abc-123', privateKey });
  assert.equal(img.length, IMAGE_HEADER_BYTES + wasm.length + IMAGE_SIGNATURE_BYTES);
  const b = Buffer.from(img);
  assert.equal(b.toString('latin1', 0, 4), 'P2PF');
  assert.equal(b.readUInt16LE(4), 1);
  assert.equal(b.readUInt16LE(6), 96);
  assert.equal(b.readUInt32LE(8), 42);
  assert.equal(b.readUInt32LE(12), wasm.length);
  assert.equal(b.toString('latin1', 24, 31), 'abc-123');
  assert.deepEqual(b.subarray(40, 72), crypto.createHash('sha256').update(wasm).digest());
  assert.deepEqual(new Uint8Array(b.subarray(72, 80)), keyIdOf(pub));
  assert.ok(crypto.verify(null, b.subarray(0, 96 + wasm.length), crypto.createPublicKey(privateKey), b.subarray(96 + wasm.length)), 'crypto.verify(null, b.subarray(0, 96 + wasm.length), crypto.');
  const v = verifyImage(img, pub);
  assert.ok(v.ok && v.header.version === 42 && v.header.buildId === 'abc-123', "v.ok && v.header.version === 42 && v.header.buildId === 'abc");
});

test('verification refuses every single-bit change, a wrong key, truncation and versions under the floor', () => {
  const img = buildImage({ wasm, version: 3, buildId: 'x', privateKey });
  for (let i = 0; i < img.length; i += 37) {
    const t = Uint8Array.from(img); t[i] ^= 1 << (i % 8);
    assert.equal(verifyImage(t, pub).ok, false, `bit flip at byte ${i}`);
  }
  const other = rawPublicKey(crypto.generateKeyPairSync('ed25519').privateKey);
  const wk = verifyImage(img, other);
  assert.ok(!wk.ok && wk.code === 'key', "!wk.ok && wk.code === 'key'");
  const tr = verifyImage(img.subarray(0, img.length - 10), pub);
  assert.ok(!tr.ok && tr.code === 'size', "!tr.ok && tr.code === 'size'");
  const rb = verifyImage(img, pub, 4);
  assert.ok(!rb.ok && rb.code === 'rollback' && /older than this phone's anti-rollback floor 4/.test(rb.reason), "!rb.ok && rb.code === 'rollback' && /older than this phone's");
  assert.ok(!parseHeader(Uint8Array.of(1, 2, 3)).ok, '!parseHeader(Uint8Array.of(1, 2, 3)).ok');
  assert.throws(() => buildImage({ wasm, version: 0, buildId: 'x', privateKey }), /version must be/);
  assert.throws(() => buildImage({ wasm, version: 1, buildId: 'much-too-long-build-id', privateKey }), /build id/);
});

test('npm run image: keygen, build, info --trust; one-line errors with exit 1', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-test-'));
  const run = (...a: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'tools/image.ts', ...a], { encoding: 'utf8' });
  const w = path.join(dir, 'fw.wasm');
  fs.writeFileSync(w, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
  let r = run('keygen', '--out', path.join(dir, 'k.pem'));
  assert.equal(r.status, 0, r.stderr);
  r = run('--key', path.join(dir, 'k.pem'), '--version', '7', '--wasm', w, '--build-id', 'b7', '--out', path.join(dir, 'i.bin'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /v7 build b7, 168 bytes/);
  r = run('info', path.join(dir, 'i.bin'), '--trust', path.join(dir, 'k.pub'));
  assert.match(r.stdout, /signature OK/);
  for (const [args, re] of [
    [['--key', path.join(dir, 'none.pem'), '--version', '1', '--wasm', w], /^image: key file .* not found/],
    [['--key', path.join(dir, 'k.pem'), '--version', 'x', '--wasm', w], /^image: --version must be an integer/],
    [['--key', path.join(dir, 'k.pem'), '--version', '1', '--wasm', path.join(dir, 'k.pub')], /^image: .* is not a valid WebAssembly module/],
    [['keygen', '--out', path.join(dir, 'k.pem')], /^image: .* exists; not overwriting/],
  ] as const) {
    r = run(...args);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, re);
  }
});
