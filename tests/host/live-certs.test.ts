// Live tools with certificate keys (issue #7): `npm run server` writes its certificate keys to
// <data>/cert-keys.json; a supernode and a phone started the documented way (config with serverKeyFile, as in
// README / docs/netlab.md) pick them up beside server-key.json, so both check certificates: the phone keeps a
// verified certificate (cert.ok, never cert.unverifiable) and the supernode trusts the server's key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { parseConfig, provisioningText } from '../../host-sim/real/config.ts';
import { IDENTITY_VIEW } from '../../host-sim/real/address-view.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'live-certs-'));
const basePort = 41000 + (process.pid % 400) * 20;
const KEY = 'ab'.repeat(32);
const CK = `1:${'cd'.repeat(32)}`;

function start(script: string, args: string[]): { c: ChildProcess; out: () => string } {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout!.on('data', (d) => { out += d; });
  c.stderr!.on('data', (d) => { out += d; });
  return { c, out: () => out };
}
async function waitFor(p: { c: ChildProcess; out: () => string }, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const t0 = Date.now();
  for (;;) {
    const m = re.exec(p.out());
    if (m) return m;
    if (Date.now() - t0 > ms || p.c.exitCode !== null) throw new Error(`no ${re} within ${ms} ms: ${p.out().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function stop(p: { c: ChildProcess }): Promise<void> {
  if (p.c.exitCode !== null) return;
  const done = new Promise((r) => p.c.on('close', r));
  p.c.kill('SIGTERM');
  await done;
}
const events = (f: string) => fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; kv: Record<string, string> }) : [];

test('config: certKeys, certKeysFile, cert-keys.json beside serverKeyFile become certKeys= in the provisioning; bad ones are one clear line', () => {
  const base = { user: 'alice', password: 'alice-secret-1', bootstrap: ['127.0.0.11:33033'], server: '127.0.0.1:33000' };
  const view = IDENTITY_VIEW;
  assert.match(provisioningText(parseConfig({ ...base, serverKey: KEY, certKeys: CK }, 'phone'), 1, view), new RegExp(`^certKeys=${CK}$`, 'm'));
  const dir = fs.mkdtempSync(path.join(tmp, 'cfg-'));
  fs.writeFileSync(path.join(dir, 'server-key.json'), JSON.stringify({ publicKey: KEY }));
  // No cert-keys.json yet: no certKeys (as before).
  assert.equal(parseConfig({ ...base, serverKeyFile: 'server-key.json' }, 'phone', 'x.json', dir).certKeys, undefined);
  fs.writeFileSync(path.join(dir, 'cert-keys.json'), JSON.stringify({ certKeys: CK }));
  assert.equal(parseConfig({ ...base, serverKeyFile: 'server-key.json' }, 'phone', 'x.json', dir).certKeys, CK);
  assert.equal(parseConfig({ ...base, serverKey: KEY, certKeysFile: 'cert-keys.json' }, 'phone', 'x.json', dir).certKeys, CK);
  const bad = (o: object, re: RegExp) => assert.throws(() => parseConfig({ ...base, ...o }, 'phone', 'x.json', dir), (e: Error) => re.test(e.message) && !e.message.includes('\n'), re.source);
  bad({ serverKey: KEY, certKeys: '1:abcd' }, /^x\.json: "certKeys": expected "id:<64 hex>"/);
  bad({ serverKey: KEY, certKeys: `65536:${'cd'.repeat(32)}` }, /"certKeys": expected/);
  bad({ serverKey: KEY, certKeys: CK, certKeysFile: 'cert-keys.json' }, /give certKeys or certKeysFile, not both/);
  bad({ serverKey: KEY, certKeysFile: 'none.json' }, /"certKeysFile": cannot read .*none\.json \(ENOENT\)/);
});

test('phone --cert-keys: a malformed value is one clear line and exit 1', () => {
  const cfg = path.join(tmp, 'p.json');
  fs.writeFileSync(cfg, JSON.stringify({ user: 'alice', password: 'x', bootstrap: ['127.0.0.1:9'], server: '127.0.0.1:9', serverKey: KEY }));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tools/phone.ts', '--config', cfg, '--cert-keys', 'nope'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^phone: --cert-keys: expected "id:<64 hex>" entries separated by commas \(1\.\.8\), as printed by `npm run server`\n$/);
});

test('server + supernode + phone started the documented way (serverKeyFile) check certificates: cert.ok, no cert.unverifiable', async () => {
  const dir = path.join(tmp, 'run');
  fs.mkdirSync(dir, { recursive: true });
  const serverPort = basePort, snPort = basePort + 1;
  const server = start('server/main.ts', ['--port', String(serverPort), '--host', '127.0.0.1', '--data', path.join(dir, 'server-data')]);
  const procs = [server];
  try {
    const ck = await waitFor(server, /login-server certKeys (\S+)/, 20_000);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'server-data/cert-keys.json'), 'utf8'));
    assert.equal(written.certKeys, ck[1], 'the server wrote the certKeys it printed to <data>/cert-keys.json');
    const common = { bootstrap: [`127.0.0.41:${snPort}`], server: `127.0.0.1:${serverPort}`, serverKeyFile: 'server-data/server-key.json' };
    fs.writeFileSync(path.join(dir, 'sn1.json'), JSON.stringify({ name: 'sn1', bind: '127.0.0.41', port: snPort, ...common }));
    fs.writeFileSync(path.join(dir, 'alice.json'), JSON.stringify({ user: 'alice', password: 'alice-secret-1', register: true, bind: '127.0.0.42', ...common }));
    const sn = start('tools/supernode.ts', ['--config', path.join(dir, 'sn1.json'), '--events', path.join(dir, 'sn1.jsonl'), '--max-time', '60']);
    procs.push(sn);
    await waitFor(sn, /listening on/, 20_000);
    const alice = start('tools/phone.ts', ['--config', path.join(dir, 'alice.json'), '--no-lcd', '--events', path.join(dir, 'alice.jsonl'), '--max-time', '60']);
    procs.push(alice);
    await waitFor(alice, /logged in/, 30_000);
    // The PUBLISH after login reaches the supernode.
    const t0 = Date.now();
    while (!events(path.join(dir, 'sn1.jsonl')).some((e) => e.name === 'sn.publish') && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
  } finally { for (const p of procs.reverse()) await stop(p); }
  const a = events(path.join(dir, 'alice.jsonl')), s = events(path.join(dir, 'sn1.jsonl'));
  assert.equal(a.find((e) => e.name === 'sec.trust')?.kv.certKeys, '1', 'the phone trusts the server\'s signing key');
  assert.equal(s.find((e) => e.name === 'sec.trust')?.kv.certKeys, '1', 'the supernode trusts the server\'s signing key');
  assert.ok(a.some((e) => e.name === 'cert.ok' && e.kv.user === 'alice'), 'the phone verified and kept its certificate');
  assert.ok(!a.some((e) => e.name === 'cert.unverifiable'), 'no cert.unverifiable');
  assert.ok(s.some((e) => e.name === 'sn.publish' && e.kv.user === 'alice'), 'the supernode accepted alice\'s certified PUBLISH');
  assert.ok(!s.some((e) => e.name === 'sn.publish.refused'), 'no PUBLISH refused');
});
