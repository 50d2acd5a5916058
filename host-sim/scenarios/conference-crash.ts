/**
 * `npm start -- --scenario conference10` (issue #8): a 10-party conference whose host loses power mid-call.
 *   alice port-restricted-cone NAT   bob   public                  carol symmetric NAT
 *   dave  UDP-blocking firewall      erin  UDP-blocking firewall   frank full-cone NAT
 *   grace restricted-cone NAT        heidi public                  ivan  port-restricted-cone NAT
 *   judy  symmetric NAT
 * alice calls dave (relayed over TCP), then adds the others from her Conf screen; the election hands hosting
 * to the most capable phone (bob, public) and alice's later Adds go to him. With all ten in, the host's power
 * is cut (FirmwareNode.powerOff: no BYE, no HANDOVER, nothing more on the wire). The others notice the host's
 * silence, agree on the successor from the last CONF_ROSTER (firmware/call/conf-failover.ts) and the successor
 * calls them. The same run with the first five phones is the 5-party crash test (tests/host/conference.test.ts).
 *
 * Measured: each participant's mix SNR against the expected N−1 mix before the crash (N parties) and after it
 * (N−1 parties, the successor mixing) — host-sim/scenarios/conference.ts mixSnrWindows; the audio gap each
 * survivor hears (from the moment the last audio of the old host would have played to the first 20 ms of the
 * new mix, see gapAfterCrash), the longest near-silent run, and the signaling milestones (detection, takeover,
 * first new media); the hosts' CPU per 10 ms audio block (wall clock of the firmware's onAudio in this
 * simulator: not reproducible between runs, for orientation; `npm run bench` measures the mixer itself).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { backboneWorld, type World } from '../world.js';
import { attachPhone, type Preset } from '../presets.js';
import type { FirmwareNode } from '../firmware.js';
import {
  GAP_LIMIT_MS, RATE, SNR_MIN_DB, TimedAudio, addParties, confDialer, currentHost, longestSilenceMs, speakerTracks, mixSnrWindows, speech, ulawRoundTrip, type MixSnr,
} from './conference.js';

const US_PER_SAMPLE = 1e6 / RATE;
/** The N−1 mix after the crash is measured over [crash + AFTER_US, crash + AFTER_END_US): the new legs' jitter
 *  buffers stretch time now and then during their first seconds (see snrAfterTimeline). */
const AFTER_US = 4_500_000;
const AFTER_END_US = 9_000_000;
const ms = (us: number) => Math.round(us / 100) / 10;

export const PHONES10: [string, Preset][] = [
  ['alice', 'port-restricted-cone'], ['bob', 'public'], ['carol', 'symmetric'], ['dave', 'udp-blocked'], ['erin', 'udp-blocked'],
  ['frank', 'full-cone'], ['grace', 'restricted-cone'], ['heidi', 'public'], ['ivan', 'port-restricted-cone'], ['judy', 'symmetric'],
];

export interface CrashGap {
  /** Audible gap: from when the old host's last audio played here to the first 20 ms of the new mix, ms. */
  gapMs: number;
  /** Longest near-silent run (|x| ≤ 4) from 0.2 s before the crash to 3 s after, ms. */
  silenceMs: number;
  /** Crash → this phone declared the host lost (conf.host.lost or, for a late detector, the rejoin), ms. */
  detectMs?: number;
  /** Crash → the successor's call answered here (participants) or its first leg up (successor), ms. */
  rejoinMs?: number;
  /** Crash → first media from the new host, ms. */
  firstMediaMs?: number;
}

