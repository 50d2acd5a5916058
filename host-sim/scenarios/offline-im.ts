/**
 * `npm start -- --scenario offline-im` (issue #8 "Offline delivery", issue #7 gap 2 "held IMs sealed"): bob's
 * phone (behind a NAT) logs in once and is switched off; alice (behind a NAT) then sends him three IMs. They are
 * sealed, per device, to the key certified in bob's last presence record and held — ciphertext only — at his
 * index supernodes (the k closest to his key in the DHT; no message server). 25 h later, bob's 24 h certificate
 * having expired, alice sends one more (sealed to the same key: the signature is still good and the record is
 * within its 72 h). After 26 h bob's phone boots and logs in again: the IMs arrive, once, in order, with sealed
 * receipts to alice. carol (also seen once, then off) gets one IM that waits 73 h: it has expired (72 h) and never
 * arrives. dave is registered but his phone was never seen: alice's IM to him cannot be held and fails on her
 * screen. What the holders store is dumped from their firmware (`im --held`) and searched for the texts.
 * Option `tamper`: that supernode alters every copy it holds before bob logs in (a malicious holder).
 * Writes OUT/offline-im-report.json with "ok" and the figures; virtual time, reproducible by seed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneWorld, type World } from '../world.js';
import { natPresets } from '../net/network.js';
import type { FirmwareNode } from '../firmware.js';
import { eventsOf, imCommand, imFigures, textSha, typeLine, waitFor, IM_TEXTS, type MultiloginReport } from './multilogin.js';

export interface OfflineImOpts {
  seed: number; outDir: string; verbose?: boolean;
  /** Skip the 73 h expiry part (tests run it separately). */
  noExpiry?: boolean;
  /** A supernode that alters every held copy it stores before bob logs in. */
  tamper?: string;
}

/** What the index supernodes hold (their firmware's `im --held` dump). */
export interface HeldDump {
  /** Copies held for bob at each supernode, their total bytes, and the bytes of each (inner IM with its type byte). */
  copies: Record<string, number>;
  bytes: Record<string, number>;
  copyBytes: number[];
  /** Whether any held copy contains a text sent (or a 12-byte run of one), or the sender's or receiver's receipt fields. */
  textFound: boolean;
  /** Held copies refused for being in clear (none should be offered). */
  refusedClear: number;
}

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
  /** Hours between bob's phone going off and its login. */
  offlineHours: number;
  /** ms from bob's login.ok to each held IM's arrival. */
  afterLoginMs: number[];
  /** Bytes of one held copy (what a holder stores per fragment and device) for each message: sealed now, and in the old clear layout. */
  heldBytes: { text: number; sealed: number; clear: number }[];
  /** The IM sent 25 h after bob left (his certificate expired): delivered, with a receipt. */
  expiredCert?: { sentAfterHours: number; held: boolean; delivered: boolean; receipt: boolean };
  /** The IM to dave (never seen): refused, shown on alice's screen. */
  neverSeen?: { failed: boolean; reason: string; shown: boolean };
  /** Sealed receipts that reached alice, and receipts the supernodes forwarded in clear while bob fetched. */
  sealedReceipts: number;
  clearReceiptsForwarded: number;
  dump?: HeldDump;
  /** With `tamper`: copies altered, and bob's rejected seals. */
  tampered?: { sn: string; copies: number; rejectedByBob: number };
  im?: NonNullable<MultiloginReport['im']>;
  expiry?: { offlineHours: number; delivered: number; expiredAtHolders: boolean };
}

const ms = (us: number) => Math.round(us / 100) / 10;
const HOUR_US = 3600 * 1_000_000;
export const OFFLINE_HOURS = 26;
/** When alice sends the last IM: bob's certificate (24 h) has expired by then. */
export const EXPIRED_CERT_HOURS = 25;
export const EXPIRY_HOURS = 73;
export const LATE_TEXT = 'sent after your certificate expired';
const SNS = ['sn1', 'sn2', 'sn3'];

