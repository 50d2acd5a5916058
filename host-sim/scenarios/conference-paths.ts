/**
 * Conference legs take the path a call would (issue #8 with #4): a 5-party conference with no host handover.
 *   alice  port-restricted-cone NAT (host)    dave  UDP-blocking firewall (the first call)
 *   bob    full-cone NAT                      carol port-restricted-cone NAT      erin  UDP-blocking firewall
 *   frank  symmetric NAT with sequential ports
 * alice calls dave (UDP blocked: relay-tcp), then adds bob, carol, erin and frank. Nobody scores ELECTION_MARGIN
 * above alice (all are behind NATs or firewalls), so she keeps hosting and every leg is hers. Expected by RFC 4787
 * theory: alice→bob and alice→carol direct-udp (both ends endpoint-independent mapping), alice→frank direct-udp
 * through port prediction (frank's NAT allocates sequentially, alice's mapping is endpoint-independent),
 * alice→erin relay-tcp;
 * the relayed first call stays relay-tcp. Mid-conference the direct path of the alice→bob leg is cut (UDP
 * between the two NATs dropped): the leg's watchdog falls back to the relay, the leg survives.
 *
 * Codec: `codecs` is every phone's offer (default PCMU only, which makes the mix comparison bit-exact). With
 * iLBC the expected mix is the other parties' microphones through the iLBC reference (build/ilbc-harness.wasm,
 * the firmware's own kernels) and the sum through it once more for non-hosts. That reference cannot be
 * bit-exact: its 30 ms frames start at another sample than the phones' and its state history differs, so the
 * figure is what a correct mix through a lossy codec scores against an independent run of that codec; beside
 * it the report gives the SNR against the uncoded mix and the SNR of the codec alone (one talker, one pass, same
 * alignment method) for scale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backboneWorld, type World } from '../world.js';
import { attachPhone, type Preset } from '../presets.js';
import { ipFromString } from '../net/ip.js';
import { ilbcRoundTrip } from '../codec-ref.js';
import type { FirmwareNode } from '../firmware.js';
import {
  RATE, TimedAudio, confDialer, speakerTracks, mixSnrWindows, speech, ulawCoder, type LegFigures, type MixSnr, type SignalCoder,
} from './conference.js';

const US_PER_SAMPLE = 1e6 / RATE;
const ms = (us: number) => Math.round(us / 100) / 10;

export interface ConferencePathsReport {
  scenario: 'conference-paths';
  seed: number;
  ok: boolean;
  failure?: string;
  /** Every phone's codec offer; each leg's negotiated codec is in `legs`. */
  codecs: string[];
  phones: Record<string, { preset: Preset }>;
  relayedCall: { pathBefore?: string; pathChangesAfter: number; staysRelayed: boolean };
  legs: LegFigures[];
  /** The alice→bob leg's direct path cut mid-conference. */
  fallback?: {
    cutAtMs: number;
    /** conf.leg.fallback at the host (its leg watchdog), media.fallback at the participant, ms after the cut. */
    hostDetectMs?: number; peerDetectMs?: number;
    /** Leg packets the host sent on the relay after the cut, and the leg's audio concealed at bob over 2 s after it. */
    hostRelayPackets?: number; bobSilenceMs?: number;
  };
  /** Mix SNR of each participant against the expected N−1 mix through the legs' codec (see the header). */
  snr?: Record<string, MixSnr>;
  minSnrDb?: number;
  /** Against the uncoded mix (only when the codec is not G.711). */
  snrUncoded?: Record<string, MixSnr>;
  /** One talker through the codec reference against its own input, dB (only when the codec is not G.711). */
  codecAloneDb?: number;
  virtualMs: number;
}

const PHONES: [string, Preset][] = [
  ['alice', 'port-restricted-cone'], ['dave', 'udp-blocked'], ['bob', 'full-cone'], ['carol', 'port-restricted-cone'], ['erin', 'udp-blocked'],
  ['frank', 'symmetric-sequential'],
];
export const PATHS_SNR_MIN_DB = 20;

