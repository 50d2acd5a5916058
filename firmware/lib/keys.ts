/** Flash storage keys (hal/storage.ts). One record per key; each written atomically. */
/** Provisioning config, text `key=value` lines (firmware/lib/config.ts). Written by the factory / provisioning tool. */
export const KEY_PROVISIONING: i32 = 1;
/** Host cache: supernode endpoints (firmware/overlay/host-cache.ts). */
export const KEY_HOST_CACHE: i32 = 2;
/** Account state: registration done flag (firmware/overlay/client.ts). */
export const KEY_ACCOUNT: i32 = 3;
/** Long-term identity seed (32 B, from hal entropy on first boot). */
export const KEY_IDENTITY: i32 = 4;
/** NAT behaviour found by discovery (firmware/nat/discovery.ts). */
export const KEY_NAT: i32 = 5;
/** Buddy list cache: the login server's list as last synchronised (firmware/buddy/buddies.ts). */
export const KEY_BUDDIES: i32 = 15;
/** Buddy operations made while offline, sent at the next login, and the manual "away" flag (firmware/buddy/buddies.ts). */
export const KEY_BUDDY_OUTBOX: i32 = 16;
/** Keys 13 (device-id seed) and 14 (IM sequence state): firmware/im/keys.ts (issue #8). */
