/**
 * The built-in scenarios of `npm start` (issue #2): a login server, 3 supernodes, alice behind a
 * port-restricted cone NAT and bob on a public address (or, with `firewall`, behind a UDP-blocking
 * firewall). Both register and log in; alice dials bob by name on her keypad; bob lifts the handset; alice's
 * microphone plays the input speech; alice hangs up when it ends. Everything is measured from the firmware's
 * events and the network's counters, in virtual time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { World } from './world.js';
import { natPresets, firewallPresets } from './net/network.js';
import { KEY, multiTapKeys } from './keypad.js';
import { alignedSnr, writeWav } from './audio-io.js';
import { ilbcRoundTrip } from './codec-ref.js';
import type { FwEvent } from './firmware.js';
import { callQuality, type CallQuality } from './emodel.js';
import { capturePcap } from './pcap.js';

export const SCENARIOS = ['default', 'firewall', 'wrong-password', 'buddies', 'multilogin', 'offline-im', 'conference', 'hold', 'transfer', 'conference-paths', 'conference10'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const CODECS = ['ilbc30', 'ilbc20', 'pcmu', 'pcma'] as const;

export interface ScenarioOpts {
  scenario: ScenarioName;
  seed: number;
  /** Speech for alice's microphone at 8 kHz. */
  input: Int16Array;
  inputName: string;
  /** Force one codec; absent = the phones' default offer (iLBC 30 ms preferred, then iLBC 20, PCMU, PCMA). */
  codec?: (typeof CODECS)[number];
  outDir: string;
  verbose?: boolean;
  /** Write a libpcap capture of every packet of the run to this file (host-sim/pcap.ts). */
  pcap?: string;
  /**
   * (Issue #6.) A LAN-like world: no core delay between sites and 0.3 ms access links with 0–0.2 ms jitter
   * (default: the 50 ms round trip of the default world).
   */
  lan?: boolean;
}

const RATE = 8000;
const ms = (us: number) => Math.round(us / 100) / 10;

export interface PhoneReport {
  loggedIn: boolean;
  loginFailure?: string;
  loginMs?: number;
  loginBytes?: number;
  loginPayloadBytes?: number;
  nat?: { udp: boolean; public: boolean; reflexive?: string };
  supernode?: string;
  lcd: string[];
  media?: {
    path: string; packetsSent: number; packetsReceived: number; lost: number; late: number; duplicates: number;
    bytesSent: number; bytesReceived: number; bandwidthSentBps: number; concealed10ms: number;
    /** (Issue #6.) The receiving jitter buffer at the end of the call (firmware/media/jitter-stats.ts). */
    jitter?: {
      delayMs: number; targetMs: number; maxDelayMs: number; lateLoss: number; concealment: number;
      accelRate: number; decelRate: number; expandEvents: number; driftPpm: number; burstR: number;
    };
  };
  crash?: string;
}

export interface CallReport {
  seed: number;
  scenario: ScenarioName;
  ok: boolean;
  failure?: string;
  codec: string;
  path: string | null;
  virtualMs: number;
  phones: Record<string, PhoneReport>;
  search?: { ms: number; bytes: number; found: boolean };
  callSetup?: { dialToRingingMs: number; dialToAnswerMs: number; answerAfterRingMs: number; bytes: number; signaling: string };
  media?: { aliceToBobBytes: number; bobToAliceBytes: number; durationMs: number };
  audio?: {
    input: string; micWav: string; speakerWav: string; snrDb: number; delayMs: number; mouthToEarMs: number;
    comparedSamples: number; rateHz: number;
    /** SNR of the speaker against the codec alone (mic → our encoder → our decoder, offline): what the network and
     * jitter buffer changed. 99 = identical. */
    snrVsCodecDb?: number;
    /** (Issue #6.) Mouth-to-ear measured with a click injected into alice's microphone after the speech and
     * detected on bob's speaker: capture → speaker time, including audio blocks, packetization, network,
     * jitter buffer and decoder. */
    mouthToEarClickMs?: number;
  };
  /** (Issue #6.) ITU-T G.107 E-model of the alice → bob direction (host-sim/emodel.ts): Ta = the click's
   * mouth-to-ear delay, the codec's Ie/Bpl, Ppl = bob's concealment, BurstR from his loss pattern. */
  quality?: CallQuality & { codec: string };
  network: Record<string, number>;
}

export function runScenario(o: ScenarioOpts): CallReport {
  const w = new World({ seed: o.seed, verbose: o.verbose, ...(o.lan ? { coreDelayUs: 0, accessLink: { delayUs: 300, jitterUs: 200, loss: 0 } } : {}) });
  const stopCapture = o.pcap ? capturePcap(w.net, o.pcap) : null;
  try {
    return run(w, o);
  } finally {
    stopCapture?.();
    w.close();
  }
}

