/** Flash storage keys of the device modules (issue #9); the overlay's keys are in firmware/lib/keys.ts. */
/** Update client state: the version whose `installed` ping was sent (firmware/device/update.ts). */
export const KEY_UPDATE_STATE: i32 = 8;
/** Call history (firmware/ui/history.ts). */
export const KEY_CALL_HISTORY: i32 = 9;
/** Phone settings: volumes (firmware/ui/settings.ts). */
export const KEY_UI_SETTINGS: i32 = 10;
