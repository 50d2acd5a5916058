/**
 * `npm start -- --scenario multilogin` (issue #8 "Multiple logins"): bob is logged in on three phones — one
 * public, one behind a port-restricted NAT, one behind a UDP-blocking firewall — and alice (behind a NAT) on
 * one, on the standard backbone (login server + 3 supernodes).
 *   1. The index holds one record per device: alice's search finds all three.
 *   2. alice calls bob: all three ring (one forked INVITE each); bob answers on the NATed phone 2 s later;
 *      the other two stop ringing (CALL_CANCEL) — the delay after the answer is measured; alice talks 3 s.
 *   3. alice sends three IMs (ASCII, unicode, 2500 bytes): each arrives once, in order, on every bob phone,
 *      with a receipt per phone at alice; latencies measured.
 *   4. Presence: bob shows online while any phone is — two phones off: one device found; all off: held.
 * Writes OUT/multilogin-report.json with "ok" and the figures; virtual time, reproducible by seed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { backboneWorld, type World } from '../world.js';
import { natPresets, firewallPresets } from '../net/network.js';
import type { FirmwareNode, FwEvent } from '../firmware.js';

export interface MultiloginOpts { seed: number; outDir: string; verbose?: boolean }

export interface MultiloginReport {
  scenario: 'multilogin';
  seed: number;
  ok: boolean;
  failures: string[];
  virtualMs: number;
  devices: { name: string; net: string; loggedIn: boolean }[];
  /** Devices of bob alice's search found (search.done devices=N). */
  searchDevices?: number;
  call?: {
    rang: string[]; answeredBy?: string; callerAnswered: boolean;
    /** Per other device: ms from the answer (answering phone's call.answered) to its ringing stopping. */
    ringStopMs: Record<string, number>;
    ringStopMaxMs?: number;
    dialToRingingMs?: number;
    mediaPath?: string;
  };
  im?: {
    messages: { bytes: number; sha: string }[];
    /** Per device: received msgIds in arrival order, and whether that is exactly the sent order. */
    perDevice: Record<string, { received: number; inOrder: boolean; exactlyOnce: boolean; contentOk: boolean }>;
    receipts: number;
    expectedReceipts: number;
    latencyMs: { min: number; max: number; mean: number };
    receiptMs: { max: number };
  };
  presence?: { oneDeviceLeftDevices?: number; allOffHeld: boolean };
}

const ms = (us: number) => Math.round(us / 100) / 10;
export const RING_STOP_BOUND_MS = 1000;

/** Types one console line on a phone's UART. */
export function typeLine(n: FirmwareNode, line: string): void { n.uartInput(new TextEncoder().encode(line + '\r')); }

/** Runs until an event matching (node, name, kv) at or after sinceUs exists; returns it. */
export function waitFor(w: World, node: string, name: string, kv: Record<string, string>, sinceUs: number, limitUs: number): FwEvent | undefined {
  const match = (e: FwEvent) => e.node === node && e.name === name && e.timeUs >= sinceUs && Object.entries(kv).every(([k, v]) => e.kv[k] === v);
  let found = w.events.find(match);
  let seen = w.events.length;
  // Only the events added since the last look are checked (a long run has millions of scheduler steps).
  if (!found) w.runUntil(() => { for (; seen < w.events.length; seen++) if (match(w.events[seen])) { found = w.events[seen]; return true; } return false; }, w.sched.nowUs + limitUs);
  return found;
}

export function eventsOf(w: World, node: string, name: string, sinceUs = 0): FwEvent[] {
  return w.events.filter((e) => e.node === node && e.name === name && e.timeUs >= sinceUs);
}

