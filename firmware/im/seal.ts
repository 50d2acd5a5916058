import { HandshakeState, PATTERN_K, PATTERN_N, PATTERN_X } from "../sec/noise";
import { Certificate, certNowS, certVerifyParsed, CERT_EEXPIRED, CERT_MAX, CERT_OK, myCert } from "../sec/cert";
import { identity } from "../sec/identity";
import { PresenceRecord } from "../wire/record";
import { entropyFill } from "../../hal/entropy";

/**
 * End-to-end sealing of IM fragments to one device (issue #8 with issue #7's keys): a one-way
 * Noise_N_25519_ChaChaPoly_SHA256 message (noiseprotocol.org §7.4, pattern N: `<- s … -> e, es`) to the
 * device's certified X25519 key — the noisePub of the certificate in its presence record, checked with
 * certVerifyParsed — so supernodes and eavesdroppers see only ciphertext. Prologue: "p2pphone-im-v1" ‖
 * str8(toAddr) ‖ str8(fromAddr) ‖ [seq u32], so a sealed fragment cannot be replayed to another device or
 * under another seq. Sealed bytes: [e 32][ciphertext ‖ tag 16] (SEAL_OVERHEAD = 48). The ephemeral key comes
 * from the entropy device (as call-kx.ts). The sender is not authenticated by the seal (pattern N).
 */
export const SEAL_OVERHEAD: i32 = 48;
const CONTEXT = "p2pphone-im-v1";
const prologue = new StaticArray<u8>(160);
const eph = new StaticArray<u8>(32);
const hs = new HandshakeState();
const cert = new Certificate();

function put(o: i32, v: u32): i32 { store<u8>(changetype<usize>(prologue) + <usize>o, <u8>v); return o + 1; }

function buildPrologue(toAddr: string, fromAddr: string, seq: u32): i32 {
  const p = changetype<usize>(prologue);
  let o = 0;
  for (let i = 0; i < CONTEXT.length; i++) o = put(o, <u32>CONTEXT.charCodeAt(i));
  const a = String.UTF8.encode(toAddr, false), b = String.UTF8.encode(fromAddr, false);
  const la = min(a.byteLength, 48), lb = min(b.byteLength, 48);
  o = put(o, <u32>la); memory.copy(p + <usize>o, changetype<usize>(a), <usize>la); o += la;
  o = put(o, <u32>lb); memory.copy(p + <usize>o, changetype<usize>(b), <usize>lb); o += lb;
  o = put(o, seq >> 24); o = put(o, seq >> 16); o = put(o, seq >> 8); o = put(o, seq);
  return o;
}

/** The device's certified X25519 key (a copy), or null when its record has no valid certificate. */
export function imDeviceKey(rec: PresenceRecord, now: i64): StaticArray<u8> | null {
  if (rec.certLen <= 0) return null;
  if (certVerifyParsed(cert, rec.certPtr(), rec.certLen, rec.user, now) != CERT_OK) return null;
  const k = new StaticArray<u8>(32);
  memory.copy(changetype<usize>(k), changetype<usize>(cert.noisePub), 32);
  return k;
}

/** Seals [pt, pt+len) for the device with `key`; writes len + SEAL_OVERHEAD bytes at out. Returns that, or -1. */
export function imSeal(key: StaticArray<u8>, toAddr: string, fromAddr: string, seq: u32, pt: usize, len: i32, out: usize, cap: i32): i32 {
  const pl = buildPrologue(toAddr, fromAddr, seq);
  if (!hs.initialize(PATTERN_N, true, changetype<usize>(prologue), pl, null, key)) { hs.wipe(); return -1; }
  if (entropyFill(changetype<usize>(eph), 32) != 32 || !hs.setEphemeral(changetype<usize>(eph))) { hs.wipe(); return -1; }
  memory.fill(changetype<usize>(eph), 0, 32);
  const n = hs.writeMessage(pt, len, out, cap);
  hs.wipe();
  return n < 0 ? -1 : n;
}

