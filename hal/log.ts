/**
 * Log sink (hal/ABI.md §log). Levels: 0 error, 1 warn, 2 info, 3 debug, 4 trace, 5 event.
 * Level 5 lines are machine-readable events `name key=value ...` that the simulator's reports use.
 */
@external("log", "write")
export declare function logWrite(level: i32, ptr: usize, len: i32): i32;