/** First 16 hex digits of SHA-256 of the UTF-8 text: what the firmware's im.recv reports as `sha`. */
export function textSha(text: string): string { return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex').slice(0, 16); }

export const BOB_PHONES = ['bob1', 'bob2', 'bob3'];

/** The world of the scenario (also tests/host/multilogin.test.ts). */
export function multiloginWorld(seed: number): { w: World; alice: FirmwareNode; bobs: FirmwareNode[]; nets: string[] } {
  const w = backboneWorld(seed, 3);
  const aliceNat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
  const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true }, { behind: aliceNat, bootAtUs: 1_000_000 });
  const bobNat = w.net.addNat('bob2-nat', '203.0.113.20', natPresets['port-restricted-cone']);
  const bobFw = w.net.addFirewall('bob3-fw', { ...firewallPresets['udp-blocked'] });
  const bobs = [
    w.addNode('bob1', '198.51.100.41', { user: 'bob', password: 'bob-secret-22', register: true }, { bootAtUs: 1_000_000 }),
    w.addNode('bob2', '192.168.7.20', { user: 'bob', password: 'bob-secret-22', register: true }, { behind: bobNat, bootAtUs: 1_300_000 }),
    w.addNode('bob3', '198.51.100.43', { user: 'bob', password: 'bob-secret-22', register: true }, { behind: bobFw, bootAtUs: 1_600_000 }),
  ];
  return { w, alice, bobs, nets: ['public', 'port-restricted NAT', 'UDP-blocking firewall'] };
}