function run(w: World, o: ScenarioOpts): CallReport {
  w.addLoginServer('198.51.100.10');
  const snIps = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
  for (const ip of snIps) w.bootstrapEntry(ip);
  snIps.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: 33033 }));

  const nat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
  const codecs = o.codec ? [o.codec] : undefined;
  const bootPhones = 1_000_000;
  if (o.scenario === 'wrong-password') {
    // The account exists with another password (say, set from another phone): login must fail cleanly.
    w.login.store.register('alice', 'the-real-password');
  }
  const alice = w.addNode('alice', '192.168.1.10', {
    user: 'alice', password: o.scenario === 'wrong-password' ? 'a-wrong-password' : 'alice-secret-1', register: true, codecs,
  }, { behind: nat, bootAtUs: bootPhones });
  const bobBehind = o.scenario === 'firewall' ? w.net.addFirewall('bob-fw', { ...firewallPresets['udp-blocked'] }) : undefined;
  const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true, codecs }, { behind: bobBehind, bootAtUs: bootPhones });

  const phones = ['alice', 'bob'];
  const loginDone = (n: string) => w.find(n, 'login.ok') || w.find(n, 'login.fail');
  w.runUntil(() => phones.every((n) => loginDone(n)) || phones.some((n) => w.node(n).crash), 30_000_000);

  let failure: string | undefined;
  const bothIn = phones.every((n) => w.find(n, 'login.ok'));
  if (!bothIn) failure = phones.map((n) => w.find(n, 'login.fail') ? `${n}: login failed (${w.find(n, 'login.fail')!.kv.reason})` : !w.find(n, 'login.ok') ? `${n}: not logged in` : '').filter(Boolean).join('; ');

  const inputDurUs = Math.round((o.input.length / RATE) * 1e6);
  let ended = false;
  if (bothIn) {
    // bob lifts the handset 1 s after his phone starts ringing and puts it back when the call ends.
    w.onEvent((e) => {
      if (e.node === 'bob' && e.name === 'call.incoming') w.sched.after(1_000_000, () => bob.hook(true));
      if (e.node === 'bob' && e.name === 'call.ended') w.sched.after(300_000, () => bob.hook(false));
      if (e.node === 'alice' && e.name === 'call.answered') {
        alice.audio.mic.start();
        w.sched.after(inputDurUs + 500_000, () => alice.hook(false));
      }
    });
    alice.audio.mic.set(withClick(o.input));
    // alice types "bob" on the keypad and presses the dial key.
    w.sched.after(500_000, () => {
      const t = w.typeKeys(alice, multiTapKeys('bob'));
      w.sched.at(t + 300_000, () => alice.pressKey(KEY.SEND));
    });
    ended = w.runUntil(() => phones.every((n) => w.find(n, 'call.ended')) || phones.some((n) => w.node(n).crash),
      w.sched.nowUs + inputDurUs + 60_000_000);
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    if (!ended) failure = 'call did not complete';
  }

  // ---- report --------------------------------------------------------------------------------
  const report: CallReport = {
    seed: o.seed, scenario: o.scenario, ok: false, codec: w.find('alice', 'call.answered')?.kv.codec ?? o.codec ?? 'none', path: null, virtualMs: ms(w.sched.nowUs), phones: {},
    network: { ...(w.net.stats as unknown as Record<string, number>) },
  };
  for (const n of phones) report.phones[n] = phoneReport(w, n, bootPhones);
  const aEnd = w.find('alice', 'call.ended');
  const bEnd = w.find('bob', 'call.ended');
  const dial = w.find('alice', 'call.dial');
  const sStart = w.find('alice', 'search.start');
  const sDone = w.find('alice', 'search.done');
  if (sStart && sDone) {
    report.search = { ms: ms(sDone.timeUs - sStart.timeUs), bytes: wire(sDone) - wire(sStart), found: sDone.kv.found === '1' };
  }
  const ringing = w.find('alice', 'call.ringing');
  const answered = w.find('alice', 'call.answered');
  const invite = w.find('alice', 'call.invite');
  const incoming = w.find('bob', 'call.incoming');
  const bobAnswered = w.find('bob', 'call.answered');
  if (dial && ringing && answered && bobAnswered && incoming) {
    report.callSetup = {
      dialToRingingMs: ms(ringing.timeUs - dial.timeUs),
      dialToAnswerMs: ms(answered.timeUs - dial.timeUs),
      answerAfterRingMs: ms(bobAnswered.timeUs - incoming.timeUs),
      bytes: wire(answered) - wire(dial),
      signaling: invite?.kv.via === 'direct' ? 'direct-tcp' : 'via-supernodes',
    };
  }
  if (aEnd?.kv.path && bEnd?.kv.path) {
    const paths = [aEnd.kv.path, bEnd.kv.path];
    report.path = paths.every((p) => p === 'direct-udp') ? 'direct-udp' : paths.includes('relay-tcp') ? 'relay-tcp' : 'relay-udp';
    report.media = { aliceToBobBytes: +aEnd.kv.bytesSent, bobToAliceBytes: +bEnd.kv.bytesSent, durationMs: +aEnd.kv.durationMs };
  }

  fs.mkdirSync(o.outDir, { recursive: true });
  const mic = Int16Array.from(alice.audio.mic.captured);
  const spk = Int16Array.from(bob.audio.speaker);
  const micWav = path.join(o.outDir, 'alice-mic.wav');
  const spkWav = path.join(o.outDir, 'bob-speaker.wav');
  writeWav(micWav, mic, RATE);
  writeWav(spkWav, spk, RATE);
  if (mic.length > RATE && spk.length > RATE) {
    const snr = alignedSnr(mic, spk, RATE);
    const micStart = micStartUs(w);
    const m2e = bob.audio.speakerStartUs + (snr.delaySamples / RATE) * 1e6 - micStart;
    report.audio = {
      input: o.inputName, micWav, speakerWav: spkWav, snrDb: snr.snrDb, delayMs: ms((snr.delaySamples / RATE) * 1e6),
      mouthToEarMs: ms(m2e), comparedSamples: snr.compared, rateHz: RATE,
    };
    const click = clickMouthToEarUs(mic, spk, micStartUs(w), bob.audio.speakerStartUs, o.input.length);
    if (click !== null) report.audio.mouthToEarClickMs = ms(click);
    const negotiated = answered?.kv.codec ?? o.codec;
    if (negotiated === 'ilbc20' || negotiated === 'ilbc30') {
      const ref = ilbcRoundTrip(mic, negotiated === 'ilbc20' ? 20 : 30);
      if (ref) report.audio.snrVsCodecDb = alignedSnr(ref, spk, RATE).snrDb;
    }
  }
  const bobJitter = report.phones.bob?.media?.jitter;
  if (report.audio && bobJitter) {
    const codec = answered?.kv.codec ?? o.codec ?? 'pcmu';
    report.quality = {
      codec,
      ...callQuality({ mouthToEarMs: report.audio.mouthToEarClickMs ?? report.audio.mouthToEarMs, codec, pplPct: bobJitter.concealment * 100, burstR: bobJitter.burstR }),
    };
  }
  const crashes = phones.concat(['sn1', 'sn2', 'sn3']).filter((n) => w.node(n).crash);
  if (crashes.length) failure = `crash: ${crashes.map((n) => `${n} (${w.node(n).crash})`).join(', ')}`;
  report.ok = !failure && !!report.audio && !!report.path;
  if (failure) report.failure = failure;
  return report;
}