/** A SignalCoder for a codec name: µ-law, or the iLBC reference (frames padded with zeros). */
function coderFor(codec: string): SignalCoder {
  if (codec === 'pcmu') return ulawCoder;
  if (codec === 'ilbc30' || codec === 'ilbc20') {
    const mode = codec === 'ilbc20' ? 20 : 30;
    const n = mode === 20 ? 160 : 240;
    return (x) => {
      // One frame of room at the end for the codec's own delay (the decoder's enhancer looks ahead), which
      // is measured and taken out: the phones' jitter buffers and the SNR's lag search absorb it there.
      const pcm = new Int16Array((Math.ceil(x.length / n) + 1) * n);
      for (let i = 0; i < x.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(x[i])));
      const y = ilbcRoundTrip(pcm, mode);
      if (!y) throw new Error('build/ilbc-harness.wasm missing: npm run build');
      let lag = 0, bestC = -Infinity;
      for (let d = 0; d < n; d++) {
        let c = 0;
        for (let k = 0; k + d < x.length; k += 3) c += x[k] * y[k + d];
        if (c > bestC) { bestC = c; lag = d; }
      }
      return Float64Array.from(y.subarray(lag, lag + x.length));
    };
  }
  throw new Error(`no reference coder for ${codec}`);
}

export function runConferencePaths(o: { seed: number; codecs?: string[] }): ConferencePathsReport {
  const w = backboneWorld(o.seed);
  try { return run(w, o.seed, o.codecs ?? ['pcmu']); } finally { w.close(); }
}

