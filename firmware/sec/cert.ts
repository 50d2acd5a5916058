/**
 * Identity certificates (docs/security.md §Certificates): the login server binds a user name to the phone's
 * long-term Ed25519 identity key and to its X25519 Noise static key, for a short time, with an Ed25519
 * signature (RFC 8032) by one of its signing keys. Every peer verifies them with the server keys provisioned
 * in the phone (`certKeys=` in the provisioning config; several at once, so keys can be rotated).
 *
 * Layout (big-endian, CERT_MAX bytes at most):
 *   [version u8 = 1][keyId u16][notBeforeS u32][notAfterS u32][ulen u8][user, ulen bytes]
 *   [idPub 32 (Ed25519)][noisePub 32 (X25519)][sig 64]
 *   sig = Ed25519(server signing key keyId, "p2pphone-cert-v1" ‖ every byte before sig)
 * Times are seconds on the login server's clock (the simulator's world clock); a phone compares them with
 * certNowS(nowUs) = nowUs / 1e6 + certClockOffsetS, the offset learned at login (firmware/overlay/login.ts).
 *
 * API for other modules (call offers, presence records):
 *   const c = new Certificate();
 *   c.parse(ptr, len) → bool                  structure only (no signature check); fields then readable
 *   certVerify(ptr, len, user, nowUs) → i32   CERT_OK or a CERT_E* code; checks layout, version, that the key id
 *                                             is trusted, the signature, notBefore - CERT_SKEW_S ≤ now ≤ notAfter
 *                                             and (when user != "") that the certificate is for `user`.
 *   certVerifyParsed(c, ptr, len, user, nowUs) the same, leaving the parsed fields in c (idPub, noisePub...)
 *   certTrustAdd(keyId, pub32Ptr) / certTrustClear() / certTrustCount()   the trusted server keys
 *   certSignedBy(c, msgPtr, msgLen, sigPtr) → bool   verifies a 64-byte Ed25519 signature by the certified
 *                                             identity key (proof of possession, e.g. over a challenge)
 *   myCert: the phone's own current certificate (bytes, len, expiry), set at login; empty (len 0) before.
 * A peer that authenticates a Noise handshake MUST check HandshakeState.rs == Certificate.noisePub.
 */
import { cryptoEd25519Verify } from "../../hal/crypto";
import { USER_MAX } from "../wire/types";

export const CERT_VERSION: u8 = 1;
/** Fixed bytes of a certificate besides the user name. */
export const CERT_FIXED: i32 = 1 + 2 + 4 + 4 + 1 + 32 + 32 + 64;
export const CERT_MAX: i32 = CERT_FIXED + USER_MAX;
export const CERT_SIG_LEN: i32 = 64;
/** Clock skew tolerated before notBefore (seconds). */
export const CERT_SKEW_S: i64 = 300;
/** Domain separation prefix of the server's signature. */
export const CERT_SIG_CONTEXT: string = "p2pphone-cert-v1";

export const CERT_OK: i32 = 0;
/** Truncated, trailing bytes, bad lengths, bad user name. */
export const CERT_EMALFORMED: i32 = -1;
export const CERT_EVERSION: i32 = -2;
/** Signed by a key id the phone does not trust. */
export const CERT_EUNKNOWN_KEY: i32 = -3;
export const CERT_ESIGNATURE: i32 = -4;
export const CERT_EEXPIRED: i32 = -5;
export const CERT_ENOT_YET_VALID: i32 = -6;
/** Valid, but for another user. */
export const CERT_EWRONG_USER: i32 = -7;

/** Short text for a CERT_* code (logs, console). */
export function certErrorText(code: i32): string {
  if (code == CERT_OK) return "ok";
  if (code == CERT_EMALFORMED) return "malformed";
  if (code == CERT_EVERSION) return "version";
  if (code == CERT_EUNKNOWN_KEY) return "unknown-key";
  if (code == CERT_ESIGNATURE) return "signature";
  if (code == CERT_EEXPIRED) return "expired";
  if (code == CERT_ENOT_YET_VALID) return "not-yet-valid";
  if (code == CERT_EWRONG_USER) return "wrong-user";
  return "error";
}

/** A parsed certificate. */
export class Certificate {
  keyId: u32 = 0;
  notBeforeS: u32 = 0;
  notAfterS: u32 = 0;
  user: string = "";
  idPub: StaticArray<u8> = new StaticArray<u8>(32);
  noisePub: StaticArray<u8> = new StaticArray<u8>(32);
  /** Offset of the signature in the parsed bytes (= bytes covered by it). */
  signedLen: i32 = 0;

  /** Parses the layout (not the signature). False on any structural error. Never traps. */
  parse(ptr: usize, len: i32): bool {
    if (len < CERT_FIXED || len > CERT_MAX) return false;
    if (load<u8>(ptr) != CERT_VERSION) return false;
    this.keyId = (<u32>load<u8>(ptr + 1) << 8) | <u32>load<u8>(ptr + 2);
    this.notBeforeS = be32(ptr + 3);
    this.notAfterS = be32(ptr + 7);
    const ulen = <i32>load<u8>(ptr + 11);
    if (ulen < 1 || ulen > USER_MAX || len != CERT_FIXED + ulen) return false;
    for (let i = 0; i < ulen; i++) { const c = load<u8>(ptr + 12 + <usize>i); if (c < 0x21 || c > 0x7E) return false; }
    this.user = String.UTF8.decodeUnsafe(ptr + 12, <usize>ulen, false);
    const k = ptr + 12 + <usize>ulen;
    memory.copy(changetype<usize>(this.idPub), k, 32);
    memory.copy(changetype<usize>(this.noisePub), k + 32, 32);
    this.signedLen = 12 + ulen + 64;
    return true;
  }
}

