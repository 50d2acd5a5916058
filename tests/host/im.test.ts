// Issue #8, instant messages (firmware/im/): in order, exactly once, with receipts, over direct UDP (lossy) and
// through the supernodes; unicode and long messages; the documented limit; malformed messages dropped and
// counted; offline messages held at the index supernodes, delivered after 24 h, expired after 72 h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backboneWorld, type World } from '../../host-sim/world.js';
import { natPresets, firewallPresets } from '../../host-sim/net/network.js';
import { toIp } from '../../host-sim/net/ip.js';
import type { FirmwareNode } from '../../host-sim/firmware.js';
import { eventsOf, imCommand, textSha, typeLine, waitFor } from '../../host-sim/scenarios/multilogin.js';
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

test('offline IMs are held at the index supernodes: delivered after 24 h, in order, once; expired after 72 h', () => {
  const r = runOfflineIm({ seed: 2, outDir: '/tmp' });
  assert.deepEqual(r.failures, []);
  assert.equal(r.held, 4);
  assert.equal(r.holders, 3, 'held by the k closest supernodes (all three here)');
  assert.deepEqual(r.im!.perDevice.bob, { received: 3, inOrder: true, exactlyOnce: true, contentOk: true });
  assert.equal(r.im!.receipts, 3, 'the sender gets a receipt for each held message');
  assert.ok(r.afterLoginMs.every((v) => v < 5_000), `delivered ${r.afterLoginMs.join(', ')} ms after login`);
  assert.deepEqual(r.expiry, { offlineHours: 73, delivered: 0, expiredAtHolders: true });
});

test('IMs are sealed end to end to each device: the text never crosses a link in clear, held ones aside', async () => {
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
