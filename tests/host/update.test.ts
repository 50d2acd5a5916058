// Firmware updates (firmware/device/update.ts, server/update*.ts): Skype-style `installed` then
// `getlatestversion`, signed manifest, background download into the inactive slot, install at the next idle
// moment, refusal of a manifest not signed by the vendor, and the real node:http service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { makeBench, runFor, signedImage, consoleCommand, vendorKey, vendorPublic } from '../../host-sim/bootrom-bench.js';
import { UpdateService } from '../../server/update.js';
import { listenUpdateHttp } from '../../server/update-http.js';
import { verifyImage } from '../../host-sim/bootrom-image.js';

test('the phone reports installed, finds a newer signed release, downloads it in the background and installs it when idle', () => {
  const b = makeBench(11);
  b.updates.publish(signedImage(2));
  const p = b.phone('alice', '198.51.100.50');
  b.w.runUntil(() => !!b.w.find('alice', 'update.ready'), 60_000_000);
  assert.deepEqual(b.updateRequests.slice(0, 3), ['GET /ui/0/1/installed', 'GET /ui/0/1/getlatestversion?build=test-v1', 'GET /images/2.bin']);
  assert.equal(p.rom.running?.header.version, 1, 'still running v1 while the update waits');
  assert.match(consoleCommand(b.w, p, 'update'), /Update v2 ready; running v1 slot A/);
  assert.match(p.lcd.text(), /Update v2 ready/);
  const ready = b.w.find('alice', 'update.ready')!.timeUs;
  b.w.runUntil(() => p.rom.state.minVersion === 2, b.w.sched.nowUs + 120_000_000);
  const install = b.w.find('alice', 'update.install')!;
  assert.ok(install.timeUs - ready >= 0, 'installed after it was ready');
  assert.equal(p.rom.running?.header.version, 2);
  runFor(b.w, 12_000_000);
  assert.ok(b.updateRequests.includes('GET /ui/0/2/installed'), 'v2 reports its first boot');
  assert.match(consoleCommand(b.w, p, 'status'), /firmware=v2 slot B build test-v2 \(confirmed\)/);
  b.w.close();
});

test('the install waits while the phone is in use (keys pressed)', () => {
  const b = makeBench(12);
  b.updates.publish(signedImage(2));
  const p = b.phone('alice', '198.51.100.50');
  b.w.runUntil(() => !!b.w.find('alice', 'update.ready'), 60_000_000);
  for (let i = 0; i < 6; i++) { p.node.pressKey(0x105); runFor(b.w, 10_000_000); }
  assert.equal(b.w.find('alice', 'update.install'), undefined, 'not installed while keys are pressed every 10 s');
  runFor(b.w, 40_000_000);
  assert.ok(b.w.find('alice', 'update.install'), 'installed once left alone for 30 s');
  b.w.close();
});

test('a manifest not signed by the vendor key is refused; nothing is downloaded', () => {
  const b = makeBench(13);
  const rogue = new UpdateService(crypto.generateKeyPairSync('ed25519').privateKey);
  (b.updates as unknown as { manifest: unknown }).manifest = rogue.manifest.bind(rogue);
  b.updates.publish(signedImage(2));
  const p = b.phone('alice', '198.51.100.50');
  b.w.runUntil(() => !!b.w.find('alice', 'update.failed'), 60_000_000);
  assert.equal(b.w.find('alice', 'update.failed')!.kv.reason, 'manifest:_signature_does_not_verify');
  assert.ok(!b.updateRequests.some((r) => r.startsWith('GET /images/')), "!b.updateRequests.some((r) => r.startsWith('GET /images/'))");
  assert.equal(p.rom.running?.header.version, 1);
  b.w.close();
});

test('the node:http update service: signed manifest, image, 404 and 405', async () => {
  const svc = new UpdateService(vendorKey());
  assert.throws(() => svc.publish(signedImage(3, undefined, crypto.generateKeyPairSync('ed25519').privateKey)), /cannot publish: signed with key/);
  svc.publish(signedImage(2)); svc.publish(signedImage(3));
  const s = await listenUpdateHttp(svc);
  try {
    const base = `http://127.0.0.1:${s.port}`;
    const m = await fetch(`${base}/ui/0/2/getlatestversion?build=x`);
    assert.equal(m.status, 200);
    const text = await m.text();
    assert.match(text, /^manifest=1\nversion=3\nsize=\d+\nsha256=[0-9a-f]{64}\nbuild=test-v3\nurl=\/images\/3\.bin\nsignature=[0-9a-f]{128}\n$/);
    const at = text.indexOf('signature=');
    assert.ok(crypto.verify(null, Buffer.from(text.slice(0, at)), crypto.createPublicKey(vendorKey()), Buffer.from(text.slice(at + 10).trim(), 'hex')), 'crypto.verify(null, Buffer.from(text.slice(0, at)), crypto.c');
    const img = new Uint8Array(await (await fetch(`${base}/images/3.bin`)).arrayBuffer());
    assert.ok(verifyImage(img, vendorPublic()).ok, 'verifyImage(img, vendorPublic()).ok');
    assert.equal((await fetch(`${base}/ui/0/3/installed`)).status, 200);
    assert.equal(svc.stats.installed.get(3), 1);
    assert.equal((await fetch(`${base}/images/9.bin`)).status, 404);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/images/3.bin`, { method: 'POST' })).status, 405);
  } finally { await s.close(); }
});
