/**
 * Sealed supernode ↔ supernode datagrams (issue #7, firmware/sec/dgram.ts): the backbone carries the index,
 * the relay hop and held IMs only inside per-peer Noise_XX sessions; a tampered, replayed, forged, unsealed or
 * malformed datagram is dropped and counted, never acted on, and the overlay keeps working.
 *
 *   node --import tsx --test tests/security/security-dgram.test.ts   (after `npm run build`)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { backboneWorld, type World } from '../../host-sim/world.js';
import { attachPhone } from '../../host-sim/presets.js';
import { DgramPeer, DGRAM_DATA } from '../../host-sim/dgram-peer.js';
import { SearchClient, type SearchOutcome } from '../../host-sim/scale-client.js';
import type { CapturedPacket } from '../../host-sim/net/types.js';

const SN_PORT = 33033;
const MSG_DHT_FIND = 0x30, MSG_DHT_FOUND = 0x31;

/** The supernode's `dgram …` counters from its console `stats`. */
function dgramStats(w: World, name: string): Record<string, number> {
  const n = w.node(name);
  const before = n.uart.text().length;
  n.uartInput(new TextEncoder().encode('stats\r'));
  w.runUntil(() => false, w.sched.nowUs + 10_000);
  const line = n.uart.text().slice(before).split('\n').find((l) => l.startsWith('dgram '));
  assert.ok(line, `${name} prints dgram counters`);
  const out: Record<string, number> = {};
  for (const kv of line!.trim().split(' ').slice(1)) { const [k, v] = kv.split('='); out[k] = +v; }
  return out;
}

/** DHT_FIND [txid u32][target u64][wantValue u8][name str8] for `name`'s record. */
function find(txid: number, name: string): Uint8Array {
  const key = createHash('sha256').update(name).digest().subarray(0, 8);
  return Uint8Array.from([MSG_DHT_FIND, txid >>> 24, (txid >> 16) & 255, (txid >> 8) & 255, txid & 255, ...key, 1, name.length, ...Buffer.from(name)]);
}

