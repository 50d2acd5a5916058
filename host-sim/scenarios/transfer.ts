/**
 * `npm start -- --scenario transfer` (issue #8): blind transfer. alice (NAT) calls bob (public); after 3 s bob
 * opens Conf, types "carol" and presses Xfer. alice's phone ends the call with bob and calls carol (NAT) by
 * itself; carol answers; they talk for 5 s. Measured: transfer → carol ringing / answered / audio both ways.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneWorld, type World } from '../world.js';
import { attachPhone } from '../presets.js';
import { KEY, multiTapKeys } from '../keypad.js';

const ms = (us: number) => Math.round(us / 100) / 10;

export interface TransferReport {
  scenario: 'transfer';
  seed: number;
  ok: boolean;
  failure?: string;
  /** bob's call with alice ended as "transferred" on both sides. */
  bobEnded?: string; aliceEnded?: string;
  /** From bob's Xfer key to carol ringing / alice's call to carol answered, ms. */
  xferToRingingMs?: number; xferToAnswerMs?: number;
  /** The new call alice → carol: path and packets each way. */
  newCall?: { path?: string; aliceSent: number; aliceReceived: number; carolSent: number; carolReceived: number };
  virtualMs: number;
}

export function runTransfer(o: { seed: number }): TransferReport {
  const w = backboneWorld(o.seed);
  try { return run(w, o.seed); } finally { w.close(); }
}

function run(w: World, seed: number): TransferReport {
  const boot = 1_000_000;
  const alice = attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-secret-1', register: true }, boot);
  const bob = attachPhone(w, 'bob', 'public', { user: 'bob', password: 'bob-secret-22', register: true }, boot);
  const carol = attachPhone(w, 'carol', 'full-cone', { user: 'carol', password: 'carol-secret-3', register: true }, boot);
  const r: TransferReport = { scenario: 'transfer', seed, ok: false, virtualMs: 0 };
  const fail = (why: string) => { r.failure = r.failure ?? why; };
  const names = ['alice', 'bob', 'carol'];
  w.runUntil(() => names.every((n) => w.find(n, 'login.ok') || w.find(n, 'login.fail')), 40_000_000);
  if (!names.every((n) => w.find(n, 'login.ok'))) { fail('login failed'); return finish(w, r); }
  w.onEvent((e) => {
    if (e.name === 'call.incoming' && (e.node === 'bob' || e.node === 'carol')) w.sched.after(300_000, () => (e.node === 'bob' ? bob : carol).hook(true));
  });
  alice.hook(true);
  const t = w.typeKeys(alice, multiTapKeys('bob'), 100_000);
  w.sched.at(t + 150_000, () => alice.pressKey(KEY.SEND));
  if (!w.runUntil(() => !!w.find('alice', 'call.answered'), w.sched.nowUs + 20_000_000)) { fail('alice → bob not answered'); return finish(w, r); }
  w.runUntil(() => false, w.sched.nowUs + 3_000_000);
  const keys = [KEY.CONFERENCE, ...multiTapKeys('carol')];
  const t2 = w.typeKeys(bob, keys, 100_000);
  let xferUs = 0;
  w.sched.at(t2 + 150_000, () => { xferUs = w.sched.nowUs; bob.pressKey(KEY.SOFT2); });
  const answered = w.runUntil(() => !!w.find('carol', 'call.answered'), w.sched.nowUs + 30_000_000);
  if (!answered) { fail('carol never answered the transferred call'); return finish(w, r); }
  w.runUntil(() => false, w.sched.nowUs + 5_000_000);
  alice.hook(false);
  w.runUntil(() => !!w.find('carol', 'call.ended'), w.sched.nowUs + 5_000_000);
  r.bobEnded = w.find('bob', 'call.ended')?.kv.reason;
  r.aliceEnded = w.find('alice', 'call.ended')?.kv.reason;
  const ring = w.find('carol', 'call.incoming');
  const ans = w.events.find((e) => e.node === 'alice' && e.name === 'call.answered' && e.timeUs > xferUs);
  if (ring) r.xferToRingingMs = ms(ring.timeUs - xferUs);
  if (ans) r.xferToAnswerMs = ms(ans.timeUs - xferUs);
  const ea = w.events.find((e) => e.node === 'alice' && e.name === 'call.ended' && e.kv.peer === 'carol');
  const ec = w.find('carol', 'call.ended');
  if (ea && ec) r.newCall = { path: ea.kv.path, aliceSent: +ea.kv.rtpSent, aliceReceived: +ea.kv.rtpRecv, carolSent: +ec.kv.rtpSent, carolReceived: +ec.kv.rtpRecv };
  if (r.bobEnded !== 'transferred' || r.aliceEnded !== 'transferred') fail(`call with bob ended as ${r.bobEnded}/${r.aliceEnded}`);
  if (!w.events.some((e) => e.node === 'alice' && e.name === 'call.transferred' && e.kv.to === 'carol')) fail('alice was not transferred');
  if (!r.newCall || r.newCall.aliceReceived < 100 || r.newCall.carolReceived < 100) fail('no audio between alice and carol');
  return finish(w, r);
}

function finish(w: World, r: TransferReport): TransferReport {
  r.virtualMs = ms(w.sched.nowUs);
  const crashes = [...w.nodes.entries()].filter(([, n]) => n.crash).map(([k, n]) => `${k} (${n.crash})`);
  if (crashes.length) r.failure = `crash: ${crashes.join(', ')}`;
  r.ok = !r.failure;
  return r;
}

export function writeTransfer(o: { seed: number; outDir: string }): TransferReport {
  const r = runTransfer(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'transfer-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}

export function transferSummary(r: TransferReport): string {
  return [
    `scenario transfer, seed ${r.seed}: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`,
    `  bob transfers alice to carol: calls ended as ${r.bobEnded} (bob) / ${r.aliceEnded} (alice); carol rings ${r.xferToRingingMs} ms, answered ${r.xferToAnswerMs} ms after Xfer`,
    r.newCall ? `  alice↔carol path ${r.newCall.path}; alice sent ${r.newCall.aliceSent}, received ${r.newCall.aliceReceived}; carol sent ${r.newCall.carolSent}, received ${r.newCall.carolReceived}` : '',
  ].filter(Boolean).join('\n');
}
