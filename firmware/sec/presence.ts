import { ByteReader, ByteWriter } from "../lib/bytes";
import { Prng } from "../lib/prng";
import { event } from "../lib/log";
import { identitySign } from "./identity";
import { Certificate, CERT_EEXPIRED, CERT_MAX, CERT_OK, certErrorText, certNowS, certSignedBy, certTrustCount, certVerifyParsed, myCert } from "./cert";

/**
 * Certified presence (docs/security.md §Presence): only the holder of a user's certificate can put a record for
 * that user into the index.
 *
 *  - The supernode appends a fresh 16-byte challenge to HELLO_ACK (one per client connection).
 *  - PUBLISH = [user str8][status u8][devId u32] then [certLen u16][certificate][sig 64], where
 *      sig = Ed25519(identity key, "p2pphone-publish-v1" ‖ challenge ‖ the PUBLISH bytes from user to devId)
 *    so a certificate copied from a presence record is useless without the identity key, and a captured
 *    PUBLISH cannot be replayed on another connection.
 *  - The supernode accepts the PUBLISH only when the certificate verifies (trusted server key, not expired) for
 *    exactly that user and the signature verifies with the certified identity key; otherwise it drops it,
 *    counts it (presenceStats.refused) and logs `sn.publish.refused`.
 *  - Presence records carry the certificate (firmware/wire/record.ts) and every supernode re-checks it on
 *    INDEX_PUT and DHT_STORE (presenceRecordOk), so a supernode cannot inject a record for a user either
 *    without a certificate for that user. (It could replay a stale location with a valid certificate; the call
 *    handshake, bound to the certified Noise key, makes that a denial of service, not an impersonation.)
 * A supernode provisioned without certificate keys cannot check anything and accepts records as before.
 */
export const PUBLISH_CONTEXT: string = "p2pphone-publish-v1";
export const CHALLENGE_LEN: i32 = 16;

export class PresenceStats {
  /** PUBLISH, INDEX_PUT or DHT_STORE records refused for a missing or bad certificate or signature. */
  refused: u32 = 0;
  accepted: u32 = 0;
}
export const presenceStats = new PresenceStats();

// ---- supernode side -------------------------------------------------------------------------------------

const challenges = new Map<i32, StaticArray<u8>>();

/** A fresh challenge for client connection `handle`, appended to w (HELLO_ACK). */
export function presenceWriteChallenge(w: ByteWriter, handle: i32, prng: Prng): void {
  const c = new StaticArray<u8>(CHALLENGE_LEN);
  for (let i = 0; i < CHALLENGE_LEN; i += 4) store<u32>(changetype<usize>(c) + <usize>i, prng.next());
  challenges.set(handle, c);
  w.bytes(changetype<usize>(c), CHALLENGE_LEN);
}

/** Forgets a closed connection's challenge. */
export function presenceForget(handle: i32): void { if (challenges.has(handle)) challenges.delete(handle); }

/** The certificate of the last accepted PUBLISH (for the record). */
export const lastCert = new StaticArray<u8>(CERT_MAX);
export let lastCertLen: i32 = 0;
const cert = new Certificate();
let msgBuf = new StaticArray<u8>(256);

/**
 * Checks the proof after a PUBLISH's [user][status][devId] (bytes [body, body+bodyLen)) and reads it from r.
 * Returns CERT_OK (the certificate is then in lastCert/lastCertLen) or a CERT_E* code / -100 for a bad or
 * missing signature or challenge. Always accepts (CERT_OK, lastCertLen may be 0) without trusted keys.
 */
export function presenceCheckPublish(handle: i32, user: string, body: usize, bodyLen: i32, r: ByteReader, nowUs: i64): i32 {
  lastCertLen = 0;
  const clen = r.remaining() >= 2 ? <i32>r.u16() : 0;
  const cp = clen > 0 && clen <= CERT_MAX ? r.take(clen) : 0;
  const sig = r.remaining() >= 64 ? r.take(64) : 0;
  if (certTrustCount() == 0) {
    if (cp != 0) { memory.copy(changetype<usize>(lastCert), cp, <usize>clen); lastCertLen = clen; }
    return CERT_OK;
  }
  if (cp == 0 || sig == 0) return refuse(user, -1);
  const v = certVerifyParsed(cert, cp, clen, user, nowUs);
  if (v != CERT_OK) return refuse(user, v);
  if (!challenges.has(handle)) return refuse(user, -100);
  const m = signedMessage(challenges.get(handle), body, bodyLen);
  if (!certSignedBy(cert, changetype<usize>(msgBuf), m, sig)) return refuse(user, -100);
  memory.copy(changetype<usize>(lastCert), cp, <usize>clen);
  lastCertLen = clen;
  presenceStats.accepted++;
  return CERT_OK;
}

