// Per-phone JSON provisioning (tools/lib/provisioning.ts on the host, firmware/device/provisioning.ts in the
// phone): the same rules and the same one-line messages on both sides, loading by file in the simulator
// (npm run device -- --config) and over the console (config load), and a phone that boots from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { validateProvisioning } from '../../tools/lib/provisioning.js';
import { makeBench, runFor, consoleCommand } from '../../host-sim/bootrom-bench.js';

const KEY = 'ab'.repeat(32);
const good = { user: 'carol', password: 'carol-secret', register: true, bootstrap: ['198.51.100.21:33033'], server: '198.51.100.10:33000', serverKey: KEY };

const BAD: [unknown, string][] = [
  [[], 'config: expected an object, got an array'],
  [{ ...good, colour: 'red' }, 'colour: unknown field (expected one of user, password, register, port, supernode, bootstrap, server, serverKey, codecs, display, update)'],
  [{ ...good, user: 'Carol' }, 'user: must be 3..32 characters [a-z][a-z0-9._-]*, got "Carol"'],
  [{ ...good, user: 7 }, 'user: expected a string, got a number'],
  [{ ...good, password: undefined }, 'password: required when user is set'],
  [{ ...good, password: 'short' }, 'password: must be 6..64 characters, got 5'],
  [{ ...good, register: 'yes' }, 'register: expected a boolean, got a string'],
  [{ ...good, port: 70000 }, 'port: must be 0..65535, got 70000'],
  [{ ...good, port: 1.5 }, 'port: expected an integer, got a fraction'],
  [{ ...good, supernode: 'always' }, 'supernode: expected "auto" or "never", got "always"'],
  [{ ...good, bootstrap: undefined }, 'bootstrap: required (1..7 supernodes "a.b.c.d:port")'],
  [{ ...good, bootstrap: [] }, 'bootstrap: must list 1..7 supernodes, got 0'],
  [{ ...good, bootstrap: ['198.51.100.21:33033', '1.2.3'] }, 'bootstrap[1]: expected "a.b.c.d:port", got "1.2.3"'],
  [{ ...good, bootstrap: ['198.51.100.21:0'] }, 'bootstrap[0]: expected "a.b.c.d:port", got "198.51.100.21:0"'],
  [{ ...good, server: '300.1.1.1:5' }, 'server: expected "a.b.c.d:port", got "300.1.1.1:5"'],
  [{ ...good, serverKey: 'abc' }, 'serverKey: expected 64 hex digits, got 3 characters'],
  [{ ...good, codecs: ['pcmu', 'g729'] }, 'codecs[1]: unknown codec "g729" (expected "pcmu" or "pcma")'],
  [{ ...good, codecs: ['pcmu', 'pcmu'] }, 'codecs[1]: codec "pcmu" listed twice'],
  [{ ...good, display: { rows: 4 } }, 'display.cols: required'],
  [{ ...good, display: { rows: 1, cols: 24 } }, 'display.rows: must be 2..8, got 1'],
  [{ ...good, update: { server: '198.51.100.30:8080', every: 5 } }, 'update.every: unknown field (expected server, checkIntervalS)'],
  [{ ...good, update: { server: '198.51.100.30:8080', checkIntervalS: 5 } }, 'update.checkIntervalS: must be 60..2592000, got 5'],
];

test('host validator: a good config passes; each bad one gives its one-line message', () => {
  assert.ok(validateProvisioning(good).ok, 'good config');
  assert.ok(validateProvisioning({ ...good, codecs: ['pcma'], display: { rows: 2, cols: 16 }, update: { server: '198.51.100.30:8080' }, supernode: 'auto', port: 0 }).ok, 'all fields');
  for (const [cfg, msg] of BAD) {
    const v = validateProvisioning(cfg);
    assert.equal(v.ok ? 'valid' : v.error, msg);
  }
});

test('the firmware gives the same messages over the console (config load), saves a good config and boots from it', () => {
  const b = makeBench(41);
  const p = b.phone('alice', '198.51.100.50');
  runFor(b.w, 3_000_000);
  for (const [cfg, msg] of BAD) {
    consoleCommand(b.w, p, 'config load');
    const out = consoleCommand(b.w, p, JSON.stringify(cfg));
    assert.ok(out.includes(`error: config: ${msg}`), `firmware says: ${out.split('\r\n').find((l) => l.startsWith('error')) ?? out} — expected ${msg}`);
  }
  consoleCommand(b.w, p, 'config load');
  assert.match(consoleCommand(b.w, p, '{"user": "alice", "password": "bad"'), /^$|json> /, 'waits for the closing brace');
  assert.match(consoleCommand(b.w, p, '}'), /error: config: password: must be 6\.\.64 characters, got 3/);
  assert.match(consoleCommand(b.w, p, 'config load\r{broken'), /json> /);
  assert.match(consoleCommand(b.w, p, '\x03'), /config load cancelled/);
  const mine = { user: 'carol', password: 'carol-secret-1', register: true, bootstrap: ['198.51.100.21:33033'], server: '198.51.100.10:33000', serverKey: Buffer.from(b.w.login.publicKey).toString('hex'), codecs: ['pcma'] };
  consoleCommand(b.w, p, 'config load');
  assert.match(consoleCommand(b.w, p, JSON.stringify(mine)), /ok: provisioning saved \(\d+ bytes\); reboot to apply/);
  consoleCommand(b.w, p, 'reboot');
  runFor(b.w, 10_000_000);
  const st = consoleCommand(b.w, p, 'status');
  assert.match(st, /user=carol .*\r\nlogin=online/);
  assert.match(consoleCommand(b.w, p, 'config'), /"user": "carol", "password": "\*\*\*".*"codecs": \["pcma"\]/);
  b.w.close();
});

test('npm run device -- --config: a bad file is refused with one line; --write-config makes a valid one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prov-test-'));
  const f = path.join(dir, 'p.json');
  fs.writeFileSync(f, JSON.stringify({ ...good, codecs: ['opus'] }));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tools/device.ts', '--trust', '00'.repeat(32), '--image', '/dev/null', '--config', f], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const img = spawnSync(process.execPath, ['--import', 'tsx', 'tools/device.ts', '--write-config', path.join(dir, 'w.json'), '--user', 'dave'], { encoding: 'utf8' });
  assert.equal(img.status, 0, img.stderr);
  const w = JSON.parse(fs.readFileSync(path.join(dir, 'w.json'), 'utf8'));
  assert.ok(validateProvisioning(w).ok, 'written config validates');
  assert.equal(w.user, 'dave');
  fs.writeFileSync(f, '{"user": ');
  const j = spawnSync(process.execPath, ['--import', 'tsx', 'tools/console.ts', '/dev/null', '--load-config', f], { encoding: 'utf8' });
  assert.equal(j.status, 1);
  assert.match(j.stderr, /^console: .*p\.json: not valid JSON/);
});