function run(w: World, seed: number, codecs: string[]): ConferencePathsReport {
  const nodes = new Map<string, FirmwareNode>();
  PHONES.forEach(([n, preset]) => nodes.set(n, attachPhone(w, n, preset, { user: n, password: `${n}-secret-1`, register: true, codecs }, 1_000_000)));
  const r: ConferencePathsReport = {
    scenario: 'conference-paths', seed, ok: false, codecs, phones: {}, relayedCall: { pathChangesAfter: 0, staysRelayed: false }, legs: [], virtualMs: 0,
  };
  const names = PHONES.map(([n]) => n);
  for (const [n, preset] of PHONES) r.phones[n] = { preset };
  const fail = (why: string) => { r.failure = r.failure ?? why; };
  const finish = () => {
    r.virtualMs = ms(w.sched.nowUs);
    const crashes = [...w.nodes.entries()].filter(([, n]) => n.crash).map(([k, n]) => `${k} (${n.crash})`);
    if (crashes.length) r.failure = `crash: ${crashes.join(', ')}`;
    r.ok = !r.failure;
    return r;
  };
  w.runUntil(() => names.every((n) => w.find(n, 'login.ok') || w.find(n, 'login.fail')), 40_000_000);
  if (!names.every((n) => w.find(n, 'login.ok'))) { fail('login failed'); return finish(); }

  const t0 = w.sched.nowUs;
  const audio = new Map<string, TimedAudio>();
  names.forEach((n, i) => audio.set(n, new TimedAudio(w, nodes.get(n)!, speech(i * 2.3, 0.3), t0)));
  w.onEvent((e) => {
    if (e.name === 'call.incoming' && names.includes(e.node)) w.sched.after(300_000, () => nodes.get(e.node)!.hook(true));
  });
  // Leg setup bytes on the participant's link (idle until the INVITE): INVITE → its ANSWER.
  const wireAt = new Map<string, number>();
  const setupBytes = new Map<string, number>();
  const incoming = new Map<string, string>();
  const wireNow = (n: string) => { const c = nodes.get(n)!.host.counters; return c.wireSent + c.wireRecv; };
  w.onEvent((e) => {
    if (e.name === 'conf.invite' && names.includes(e.kv.peer)) wireAt.set(e.kv.callId, wireNow(e.kv.peer));
    else if (e.name === 'call.incoming') incoming.set(e.node, e.kv.callId);
    else if (e.name === 'call.answered') {
      const id = incoming.get(e.node);
      if (id !== undefined && wireAt.has(id)) setupBytes.set(id, e.counters.wireSent + e.counters.wireRecv - wireAt.get(id)!);
    }
  });

  const alice = nodes.get('alice')!;
  const dial = confDialer(w, alice);
  alice.hook(true);
  dial('dave', false);
  if (!w.runUntil(() => !!w.find('alice', 'call.answered'), w.sched.nowUs + 20_000_000)) { fail('alice → dave not answered'); return finish(); }
  w.runUntil(() => false, w.sched.nowUs + 1_000_000);
  let before;
  for (const e of w.events) if (e.node === 'alice' && e.name === 'media.path') before = e.kv.path;
  r.relayedCall.pathBefore = before;
  const confStartUs = w.sched.nowUs;
  for (const peer of ['bob', 'carol', 'erin', 'frank']) {
    dial(peer, true);
    if (!w.runUntil(() => w.events.some((e) => e.name === 'conf.leg.active' && e.kv.peer === peer), w.sched.nowUs + 25_000_000)) { fail(`${peer} did not join`); return finish(); }
    w.runUntil(() => false, w.sched.nowUs + 1_500_000);
  }
  const allInUs = w.sched.nowUs;
  w.runUntil(() => false, allInUs + 7_000_000);

  // Cut the alice→bob leg's direct path (UDP between their NATs' public addresses, both ways).
  const legInvite = w.events.find((e) => e.node === 'alice' && e.name === 'conf.invite' && e.kv.peer === 'bob');
  const hostPunch = legInvite && w.events.find((e) => e.node === 'alice' && e.name === 'conf.leg.punch.ok' && e.kv.callId === legInvite.kv.callId);
  const bobPunch = w.events.find((e) => e.node === 'bob' && e.name === 'punch.ok');
  const cutUs = w.sched.nowUs;
  if (hostPunch && bobPunch) {
    const bobIp = ipFromString(hostPunch.kv.peer.split(':')[0]);
    const aliceIp = ipFromString(bobPunch.kv.peer.split(':')[0]);
    w.net.addFault((p) => p.proto === 'udp' && ((p.from === 'alice' && p.dstIp === bobIp) || (p.from === 'bob' && p.dstIp === aliceIp)));
  }
  w.runUntil(() => false, cutUs + 4_000_000);
  const endUs = w.sched.nowUs;
  for (const n of names) nodes.get(n)!.hook(false);
  w.runUntil(() => false, endUs + 1_000_000);

  // ---- figures --------------------------------------------------------------------------------------------
  const { spk, idx, total } = speakerTracks(w, audio, names, t0);
  const after = w.events.filter((e) => e.node === 'alice' && e.name === 'media.path' && e.timeUs > confStartUs);
  r.relayedCall.pathChangesAfter = after.length;
  r.relayedCall.staysRelayed = !!r.relayedCall.pathBefore?.startsWith('relay') && after.every((e) => e.kv.path.startsWith('relay'));
  for (const e of w.events) {
    if (e.node !== 'alice' || e.name !== 'conf.leg.active') continue;
    const end = w.events.find((x) => x.node === 'alice' && x.name === 'conf.leg.ended' && x.kv.peer === e.kv.peer && x.timeUs >= e.timeUs);
    const inv = w.events.find((x) => x.node === 'alice' && x.name === 'conf.invite' && x.kv.peer === e.kv.peer && x.timeUs <= e.timeUs);
    const punched = inv && w.events.find((x) => x.node === 'alice' && x.name === 'conf.leg.punch.ok' && x.kv.callId === inv.kv.callId);
    r.legs.push({
      host: 'alice', peer: e.kv.peer, codec: e.kv.codec, setupMs: +e.kv.ms, path: end?.kv.path,
      pathChanges: end ? +end.kv.pathChanges : undefined, fallbacks: end ? +end.kv.fallbacks : undefined,
      punchMs: punched && inv ? ms(punched.timeUs - inv.timeUs) : undefined, setupBytes: inv ? setupBytes.get(inv.kv.callId) : undefined,
      predictedPort: punched ? +punched.kv.predicted : undefined,
    });
  }
  const hostFb = w.events.find((e) => e.node === 'alice' && e.name === 'conf.leg.fallback' && e.timeUs >= cutUs);
  const peerFb = w.events.find((e) => e.node === 'bob' && e.name === 'media.fallback' && e.timeUs >= cutUs);
  const bobEnd = w.events.find((e) => e.node === 'alice' && e.name === 'conf.leg.ended' && e.kv.peer === 'bob');
  r.fallback = {
    cutAtMs: ms(cutUs - t0),
    hostDetectMs: hostFb ? ms(hostFb.timeUs - cutUs) : undefined,
    peerDetectMs: peerFb ? ms(peerFb.timeUs - cutUs) : undefined,
    hostRelayPackets: bobEnd ? +bobEnd.kv.sentRelayUdp + +bobEnd.kv.sentRelayTcp : undefined,
  };
  // The codec of the legs (all alike here: every phone offers the same list).
  const codec = r.legs[0]?.codec ?? codecs[0];
  const coder = coderFor(codec);
  const a = idx(allInUs + 2_500_000), b = idx(allInUs + 6_500_000);
  r.snr = {};
  for (const x of names) r.snr[x] = mixSnrWindows(audio, spk.get(x)!, x, names.filter((q) => q !== x), 'alice', a, b, coder);
  r.minSnrDb = Math.min(...Object.values(r.snr).map((s) => s.snrDb));
  if (codec !== 'pcmu') {
    r.snrUncoded = {};
    const none: SignalCoder = (x) => x;
    for (const x of names) r.snrUncoded[x] = mixSnrWindows(audio, spk.get(x)!, x, names.filter((q) => q !== x), 'alice', a, b, none);
    // The codec alone: bob's microphone through the reference against itself, one pass (lag 0).
    const mic = new Float64Array(b - a);
    for (let k = a; k < b; k++) mic[k - a] = audio.get('bob')!.mic(k);
    const y = coder(mic);
    let s = 0, n = 0;
    for (let k = 0; k < mic.length; k++) { s += mic[k] * mic[k]; n += (mic[k] - y[k]) ** 2; }
    r.codecAloneDb = Math.round(10 * Math.log10(s / n) * 10) / 10;
  }
  // bob's speaker right after the cut: the longest near-silent run in the 2 s after it.
  const bs = spk.get('bob')!;
  let run = 0, best = 0;
  for (let k = idx(cutUs); k < Math.min(idx(cutUs + 2_000_000), bs.length); k++) { if (Math.abs(bs[k]) <= 4) { run++; best = Math.max(best, run); } else run = 0; }
  r.fallback.bobSilenceMs = ms(best * US_PER_SAMPLE);

  if (!r.relayedCall.staysRelayed) fail('the relayed first call did not stay relayed');
  for (const l of r.legs) {
    const want = l.peer === 'erin' ? 'relay-tcp' : 'direct-udp';
    if (l.peer !== 'bob' && l.path !== want) fail(`leg alice→${l.peer} on ${l.path}, expected ${want}`);
  }
  if (!hostPunch) fail('the alice→bob leg never had a direct path');
  if (!hostFb) fail('the alice→bob leg did not fall back after the cut');
  if (codec === 'pcmu' && r.minSnrDb < PATHS_SNR_MIN_DB) fail(`mix SNR ${r.minSnrDb} dB < ${PATHS_SNR_MIN_DB} dB`);
  return finish();
}

