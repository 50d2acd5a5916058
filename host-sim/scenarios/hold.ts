/**
 * `npm start -- --scenario hold` (issue #8): alice, behind a port-restricted-cone NAT whose mappings expire
 * after 120 s of silence, calls bob (public); the call goes direct over UDP. After 5 s of talk alice presses
 * Hold; 10 simulated minutes later she presses Resume, and both talk for 5 s more. Measured: keep-alives sent
 * and received by each side during the hold (one every 3 s), the hold tone at bob, NAT bindings still open
 * (no path fallback, no new mapping, media direct again at once), and audio flowing both ways after resume.
 * Then bob puts alice on hold for 30 s (hold from the other side) and resumes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneWorld, type World } from '../world.js';
import { natPresets } from '../net/network.js';
import { KEY, multiTapKeys } from '../keypad.js';
import type { FirmwareNode } from '../firmware.js';
import { RATE, TimedAudio, speech } from './conference.js';

const ms = (us: number) => Math.round(us / 100) / 10;
export const HOLD_US = 600_000_000;
export const NAT_TIMEOUT_S = 120;

export interface HoldReport {
  scenario: 'hold';
  seed: number;
  ok: boolean;
  failure?: string;
  codec?: string;
  natMappingTimeoutS: number;
  holdMs: number;
  pathBefore?: string;
  pathAfter?: string;
  keepalives: { aliceSent: number; aliceReceived: number; bobSent: number; bobReceived: number; expected: number };
  /** Direct-path fallbacks during the hold (0: the direct path stayed usable). */
  fallbacksDuringHold: number;
  /** alice's UDP mapping (her phone's port) at the NAT before the hold and at resume: same port = binding kept. */
  natBinding: { before?: string; atResume?: string; kept: boolean };
  holdToneAtBob: { peak: number; onMsPer4s: number };
  /** Audio after resume: RTP packets each side sent directly in the 5 s after resume; when bob heard alice. */
  afterResume: { aliceToBobPackets: number; bobToAlicePackets: number; firstAudioMs?: number };
  remoteHold?: { by: string; aliceHeardTone: boolean; resumedBothWays: boolean };
  virtualMs: number;
}

export function runHold(o: { seed: number }): HoldReport {
  const w = backboneWorld(o.seed);
  try { return run(w, o.seed); } finally { w.close(); }
}

