/**
 * Turns text into the key presses a person makes on a 12-key phone pad with multi-tap entry
 * (ITU-T E.161 letter groups; firmware/ui/multitap.ts). Consecutive letters on the same key are separated
 * by RIGHT, which commits the pending letter, as on most desk phones.
 */
export const KEY = {
  OFF_HOOK: 0x100, ON_HOOK: 0x101, SEND: 0x102, CLEAR: 0x103, UP: 0x104, DOWN: 0x105, LEFT: 0x106, RIGHT: 0x107,
  OK: 0x108, SOFT1: 0x110, SOFT2: 0x111, SOFT3: 0x112, SOFT4: 0x113, SPEAKER: 0x120, HOLD: 0x121, CONFERENCE: 0x122,
  VOLUME_UP: 0x123, VOLUME_DOWN: 0x124,
} as const;

const GROUPS = ['0', '.-_1', 'abc2', 'def3', 'ghi4', 'jkl5', 'mno6', 'pqrs7', 'tuv8', 'wxyz9'];

/** Key codes to type `text` (lower-case letters, digits, . - _). Throws on a character the pad cannot enter. */
export function multiTapKeys(text: string): number[] {
  const keys: number[] = [];
  let lastDigit = -1;
  for (const ch of text) {
    const d = GROUPS.findIndex((g) => g.includes(ch));
    if (d < 0) throw new Error(`cannot type '${ch}' on the keypad`);
    if (d === lastDigit) keys.push(KEY.RIGHT);
    const presses = GROUPS[d].indexOf(ch) + 1;
    for (let i = 0; i < presses; i++) keys.push(48 + d);
    lastDigit = d;
  }
  return keys;
}
