/**
 * Flash key/value storage (hal/ABI.md §storage). Keys are small integers (firmware/lib/keys).
 * A write is atomic: after power loss the key holds either the old or the new record, never a mix.
 */
/** Reads the record into [ptr, ptr+cap). Returns its full length (may exceed cap: truncated), or HAL_ENOENT. */
@external("storage", "read")
export declare function storageRead(key: i32, ptr: usize, cap: i32): i32;
/** Atomically replaces the record (≤ 4096 bytes). Returns len, or HAL_ENOSPC. */
@external("storage", "write")
export declare function storageWrite(key: i32, ptr: usize, len: i32): i32;
@external("storage", "erase")
export declare function storageErase(key: i32): i32;
