// Issue #8, instant messages (firmware/im/): in order, exactly once, with receipts, over direct UDP (lossy) and
// through the supernodes; unicode and long messages; the documented limit; malformed messages dropped and
// counted; offline messages held sealed (ciphertext only) at the index supernodes, delivered after 26 h with sealed
// receipts, refused for a user never seen, rejected when a holder alters them, expired after 72 h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backboneWorld, type World } from '../../host-sim/world.js';
import { natPresets, firewallPresets } from '../../host-sim/net/network.js';
import { toIp } from '../../host-sim/net/ip.js';
import type { FirmwareNode } from '../../host-sim/firmware.js';
import { eventsOf, imCommand, textSha, typeLine, waitFor, multiloginWorld, IM_TEXTS } from '../../host-sim/scenarios/multilogin.js';
import { runOfflineIm } from '../../host-sim/scenarios/offline-im.js';

const BOB_IP = '198.51.100.50';

/** alice behind a NAT; bob public (direct UDP), `bobLoss` packet loss on his access link; carol behind a UDP-blocking firewall. */
function imWorld(seed: number, bobLoss = 0): { w: World; alice: FirmwareNode; bob: FirmwareNode; carol: FirmwareNode } {
  const w = backboneWorld(seed, 3);
  const nat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
  const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
  const bob = w.addNode('bob', BOB_IP, { user: 'bob', password: 'bob-secret-22', register: true }, { bootAtUs: 1_000_000, link: { delayUs: 2_500, jitterUs: 1_000, loss: bobLoss } });
  const fw = w.net.addFirewall('carol-fw', { ...firewallPresets['udp-blocked'] });
  const carol = w.addNode('carol', '198.51.100.60', { user: 'carol', password: 'carol-secret-3', register: true }, { behind: fw, bootAtUs: 1_000_000 });
  for (const n of ['alice', 'bob', 'carol']) assert.ok(waitFor(w, n, 'login.ok', {}, 0, 60_000_000), `${n} logged in`);
  w.runUntil(() => false, w.sched.nowUs + 3_000_000);
  return { w, alice, bob, carol };
}

function consoleReply(w: World, n: FirmwareNode, line: string): string {
  const before = n.uart.out.length;
  typeLine(n, line);
  w.runUntil(() => false, w.sched.nowUs + 50_000);
  return Buffer.from(n.uart.out.slice(before)).toString('utf8');
}

/** Sends `texts` from alice to `to`, 50 ms apart, and runs until every receipt is in (or 60 s). */
function sendAll(w: World, alice: FirmwareNode, to: string, texts: string[]): number {
  const t0 = w.sched.nowUs;
  texts.forEach((t, i) => w.sched.at(t0 + 50_000 * (i + 1), () => typeLine(alice, imCommand(to, t))));
  w.runUntil(() => eventsOf(w, 'alice', 'im.receipt', t0).length >= texts.length, t0 + 60_000_000);
  w.runUntil(() => false, w.sched.nowUs + 5_000_000); // late duplicates, if any, would show now
  return t0;
}

function assertDelivered(w: World, from: string, to: string, texts: string[], t0: number): void {
  const ids = eventsOf(w, from, 'im.send', t0).map((e) => e.kv.msgId);
  assert.equal(ids.length, texts.length);
  const got = eventsOf(w, to, 'im.recv', t0);
  assert.deepEqual(got.map((e) => e.kv.msgId), ids, 'every message once, in the order sent');
  assert.deepEqual(got.map((e) => e.kv.sha), texts.map(textSha), 'content intact');
  const receipts = eventsOf(w, from, 'im.receipt', t0);
  assert.deepEqual(receipts.map((e) => e.kv.msgId).sort(), [...ids].sort(), 'one delivery receipt per message');
}

