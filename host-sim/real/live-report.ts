/**
 * The report of a live call (demo:live, NAT lab), computed from the two phones' event logs (JSON lines written
 * by `npm run phone -- --events`) with the same definitions as the simulator's report (host-sim/scenario.ts):
 * login time = login.ok − boot; login bytes = the host's byte counters at login.ok; search = search.start →
 * search.done on the caller; call setup bytes = caller's bytes between call.dial and call.answered; media
 * bytes and packets from call.ended. Where the events carry kernel interface counters (`--iface-stats`), the
 * same intervals are also given as `wire` figures: what really crossed the interface, TCP ACKs included.
 */
import * as fs from 'node:fs';
import type { LiveEvent } from './live-node.js';
import { alignedSnr } from '../audio-io.js';

export interface WireFigure {
  /** Bytes by the simulator's accounting (payload + 28 B/UDP datagram, + 40 B/TCP segment; no ACKs). */
  bytes: number;
  /** IP bytes the kernel counted on the host's interfaces (only with iface stats). */
  wireBytes?: number;
}

export interface LivePhoneReport {
  loggedIn: boolean;
  loginFailure?: string;
  loginMs?: number;
  login?: WireFigure;
  /** register.sent → register.ok/exists and login.sent → login.ok: phone → SN → login server and back, ms. */
  registerRoundTripMs?: number;
  loginRoundTripMs?: number;
  nat?: { udp: boolean; public: boolean; reflexive?: string };
  supernode?: string;
  media?: {
    path: string; packetsSent: number; packetsReceived: number; lost: number; late: number;
    bytesSent: number; bytesReceived: number; durationMs: number;
    /** 10 ms blocks the jitter buffer concealed, and its time-stretch rates (firmware's call.ended). */
    concealed10ms?: number; accelRate?: number; decelRate?: number;
    /** RTP bytes sent per second of call (firmware's count). */
    bandwidthSentBps: number;
    /** IP bytes per second both ways on the interface during the call (with iface stats). */
    wireBandwidthBps?: number;
  };
}

export interface LiveCallReport {
  ok: boolean;
  failure?: string;
  codec: string | null;
  path: string | null;
  phones: Record<string, LivePhoneReport>;
  search?: WireFigure & { ms: number; found: boolean };
  callSetup?: WireFigure & { dialToRingingMs: number; dialToAnswerMs: number; answerAfterRingMs: number; signaling: string };
  media?: { callerToCalleeBytes: number; calleeToCallerBytes: number; durationMs: number };
  audio?: {
    /** SNR after one global delay alignment (as the simulator's report). */
    snrDb: number; delayMs: number; comparedSamples: number; rateHz: number;
    /**
     * Median SNR of 0.2 s segments, each aligned on its own (±40 ms around the global delay): robust to the
     * adaptive jitter buffer's time-stretching, which real timing jitter triggers and which moves the global
     * alignment. Segments of silence in the input are skipped.
     */
    segmentalSnrDb: number;
  };
}

/** Reads an events file (JSON lines); a missing file is an empty log. */
export function readEvents(file: string): LiveEvent[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as LiveEvent);
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const find = (ev: LiveEvent[], name: string) => ev.find((e) => e.name === name);
const bytesOf = (e: LiveEvent) => e.counters.wireSent + e.counters.wireRecv;
const ifaceOf = (e: LiveEvent) => (e.iface ? e.iface.ipBytesSent + e.iface.ipBytesRecv : undefined);

function between(a: LiveEvent, b: LiveEvent): WireFigure {
  const f: WireFigure = { bytes: bytesOf(b) - bytesOf(a) };
  const ia = ifaceOf(a), ib = ifaceOf(b);
  if (ia !== undefined && ib !== undefined) f.wireBytes = ib - ia;
  return f;
}