/** Opens a fragment sealed to this phone; writes the plaintext at out. Returns its length, or -1. */
export function imOpen(toAddr: string, fromAddr: string, seq: u32, ct: usize, len: i32, out: usize, cap: i32): i32 {
  if (!identity.ready || len < SEAL_OVERHEAD) return -1;
  const pl = buildPrologue(toAddr, fromAddr, seq);
  if (!hs.initialize(PATTERN_N, false, changetype<usize>(prologue), pl, identity.noisePriv, null)) { hs.wipe(); return -1; }
  const n = hs.readMessage(ct, len, out, cap);
  hs.wipe();
  return n < 0 ? -1 : n;
}

// ---- held IMs (offline delivery) and their receipts -------------------------------------------------------

/**
 * Held IMs (issue #7 gap 2): a fragment for a user with no device online is sealed, before it leaves the
 * sender, to each device's certified X25519 key taken from the 72 h presence records at the user's index
 * supernodes, as a one-way Noise_X_25519_ChaChaPoly_SHA256 message (noiseprotocol.org §7.4, pattern X:
 * `<- s … -> e, es, s, ss`): the sender's static key goes encrypted in the message and the payload is
 * `[certLen u16][sender's certificate][UTF-8 text]`, so the receiving device authenticates the sender (its
 * certificate, checked with the login server's keys, must certify the static key the handshake proved) — a
 * holder can neither read, alter nor forge a held IM. Prologue: "p2pphone-imheld-v1" ‖ the IM header in clear
 * (flags … fragCount: sender and receiver addresses, the sender's endpoints for receipts, seq, base, msgId,
 * fragment fields), so no header field can be changed either. Overhead: HELD_SEAL_FIXED + the certificate.
 *
 * Certificates of offline devices: a certificate lives 24 h, a presence record 72 h after its last refresh.
 * For sealing to an offline device's key (and for opening a held IM whose sender's certificate has expired
 * since) a certificate that is otherwise valid — trusted server key, good signature, right user — is accepted
 * up to HELD_GRACE_S after its notAfter. Reasoning: the signature still proves that the login server bound
 * this user to this key; expiry bounds how long a stolen key can be used to *act* as the user (calls, presence,
 * a live handshake), but sealing to the key only lets its holder *read*, and the key was the user's at the time
 * the device was last seen. Holders drop a record 72 h after its last refresh, and an online record is only
 * refreshed under a valid certificate, so "notAfter + 72 h" is the life of a record published under it. A
 * device whose key changed since (factory reset) cannot open the copy; it is counted and dropped, nothing worse.
 * (docs/security.md §Held instant messages.)
 *
 * Receipts of held IMs: IM_ACK_SEALED `[ackerAddr str8][toAddr str8][len u16][Noise_K message]`, one-way
 * Noise_K (`-> s  <- s … -> e, es, ss`) from the receiving device's key to the sender's key (the one certified
 * in the held IM), payload [seq u32], prologue "p2pphone-imack-v1" ‖ str8(ackerAddr) ‖ str8(toAddr): the
 * sender knows the device key it sealed to, so a receipt authenticates its device, and nobody on the path
 * learns which fragment it acknowledges.
 */
export const HELD_SEAL_FIXED: i32 = 32 + 48 + 16 + 2;
export const HELD_SEAL_OVERHEAD_MAX: i32 = HELD_SEAL_FIXED + CERT_MAX;
export const HELD_GRACE_S: i64 = 72 * 3600;
export const ACK_SEALED_LEN: i32 = 32 + 4 + 16;
const HELD_CONTEXT = "p2pphone-imheld-v1";
const ACK_CONTEXT = "p2pphone-imack-v1";
const heldPrologue = new StaticArray<u8>(256);
const heldPt = new StaticArray<u8>(2 + CERT_MAX + 1000);
const heldCert = new Certificate();
/** The sender's certified X25519 key of the last held IM that imOpenHeld opened. */
export const heldSenderKey = new StaticArray<u8>(32);

