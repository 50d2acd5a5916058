/**
 * `npm start -- --scenario conference` (issue #8): a 5-party conference on the backbone world.
 *   alice  port-restricted-cone NAT       bob   public            carol  symmetric NAT
 *   dave   UDP-blocking firewall           erin  UDP-blocking firewall
 * alice calls dave (UDP blocked: the call is relayed over TCP), then adds bob, carol and erin from her Conf
 * screen. The election hands hosting to bob (public, the most capable); alice's later Adds go to him. With all
 * five in, bob hangs up mid-call: hosting passes to the next most capable (alice) and the other three rejoin
 * her. Every phone speaks all the time (a different part of the lena speech, −10 dB), G.711 µ-law everywhere.
 *
 * Measured: each participant's speaker against the expected N−1 mix (computed here from the other parties'
 * G.711 reference signals — our µ-law round trip, bit-exact with the firmware's tables — each delayed by its
 * own measured path delay, and µ-law coded once more when the mix went through the host's encoder), in the
 * 5-party phase and in the 4-party phase after the handover; the audio gap each participant hears at the host
 * handover (longest near-silent run of its speaker around it, and first new media by the events).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import lenaWav from 'audio-lena/wav';
import { backboneWorld, type World } from '../world.js';
import { attachPhone, type Preset } from '../presets.js';
import { KEY, multiTapKeys } from '../keypad.js';
import { decodeWav } from '../audio-io.js';
import type { FirmwareNode } from '../firmware.js';

export const RATE = 8000;
const US_PER_SAMPLE = 1e6 / RATE;
const ms = (us: number) => Math.round(us / 100) / 10;

// ---- G.711 µ-law reference (ITU-T G.711 Table 2, the same bias/segments as firmware/codec/g711) ----------
export function ulawEncode(x: number): number {
  const neg = x < 0 ? -1 : 0;
  const mag = x ^ neg;
  let b = mag + 132;
  if (b > 0x7fff) b = 0x7fff;
  const s = 24 - Math.clz32(b);
  const m = (b >> (s + 3)) & 0x0f;
  return ((neg ? 0x7f : 0xff) ^ ((s << 4) | m)) & 0xff;
}
export function ulawDecode(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? 0x84 - t : t - 0x84;
}
export const ulawRoundTrip = (x: number) => ulawDecode(ulawEncode(Math.max(-32768, Math.min(32767, Math.round(x)))));

/**
 * What one codec pass does to a signal (issue #8: a leg's codec), applied to a whole stretch at once (a frame
 * codec needs the stretch, not single samples). G.711 µ-law is per sample and bit-exact with the firmware.
 */
export type SignalCoder = (x: Float64Array) => Float64Array;
export const ulawCoder: SignalCoder = (x) => x.map(ulawRoundTrip);

/**
 * A phone's audio on the world's absolute timeline: its microphone plays `sig` looped from `t0` whatever the
 * phone does with its audio device, and every speaker block is stored at the time it was played (so audio
 * stopped during a handover shows up as silence, not as a shift).
 */
export class TimedAudio {
  private cps: { t: number; len: number }[] = [];
  constructor(private w: World, private node: FirmwareNode, private sig: Int16Array | null, private t0: number) {
    node.audio.mic.read = (out: Int16Array) => {
      const t = this.w.sched.nowUs;
      const base = Math.round((t - this.t0) / US_PER_SAMPLE);
      for (let i = 0; i < out.length; i++) {
        const k = base + i;
        out[i] = this.sig && k >= 0 ? this.sig[k % this.sig.length] : 0;
      }
      this.cps.push({ t, len: this.node.audio.speaker.length });
    };
  }
  /** Microphone sample at absolute index k (samples since t0). */
  mic(k: number): number { return this.sig && k >= 0 ? this.sig[k % this.sig.length] : 0; }
  /** The speaker on the absolute timeline, `n` samples from t0 (0 where nothing was played). */
  speaker(n: number): Int16Array {
    const out = new Int16Array(n);
    const spk = this.node.audio.speaker;
    for (let c = 0; c < this.cps.length; c++) {
      const from = this.cps[c].len;
      const to = c + 1 < this.cps.length ? this.cps[c + 1].len : spk.length;
      const base = Math.round((this.cps[c].t - this.t0) / US_PER_SAMPLE);
      for (let i = from; i < to; i++) { const k = base + (i - from); if (k >= 0 && k < n) out[k] = spk[i]; }
    }
    return out;
  }
}

