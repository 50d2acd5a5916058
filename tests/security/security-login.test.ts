/**
 * Attacker tests for the login exchange and the login server (issue #7): Noise_IK login with an identity,
 * brute force held by the rate limiter, unknown user vs wrong password indistinguishable in virtual time,
 * no fixed plaintext header and no credentials in clear on the wire, no plaintext password in logs or the
 * database, registration races, input validation.
 *
 *   node --import tsx --test tests/security/security-login.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoginService, FrameDecoder, encodeFrame } from '../../server/service.ts';
import { UserStore } from '../../server/store.ts';
import { generateX25519, openResponse, sealRequest, type LoginSession } from '../../server/keys.ts';
import {
  InvalidReason, Op, Status, decodeResponse, encodeLogin, encodeLoginWithIdentity, encodeLookup, encodeRegister,
} from '../../server/protocol.ts';
import { bindMessage, ed25519Public, ed25519Sign, signingKey, verifyCert } from '../../server/cert.ts';
import { World, LOGIN_PORT } from '../../host-sim/world.ts';
import { toIp } from '../../host-sim/net/ip.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function service(opts: Partial<ConstructorParameters<typeof LoginService>[0]> = {}) {
  let nowMs = 1_000_000;
  const store = new UserStore(':memory:', { scryptN: 16 });
  const svc = new LoginService({ store, staticPrivateKey: generateX25519().privateKey, nowMs: () => nowMs, ...opts });
  return { svc, store, advance: (ms: number) => { nowMs += ms; }, now: () => nowMs };
}

/** A phone's keys: Ed25519 identity seed and X25519 Noise static. */
function phoneKeys() {
  const seed = new Uint8Array(32).map(() => Math.floor(Math.random() * 256));
  const noise = generateX25519();
  return { seed, idPub: ed25519Public(seed), noisePriv: noise.privateKey, noisePub: noise.publicKey };
}

function ask(svc: LoginService, op: Op, pt: Uint8Array, peer = '10.0.0.1', staticKey?: Uint8Array) {
  const { body, key } = sealRequest(svc.publicKey, pt, { staticKey });
  const res = svc.handleFrame(body, peer);
  assert.ok(res);
  const o = openResponse(key, res);
  assert.equal(o.kind, 'response');
  return decodeResponse(op, (o as { plaintext: Uint8Array }).plaintext);
}

function loginWithIdentity(svc: LoginService, user: string, pw: string, k = phoneKeys(), peer = '10.0.0.1') {
  const sig = ed25519Sign(k.seed, bindMessage(k.noisePub, user));
  return { k, r: ask(svc, Op.LOGIN, encodeLoginWithIdentity(user, pw, k.idPub, sig), peer, k.noisePriv) };
}

