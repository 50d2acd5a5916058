// Issue #5, distributed user index (firmware/overlay/dht.ts): presence records at the k closest supernodes
// (Kademlia XOR over SHA-256-derived 64-bit IDs), kept 72 h after the last refresh; searches end with a
// definite answer (the login server's directory for names nobody holds); users online and offline-but-seen
// are found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { World } from '../../host-sim/world.js';
import { natPresets } from '../../host-sim/net/network.js';
import { ipToString, ipFromString } from '../../host-sim/net/ip.js';
import { SearchClient, probeHolder, type SearchOutcome } from '../../host-sim/scale-client.js';
import { DgramPeer } from '../../host-sim/dgram-peer.js';
import { consoleOut } from '../../host-sim/scenarios/offline-im.js';

const K = 8;
const N_SN = 16;

function id64(b: Uint8Array): bigint { return createHash('sha256').update(b).digest().readBigUInt64BE(0); }
function snId(ip: number, port: number): bigint {
  const b = Buffer.alloc(6); b.writeUInt32BE(ip >>> 0, 0); b.writeUInt16BE(port, 4); return id64(b);
}
function nameId(n: string): bigint { return id64(Buffer.from(n, 'utf8')); }
type Sn = { ip: number; port: number };
/** The supernodes by XOR distance of their IDs to the user key of `name`, closest first (the k first hold its record). */
function closestTo(sns: Sn[], name: string): Sn[] {
  const key = nameId(name);
  return [...sns].sort((a, b) => { const da = snId(a.ip, a.port) ^ key, db = snId(b.ip, b.port) ^ key; return da < db ? -1 : da > db ? 1 : 0; });
}
const epOf = (s: Sn) => `${ipToString(s.ip)}:${s.port}`;
/** The firmware node of supernode `s` (sn1 is 198.51.100.21, …). */
const snNode = (w: World, s: { ip: number }) => w.node(`sn${Number(ipToString(s.ip).split('.')[3]) - 20}`);

function world(seed: number, users: number): { w: World; sns: { ip: number; port: number }[] } {
  const w = new World({ seed });
  w.addLoginServer('198.51.100.10');
  const boot = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
  for (const ip of boot) w.bootstrapEntry(ip);
  const sns: { ip: number; port: number }[] = [];
  for (let i = 0; i < N_SN; i++) {
    const n = w.addNode(`sn${i + 1}`, `198.51.100.${21 + i}`, { supernode: 'auto', port: 33033 }, { bootAtUs: i * 50_000 });
    sns.push({ ip: n.host.ip, port: 33033 });
  }
  for (let i = 0; i < users; i++) {
    const nat = w.net.addNat(`nat${i}`, `203.0.113.${10 + i}`, { ...natPresets['port-restricted-cone'] });
    w.addNode(`p${i}`, `192.168.${10 + i}.10`, { user: `user${i}`, password: 'password-1', register: true }, { behind: nat, bootAtUs: 2_000_000 + i * 200_000 });
  }
  return { w, sns };
}

function runSearch(w: World, c: SearchClient, name: string): SearchOutcome {
  let out: SearchOutcome | undefined;
  c.search(name, (o) => { out = o; });
  w.runUntil(() => out !== undefined, w.sched.nowUs + 20_000_000);
  assert.ok(out, `search for ${name} answered`);
  return out!;
}

function client(w: World, name: string, ip: string, sn: { ip: number; port: number }): SearchClient {
  const h = w.net.addHost(name, ip, { link: w.accessLink });
  return new SearchClient(h, w.sched, sn.ip, sn.port);
}

/** The stored presence record of `name` (certificate included), asked of supernode `sn` with DHT_FIND. */
function fetchRecord(w: World, peer: DgramPeer, sn: { ip: number; port: number }, name: string): Uint8Array {
  // DHT_FOUND [0x31][txid u32][n u8][record][age u32]…; record = [ulen u8][user][status u8][snIp u32]…[certLen u16 at 26 after the user][cert]
  let rec: Uint8Array | undefined;
  peer.onMessage = (_i, _p, d) => {
    if (d[0] !== 0x31 || d[5] < 1) return;
    const ulen = d[6], certLen = (d[7 + ulen + 26] << 8) | d[7 + ulen + 27];
    rec = d.slice(6, 6 + 29 + ulen + certLen);
  };
  const user = Buffer.from(name);
  const find = new Uint8Array(15 + user.length);
  find[0] = 0x30; find[13] = 1; find[14] = user.length; find.set(user, 15);
  peer.send(sn.ip, sn.port, find);
  w.runUntil(() => rec !== undefined, w.sched.nowUs + 2_000_000);
  assert.ok(rec, 'the holder answered with the record');
  return rec!;
}