/** The lena speech at 8 kHz, scaled by `gain`, rotated by `offsetS` seconds (a different talker per phone). */
export function speech(offsetS: number, gain: number): Int16Array {
  const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), RATE).pcm;
  const out = new Int16Array(lena.length);
  const off = Math.round(offsetS * RATE) % lena.length;
  for (let i = 0; i < lena.length; i++) out[i] = Math.round(lena[(i + off) % lena.length] * gain);
  return out;
}

/** Lag (samples, lo..hi) that best aligns `src` to `out` over [a, b), correlating every `step`-th sample. */
function bestLag(src: Float64Array, srcBase: number, out: Int16Array, a: number, b: number, lo: number, hi: number, step: number): number {
  let best = lo, bestC = -Infinity;
  for (let lag = Math.max(0, lo); lag <= hi; lag++) {
    let c = 0;
    for (let k = a; k < b; k += step) c += src[k - lag - srcBase] * out[k];
    if (c > bestC) { bestC = c; best = lag; }
  }
  return best;
}

const MAX_LAG = Math.round(0.5 * RATE);
/** Lag refinement per 1-s window around the phase's lag (time-stretching moves it a few ms). */
const REFINE = 48;

export interface MixSnr {
  /** Over the whole phase: Σ expected² / Σ (expected − speaker)², dB (99 = bit-exact). */
  snrDb: number;
  /** The worst 1-s window, dB. */
  minWindowDb: number;
  /** Path delay of each talker to this listener in the first window, ms. */
  delaysMs: Record<string, number>;
}

/**
 * SNR of `listener`'s speaker over [a, b) against the expected N−1 mix: Σ over the other parties q of
 * ref_q(k − d_q), ref_q = q's microphone through `coder` (the legs' codec, µ-law by default; the host's own
 * microphone goes into the mix uncoded), the sum coded once more unless the listener is the host. d_q: the best lag over the whole phase,
 * refined per 1-s window (the jitter buffers stretch time now and then, which moves a talker's delay by a
 * few ms: not an error of the mix).
 */
export function mixSnrWindows(audio: Map<string, TimedAudio>, spk: Int16Array, listener: string, others: string[], host: string, a: number, b: number,
  coder: SignalCoder = ulawCoder): MixSnr {
  const base = a - MAX_LAG - REFINE;
  const refs = new Map<string, Float64Array>();
  const lags = new Map<string, number>();
  const delays: Record<string, number> = {};
  for (const q of others) {
    const ta = audio.get(q)!;
    const raw = new Float64Array(b - base);
    for (let k = base; k < b; k++) raw[k - base] = ta.mic(k);
    const ref = q === host ? raw : coder(raw);
    refs.set(q, ref);
    const lag = bestLag(ref, base, spk, a, b, 0, MAX_LAG, 2);
    lags.set(q, lag);
    delays[q] = ms(lag * US_PER_SAMPLE);
  }
  let sig = 0, noise = 0, minDb = 99;
  for (let s = a; s + RATE <= b; s += RATE) {
    const exp = new Float64Array(RATE);
    for (const q of others) {
      const ref = refs.get(q)!, g = lags.get(q)!;
      const lag = bestLag(ref, base, spk, s, s + RATE, g - REFINE, Math.min(MAX_LAG + REFINE, g + REFINE), 1);
      for (let k = s; k < s + RATE; k++) exp[k - s] += ref[k - lag - base];
    }
    let ws = 0, wn = 0;
    const heard = listener === host ? exp : coder(exp);
    for (let k = s; k < s + RATE; k++) {
      const e = heard[k - s];
      const d = e - spk[k];
      ws += e * e; wn += d * d;
    }
    sig += ws; noise += wn;
    minDb = Math.min(minDb, wn === 0 ? 99 : 10 * Math.log10(ws / wn));
  }
  const snrDb = noise === 0 ? 99 : Math.min(99, 10 * Math.log10(sig / noise));
  return { snrDb: Math.round(snrDb * 10) / 10, minWindowDb: Math.round(minDb * 10) / 10, delaysMs: delays };
}