export const IM_TEXTS = [
  'hello bob, this is alice',
  'Grüße aus Zürich — 你好 — こんにちは — 🙂📞',
  Array.from({ length: 2500 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''),
];

/** `im NAME TEXT` for printable ASCII, else `imx NAME HEX` (the console line itself is ASCII, ≤ 4096 bytes). */
export function imCommand(to: string, text: string): string {
  return /^[\x21-\x7e][\x20-\x7e]*$/.test(text) ? `im ${to} ${text}` : `imx ${to} ${Buffer.from(text, 'utf8').toString('hex')}`;
}

export function runMultilogin(o: MultiloginOpts): MultiloginReport {
  const { w, alice, bobs, nets } = multiloginWorld(o.seed);
  const failures: string[] = [];
  const rep: MultiloginReport = { scenario: 'multilogin', seed: o.seed, ok: false, failures, virtualMs: 0, devices: [] };
  try {
    const all = ['alice', ...BOB_PHONES];
    w.runUntil(() => all.every((n) => w.find(n, 'login.ok')), 30_000_000);
    for (const [i, n] of BOB_PHONES.entries()) rep.devices.push({ name: n, net: nets[i], loggedIn: !!w.find(n, 'login.ok') });
    if (!all.every((n) => w.find(n, 'login.ok'))) { failures.push('not every phone logged in'); return rep; }
    w.runUntil(() => false, w.sched.nowUs + 3_000_000); // publishes reach the index supernodes

    // 2. The forked call.
    let t0 = w.sched.nowUs;
    typeLine(alice, 'dial bob');
    const sDone = waitFor(w, 'alice', 'search.done', {}, t0, 10_000_000);
    rep.searchDevices = sDone ? +(sDone.kv.devices ?? 1) : 0;
    if (rep.searchDevices !== 3) failures.push(`search found ${rep.searchDevices} of bob's 3 devices`);
    w.runUntil(() => BOB_PHONES.every((n) => eventsOf(w, n, 'call.incoming', t0).length > 0), w.sched.nowUs + 10_000_000);
    const rang = BOB_PHONES.filter((n) => eventsOf(w, n, 'call.incoming', t0).length > 0);
    const call: NonNullable<MultiloginReport['call']> = { rang, callerAnswered: false, ringStopMs: {} };
    rep.call = call;
    if (rang.length !== 3) failures.push(`only ${rang.join(',')} rang`);
    const ringing = waitFor(w, 'alice', 'call.ringing', {}, t0, 5_000_000);
    const dial = eventsOf(w, 'alice', 'call.dial', t0)[0];
    if (ringing && dial) call.dialToRingingMs = ms(ringing.timeUs - dial.timeUs);
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    bobs[1].hook(true);
    const ans = waitFor(w, 'bob2', 'call.answered', {}, t0, 5_000_000);
    const aliceAns = waitFor(w, 'alice', 'call.answered', {}, t0, 5_000_000);
    call.callerAnswered = !!aliceAns;
    if (ans) {
      call.answeredBy = 'bob2';
      for (const n of ['bob1', 'bob3']) {
        const e = waitFor(w, n, 'call.ended', {}, t0, 5_000_000);
        if (!e) { failures.push(`${n} did not stop ringing`); continue; }
        if (e.kv.reason !== 'answered-elsewhere') failures.push(`${n} ended with ${e.kv.reason}`);
        call.ringStopMs[n] = ms(e.timeUs - ans.timeUs);
      }
      const vals = Object.values(call.ringStopMs);
      if (vals.length) call.ringStopMaxMs = Math.max(...vals);
      if ((call.ringStopMaxMs ?? Infinity) > RING_STOP_BOUND_MS) failures.push(`ringing stopped after ${call.ringStopMaxMs} ms (bound ${RING_STOP_BOUND_MS})`);
    } else failures.push('bob2 could not answer');
    if (!aliceAns) failures.push('alice never saw the answer');
    w.runUntil(() => false, w.sched.nowUs + 3_000_000);
    typeLine(alice, 'hangup');
    const aEnd = waitFor(w, 'alice', 'call.ended', {}, t0, 5_000_000);
    if (aEnd?.kv.path) call.mediaPath = aEnd.kv.path;
    waitFor(w, 'bob2', 'call.ended', {}, t0, 5_000_000);
    bobs[1].hook(false);
    w.runUntil(() => false, w.sched.nowUs + 1_000_000);

    // 3. IMs to every device.
    t0 = w.sched.nowUs;
    for (const [i, text] of IM_TEXTS.entries()) w.sched.at(t0 + 100_000 * (i + 1), () => typeLine(alice, imCommand('bob', text)));
    const expected = IM_TEXTS.length * BOB_PHONES.length;
    w.runUntil(() => eventsOf(w, 'alice', 'im.receipt', t0).length >= expected, t0 + 30_000_000);
    rep.im = imFigures(w, 'alice', BOB_PHONES, IM_TEXTS, t0, failures);

    // 4. Presence while any device is online.
    bobs[0].powerOff(); bobs[2].powerOff();
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    t0 = w.sched.nowUs;
    typeLine(alice, 'im bob only bob2 should get this');
    const sent = waitFor(w, 'alice', 'im.sent', {}, t0, 10_000_000);
    rep.presence = { oneDeviceLeftDevices: sent ? +sent.kv.devices : 0, allOffHeld: false };
    if (rep.presence.oneDeviceLeftDevices !== 1) failures.push(`with one phone left alice's IM went to ${rep.presence.oneDeviceLeftDevices} devices`);
    waitFor(w, 'bob2', 'im.recv', {}, t0, 10_000_000) ?? failures.push('bob2 (last device) did not get the IM');
    bobs[1].powerOff();
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    t0 = w.sched.nowUs;
    typeLine(alice, 'im bob nobody is online');
    rep.presence.allOffHeld = !!waitFor(w, 'alice', 'im.held', {}, t0, 15_000_000);
    if (!rep.presence.allOffHeld) failures.push('with every phone off the IM was not held');
    const crashed = ['sn1', 'sn2', 'sn3', 'alice'].filter((n) => w.node(n).crash);
    if (crashed.length) failures.push(`crash: ${crashed.join(', ')}`);
  } finally {
    rep.virtualMs = ms(w.sched.nowUs);
    rep.ok = failures.length === 0;
    w.close();
  }
  return rep;
}

/**
 * IM figures from the events after t0: for every receiving phone, the msgIds of im.recv in order (must be the
 * sent order, each once, with the sent content's hash), receipts at the sender, latencies send → recv.
 */
export function imFigures(w: World, sender: string, phones: string[], texts: string[], t0: number, failures: string[]): NonNullable<MultiloginReport['im']> {
  const sends = eventsOf(w, sender, 'im.send', t0).slice(0, texts.length);
  const ids = sends.map((e) => e.kv.msgId);
  const shas = texts.map(textSha);
  const perDevice: NonNullable<MultiloginReport['im']>['perDevice'] = {};
  const lat: number[] = [];
  for (const n of phones) {
    const recv = eventsOf(w, n, 'im.recv', t0).filter((e) => ids.includes(e.kv.msgId));
    const got = recv.map((e) => e.kv.msgId);
    const inOrder = got.length === ids.length && got.every((id, i) => id === ids[i]);
    const exactlyOnce = new Set(got).size === got.length && got.length === ids.length;
    const contentOk = recv.every((e) => shas[ids.indexOf(e.kv.msgId)] === e.kv.sha);
    perDevice[n] = { received: got.length, inOrder, exactlyOnce, contentOk };
    if (!inOrder || !exactlyOnce || !contentOk) failures.push(`${n}: IMs ${got.join(',')} (sent ${ids.join(',')}), content ${contentOk ? 'ok' : 'wrong'}`);
    for (const e of recv) { const s = sends[ids.indexOf(e.kv.msgId)]; lat.push((e.timeUs - s.timeUs) / 1000); }
  }
  const receipts = eventsOf(w, sender, 'im.receipt', t0).filter((e) => ids.includes(e.kv.msgId));
  const expectedReceipts = texts.length * phones.length;
  if (receipts.length !== expectedReceipts) failures.push(`${receipts.length} receipts of ${expectedReceipts}`);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    messages: texts.map((t, i) => ({ bytes: Buffer.byteLength(t, 'utf8'), sha: shas[i] })),
    perDevice, receipts: receipts.length, expectedReceipts,
    latencyMs: lat.length ? { min: r1(Math.min(...lat)), max: r1(Math.max(...lat)), mean: r1(lat.reduce((a, b) => a + b, 0) / lat.length) } : { min: 0, max: 0, mean: 0 },
    receiptMs: { max: receipts.length ? Math.max(...receipts.map((e) => +e.kv.ms)) : 0 },
  };
}

