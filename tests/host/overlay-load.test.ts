// Issue #5, the overlay under load: reconnects spread with exponential backoff and jitter (overlay/client.ts),
// supernodes refusing clients and index records above their limits (BUSY / DHT_BUSY) instead of growing,
// search results cached with a short TTL (overlay/search-cache.ts), and prefix search ("sal*") through the
// login server's directory with a result limit (overlay/prefix.ts, server/service.ts OP_PREFIX).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { World, type WorldOpts } from '../../host-sim/world.js';
import { natPresets } from '../../host-sim/net/network.js';
import { ipToString } from '../../host-sim/net/ip.js';
import { SearchClient, type SearchOutcome } from '../../host-sim/scale-client.js';
import type { FirmwareNode, FwEvent } from '../../host-sim/firmware.js';
import { UserStore } from '../../server/store.js';

function world(seed: number, nSn: number, phones: number, extra = '', opts: Partial<WorldOpts> = {}, phoneGapUs = 150_000): { w: World; sns: FirmwareNode[]; phones: FirmwareNode[] } {
  const w = new World({ seed, ...opts });
  w.addLoginServer('198.51.100.10');
  for (let i = 0; i < Math.min(3, nSn); i++) w.bootstrapEntry(`198.51.100.${21 + i}`);
  const sns: FirmwareNode[] = [];
  for (let i = 0; i < nSn; i++) {
    const n = w.addNode(`sn${i}`, `198.51.100.${21 + i}`, { supernode: 'auto', port: 33033 }, { bootAtUs: i * 50_000 });
    if (extra) n.flash.write(1, new TextEncoder().encode(new TextDecoder().decode(n.flash.read(1)!) + extra));
    sns.push(n);
  }
  const ps: FirmwareNode[] = [];
  for (let i = 0; i < phones; i++) {
    const nat = w.net.addNat(`nat${i}`, `203.0.113.${10 + i}`, { ...natPresets['port-restricted-cone'] });
    ps.push(w.addNode(`p${i}`, `192.168.${10 + i}.10`, { user: `user${i}`, password: 'password-1', register: true }, { behind: nat, bootAtUs: 1_000_000 + i * phoneGapUs }));
  }
  return { w, sns, phones: ps };
}

const after = (w: World, name: string, t: number) => w.events.filter((e) => e.name === name && e.timeUs > t);
const lastLogin = (w: World, node: string): FwEvent | undefined => w.events.filter((e) => e.node === node && e.name === 'login.ok').at(-1);

test('backoff: the clients of a dead supernode come back at spread-out moments on different supernodes; failed attempts back off exponentially with jitter', () => {
  const { w, sns, phones } = world(51, 4, 24);
  try {
    assert.ok(w.runUntil(() => phones.every((p) => lastLogin(w, p.name)), 60_000_000), 'all logged in');
    // Kill the supernode with the most clients.
    const per = new Map<string, string[]>();
    for (const p of phones) { const s = lastLogin(w, p.name)!.kv.sn; per.set(s, [...(per.get(s) ?? []), p.name]); }
    const [victimEp, affected] = [...per.entries()].sort((a, b) => b[1].length - a[1].length)[0];
    assert.ok(affected.length >= 4, `${affected.length} clients on the victim`);
    const victim = sns.find((s) => `${ipToString(s.host.ip)}:33033` === victimEp)!;
    const tKill = w.sched.nowUs;
    victim.powerOff();
    assert.ok(w.runUntil(() => affected.every((n) => lastLogin(w, n)!.timeUs > tKill), 30_000_000), 'all affected phones logged in again');
    const firstAttempt = affected.map((n) => after(w, 'login.attempt', tKill).find((e) => e.node === n)!.timeUs);
    const spreadUs = Math.max(...firstAttempt) - Math.min(...firstAttempt);
    assert.ok(spreadUs >= 1_000_000, `reconnects spread over ${spreadUs / 1e3} ms, not all at once`);
    const landed = new Set(affected.map((n) => lastLogin(w, n)!.kv.sn));
    assert.ok(!landed.has(victimEp));
    assert.ok(landed.size >= 2, `the ${affected.length} phones spread over ${landed.size} supernodes`);

    // Every supernode down: attempts keep failing; the gaps between them grow (≈ doubling, capped) and differ per phone.
    const tDown = w.sched.nowUs;
    for (const s of sns) if (s.crash === null) s.powerOff();
    w.runUntil(() => false, tDown + 600_000_000);
    const gaps = (node: string) => {
      const ts = after(w, 'login.attempt', tDown).filter((e) => e.node === node).map((e) => e.timeUs);
      return ts.slice(1).map((t, i) => (t - ts[i]) / 1e6);
    };
    const g0 = gaps(phones[0].name);
    assert.ok(g0.length >= 6 && g0.length <= 25, `${g0.length} attempts in 10 min (no hammering)`);
    assert.ok(g0[5] > g0[0] + 10, `gap grows: first ${g0[0].toFixed(1)} s, sixth ${g0[5].toFixed(1)} s`);
    assert.ok(Math.max(...g0) <= 60 + 15, `capped: max gap ${Math.max(...g0).toFixed(1)} s`);
    // Jitter: the phones' 6th attempts are not synchronised.
    const sixth = phones.map((p) => after(w, 'login.attempt', tDown).filter((e) => e.node === p.name)[5]?.timeUs ?? 0).filter((t) => t > 0);
    assert.ok(sixth.length >= 20);
    assert.ok(Math.max(...sixth) - Math.min(...sixth) > 5_000_000, 'sixth attempts spread over > 5 s');
  } finally { w.close(); }
});

