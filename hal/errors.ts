/**
 * HAL return codes (hal/ABI.md §Return codes). Every HAL import returns `>= 0` on success
 * (often a count or a handle) or one of these negative values.
 */
export const HAL_OK: i32 = 0;
/** Generic failure. */
export const HAL_ERR: i32 = -1;
/** Device or function not present on this hardware (optional devices). */
export const HAL_NOSYS: i32 = -2;
/** Bad argument (out-of-range handle, length, pointer). */
export const HAL_EINVAL: i32 = -3;
/** Resource busy / would block (socket buffer full). */
export const HAL_EAGAIN: i32 = -4;
/** Not found (storage key, socket handle). */
export const HAL_ENOENT: i32 = -5;
/** Address or port already in use. */
export const HAL_EADDRINUSE: i32 = -6;
/** Connection closed / not connected. */
export const HAL_ENOTCONN: i32 = -7;
/** Authentication failed (AEAD open, signature verify). */
export const HAL_EAUTH: i32 = -8;
/** Destination buffer too small. */
export const HAL_ENOSPC: i32 = -9;
/** Connection refused by the peer. */
export const HAL_ECONNREFUSED: i32 = -10;
/** Timed out. */
export const HAL_ETIMEDOUT: i32 = -11;
