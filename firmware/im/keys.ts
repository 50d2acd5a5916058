/** Flash storage keys of the IM module (issue #8; assigned range 13–14; firmware/lib/keys.ts has the rest). */
/** Device-id seed (32 B) used until the identity key of issue #7 exists (firmware/im/device.ts). */
export const KEY_IM_DEVICE: i32 = 13;
/** IM sequence state: next sequence number reservation and receive windows (firmware/im/im.ts). */
export const KEY_IM_STATE: i32 = 14;