function wire(e: FwEvent): number { return e.counters.wireSent + e.counters.wireRecv; }

/** When alice's microphone captured its first sample of speech: the mic starts at her answer event. */
function micStartUs(w: World): number {
  return w.find('alice', 'call.answered')!.timeUs;
}

/** The click: 2 ms of a ±20000 square wave at 1 kHz, 300 ms after the speech (in the 500 ms before hang-up). */
const CLICK_GAP = 0.3 * RATE;
const CLICK = Int16Array.from({ length: 16 }, (_, i) => ((i >> 2) & 1 ? -20000 : 20000));

/** alice's microphone signal: the input, 300 ms of silence, the click. */
function withClick(input: Int16Array): Int16Array {
  const out = new Int16Array(input.length + CLICK_GAP + CLICK.length);
  out.set(input);
  out.set(CLICK, input.length + CLICK_GAP);
  return out;
}

/**
 * Mouth-to-ear from the click: its capture time at alice (mic sample index / rate after audio start) to the
 * first speaker sample at bob, after that time, louder than a quarter of the click. µs, or null if not found.
 */
function clickMouthToEarUs(mic: Int16Array, spk: Int16Array, micStartUs: number, spkStartUs: number, inputLen: number): number | null {
  const k = inputLen + CLICK_GAP;
  if (mic.length < k + CLICK.length || mic[k] !== CLICK[0] || spkStartUs < 0) return null;
  const clickUs = micStartUs + (k / RATE) * 1e6;
  const from = Math.max(0, Math.ceil(((clickUs - spkStartUs) / 1e6) * RATE));
  for (let i = from; i < spk.length; i++) if (Math.abs(spk[i]) > 5000) return spkStartUs + (i / RATE) * 1e6 - clickUs;
  return null;
}