test('load shedding: supernodes refuse clients and index records above their limits (BUSY, DHT_BUSY) and never exceed them; searches still end', () => {
  const { w, sns, phones } = world(52, 3, 12, 'snMaxClients=5\nsnMaxRecords=4\n');
  try {
    assert.ok(w.runUntil(() => phones.every((p) => lastLogin(w, p.name)), 120_000_000), 'all 12 logged in on 3 supernodes of 5 clients each');
    w.runUntil(() => false, w.sched.nowUs + 65_000_000); // one sn.load report
    const loads = sns.map((s) => w.events.filter((e) => e.node === s.name && e.name === 'sn.load').at(-1)!);
    for (const l of loads) {
      assert.ok(Number(l.kv.clients) <= 5, `clients ${l.kv.clients} ≤ 5`);
      assert.ok(Number(l.kv.records) <= 4, `records ${l.kv.records} ≤ 4`);
      assert.equal(l.kv.maxRecords, '4');
    }
    const refused = loads.reduce((a, l) => a + Number(l.kv.busyRecords), 0);
    assert.ok(refused >= 3 * (12 - 4), `records refused: ${refused}`);
    assert.ok(loads.reduce((a, l) => a + Number(l.kv.busyGot), 0) > 0, 'publishers were told (DHT_BUSY)');
    // Every search still ends with a definite answer (the directory knows the names nobody could store).
    const h = w.net.addHost('cl', '198.51.100.150', { link: w.accessLink });
    // (through a supernode with room for one more client: a full one answers the search client's HELLO with BUSY)
    const roomy = sns[loads.map((l) => Number(l.kv.clients)).reduce((b, x, i, a) => (x < a[b] ? i : b), 0)];
    const c = new SearchClient(h, w.sched, roomy.host.ip, 33033);
    const outs: SearchOutcome[] = [];
    for (let i = 0; i < 12; i++) c.search(`user${i}`, (o) => outs.push(o));
    w.runUntil(() => outs.length === 12, w.sched.nowUs + 30_000_000);
    assert.equal(outs.length, 12);
    for (const o of outs) assert.ok(o.result === 'online' || o.result === 'exists', `${o.name}: ${o.result}`);
    c.close();
  } finally { w.close(); }
});

function snId(ip: number): bigint { const b = Buffer.alloc(6); b.writeUInt32BE(ip >>> 0, 0); b.writeUInt16BE(33033, 4); return createHash('sha256').update(b).digest().readBigUInt64BE(0); }
function nameId(n: string): bigint { return createHash('sha256').update(n).digest().readBigUInt64BE(0); }

