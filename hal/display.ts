/** Character LCD (hal/ABI.md §display). ASCII 0x20..0x7E; other bytes shown as '?'. */
/** Returns rows << 8 | cols (e.g. 4 × 24 = 0x0418). */
@external("display", "size")
export declare function displaySize(): i32;
/** Writes `len` characters at (row, col); text past the row's end is clipped. Returns chars written. */
@external("display", "write")
export declare function displayWrite(row: i32, col: i32, ptr: usize, len: i32): i32;
@external("display", "clear")
export declare function displayClear(): i32;
