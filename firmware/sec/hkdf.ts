import { cryptoHmacSha256 } from "../../hal/crypto";

/**
 * HKDF with HMAC-SHA-256 (RFC 5869), on the crypto HAL's HMAC. Used for the media keys (sec/srtp.ts, from the
 * call handshake of sec/call-kx.ts). Noise's own HKDF (noise.ts `noiseHkdf`, Noise §4.3) is a fixed 2-or-3-output
 * variant with the chaining key as salt and stays there: its outputs chain into each other (o2 = HMAC(temp, o1 ‖
 * 0x02)) exactly as RFC 5869's T(n) do, but it is specified by the Noise document, not by RFC 5869 arguments.
 *
 *   PRK = HMAC(salt, IKM)                               (§2.2 Extract; an empty salt is 32 zero bytes)
 *   T(0) = ε, T(i) = HMAC(PRK, T(i−1) ‖ info ‖ i)       (§2.3 Expand, i = 1..ceil(L/32))
 *   OKM = first L bytes of T(1) ‖ T(2) ‖ …
 *
 * Limits: L ≤ 255·32 = 8160 bytes, info ≤ HKDF_INFO_MAX bytes. PRK and every T(i) are wiped after use.
 * Verified against the RFC 5869 SHA-256 test cases 1–3 (tests/security/security-media.test.ts).
 */
export const HKDF_INFO_MAX: i32 = 128;
export const HKDF_OUT_MAX: i32 = 255 * 32;

const zeroSalt = new StaticArray<u8>(32);
const prk = new StaticArray<u8>(32);
/** [T(i−1) 32][info][i] */
const blk = new StaticArray<u8>(32 + HKDF_INFO_MAX + 1);
const t = new StaticArray<u8>(32);

/** HKDF-Extract (RFC 5869 §2.2): PRK (32 B at prkOut) = HMAC-SHA-256(salt, IKM). False if the HAL fails. */
export function hkdfExtract(salt: usize, saltLen: i32, ikm: usize, ikmLen: i32, prkOut: usize): bool {
  if (saltLen <= 0) { salt = changetype<usize>(zeroSalt); saltLen = 32; }
  return cryptoHmacSha256(salt, saltLen, ikm, ikmLen, prkOut) >= 0;
}

/**
 * HKDF-Expand (RFC 5869 §2.3): `outLen` bytes of output keying material from the 32-byte PRK at `prkIn` and
 * `info` into out. False (nothing usable written) when outLen or infoLen is out of range or the HAL fails.
 */
export function hkdfExpand(prkIn: usize, info: usize, infoLen: i32, out: usize, outLen: i32): bool {
  if (outLen < 0 || outLen > HKDF_OUT_MAX || infoLen < 0 || infoLen > HKDF_INFO_MAX) return false;
  const b = changetype<usize>(blk);
  memory.copy(b + 32, info, <usize>infoLen);
  let done = 0;
  let ok = true;
  for (let i = 1; done < outLen; i++) {
    store<u8>(b + 32 + <usize>infoLen, <u8>i);
    // T(1) has no T(0) in front: hash from offset 32.
    const from: usize = i == 1 ? b + 32 : b;
    const len = (i == 1 ? 0 : 32) + infoLen + 1;
    if (cryptoHmacSha256(prkIn, 32, from, len, changetype<usize>(t)) < 0) { ok = false; break; }
    const n = min(32, outLen - done);
    memory.copy(out + <usize>done, changetype<usize>(t), <usize>n);
    memory.copy(b, changetype<usize>(t), 32);
    done += n;
  }
  memory.fill(b, 0, <usize>blk.length);
  memory.fill(changetype<usize>(t), 0, 32);
  return ok;
}

/**
 * HKDF-SHA256(salt, IKM, info, L) (RFC 5869 §2): Extract then Expand; `outLen` bytes to out. PRK is wiped.
 * False on a bad length or a HAL failure.
 */
export function hkdfSha256(salt: usize, saltLen: i32, ikm: usize, ikmLen: i32, info: usize, infoLen: i32, out: usize, outLen: i32): bool {
  const p = changetype<usize>(prk);
  let ok = hkdfExtract(salt, saltLen, ikm, ikmLen, p);
  if (ok) ok = hkdfExpand(p, info, infoLen, out, outLen);
  memory.fill(p, 0, 32);
  return ok;
}