test('IMs arrive in order, exactly once, with receipts — direct UDP with 20 % loss, and through the supernodes', () => {
  const { w, alice, bob } = imWorld(3, 0.2);
  const texts = Array.from({ length: 12 }, (_, i) => `message ${i + 1} of 12`);
  let t0 = sendAll(w, alice, 'bob', texts);
  assertDelivered(w, 'alice', 'bob', texts, t0);
  assert.ok(eventsOf(w, 'alice', 'im.sent', t0).every((e) => e.kv.via === 'direct'), 'bob is public: direct UDP');
  const stats = consoleReply(w, bob, 'im');
  assert.ok(+(/dup=(\d+)/.exec(stats)![1]) > 0, `lost acknowledgements made the sender retransmit, and bob dropped the copies (${stats.trim()})`);
  t0 = sendAll(w, alice, 'carol', texts.slice(0, 5));
  assertDelivered(w, 'alice', 'carol', texts.slice(0, 5), t0);
  assert.ok(eventsOf(w, 'alice', 'im.sent', t0).every((e) => e.kv.via === 'sn'), 'carol has no UDP: through the supernodes');
});

test('unicode and long messages (fragmented) arrive intact; the 4000-byte limit is enforced', () => {
  const { w, alice } = imWorld(4);
  const long = Array.from({ length: 4000 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('');
  const texts = ['Grüße — 你好 — こんにちは — 🙂📞 — ẞ', '€', long];
  const t0 = sendAll(w, alice, 'bob', texts);
  assertDelivered(w, 'alice', 'bob', texts, t0);
  assert.equal(eventsOf(w, 'alice', 'im.send', t0).at(-1)!.kv.frags, '4', '4000 bytes go as four 1000-byte fragments');
  assert.match(consoleReply(w, alice, `im bob ${long}x`), /error: message empty or longer than 4000 bytes/);
  assert.match(consoleReply(w, alice, 'imx bob c328'), /error: not valid UTF-8/);
});

/** An IM datagram as firmware/im/im.ts writes it (docs/protocol.md §Instant messages). */
function imDatagram(o: { from?: string; to?: string; seq: number; base?: number; msgId?: number; idx?: number; count?: number; body: Buffer; flags?: number }): Buffer {
  const str8 = (s: string) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([Buffer.from([b.length]), b]); };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
  const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  return Buffer.concat([
    Buffer.from([0x61, o.flags ?? 0]), str8(o.from ?? 'mallory/0badf00d'), u32(0), u16(0), u32(0), u16(0), str8(o.to ?? 'bob'),
    u32(o.seq), u32(o.base ?? o.seq), u32(o.msgId ?? o.seq), Buffer.from([o.idx ?? 0, o.count ?? 1]), u16(o.body.length), o.body,
  ]);
}

test('malformed IMs are dropped and counted, never shown; a well-formed one from the same sender still arrives', () => {
  const { w, bob } = imWorld(5);
  const host = w.net.addHost('mallory', '198.51.100.66', { link: w.accessLink });
  const sock = host.udpBind(0, () => {});
  const port = +(w.find('bob', 'boot')!.kv.addr.split(':')[1]);
  const good = imDatagram({ seq: 10, body: Buffer.from('ok after the junk') });
  const bad: Buffer[] = [
    good.subarray(0, 20),                                                    // truncated
    imDatagram({ seq: 5, count: 0, body: Buffer.from('x') }),                // no fragments
    imDatagram({ seq: 6, idx: 3, count: 2, body: Buffer.from('x') }),         // fragment index out of range
    imDatagram({ seq: 7, count: 9, body: Buffer.from('x') }),                // more fragments than the limit
    imDatagram({ seq: 8, body: Buffer.from([0xff, 0xfe, 0x41]) }),           // invalid UTF-8
    imDatagram({ seq: 9, body: Buffer.from([0xed, 0xa0, 0x80]) }),           // a UTF-16 surrogate in UTF-8
    imDatagram({ seq: 11, base: 12, body: Buffer.from('x') }),               // base after seq
    imDatagram({ from: 'no-device-part', seq: 12, body: Buffer.from('x') }), // sender without a device id
    imDatagram({ seq: 13, body: Buffer.alloc(1001, 0x41) }),                 // fragment longer than 1000 bytes
  ];
  const before = consoleReply(w, bob, 'im');
  const m0 = +(/malformed=(\d+)/.exec(before)![1]);
  for (const b of bad) sock.send(toIp(BOB_IP), port, b);
  w.runUntil(() => false, w.sched.nowUs + 500_000);
  sock.send(toIp(BOB_IP), port, good);
  w.runUntil(() => false, w.sched.nowUs + 500_000);
  const after = consoleReply(w, bob, 'im');
  assert.equal(+(/malformed=(\d+)/.exec(after)![1]) - m0, bad.length, 'each malformed IM counted');
  const recv = eventsOf(w, 'bob', 'im.recv');
  assert.equal(recv.length, 1, 'only the well-formed IM is shown');
  assert.equal(recv[0].kv.sha, textSha('ok after the junk'));
  assert.match(after, /mallory: ok after the junk/);
  assert.equal(bob.crash, null);
  sock.send(toIp(BOB_IP), port, good); // the same datagram again: a duplicate, not shown twice
  w.runUntil(() => false, w.sched.nowUs + 500_000);
  assert.equal(eventsOf(w, 'bob', 'im.recv').length, 1);
});

test('offline IMs are held sealed at the index supernodes: delivered after 26 h, in order, once, sealed receipts; expired after 72 h', () => {
  const r = runOfflineIm({ seed: 2, outDir: '/tmp' });
  assert.deepEqual(r.failures, []);
  assert.equal(r.held, 4);
  assert.equal(r.holders, 3, 'held by the k closest supernodes (all three here)');
  assert.deepEqual(r.im!.perDevice.bob, { received: 3, inOrder: true, exactlyOnce: true, contentOk: true });
  assert.equal(r.im!.receipts, 3, 'the sender gets a receipt for each held message');
  assert.ok(r.afterLoginMs.every((v) => v < 5_000), `delivered ${r.afterLoginMs.join(', ')} ms after login`);
  assert.deepEqual(r.expiry, { offlineHours: 73, delivered: 0, expiredAtHolders: true });
  // Issue #7 gap 2: what the holders store (their firmware's own dump) holds no IM text, and nothing in clear was offered.
  const d = r.dump!;
  assert.equal(d.textFound, false, 'no held copy contains a text or a 12-byte run of one');
  assert.equal(d.refusedClear, 0);
  assert.deepEqual(Object.values(d.copies), [6, 6, 6], 'each holder: 1 + 1 + 3 + 1 fragment copies for bob');
  assert.ok(d.copyBytes.every((n) => n > 48 + 48 + 16), 'every copy carries a Noise_X seal');
  // the receipts went back sealed; none crossed the supernodes in clear
  assert.equal(r.sealedReceipts, 4);
  assert.equal(r.clearReceiptsForwarded, 0);
  // bob's certificate had expired when alice sent the last one: sealed to the key of his 72 h record anyway
  assert.deepEqual(r.expiredCert, { sentAfterHours: 25, held: true, delivered: true, receipt: true });
  // dave was never seen: no key, nothing held, alice's phone says so
  assert.deepEqual(r.neverSeen, { failed: true, reason: 'never-seen', shown: true });
  for (const h of r.heldBytes) assert.ok(h.sealed > h.clear && h.sealed - h.clear < 300 * Math.ceil(h.text / 1000), JSON.stringify(h));
});

test('a holder that alters the held copies: bob rejects and counts each, and still gets every IM once from the other holders', () => {
  const r = runOfflineIm({ seed: 3, outDir: '/tmp', noExpiry: true, tamper: 'sn2' });
  assert.deepEqual(r.failures, []);
  assert.ok(r.tampered!.copies >= 6, `sn2 altered ${r.tampered!.copies} copies`);
  assert.equal(r.tampered!.rejectedByBob, 6, 'each of bob\'s 6 altered copies rejected (seal) and counted');
  assert.deepEqual(r.im!.perDevice.bob, { received: 3, inOrder: true, exactlyOnce: true, contentOk: true });
  assert.equal(r.im!.receipts, 3);
  assert.equal(r.expiredCert!.delivered, true);
});

test('held IMs for a user with three devices, all off: sealed to each; each device that returns gets its own copies, in order, once, with receipts', () => {
  const { w, alice, bobs } = multiloginWorld(11);
  try {
    w.runUntil(() => ['alice', 'bob1', 'bob2', 'bob3'].every((n) => w.find(n, 'login.ok')), 30_000_000);
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    for (const b of bobs) b.powerOff();
    w.runUntil(() => w.events.filter((e) => e.name === 'sn.offline' && e.kv.user === 'bob').length >= 3, w.sched.nowUs + 400_000_000);
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const t0 = w.sched.nowUs;
    IM_TEXTS.forEach((t, i) => w.sched.at(t0 + 200_000 * (i + 1), () => typeLine(alice, imCommand('bob', t))));
    w.runUntil(() => eventsOf(w, 'alice', 'im.held', t0).length >= IM_TEXTS.length, t0 + 20_000_000);
    const held = eventsOf(w, 'alice', 'im.held', t0);
    assert.deepEqual(held.map((e) => e.kv.devices), ['3', '3', '3'], 'each message sealed to all three devices');
    const ids = eventsOf(w, 'alice', 'im.send', t0).map((e) => e.kv.msgId);
    const back = (n: number, name: string, hours: number) => {
      const at = t0 + hours * 3600e6;
      w.runUntil(() => false, at);
      bobs[n].reboot();
      const login = waitFor(w, name, 'login.ok', {}, at, 60_000_000);
      assert.ok(login, `${name} logged in`);
      w.runUntil(() => false, login!.timeUs + 10_000_000);
      return eventsOf(w, name, 'im.recv', login!.timeUs);
    };
    for (const [k, [n, name, h]] of ([[0, 'bob1', 2], [2, 'bob3', 5]] as [number, string, number][]).entries()) {
      const got = back(n, name, h);
      assert.deepEqual(got.map((e) => e.kv.msgId), ids, `${name}: every message once, in order`);
      assert.deepEqual(got.map((e) => e.kv.sha), IM_TEXTS.map(textSha));
      const st = consoleReply(w, bobs[n], 'im');
      assert.match(st, /sealfail=0\b/, `${name} got only its own copies (${st.trim()})`);
      const receipts = eventsOf(w, 'alice', 'im.receipt', t0);
      assert.equal(receipts.length, (k + 1) * IM_TEXTS.length, `${name}'s receipts reached alice`);
      assert.equal(new Set(receipts.map((e) => e.kv.to)).size, k + 1, 'one device more acknowledged');
    }
    const receipts = eventsOf(w, 'alice', 'im.receipt', t0);
    assert.equal(receipts.length, 2 * IM_TEXTS.length, 'one sealed receipt per message and returning device');
    assert.ok(receipts.every((e) => e.kv.sealed === '1'));
    assert.equal(new Set(receipts.map((e) => e.kv.to)).size, 2);
    // bob1 again: the held copies are still there (72 h), but its persisted window shows none twice
    const again = back(0, 'bob1', 7);
    assert.equal(again.length, 0, 'no message shown twice after another reboot');
  } finally { w.close(); }
});

test('one device online, two off: the online one gets the IM live, each one that is off a sealed held copy — every device once', () => {
  const { w, alice, bobs } = multiloginWorld(13);
  try {
    w.runUntil(() => ['alice', 'bob1', 'bob2', 'bob3'].every((n) => w.find(n, 'login.ok')), 30_000_000);
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    bobs[1].powerOff(); bobs[2].powerOff();
    w.runUntil(() => w.events.filter((e) => e.name === 'sn.offline' && e.kv.user === 'bob').length >= 2, w.sched.nowUs + 400_000_000);
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const t0 = w.sched.nowUs;
    const text = 'to every phone of yours';
    typeLine(alice, imCommand('bob', text));
    assert.ok(waitFor(w, 'bob1', 'im.recv', {}, t0, 10_000_000), 'bob1 (online) got it live');
    const sent = eventsOf(w, 'alice', 'im.sent', t0);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].kv.devices, '1');
    const held = eventsOf(w, 'alice', 'im.held', t0);
    assert.equal(held.length, 1);
    assert.equal(held[0].kv.devices, '2', 'a sealed copy held for each of the two phones that are off');
    assert.equal(eventsOf(w, 'alice', 'im.failed', t0).length, 0);
    for (const [n, name] of [[1, 'bob2'], [2, 'bob3']] as [number, string][]) {
      const at = w.sched.nowUs + 3600e6;
      w.runUntil(() => false, at);
      bobs[n].reboot();
      const login = waitFor(w, name, 'login.ok', {}, at, 60_000_000);
      assert.ok(login);
      w.runUntil(() => false, login!.timeUs + 10_000_000);
      const got = eventsOf(w, name, 'im.recv', login!.timeUs);
      assert.deepEqual(got.map((e) => [e.kv.sha, e.kv.held]), [[textSha(text), '1']], `${name} got its held copy once`);
    }
    assert.equal(eventsOf(w, 'bob1', 'im.recv', t0).length, 1, 'bob1 not twice');
    const receipts = eventsOf(w, 'alice', 'im.receipt', t0);
    assert.equal(receipts.length, 3, 'a receipt from each device');
    assert.equal(receipts.filter((e) => e.kv.sealed === '1').length, 2, 'the two held copies acknowledged sealed');
  } finally { w.close(); }
});