export interface ConferenceCrashReport {
  scenario: 'conference10' | 'conference-crash';
  seed: number;
  ok: boolean;
  failure?: string;
  codec: 'pcmu';
  parties: number;
  phones: Record<string, { preset: Preset; loggedIn: boolean }>;
  hosts: { host: string; atMs: number; by: string }[];
  /** Legs the hosts opened: peer, media path, setup ms. */
  legs: { host: string; peer: string; path?: string; setupMs?: number }[];
  /** Mix SNR of every participant before the crash (N parties). */
  snrBefore?: Record<string, MixSnr>;
  /** Mix SNR of every survivor after the crash (N−1 parties, the successor mixing). */
  snrAfter?: Record<string, MixSnr>;
  minSnrBeforeDb?: number;
  minSnrAfterDb?: number;
  /** The worst survivor's mix SNR per 1-s window from 1 s after the crash (dB; 99 = bit-exact). */
  snrAfterTimeline?: { fromMs: number; minDb: number }[];
  crash?: {
    host: string; atMs: number; successor?: string;
    /** Every survivor named the same successor (conf.host.lost events). */
    agreed: boolean;
    gaps: Record<string, CrashGap>;
    maxGapMs: number;
    maxSilenceMs: number;
  };
  /** The false-alarm run (`outage`): what the cut-off participant did and everyone's mix once it is back. */
  outage?: { node: string; ms: number; lostMs?: number; backMs?: number; failovers: number; hostsAfter: string[]; snr: Record<string, MixSnr>; minSnrDb: number };
  /** Wall-clock µs of the firmware's onAudio per 10 ms block (simulator, not reproducible): host vs others. */
  cpu?: { phase: string; host: string; parties: number; hostUsPer10ms: number; participantUsPer10msMedian: number }[];
  virtualMs: number;
  network: Record<string, number>;
}

/** µs of onAudio per node: wraps the firmware's export (the scheduler calls it for every 10 ms block). */
class AudioCpu {
  private acc = new Map<string, { us: number; n: number }>();
  constructor(nodes: Map<string, FirmwareNode>) {
    for (const [name, nd] of nodes) {
      const holder = nd as unknown as { ex: Record<string, unknown> & { onAudio: (n: number, t: bigint) => bigint } };
      const ex = holder.ex;
      const orig = ex.onAudio;
      const wrapped = Object.create(null) as Record<string, unknown>;
      for (const k of Object.keys(ex)) wrapped[k] = ex[k];
      wrapped.onAudio = (n: number, t: bigint) => {
        const t0 = performance.now();
        try { return orig(n, t); } finally {
          const a = this.acc.get(name) ?? { us: 0, n: 0 };
          a.us += (performance.now() - t0) * 1000; a.n++;
          this.acc.set(name, a);
        }
      };
      holder.ex = wrapped as typeof ex;
    }
  }
  reset(): void { this.acc.clear(); }
  perBlock(name: string): number { const a = this.acc.get(name); return a && a.n ? Math.round((a.us / a.n) * 10) / 10 : 0; }
}

/**
 * `outage`: instead of the power cut, a false alarm — every UDP packet from or to `node` (a participant, not the
 * host) is dropped for `ms` — to check that the others keep their host and `node` comes back to it.
 */
export function runConferenceCrash(o: { seed: number; parties: number; outage?: { node: string; ms: number } }): ConferenceCrashReport {
  const w = backboneWorld(o.seed);
  try { return run(w, o.seed, PHONES10.slice(0, o.parties), o.outage); } finally { w.close(); }
}