function phone(ev: LiveEvent[]): LivePhoneReport {
  const boot = find(ev, 'boot');
  const ok = find(ev, 'login.ok');
  const fail = find(ev, 'login.fail');
  const nat = find(ev, 'nat.discovered');
  const sn = find(ev, 'sn.connected');
  const end = ev.find((e) => e.name === 'call.ended' && e.kv.path);
  const r: LivePhoneReport = { loggedIn: !!ok };
  if (ok && boot) { r.loginMs = r1(ok.tMs - boot.tMs); r.login = between(boot, ok); r.login.bytes = bytesOf(ok); }
  if (fail) r.loginFailure = fail.kv.reason;
  const regSent = find(ev, 'register.sent'), regDone = ev.find((e) => e.name === 'register.ok' || e.name === 'register.exists');
  const loginSent = find(ev, 'login.sent');
  if (regSent && regDone) r.registerRoundTripMs = r1(regDone.tMs - regSent.tMs);
  if (loginSent && ok) r.loginRoundTripMs = r1(ok.tMs - loginSent.tMs);
  if (nat) r.nat = { udp: nat.kv.udp === '1', public: nat.kv.public === '1', reflexive: nat.kv.reflexive };
  if (sn) r.supernode = sn.kv.sn;
  if (end) {
    const dur = +end.kv.durationMs;
    const answered = [...ev].reverse().find((e) => e.name === 'call.answered' && e.tMs <= end.tMs);
    r.media = {
      path: end.kv.path, packetsSent: +end.kv.rtpSent, packetsReceived: +end.kv.rtpRecv, lost: +end.kv.lost, late: +end.kv.late,
      bytesSent: +end.kv.bytesSent, bytesReceived: +end.kv.bytesRecv, durationMs: dur,
      bandwidthSentBps: dur > 0 ? Math.round(+end.kv.bytesSent / (dur / 1000)) : 0,
    };
    if (end.kv.concealed10ms !== undefined) r.media.concealed10ms = +end.kv.concealed10ms;
    if (end.kv.accelRate !== undefined) { r.media.accelRate = +end.kv.accelRate; r.media.decelRate = +end.kv.decelRate; }
    if (answered) {
      const w = between(answered, end).wireBytes;
      if (w !== undefined && dur > 0) r.media.wireBandwidthBps = Math.round(w / (dur / 1000));
    }
  }
  return r;
}

/**
 * Builds the report of one call from `caller` to `callee`. `micWav`/`speakerWav` (the caller's captured
 * microphone and the callee's speaker, 8 kHz) give the SNR after delay alignment when both exist.
 */
export function liveCallReport(names: { caller: string; callee: string }, callerEv: LiveEvent[], calleeEv: LiveEvent[],
  audio?: { mic: Int16Array; speaker: Int16Array; rateHz: number }): LiveCallReport {
  const rep: LiveCallReport = { ok: false, codec: null, path: null, phones: { [names.caller]: phone(callerEv), [names.callee]: phone(calleeEv) } };
  const sStart = find(callerEv, 'search.start'), sDone = find(callerEv, 'search.done');
  if (sStart && sDone) rep.search = { ms: r1(sDone.tMs - sStart.tMs), found: sDone.kv.found === '1', ...between(sStart, sDone) };
  const dial = find(callerEv, 'call.dial'), ringing = find(callerEv, 'call.ringing'), answered = find(callerEv, 'call.answered');
  const invite = find(callerEv, 'call.invite');
  const incoming = find(calleeEv, 'call.incoming'), calleeAnswered = find(calleeEv, 'call.answered');
  if (dial && ringing && answered && incoming && calleeAnswered) {
    rep.codec = answered.kv.codec ?? null;
    rep.callSetup = {
      dialToRingingMs: r1(ringing.tMs - dial.tMs), dialToAnswerMs: r1(answered.tMs - dial.tMs),
      answerAfterRingMs: r1(calleeAnswered.tMs - incoming.tMs),
      signaling: invite?.kv.via === 'direct' ? 'direct-tcp' : 'via-supernodes', ...between(dial, answered),
    };
  }
  const aEnd = callerEv.find((e) => e.name === 'call.ended' && e.kv.path), bEnd = calleeEv.find((e) => e.name === 'call.ended' && e.kv.path);
  if (aEnd && bEnd) {
    const paths = [aEnd.kv.path, bEnd.kv.path];
    rep.path = paths.every((p) => p === 'direct-udp') ? 'direct-udp' : paths.includes('relay-tcp') ? 'relay-tcp' : paths.every((p) => p === paths[0]) ? paths[0] : 'relay-udp';
    rep.media = { callerToCalleeBytes: +aEnd.kv.bytesSent, calleeToCallerBytes: +bEnd.kv.bytesSent, durationMs: +aEnd.kv.durationMs };
  }
  if (audio && audio.mic.length > audio.rateHz && audio.speaker.length > audio.rateHz) {
    const s = alignedSnr(audio.mic, audio.speaker, audio.rateHz);
    rep.audio = { snrDb: s.snrDb, delayMs: r1((s.delaySamples / audio.rateHz) * 1000), comparedSamples: s.compared, rateHz: audio.rateHz,
      segmentalSnrDb: segmentalSnr(audio.mic, audio.speaker, audio.rateHz, s.delaySamples) };
  }
  const failures: string[] = [];
  for (const [n, p] of Object.entries(rep.phones)) if (!p.loggedIn) failures.push(`${n} not logged in${p.loginFailure ? ` (${p.loginFailure})` : ''}`);
  if (!rep.search?.found && failures.length === 0) failures.push('search did not find the callee');
  if (!rep.callSetup && failures.length === 0) failures.push('call not answered');
  if (!rep.path && failures.length === 0) failures.push('call did not end with media');
  if (!rep.audio && failures.length === 0) failures.push('no audio recorded');
  rep.ok = failures.length === 0;
  if (!rep.ok) rep.failure = failures.join('; ');
  return rep;
}