/** Longest run (ms) of near-silence (|x| ≤ 4) in spk over [a, b). */
export function longestSilenceMs(spk: Int16Array, a: number, b: number): number {
  let run = 0, best = 0;
  for (let k = Math.max(0, a); k < Math.min(b, spk.length); k++) { if (Math.abs(spk[k]) <= 4) { run++; if (run > best) best = run; } else run = 0; }
  return ms(best * US_PER_SAMPLE);
}

export interface ConferenceReport {
  scenario: 'conference';
  seed: number;
  ok: boolean;
  failure?: string;
  codec: 'pcmu';
  parties: number;
  phones: Record<string, { preset: Preset; loggedIn: boolean; primaryPath?: string }>;
  /** The first call (alice → dave): its path before and after it became a conference. */
  relayedCall: { pathBefore?: string; pathAfter?: string; pathChangesAfter: number; staysRelayed: boolean };
  hosts: { host: string; atMs: number; by: string }[];
  election?: { winner: string; scores: Record<string, number> };
  /**
   * Legs the hosts opened (issue #8: each with the path selection of a call): peer, codec, the path that
   * carried most of the leg's media (direct-udp / relay-udp / relay-tcp), path changes and watchdog fallbacks,
   * setup ms (Add or handover → leg answered, search included), punch ms (leg INVITE → direct path
   * confirmed by the host's punching, when it was), and the leg's setup bytes on the participant's link (INVITE in → ANSWER out, punching included;
   * only for a participant that was not in a call then, whose link carries nothing else).
   */
  legs: LegFigures[];
  snr5?: Record<string, MixSnr>;
  snr4?: Record<string, MixSnr>;
  minSnr5Db?: number;
  minSnr4Db?: number;
  handover?: {
    leavingHost: string; successor?: string; atMs: number;
    /** Longest near-silent run each remaining participant heard around the handover (ms). */
    gapMs: Record<string, number>;
    /** First media from the new host minus the old host's hang-up (events), ms. */
    eventGapMs: Record<string, number>;
    maxGapMs: number;
  };
  electionGapMs?: Record<string, number>;
  mixer?: Record<string, { limited: number }>;
  virtualMs: number;
  network: Record<string, number>;
}

export interface LegFigures {
  host: string; peer: string; path?: string; codec?: string; setupMs?: number; pathChanges?: number; fallbacks?: number;
  punchMs?: number; setupBytes?: number;
  /** The host's punching reached the participant on a predicted port: k of base + k·step (0: not predicted). */
  predictedPort?: number;
}

const PHONES: [string, Preset][] = [['alice', 'port-restricted-cone'], ['bob', 'public'], ['carol', 'symmetric'], ['dave', 'udp-blocked'], ['erin', 'udp-blocked']];
export const GAP_LIMIT_MS = 1000;
export const SNR_MIN_DB = 20;

export function runConference(o: { seed: number; verbose?: boolean }): ConferenceReport {
  const w = backboneWorld(o.seed);
  try { return run(w, o.seed); } finally { w.close(); }
}

