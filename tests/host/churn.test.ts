// Issue #5, churn at a few hundred nodes: (a) 30 % of the supernodes die at once — phones log in again through
// their host caches (spread over the cached supernodes, with backoff and jitter) and searches keep finding
// users (records live at k = 8 supernodes); (b) a login storm: every online phone restarts within 60 s
// (Skype's August 2007 outage). No supernode goes over its limits. Also checks the scale report's shape
// (host-sim/scale.ts, `npm run scale`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScale } from '../../host-sim/scale.js';

test('churn: 30 % of the supernodes killed at once, then a login storm of every phone within 60 s — ≥ 99 % back within 5 min, searches succeed, no supernode over its limits', () => {
  const r = runScale({ nodes: 200, seed: 5, searches: 300, killSnShare: 0.3, stormS: 60, offlineShare: 0.1 });
  assert.equal(r.supernodes, 20);
  assert.ok(r.loggedIn >= 0.99 * r.phones, `logged in ${r.loggedIn}/${r.phones}`);
  for (const k of ['count', 'successRate', 'p50Ms', 'p95Ms', 'p99Ms', 'bytesMean'] as const) assert.equal(typeof r.search[k], 'number', k);
  assert.equal(r.search.count, 300);
  assert.equal(r.search.successRate, 1, `steady state: ${r.search.failures.join('; ')}`);
  assert.ok(r.search.p50Ms <= 500 && r.search.p99Ms <= 2000, `p50 ${r.search.p50Ms} p99 ${r.search.p99Ms}`);
  assert.ok(r.search.bytesMean <= 1024, `${r.search.bytesMean} B per search`);
  const c = r.churn!;
  assert.equal(c.killedSn, 6);
  assert.ok(c.affectedPhones > 0, 'some phones lost their supernode');
  assert.ok(c.relogin99S !== null && c.relogin99S <= 300, `99 % logged in again after ${c.relogin99S} s`);
  assert.ok(c.searchDuring.successRate >= 0.999, `during churn ${c.searchDuring.successRate}: ${c.searchDuring.failures.join('; ')}`);
  assert.ok(c.searchAfter.successRate >= 0.999, `after churn ${c.searchAfter.successRate}: ${c.searchAfter.failures.join('; ')}`);
  const s = r.storm!;
  assert.ok(s.phones > 100);
  assert.ok(s.relogin99S !== null && s.relogin99S <= 300, `storm: 99 % logged in again after ${s.relogin99S} s`);
  assert.ok(s.searchDuring.successRate >= 0.99, `during the storm ${s.searchDuring.successRate}: ${s.searchDuring.failures.join('; ')}`);
  assert.equal(s.searchAfter.successRate, 1, `after the storm: ${s.searchAfter.failures.join('; ')}`);
  const p = r.snPeak!;
  assert.equal(p.overLimit, 0, 'no supernode over its limits');
  assert.ok(p.clients.max <= p.limits.clients && p.records.max <= p.limits.records && p.relays.max <= p.limits.relays);
  assert.ok(r.peakRssMb > 0 && r.wallS > 0);
});

test('login storm against a small login server (1 hashing worker: 20 hashes/s): it sheds load with BUSY instead of queueing past the phones\' timeout; no attempt times out, no hash is wasted, searches after succeed', () => {
  const r = runScale({ nodes: 200, seed: 6, searches: 100, stormS: 1, loginWorkers: 1 });
  const s = r.storm!;
  assert.ok(s.phones >= 150, `${s.phones} phones in the storm`);
  assert.ok(r.loginServer.shed > 0, 'the server turned requests away');
  assert.ok((s.loginRetries['login.busy:'] ?? 0) > 0, `storm login trouble ${JSON.stringify(s.loginRetries)}`);
  const retries = Object.keys(r.loginTrouble).filter((k) => k.startsWith('login.retry') || k.startsWith('login.fail'));
  assert.deepEqual(retries, [], `no login attempt failed or timed out: ${JSON.stringify(r.loginTrouble)}`);
  // Every hash ran for a request that got its answer: REGISTER + LOGIN requests = hashes + turned away.
  assert.equal(r.loginServer.hashes + r.loginServer.shed, r.loginServer.logins + r.loginServer.registers);
  // The server needs phones / 20 s of hashing; the phones are back about then (a storm window of 1 s).
  assert.ok(s.relogin99S !== null && s.relogin99S <= s.phones / 20 + 15, `99 % back after ${s.relogin99S} s`);
  assert.equal(s.searchAfter.successRate, 1, `after the storm: ${s.searchAfter.failures.join('; ')}`);
});