function run(w: World, seed: number): HoldReport {
  const nat = w.net.addNat('alice-nat', '203.0.113.7', { ...natPresets['port-restricted-cone'], udpTimeoutUs: NAT_TIMEOUT_S * 1_000_000 });
  const boot = 1_000_000;
  const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true, codecs: ['pcmu'] }, { behind: nat, bootAtUs: boot });
  const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true, codecs: ['pcmu'] }, { bootAtUs: boot });
  const r: HoldReport = {
    scenario: 'hold', seed, ok: false, natMappingTimeoutS: NAT_TIMEOUT_S, holdMs: ms(HOLD_US),
    keepalives: { aliceSent: 0, aliceReceived: 0, bobSent: 0, bobReceived: 0, expected: Math.floor(HOLD_US / 3_000_000) },
    fallbacksDuringHold: 0, natBinding: { kept: false }, holdToneAtBob: { peak: 0, onMsPer4s: 0 },
    afterResume: { aliceToBobPackets: 0, bobToAlicePackets: 0 }, virtualMs: 0,
  };
  const fail = (why: string) => { r.failure = r.failure ?? why; };
  w.runUntil(() => ['alice', 'bob'].every((n) => w.find(n, 'login.ok') || w.find(n, 'login.fail')), 40_000_000);
  if (!w.find('alice', 'login.ok') || !w.find('bob', 'login.ok')) { fail('login failed'); return finish(w, r); }
  const t0 = w.sched.nowUs;
  const aAudio = new TimedAudio(w, alice, speech(0, 0.3), t0);
  const bAudio = new TimedAudio(w, bob, speech(4, 0.3), t0);
  w.onEvent((e) => { if (e.node === 'bob' && e.name === 'call.incoming') w.sched.after(300_000, () => bob.hook(true)); });
  alice.hook(true);
  const t = w.typeKeys(alice, multiTapKeys('bob'), 100_000);
  w.sched.at(t + 150_000, () => alice.pressKey(KEY.SEND));
  if (!w.runUntil(() => !!w.find('alice', 'call.answered'), w.sched.nowUs + 20_000_000)) { fail('call not answered'); return finish(w, r); }
  r.codec = w.find('alice', 'call.answered')!.kv.codec;
  w.runUntil(() => false, w.sched.nowUs + 5_000_000);
  r.pathBefore = last(w, 'alice', 'media.path')?.kv.path;

  // alice: Hold. Count what the NAT does during the hold.
  const aliceIp = 0xc0a8010a; // 192.168.1.10
  const alicePort = Number(w.find('alice', 'boot')!.kv.addr.split(':')[1]); // the phone's one UDP port (media, signaling)
  const binding = () => { const m = (nat as unknown as { mappings(): { proto: string; internalIp: number; internalPort: number; externalPort: number }[] }).mappings()
    .filter((x) => x.proto === 'udp' && x.internalIp === aliceIp && x.internalPort === alicePort).map((x) => `${x.internalPort}->${x.externalPort}`); return m.join(','); };
  r.natBinding.before = binding();
  const sent = { alice: [] as number[], bob: [] as number[] };
  w.net.addTap((p) => { if (p.proto === 'udp' && p.payload.length > 12 && (p.payload[0] & 0xc0) === 0x80) { if (p.where === 'host:alice') sent.alice.push(p.timeUs); else if (p.where === 'host:bob') sent.bob.push(p.timeUs); } });
  const fallbacksBefore = w.events.filter((e) => e.name === 'media.fallback').length;
  const holdUs = w.sched.nowUs;
  alice.pressKey(KEY.HOLD);
  w.runUntil(() => false, holdUs + HOLD_US);
  const resumeUs = w.sched.nowUs;
  r.fallbacksDuringHold = w.events.filter((e) => e.name === 'media.fallback').length - fallbacksBefore;
  r.natBinding.atResume = binding();
  r.natBinding.kept = !!r.natBinding.before && r.natBinding.before === r.natBinding.atResume;
  alice.pressKey(KEY.SOFT1); // Resume (the Hold screen's first soft key)
  w.runUntil(() => false, resumeUs + 5_000_000);
  const aRes = w.events.find((e) => e.node === 'alice' && e.name === 'call.resume');
  const bRes = w.events.find((e) => e.node === 'bob' && e.name === 'call.resume');
  if (aRes && bRes) {
    r.keepalives = { aliceSent: +aRes.kv.keepalivesSent, aliceReceived: +aRes.kv.keepalivesRecv, bobSent: +bRes.kv.keepalivesSent, bobReceived: +bRes.kv.keepalivesRecv, expected: r.keepalives.expected };
  } else fail('no resume event');
  // Hold tone at bob: peak and on-time over one 4-s cadence in the middle of the hold.
  const idx = (us: number) => Math.round(((us - t0) / 1e6) * RATE);
  const total = idx(w.sched.nowUs + 40_000_000);
  const bSpk = bAudio.speaker(total + RATE * 40);
  const aSpk = aAudio.speaker(total + RATE * 40);
  let peak = 0, on = 0;
  const mid = idx(holdUs + HOLD_US / 2);
  for (let k = mid; k < mid + 4 * RATE; k++) { peak = Math.max(peak, Math.abs(bSpk[k])); if (Math.abs(bSpk[k]) > 100) on++; }
  r.holdToneAtBob = { peak, onMsPer4s: ms((on / RATE) * 1e6) };
  // After resume: media both ways.
  const inWin = (ts: number[]) => ts.filter((x) => x >= resumeUs && x < resumeUs + 5_000_000).length;
  r.afterResume.aliceToBobPackets = inWin(sent.alice);
  r.afterResume.bobToAlicePackets = inWin(sent.bob);
  r.pathAfter = last(w, 'alice', 'media.path')?.kv.path;
  const loud = (spk: Int16Array, a: number) => { for (let k = a; k < a + 2 * RATE; k++) if (Math.abs(spk[k]) > 200) return k; return -1; };
  const firstB = loud(bSpk, idx(resumeUs));
  if (firstB >= 0) r.afterResume.firstAudioMs = ms(((firstB - idx(resumeUs)) / RATE) * 1e6);

  // bob holds alice for 30 s, then resumes.
  const bHoldUs = w.sched.nowUs;
  bob.pressKey(KEY.HOLD);
  w.runUntil(() => false, bHoldUs + 30_000_000);
  bob.pressKey(KEY.SOFT1);
  const bResumeUs = w.sched.nowUs;
  w.runUntil(() => false, bResumeUs + 3_000_000);
  const aSpk2 = aAudio.speaker(idx(w.sched.nowUs));
  const bSpk2 = bAudio.speaker(idx(w.sched.nowUs));
  let tonePeak = 0;
  for (let k = idx(bHoldUs + 1_000_000); k < idx(bHoldUs + 5_000_000); k++) tonePeak = Math.max(tonePeak, Math.abs(aSpk2[k]));
  r.remoteHold = {
    by: 'bob', aliceHeardTone: tonePeak > 1000,
    resumedBothWays: loud(aSpk2, idx(bResumeUs)) >= 0 && loud(bSpk2, idx(bResumeUs)) >= 0,
  };
  void aSpk;
  alice.hook(false);
  w.runUntil(() => !!w.find('bob', 'call.ended'), w.sched.nowUs + 5_000_000);

  const k = r.keepalives;
  if (k.aliceSent < k.expected - 1 || k.bobSent < k.expected - 1) fail(`too few keep-alives (alice ${k.aliceSent}, bob ${k.bobSent}, expected ${k.expected})`);
  if (k.aliceReceived < k.bobSent - 2 || k.bobReceived < k.aliceSent - 2) fail(`keep-alives lost (alice got ${k.aliceReceived} of ${k.bobSent}, bob got ${k.bobReceived} of ${k.aliceSent})`);
  if (r.fallbacksDuringHold > 0) fail(`${r.fallbacksDuringHold} path fallbacks during the hold`);
  if (r.pathBefore === 'direct-udp' && r.pathAfter !== 'direct-udp') fail(`path after resume ${r.pathAfter}`);
  if (!r.natBinding.kept) fail(`alice's NAT binding changed during the hold (${r.natBinding.before} → ${r.natBinding.atResume})`);
  if (r.afterResume.aliceToBobPackets < 200 || r.afterResume.bobToAlicePackets < 200) fail('audio did not resume both ways');
  if (r.holdToneAtBob.peak < 1000) fail('no hold tone at bob');
  if (!r.remoteHold.aliceHeardTone || !r.remoteHold.resumedBothWays) fail('hold from bob\'s side did not work');
  return finish(w, r);
}