/** A certificate acceptable for a held IM: valid, or expired less than HELD_GRACE_S ago (see above). */
export function imCertHeldOk(c: Certificate, ptr: usize, len: i32, user: string, now: i64): bool {
  const v = certVerifyParsed(c, ptr, len, user, now);
  if (v == CERT_OK) return true;
  return v == CERT_EEXPIRED && c.user == user && certNowS(now) <= <i64>c.notAfterS + HELD_GRACE_S;
}

/** The X25519 key of an offline device from its (up to 72 h old) presence record, or null (no usable certificate). */
export function imHeldDeviceKey(rec: PresenceRecord, now: i64): StaticArray<u8> | null {
  if (rec.certLen <= 0 || !imCertHeldOk(cert, rec.certPtr(), rec.certLen, rec.user, now)) return null;
  const k = new StaticArray<u8>(32);
  memory.copy(changetype<usize>(k), changetype<usize>(cert.noisePub), 32);
  return k;
}

/** Whether this phone can seal held IMs (it has its identity and a certificate to put in them). */
export function imCanSealHeld(): bool { return identity.ready && myCert.len > 0; }

function heldPrologueOf(ctx: string, hdr: usize, hdrLen: i32): i32 {
  const p = changetype<usize>(heldPrologue);
  let o = 0;
  for (let i = 0; i < ctx.length; i++) { store<u8>(p + <usize>o, <u8>ctx.charCodeAt(i)); o++; }
  if (hdrLen < 0 || o + hdrLen > heldPrologue.length) return -1;
  memory.copy(p + <usize>o, hdr, <usize>hdrLen);
  return o + hdrLen;
}

/**
 * Seals [pt, pt+len) (≤ 1000 bytes) for the offline device with X25519 key `key`, bound to the IM header
 * [hdr, hdr+hdrLen); writes the message at out. Returns its length (len + HELD_SEAL_FIXED + our certificate),
 * or -1 (no identity or certificate, buffer too small, engine failure).
 */
export function imSealHeld(key: StaticArray<u8>, hdr: usize, hdrLen: i32, pt: usize, len: i32, out: usize, cap: i32): i32 {
  if (!imCanSealHeld() || len < 0 || 2 + myCert.len + len > heldPt.length) return -1;
  const pl = heldPrologueOf(HELD_CONTEXT, hdr, hdrLen);
  if (pl < 0) return -1;
  const b = changetype<usize>(heldPt);
  store<u8>(b, <u8>(myCert.len >> 8)); store<u8>(b + 1, <u8>myCert.len);
  memory.copy(b + 2, myCert.ptr, <usize>myCert.len);
  memory.copy(b + 2 + <usize>myCert.len, pt, <usize>len);
  const n0 = 2 + myCert.len + len;
  let n = -1;
  if (hs.initialize(PATTERN_X, true, changetype<usize>(heldPrologue), pl, identity.noisePriv, key) &&
      entropyFill(changetype<usize>(eph), 32) == 32 && hs.setEphemeral(changetype<usize>(eph))) {
    n = hs.writeMessage(b, n0, out, cap);
  }
  memory.fill(changetype<usize>(eph), 0, 32);
  memory.fill(b, 0, <usize>n0);
  hs.wipe();
  return n < 0 ? -1 : n;
}

/**
 * Opens a held IM sealed to this phone (header [hdr, hdr+hdrLen), sealed bytes [ct, ct+len)) from a device of
 * user `fromUser`; writes the text at out. Returns its length, or -1 when the seal does not open, the
 * sender's certificate is not acceptable (imCertHeldOk) for fromUser, or it does not certify the handshake's
 * static key. On success heldSenderKey holds the sender's key (for the sealed receipt).
 */