export function multiloginSummary(r: MultiloginReport): string {
  const L: string[] = [];
  L.push(`scenario multilogin, seed ${r.seed}: ${r.ok ? 'OK' : `FAILED (${r.failures.join('; ')})`}`);
  L.push(`  devices  bob on ${r.devices.map((d) => `${d.name} (${d.net}${d.loggedIn ? '' : ', NOT logged in'})`).join(', ')}; search found ${r.searchDevices ?? '?'}`);
  if (r.call) L.push(`  call     rang ${r.call.rang.join(', ')}; answered by ${r.call.answeredBy ?? '-'}; others stopped ringing after ` +
    `${Object.entries(r.call.ringStopMs).map(([n, v]) => `${n} ${v} ms`).join(', ')} (bound ${RING_STOP_BOUND_MS} ms); dial→ringing ${r.call.dialToRingingMs ?? '?'} ms; media ${r.call.mediaPath ?? '?'}`);
  if (r.im) {
    L.push(`  im       ${r.im.messages.map((m) => `${m.bytes} B`).join(', ')} to 3 phones: ` +
      Object.entries(r.im.perDevice).map(([n, d]) => `${n} ${d.received}${d.inOrder && d.exactlyOnce && d.contentOk ? ' ok' : ' BAD'}`).join(', '));
    L.push(`  im       latency min ${r.im.latencyMs.min} / mean ${r.im.latencyMs.mean} / max ${r.im.latencyMs.max} ms; receipts ${r.im.receipts}/${r.im.expectedReceipts} (last after ${r.im.receiptMs.max} ms)`);
  }
  if (r.presence) L.push(`  presence one phone left: IM to ${r.presence.oneDeviceLeftDevices} device(s); all off: ${r.presence.allOffHeld ? 'held at the index supernodes' : 'NOT held'}`);
  return L.join('\n');
}

export function writeMultilogin(o: MultiloginOpts): MultiloginReport {
  const r = runMultilogin(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'multilogin-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}