function run(w: World, seed: number, phones: [string, Preset][], outage?: { node: string; ms: number }): ConferenceCrashReport {
  const boot = 1_000_000;
  const nodes = new Map<string, FirmwareNode>();
  phones.forEach(([n, preset]) => nodes.set(n, attachPhone(w, n, preset, { user: n, password: `${n}-secret-1`, register: true, codecs: ['pcmu'] }, boot)));
  const N = phones.length;
  const r: ConferenceCrashReport = {
    scenario: N === 10 ? 'conference10' : 'conference-crash', seed, ok: false, codec: 'pcmu', parties: N, phones: {}, hosts: [], legs: [],
    virtualMs: 0, network: {},
  };
  const names = phones.map(([n]) => n);
  let dead = '';
  const fail = (why: string) => { r.failure = r.failure ?? why; };
  w.runUntil(() => names.every((n) => w.find(n, 'login.ok') || w.find(n, 'login.fail')), 60_000_000);
  for (const [n, preset] of phones) r.phones[n] = { preset, loggedIn: !!w.find(n, 'login.ok') };
  if (!names.every((n) => w.find(n, 'login.ok'))) { fail('login failed'); return finish(w, r, dead); }
  w.runUntil(() => false, w.sched.nowUs + 10_000_000); // the index records settle (a search right after everyone logged in can miss)

  const cpu = new AudioCpu(nodes);
  const t0 = w.sched.nowUs;
  const audio = new Map<string, TimedAudio>();
  names.forEach((n, i) => audio.set(n, new TimedAudio(w, nodes.get(n)!, speech(i * 2.3, N > 5 ? 0.2 : 0.3), t0)));
  w.onEvent((e) => {
    if (e.name === 'call.incoming' && names.includes(e.node)) w.sched.after(300_000, () => { const nd = nodes.get(e.node)!; if (!nd.crash) nd.hook(true); });
  });
  const alice = nodes.get('alice')!;
  const dial = confDialer(w, alice);
  alice.hook(true);
  dial('dave', false);
  if (!w.runUntil(() => !!w.find('alice', 'call.answered'), w.sched.nowUs + 20_000_000)) { fail('alice → dave not answered'); return finish(w, r, dead); }
  w.runUntil(() => false, w.sched.nowUs + 1_000_000);
  const missing = addParties(w, dial, names.filter((n) => n !== 'alice' && n !== 'dave'));
  if (missing) { fail(`${missing} did not join`); return finish(w, r, dead); }
  const full = w.runUntil(() => w.events.some((e) => e.name === 'conf.leg.active' && e.kv.parties === String(N)), w.sched.nowUs + 15_000_000);
  if (!full) { fail(`the conference never had ${N} parties`); return finish(w, r, dead); }
  const host = currentHost(w);
  const allInUs = w.sched.nowUs;
  w.runUntil(() => false, allInUs + 3_000_000);
  cpu.reset();
  w.runUntil(() => false, allInUs + 8_000_000);
  r.cpu = [{ phase: 'before', host, parties: N, hostUsPer10ms: cpu.perBlock(host), participantUsPer10msMedian: median(names.filter((n) => n !== host).map((n) => cpu.perBlock(n))) }];

  if (outage) return falseAlarm(w, r, outage, names, host, audio, t0);
  // Power cut at the host.
  const crashUs = w.sched.nowUs;
  dead = host;
  nodes.get(host)!.powerOff();
  const rest = names.filter((n) => n !== host);
  w.runUntil(() => false, crashUs + 3_000_000);
  const successor = w.events.find((e) => e.name === 'conf.host' && e.kv.by === 'failover' && e.timeUs > crashUs)?.node;
  cpu.reset();
  w.runUntil(() => false, crashUs + AFTER_END_US + 500_000);
  if (successor) r.cpu.push({ phase: 'after', host: successor, parties: N - 1, hostUsPer10ms: cpu.perBlock(successor), participantUsPer10msMedian: median(rest.filter((n) => n !== successor).map((n) => cpu.perBlock(n))) });
  const endUs = w.sched.nowUs;
  for (const n of rest) nodes.get(n)!.hook(false);
  w.runUntil(() => false, endUs + 1_000_000);

  // ---- figures --------------------------------------------------------------------------------------------
  const { spk, idx, total } = speakerTracks(w, audio, names, t0);
  for (const e of w.events) {
    if (e.name === 'conf.host') r.hosts.push({ host: e.node, atMs: ms(e.timeUs - t0), by: e.kv.by ?? 'add' });
    if (e.name === 'conf.leg.active') {
      const end = w.events.find((x) => x.node === e.node && x.name === 'conf.leg.ended' && x.kv.peer === e.kv.peer && x.timeUs >= e.timeUs);
      const lastPath = w.events.filter((x) => x.node === e.node && x.name === 'conf.leg.path' && x.kv.peer?.split('/')[0] === e.kv.peer && x.timeUs >= e.timeUs && (!end || x.timeUs <= end.timeUs)).pop();
      r.legs.push({ host: e.node, peer: e.kv.peer, setupMs: +e.kv.ms, path: end?.kv.path ?? lastPath?.kv.path });
    }
  }
  const measure = (h: string, members: string[], a: number, b: number) => {
    const out: Record<string, MixSnr> = {};
    for (const x of members) out[x] = mixSnrWindows(audio, spk.get(x)!, x, members.filter((q) => q !== x), h, idx(a), idx(b));
    return out;
  };
  r.snrBefore = measure(host, names, allInUs + 3_000_000, allInUs + 7_500_000);
  r.minSnrBeforeDb = Math.min(...Object.values(r.snrBefore).map((s) => s.snrDb));
  const lost = w.events.filter((e) => e.name === 'conf.host.lost' && e.timeUs > crashUs);
  const agreed = lost.length > 0 && lost.every((e) => e.kv.successor === lost[0].kv.successor) && (!successor || lost[0].kv.successor === successor);
  const gaps: Record<string, CrashGap> = {};
  if (successor) {
    r.snrAfter = measure(successor, rest, crashUs + AFTER_US, crashUs + AFTER_END_US);
    r.minSnrAfterDb = Math.min(...Object.values(r.snrAfter).map((s) => s.snrDb));
    // Settling: the mix per 1-s window from 1 s after the crash (the worst survivor).
    r.snrAfterTimeline = [];
    for (let t = 1_000_000; t + 1_000_000 <= AFTER_END_US; t += 1_000_000) {
      const w1 = rest.map((x) => mixSnrWindows(audio, spk.get(x)!, x, rest.filter((q) => q !== x), successor, idx(crashUs + t), idx(crashUs + t + 1_000_000)).snrDb);
      r.snrAfterTimeline.push({ fromMs: t / 1000, minDb: Math.min(...w1) });
    }
    for (const x of rest) {
      const others = rest.filter((q) => q !== x);
      const g: CrashGap = {
        gapMs: gapAfterCrash(audio, spk.get(x)!, x, others, successor, host, r.snrBefore[x], r.snrAfter[x], idx(crashUs), idx(crashUs + 3_000_000)),
        silenceMs: longestSilenceMs(spk.get(x)!, idx(crashUs - 200_000), idx(crashUs + 3_000_000)),
      };
      const det = w.events.find((e) => e.node === x && e.timeUs > crashUs && (e.name === 'conf.host.lost' || (e.name === 'conf.rejoin' && e.kv.by === 'failover')));
      if (det) g.detectMs = ms(det.timeUs - crashUs);
      const rej = x === successor
        ? w.events.find((e) => e.node === x && e.name === 'conf.leg.active' && e.timeUs > crashUs)
        : w.events.find((e) => e.node === x && e.name === 'call.answered' && e.timeUs > crashUs);
      if (rej) g.rejoinMs = ms(rej.timeUs - crashUs);
      const first = w.events.find((e) => e.node === x && e.timeUs > crashUs && (e.name === 'media.first' || e.name === 'conf.leg.first'));
      if (first) g.firstMediaMs = ms(first.timeUs - crashUs);
      gaps[x] = g;
    }
  }
  const gv = Object.values(gaps);
  r.crash = {
    host, atMs: ms(crashUs - t0), successor, agreed, gaps,
    maxGapMs: gv.length ? Math.max(...gv.map((g) => g.gapMs)) : Infinity,
    maxSilenceMs: gv.length ? Math.max(...gv.map((g) => g.silenceMs)) : Infinity,
  };
  if (!successor) fail('no successor took over after the host crashed');
  if (!agreed) fail(`the survivors did not agree on the successor (${lost.map((e) => `${e.node}→${e.kv.successor}`).join(', ')})`);
  if (r.minSnrBeforeDb < SNR_MIN_DB) fail(`${N}-party mix SNR ${r.minSnrBeforeDb} dB < ${SNR_MIN_DB} dB`);
  if (r.minSnrAfterDb === undefined || r.minSnrAfterDb < SNR_MIN_DB) fail(`${N - 1}-party mix SNR after the crash ${r.minSnrAfterDb} dB < ${SNR_MIN_DB} dB`);
  if (successor && Object.keys(r.snrAfter ?? {}).length !== N - 1) fail('not every survivor was measured after the crash');
  if (r.crash.maxGapMs > GAP_LIMIT_MS) fail(`audio gap after the host crash ${r.crash.maxGapMs} ms > ${GAP_LIMIT_MS} ms`);
  return finish(w, r, dead);
}