function refuse(user: string, code: i32): i32 {
  presenceStats.refused++;
  event("sn.publish.refused", "user=" + user + " reason=" + (code == -100 ? "signature" : certErrorText(code)));
  return code == CERT_OK ? -1 : code;
}

/** msgBuf = context ‖ challenge ‖ body; returns its length. */
function signedMessage(ch: StaticArray<u8>, body: usize, bodyLen: i32): i32 {
  const ctx = String.UTF8.encode(PUBLISH_CONTEXT);
  const n = ctx.byteLength + CHALLENGE_LEN + bodyLen;
  if (n > msgBuf.length) msgBuf = new StaticArray<u8>(n);
  const b = changetype<usize>(msgBuf);
  memory.copy(b, changetype<usize>(ctx), <usize>ctx.byteLength);
  memory.copy(b + <usize>ctx.byteLength, changetype<usize>(ch), CHALLENGE_LEN);
  memory.copy(b + <usize>(ctx.byteLength + CHALLENGE_LEN), body, <usize>bodyLen);
  return n;
}

/** An offline record's certificate may have expired up to this long ago (the 72 h record life; firmware/im/seal.ts). */
const OFFLINE_GRACE_S: i64 = 72 * 3600;

/**
 * A presence record from another supernode (INDEX_PUT, DHT_STORE, DHT_FOUND): its certificate must verify for
 * the record's user. True when acceptable (always, without trusted keys); counts refusals. For an `offline`
 * record (status 0, a device's last record, kept 72 h) an expired certificate with a valid signature for that
 * user is accepted up to 72 h after its notAfter: such a record routes nothing, and senders seal held IMs to
 * its key (docs/security.md §Held instant messages).
 */
export function presenceRecordOk(user: string, certPtr: usize, certLen: i32, nowUs: i64, offline: bool = false): bool {
  if (certTrustCount() == 0) return true;
  const v = certLen > 0 ? certVerifyParsed(cert, certPtr, certLen, user, nowUs) : -1;
  if (v == CERT_OK) return true;
  if (offline && v == CERT_EEXPIRED && cert.user == user && certNowS(nowUs) <= <i64>cert.notAfterS + OFFLINE_GRACE_S) return true;
  presenceStats.refused++;
  event("sn.record.refused", "user=" + user + " reason=" + certErrorText(v));
  return false;
}

// ---- client side ----------------------------------------------------------------------------------------

const myChallenge = new StaticArray<u8>(CHALLENGE_LEN);
let hasChallenge = false;

/** HELLO_ACK's trailing challenge (16 bytes at p), or p = 0 when the supernode sent none. */
export function presenceSetChallenge(p: usize): void {
  hasChallenge = p != 0;
  if (hasChallenge) memory.copy(changetype<usize>(myChallenge), p, CHALLENGE_LEN);
}

/**
 * Appends [certLen u16][our certificate][sig 64] to a PUBLISH whose body started at w position `start`.
 * Without a certificate or challenge writes certLen 0 and no signature (the supernode will refuse it if it checks).
 */
export function presenceAppendProof(w: ByteWriter, start: i32): void {
  if (myCert.len == 0 || !hasChallenge) { w.u16(0); return; }
  const body = w.ptr + <usize>start, bodyLen = w.pos - start;
  const m = signedMessage(myChallenge, body, bodyLen);
  w.u16(<u32>myCert.len).bytes(myCert.ptr, myCert.len);
  const sig = w.reserve(64);
  if (sig == 0 || !identitySign(changetype<usize>(msgBuf), m, sig)) w.ok = false;
}