/** The world: backbone; alice, bob and carol boot at once (bob and carol are switched off later); dave is registered but never boots. */
export function offlineWorld(seed: number): { w: World; alice: FirmwareNode; bob: FirmwareNode; carol: FirmwareNode } {
  const w = backboneWorld(seed, 3);
  w.login.store.register('bob', 'bob-secret-22');
  w.login.store.register('carol', 'carol-secret-3');
  w.login.store.register('dave', 'dave-secret-44');
  const nat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
  const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
  const bobNat = w.net.addNat('bob-nat', '203.0.113.20', natPresets['port-restricted-cone']);
  const bob = w.addNode('bob', '192.168.7.20', { user: 'bob', password: 'bob-secret-22' }, { behind: bobNat, bootAtUs: 1_000_000 });
  const carol = w.addNode('carol', '198.51.100.77', { user: 'carol', password: 'carol-secret-3' }, { bootAtUs: 1_000_000 });
  return { w, alice, bob, carol };
}

/** Runs a console line on n and returns what it printed. */
export function consoleOut(w: World, n: FirmwareNode, line: string): string {
  const before = n.uart.out.length;
  typeLine(n, line);
  w.runUntil(() => false, w.sched.nowUs + 50_000);
  return Buffer.from(n.uart.out.slice(before)).toString('utf8');
}

/** The held copies of every supernode (`im --held`), searched for the texts. */
export function heldDump(w: World, texts: string[], user = 'bob'): HeldDump {
  const d: HeldDump = { copies: {}, bytes: {}, copyBytes: [], textFound: false, refusedClear: 0 };
  const needles: Buffer[] = [];
  for (const t of texts) {
    const b = Buffer.from(t, 'utf8');
    if (b.length <= 24) needles.push(b);
    else for (let i = 0; i + 12 <= b.length; i += 12) needles.push(b.subarray(i, i + 12));
  }
  for (const sn of SNS) {
    const out = consoleOut(w, w.node(sn), 'im --held');
    d.refusedClear += +(/refused=(\d+)/.exec(out)?.[1] ?? 0);
    const parts = new Map<string, Buffer[]>();
    for (const line of out.split(/\r?\n/)) {
      const m = /^held (\d+) (\S+) (\S+) (\d+) (\d+) ([0-9a-f]+)$/.exec(line.trim());
      if (!m || m[2] !== user) continue;
      const a = parts.get(m[1]) ?? [];
      a[+m[5]] = Buffer.from(m[6], 'hex');
      parts.set(m[1], a);
    }
    let copies = 0, bytes = 0;
    for (const a of parts.values()) {
      const data = Buffer.concat(a);
      copies++; bytes += data.length; d.copyBytes.push(data.length);
      if (needles.some((n) => data.includes(n))) d.textFound = true;
    }
    d.copies[sn] = copies; d.bytes[sn] = bytes;
  }
  return d;
}

/** Bytes of one held copy in the layout before issue #7 gap 2 (clear text; toUser = the user name). */
export function clearHeldBytes(from: string, to: string, textBytes: number): number {
  return 1 + 1 + 1 + Buffer.byteLength(from) + 12 + 1 + Buffer.byteLength(to) + 12 + 2 + 2 + textBytes;
}