test('search cache: a repeated search is answered from the searching supernode\'s cache until its 30 s TTL ends; negative answers too', () => {
  const { w, sns, phones } = world(53, 12, 2);
  try {
    assert.ok(w.runUntil(() => phones.every((p) => lastLogin(w, p.name)), 30_000_000), 'logged in');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    // A supernode that is neither user0's nor one of the 8 holding its record: it must look it up.
    const key = nameId('user0');
    const ranked = [...sns].sort((a, b) => { const da = snId(a.host.ip) ^ key, db = snId(b.host.ip) ^ key; return da < db ? -1 : da > db ? 1 : 0; });
    const own = lastLogin(w, 'p0')!.kv.sn;
    const s = ranked.slice(8).find((x) => `${ipToString(x.host.ip)}:33033` !== own)!;
    const h = w.net.addHost('cl', '198.51.100.150', { link: w.accessLink });
    const c = new SearchClient(h, w.sched, s.host.ip, 33033);
    const search = (name: string) => {
      let out: SearchOutcome | undefined;
      const t = w.sched.nowUs;
      c.search(name, (o) => { out = o; });
      w.runUntil(() => out !== undefined, t + 20_000_000);
      const ev = w.events.find((e) => e.node === s.name && e.name === 'sn.search' && e.timeUs >= t && e.kv.name === name)!;
      return { result: out!.result, msgs: Number(ev.kv.msgs) };
    };
    const first = search('user0');
    assert.equal(first.result, 'online');
    assert.ok(first.msgs > 0, 'first search: a DHT lookup');
    w.runUntil(() => false, w.sched.nowUs + 10_000_000);
    const second = search('user0');
    assert.deepEqual(second, { result: 'online', msgs: 0 }, 'second search within the TTL: from the cache');
    w.runUntil(() => false, w.sched.nowUs + 25_000_000);
    const third = search('user0');
    assert.equal(third.result, 'online');
    assert.ok(third.msgs > 0, 'after the TTL: looked up again');
    // Negative answers (the directory's "no such user") are cached for 10 s.
    const n1 = search('nosuchuser'), n2 = search('nosuchuser');
    assert.equal(n1.result, 'unknown'); assert.ok(n1.msgs > 0);
    assert.deepEqual(n2, { result: 'unknown', msgs: 0 });
    w.runUntil(() => false, w.sched.nowUs + 11_000_000);
    assert.ok(search('nosuchuser').msgs > 0, 'negative entry expired after 10 s');
    c.close();
  } finally { w.close(); }
});

test('prefix search: "find sal*" on the phone console lists at most 10 names from the directory, in order, and says when there are more', () => {
  const { w, phones } = world(54, 3, 1);
  try {
    for (let i = 0; i < 15; i++) w.login.store.register(`sal${i}`, 'password-1');
    w.login.store.register('salt', 'password-1');
    w.login.store.register('bob', 'password-1');
    assert.ok(w.runUntil(() => !!lastLogin(w, 'p0'), 30_000_000), 'logged in');
    const p = phones[0];
    const find = (arg: string) => {
      const t = w.sched.nowUs;
      p.uartInput(new TextEncoder().encode(`find ${arg}\r`));
      w.runUntil(() => after(w, 'search.prefix', t).length > 0, t + 10_000_000);
      return after(w, 'search.prefix', t)[0]?.kv;
    };
    const sal = find('sal*')!;
    assert.equal(sal.status, '0');
    assert.equal(sal.n, '10', 'the result limit');
    assert.equal(sal.more, '1', 'more names exist');
    const all = [...Array(15).keys()].map((i) => `sal${i}`).concat('salt').sort();
    assert.equal(sal.names, all.slice(0, 10).join(','));
    assert.deepEqual({ n: find('bo*')!.n, names: find('bo*')!.names, more: find('bo*')!.more }, { n: '1', names: 'bob', more: '0' });
    assert.equal(find('zzz*')!.n, '0');
    assert.equal(find('sal1*')!.names, 'sal1,sal10,sal11,sal12,sal13,sal14');
    // A bad prefix never leaves the phone.
    const t = w.sched.nowUs;
    p.uartInput(new TextEncoder().encode('find 9x*\r'));
    w.runUntil(() => false, t + 2_000_000);
    assert.equal(after(w, 'search.prefix', t).length, 0);
  } finally { w.close(); }
});

