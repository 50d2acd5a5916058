/**
 * Entropy device (hal/ABI.md §entropy): fills `len` bytes at `ptr` with random bytes.
 * Only for long-term keys; everything else uses the seeded PRNG (determinism).
 * In the simulator the bytes are derived from the world seed. Returns len or HAL_ERR.
 */
@external("entropy", "fill")
export declare function entropyFill(ptr: usize, len: i32): i32;
