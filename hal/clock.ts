/** Clock device (hal/ABI.md §clock). Monotonic, microseconds since boot of the host world. */
@external("clock", "nowUs")
export declare function clockNowUs(): i64;