test('prefix search at the directory: byte order, limit, "more" flag', () => {
  const store = new UserStore(':memory:', { scryptN: 2 });
  try {
    for (const n of ['salma', 'sal', 'salt', 'sally', 'sam', 'bob']) store.register(n, 'password-1');
    assert.deepEqual(store.prefix('sal', 10), ['sal', 'sally', 'salma', 'salt']);
    assert.deepEqual(store.prefix('sal', 2), ['sal', 'sally']);
    assert.deepEqual(store.prefix('sa', 10), ['sal', 'sally', 'salma', 'salt', 'sam']);
    assert.deepEqual(store.prefix('x', 10), []);
  } finally { store.close(); }
});

test('bootstrap supernodes only bootstrap: fresh phones leave them for the node list they give, spread over the other supernodes; a full bootstrap supernode\'s BUSY carries a node list', () => {
  // 12 supernodes, the first 3 of them bootstrap; 30 fresh phones (empty host caches).
  const { w, sns, phones } = world(53, 12, 30);
  try {
    assert.ok(w.runUntil(() => phones.every((p) => lastLogin(w, p.name)), 60_000_000), 'all logged in');
    const boot = new Set(sns.slice(0, 3).map((s) => `${ipToString(s.host.ip)}:33033`));
    const onBoot = phones.filter((p) => boot.has(lastLogin(w, p.name)!.kv.sn)).length;
    const left = new Set(w.events.filter((e) => e.name === 'sn.leave-bootstrap').map((e) => e.node));
    assert.ok(left.size >= 25, `${left.size} of 30 phones left their bootstrap supernode`);
    assert.ok(onBoot <= 3, `${onBoot} of 30 phones logged in on a bootstrap supernode`);
    const per = new Map<string, number>();
    for (const p of phones) { const s = lastLogin(w, p.name)!.kv.sn; per.set(s, (per.get(s) ?? 0) + 1); }
    assert.ok(per.size >= 6, `phones spread over ${per.size} supernodes`);
  } finally { w.close(); }

  // Only bootstrap supernodes: nowhere else to go, so the phones stay (no hop).
  const small = world(54, 3, 6);
  try {
    assert.ok(small.w.runUntil(() => small.phones.every((p) => lastLogin(small.w, p.name)), 60_000_000), 'all logged in');
    assert.equal(small.w.events.filter((e) => e.name === 'sn.leave-bootstrap').length, 0);
  } finally { small.w.close(); }

  // Full bootstrap supernodes (snMaxClients=0): their BUSY lists the others, and the fresh phones log in there.
  const w2 = new World({ seed: 55 });
  try {
    w2.addLoginServer('198.51.100.10');
    for (let i = 0; i < 2; i++) w2.bootstrapEntry(`198.51.100.${21 + i}`);
    for (let i = 0; i < 6; i++) {
      const n = w2.addNode(`sn${i}`, `198.51.100.${21 + i}`, { supernode: 'auto', port: 33033 }, { bootAtUs: i * 50_000 });
      if (i < 2) n.flash.write(1, new TextEncoder().encode(new TextDecoder().decode(n.flash.read(1)!) + 'snMaxClients=0\n'));
    }
    // Let the supernodes learn each other before the phones come.
    w2.runUntil(() => false, 3_000_000);
    const ps = [0, 1, 2, 3].map((i) => w2.addNode(`p${i}`, `198.51.100.${60 + i}`, { user: `user${i}`, password: 'password-1', register: true }, { bootAtUs: 3_500_000 + i * 100_000 }));
    assert.ok(w2.runUntil(() => ps.every((p) => lastLogin(w2, p.name)), 60_000_000), 'all logged in despite full bootstrap supernodes');
    assert.ok(w2.events.some((e) => e.name === 'sn.busy'), 'refused by a full bootstrap supernode');
    for (const p of ps) assert.ok(!['198.51.100.21:33033', '198.51.100.22:33033'].includes(lastLogin(w2, p.name)!.kv.sn));
  } finally { w2.close(); }
});

