import { call, CALL_INCOMING, CALL_RINGBACK, CALL_IDLE } from "../call/call";
import { media } from "../media/session";
import { audioPlay, audioRoute, audioStart, audioStop, AUDIO_HANDSET, AUDIO_LOUDSPEAKER } from "../../hal/audio";
import { ToneGenerator, TONE_DIAL, TONE_NONE, TONE_RING, TONE_RINGBACK, TONE_RATE_HZ } from "./tones";
import { settingsApplyHandset, settingsApplyLoudspeaker } from "./settings";
import { ui, S_DIAL } from "./phone-ui";
import { event } from "../lib/log";

/**
 * Which tone the phone plays and where: the ringer on the loudspeaker while a call rings in, ringback in the
 * earpiece (or loudspeaker, hands-free) while the callee's phone rings, dial tone while the handset is up on the
 * dial screen with nothing typed. The codec chip is started for a tone only when no call media runs, and
 * stopped again only if the tone started it. Also routes call audio: handset, or loudspeaker when hands-free.
 */
const gen = new ToneGenerator();
const block = new StaticArray<i16>(480);
let startedAudio = false;
let route: i32 = -1;

export function ringerTone(): i32 { return gen.tone; }

/** Recomputes tone and audio route from the call and UI state; call after every change. */
export function ringerUpdate(): void {
  const st = call.state;
  let tone = TONE_NONE;
  if (!media.active) {
    if (st == CALL_INCOMING) tone = TONE_RING;
    else if (st == CALL_RINGBACK) tone = TONE_RINGBACK;
    else if (st == CALL_IDLE && ui.screen == S_DIAL && (ui.offHook || ui.handsFree) && ui.entry.full().length == 0) tone = TONE_DIAL;
  }
  const wantRoute = tone == TONE_RING || ui.handsFree ? AUDIO_LOUDSPEAKER : AUDIO_HANDSET;
  if (wantRoute != route) {
    route = wantRoute;
    audioRoute(route);
    if (route == AUDIO_LOUDSPEAKER) settingsApplyLoudspeaker(tone == TONE_RING); else settingsApplyHandset();
  } else if (route == AUDIO_LOUDSPEAKER) settingsApplyLoudspeaker(tone == TONE_RING);
  if (tone != gen.tone) {
    if (gen.tone == TONE_RING) event("ringer.stop");
    gen.start(tone);
    if (tone == TONE_RING) event("ringer.start", "route=loudspeaker");
  }
  if (tone != TONE_NONE && !media.active && !startedAudio) { audioStart(TONE_RATE_HZ); startedAudio = true; }
  if (tone == TONE_NONE && startedAudio) {
    startedAudio = false;
    if (!media.active) audioStop();
  }
}

/** One 10 ms audio block while no call media runs: plays the current tone (`n` samples). */
export function ringerOnAudio(n: i32): void {
  if (n <= 0 || n > 480) return;
  const p = changetype<usize>(block);
  gen.fill(p, n);
  audioPlay(p, n);
}
