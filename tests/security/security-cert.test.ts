/**
 * Certificates (issue #7): the firmware's verifier (firmware/sec/cert.ts through build/sec-harness.wasm) refuses
 * expired, not-yet-valid, wrongly signed, unknown-key, wrong-user and malformed certificates; and in the
 * simulator a node presenting another user's name without that user's valid certificate and identity key
 * cannot register presence for the user, so it receives none of the user's calls.
 *
 *   node --import tsx --test tests/security/security-cert.test.ts
 */
import { test, describe } from 'node:test';
import { DgramPeer } from '../../host-sim/dgram-peer.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ed25519Public, ed25519Sign, issueCert, signingKey, concat } from '../../server/cert.ts';
import { generateX25519 } from '../../server/keys.ts';
import { loadHarness } from './harness/load.ts';
import { OverlayPeer, W, readRecord } from './harness/overlay-peer.ts';
import { backboneWorld, SN_PORT } from '../../host-sim/world.ts';
import { toIp } from '../../host-sim/net/ip.ts';
import { consoleLine } from '../../host-sim/scenarios/buddies.ts';

const CERT_OK = 0, EMALFORMED = -1, EVERSION = -2, EUNKNOWN_KEY = -3, ESIGNATURE = -4, EEXPIRED = -5, ENOT_YET_VALID = -6, EWRONG_USER = -7;

const rnd = (n: number) => new Uint8Array(randomBytes(n));

describe('firmware certificate verifier (firmware/sec/cert.ts)', () => {
  const h = loadHarness();
  const k1 = signingKey(1, rnd(32));
  const k2 = signingKey(2, rnd(32));
  const idPub = ed25519Public(rnd(32));
  const noisePub = generateX25519().publicKey;
  const trust = (...keys: { id: number; publicKey: Uint8Array }[]) => {
    h.ex.trustClear();
    for (const k of keys) { h.put(2, k.publicKey); assert.equal(h.ex.trustAdd(k.id), 1); }
  };
  const verify = (cert: Uint8Array, user: string, nowS: number) => {
    h.put(1, cert);
    const u = new TextEncoder().encode(user);
    h.put(3, u);
    return h.ex.verify(cert.length, u.length, BigInt(nowS) * 1_000_000n);
  };
  const cert = (key = k1, user = 'alice', nb = 1000, na = 2000) => issueCert(key, { user, idPub, noisePub, notBeforeS: nb, notAfterS: na });

  test('a valid certificate verifies, for its user and for "any user"', () => {
    trust(k1);
    assert.equal(verify(cert(), 'alice', 1500), CERT_OK);
    assert.equal(verify(cert(), '', 1500), CERT_OK);
    assert.equal(verify(cert(), 'alice', 2000), CERT_OK, 'valid through notAfter');
  });

  test('expired and not yet valid certificates are refused (300 s skew allowed before notBefore)', () => {
    trust(k1);
    assert.equal(verify(cert(), 'alice', 2001), EEXPIRED);
    assert.equal(verify(cert(), 'alice', 100_000), EEXPIRED);
    assert.equal(verify(cert(k1, 'alice', 1000, 2000), 'alice', 699), ENOT_YET_VALID);
    assert.equal(verify(cert(k1, 'alice', 1000, 2000), 'alice', 700), CERT_OK);
  });

  test('wrongly signed certificates are refused: any flipped bit, a key that is not the server\'s, a reused id', () => {
    trust(k1);
    const c = cert();
    for (let i = 1; i < c.length; i++) {
      const b = Uint8Array.from(c);
      b[i] ^= 1 << (i % 8);
      const r = verify(b, '', 1500);
      assert.ok(r !== CERT_OK, `bit flipped in byte ${i} accepted`);
    }
    // signed by an attacker's key that claims id 1
    const forged = issueCert(signingKey(1, rnd(32)), { user: 'alice', idPub, noisePub, notBeforeS: 1000, notAfterS: 2000 });
    assert.equal(verify(forged, 'alice', 1500), ESIGNATURE);
    // a signature over the body without the domain-separation context
    const body = c.subarray(0, c.length - 64);
    const noCtx = concat(body, ed25519Sign(k1.seed, body));
    assert.equal(verify(noCtx, 'alice', 1500), ESIGNATURE);
  });

  test('unknown key id, wrong user, wrong version and malformed certificates are refused', () => {
    trust(k1);
    assert.equal(verify(cert(k2), 'alice', 1500), EUNKNOWN_KEY);
    assert.equal(verify(cert(), 'mallory', 1500), EWRONG_USER);
    const v = cert(); v[0] = 2;
    assert.equal(verify(v, 'alice', 1500), EVERSION);
    const c = cert();
    for (const len of [0, 1, 50, c.length - 1]) assert.equal(verify(c.subarray(0, len), 'alice', 1500) < 0, true, `length ${len}`);
    assert.equal(verify(concat(c, Uint8Array.of(0)), 'alice', 1500), EMALFORMED);
    const u = Uint8Array.from(c); u[11] = 200; // user length beyond the certificate
    assert.equal(verify(u, 'alice', 1500), EMALFORMED);
  });

  test('rotation: with keys 1 and 2 trusted both verify; once 1 is dropped its certificates are refused', () => {
    trust(k1, k2);
    assert.equal(verify(cert(k1), 'alice', 1500), CERT_OK);
    assert.equal(verify(cert(k2), 'alice', 1500), CERT_OK);
    trust(k2);
    assert.equal(verify(cert(k1), 'alice', 1500), EUNKNOWN_KEY);
    assert.equal(verify(cert(k2), 'alice', 1500), CERT_OK);
  });

  test('the certificate clock offset learned at login shifts validity', () => {
    trust(k1);
    h.ex.clockOffset(1000n);
    assert.equal(verify(cert(), 'alice', 500), CERT_OK, 'local 500 s + offset 1000 s = 1500 s');
    assert.equal(verify(cert(), 'alice', 1500), EEXPIRED);
    h.ex.clockOffset(0n);
  });
});

