/** System device (hal/ABI.md §system). */
/** Requests a reboot; the host re-instantiates the firmware after the current call returns. */
@external("system", "reboot")
export declare function systemReboot(): void;
/** Reports a fatal firmware error (an AssemblyScript abort = a crash); the host logs it and reboots the phone. */
@external("system", "panic")
export declare function systemPanic(msg: usize, file: usize, line: u32, col: u32): void;

/** Replaces AssemblyScript's `env.abort` (asconfig `use: abort=hal/system/halAbort`). */
export function halAbort(msg: string | null, file: string | null, line: u32, col: u32): void {
  systemPanic(msg === null ? 0 : changetype<usize>(msg), file === null ? 0 : changetype<usize>(file), line, col);
  unreachable();
}

/**
 * Boot ROM services (hal/ABI.md §system, docs/image-format.md). On hardware they are the boot ROM's API;
 * in the simulator host-sim/bootrom.ts. A host without a boot ROM (plain simulator nodes) answers HAL_NOSYS.
 */
/**
 * Tells the boot ROM that the running image booted healthily. A newly installed image runs on trial until it
 * calls this; without it (before the ROM's confirm timeout, or within 3 boots) the ROM falls back to the
 * previous slot. Raises the anti-rollback floor to the running version. Returns HAL_OK or HAL_NOSYS.
 */
@external("system", "confirmBoot")
export declare function systemConfirmBoot(): i32;
/**
 * Copies the 64-byte boot info record (layout: hal/ABI.md §Boot info) to [ptr, ptr+cap).
 * Returns the record length (64), HAL_EINVAL for a bad pointer, or HAL_NOSYS without a boot ROM.
 */
@external("system", "bootInfo")
export declare function systemBootInfo(ptr: usize, cap: i32): i32;
/**
 * Starts writing a firmware image of `size` bytes to the inactive slot (the slot is invalid from now on).
 * Returns HAL_OK, HAL_ENOSPC (larger than a slot), HAL_EINVAL (size < header) or HAL_NOSYS.
 */
@external("system", "updateBegin")
export declare function systemUpdateBegin(size: i32): i32;
/** Programs `len` image bytes at byte `offset` of the image being written. Returns len or HAL_EINVAL. */
@external("system", "updateWrite")
export declare function systemUpdateWrite(offset: i32, ptr: usize, len: i32): i32;
/**
 * Verifies the written image (format, key, SHA-256, Ed25519 signature, anti-rollback) and makes it the slot to
 * boot next. Returns HAL_OK; HAL_EAUTH (signature, hash or key mismatch); HAL_EINVAL (malformed or incomplete);
 * HAL_ERR (version not newer than the running one: anti-rollback); HAL_NOSYS.
 */
@external("system", "updateFinish")
export declare function systemUpdateFinish(): i32;
