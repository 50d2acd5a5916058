/**
 * A scripted call between two phones of a World, as a person would make it: the caller types the callee's
 * name on the keypad (multi-tap) and presses dial; the callee lifts the handset after `answerDelayUs`; the
 * caller's microphone plays `speech`; the caller hangs up when it ends. Returns the measured figures.
 */
import type { World } from './world.js';
import type { FwEvent } from './firmware.js';
import { KEY, multiTapKeys } from './keypad.js';

export interface CallFigures {
  ok: boolean;
  failure?: string;
  /** Path each phone reported when the call ended. */
  callerPath?: string;
  calleePath?: string;
  /** Both directions direct-udp → direct-udp; any relay-tcp → relay-tcp; … (worst of the two). */
  path?: string;
  codec?: string;
  loginMs: { caller?: number; callee?: number };
  loginBytes: { caller?: number; callee?: number };
  searchMs?: number;
  searchBytes?: number;
  /** Caller's bytes (all, on the wire) from dial to answer: search + signaling + punching. */
  callSetupBytes?: number;
  /** Signaling bytes only (TCP payload from dial to answer, caller side). */
  signalingBytes?: number;
  dialToRingingMs?: number;
  /** Dial until audio flows both ways (first RTP received by each phone), minus the callee's pickup delay. */
  dialToAudioMs?: number;
  /** RTP bytes per second each way. */
  mediaBpsCallerToCallee?: number;
  mediaBpsCalleeToCaller?: number;
  packets: { callerSent?: number; callerReceived?: number; calleeSent?: number; calleeReceived?: number; lost?: number };
}

const RANK: Record<string, number> = { 'direct-udp': 0, 'direct-tcp': 1, 'relay-udp': 2, 'relay-tcp': 3 };
const ms = (us: number) => Math.round(us / 100) / 10;
const wire = (e: FwEvent) => e.counters.wireSent + e.counters.wireRecv;
const tcpPayload = (e: FwEvent) => e.counters.tcpPayloadSent + e.counters.tcpPayloadRecv;

export interface CallFlowOpts {
  speech: Int16Array;
  answerDelayUs?: number;
  /** Give up on logins after this long (virtual µs from now). */
  loginLimitUs?: number;
  /** Called once the call is active (fault injection). */
  onActive?: (w: World) => void;
}

export function scriptedCall(w: World, caller: string, callee: string, o: CallFlowOpts): CallFigures {
  const a = w.node(caller), b = w.node(callee);
  const fig: CallFigures = { ok: false, loginMs: {}, loginBytes: {}, packets: {} };
  const logged = (n: string) => w.find(n, 'login.ok') || w.find(n, 'login.fail');
  w.runUntil(() => !!(logged(caller) && logged(callee)) || !!a.crash || !!b.crash, w.sched.nowUs + (o.loginLimitUs ?? 40_000_000));
  for (const [role, n] of [['caller', caller], ['callee', callee]] as const) {
    const ok = w.find(n, 'login.ok');
    const boot = w.find(n, 'boot');
    if (ok && boot) { fig.loginMs[role] = ms(ok.timeUs - boot.timeUs); fig.loginBytes[role] = wire(ok); }
  }
  if (!w.find(caller, 'login.ok') || !w.find(callee, 'login.ok')) { fig.failure = 'login failed'; return fig; }

  const answerDelayUs = o.answerDelayUs ?? 200_000;
  const durUs = Math.round((o.speech.length / 8000) * 1e6);
  w.onEvent((e) => {
    if (e.node === callee && e.name === 'call.incoming') w.sched.after(answerDelayUs, () => b.hook(true));
    if (e.node === callee && e.name === 'call.ended') w.sched.after(200_000, () => b.hook(false));
    if (e.node === caller && e.name === 'call.answered') {
      a.audio.mic.start();
      o.onActive?.(w);
      w.sched.after(durUs + 300_000, () => a.hook(false));
    }
  });
  a.audio.mic.set(o.speech);
  const keys = multiTapKeys(callee);
  const t = w.typeKeys(a, keys, 120_000);
  w.sched.at(t + 200_000, () => a.pressKey(KEY.SEND));
  const done = w.runUntil(() => (!!w.find(caller, 'call.ended') && !!w.find(callee, 'call.ended')) || !!a.crash || !!b.crash,
    w.sched.nowUs + durUs + 40_000_000);
  if (!done || a.crash || b.crash) { fig.failure = a.crash || b.crash || 'call did not end'; return fig; }

  const dial = w.find(caller, 'call.dial')!;
  const sStart = w.find(caller, 'search.start'), sDone = w.find(caller, 'search.done');
  if (sStart && sDone) { fig.searchMs = ms(sDone.timeUs - sStart.timeUs); fig.searchBytes = wire(sDone) - wire(sStart); }
  const ringing = w.find(caller, 'call.ringing');
  if (ringing) fig.dialToRingingMs = ms(ringing.timeUs - dial.timeUs);
  const answered = w.find(caller, 'call.answered');
  if (answered) {
    fig.callSetupBytes = wire(answered) - wire(dial);
    fig.signalingBytes = tcpPayload(answered) - tcpPayload(dial);
    fig.codec = answered.kv.codec;
  }
  const firstA = w.find(caller, 'media.first'), firstB = w.find(callee, 'media.first');
  if (firstA && firstB) fig.dialToAudioMs = ms(Math.max(firstA.timeUs, firstB.timeUs) - dial.timeUs - answerDelayUs);
  const ea = w.find(caller, 'call.ended')!, eb = w.find(callee, 'call.ended')!;
  fig.callerPath = ea.kv.path; fig.calleePath = eb.kv.path;
  if (ea.kv.path && eb.kv.path) fig.path = RANK[ea.kv.path] >= RANK[eb.kv.path] ? ea.kv.path : eb.kv.path;
  const durS = +ea.kv.durationMs / 1000;
  if (durS > 0) {
    fig.mediaBpsCallerToCallee = Math.round(+ea.kv.bytesSent / durS);
    fig.mediaBpsCalleeToCaller = Math.round(+eb.kv.bytesSent / durS);
  }
  fig.packets = { callerSent: +ea.kv.rtpSent, callerReceived: +ea.kv.rtpRecv, calleeSent: +eb.kv.rtpSent, calleeReceived: +eb.kv.rtpRecv, lost: +ea.kv.lost + +eb.kv.lost };
  // Audio carried: each side received at least 90 % of what the other sent during the talk.
  const carried = fig.packets.calleeReceived! >= 0.9 * fig.packets.callerSent! && fig.packets.callerReceived! >= 0.9 * fig.packets.calleeSent!;
  fig.ok = carried && !!fig.path;
  if (!carried) fig.failure = `audio not carried (caller sent ${fig.packets.callerSent}, callee got ${fig.packets.calleeReceived}; callee sent ${fig.packets.calleeSent}, caller got ${fig.packets.callerReceived})`;
  return fig;
}