test('sealed backbone: tampered, replayed, forged, unsealed and malformed supernode datagrams are rejected and counted; the index keeps working', () => {
  const w = backboneWorld(81);
  try {
    const captured: CapturedPacket[] = [];
    const snIps = new Set(w.supernodes.map((s) => s.ip >>> 0));
    w.net.addTap((p) => { if (p.proto === 'udp' && snIps.has(p.srcIp >>> 0) && snIps.has(p.dstIp >>> 0)) captured.push({ ...p, payload: Uint8Array.from(p.payload) }); });
    attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-81', register: true }, 1_000_000);
    assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok'), 30_000_000), 'alice logs in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);

    // Every UDP datagram between supernodes is sealed (or the name-free NAT_TEST_FWD), none names alice.
    assert.ok(captured.length > 10, `${captured.length} datagrams between supernodes`);
    const types = new Set(captured.map((p) => p.payload[0]));
    for (const t of types) assert.ok((t >= 0x37 && t <= 0x3b) || t === 0x0a, `type 0x${t.toString(16)} on the backbone is sealed`);
    assert.ok(captured.every((p) => Buffer.from(p.payload).indexOf(Buffer.from('alice')) < 0), 'no user name between supernodes');

    // mallory speaks the sealed protocol (as any supernode can) and gets answers: the control.
    const sn1 = w.supernodes[0];
    const mallory = new DgramPeer(w.net.addHost('mallory', '198.51.100.66'), SN_PORT, 'mallory');
    const found: Uint8Array[] = [];
    mallory.onMessage = (_ip, _port, m) => { if (m[0] === MSG_DHT_FOUND) found.push(m); };
    mallory.send(sn1.ip, sn1.port, find(1, 'alice'));
    w.runUntil(() => found.length > 0, w.sched.nowUs + 1_000_000);
    assert.equal(found.length, 1, 'a sealed DHT_FIND is answered');
    mallory.send(sn1.ip, sn1.port, find(2, 'alice'));
    w.runUntil(() => found.length > 1, w.sched.nowUs + 1_000_000);
    assert.equal(found.length, 2, 'a second one on the same session too');
    const data = mallory.sent.filter((s) => s.data[0] === DGRAM_DATA);
    assert.equal(data.length, 1, 'the second FIND went as DATA on the established session');
    const good = data[0].data;

    const s0 = dgramStats(w, 'sn1');
    const before = found.length;
    // 1. Replays: the same DATA again, three times.
    for (let i = 0; i < 3; i++) mallory.raw(sn1.ip, sn1.port, good);
    // 2. Tampering: a new counter (not a replay) with the ciphertext, the header or the tag altered.
    const alter = (ctr: number, at: number) => {
      const d = Uint8Array.from(good);
      d[5] = ctr >>> 24; d[6] = (ctr >> 16) & 255; d[7] = (ctr >> 8) & 255; d[8] = ctr & 255;
      if (at >= 0) d[at] ^= 0x01;
      return d;
    };
    mallory.raw(sn1.ip, sn1.port, alter(50, 12));              // ciphertext
    mallory.raw(sn1.ip, sn1.port, alter(51, good.length - 1)); // tag
    mallory.raw(sn1.ip, sn1.port, alter(52, -1));              // counter changed: the nonce and the header no longer match
    // 3. Forgeries: a session that does not exist; a REPLY and a FIRST for sessions never started.
    const forged = Uint8Array.from(good); forged[1] ^= 0xff;
    mallory.raw(sn1.ip, sn1.port, forged);
    mallory.raw(sn1.ip, sn1.port, Uint8Array.from({ length: 105 }, (_, i) => (i === 0 ? 0x38 : (i * 37) & 255)));
    mallory.raw(sn1.ip, sn1.port, Uint8Array.from({ length: 120 }, (_, i) => (i === 0 ? 0x39 : (i * 53) & 255)));
    // 4. Unsealed backbone messages (DHT_FIND, DHT_STORE, DHT_IM_GET, RELAY between supernodes).
    const plain = [find(3, 'alice'), Uint8Array.of(0x32, 0, 0, 0, 0, 5, ...Buffer.from('alice')), Uint8Array.of(0x68, 0, 0, 0, 9, 5, ...Buffer.from('alice')),
      Uint8Array.of(0x06, 1, 5, ...Buffer.from('alice'), 0, 0, 0, 1, 0x80, 0, 0, 1)];
    const hostSock = w.net.addHost('plain', '198.51.100.68').udpBind(40001, () => { found.push(new Uint8Array(1)); });
    for (const m of plain) hostSock.send(sn1.ip, sn1.port, m);
    // 5. Malformed datagrams of the layer itself.
    for (const m of [Uint8Array.of(0x37, 1, 2), Uint8Array.of(0x38), Uint8Array.of(0x39, 0, 0, 0, 1), Uint8Array.of(0x3a, 0, 0, 0, 1, 0, 0, 0, 0), Uint8Array.of(0x3b, 1)]) {
      mallory.raw(sn1.ip, sn1.port, m);
    }
    w.runUntil(() => false, w.sched.nowUs + 1_000_000);
    const s1 = dgramStats(w, 'sn1');
    const d = (k: string) => s1[k] - s0[k];
    assert.equal(found.length, before, 'none of them was answered');
    assert.equal(d('replay'), 3, `replays counted: ${JSON.stringify(s1)}`);
    assert.equal(d('authFail'), 3, 'tampered datagrams counted');
    assert.equal(d('unknownSession'), 3, 'forged sessions counted');
    assert.equal(d('plainDropped'), plain.length, 'unsealed backbone messages dropped');
    assert.equal(d('malformed'), 5, 'malformed datagrams counted');
    assert.ok(mallory.resets >= 1, 'DATA for an unknown session is answered with RESET');
    assert.equal(w.node('sn1').crash, null, 'sn1 did not crash');

    // An on-path attacker between two supernodes: sn2's sealed datagrams to sn1 duplicated and bit-flipped in flight.
    const sn2 = w.node('sn2') as unknown as { udp: Map<number, { send(ip: number, port: number, d: Uint8Array): boolean }> };
    let dup = 0, flipped = 0;
    for (const sock of sn2.udp.values()) {
      const send = sock.send.bind(sock);
      sock.send = (ip, port, data) => {
        if ((ip >>> 0) !== (sn1.ip >>> 0) || data[0] !== DGRAM_DATA) return send(ip, port, data);
        // A bit flipped (under a counter far ahead, so it cannot count as a replay whatever the arrival order)…
        const t = Uint8Array.from(data); t[10] ^= 0x80; t[5] ^= 0x40; flipped++;
        send(ip, port, t);
        // …and the genuine datagram twice.
        send(ip, port, data); dup++;
        return send(ip, port, data);
      };
    }
    const s2 = dgramStats(w, 'sn1');
    // Searches from every supernode make them talk (index lookups, search caching).
    const outs: SearchOutcome[] = [];
    for (const [i, s] of w.supernodes.entries()) {
      const c = new SearchClient(w.net.addHost(`sc${i}`, `47.0.0.${i + 1}`, { link: w.accessLink }), w.sched, s.ip, s.port);
      c.search('alice', (o) => outs.push(o));
      c.search(`nobody${i}`, (o) => outs.push(o));
    }
    w.runUntil(() => outs.length >= 2 * w.supernodes.length, w.sched.nowUs + 15_000_000);
    const s3 = dgramStats(w, 'sn1');
    assert.ok(dup > 0, `${dup} datagrams from sn2 to sn1 attacked in flight`);
    assert.equal(s3.replay - s2.replay, dup, 'every duplicate refused as a replay');
    assert.equal(s3.authFail - s2.authFail, flipped, 'every flipped one refused');
    for (const o of outs) assert.ok(o.result === (o.name === 'alice' ? 'online' : 'unknown'), `search ${o.name}: ${o.result}`);
  } finally { w.close(); }
});

