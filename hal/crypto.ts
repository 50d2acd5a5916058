/**
 * Crypto engine (hal/ABI.md §crypto). Primitives only; protocols are firmware's.
 * All keys and outputs are raw bytes at the given pointers. Returns >= 0 or a HAL error.
 */
/** SHA-256 of [ptr, ptr+len) into 32 bytes at out. */
@external("crypto", "sha256")
export declare function cryptoSha256(ptr: usize, len: i32, out: usize): i32;
/** HMAC-SHA-256 (RFC 2104) into 32 bytes at out. */
@external("crypto", "hmacSha256")
export declare function cryptoHmacSha256(key: usize, keyLen: i32, ptr: usize, len: i32, out: usize): i32;
/** X25519 public key (32 B) of a 32-byte private key (RFC 7748). */
@external("crypto", "x25519Public")
export declare function cryptoX25519Public(priv: usize, outPub: usize): i32;
/** X25519 shared secret (32 B). Returns HAL_EAUTH for an all-zero result (small-order point). */
@external("crypto", "x25519")
export declare function cryptoX25519(priv: usize, pub: usize, out: usize): i32;
/** ChaCha20-Poly1305 (RFC 8439) seal: out = ciphertext ‖ 16-byte tag; returns ptLen + 16. Key 32 B, nonce 12 B. */
@external("crypto", "aeadSeal")
export declare function cryptoAeadSeal(key: usize, nonce: usize, aad: usize, aadLen: i32, pt: usize, ptLen: i32, out: usize): i32;
/** ChaCha20-Poly1305 open: returns plaintext length, or HAL_EAUTH when the tag does not verify. */
@external("crypto", "aeadOpen")
export declare function cryptoAeadOpen(key: usize, nonce: usize, aad: usize, aadLen: i32, ct: usize, ctLen: i32, out: usize): i32;
/** Ed25519 (RFC 8032) public key (32 B) from a 32-byte seed. */
@external("crypto", "ed25519Public")
export declare function cryptoEd25519Public(seed: usize, outPub: usize): i32;
/** Ed25519 signature (64 B) of a message. */
@external("crypto", "ed25519Sign")
export declare function cryptoEd25519Sign(seed: usize, msg: usize, len: i32, outSig: usize): i32;
/** Returns HAL_OK if the signature verifies, HAL_EAUTH otherwise. */
@external("crypto", "ed25519Verify")
export declare function cryptoEd25519Verify(pub: usize, msg: usize, len: i32, sig: usize): i32;
