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
