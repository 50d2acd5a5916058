/** UART (hal/ABI.md §uart): debug console. Received bytes arrive through the export onUart. */
@external("uart", "write")
export declare function uartWrite(ptr: usize, len: i32): i32;