@inline function be32(p: usize): u32 {
  return (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p + 1) << 16) | (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
}

// ---- trusted server keys --------------------------------------------------------------------------------

const TRUST_MAX: i32 = 8;
const trustIds = new StaticArray<u32>(TRUST_MAX);
const trustKeys = new StaticArray<u8>(TRUST_MAX * 32);
let trustN: i32 = 0;

/** Adds (or replaces) trusted server key `keyId` (32-byte Ed25519 public key). False when the set is full. */
export function certTrustAdd(keyId: u32, pub: usize): bool {
  let i = 0;
  while (i < trustN && trustIds[i] != keyId) i++;
  if (i == trustN) { if (trustN >= TRUST_MAX) return false; trustN++; }
  trustIds[i] = keyId;
  memory.copy(changetype<usize>(trustKeys) + <usize>(i * 32), pub, 32);
  return true;
}
export function certTrustClear(): void { trustN = 0; }
export function certTrustCount(): i32 { return trustN; }

function trustedKey(keyId: u32): usize {
  for (let i = 0; i < trustN; i++) if (trustIds[i] == keyId) return changetype<usize>(trustKeys) + <usize>(i * 32);
  return 0;
}

// ---- clock ----------------------------------------------------------------------------------------------

/** Server clock − local clock (seconds), learned at login. 0 in the simulator (one world clock). */
export let certClockOffsetS: i64 = 0;
export function certSetClockOffset(s: i64): void { certClockOffsetS = s; }
/** Now on the certificate clock (seconds). */
export function certNowS(nowUs: i64): i64 { return nowUs / 1_000_000 + certClockOffsetS; }

// ---- verification ---------------------------------------------------------------------------------------

let sigBuf = new StaticArray<u8>(16 + CERT_MAX);
const scratchCert = new Certificate();

/** Verifies a certificate (see the module header). CERT_OK or a CERT_E* code. */
export function certVerify(ptr: usize, len: i32, user: string, nowUs: i64): i32 {
  return certVerifyParsed(scratchCert, ptr, len, user, nowUs);
}

/** As certVerify, leaving the parsed fields in `c` (valid only when CERT_OK is returned). */
export function certVerifyParsed(c: Certificate, ptr: usize, len: i32, user: string, nowUs: i64): i32 {
  if (ptr == 0 || len < 1) return CERT_EMALFORMED;
  if (load<u8>(ptr) != CERT_VERSION) return CERT_EVERSION;
  if (!c.parse(ptr, len)) return CERT_EMALFORMED;
  const key = trustedKey(c.keyId);
  if (key == 0) return CERT_EUNKNOWN_KEY;
  // Signed message: context ‖ cert bytes before the signature.
  const ctx = String.UTF8.encode(CERT_SIG_CONTEXT);
  const cl = ctx.byteLength;
  const b = changetype<usize>(sigBuf);
  memory.copy(b, changetype<usize>(ctx), <usize>cl);
  memory.copy(b + <usize>cl, ptr, <usize>c.signedLen);
  if (cryptoEd25519Verify(key, b, cl + c.signedLen, ptr + <usize>c.signedLen) != 0) return CERT_ESIGNATURE;
  const now = certNowS(nowUs);
  if (now > <i64>c.notAfterS) return CERT_EEXPIRED;
  if (now + CERT_SKEW_S < <i64>c.notBeforeS) return CERT_ENOT_YET_VALID;
  if (user.length > 0 && user != c.user) return CERT_EWRONG_USER;
  return CERT_OK;
}

/** True when sig (64 bytes) is a valid Ed25519 signature of [msg, msg+len) by the certified identity key. */
export function certSignedBy(c: Certificate, msg: usize, len: i32, sig: usize): bool {
  return cryptoEd25519Verify(changetype<usize>(c.idPub), msg, len, sig) == 0;
}

// ---- the phone's own certificate ------------------------------------------------------------------------

export class OwnCert {
  bytes: StaticArray<u8> = new StaticArray<u8>(CERT_MAX);
  len: i32 = 0;
  notAfterS: u32 = 0;
  /** Local time (µs) at which it was received. */
  gotUs: i64 = 0;

  /** Stores a certificate the login server just issued to us (already verified by the caller). */
  set(ptr: usize, len: i32, notAfterS: u32, nowUs: i64): void {
    if (len < 0 || len > CERT_MAX) { this.len = 0; return; }
    memory.copy(changetype<usize>(this.bytes), ptr, <usize>len);
    this.len = len; this.notAfterS = notAfterS; this.gotUs = nowUs;
  }
  get ptr(): usize { return changetype<usize>(this.bytes); }
}

/** The phone's own certificate (firmware/overlay/login.ts sets it; PUBLISH and INVITE carry it). */
export const myCert = new OwnCert();
