import { storageRead, storageWrite } from "../../hal/storage";
import { audioVolume, AUDIO_HANDSET, AUDIO_LOUDSPEAKER } from "../../hal/audio";
import { KEY_UI_SETTINGS } from "../device/storage-keys";

/**
 * Phone settings the user changes on the keypad: ringer and handset/speaker volumes (codec chip steps 0..8,
 * 5 = 0 dB; hal/ABI.md audio.volume). Saved in flash (KEY_UI_SETTINGS: [version u8 = 1][ring][handset][speaker]).
 */
export const VOLUME_MAX: i32 = 8;
export const VOLUME_DEFAULT: i32 = 5;

export class Settings {
  ringVolume: i32 = VOLUME_DEFAULT;
  handsetVolume: i32 = VOLUME_DEFAULT;
  speakerVolume: i32 = VOLUME_DEFAULT;
}

export const settings = new Settings();
const rec = new StaticArray<u8>(8);

export function settingsLoad(): void {
  const p = changetype<usize>(rec);
  const n = storageRead(KEY_UI_SETTINGS, p, 8);
  if (n < 4 || n > 8 || rec[0] != 1) return;
  if (rec[1] <= <u8>VOLUME_MAX) settings.ringVolume = rec[1];
  if (rec[2] <= <u8>VOLUME_MAX) settings.handsetVolume = rec[2];
  if (rec[3] <= <u8>VOLUME_MAX) settings.speakerVolume = rec[3];
}

export function settingsSave(): void {
  rec[0] = 1; rec[1] = <u8>settings.ringVolume; rec[2] = <u8>settings.handsetVolume; rec[3] = <u8>settings.speakerVolume;
  storageWrite(KEY_UI_SETTINGS, changetype<usize>(rec), 4);
}

/** Sends the handset volume to the codec chip (the loudspeaker's is set by whoever routes audio to it). */
export function settingsApplyHandset(): void { audioVolume(AUDIO_HANDSET, settings.handsetVolume); }
export function settingsApplyLoudspeaker(ringing: bool): void { audioVolume(AUDIO_LOUDSPEAKER, ringing ? settings.ringVolume : settings.speakerVolume); }

/** "Vol 5 [#####...]" meter. */
export function volumeText(label: string, v: i32): string {
  let s = label + " " + v.toString() + " [";
  for (let i = 1; i <= VOLUME_MAX; i++) s += i <= v ? "#" : ".";
  return s + "]";
}
