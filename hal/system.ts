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