test('login storm: an overloaded login server answers BUSY with a retry-after instead of queueing past the phones\' timeout; phones wait it out on their supernode and all log in, with no hash spent on a request that was turned away', () => {
  // One hashing worker (20 hashes/s) and a 0.5 s queue bound; 30 fresh phones within 0.6 s want 60 hashes (3 s of work).
  const { w, phones } = world(57, 3, 30, '', { loginLoad: { workers: 1, queueMaxUs: 500_000 } }, 20_000);
  try {
    assert.ok(w.runUntil(() => phones.every((p) => lastLogin(w, p.name)), 120_000_000), 'all logged in');
    const busy = w.events.filter((e) => e.name === 'login.busy');
    const stats = w.login!.service.stats;
    assert.ok(busy.length >= 10, `${busy.length} BUSY answers`);
    assert.equal(stats.shed, busy.length, 'every shed request reached its phone as login.busy');
    // Turned-away requests cost no hash: one REGISTER and one LOGIN hash per phone, nothing else.
    assert.equal(w.login!.store.kdfCount, 2 * phones.length);
    assert.equal(w.events.filter((e) => e.name === 'login.retry').length, 0, 'no login attempt failed or timed out');
    for (const b of busy) {
      const retryMs = Number(b.kv.retryMs), waitMs = Number(b.kv.waitMs);
      assert.ok(retryMs >= 1000 && waitMs >= retryMs && waitMs <= 1.5 * retryMs + 1, `wait ${waitMs} ms for retry-after ${retryMs} ms`);
      const next = w.events.find((e) => e.node === b.node && e.timeUs > b.timeUs && (e.name === 'login.sent' || e.name === 'register.sent'))!;
      assert.ok(next.timeUs - b.timeUs >= waitMs * 1000, `${b.node} sent again ${(next.timeUs - b.timeUs) / 1000} ms after BUSY (wait ${waitMs} ms)`);
    }
    // The queue bound held: every phone's answer came within about 0.5 s of queueing plus one hash.
    const worst = Math.max(...phones.map((p) => {
      const sent = w.events.filter((e) => e.node === p.name && (e.name === 'login.sent' || e.name === 'register.sent'));
      return Math.max(...sent.map((s) => {
        const ans = w.events.find((e) => e.node === p.name && e.timeUs > s.timeUs && ['login.busy', 'login.ok', 'register.ok', 'register.exists'].includes(e.name))!;
        return ans.timeUs - s.timeUs;
      }));
    }));
    assert.ok(worst <= 1_000_000, `slowest answer ${worst / 1000} ms`);
  } finally { w.close(); }
});

test('login server outage: an attempt whose answer never comes times out after 30 s (login.retry reason=timeout), the next one backs off, and the phone logs in once the server is reachable again', () => {
  const { w } = world(58, 2, 0);
  try {
    w.runUntil(() => false, 2_000_000);
    const login = w.net.host('login')!;
    login.link.loss = 1; // every packet to or from the login server is lost
    const nat = w.net.addNat('nat0', '203.0.113.10', { ...natPresets['port-restricted-cone'] });
    const p = w.addNode('p0', '192.168.10.10', { user: 'user0', password: 'password-1', register: true }, { behind: nat, bootAtUs: 2_500_000 });
    w.runUntil(() => w.events.filter((e) => e.name === 'login.retry').length >= 3, 200_000_000);
    login.link.loss = 0;
    assert.ok(w.runUntil(() => !!lastLogin(w, p.name), w.sched.nowUs + 60_000_000), 'logged in after the outage');
    const mine = (name: string) => w.events.filter((e) => e.node === p.name && e.name === name);
    const timeouts = mine('login.retry');
    assert.ok(timeouts.length >= 3);
    const sent = mine('register.sent');
    const attempts = mine('login.attempt');
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(timeouts[i].kv, { reason: 'timeout', state: '4' }, 'timed out waiting for the REGISTER answer (SC_REGISTERING)');
      assert.equal(timeouts[i].timeUs - sent[i].timeUs, 30_000_000, 'after the 30 s login timeout');
    }
    // Exponential backoff with jitter (client.ts retryDelayUs: uniform in [cap/2, cap], cap doubling per failure,
    // so each wait is at least the one before).
    const gaps = [0, 1, 2].map((i) => attempts[i + 1].timeUs - timeouts[i].timeUs);
    assert.ok(gaps[0] > 0 && gaps[1] >= gaps[0] && gaps[2] >= gaps[1], `backoff ${gaps.map((g) => g / 1000).join(', ')} ms`);
    assert.equal(w.events.filter((e) => e.node === p.name && e.name === 'login.fail').length, 0, 'an outage is not a refusal');
  } finally { w.close(); }
});
