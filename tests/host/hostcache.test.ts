// Issue #5, host cache (firmware/overlay/host-cache.ts) on the real firmware in the simulator: filled from
// HELLO_ACK node lists and probe answers, persisted in flash (key 2), used before the bootstrap supernodes at
// login, long-lived entries preferred, and a corrupt or truncated flash record ignored and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../host-sim/world.js';
import { natPresets } from '../../host-sim/net/network.js';
import { toIp, ipToString } from '../../host-sim/net/ip.js';
import { KEY_HOST_CACHE, encodeHostCache, decodeHostCache, type Entry } from './hostcache-record.js';

/** Login server, 3 bootstrap supernodes (sn1–sn3) and 2 more supernodes (sn4, sn5) not in anyone's provisioning. */
function world(seed: number): World {
  const w = new World({ seed });
  w.addLoginServer('198.51.100.10');
  const boot = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
  for (const ip of boot) w.bootstrapEntry(ip);
  boot.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: 33033 }));
  w.addNode('sn4', '198.51.100.24', { supernode: 'auto', port: 33033 }, { bootAtUs: 200_000 });
  w.addNode('sn5', '198.51.100.25', { supernode: 'auto', port: 33033 }, { bootAtUs: 300_000 });
  return w;
}

function addAlice(w: World, bootAtUs = 1_000_000) {
  const nat = w.net.addNat('alice-nat', '203.0.113.9', { ...natPresets['port-restricted-cone'] });
  return w.addNode('alice', '192.168.9.10', { user: 'alice', password: 'alice-pass-1', register: true }, { behind: nat, bootAtUs });
}

test('host cache: filled from the node list and probes, persisted; after a reboot with every bootstrap supernode down the phone logs in via host-cache entries', () => {
  const w = world(51);
  try {
    const alice = addAlice(w);
    assert.ok(w.runUntil(() => !!w.find('alice', 'hc.saved'), 10_000_000), 'alice logged in and saved her host cache');
    const saved = decodeHostCache(alice.flash.read(KEY_HOST_CACHE)!);
    const eps = saved.map((e) => `${ipToString(e.ip)}:${e.port}`);
    for (const ip of ['198.51.100.24', '198.51.100.25']) assert.ok(eps.includes(`${ip}:33033`), `${ip} learnt from the node list: ${eps}`);
    assert.ok(saved.some((e) => e.rttMs < 0xffff && e.uptimeS > 0), 'probe answers recorded RTT and uptime');

    // Every bootstrap supernode goes away for good.
    for (const n of ['sn1', 'sn2', 'sn3']) w.node(n).powerOff();
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const tReboot = w.sched.nowUs;
    alice.reboot();
    const ok = () => alice.events.find((e) => e.name === 'login.ok' && e.timeUs >= tReboot);
    assert.ok(w.runUntil(() => !!ok(), tReboot + 15_000_000), 'logged in again after the reboot');
    assert.ok(['198.51.100.24:33033', '198.51.100.25:33033'].includes(ok()!.kv.sn), `via a host-cache supernode, got ${ok()!.kv.sn}`);
    const loaded = alice.events.find((e) => e.name === 'hc.loaded' && e.timeUs >= tReboot);
    assert.ok(loaded && Number(loaded.kv.n) >= 5, 'the cache came back from flash');
    assert.ok(Number(ok()!.kv.ms) < 1500, `login took ${ok()!.kv.ms} ms`);
    assert.equal(alice.crash, null);
  } finally { w.close(); }
});

test('host cache: entries are probed before the bootstrap supernodes, which are used only when none answers; long-lived entries are kept when full', () => {
  const w = world(52);
  try {
    // 190 long-lived entries that do not exist, 10 short-lived ones.
    const fake: Entry[] = [];
    for (let i = 0; i < 200; i++) fake.push({ ip: toIp(`10.99.${i >> 8}.${(i & 255) + 1}`) >>> 0, port: 40000 + i, lastSeenS: 5, rttMs: 40, uptimeS: i < 190 ? 86_400 + i : 0 });
    const alice = addAlice(w);
    alice.flash.write(KEY_HOST_CACHE, encodeHostCache(fake));
    assert.ok(w.runUntil(() => !!w.find('alice', 'hc.saved'), 15_000_000), 'logged in');
    const noAnswer = w.find('alice', 'hc.noanswer');
    assert.ok(noAnswer, 'host-cache entries probed first, then the bootstrap supernodes');
    assert.equal(noAnswer!.kv.probed, '8');
    assert.ok(w.find('alice', 'login.ok')!.timeUs < noAnswer!.timeUs + 1_500_000, 'bootstrap fallback is quick');
    const saved = decodeHostCache(alice.flash.read(KEY_HOST_CACHE)!);
    assert.equal(saved.length, 200, 'still 200 entries');
    const eps = new Set(saved.map((e) => `${e.ip >>> 0}:${e.port}`));
    for (let i = 0; i < 190; i++) assert.ok(eps.has(`${fake[i].ip}:${fake[i].port}`), `long-lived entry ${i} kept`);
    assert.ok(saved.some((e) => ipToString(e.ip) === '198.51.100.21'), 'a real supernode replaced a short-lived entry');
  } finally { w.close(); }
});

test('host cache: a corrupt or truncated flash record is ignored and counted, never a trap', () => {
  const w = world(53);
  try {
    const good = encodeHostCache([{ ip: toIp('198.51.100.24') >>> 0, port: 33033, lastSeenS: 1, rttMs: 10, uptimeS: 100 }, { ip: toIp('198.51.100.25') >>> 0, port: 33033, lastSeenS: 1, rttMs: 10, uptimeS: 100 }]);
    const flipped = Uint8Array.from(good); flipped[9] ^= 0x40;
    const badCount = Uint8Array.from(good); badCount[3] = 200;
    const records: Record<string, Uint8Array> = {
      truncated: good.subarray(0, good.length - 5), flipped, badCount, empty: new Uint8Array(0), junk: new Uint8Array(4096).fill(0xa5),
      header: Uint8Array.from([0x48, 0x43, 1]),
    };
    const names = Object.keys(records);
    names.forEach((k, i) => {
      const nat = w.net.addNat(`nat${i}`, `203.0.113.${20 + i}`, { ...natPresets['port-restricted-cone'] });
      const p = w.addNode(`p${i}`, `192.168.${20 + i}.10`, { user: `phone${i}`, password: 'password-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
      p.flash.write(KEY_HOST_CACHE, records[k]);
    });
    w.runUntil(() => names.every((_, i) => w.find(`p${i}`, 'login.ok')), 15_000_000);
    names.forEach((k, i) => {
      const p = w.node(`p${i}`);
      assert.equal(p.crash, null, `${k}: no trap`);
      if (k !== 'empty') assert.ok(w.find(`p${i}`, 'hc.corrupt'), `${k}: counted as corrupt`);
      assert.equal(w.find(`p${i}`, 'hc.loaded')!.kv.n, '0', `${k}: nothing trusted`);
      assert.ok(w.find(`p${i}`, 'login.ok'), `${k}: logged in via the bootstrap supernodes`);
      decodeHostCache(p.flash.read(KEY_HOST_CACHE)!); // rewritten well-formed
    });
  } finally { w.close(); }
});
