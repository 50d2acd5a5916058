/**
 * `npm run scale -- --nodes N` (issue #5): a population of real firmware instances — ≥ 10 % supernodes, the
 * rest phones behind assorted NATs — logging in over a spread of arrival times, some phones leaving again
 * (offline but seen), then ≥ 1,000 random searches for users online now and users offline but seen within
 * 72 h, through random supernodes. Writes out/scale-report.json. `runScale` is also used by the churn tests
 * (kill a share of the supernodes at once and measure re-login and search success).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { World } from './world.js';
import { natPresets } from './net/network.js';
import { ipToString } from './net/ip.js';
import { SearchClient, type SearchOutcome } from './scale-client.js';
import type { FirmwareNode } from './firmware.js';

export interface ScaleOpts {
  nodes: number;
  seed?: number;
  /** Share of supernodes (≥ 0.1). */
  snShare?: number;
  searches?: number;
  /** Phones arrive uniformly over this many seconds (default phones / 25, at least 10 s: 25 phones/s). */
  arrivalS?: number;
  /** Share of phones that log off after logging in (searched as offline-but-seen). */
  offlineShare?: number;
  /** Churn (a): kill this share of the supernodes at once after the first search round (0 = no churn). */
  killSnShare?: number;
  /** Login storm (b): every online phone powers off and boots again at a random moment within this many seconds (0 = none). */
  stormS?: number;
  /** Searches in flight at once. */
  searchParallel?: number;
  /** The login server's hashing workers (default 4: 80 logins/s); fewer models a smaller server (overload at small scale). */
  loginWorkers?: number;
  log?: (s: string) => void;
  /** Called with the report so far after each phase (the CLI writes it: a long run leaves figures even if cut short). */
  onPhase?: (r: ScaleReport) => void;
  /** Called with the world once it is built, before it runs (tests and debugging). */
  onWorld?: (w: World) => void;
  /** Called with the world before it is closed, with the failed searches of every round (tests and debugging). */
  inspect?: (w: World, sns: FirmwareNode[], failures: string[]) => void;
}

/** bytesMean: SEARCH + SEARCH_RESP on the client link; snMsgsMean / snDhtBytesMean: DHT requests and bytes between supernodes per search. */
export interface SearchStats {
  count: number; successRate: number; p50Ms: number; p95Ms: number; p99Ms: number; bytesMean: number; snMsgsMean: number; snDhtBytesMean: number; failures: string[];
  /** Searches for phones restarted in a storm and not logged in again yet (their online or offline record counts). */
  notBackYet?: number;
}

export interface ScaleReport {
  nodes: number; supernodes: number; phones: number; seed: number;
  loggedIn: number; loginTrouble: Record<string, number>; loginMs: { p50: number; p95: number; p99: number }; bytesPerLoginMean: number;
  search: SearchStats;
  churn?: { killedSn: number; affectedPhones: number; relogin99S: number | null; reloggedShare: number; searchDuring: SearchStats; searchAfter: SearchStats };
  storm?: { phones: number; windowS: number; relogin99S: number | null; reloggedShare: number; loginRetries: Record<string, number>; searchDuring: SearchStats; searchAfter: SearchStats };
  snLoad: { clientsMin: number; clientsP50: number; clientsMax: number; clientsMean: number };
  /**
   * Supernode load from the supernodes' own `sn.load` reports (every 60 s and at the end): the peak per
   * supernode over the run, its distribution over supernodes, the configured limits and the refusals (BUSY).
   */
  snPeak?: { clients: Dist; records: Dist; relays: Dist; limits: { clients: number; records: number; relays: number }; overLimit: number; busyClients: number; busyRecords: number; busyRelays: number };
  /** The login server's work: password hashes run, requests turned away BUSY (load shedding), logins, registrations. */
  loginServer: { hashes: number; shed: number; logins: number; registers: number };
  virtualS: number; wallS: number; peakRssMb: number; rssPerNodeKb: number; nodeVirtualSecondsPerWallSecond: number;
}