export function conferencePathsSummary(r: ConferencePathsReport): string {
  const L = [`conference-paths, seed ${r.seed}, offer ${r.codecs.join(',')}: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`];
  L.push(`  relayed first call alice→dave ${r.relayedCall.pathBefore}, ${r.relayedCall.staysRelayed ? 'stays relayed' : 'CHANGED'} (${r.relayedCall.pathChangesAfter} path changes)`);
  for (const l of r.legs) {
    L.push(`  leg ${l.host}→${l.peer}: ${l.path}, ${l.codec}, setup ${l.setupMs} ms${l.punchMs !== undefined ? `, direct after ${l.punchMs} ms` : ''}` +
      `${l.predictedPort ? ` (predicted port k=${l.predictedPort})` : ''}, ` +
      `${l.setupBytes ?? '?'} B, ${l.pathChanges} path changes, ${l.fallbacks} fallbacks`);
  }
  const f = r.fallback;
  if (f) L.push(`  cut alice↔bob direct UDP at ${f.cutAtMs} ms: host leg fallback after ${f.hostDetectMs} ms, bob after ${f.peerDetectMs} ms; ${f.hostRelayPackets} leg packets on the relay; bob's longest silence ${f.bobSilenceMs} ms`);
  if (r.snr) L.push(`  mix SNR vs expected (through the leg codec): ${Object.entries(r.snr).map(([n, s]) => `${n} ${s.snrDb} dB`).join(', ')}`);
  if (r.snrUncoded) L.push(`  mix SNR vs the uncoded mix: ${Object.entries(r.snrUncoded).map(([n, s]) => `${n} ${s.snrDb} dB`).join(', ')}; codec alone ${r.codecAloneDb} dB`);
  return L.join('\n');
}

export function writeConferencePaths(o: { seed: number; outDir: string; codecs?: string[] }): ConferencePathsReport {
  const r = runConferencePaths(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'conference-paths-report.json'), JSON.stringify(r, null, 2) + '\n');
  return r;
}