function last(w: World, node: string, name: string) {
  let l;
  for (const e of w.events) if (e.node === node && e.name === name) l = e;
  return l;
}

function finish(w: World, r: HoldReport): HoldReport {
  r.virtualMs = ms(w.sched.nowUs);
  const crashes = [...w.nodes.entries()].filter(([, n]) => n.crash).map(([k, n]) => `${k} (${n.crash})`);
  if (crashes.length) r.failure = `crash: ${crashes.join(', ')}`;
  r.ok = !r.failure;
  return r;
}

export function writeHold(o: { seed: number; outDir: string }): HoldReport {
  const r = runHold(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'hold-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}

export function holdSummary(r: HoldReport): string {
  const k = r.keepalives;
  return [
    `scenario hold, seed ${r.seed}, codec ${r.codec ?? '?'}: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`,
    `  hold    ${(r.holdMs / 60000).toFixed(0)} min behind a NAT with ${r.natMappingTimeoutS} s mapping timeout; path ${r.pathBefore} → ${r.pathAfter} after resume`,
    `  keep-alives alice sent ${k.aliceSent} (bob got ${k.bobReceived}), bob sent ${k.bobSent} (alice got ${k.aliceReceived}); one per 3 s = ${k.expected}`,
    `  NAT     binding ${r.natBinding.before} → ${r.natBinding.atResume} (${r.natBinding.kept ? 'kept open' : 'LOST'}), ${r.fallbacksDuringHold} path fallbacks during the hold`,
    `  tone    hold tone at bob: peak ${r.holdToneAtBob.peak}, ${r.holdToneAtBob.onMsPer4s} ms per 4 s`,
    `  resume  packets in 5 s: alice→bob ${r.afterResume.aliceToBobPackets}, bob→alice ${r.afterResume.bobToAlicePackets}; bob hears alice after ${r.afterResume.firstAudioMs} ms`,
    r.remoteHold ? `  bob holds alice 30 s: tone at alice ${r.remoteHold.aliceHeardTone ? 'yes' : 'NO'}, audio both ways after resume ${r.remoteHold.resumedBothWays ? 'yes' : 'NO'}` : '',
  ].filter(Boolean).join('\n');
}