// ---- impersonation in the simulator ---------------------------------------------------------------------

const MSG_HELLO = 0x10, MSG_HELLO_ACK = 0x11, MSG_PUBLISH = 0x14, MSG_SEARCH = 0x15, MSG_SEARCH_RESP = 0x16, MSG_ROUTE = 0x17;
const MSG_DHT_STORE = 0x32;
const PUBLISH_CTX = new TextEncoder().encode('p2pphone-publish-v1');

/** A world with alice and bob logged in (on different supernodes) and an attacker host. */
function setup(seed: number) {
  const w = backboneWorld(seed, 3);
  const alice = w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 1_000_000 });
  const bob = w.addNode('bob', '198.51.100.50', { user: 'bob', password: 'bob-secret-1', register: true }, { bootAtUs: 1_000_000 });
  assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok') && !!w.find('bob', 'login.ok'), 30_000_000), 'both logged in');
  assert.ok(w.find('alice', 'cert.ok'), 'alice holds a certificate');
  w.runUntil(() => false, Math.max(w.sched.nowUs + 2_000_000, 20_000_000)); // ≥ 20 s: room for an expired certificate
  const snOf = (n: string) => w.find(n, 'sn.connected')!.kv.sn.split(':')[0];
  const attacker = w.net.addHost('mallory', '203.0.113.99', {});
  // mallory has a real account: what the login server would give her
  const seedM = rnd(32);
  const noiseM = generateX25519();
  const idM = ed25519Public(seedM);
  const nowS = () => Math.floor(w.sched.nowUs / 1e6);
  const certFor = (user: string, opts: { key?: ReturnType<typeof signingKey>; nb?: number; na?: number } = {}) =>
    issueCert(opts.key ?? w.login.signingKey, { user, idPub: idM, noisePub: noiseM.publicKey, notBeforeS: opts.nb ?? nowS(), notAfterS: opts.na ?? nowS() + 3600 });
  const snName = (ip: string) => `sn${Number(ip.split('.')[3]) - 20}`;
  return { w, alice, bob, attacker, seedM, noiseM, idM, certFor, snOf, snName, nowS };
}

/** Connects to the supernode, sends HELLO, returns the peer and the HELLO_ACK challenge. */
function helloTo(s: ReturnType<typeof setup>, snIp: string, channelCert: Uint8Array) {
  const p = new OverlayPeer(s.w, s.attacker, toIp(snIp), SN_PORT, s.noiseM.privateKey, channelCert);
  p.send(MSG_HELLO, new W().u16(40000).u32(toIp('203.0.113.99')).u8(1).u32(toIp('203.0.113.99')).u16(40000).out);
  const ack = p.waitFor(MSG_HELLO_ACK);
  assert.ok(ack, 'HELLO_ACK');
  const n = ack!.body[6];
  const challenge = ack!.body.subarray(7 + 6 * n, 7 + 6 * n + 16);
  assert.equal(challenge.length, 16, 'HELLO_ACK carries a 16-byte challenge');
  return { p, challenge };
}

function publishBody(user: string, devId: number) { return new W().str8(user).u8(1).u32(devId).out; }

function publish(p: OverlayPeer, body: Uint8Array, cert: Uint8Array | null, sign: ((m: Uint8Array) => Uint8Array) | null, challenge: Uint8Array) {
  const w = new W().bytes(body);
  if (cert) w.u16(cert.length).bytes(cert); else w.u16(0);
  if (sign) w.bytes(sign(concat(PUBLISH_CTX, challenge, body)));
  p.send(MSG_PUBLISH, w.out);
}