function run(w: World, seed: number): ConferenceReport {
  const boot = 1_000_000;
  const nodes = new Map<string, FirmwareNode>();
  PHONES.forEach(([n, preset]) => nodes.set(n, attachPhone(w, n, preset, { user: n, password: `${n}-secret-1`, register: true, codecs: ['pcmu'] }, boot)));
  const r: ConferenceReport = {
    scenario: 'conference', seed, ok: false, codec: 'pcmu', parties: PHONES.length, phones: {}, relayedCall: { pathChangesAfter: 0, staysRelayed: false },
    hosts: [], legs: [], virtualMs: 0, network: {},
  };
  const names = PHONES.map(([n]) => n);
  const fail = (why: string) => { r.failure = r.failure ?? why; };
  w.runUntil(() => names.every((n) => w.find(n, 'login.ok') || w.find(n, 'login.fail')), 40_000_000);
  for (const [n, preset] of PHONES) r.phones[n] = { preset, loggedIn: !!w.find(n, 'login.ok') };
  if (!names.every((n) => w.find(n, 'login.ok'))) { fail('login failed'); return finish(w, r); }

  // Audio on the absolute timeline, from now.
  const t0 = w.sched.nowUs;
  const audio = new Map<string, TimedAudio>();
  names.forEach((n, i) => audio.set(n, new TimedAudio(w, nodes.get(n)!, speech(i * 2.3, 0.3), t0)));
  // Everyone answers a ringing phone after 300 ms (a rejoin after a handover is answered by the firmware).
  w.onEvent((e) => {
    if (e.name === 'call.incoming' && names.includes(e.node)) w.sched.after(300_000, () => { const nd = nodes.get(e.node)!; nd.hook(true); });
  });
  // Leg setup bytes on the participant's link, INVITE → ANSWER (a participant not in a call at the INVITE).
  const inCall = new Set<string>();
  const incomingCallId = new Map<string, string>();
  const wireAtInvite = new Map<string, number>();
  const setupBytes = new Map<string, number>(); // by the leg's callId
  const wireNow = (n: string) => { const c = nodes.get(n)!.host.counters; return c.wireSent + c.wireRecv; };
  w.onEvent((e) => {
    if (!names.includes(e.node)) return;
    if (e.name === 'conf.invite' && names.includes(e.kv.peer) && !inCall.has(e.kv.peer)) wireAtInvite.set(e.kv.callId, wireNow(e.kv.peer));
    else if (e.name === 'call.incoming') incomingCallId.set(e.node, e.kv.callId);
    else if (e.name === 'call.answered') {
      inCall.add(e.node);
      const id = incomingCallId.get(e.node);
      if (id !== undefined && wireAtInvite.has(id)) setupBytes.set(id, e.counters.wireSent + e.counters.wireRecv - wireAtInvite.get(id)!);
    } else if (e.name === 'call.ended') inCall.delete(e.node);
  });
  const alice = nodes.get('alice')!;
  const dial = confDialer(w, alice);
  alice.hook(true);
  dial('dave', false);
  if (!w.runUntil(() => !!w.find('alice', 'call.answered'), w.sched.nowUs + 20_000_000)) { fail('alice → dave not answered'); return finish(w, r); }
  w.runUntil(() => false, w.sched.nowUs + 1_000_000);
  r.relayedCall.pathBefore = lastBefore(w, 'alice', 'media.path', w.sched.nowUs)?.kv.path;
  const confStartUs = w.sched.nowUs;
  const missing = addParties(w, dial, ['bob', 'carol', 'erin']);
  if (missing) { fail(`${missing} did not join`); return finish(w, r); }
  const full = w.runUntil(() => w.events.some((e) => e.name === 'conf.leg.active' && e.kv.parties === '5'), w.sched.nowUs + 15_000_000);
  if (!full) { fail('the conference never had 5 parties'); return finish(w, r); }
  const host5 = currentHost(w);
  const allInUs = w.sched.nowUs;
  w.runUntil(() => false, allInUs + 8_000_000);

  // The host hangs up mid-call.
  const leaveUs = w.sched.nowUs;
  nodes.get(host5)!.hook(false);
  w.runUntil(() => false, leaveUs + 8_000_000);
  const endUs = w.sched.nowUs;
  for (const n of names) if (n !== host5) nodes.get(n)!.hook(false);
  w.runUntil(() => false, endUs + 1_000_000);

  // ---- figures --------------------------------------------------------------------------------------------
  const { spk, idx, total } = speakerTracks(w, audio, names, t0);
  const pathAfter = w.events.filter((e) => e.node === 'alice' && e.name === 'media.path' && e.timeUs > confStartUs);
  r.relayedCall.pathChangesAfter = pathAfter.length;
  const aliceEnd = w.events.find((e) => e.node === 'alice' && e.name === 'call.ended' && e.timeUs > confStartUs && e.kv.peer === 'dave');
  r.relayedCall.pathAfter = aliceEnd?.kv.path ?? r.relayedCall.pathBefore;
  r.relayedCall.staysRelayed = !!r.relayedCall.pathBefore?.startsWith('relay') && pathAfter.every((e) => e.kv.path.startsWith('relay'));
  for (const e of w.events) {
    if (e.name === 'conf.host') r.hosts.push({ host: e.node, atMs: ms(e.timeUs - t0), by: e.kv.by ?? 'add' });
    if (e.name === 'conf.leg.active') {
      const end = w.events.find((x) => x.node === e.node && x.name === 'conf.leg.ended' && x.kv.peer === e.kv.peer && x.timeUs >= e.timeUs);
      const inv = lastBefore(w, e.node, 'conf.invite', e.timeUs, (x) => x.kv.peer === e.kv.peer);
      const punched = inv && w.events.find((x) => x.node === e.node && x.name === 'conf.leg.punch.ok' && x.kv.callId === inv.kv.callId);
      r.legs.push({
        host: e.node, peer: e.kv.peer, codec: e.kv.codec, setupMs: +e.kv.ms, path: end?.kv.path,
        pathChanges: end ? +end.kv.pathChanges : undefined, fallbacks: end ? +end.kv.fallbacks : undefined,
        punchMs: punched && inv ? ms(punched.timeUs - inv.timeUs) : undefined,
        setupBytes: inv ? setupBytes.get(inv.kv.callId) : undefined,
      });
    }
  }
  const el = w.events.find((e) => e.name === 'conf.election');
  if (el) {
    const scores: Record<string, number> = {};
    for (const e of w.events) if (e.name === 'conf.caps' && e.node === el.node && e.timeUs <= el.timeUs) scores[e.kv.peer] = +e.kv.score;
    scores[el.node] = +el.kv.myScore;
    r.election = { winner: w.events.find((e) => e.name === 'conf.handover' && e.node === el.node)?.kv.to ?? el.node, scores };
  }
  // 5-party phase: [allIn + 3 s, allIn + 7.5 s) (the newest leg's jitter buffer has settled); 4-party phase:
  // [leave + 2.5 s, leave + 7 s).
  const measure = (host: string, members: string[], a: number, b: number) => {
    const out: Record<string, MixSnr> = {};
    for (const x of members) out[x] = mixSnrWindows(audio, spk.get(x)!, x, members.filter((q) => q !== x), host, idx(a), idx(b));
    return out;
  };
  r.snr5 = measure(host5, names, allInUs + 3_000_000, allInUs + 7_500_000);
  r.minSnr5Db = Math.min(...Object.values(r.snr5).map((s) => s.snrDb));
  const leave = w.find(host5, 'conf.leave');
  const successor = leave?.kv.successor;
  const rest = names.filter((n) => n !== host5);
  if (successor) {
    r.snr4 = measure(successor, rest, leaveUs + 2_500_000, leaveUs + 7_000_000);
    r.minSnr4Db = Math.min(...Object.values(r.snr4).map((s) => s.snrDb));
  }
  const gapMs: Record<string, number> = {}, eventGapMs: Record<string, number> = {};
  for (const x of rest) {
    gapMs[x] = longestSilenceMs(spk.get(x)!, idx(leaveUs - 200_000), idx(leaveUs + 3_000_000));
    const first = w.events.find((e) => e.node === x && e.timeUs > leaveUs && (e.name === 'media.first' || e.name === 'conf.leg.first'));
    if (first) eventGapMs[x] = ms(first.timeUs - leaveUs);
  }
  r.handover = { leavingHost: host5, successor, atMs: ms(leaveUs - t0), gapMs, eventGapMs, maxGapMs: Math.max(...Object.values(gapMs)) };
  const hv = w.events.find((e) => e.name === 'conf.handover' && e.kv.leaving === '0');
  if (hv) {
    r.electionGapMs = {};
    const members = w.events.filter((e) => e.name === 'conf.handover.rx' && e.timeUs >= hv.timeUs && e.timeUs < hv.timeUs + 1_000_000).map((e) => e.node);
    for (const x of members) if (x !== hv.kv.to) r.electionGapMs[x] = longestSilenceMs(spk.get(x)!, idx(hv.timeUs - 200_000), idx(hv.timeUs + 3_000_000));
  }
  if (!successor) fail('no successor took over');
  if (r.minSnr5Db < SNR_MIN_DB) fail(`5-party mix SNR ${r.minSnr5Db} dB < ${SNR_MIN_DB} dB`);
  if (r.minSnr4Db === undefined || r.minSnr4Db < SNR_MIN_DB) fail(`4-party mix SNR after the handover ${r.minSnr4Db} dB < ${SNR_MIN_DB} dB`);
  if (r.handover.maxGapMs > GAP_LIMIT_MS) fail(`audio gap at the handover ${r.handover.maxGapMs} ms > ${GAP_LIMIT_MS} ms`);
  if (!r.relayedCall.staysRelayed) fail(`the relayed call did not stay relayed (${r.relayedCall.pathBefore} → ${pathAfter.map((e) => e.kv.path).join(',')})`);
  return finish(w, r);
}