describe('login over Noise_IK with an identity', () => {
  test('LOGIN OK carries a certificate binding the name to the identity key and the Noise key', () => {
    const { svc, now } = service();
    assert.equal(ask(svc, Op.REGISTER, encodeRegister('alice', 'alice-secret-1')).status, Status.OK);
    const { k, r } = loginWithIdentity(svc, 'alice', 'alice-secret-1');
    assert.equal(r.status, Status.OK);
    assert.equal(r.username, 'alice');
    assert.equal(r.serverTimeS, Math.floor(now() / 1000));
    const v = verifyCert(r.cert!, new Map([[svc.signingKey.id, svc.signingKey.publicKey]]), r.serverTimeS!);
    assert.ok(v.ok);
    if (!v.ok) return;
    assert.equal(v.cert.user, 'alice');
    assert.deepEqual(v.cert.idPub, k.idPub);
    assert.deepEqual(v.cert.noisePub, k.noisePub);
    assert.equal(v.cert.notAfterS - v.cert.notBeforeS, svc.certLifetimeS);
    assert.equal(svc.stats.certsIssued, 1);
  });

  test('an identity whose binding signature does not match the Noise key of the session gets no certificate', () => {
    const { svc } = service();
    ask(svc, Op.REGISTER, encodeRegister('alice', 'alice-secret-1'));
    const k = phoneKeys();
    const other = generateX25519();
    // signed for another Noise key (e.g. replayed from someone else's login)
    const sig = ed25519Sign(k.seed, bindMessage(other.publicKey, 'alice'));
    const r = ask(svc, Op.LOGIN, encodeLoginWithIdentity('alice', 'alice-secret-1', k.idPub, sig), '10.0.0.1', k.noisePriv);
    assert.deepEqual(r, { status: Status.INVALID_INPUT, reason: InvalidReason.IDENTITY });
    // signed for another user name
    const sig2 = ed25519Sign(k.seed, bindMessage(k.noisePub, 'mallory'));
    const r2 = ask(svc, Op.LOGIN, encodeLoginWithIdentity('alice', 'alice-secret-1', k.idPub, sig2), '10.0.0.1', k.noisePriv);
    assert.equal(r2.status, Status.INVALID_INPUT);
    assert.equal(svc.stats.certsIssued, 0);
  });

  test('the request has no fixed plaintext byte and carries neither name nor password in clear', () => {
    const { svc } = service();
    const firsts = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const { body } = sealRequest(svc.publicKey, encodeLogin('alice', 'alice-secret-1'));
      firsts.add(body[4]); // first byte after the supernode's reqId
      const s = Buffer.from(body).toString('latin1');
      assert.ok(!s.includes('alice'), 'user name in clear');
      assert.ok(!s.includes('secret'), 'password in clear');
    }
    assert.ok(firsts.size > 32, `first bytes vary: ${firsts.size} distinct of 64`);
    // sizes leak only the 64-byte padding bucket
    const a = sealRequest(svc.publicKey, encodeLogin('al1', 'secret')).body.length;
    const b = sealRequest(svc.publicKey, encodeLogin('alice.longer.name', 'a-longer-password!')).body.length;
    assert.equal(a, b);
  });

  test('garbage, tampered and wrong-key requests get a 5-byte error, never a crash', () => {
    const { svc } = service();
    const { body } = sealRequest(svc.publicKey, encodeLookup('alice'), {}, 7);
    for (const i of [4, 40, 90, body.length - 1]) {
      const b = Uint8Array.from(body);
      b[i] ^= 0x20;
      const r = svc.handleFrame(b, 'p');
      assert.ok(r);
      assert.equal(r.length, 5);
    }
    const other = generateX25519();
    const r = svc.handleFrame(sealRequest(other.publicKey, encodeLookup('alice'), {}, 9).body, 'p');
    assert.equal(r?.length, 5);
  });
});

