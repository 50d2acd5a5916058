/**
 * `npm start -- --scenario offline-im` (issue #8 "Offline delivery"): alice (behind a NAT) sends three IMs to
 * bob while none of his phones is on. They are held at bob's index supernodes (the k closest to his key in the
 * DHT; no message server). 24 virtual hours later bob's phone boots and logs in: the IMs arrive, once, in
 * order, with receipts to alice. carol gets one IM that waits 73 h: it has expired (72 h) and never arrives.
 * Writes OUT/offline-im-report.json with "ok" and the figures; virtual time, reproducible by seed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneWorld, type World } from '../world.js';
import { natPresets } from '../net/network.js';
import type { FirmwareNode } from '../firmware.js';
import { eventsOf, imCommand, imFigures, typeLine, waitFor, IM_TEXTS, type MultiloginReport } from './multilogin.js';

export interface OfflineImOpts { seed: number; outDir: string; verbose?: boolean; /** Skip the 73 h expiry part (tests run it separately). */ noExpiry?: boolean }

export interface OfflineImReport {
  scenario: 'offline-im';
  seed: number;
  ok: boolean;
  failures: string[];
  virtualMs: number;
  /** Messages alice's phone reported held (im.held), and copies the supernodes stored. */
  held: number;
  storedCopies: number;
  holders: number;
  /** Hours between sending and bob's login. */
  offlineHours: number;
  /** ms from bob's login.ok to each held IM's arrival. */
  afterLoginMs: number[];
  im?: NonNullable<MultiloginReport['im']>;
  expiry?: { offlineHours: number; delivered: number; expiredAtHolders: boolean };
}

const ms = (us: number) => Math.round(us / 100) / 10;
const HOUR_US = 3600 * 1_000_000;
export const OFFLINE_HOURS = 24;
export const EXPIRY_HOURS = 73;

/** The world: backbone, alice online; bob and carol registered at the login server, their phones boot later. */
export function offlineWorld(seed: number, bobBootUs: number, carolBootUs: number): { w: World; alice: FirmwareNode; bob: FirmwareNode; carol: FirmwareNode } {
  const w = backboneWorld(seed, 3);
  w.login.store.register('bob', 'bob-secret-22');
  w.login.store.register('carol', 'carol-secret-3');
  const nat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
  const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
  const bobNat = w.net.addNat('bob-nat', '203.0.113.20', natPresets['port-restricted-cone']);
  const bob = w.addNode('bob', '192.168.7.20', { user: 'bob', password: 'bob-secret-22' }, { behind: bobNat, bootAtUs: bobBootUs });
  const carol = w.addNode('carol', '198.51.100.77', { user: 'carol', password: 'carol-secret-3' }, { bootAtUs: carolBootUs });
  return { w, alice, bob, carol };
}