function phoneReport(w: World, n: string, bootUs: number): PhoneReport {
  const node = w.node(n);
  const ok = w.find(n, 'login.ok');
  const fail = w.find(n, 'login.fail');
  const natEv = w.find(n, 'nat.discovered');
  const snEv = w.find(n, 'sn.connected');
  const end = w.find(n, 'call.ended');
  const r: PhoneReport = { loggedIn: !!ok, lcd: node.lcd.lines.map((l) => l.trimEnd()) };
  if (ok) {
    r.loginMs = ms(ok.timeUs - bootUs);
    r.loginBytes = wire(ok);
    r.loginPayloadBytes = ok.counters.udpPayloadSent + ok.counters.udpPayloadRecv + ok.counters.tcpPayloadSent + ok.counters.tcpPayloadRecv;
  }
  if (fail) r.loginFailure = fail.kv.reason;
  if (natEv) r.nat = { udp: natEv.kv.udp === '1', public: natEv.kv.public === '1', reflexive: natEv.kv.reflexive };
  if (snEv) r.supernode = snEv.kv.sn;
  if (end?.kv.path) {
    const durS = +end.kv.durationMs / 1000;
    r.media = {
      path: end.kv.path, packetsSent: +end.kv.rtpSent, packetsReceived: +end.kv.rtpRecv, lost: +end.kv.lost, late: +end.kv.late,
      duplicates: +end.kv.dup, bytesSent: +end.kv.bytesSent, bytesReceived: +end.kv.bytesRecv,
      bandwidthSentBps: durS > 0 ? Math.round(+end.kv.bytesSent / durS) : 0, concealed10ms: +end.kv.concealed10ms,
    };
    if (end.kv.jbTargetMs !== undefined) {
      r.media.jitter = {
        delayMs: +end.kv.jbDelayMs, targetMs: +end.kv.jbTargetMs, maxDelayMs: +end.kv.jbMaxDelayMs, lateLoss: +end.kv.lateLoss,
        concealment: +end.kv.concealment, accelRate: +end.kv.accelRate, decelRate: +end.kv.decelRate,
        expandEvents: +end.kv.expandEvents, driftPpm: +end.kv.driftPpm, burstR: +end.kv.burstR,
      };
    }
  }
  if (node.crash) r.crash = node.crash;
  return r;
}

/** A short human-readable summary of a report. */
export function summary(r: CallReport): string {
  const L: string[] = [];
  L.push(`scenario ${r.scenario}, seed ${r.seed}, codec ${r.codec}: ${r.ok ? 'OK' : `FAILED (${r.failure})`}`);
  for (const [n, p] of Object.entries(r.phones)) {
    const nat = p.nat ? (p.nat.udp ? (p.nat.public ? 'public' : `NAT, reflexive ${p.nat.reflexive}`) : 'UDP blocked') : '?';
    L.push(`  ${n.padEnd(6)} login ${p.loggedIn ? `${p.loginMs} ms, ${p.loginBytes} B` : `FAILED (${p.loginFailure ?? 'timeout'})`}; network: ${nat}; SN ${p.supernode ?? '-'}`);
  }
  if (r.search) L.push(`  search  bob found in ${r.search.ms} ms (${r.search.bytes} B)`);
  if (r.callSetup) L.push(`  call    dial→ringing ${r.callSetup.dialToRingingMs} ms, dial→answer ${r.callSetup.dialToAnswerMs} ms (bob picked up after ${r.callSetup.answerAfterRingMs} ms), signaling ${r.callSetup.signaling}, ${r.callSetup.bytes} B`);
  if (r.path) L.push(`  media   path ${r.path}; alice→bob ${r.media!.aliceToBobBytes} B, bob→alice ${r.media!.bobToAliceBytes} B over ${(r.media!.durationMs / 1000).toFixed(1)} s`);
  for (const [n, p] of Object.entries(r.phones)) if (p.media) L.push(`  ${n.padEnd(6)} sent ${p.media.packetsSent} pkts, received ${p.media.packetsReceived}, lost ${p.media.lost}, late ${p.media.late}`);
  if (r.audio) L.push(`  audio   SNR ${r.audio.snrDb} dB (bob's speaker vs alice's mic)` +
    (r.audio.snrVsCodecDb !== undefined ? `, ${r.audio.snrVsCodecDb} dB vs the codec alone` : '') + `, mouth-to-ear ${r.audio.mouthToEarMs} ms` +
    (r.audio.mouthToEarClickMs !== undefined ? ` (click: ${r.audio.mouthToEarClickMs} ms)` : ''));
  if (r.quality) L.push(`  quality E-model R ${r.quality.R}, MOS ${r.quality.mos} (${r.quality.codec}: Ie ${r.quality.Ie}, Bpl ${r.quality.Bpl}; Ta ${r.quality.Ta} ms, Ppl ${r.quality.Ppl} %, BurstR ${r.quality.BurstR})`);
  if (r.audio) L.push(`  wrote   ${r.audio.micWav}, ${r.audio.speakerWav}`);
  return L.join('\n');
}