describe('login server hardening', () => {
  test('brute force: the per-username limiter holds even against the right password, with doubling backoff', () => {
    const { svc, advance } = service();
    ask(svc, Op.REGISTER, encodeRegister('alice', 'alice-secret-1'));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(ask(svc, Op.LOGIN, encodeLogin('alice', `guess-${i}-xx`), `10.0.${i}.1`).status);
    assert.deepEqual(statuses, Array(5).fill(Status.BAD_CREDENTIALS));
    // locked: even the right password is refused, from any address
    assert.equal(ask(svc, Op.LOGIN, encodeLogin('alice', 'alice-secret-1'), '10.9.9.9').status, Status.RATE_LIMITED);
    advance(29_000);
    assert.equal(ask(svc, Op.LOGIN, encodeLogin('alice', 'alice-secret-1'), '10.9.9.9').status, Status.RATE_LIMITED);
    advance(1_001);
    // another burst: the second lock lasts twice as long
    for (let i = 0; i < 5; i++) ask(svc, Op.LOGIN, encodeLogin('alice', `guess2-${i}-xx`), `10.1.${i}.1`);
    advance(59_000);
    assert.equal(ask(svc, Op.LOGIN, encodeLogin('alice', 'alice-secret-1')).status, Status.RATE_LIMITED);
    advance(1_001);
    assert.equal(ask(svc, Op.LOGIN, encodeLogin('alice', 'alice-secret-1')).status, Status.OK);
    // 1,000 guesses in 10 minutes: at most a handful reach the password check
    const before = svc.stats.loginFailures;
    for (let i = 0; i < 1000; i++) { ask(svc, Op.LOGIN, encodeLogin('alice', `dict-${i}-xx`)); advance(600); }
    const checked = svc.stats.loginFailures - before;
    assert.ok(checked <= 40, `${checked} of 1000 guesses were checked`);
  });

  test('brute force across many names from one address: the per-address limiter holds', () => {
    const { svc } = service();
    let limited = 0;
    for (let i = 0; i < 60; i++) if (ask(svc, Op.LOGIN, encodeLogin(`user${i}`, 'password1'), '203.0.113.66').status === Status.RATE_LIMITED) limited++;
    assert.ok(limited >= 35, `${limited} of 60 refused`);
    // a different address is unaffected
    assert.equal(ask(svc, Op.LOGIN, encodeLogin('userx', 'password1'), '203.0.113.67').status, Status.BAD_CREDENTIALS);
  });

  test('unknown user and wrong password: same status, same bytes, same scrypt work', () => {
    const { svc, store } = service();
    ask(svc, Op.REGISTER, encodeRegister('alice', 'alice-secret-1'));
    const before = store.kdfCount;
    const a = ask(svc, Op.LOGIN, encodeLogin('alice', 'wrong-pass-1'), '1.1.1.1');
    const mid = store.kdfCount;
    const b = ask(svc, Op.LOGIN, encodeLogin('nobody', 'wrong-pass-1'), '1.1.1.2');
    assert.deepEqual(a, b);
    assert.equal(mid - before, 1);
    assert.equal(store.kdfCount - mid, 1, 'a dummy hash for the unknown user');
  });

  test('unknown user vs wrong password: indistinguishable to 1 ms in virtual time (simulated login server)', () => {
    // No link jitter, so that any difference is the server's own.
    const w = new World({ seed: 71, accessLink: { delayUs: 2_500, jitterUs: 0, loss: 0 } });
    w.addLoginServer('198.51.100.10');
    try {
      w.login.store.register('alice', 'alice-secret-1');
      const host = w.net.addHost('attacker', '203.0.113.66', { link: { delayUs: 2_500, jitterUs: 0, loss: 0 } });
      const loginIp = toIp('198.51.100.10');
      const rtt = (pt: Uint8Array): number => {
        const dec = new FrameDecoder();
        let sentUs = 0, gotUs = -1;
        const conn = host.tcpConnect(loginIp, LOGIN_PORT, {
          onConnect: () => {
            sentUs = w.sched.nowUs;
            conn.send(encodeFrame(sealRequest(w.login.publicKey, pt).body));
          },
          onData: (d) => { if (dec.push(d).length > 0 && gotUs < 0) gotUs = w.sched.nowUs; },
        });
        w.runUntil(() => gotUs >= 0, w.sched.nowUs + 5_000_000);
        conn.close();
        w.runUntil(() => false, w.sched.nowUs + 2_000_000); // idle the workers between probes
        assert.ok(gotUs >= 0, 'answered');
        return gotUs - sentUs;
      };
      const wrong: number[] = [], unknown: number[] = [];
      for (let i = 0; i < 3; i++) {
        wrong.push(rtt(encodeLogin('alice', `wrong-pass-${i}`)));
        unknown.push(rtt(encodeLogin(`nobody${i}`, `wrong-pass-${i}`)));
      }
      const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
      const d = Math.abs(mean(wrong) - mean(unknown));
      assert.ok(mean(wrong) > 50_000, `the hash is charged (${mean(wrong)} µs)`);
      assert.ok(d < 1_000, `wrong password ${mean(wrong)} µs vs unknown user ${mean(unknown)} µs`);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(wrong[i] - unknown[i]) < 1_000, `probe ${i}: ${wrong[i]} vs ${unknown[i]}`);
    } finally { w.close(); }
  });

  test('registration race: two requests for one name, one wins, the other gets EXISTS (UNIQUE constraint)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sec-race-'));
    try {
      const path = join(dir, 'users.db');
      const a = new UserStore(path, { scryptN: 16 });
      const b = new UserStore(path, { scryptN: 16 });
      // b passes its exists() check before a inserts: only the constraint can settle it
      const realExists = (b as any).stmtExists;
      (b as any).stmtExists = { get: () => undefined };
      const ra = a.register('carol', 'carol-secret');
      const rb = b.register('carol', 'other-secret');
      (b as any).stmtExists = realExists;
      assert.equal(ra.status, 'ok');
      assert.equal(rb.status, 'exists');
      assert.equal(a.count(), 1);
      a.close(); b.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test('input validation: clear reasons for bad name, bad password, bad structure', () => {
    const { svc } = service();
    assert.deepEqual(ask(svc, Op.REGISTER, encodeRegister('A!', 'password1')), { status: Status.INVALID_INPUT, reason: InvalidReason.USERNAME });
    assert.deepEqual(ask(svc, Op.REGISTER, encodeRegister('alice', 'short')), { status: Status.INVALID_INPUT, reason: InvalidReason.PASSWORD });
    assert.deepEqual(ask(svc, Op.REGISTER, Uint8Array.of(1, 200, 1)), { status: Status.INVALID_INPUT, reason: InvalidReason.MALFORMED });
    assert.deepEqual(ask(svc, Op.LOGIN, Uint8Array.of(9, 1, 97)), { status: Status.INVALID_INPUT, reason: InvalidReason.MALFORMED });
  });

  test('no plaintext password in the server\'s output or its database (real server over TCP)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sec-logs-'));
    const password = 'Tr0ub4dor&3-unique-marker';
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'server/main.ts'), '--port', '0', '--data', dir], { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    try {
      const m = await new Promise<RegExpMatchArray>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`server did not start: ${out}`)), 20_000);
        child.stdout.on('data', () => { const x = out.match(/listening on \S+:(\d+) pubkey ([0-9a-f]{64})/); if (x) { clearTimeout(t); res(x); } });
      });
      const port = Number(m[1]);
      const pub = new Uint8Array(Buffer.from(m[2], 'hex'));
      const k = phoneKeys();
      const reqs: { pt: Uint8Array; key?: LoginSession }[] = [
        { pt: encodeRegister('dave', password) },
        { pt: encodeLoginWithIdentity('dave', password, k.idPub, ed25519Sign(k.seed, bindMessage(k.noisePub, 'dave'))) },
        { pt: encodeLogin('dave', password + 'x') },
        { pt: encodeLogin('nobody', password) },
      ];
      const sock = connect(port, '127.0.0.1');
      const dec = new FrameDecoder();
      const got: Uint8Array[] = [];
      sock.on('data', (d) => got.push(...dec.push(d)));
      await new Promise((r) => sock.once('connect', r));
      for (const r of reqs) {
        const s = sealRequest(pub, r.pt, { staticKey: k.noisePriv });
        r.key = s.key;
        sock.write(encodeFrame(s.body));
      }
      const t0 = Date.now();
      while (got.length < reqs.length && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(got.length, reqs.length);
      const st = got.map((g, i) => decodeResponse(i === 0 ? Op.REGISTER : Op.LOGIN, (openResponse(reqs[i].key!, g) as any).plaintext).status);
      assert.deepEqual(st, [Status.OK, Status.OK, Status.BAD_CREDENTIALS, Status.BAD_CREDENTIALS]);
      sock.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      assert.match(out, /login-server stopped/);
      assert.ok(!out.includes(password) && !out.includes(Buffer.from(password).toString('hex')), 'password in the server output');
      for (const f of readdirSync(dir)) {
        const b = readFileSync(join(dir, f));
        assert.ok(!b.includes(Buffer.from(password)), `password in ${f}`);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('certificate keys', () => {
  test('signing keys: rotation keeps older certificates valid while their key is trusted', () => {
    const k1 = signingKey(1, new Uint8Array(32).fill(1));
    const k2 = signingKey(2, new Uint8Array(32).fill(2));
    const { svc: s1, store } = service({ signingKey: k1 });
    ask(s1, Op.REGISTER, encodeRegister('erin', 'erin-secret-1'));
    const c1 = loginWithIdentity(s1, 'erin', 'erin-secret-1').r;
    const s2 = new LoginService({ store, staticPrivateKey: generateX25519().privateKey, nowMs: () => 1_000_000, signingKey: k2 });
    const c2 = loginWithIdentity(s2, 'erin', 'erin-secret-1').r;
    const both = new Map([[1, k1.publicKey], [2, k2.publicKey]]);
    assert.ok(verifyCert(c1.cert!, both, 1000).ok);
    assert.ok(verifyCert(c2.cert!, both, 1000).ok);
    const onlyNew = new Map([[2, k2.publicKey]]);
    assert.deepEqual(verifyCert(c1.cert!, onlyNew, 1000), { ok: false, reason: 'unknown-key' });
  });
});