export function runOfflineIm(o: OfflineImOpts): OfflineImReport {
  const bobBoot = OFFLINE_HOURS * HOUR_US;
  const carolBoot = o.noExpiry ? 1e15 : EXPIRY_HOURS * HOUR_US;
  const { w, alice } = offlineWorld(o.seed, bobBoot, carolBoot);
  const failures: string[] = [];
  const rep: OfflineImReport = {
    scenario: 'offline-im', seed: o.seed, ok: false, failures, virtualMs: 0, held: 0, storedCopies: 0, holders: 0,
    offlineHours: OFFLINE_HOURS, afterLoginMs: [],
  };
  try {
    if (!waitFor(w, 'alice', 'login.ok', {}, 0, 30_000_000)) { failures.push('alice did not log in'); return rep; }
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const t0 = w.sched.nowUs;
    for (const [i, text] of IM_TEXTS.entries()) w.sched.at(t0 + 200_000 * (i + 1), () => typeLine(alice, imCommand('bob', text)));
    w.sched.at(t0 + 1_000_000, () => typeLine(alice, 'im carol this one waits 73 hours'));
    w.runUntil(() => eventsOf(w, 'alice', 'im.held', t0).length >= IM_TEXTS.length + 1, t0 + 30_000_000);
    rep.held = eventsOf(w, 'alice', 'im.held', t0).length;
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const holds = w.events.filter((e) => e.name === 'sn.im.hold' && e.timeUs >= t0);
    rep.holders = holds.length ? Math.max(...holds.map((e) => +e.kv.holders)) : 0;
    rep.storedCopies = holds.reduce((a, e) => a + +e.kv.holders, 0);
    if (rep.held !== IM_TEXTS.length + 1) failures.push(`${rep.held} IMs held of ${IM_TEXTS.length + 1}`);

    // bob's phone boots after 24 h.
    const login = waitFor(w, 'bob', 'login.ok', {}, 0, bobBoot + 60_000_000 - w.sched.nowUs);
    if (!login) { failures.push('bob did not log in'); return rep; }
    w.runUntil(() => eventsOf(w, 'alice', 'im.receipt', login.timeUs).length >= IM_TEXTS.length, login.timeUs + 30_000_000);
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const recv = eventsOf(w, 'bob', 'im.recv', login.timeUs);
    rep.afterLoginMs = recv.map((e) => ms(e.timeUs - login.timeUs));
    if (recv.some((e) => e.kv.held !== '1')) failures.push('an IM arrived not from the held store');
    rep.im = imFigures(w, 'alice', ['bob'], IM_TEXTS, t0, failures);

    if (!o.noExpiry) {
      const cl = waitFor(w, 'carol', 'login.ok', {}, 0, carolBoot + 60_000_000 - w.sched.nowUs);
      if (!cl) failures.push('carol did not log in');
      else {
        w.runUntil(() => false, cl.timeUs + 10_000_000);
        const got = eventsOf(w, 'carol', 'im.recv', 0).length;
        const fetched = w.events.filter((e) => e.name === 'sn.im.fetch' && e.kv.user === 'carol' && e.timeUs >= cl.timeUs);
        rep.expiry = { offlineHours: EXPIRY_HOURS, delivered: got, expiredAtHolders: fetched.length > 0 && fetched.every((e) => e.kv.held === '0') };
        if (got !== 0) failures.push(`carol got ${got} IM(s) held longer than 72 h`);
      }
    }
    const crashed = ['sn1', 'sn2', 'sn3', 'alice', 'bob'].filter((n) => w.node(n).crash);
    if (crashed.length) failures.push(`crash: ${crashed.join(', ')}`);
  } finally {
    rep.virtualMs = ms(w.sched.nowUs);
    rep.ok = failures.length === 0;
    w.close();
  }
  return rep;
}

export function offlineImSummary(r: OfflineImReport): string {
  const L: string[] = [];
  L.push(`scenario offline-im, seed ${r.seed}: ${r.ok ? 'OK' : `FAILED (${r.failures.join('; ')})`}`);
  L.push(`  held     ${r.held} IMs to offline users, each at ${r.holders} index supernodes (${r.storedCopies} fragment copies)`);
  if (r.im) L.push(`  delivery bob logged in after ${r.offlineHours} h: ${r.im.perDevice.bob?.received ?? 0}/${r.im.messages.length} IMs ` +
    `(${r.im.perDevice.bob?.inOrder && r.im.perDevice.bob?.exactlyOnce && r.im.perDevice.bob?.contentOk ? 'in order, once, content ok' : 'BAD'}) ` +
    `${r.afterLoginMs.join(', ')} ms after login; receipts ${r.im.receipts}/${r.im.expectedReceipts}`);
  if (r.expiry) L.push(`  expiry   carol logged in after ${r.expiry.offlineHours} h: ${r.expiry.delivered} IMs (expired at the holders: ${r.expiry.expiredAtHolders})`);
  return L.join('\n');
}

export function writeOfflineIm(o: OfflineImOpts): OfflineImReport {
  const r = runOfflineIm(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'offline-im-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}