export function imOpenHeld(hdr: usize, hdrLen: i32, fromUser: string, ct: usize, len: i32, out: usize, cap: i32, now: i64): i32 {
  if (!identity.ready || len < HELD_SEAL_FIXED) return -1;
  const pl = heldPrologueOf(HELD_CONTEXT, hdr, hdrLen);
  if (pl < 0) return -1;
  const b = changetype<usize>(heldPt);
  let n = -1;
  if (hs.initialize(PATTERN_X, false, changetype<usize>(heldPrologue), pl, identity.noisePriv, null)) n = hs.readMessage(ct, len, b, heldPt.length);
  let res = -1;
  if (n >= 2) {
    const cl = (<i32>load<u8>(b) << 8) | <i32>load<u8>(b + 1);
    const tl = n - 2 - cl;
    if (cl > 0 && tl >= 0 && tl <= cap && imCertHeldOk(heldCert, b + 2, cl, fromUser, now) &&
        memory.compare(changetype<usize>(heldCert.noisePub), changetype<usize>(hs.rs), 32) == 0) {
      memory.copy(out, b + 2 + <usize>cl, <usize>tl);
      memory.copy(changetype<usize>(heldSenderKey), changetype<usize>(hs.rs), 32);
      res = tl;
    }
  }
  if (n > 0) memory.fill(b, 0, <usize>n);
  hs.wipe();
  return res;
}

function ackPrologue(acker: string, to: string): i32 {
  const p = changetype<usize>(heldPrologue);
  let o = 0;
  for (let i = 0; i < ACK_CONTEXT.length; i++) { store<u8>(p + <usize>o, <u8>ACK_CONTEXT.charCodeAt(i)); o++; }
  const a = String.UTF8.encode(acker, false), b = String.UTF8.encode(to, false);
  const la = min(a.byteLength, 48), lb = min(b.byteLength, 48);
  store<u8>(p + <usize>o, <u8>la); o++; memory.copy(p + <usize>o, changetype<usize>(a), <usize>la); o += la;
  store<u8>(p + <usize>o, <u8>lb); o++; memory.copy(p + <usize>o, changetype<usize>(b), <usize>lb); o += lb;
  return o;
}

/** The sealed receipt of fragment `seq` from us (ackerAddr) to the sender `toAddr` with key `key`; ACK_SEALED_LEN bytes at out, or -1. */
export function imSealAck(key: StaticArray<u8>, ackerAddr: string, toAddr: string, seq: u32, out: usize, cap: i32): i32 {
  if (!identity.ready) return -1;
  const pl = ackPrologue(ackerAddr, toAddr);
  const s = changetype<usize>(heldPt);
  store<u8>(s, <u8>(seq >> 24)); store<u8>(s + 1, <u8>(seq >> 16)); store<u8>(s + 2, <u8>(seq >> 8)); store<u8>(s + 3, <u8>seq);
  let n = -1;
  if (hs.initialize(PATTERN_K, true, changetype<usize>(heldPrologue), pl, identity.noisePriv, key) &&
      entropyFill(changetype<usize>(eph), 32) == 32 && hs.setEphemeral(changetype<usize>(eph))) {
    n = hs.writeMessage(s, 4, out, cap);
  }
  memory.fill(changetype<usize>(eph), 0, 32);
  hs.wipe();
  return n < 0 ? -1 : n;
}

/** Opens a sealed receipt from device ackerAddr (its key `key`, the one we sealed to). Returns the seq (≥ 0), or -1. */
export function imOpenAck(key: StaticArray<u8>, ackerAddr: string, toAddr: string, ct: usize, len: i32): i64 {
  if (!identity.ready || len != ACK_SEALED_LEN) return -1;
  const pl = ackPrologue(ackerAddr, toAddr);
  const s = changetype<usize>(heldPt);
  let res: i64 = -1;
  if (hs.initialize(PATTERN_K, false, changetype<usize>(heldPrologue), pl, identity.noisePriv, key) &&
      hs.readMessage(ct, len, s, 16) == 4) {
    res = <i64>((<u32>load<u8>(s) << 24) | (<u32>load<u8>(s + 1) << 16) | (<u32>load<u8>(s + 2) << 8) | <u32>load<u8>(s + 3));
  }
  hs.wipe();
  return res;
}