/** DHT_STORE [0x32][ageS u32][record] of `rec` turned into an offline notice ([status] = 0) naming supernode snIp. */
function offlineStore(rec: Uint8Array, snIp: number, ageS: number): Uint8Array {
  const r = Uint8Array.from(rec);
  const o = 1 + r[0];
  r[o] = 0;
  new DataView(r.buffer).setUint32(o + 1, snIp >>> 0);
  const m = new Uint8Array(5 + r.length);
  m[0] = 0x32; new DataView(m.buffer).setUint32(1, ageS); m.set(r, 5);
  return m;
}

test('index: each presence record is stored at the k supernodes closest to the user key (XOR); searches from any supernode find online users', () => {
  const { w, sns } = world(71, 8);
  try {
    assert.ok(w.runUntil(() => [...Array(8).keys()].every((i) => w.find(`p${i}`, 'login.ok')), 20_000_000), 'all logged in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    // Search every user from a supernode that is not its own.
    for (let i = 0; i < 8; i++) {
      const own = w.find(`p${i}`, 'login.ok')!.kv.sn;
      const other = sns.find((s) => `${ipToString(s.ip)}:${s.port}` !== own && ipToString(s.ip) !== '198.51.100.21')!;
      const c = client(w, `c${i}`, `198.51.100.${120 + i}`, other);
      const o = runSearch(w, c, `user${i}`);
      assert.equal(o.result, 'online', `user${i}`);
      assert.equal(o.sn, own, 'the record names the user’s supernode');
      assert.ok(o.ms < 500, `search took ${o.ms} ms`);
      assert.ok(o.bytes < 1024, `${o.bytes} B on the client link`);
      c.close();
    }
    // Placement: ask every supernode (DHT_FIND) whether it holds user0..3's record — after the 30 s search
    // cache (overlay/search-cache.ts) has let go of the copies the searches above left along their paths.
    w.runUntil(() => false, w.sched.nowUs + 31_000_000);
    const probe = w.net.addHost('prober', '198.51.100.200', { link: w.accessLink });
    for (let u = 0; u < 4; u++) {
      const name = `user${u}`;
      const ranked = closestTo(sns, name);
      const held = new Map<string, boolean | null>();
      sns.forEach((s, i) => probeHolder(probe, w.sched, s.ip, s.port, name, 40000 + u * 100 + i, (h) => held.set(`${ipToString(s.ip)}`, h)));
      w.runUntil(() => held.size === sns.length, w.sched.nowUs + 3_000_000);
      const own = w.find(`p${u}`, 'login.ok')!.kv.sn.split(':')[0];
      for (let j = 0; j < K; j++) assert.equal(held.get(ipToString(ranked[j].ip)), true, `${name}: k-closest #${j} holds it`);
      for (let j = K; j < sns.length; j++) {
        const ip = ipToString(ranked[j].ip);
        if (ip !== own) assert.equal(held.get(ip), false, `${name}: ${ip} is not among the k closest and holds nothing`);
      }
      // The supernode console shows the same (`dht NAME`): the record, its state and supernode, on a holder only.
      const ownFull = w.find(`p${u}`, 'login.ok')!.kv.sn;
      assert.match(consoleOut(w, snNode(w, ranked[0]), `dht ${name}`), new RegExp(`${name}/[0-9a-f]{8} online sn=${ownFull.replace(/\./g, '\\.')} ageS=\\d+`));
      const outsider = ranked.slice(K).find((s) => ipToString(s.ip) !== own)!;
      assert.match(consoleOut(w, snNode(w, outsider), `dht ${name}`), new RegExp(`dht ${name}: no record`));
    }
    assert.match(consoleOut(w, w.node('sn1'), 'dht'), /dht records=\d+ users=\d+ stored=\d+ expired=0 refused=0 staleOffline=0/);
    assert.match(consoleOut(w, w.node('p0'), 'dht'), /error: not a supernode/);
  } finally { w.close(); }
});

test('index: an old offline record at a supernode outside the k closest (or a fresher one at a holder) does not hide a newer login: offline answers do not end a search, online beats offline, then the freshest', () => {
  const { w, sns } = world(73, 2);
  try {
    assert.ok(w.runUntil(() => !!w.find('p0', 'login.ok'), 20_000_000), 'logged in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    const ranked = closestTo(sns, 'user0');
    const ownEp = w.find('p0', 'login.ok')!.kv.sn;
    const holder = ranked.slice(0, K).find((s) => epOf(s) !== ownEp)!;
    const outsider = ranked.slice(K).find((s) => epOf(s) !== ownEp)!;
    const peer = new DgramPeer(w.net.addHost('old-sn', '198.51.100.201', { link: w.accessLink }), 40000, 'stale-injector');
    const rec = fetchRecord(w, peer, holder, 'user0');
    const stale = (snIp: number, ageS: number) => offlineStore(rec, snIp, ageS);
    // The outsider keeps an offline notice from a supernode the phone left (fresher than the online record:
    // age 0); one of the k closest gets a fresh offline notice from the phone's own supernode (it accepts that).
    peer.send(outsider.ip, outsider.port, stale(ranked[K + 1].ip, 0));
    peer.send(holder.ip, holder.port, stale(ipFromString(ownEp.split(':')[0]), 0));
    // A late offline notice from a supernode the phone has left is refused by a holder of its newer login.
    const holder2 = ranked.slice(0, K).find((s) => epOf(s) !== ownEp && s !== holder)!;
    peer.send(holder2.ip, holder2.port, stale(ranked[K + 1].ip, 0));
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    assert.match(consoleOut(w, snNode(w, holder2), 'dht user0'), /user0\/[0-9a-f]{8} online sn=/, 'a late offline notice from another supernode is refused');
    assert.match(consoleOut(w, snNode(w, holder2), 'dht'), /staleOffline=1\b/);
    assert.match(consoleOut(w, snNode(w, outsider), 'dht user0'), /user0\/[0-9a-f]{8} offline sn=/, 'the outsider holds the old offline notice');
    assert.match(consoleOut(w, snNode(w, holder), 'dht user0'), /user0\/[0-9a-f]{8} offline sn=/, 'one holder has an offline notice too');
    // A search at the outsider: its own offline copy does not answer; the lookup finds the login at the k closest.
    const c = client(w, 'c-out', '198.51.100.160', outsider);
    const o = runSearch(w, c, 'user0');
    assert.equal(o.result, 'online');
    assert.equal(o.sn, ownEp);
    c.close();
  } finally { w.close(); }
});

test('index: offline answers from two of the closest holders do not end a search while the other holders know the login (OFFLINE_QUORUM = 3 offline answers)', () => {
  const { w, sns } = world(74, 1);
  try {
    assert.ok(w.runUntil(() => !!w.find('p0', 'login.ok'), 20_000_000), 'logged in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    const ranked = closestTo(sns, 'user0');
    const ownEp = w.find('p0', 'login.ok')!.kv.sn;
    const ownIp = ipFromString(ownEp.split(':')[0]);
    const holders = ranked.slice(0, K).filter((s) => epOf(s) !== ownEp);
    const peer = new DgramPeer(w.net.addHost('old-sn', '198.51.100.201', { link: w.accessLink }), 40000, 'injector');
    const rec = fetchRecord(w, peer, holders[0], 'user0');
    // The two closest holders (the first a lookup asks) take an offline notice from the phone's own supernode,
    // as after a lost refresh; the other holders keep the online record.
    for (const h of holders.slice(0, 2)) peer.send(h.ip, h.port, offlineStore(rec, ownIp, 0));
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    for (const h of holders.slice(0, 2)) assert.match(consoleOut(w, snNode(w, h), 'dht user0'), /user0\/[0-9a-f]{8} offline sn=/);
    assert.match(consoleOut(w, snNode(w, holders[2]), 'dht user0'), /user0\/[0-9a-f]{8} online sn=/);
    // Searched from a supernode that holds nothing: two offline answers come first; the third holder's online
    // record wins (an offline-first answer would have ended the search as "offline").
    const searcher = ranked.slice(K).find((s) => epOf(s) !== ownEp)!;
    const c = client(w, 'c-q', '198.51.100.161', searcher);
    const o = runSearch(w, c, 'user0');
    assert.equal(o.result, 'online');
    assert.equal(o.sn, ownEp);
    c.close();
  } finally { w.close(); }
});

test('index: unknown names end with a definite answer from the directory; offline users are found until 72 h after their last refresh', () => {
  const { w, sns } = world(72, 2);
  try {
    assert.ok(w.runUntil(() => !!(w.find('p0', 'login.ok') && w.find('p1', 'login.ok')), 20_000_000), 'logged in');
    w.login.store.register('ghost', 'password-1');
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    let c = client(w, 'c0', '198.51.100.150', sns[5]);
    assert.equal(runSearch(w, c, 'nosuchuser').result, 'unknown', 'not in the directory');
    assert.equal(runSearch(w, c, 'ghost').result, 'exists', 'registered, never online');
    assert.equal(runSearch(w, c, 'user0').result, 'online');
    // user0 goes away: its supernode stores an offline record (seen here once the 30 s cached answer expires).
    w.node('p0').powerOff();
    w.runUntil(() => false, w.sched.nowUs + 31_000_000);
    const off = runSearch(w, c, 'user0');
    assert.equal(off.result, 'offline', 'offline but seen: found');
    c.close();
    // 71 h later still found, after 72 h gone (then the directory answers: the user exists).
    w.runUntil(() => false, w.sched.nowUs + 71 * 3600e6);
    c = client(w, 'c1', '198.51.100.151', sns[7]);
    assert.equal(runSearch(w, c, 'user0').result, 'offline', 'found at 71 h');
    w.runUntil(() => false, w.sched.nowUs + 2 * 3600e6);
    assert.equal(runSearch(w, c, 'user0').result, 'exists', 'expired after 72 h: the directory says the name exists');
    assert.equal(runSearch(w, c, 'user1').result, 'online', 'a user online all along stays found (refreshed)');
    c.close();
  } finally { w.close(); }
});

// Kademlia §2.3: a supernode that joins looks up its own ID and then refreshes every bucket further than its
// closest neighbour (and, later, any bucket with no lookup for a while). Without the refresh, 60 supernodes
// booting within 5 s (as in `npm run scale`) left about half of their buckets short of min(k, n) contacts and
// some empty; at 1,000 nodes, lookups ending at such a table missed all k holders (6 of 1,000 searches).
test('index: routing tables — after the join, every supernode knows min(k, n) supernodes of each of its k-buckets', () => {
  const nSn = 60;
  const w = new World({ seed: 1 });
  w.addLoginServer('198.51.100.10');
  const ipOf = (i: number) => `44.1.${i >> 8}.${(i & 255) + 1}`;
  for (let i = 0; i < 7; i++) w.bootstrapEntry(ipOf(i));
  const nodes = Array.from({ length: nSn }, (_, i) => w.addNode(`sn${i}`, ipOf(i), { supernode: 'auto', port: 33033 }, { bootAtUs: Math.floor((i / nSn) * 5e6) }));
  try {
    w.runUntil(() => false, 60_000_000);
    const ids = nodes.map((n) => snId(n.host.ip, 33033));
    const bucketOf = (d: bigint) => d.toString(2).length - 1;
    // DHT_FIND for target id ^ 2^b: the bucket-b contacts are closer to it than any other, so the answer's k
    // contacts hold min(k, known in bucket b) of them.
    const probe = w.net.addHost('probe', '47.9.9.9', { link: w.accessLink });
    const want = new Map<number, { node: number; b: number; members: Set<number> }>();
    const short: string[] = [];
    let answered = 0;
    const sock = new DgramPeer(probe, 40000, 'index-probe'); // DHT messages go sealed (firmware/sec/dgram.ts)
    sock.onMessage = (_s, _p, d) => {
      if (d[0] !== 0x31) return; // DHT_FOUND [txid u32][records u8 = 0][n u8][(ip u32, port u16) × n]
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      const e = want.get(dv.getUint32(1));
      if (!e) return;
      answered++;
      let known = 0;
      for (let i = 0; i < d[6]; i++) if (e.members.has(dv.getUint32(7 + 6 * i) >>> 0)) known++;
      if (known < Math.min(K, e.members.size)) short.push(`sn${e.node} bucket ${e.b}: ${known} of ${e.members.size}`);
    };
    nodes.forEach((n, x) => {
      const byBucket = new Map<number, Set<number>>();
      nodes.forEach((m, j) => { if (j !== x) { const b = bucketOf(ids[j] ^ ids[x]); byBucket.set(b, (byBucket.get(b) ?? new Set()).add(m.host.ip >>> 0)); } });
      for (const [b, members] of byBucket) {
        const txid = x * 64 + b;
        want.set(txid, { node: x, b, members });
        const f = new Uint8Array(15); // DHT_FIND [txid u32][target u64][wantValue u8 = 0][name str8 = ""]
        f[0] = 0x30; new DataView(f.buffer).setUint32(1, txid); new DataView(f.buffer).setBigUint64(5, ids[x] ^ (1n << BigInt(b)));
        sock.send(n.host.ip, 33033, f);
      }
    });
    w.runUntil(() => answered >= want.size, w.sched.nowUs + 3_000_000);
    assert.equal(answered, want.size, 'every supernode answered every probe');
    assert.ok(want.size > 5 * nSn, `${want.size} buckets probed`);
    assert.deepEqual(short, [], `${short.length} of ${want.size} buckets short of min(k, n) contacts`);
  } finally { w.close(); }
});