/**
 * The gap `listener` hears after the host's crash at sample `c`: from c + (the old host's delay to the
 * listener, i.e. when its last audio played here) to the start of the first 20 ms block from which the speaker
 * matches the new (N−1) mix at ≥ 10 dB SNR for 5 blocks running (100 ms). Each talker's delay in the new mix
 * is its best lag over the first 1.2 s from 0.3 s after the crash, searched ±100 ms around its settled delay
 * (`after`): the new host's jitter buffers still stretch time during the first seconds. Samples are absolute
 * indexes from t0; returns ms (9999 when the new mix never matched by `end`).
 */
function gapAfterCrash(audio: Map<string, TimedAudio>, spk: Int16Array, listener: string, others: string[], newHost: string, oldHost: string,
  before: MixSnr, after: MixSnr, c: number, end: number): number {
  const oldDelay = Math.round((before.delaysMs[oldHost] ?? 0) * RATE / 1000);
  const ref = (q: string, k: number) => { const m = audio.get(q)!.mic(k); return q === newHost ? m : ulawRoundTrip(m); };
  const lags = new Map<string, number>();
  const a = c + Math.round(0.3 * RATE), b = a + Math.round(1.2 * RATE), W = Math.round(0.1 * RATE);
  for (const q of others) {
    const g = Math.round((after.delaysMs[q] ?? 0) * RATE / 1000);
    const src = new Float64Array(b - a + 2 * W + g + 1);
    const base = a - g - W;
    for (let k = 0; k < src.length; k++) src[k] = ref(q, base + k);
    let best = g, bestC = -Infinity;
    for (let lag = Math.max(0, g - W); lag <= g + W; lag++) {
      let cc = 0;
      for (let k = a; k < b; k += 2) cc += src[k - lag - base] * spk[k];
      if (cc > bestC) { bestC = cc; best = lag; }
    }
    lags.set(q, best);
  }
  const B = RATE / 50; // 20 ms
  let run = 0, firstOk = -1;
  for (let s = c; s + B <= end; s += B) {
    let sig = 0, noise = 0;
    for (let k = s; k < s + B; k++) {
      let e = 0;
      for (const q of others) e += ref(q, k - lags.get(q)!);
      if (listener !== newHost) e = ulawRoundTrip(e);
      const d = e - spk[k];
      sig += e * e; noise += d * d;
    }
    const ok = sig > 0 && (noise === 0 || sig / noise >= 10);
    if (ok) { if (run === 0) firstOk = s; run++; if (run >= 5) break; } else run = 0;
  }
  if (run < 5) return 9999;
  return ms(Math.max(0, firstOk - (c + oldDelay)) * US_PER_SAMPLE);
}