test('sealed backbone: a supernode that lost its sessions (reboot) is reached again through a new handshake', () => {
  const w = backboneWorld(82);
  try {
    attachPhone(w, 'alice', 'public', { user: 'alice', password: 'alice-pass-82', register: true }, 1_000_000);
    assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok'), 30_000_000), 'alice logs in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    const mallory = new DgramPeer(w.net.addHost('peer', '198.51.100.66'), SN_PORT, 'peer');
    const found: Uint8Array[] = [];
    mallory.onMessage = (_ip, _port, m) => { if (m[0] === MSG_DHT_FOUND) found.push(m); };
    const sn3 = w.supernodes[2];
    mallory.send(sn3.ip, sn3.port, find(1, 'alice'));
    w.runUntil(() => found.length > 0, w.sched.nowUs + 1_000_000);
    assert.equal(found.length, 1);
    // sn3 reboots: its sessions are gone. Our next DATA gets a RESET, the one after goes through a new handshake.
    w.node('sn3').powerOff();
    w.runUntil(() => false, w.sched.nowUs + 100_000);
    w.node('sn3').reboot();
    w.runUntil(() => false, w.sched.nowUs + 8_000_000);
    mallory.send(sn3.ip, sn3.port, find(2, 'alice'));
    w.runUntil(() => mallory.resets > 0, w.sched.nowUs + 1_000_000);
    assert.equal(mallory.resets, 1, 'the rebooted supernode answered RESET');
    assert.equal(mallory.ready(sn3.ip, sn3.port), false, 'the session was dropped');
    mallory.send(sn3.ip, sn3.port, find(3, 'alice'));
    w.runUntil(() => found.length > 1, w.sched.nowUs + 1_000_000);
    assert.equal(found.length, 2, 'answered after a new handshake');
    // The supernodes among themselves: a search at the rebooted supernode works (its peers' old sessions reset).
    let out: SearchOutcome | undefined;
    const c = new SearchClient(w.net.addHost('sc', '47.0.0.9', { link: w.accessLink }), w.sched, sn3.ip, sn3.port);
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    c.search('alice', (o) => { out = o; });
    w.runUntil(() => out !== undefined, w.sched.nowUs + 10_000_000);
    assert.equal(out?.result, 'online', `search at the rebooted supernode: ${out?.result}`);
  } finally { w.close(); }
});

/** How a user name appears in our messages: str8 (records, certificates, requests) or a routing address `user/…`. */
function nameForms(name: string): Buffer[] {
  return [Buffer.concat([Buffer.from([name.length]), Buffer.from(name)]), Buffer.from(name + '/')];
}