/**
 * Median SNR (dB) of `segMs` segments of `ref`, each compared with `out` at its own best delay within
 * ±`searchMs` of `lag` samples. Segments whose reference energy is below 1 % of the loudest are skipped.
 */
export function segmentalSnr(ref: ArrayLike<number>, out: ArrayLike<number>, rateHz: number, lag: number, segMs = 200, searchMs = 40): number {
  const seg = Math.round((rateHz * segMs) / 1000), w = Math.round((rateHz * searchMs) / 1000);
  const energies: number[] = [];
  for (let s0 = 0; s0 + seg <= ref.length; s0 += seg) { let e = 0; for (let i = s0; i < s0 + seg; i++) e += ref[i] * ref[i]; energies.push(e); }
  const maxE = Math.max(0, ...energies);
  const snrs: number[] = [];
  energies.forEach((e, k) => {
    if (e < maxE * 0.01 || e === 0) return;
    const s0 = k * seg;
    let best = -Infinity;
    for (let d = lag - w; d <= lag + w; d++) {
      if (s0 + d < 0 || s0 + d + seg > out.length) continue;
      let noise = 0;
      for (let i = s0; i < s0 + seg; i++) { const x = ref[i] - out[i + d]; noise += x * x; }
      best = Math.max(best, noise === 0 ? 99 : 10 * Math.log10(e / noise));
    }
    if (best > -Infinity) snrs.push(best);
  });
  if (snrs.length === 0) return 0;
  snrs.sort((a, b) => a - b);
  return Math.round(snrs[snrs.length >> 1] * 100) / 100;
}

/** Human-readable lines, in the style of the simulator's summary. */
export function liveSummary(r: LiveCallReport, names: { caller: string; callee: string }): string[] {
  const L: string[] = [];
  for (const [n, p] of Object.entries(r.phones)) {
    const nat = p.nat ? (p.nat.udp ? (p.nat.public ? 'public' : `NAT, reflexive ${p.nat.reflexive}`) : 'UDP blocked') : '?';
    const wire = p.login?.wireBytes !== undefined ? ` (${p.login.wireBytes} B on the wire)` : '';
    L.push(`  ${n.padEnd(6)} login ${p.loggedIn ? `${p.loginMs} ms, ${p.login?.bytes} B${wire}` : `FAILED (${p.loginFailure ?? 'timeout'})`}; network: ${nat}; SN ${p.supernode ?? '-'}`);
  }
  if (r.search) L.push(`  search  ${names.callee} ${r.search.found ? 'found' : 'NOT found'} in ${r.search.ms} ms (${r.search.bytes} B)`);
  if (r.callSetup) L.push(`  call    dial→ringing ${r.callSetup.dialToRingingMs} ms, dial→answer ${r.callSetup.dialToAnswerMs} ms (${names.callee} picked up after ${r.callSetup.answerAfterRingMs} ms), signaling ${r.callSetup.signaling}, ${r.callSetup.bytes} B, codec ${r.codec}`);
  if (r.path && r.media) L.push(`  media   path ${r.path}; ${names.caller}→${names.callee} ${r.media.callerToCalleeBytes} B, ${names.callee}→${names.caller} ${r.media.calleeToCallerBytes} B over ${(r.media.durationMs / 1000).toFixed(1)} s`);
  for (const [n, p] of Object.entries(r.phones)) if (p.media) L.push(`  ${n.padEnd(6)} sent ${p.media.packetsSent} pkts, received ${p.media.packetsReceived}, lost ${p.media.lost}, late ${p.media.late}`);
  if (r.audio) L.push(`  audio   SNR ${r.audio.snrDb} dB (${names.callee}'s speaker vs ${names.caller}'s mic; per 0.2 s segment, median ${r.audio.segmentalSnrDb} dB), delay ${r.audio.delayMs} ms`);
  return L;
}