function lastBefore(w: World, node: string, name: string, us: number, pred?: (e: World['events'][number]) => boolean) {
  let last;
  for (const e of w.events) if (e.node === node && e.name === name && e.timeUs <= us && (!pred || pred(e))) last = e;
  return last;
}


/**
 * The host's way to add people (scenario helpers shared by conference, conference-paths and conference-crash):
 * `dial(name, false)` types NAME and presses SEND (a normal call); `dial(name, true)` presses CONFERENCE first and
 * adds NAME with SOFT1.
 */
export function confDialer(w: World, caller: FirmwareNode): (name: string, conf: boolean) => void {
  return (name, conf) => {
    const keys = [...(conf ? [KEY.CONFERENCE] : []), ...multiTapKeys(name)];
    const t = w.typeKeys(caller, keys, 100_000);
    w.sched.at(t + 150_000, () => caller.pressKey(conf ? KEY.SOFT1 : KEY.SEND));
  };
}

/** Adds `peers` one by one (each must have an active leg within 25 s, then 1.5 s of settling); returns the first that did not join. */
export function addParties(w: World, dial: (name: string, conf: boolean) => void, peers: string[]): string | undefined {
  for (const peer of peers) {
    dial(peer, true);
    const joined = w.runUntil(() => w.events.some((e) => e.name === 'conf.leg.active' && e.kv.peer === peer), w.sched.nowUs + 25_000_000);
    if (!joined) return peer;
    w.runUntil(() => false, w.sched.nowUs + 1_500_000);
  }
  return undefined;
}