function falseAlarm(w: World, r: ConferenceCrashReport, o: { node: string; ms: number }, names: string[], host: string,
  audio: Map<string, TimedAudio>, t0: number): ConferenceCrashReport {
  if (o.node === host || !names.includes(o.node)) throw new Error(`outage: '${o.node}' is not a participant`);
  const boxes = (w.net as unknown as { boxesByName: Map<string, { publicIp?: number }> }).boxesByName;
  const ip = boxes.get(`${o.node}-nat`)?.publicIp ?? w.node(o.node).host.ip;
  const cutUs = w.sched.nowUs;
  const heal = w.net.addFault((p) => p.proto === 'udp' && (p.from === o.node || p.dstIp === ip));
  w.runUntil(() => false, cutUs + o.ms * 1000);
  heal();
  const healUs = w.sched.nowUs;
  w.runUntil(() => false, healUs + AFTER_END_US + 500_000);
  const { spk, idx } = speakerTracks(w, audio, names, t0);
  const lost = w.events.find((e) => e.node === o.node && e.name === 'conf.host.lost' && e.timeUs >= cutUs);
  const back = w.events.find((e) => e.node === o.node && e.name === 'conf.host.back' && e.timeUs >= cutUs);
  const snr: Record<string, MixSnr> = {};
  for (const x of names) snr[x] = mixSnrWindows(audio, spk.get(x)!, x, names.filter((q) => q !== x), host, idx(healUs + AFTER_US), idx(healUs + AFTER_END_US));
  r.outage = {
    node: o.node, ms: o.ms, lostMs: lost ? ms(lost.timeUs - cutUs) : undefined, backMs: back ? ms(back.timeUs - cutUs) : undefined,
    failovers: w.events.filter((e) => e.name === 'conf.failover' && e.timeUs >= cutUs).length,
    hostsAfter: w.events.filter((e) => e.name === 'conf.host' && e.timeUs >= cutUs).map((e) => e.node),
    snr, minSnrDb: Math.min(...Object.values(snr).map((s) => s.snrDb)),
  };
  if (r.outage.failovers > 0) r.failure = `false alarm: ${r.outage.failovers} takeover(s) while ${host} was alive`;
  else if (r.outage.minSnrDb < SNR_MIN_DB) r.failure = `mix SNR after the outage ${r.outage.minSnrDb} dB < ${SNR_MIN_DB} dB`;
  return finish(w, r, '');
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}