test('a rogue supernode pushing held copies: one in clear is refused by the holders; a forged sealed one is rejected and counted by bob', async () => {
  const { DgramPeer } = await import('../../host-sim/dgram-peer.js');
  const { SN_PORT } = await import('../../host-sim/world.js');
  const { w, bob } = imWorld(12);
  try {
    bob.powerOff();
    w.runUntil(() => w.events.some((e) => e.name === 'sn.offline' && e.kv.user === 'bob'), w.sched.nowUs + 400_000_000);
    const addr = w.events.find((e) => e.name === 'sn.offline' && e.kv.user === 'bob')!.kv.addr;
    assert.match(addr, /^bob\/[0-9a-f]{8}$/, "bob's device address");
    const host = w.net.addHost('rogue-sn', '198.51.100.99', { link: w.accessLink });
    const peer = new DgramPeer(host, SN_PORT, 'rogue');
    const store = (inner: Buffer) => {
      const user = Buffer.from('bob');
      const body = Buffer.concat([Buffer.from([0x67, 0, 0, 0, 0, user.length]), user, Buffer.from([inner.length >> 8, inner.length & 255]), inner]);
      for (const ip of ['198.51.100.21', '198.51.100.22', '198.51.100.23']) peer.send(toIp(ip), SN_PORT, body);
    };
    const t0 = w.sched.nowUs;
    store(imDatagram({ flags: 4, from: 'alice/0badf00d', to: 'bob', seq: 5, body: Buffer.from('held in clear by a rogue') }));
    store(imDatagram({ flags: 6, from: 'alice/0badf00d', to: addr, seq: 7, body: Buffer.alloc(300, 0x5a) }));
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const refused = w.events.filter((e) => e.name === 'sn.im.refused' && e.timeUs >= t0);
    assert.equal(refused.length, 3, 'each holder refused the clear copy');
    assert.ok(refused.every((e) => e.kv.reason === 'clear'));
    bob.reboot();
    const login = waitFor(w, 'bob', 'login.ok', {}, t0, 60_000_000);
    assert.ok(login);
    w.runUntil(() => false, login!.timeUs + 5_000_000);
    assert.equal(eventsOf(w, 'bob', 'im.recv', login!.timeUs).length, 0, 'nothing shown');
    const dropped = eventsOf(w, 'bob', 'im.dropped', login!.timeUs);
    assert.equal(dropped.length, 1, 'the forged copy (identical at the three holders) reached bob once and was rejected');
    assert.equal(dropped[0].kv.reason, 'seal');
    assert.match(consoleReply(w, bob, 'im'), /sealfail=1\b/);
  } finally { w.close(); }
});

test('IMs are sealed end to end to each device: the text never crosses a link in clear', async () => {
  const fs = await import('node:fs');
  const { capturePcap } = await import('../../host-sim/pcap.js');
  const { w, alice } = imWorld(6);
  const file = `/tmp/im-seal-${process.pid}.pcap`;
  const stop = capturePcap(w.net, file);
  const secret = 'the-launch-code-is-7421';
  const t0 = sendAll(w, alice, 'bob', [secret]);
  assertDelivered(w, 'alice', 'bob', [secret], t0);
  const t1 = sendAll(w, alice, 'carol', [secret]); // through the supernodes
  assertDelivered(w, 'alice', 'carol', [secret], t1);
  stop();
  const wire = fs.readFileSync(file);
  fs.unlinkSync(file);
  assert.equal(wire.includes(Buffer.from(secret)), false, 'no packet on any link carries the text');
  const bob = w.node('bob');
  assert.match(consoleReply(w, bob, 'im'), /sealed=1\b/);
});