/** What every phone's loudspeaker played from t0 until now (samples at RATE), and the sample index of a time. */
export function speakerTracks(w: World, audio: Map<string, TimedAudio>, names: string[], t0: number): { spk: Map<string, Int16Array>; idx: (us: number) => number; total: number } {
  const idx = (us: number) => Math.round((us - t0) / US_PER_SAMPLE);
  const total = idx(w.sched.nowUs);
  const spk = new Map<string, Int16Array>();
  for (const n of names) spk.set(n, audio.get(n)!.speaker(total));
  return { spk, idx, total };
}

/** The phone hosting right now: the last conf.host event. */
export function currentHost(w: World): string {
  const hosts = w.events.filter((e) => e.name === 'conf.host');
  return hosts.length ? hosts[hosts.length - 1].node : '';
}

function finish(w: World, r: ConferenceReport): ConferenceReport {
  r.virtualMs = ms(w.sched.nowUs);
  r.network = { ...(w.net.stats as unknown as Record<string, number>) };
  const crashes = [...w.nodes.entries()].filter(([, n]) => n.crash).map(([k, n]) => `${k} (${n.crash})`);
  if (crashes.length) r.failure = `crash: ${crashes.join(', ')}`;
  r.ok = !r.failure;
  return r;
}

export function writeConference(o: { seed: number; outDir: string; verbose?: boolean }): ConferenceReport {
  const r = runConference(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'conference-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}

export function conferenceSummary(r: ConferenceReport): string {
  const L = [`scenario conference, seed ${r.seed}, codec ${r.codec}, ${r.parties} parties: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`];
  L.push(`  phones  ${Object.entries(r.phones).map(([n, p]) => `${n} ${p.preset}`).join(', ')}`);
  L.push(`  hosts   ${r.hosts.map((h) => `${h.host} at ${(h.atMs / 1000).toFixed(1)} s (${h.by})`).join(' → ')}`);
  if (r.election) L.push(`  election winner ${r.election.winner}; scores ${Object.entries(r.election.scores).map(([n, s]) => `${n} ${s}`).join(', ')}`);
  L.push(`  relayed call alice→dave: ${r.relayedCall.pathBefore} before the conference, ${r.relayedCall.staysRelayed ? 'stays relayed' : 'CHANGED'} (${r.relayedCall.pathChangesAfter} path changes after)`);
  L.push(`  legs (host→peer: path, codec, setup ms, punch ms, setup bytes on the peer's link)`);
  for (const l of r.legs) {
    L.push(`    ${l.host}→${l.peer}: ${l.path ?? '?'}${l.pathChanges ? ` (${l.pathChanges} path changes, ${l.fallbacks} fallbacks)` : ''}, ${l.codec ?? '?'}, ` +
      `setup ${l.setupMs} ms${l.punchMs !== undefined ? `, direct after ${l.punchMs} ms` : ''}${l.setupBytes !== undefined ? `, ${l.setupBytes} B` : ''}`);
  }
  if (r.snr5) L.push(`  mix SNR, 5 parties (host ${r.hosts.find(() => true) ? r.handover?.leavingHost : '?'}): ${Object.entries(r.snr5).map(([n, s]) => `${n} ${s.snrDb} dB`).join(', ')}`);
  if (r.snr4) L.push(`  mix SNR, 4 parties after handover (host ${r.handover?.successor}): ${Object.entries(r.snr4).map(([n, s]) => `${n} ${s.snrDb} dB`).join(', ')}`);
  if (r.handover) L.push(`  handover ${r.handover.leavingHost} hung up → ${r.handover.successor}; audio gap ${Object.entries(r.handover.gapMs).map(([n, g]) => `${n} ${g} ms`).join(', ')} (max ${r.handover.maxGapMs} ms; first new media after ${Object.entries(r.handover.eventGapMs).map(([n, g]) => `${n} ${g}`).join(', ')} ms)`);
  if (r.electionGapMs) L.push(`  election handover gap ${Object.entries(r.electionGapMs).map(([n, g]) => `${n} ${g} ms`).join(', ')}`);
  return L.join('\n');
}