function finish(w: World, r: ConferenceCrashReport, dead: string): ConferenceCrashReport {
  r.virtualMs = ms(w.sched.nowUs);
  r.network = { ...(w.net.stats as unknown as Record<string, number>) };
  const crashes = [...w.nodes.entries()].filter(([k, n]) => n.crash && k !== dead).map(([k, n]) => `${k} (${n.crash})`);
  if (crashes.length) r.failure = `crash: ${crashes.join(', ')}`;
  r.ok = !r.failure;
  return r;
}

export function writeConference10(o: { seed: number; outDir: string; verbose?: boolean }): ConferenceCrashReport {
  const r = runConferenceCrash({ seed: o.seed, parties: 10 });
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'conference10-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}

export function conferenceCrashSummary(r: ConferenceCrashReport): string {
  const L = [`scenario ${r.scenario}, seed ${r.seed}, codec ${r.codec}, ${r.parties} parties, host power cut: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`];
  L.push(`  phones  ${Object.entries(r.phones).map(([n, p]) => `${n} ${p.preset}`).join(', ')}`);
  L.push(`  hosts   ${r.hosts.map((h) => `${h.host} at ${(h.atMs / 1000).toFixed(1)} s (${h.by})`).join(' → ')}`);
  L.push(`  legs    ${r.legs.map((l) => `${l.host}→${l.peer} ${l.path ?? '?'}`).join(', ')}`);
  if (r.snrBefore) L.push(`  mix SNR, ${r.parties} parties (host ${r.crash?.host}): ${Object.entries(r.snrBefore).map(([n, s]) => `${n} ${s.snrDb}`).join(', ')} dB`);
  if (r.snrAfter) L.push(`  mix SNR, ${r.parties - 1} parties from 4.5 to 9 s after the crash (host ${r.crash?.successor}): ${Object.entries(r.snrAfter).map(([n, s]) => `${n} ${s.snrDb}`).join(', ')} dB`);
  if (r.snrAfterTimeline) L.push(`  settling: worst survivor's mix SNR per 1-s window from 1 s after the crash: ${r.snrAfterTimeline.map((t) => t.minDb).join(', ')} dB`);
  if (r.crash) {
    L.push(`  crash   ${r.crash.host} powered off at ${(r.crash.atMs / 1000).toFixed(1)} s → ${r.crash.successor ?? 'nobody'} (${r.crash.agreed ? 'all agreed' : 'DISAGREED'}); audio gap max ${r.crash.maxGapMs} ms, longest silence max ${r.crash.maxSilenceMs} ms`);
    for (const [n, g] of Object.entries(r.crash.gaps)) L.push(`          ${n}: gap ${g.gapMs} ms, silence ${g.silenceMs} ms, detected ${g.detectMs ?? '-'} ms, rejoined ${g.rejoinMs ?? '-'} ms, first new media ${g.firstMediaMs ?? '-'} ms`);
  }
  if (r.cpu) for (const c of r.cpu) L.push(`  cpu     ${c.phase}: host ${c.host} (${c.parties} parties) ${c.hostUsPer10ms} µs per 10 ms block, participants median ${c.participantUsPer10msMedian} µs (wall clock in the simulator)`);
  return L.join('\n');
}