describe('impersonation (simulated overlay)', () => {
  test('a node without alice\'s certificate and identity key cannot publish presence as alice, and gets none of her calls', () => {
    const s = setup(41);
    const { w } = s;
    try {
      const snA = s.snOf('alice');
      const snNode = s.snName(snA);
      // The attacker learns alice's record (and certificate) by searching, like anyone can.
      const mallory = s.certFor('mallory');
      const { p, challenge } = helloTo(s, snA, mallory);
      p.send(MSG_SEARCH, new W().u32(7).str8('alice').out);
      const sr = p.waitFor(MSG_SEARCH_RESP);
      assert.ok(sr && sr.body[4] === 1, 'alice found');
      const aliceRec = readRecord(sr!.body, 5);
      assert.equal(aliceRec.user, 'alice');
      assert.ok(aliceRec.cert.length > 0, 'records carry the certificate');
      const refusedBefore = w.events.filter((e) => e.node === snNode && e.name === 'sn.publish.refused').length;
      const signM = (m: Uint8Array) => ed25519Sign(s.seedM, m);
      const body = publishBody('alice', aliceRec.devId); // same device address as alice's: would replace her record
      // 1. no certificate at all
      publish(p, body, null, null, challenge);
      // 2. mallory's own valid certificate, claiming alice
      publish(p, body, mallory, signM, challenge);
      // 3. alice's certificate copied from her record, signed with mallory's key
      publish(p, body, aliceRec.cert, signM, challenge);
      // 4. a certificate for alice signed by a key that is not the server's (claiming key id 1)
      publish(p, body, s.certFor('alice', { key: signingKey(1, rnd(32)) }), signM, challenge);
      // 5. an expired certificate
      publish(p, body, s.certFor('alice', { nb: 0, na: s.nowS() - 10 }), signM, challenge);
      w.runUntil(() => false, w.sched.nowUs + 1_000_000);
      const refused = w.events.filter((e) => e.node === snNode && e.name === 'sn.publish.refused').slice(refusedBefore);
      assert.deepEqual(refused.map((e) => e.kv.reason), ['malformed', 'wrong-user', 'signature', 'signature', 'expired']);
      assert.ok(!w.events.some((e) => e.node === snNode && e.name === 'sn.publish' && e.timeUs > refused[0].timeUs && e.kv.user === 'alice'));

      // A replay of alice's real PUBLISH needs her signature over *this* connection's challenge: impossible.
      // Control: mallory publishing as herself, properly, is accepted (the checks above can pass).
      publish(p, publishBody('mallory', 1234), mallory, signM, challenge);
      w.runUntil(() => false, w.sched.nowUs + 500_000);
      assert.ok(w.events.some((e) => e.node === snNode && e.name === 'sn.publish' && e.kv.user === 'mallory'), 'control publish accepted');

      // bob calls alice: it reaches alice, never the attacker.
      const t0 = w.sched.nowUs;
      const rx0 = p.received.length;
      consoleLine(s.bob, 'dial alice');
      assert.ok(w.runUntil(() => w.events.some((e) => e.node === 'alice' && e.name === 'call.incoming' && e.timeUs >= t0), t0 + 15_000_000), 'alice rings');
      assert.ok(!p.received.slice(rx0).some((m) => m.type === MSG_ROUTE), 'the attacker received no call signaling');
      p.close();
    } finally { w.close(); }
  });

  test('records without a valid certificate pushed straight into the distributed index are refused', () => {
    const s = setup(43);
    const { w } = s;
    try {
      const snIp = '198.51.100.21';
      // The attacker speaks the supernodes' sealed datagrams (firmware/sec/dgram.ts) as any supernode may: the
      // seal hides the backbone from eavesdroppers, it does not vouch for records — each is checked on its own.
      const sock = new DgramPeer(s.attacker, 40777, 'attacker');
      const rec = (user: string, cert: Uint8Array) => new W().str8(user).u8(1).u32(toIp('203.0.113.99')).u16(40000)
        .u32(toIp('203.0.113.99')).u16(40000).u32(toIp('203.0.113.99')).u16(40000).u8(3).u16(40000).u32(0xabcdef)
        .u16(cert.length).bytes(cert).out;
      const before = w.events.filter((e) => e.node === 'sn1' && e.name === 'sn.record.refused').length;
      for (const [user, cert] of [
        ['alice', new Uint8Array(0)],
        ['alice', s.certFor('mallory')],
        ['alice', s.certFor('alice', { key: signingKey(1, rnd(32)) })],
        ['alice', s.certFor('alice', { nb: 0, na: s.nowS() - 10 })],
      ] as [string, Uint8Array][]) {
        sock.send(toIp(snIp), SN_PORT, concat(Uint8Array.of(MSG_DHT_STORE), new W().u32(0).out, rec(user, cert)));
      }
      w.runUntil(() => false, w.sched.nowUs + 1_000_000);
      const refused = w.events.filter((e) => e.node === 'sn1' && e.name === 'sn.record.refused').slice(before);
      // (UDP: any order)
      assert.deepEqual(refused.map((e) => e.kv.reason).sort(), ['expired', 'malformed', 'signature', 'wrong-user']);
    } finally { w.close(); }
  });
});