test('an eavesdropper on every link — phones, supernodes, login server — sees no user name through buddies, directory and prefix searches, offline IMs and a relayed call', () => {
  const w = backboneWorld(83);
  try {
    const captured: CapturedPacket[] = [];
    w.net.addTap((p) => captured.push({ ...p, payload: Uint8Array.from(p.payload) }));
    const line = (n: string, l: string) => w.node(n).uartInput(new TextEncoder().encode(l + '\r'));
    const since = (n: string, name: string, t: number, kv: Record<string, string> = {}) =>
      w.events.find((e) => e.node === n && e.name === name && e.timeUs >= t && Object.entries(kv).every(([k, v]) => e.kv[k] === v));
    attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-83', register: true, codecs: ['pcmu'] }, 1_000_000);
    attachPhone(w, 'bob', 'symmetric', { user: 'bob', password: 'bob-pass-83', register: true, codecs: ['pcmu'] }, 1_000_000);
    attachPhone(w, 'carol', 'port-restricted-cone', { user: 'carol', password: 'carol-pass-83', register: true }, 1_000_000);
    assert.ok(w.runUntil(() => ['alice', 'bob', 'carol'].every((n) => w.find(n, 'login.ok')), 40_000_000), 'all log in');
    const snOf = (n: string) => w.find(n, 'login.ok')!.kv.sn;
    // Buddies (login-server ops, presence pushes, BUDDY_WATCH).
    let t = w.sched.nowUs;
    line('alice', 'buddies add bob');
    assert.ok(w.runUntil(() => !!since('bob', 'buddy.request', t), t + 10_000_000), 'bob gets the buddy request');
    line('bob', 'buddies accept alice');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    // A directory lookup for a name no supernode holds, and a prefix search (SN → login server).
    t = w.sched.nowUs;
    line('alice', 'im nobodyzz hello');
    line('alice', 'find ca*');
    assert.ok(w.runUntil(() => !!since('alice', 'search.prefix', t), t + 10_000_000), 'prefix search answered');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    // An offline IM: held at carol's index supernodes (DHT_IM_STORE), fetched at her next login (DHT_IM_GET/HELD).
    w.node('carol').powerOff();
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    t = w.sched.nowUs;
    line('alice', 'im carol see-you-later');
    assert.ok(w.runUntil(() => !!since('alice', 'im.held', t) || !!w.events.find((e) => e.name === 'sn.im.hold' && e.timeUs >= t), t + 15_000_000), 'the IM is held');
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    t = w.sched.nowUs;
    w.node('carol').reboot();
    assert.ok(w.runUntil(() => !!since('carol', 'im.recv', t), t + 30_000_000), 'carol gets the held IM after logging in again');
    // A call with no direct path (relayed through the supernodes), then bob leaves (buddy push through the SNs).
    const snIps = new Set(w.supernodes.map((s) => s.ip));
    w.net.addFault((p) => p.proto === 'udp' && (p.from === 'alice' || p.from === 'bob') && !snIps.has(p.dstIp));
    t = w.sched.nowUs;
    line('alice', 'dial bob');
    assert.ok(w.runUntil(() => !!since('bob', 'call.incoming', t), t + 10_000_000), 'bob rings');
    line('bob', 'key offhook');
    w.runUntil(() => false, w.sched.nowUs + 4_000_000);
    line('alice', 'hangup');
    w.runUntil(() => false, w.sched.nowUs + 1_000_000);
    w.node('bob').powerOff();
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);

    const links = new Set(captured.map((p) => [p.srcIp >>> 0, p.dstIp >>> 0].sort().join('-')));
    const backboneUdp = captured.filter((p) => p.proto === 'udp' && snIps.has(p.srcIp) && snIps.has(p.dstIp));
    assert.ok(backboneUdp.some((p) => p.payload[0] === 0x3a), 'sealed DATA between supernodes');
    const loginIp = 0xc633640a; // 198.51.100.10 (backboneWorld)
    const login = captured.filter((p) => (p.srcIp >>> 0) === loginIp || (p.dstIp >>> 0) === loginIp);
    assert.ok(login.length > 10, `${login.length} packets to/from the login server`);
    for (const name of ['alice', 'bob', 'carol', 'nobodyzz']) {
      for (const form of nameForms(name)) {
        const hits = captured.filter((p) => Buffer.from(p.payload).indexOf(form) >= 0)
          .map((p) => `${p.proto} ${p.srcIp >>> 0}:${p.srcPort} → ${p.dstIp >>> 0}:${p.dstPort} [0x${p.payload[0]?.toString(16)}]`);
        assert.deepEqual(hits.slice(0, 5), [], `${name} on no link (${captured.length} packets on ${links.size} links; alice at ${snOf('alice')})`);
      }
    }
    for (const pw of ['alice-pass-83', 'bob-pass-83', 'carol-pass-83']) {
      assert.ok(captured.every((p) => Buffer.from(p.payload).indexOf(Buffer.from(pw)) < 0), `${pw} on no link`);
    }
  } finally { w.close(); }
});