export interface Dist { min: number; p50: number; p95: number; max: number; mean: number }
function dist(xs: number[]): Dist {
  return xs.length ? { min: Math.min(...xs), p50: pct(xs, 50), p95: pct(xs, 95), max: Math.max(...xs), mean: mean(xs) } : { min: 0, p50: 0, p95: 0, max: 0, mean: 0 };
}

function mean(xs: number[]): number { return xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : 0; }

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const dotted = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Runs the population; returns the report (the CLI writes it). */
export function runScale(o: ScaleOpts): ScaleReport {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 1;
  let peakRss = process.memoryUsage().rss;
  const sampleRss = () => { const r = process.memoryUsage().rss; if (r > peakRss) peakRss = r; };
  // Hashes at N = 1024 in wall time; virtual time still charges the production N = 16384 (50 ms) per hash.
  const w = new World({ seed, loginScryptN: 1024, loginLoad: { workers: o.loginWorkers } });
  w.addLoginServer('198.51.100.10');
  const nSn = Math.max(3, Math.ceil(o.nodes * Math.max(0.1, o.snShare ?? 0.1)));
  const nPh = o.nodes - nSn;
  const snIp = (i: number) => dotted(((44 << 24) | (1 << 16)) + i + 1);
  for (let i = 0; i < Math.min(7, nSn); i++) w.bootstrapEntry(snIp(i));
  const rss0 = process.memoryUsage().rss;
  const sns: FirmwareNode[] = [];
  // Supernodes come up over the first 5 s; phones arrive over arrivalS after that.
  for (let i = 0; i < nSn; i++) sns.push(w.addNode(`sn${i}`, snIp(i), { supernode: 'auto', port: 33033 }, { bootAtUs: Math.floor((i / nSn) * 5e6) }));
  // 25 phones a second by default. Each registers, then logs in: 2 scrypt hashes at 50 ms on the simulated
  // login server's 4 workers (host-sim/login-host.ts) = 40 phones/s at most, so 25/s keeps it ≈ 60 % busy.
  // Arrivals above 40/s queue there without bound until the 30 s login timeout (a login-server capacity test,
  // not what is measured here).
  const arrivalUs = (o.arrivalS ?? Math.max(10, nPh / 25)) * 1e6;
  const rng = w.rng.split('scale');
  const kinds = ['port-restricted-cone', 'port-restricted-cone', 'port-restricted-cone', 'full-cone', 'restricted-cone', 'symmetric', 'public'] as const;
  const phones: FirmwareNode[] = [];
  for (let i = 0; i < nPh; i++) {
    const kind = kinds[rng.u32() % kinds.length];
    const at = 5e6 + Math.floor((rng.u32() / 2 ** 32) * arrivalUs);
    const prov = { user: `user${i}`, password: 'password-1', register: true };
    if (kind === 'public') phones.push(w.addNode(`p${i}`, dotted(((46 << 24) | 0) + i + 1), prov, { bootAtUs: at }));
    else {
      const nat = w.net.addNat(`nat${i}`, dotted(((45 << 24) | 0) + i + 1), { ...natPresets[kind] });
      phones.push(w.addNode(`p${i}`, dotted(((10 << 24) | 0) + i + 1), prov, { behind: nat, bootAtUs: at }));
    }
  }
  const loginOk = new Map<string, { ms: number; bytes: number; sn: string; t: number }>();
  /** First login of each phone (login time and bytes are measured on it). */
  const firstLogin = new Map<string, { ms: number; bytes: number }>();
  /** Supernode side of every search: DHT requests sent and DHT bytes sent + received. */
  const snSearches: { msgs: number; bytes: number }[] = [];
  /** Login trouble seen (event name:reason → count), for the report. */
  const retries = new Map<string, number>();
  /** Per supernode: peak load seen in its `sn.load` reports, its limits and refusal counters. */
  const snLoadPeak = new Map<string, { clients: number; records: number; relays: number; maxClients: number; maxRecords: number; maxRelays: number; busyClients: number; busyRecords: number; busyRelays: number }>();
  w.onEvent((e) => {
    if (e.name === 'login.retry' || e.name === 'login.fail' || e.name === 'login.busy' || e.name === 'sn.busy' || e.name === 'sn.lost' || e.name === 'hc.noanswer') retries.set(`${e.name}:${e.kv.reason ?? ''}`, (retries.get(`${e.name}:${e.kv.reason ?? ''}`) ?? 0) + 1);
    if (e.name === 'login.ok') {
      if (!firstLogin.has(e.node)) firstLogin.set(e.node, { ms: Number(e.kv.ms), bytes: e.counters.wireSent + e.counters.wireRecv });
      loginOk.set(e.node, { ms: Number(e.kv.ms), bytes: e.counters.wireSent + e.counters.wireRecv, sn: e.kv.sn, t: e.timeUs });
    }
    if (e.name === 'sn.search') snSearches.push({ msgs: Number(e.kv.msgs), bytes: Number(e.kv.bytes) });
    if (e.name === 'sn.load') {
      const k = (f: string) => Number(e.kv[f] ?? 0);
      const cur = snLoadPeak.get(e.node) ?? { clients: 0, records: 0, relays: 0, maxClients: 0, maxRecords: 0, maxRelays: 0, busyClients: 0, busyRecords: 0, busyRelays: 0 };
      cur.clients = Math.max(cur.clients, k('clients')); cur.records = Math.max(cur.records, k('records')); cur.relays = Math.max(cur.relays, k('relays'));
      cur.maxClients = k('maxClients'); cur.maxRecords = k('maxRecords'); cur.maxRelays = k('maxRelays');
      cur.busyClients = k('busyClients'); cur.busyRecords = k('busyRecords'); cur.busyRelays = k('busyRelays');
      snLoadPeak.set(e.node, cur);
    }
  });
  o.onWorld?.(w);
  // Keep world.events small at scale: the report reads only the listener's maps.
  const trimEvents = () => { if (w.events.length > 20000) w.events.splice(0, w.events.length); w.logs.length = 0; };

  const step = (untilUs: number, pred: () => boolean = () => false) => {
    while (w.sched.nowUs < untilUs) {
      const next = Math.min(untilUs, w.sched.nowUs + 2e6);
      const held = w.runUntil(pred, next);
      sampleRss(); trimEvents();
      if (held) return true;
    }
    return pred();
  };
  const loginDeadline = 5e6 + arrivalUs + 30e6;
  step(loginDeadline, () => loginOk.size >= nPh);
  log(`login trouble: ${JSON.stringify(Object.fromEntries(retries))}`);
  log(`logins: ${loginOk.size}/${nPh} at ${(w.sched.nowUs / 1e6).toFixed(1)} s (wall ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const rssPerNodeKb = Math.round((process.memoryUsage().rss - rss0) / 1024 / o.nodes);
  let search: SearchStats = { count: 0, successRate: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, bytesMean: 0, snMsgsMean: 0, snDhtBytesMean: 0, failures: [] };
  let churn: ScaleReport['churn'];
  let storm: ScaleReport['storm'];

  // Some phones leave: searched later as offline but seen (their records stay 72 h).
  const offlineShare = o.offlineShare ?? 0.1;
  const offline = new Set<string>();
  /** When each phone restarted in the storm (its login after that makes it online again). */
  const rebootAt = new Map<string, number>();
  for (const p of phones) if (loginOk.has(p.name) && rng.u32() / 2 ** 32 < offlineShare) { p.powerOff(); offline.add(p.name); }
  o.onPhase?.(makeReport());
  step(w.sched.nowUs + 30e6);

  const clients: SearchClient[] = [];
  const nClients = Math.min(16, nSn);
  const liveSn = () => sns.filter((s) => s.crash === null);
  const newClients = () => {
    clients.splice(0).forEach((c) => c.close());
    const live = liveSn();
    for (let i = 0; i < nClients; i++) {
      const s = live[(rng.u32() >>> 0) % live.length];
      const h = w.net.addHost(`sc${w.sched.nowUs}-${i}`, dotted(((47 << 24) | ((w.sched.nowUs / 1e6) & 0xffff) << 8) + i + 1), { link: w.accessLink });
      clients.push(new SearchClient(h, w.sched, s.host.ip, 33033));
    }
  };

  /** `lenient` (during churn or a storm): finding the user's record, online or offline, counts as success. */
  const searchRound = (count: number, lenient = false): SearchStats => {
    newClients();
    const ev0 = snSearches.length;
    const targets = phones.filter((p) => loginOk.has(p.name));
    const outcomes: { o: SearchOutcome; want: 'online' | 'offline'; limbo: boolean }[] = [];
    let sent = 0;
    const par = o.searchParallel ?? 8;
    const issue = () => {
      if (sent >= count) return;
      const p = targets[(rng.u32() >>> 0) % targets.length];
      const want = offline.has(p.name) ? 'offline' : 'online';
      // Restarted in a storm and not logged in again yet: neither online nor cleanly offline; its last record
      // (online or offline) is the right answer.
      const limbo = want === 'online' && (p.crash !== null || loginOk.get(p.name)!.t < (rebootAt.get(p.name) ?? 0));
      const c = clients[sent % clients.length];
      sent++;
      c.search(`user${p.name.slice(1)}`, (out) => { outcomes.push({ o: out, want, limbo }); w.sched.after(10_000, issue); });
    };
    step(w.sched.nowUs + 1e6); // client connections up
    for (let i = 0; i < par; i++) issue();
    step(w.sched.nowUs + count * 3e6, () => outcomes.length >= count);
    const ok = outcomes.filter((x) => x.o.result === x.want || ((x.want === 'offline' || lenient || x.limbo) && (x.o.result === 'online' || x.o.result === 'offline')));
    const ms = outcomes.map((x) => x.o.ms);
    return {
      count: outcomes.length, successRate: outcomes.length ? ok.length / outcomes.length : 0,
      p50Ms: pct(ms, 50), p95Ms: pct(ms, 95), p99Ms: pct(ms, 99),
      bytesMean: Math.round(outcomes.reduce((a, x) => a + x.o.bytes, 0) / Math.max(1, outcomes.length)),
      snMsgsMean: mean(snSearches.slice(ev0).map((x) => x.msgs)),
      snDhtBytesMean: mean(snSearches.slice(ev0).map((x) => x.bytes)),
      failures: outcomes.filter((x) => !ok.includes(x)).slice(0, 10).map((x) => `${x.o.name}: want ${x.want} got ${x.o.result}`),
      notBackYet: outcomes.filter((x) => x.limbo).length,
    };
  };

  const nSearch = Math.max(o.searches ?? 1000, 1);
  search = searchRound(nSearch);
  log(`search: ${search.count} success ${search.successRate} p50 ${search.p50Ms} ms p99 ${search.p99Ms} ms`);

  o.onPhase?.(makeReport());
  if ((o.killSnShare ?? 0) > 0) {
    // Victims drawn at random among all supernodes, bootstrap ones included (phones then need their host caches).
    const pool = [...sns];
    for (let i = pool.length - 1; i > 0; i--) { const j = (rng.u32() >>> 0) % (i + 1); [pool[i], pool[j]] = [pool[j], pool[i]]; }
    const victims = pool.slice(0, Math.round(nSn * o.killSnShare!));
    const victimEps = new Set(victims.map((s) => `${ipToString(s.host.ip)}:33033`));
    const affected = phones.filter((p) => !offline.has(p.name) && loginOk.has(p.name) && victimEps.has(loginOk.get(p.name)!.sn));
    const tKill = w.sched.nowUs;
    for (const v of victims) v.powerOff();
    const online = phones.filter((p) => !offline.has(p.name) && loginOk.has(p.name));
    const relogged = () => online.filter((p) => { const l = loginOk.get(p.name)!; return !victimEps.has(l.sn) || l.t > tKill; }).length;
    const searchDuring = searchRound(Math.max(100, Math.floor(nSearch / 5)), true);
    step(tKill + 300e6, () => relogged() >= 0.99 * online.length);
    const r = relogged();
    const relogin99S = r >= 0.99 * online.length ? (w.sched.nowUs - tKill) / 1e6 : null;
    step(w.sched.nowUs + 60e6);
    const searchAfter = searchRound(Math.max(200, Math.floor(nSearch / 2)));
    churn = { killedSn: victims.length, affectedPhones: affected.length, relogin99S, reloggedShare: r / Math.max(1, online.length), searchDuring, searchAfter };
    log(`churn: killed ${victims.length} SNs, ${affected.length} phones affected, 99 % back after ${relogin99S} s; search after ${searchAfter.successRate}`);
  }

  if (churn) o.onPhase?.(makeReport());
  if ((o.stormS ?? 0) > 0) {
    // Login storm (b), Skype's August 2007 outage: every online phone restarts within stormS seconds.
    const online = phones.filter((p) => !offline.has(p.name) && loginOk.has(p.name) && p.crash === null);
    const tStorm = w.sched.nowUs;
    const windowUs = o.stormS! * 1e6;
    const retries0 = new Map(retries);
    for (const p of online) {
      p.powerOff();
      w.sched.at(tStorm + Math.floor((rng.u32() / 2 ** 32) * windowUs), () => { rebootAt.set(p.name, w.sched.nowUs); p.reboot(); });
    }
    const relogged = () => online.filter((p) => loginOk.get(p.name)!.t > tStorm).length;
    step(tStorm + 5e6);
    const searchDuring = searchRound(Math.max(100, Math.floor(nSearch / 5)), true);
    step(tStorm + 600e6, () => relogged() >= 0.99 * online.length);
    const r = relogged();
    const relogin99S = r >= 0.99 * online.length ? (w.sched.nowUs - tStorm) / 1e6 : null;
    const loginRetries: Record<string, number> = {};
    for (const [k, v] of retries) if (v - (retries0.get(k) ?? 0) > 0) loginRetries[k] = v - (retries0.get(k) ?? 0);
    step(w.sched.nowUs + 30e6);
    const searchAfter = searchRound(Math.max(200, Math.floor(nSearch / 2)));
    storm = { phones: online.length, windowS: o.stormS!, relogin99S, reloggedShare: r / Math.max(1, online.length), loginRetries, searchDuring, searchAfter };
    log(`storm: ${online.length} phones restarted within ${o.stormS} s, 99 % back after ${relogin99S} s; search during ${searchDuring.successRate} after ${searchAfter.successRate}`);
  }

  clients.forEach((c) => c.close());
  o.inspect?.(w, sns, [search, churn?.searchDuring, churn?.searchAfter, storm?.searchDuring, storm?.searchAfter].flatMap((x) => x?.failures ?? []));
  const final = makeReport();
  w.close();
  return final;

  /** The report from what has been measured so far (also written after each phase by the CLI). */
  function makeReport(): ScaleReport {
    const perSn = new Map<string, number>();
    for (const [name, l] of loginOk) if (!offline.has(name)) perSn.set(l.sn, (perSn.get(l.sn) ?? 0) + 1);
    const loads = sns.map((s) => perSn.get(`${ipToString(s.host.ip)}:33033`) ?? 0);
    const loginMs = [...firstLogin.values()].map((l) => l.ms);
    const wallS = (Date.now() - t0) / 1000;
    sampleRss();
    return {
      nodes: o.nodes, supernodes: nSn, phones: nPh, seed,
      loggedIn: firstLogin.size, loginTrouble: Object.fromEntries(retries), loginMs: { p50: pct(loginMs, 50), p95: pct(loginMs, 95), p99: pct(loginMs, 99) },
      bytesPerLoginMean: Math.round([...firstLogin.values()].reduce((a, l) => a + l.bytes, 0) / Math.max(1, firstLogin.size)),
      search, churn, storm, snPeak: loadSummary(),
      loginServer: { hashes: w.login.store.kdfCount, shed: w.login.service.stats.shed, logins: w.login.service.stats.login, registers: w.login.service.stats.register },
      snLoad: { clientsMin: Math.min(...loads), clientsP50: pct(loads, 50), clientsMax: Math.max(...loads), clientsMean: Math.round(loads.reduce((a, b) => a + b, 0) / loads.length) },
      virtualS: w.sched.nowUs / 1e6, wallS, peakRssMb: Math.round(peakRss / 2 ** 20), rssPerNodeKb,
      nodeVirtualSecondsPerWallSecond: Math.round((o.nodes * w.sched.nowUs / 1e6) / wallS),
    };
  }
  function loadSummary(): ScaleReport['snPeak'] {
    const v = [...snLoadPeak.values()];
    if (v.length === 0) return undefined;
    return {
      clients: dist(v.map((x) => x.clients)), records: dist(v.map((x) => x.records)), relays: dist(v.map((x) => x.relays)),
      limits: { clients: v[0].maxClients, records: v[0].maxRecords, relays: v[0].maxRelays },
      overLimit: v.filter((x) => x.clients > x.maxClients || x.records > x.maxRecords || x.relays > x.maxRelays).length,
      busyClients: v.reduce((a, x) => a + x.busyClients, 0), busyRecords: v.reduce((a, x) => a + x.busyRecords, 0), busyRelays: v.reduce((a, x) => a + x.busyRelays, 0),
    };
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const known = new Set(['nodes', 'seed', 'searches', 'kill-sn', 'storm', 'arrival', 'login-workers', 'out']);
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith('--') || !known.has(args[i].slice(2)) || i + 1 >= args.length) {
      process.stderr.write(`scale: bad argument ${args[i]} (usage: --nodes N [--searches N] [--kill-sn F] [--storm S] [--arrival S] [--login-workers N] [--seed N] [--out FILE])\n`); process.exit(2);
    }
  }
  const get = (k: string, d: number) => { const i = args.indexOf(`--${k}`); return i >= 0 ? Number(args[i + 1]) : d; };
  const nodes = get('nodes', 1000);
  if (!Number.isInteger(nodes) || nodes < 30) { process.stderr.write('scale: --nodes must be an integer >= 30\n'); process.exit(2); }
  for (const k of ['seed', 'searches', 'kill-sn', 'storm', 'arrival', 'login-workers']) {
    const v = get(k, 0);
    if (!Number.isFinite(v) || v < 0 || (k === 'kill-sn' && v > 1) || (k === 'login-workers' && !Number.isInteger(v))) { process.stderr.write(`scale: bad --${k}\n`); process.exit(2); }
  }
  const oi = args.indexOf('--out');
  const out = path.resolve(oi >= 0 ? args[oi + 1] : 'out/scale-report.json');
  const write = (r: object) => { fs.mkdirSync(path.dirname(out), { recursive: true }); fs.writeFileSync(out, JSON.stringify(r, null, 2) + '\n'); };
  const report = runScale({
    nodes, seed: get('seed', 1), searches: get('searches', 1000), killSnShare: get('kill-sn', 0), stormS: get('storm', 0),
    arrivalS: get('arrival', 0) || undefined, loginWorkers: get('login-workers', 0) || undefined,
    log: (s) => process.stderr.write(s + '\n'),
    onPhase: (r) => write({ ...r, partial: true }),
  });
  write(report);
  process.stdout.write(JSON.stringify({ nodes: report.nodes, search: report.search, churn: report.churn?.relogin99S, storm: report.storm?.relogin99S, wallS: report.wallS, peakRssMb: report.peakRssMb }) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
