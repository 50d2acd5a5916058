/**
 * Key codes delivered by onKey (hal/ABI.md §keypad). Digits, '*' and '#' are their ASCII codes; the
 * other keys and the hook switch have codes from 0x100.
 */
export const KEY_STAR: i32 = 42;
export const KEY_HASH: i32 = 35;
export const KEY_OFF_HOOK: i32 = 0x100;
export const KEY_ON_HOOK: i32 = 0x101;
export const KEY_SEND: i32 = 0x102;
export const KEY_CLEAR: i32 = 0x103;
export const KEY_UP: i32 = 0x104;
export const KEY_DOWN: i32 = 0x105;
export const KEY_LEFT: i32 = 0x106;
export const KEY_RIGHT: i32 = 0x107;
export const KEY_OK: i32 = 0x108;
export const KEY_SOFT1: i32 = 0x110;
export const KEY_SOFT2: i32 = 0x111;
export const KEY_SOFT3: i32 = 0x112;
export const KEY_SOFT4: i32 = 0x113;
export const KEY_SPEAKER: i32 = 0x120;
export const KEY_HOLD: i32 = 0x121;
export const KEY_CONFERENCE: i32 = 0x122;
export const KEY_VOLUME_UP: i32 = 0x123;
export const KEY_VOLUME_DOWN: i32 = 0x124;