export function runOfflineIm(o: OfflineImOpts): OfflineImReport {
  const { w, alice, bob, carol } = offlineWorld(o.seed);
  const failures: string[] = [];
  const rep: OfflineImReport = {
    scenario: 'offline-im', seed: o.seed, ok: false, failures, virtualMs: 0, held: 0, storedCopies: 0, holders: 0,
    offlineHours: OFFLINE_HOURS, afterLoginMs: [], heldBytes: [], sealedReceipts: 0, clearReceiptsForwarded: 0,
  };
  try {
    for (const n of ['alice', 'bob', 'carol']) if (!waitFor(w, n, 'login.ok', {}, 0, 60_000_000)) { failures.push(`${n} did not log in`); return rep; }
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    // bob and carol switch their phones off: their supernodes store their last (offline) records.
    const off = w.sched.nowUs;
    bob.powerOff(); carol.powerOff();
    for (const u of ['bob', 'carol']) {
      const seen = () => w.events.some((e) => e.name === 'sn.offline' && e.kv.user === u && e.timeUs >= off);
      if (!seen()) w.runUntil(seen, off + 400_000_000);
      if (!seen()) failures.push(`${u}'s supernode did not notice`);
    }
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const offUs = w.sched.nowUs;
    const t0 = w.sched.nowUs;
    for (const [i, text] of IM_TEXTS.entries()) w.sched.at(t0 + 200_000 * (i + 1), () => typeLine(alice, imCommand('bob', text)));
    w.sched.at(t0 + 1_000_000, () => typeLine(alice, 'im carol this one waits 73 hours'));
    w.sched.at(t0 + 1_200_000, () => typeLine(alice, 'im dave you were never seen'));
    w.runUntil(() => eventsOf(w, 'alice', 'im.held', t0).length >= IM_TEXTS.length + 1 && eventsOf(w, 'alice', 'im.failed', t0).length >= 1, t0 + 30_000_000);
    rep.held = eventsOf(w, 'alice', 'im.held', t0).length;
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const holds = w.events.filter((e) => e.name === 'sn.im.hold' && e.timeUs >= t0);
    rep.holders = holds.length ? Math.max(...holds.map((e) => +e.kv.holders)) : 0;
    rep.storedCopies = holds.reduce((a, e) => a + +e.kv.holders, 0);
    if (rep.held !== IM_TEXTS.length + 1) failures.push(`${rep.held} IMs held of ${IM_TEXTS.length + 1}`);
    // dave: no record, no key: refused at once, shown on alice's phone.
    const fail = eventsOf(w, 'alice', 'im.failed', t0).find((e) => e.kv.to === 'dave');
    const shown = eventsOf(w, 'alice', 'ui.message', t0).some((e) => e.kv.text.startsWith('IM_to_dave_failed'));
    rep.neverSeen = { failed: !!fail, reason: fail?.kv.reason ?? '', shown };
    if (!fail || !shown) failures.push(`the IM to dave (never seen) did not fail visibly (${fail?.kv.reason ?? 'no im.failed'}, shown ${shown})`);
    if (eventsOf(w, 'alice', 'im.held', t0).some((e) => e.kv.to === 'dave')) failures.push('an IM to dave (no key) was held');

    // 25 h after bob left: his certificate has expired; the record (72 h) still has his key.
    const tLate = offUs + EXPIRED_CERT_HOURS * HOUR_US;
    w.runUntil(() => false, tLate);
    typeLine(alice, imCommand('bob', LATE_TEXT));
    const lateHeld = waitFor(w, 'alice', 'im.held', { to: 'bob' }, tLate, 15_000_000);
    const lateSend = eventsOf(w, 'alice', 'im.send', tLate).at(0);
    rep.expiredCert = { sentAfterHours: EXPIRED_CERT_HOURS, held: !!lateHeld, delivered: false, receipt: false };
    if (!lateHeld) failures.push('the IM sent after bob\'s certificate expired was not held');
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);

    // What the holders store: ciphertext only.
    const allTexts = [...IM_TEXTS, LATE_TEXT];
    rep.dump = heldDump(w, allTexts);
    if (rep.dump.textFound) failures.push('a held copy contains IM text');
    if (rep.dump.refusedClear) failures.push(`${rep.dump.refusedClear} held copies were offered in clear`);
    const heldEv = eventsOf(w, 'alice', 'im.held', t0).filter((e) => e.kv.to === 'bob');
    rep.heldBytes = heldEv.map((e, i) => {
      const text = Buffer.byteLength(allTexts[i], 'utf8');
      const frags = +e.kv.frags;
      const clear = Array.from({ length: frags }, (_, f) => clearHeldBytes('alice/xxxxxxxx', 'bob', Math.min(1000, text - 1000 * f))).reduce((a, b) => a + b, 0);
      return { text, sealed: +e.kv.bytes, clear };
    });
    if (o.tamper) rep.tampered = { sn: o.tamper, copies: +(/tampered (\d+)/.exec(consoleOut(w, w.node(o.tamper), 'im --held-tamper'))?.[1] ?? 0), rejectedByBob: 0 };

    // bob's phone boots again.
    const bootAt = offUs + OFFLINE_HOURS * HOUR_US;
    w.runUntil(() => false, bootAt);
    const acks0 = SNS.map((n) => +(/acksClear=(\d+)/.exec(consoleOut(w, w.node(n), 'im --held'))?.[1] ?? 0));
    bob.reboot();
    const login = waitFor(w, 'bob', 'login.ok', {}, bootAt, 60_000_000);
    if (!login) { failures.push('bob did not log in'); return rep; }
    w.runUntil(() => eventsOf(w, 'alice', 'im.receipt', login.timeUs).length >= IM_TEXTS.length + 1, login.timeUs + 30_000_000);
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    const recv = eventsOf(w, 'bob', 'im.recv', login.timeUs);
    rep.afterLoginMs = recv.map((e) => ms(e.timeUs - login.timeUs));
    if (recv.some((e) => e.kv.held !== '1')) failures.push('an IM arrived not from the held store');
    rep.im = imFigures(w, 'alice', ['bob'], IM_TEXTS, t0, failures);
    if (lateSend) {
      rep.expiredCert.delivered = recv.some((e) => e.kv.msgId === lateSend.kv.msgId && e.kv.sha === textSha(LATE_TEXT));
      rep.expiredCert.receipt = eventsOf(w, 'alice', 'im.receipt', login.timeUs).some((e) => e.kv.msgId === lateSend.kv.msgId);
    }
    if (!rep.expiredCert.delivered || !rep.expiredCert.receipt) failures.push(`IM sealed to the expired certificate's key: delivered ${rep.expiredCert.delivered}, receipt ${rep.expiredCert.receipt}`);
    const receipts = eventsOf(w, 'alice', 'im.receipt', login.timeUs);
    rep.sealedReceipts = receipts.filter((e) => e.kv.sealed === '1').length;
    if (rep.sealedReceipts !== receipts.length) failures.push('a receipt of a held IM was not sealed');
    const acks1 = SNS.map((n) => +(/acksClear=(\d+)/.exec(consoleOut(w, w.node(n), 'im --held'))?.[1] ?? 0));
    rep.clearReceiptsForwarded = acks1.reduce((a, v, i) => a + v - acks0[i], 0);
    if (rep.clearReceiptsForwarded) failures.push(`${rep.clearReceiptsForwarded} receipts crossed the supernodes in clear`);
    const bobStats = consoleOut(w, bob, 'im');
    const sealFail = +(/sealfail=(\d+)/.exec(bobStats)?.[1] ?? -1);
    if (rep.tampered) {
      rep.tampered.rejectedByBob = sealFail;
      if (sealFail < 1) failures.push('bob accepted (or never saw) the tampered copies');
    } else if (sealFail !== 0) failures.push(`bob rejected ${sealFail} held copies`);

    if (!o.noExpiry) {
      const carolBoot = offUs + EXPIRY_HOURS * HOUR_US;
      w.runUntil(() => false, carolBoot);
      carol.reboot();
      const cl = waitFor(w, 'carol', 'login.ok', {}, carolBoot, 60_000_000);
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
  L.push(`  held     ${r.held} IMs to offline users, each at ${r.holders} index supernodes (${r.storedCopies} fragment copies), sealed per device`);
  if (r.heldBytes.length) L.push(`  bytes    per held message (all fragments, one device): ${r.heldBytes.map((h) => `${h.text} B text → ${h.sealed} B sealed (clear layout ${h.clear} B)`).join('; ')}`);
  if (r.dump) L.push(`  holders  ${Object.entries(r.dump.copies).map(([n, c]) => `${n} ${c} copies ${r.dump!.bytes[n]} B`).join(', ')}; IM text in them: ${r.dump.textFound ? 'FOUND' : 'none'}`);
  if (r.im) L.push(`  delivery bob logged in after ${r.offlineHours} h: ${r.im.perDevice.bob?.received ?? 0}/${r.im.messages.length} IMs ` +
    `(${r.im.perDevice.bob?.inOrder && r.im.perDevice.bob?.exactlyOnce && r.im.perDevice.bob?.contentOk ? 'in order, once, content ok' : 'BAD'}) ` +
    `${r.afterLoginMs.join(', ')} ms after login; receipts ${r.im.receipts}/${r.im.expectedReceipts} (sealed ${r.sealedReceipts}, clear through the supernodes ${r.clearReceiptsForwarded})`);
  if (r.expiredCert) L.push(`  expired  IM sent ${r.expiredCert.sentAfterHours} h after bob left (his certificate expired): held ${r.expiredCert.held}, delivered ${r.expiredCert.delivered}, receipt ${r.expiredCert.receipt}`);
  if (r.neverSeen) L.push(`  never    IM to dave (never seen): failed ${r.neverSeen.failed} (${r.neverSeen.reason}), shown on alice's phone ${r.neverSeen.shown}`);
  if (r.tampered) L.push(`  tamper   ${r.tampered.sn} altered ${r.tampered.copies} held copies; bob rejected ${r.tampered.rejectedByBob}`);
  if (r.expiry) L.push(`  expiry   carol logged in after ${r.expiry.offlineHours} h: ${r.expiry.delivered} IMs (expired at the holders: ${r.expiry.expiredAtHolders})`);
  return L.join('\n');
}

export function writeOfflineIm(o: OfflineImOpts): OfflineImReport {
  const r = runOfflineIm(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'offline-im-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}
