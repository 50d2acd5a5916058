import { ByteReader, ByteWriter } from "../lib/bytes";
import { entropyFill } from "../../hal/entropy";
import { CipherState, HandshakeState, PATTERN_IX, PATTERN_NN } from "./noise";
import { srtpInstall, srtpRemove } from "./srtp";
import { Certificate, CERT_EMALFORMED, CERT_EWRONG_USER, CERT_OK, certErrorText, certTrustCount, certVerifyParsed, myCert } from "./cert";
import { identity } from "./identity";
import { event } from "../lib/log";

/**
 * The call handshake that keys a call's media (firmware/sec/srtp.ts), carried in the call signaling
 * (call/call.ts) so that it costs no extra round trip:
 *
 *   INVITE  … [kx u8][len u16][Noise message 1]      caller = Noise initiator
 *   RINGING … [kx u8][len u16][Noise message 2]      callee = responder (repeated in ANSWER, in case)
 *   ANSWER  … [kx u8][len u16][Noise message 2]
 *
 * kx = KX_IX (a phone with a certificate, i.e. every logged-in phone): Noise_IX_25519_ChaChaPoly_SHA256
 * (noise.ts) with each side's X25519 static key (identity.noisePriv, sec/identity.ts) and its certificate as
 * the handshake payload:
 *   message 1  → e, s          payload: caller's certificate (hop-by-hop channels hide it, sec/channel.ts)
 *   message 2  ← e, ee, se, s, es   payload: callee's certificate (encrypted)
 * Each side checks the other's certificate (certVerifyParsed: server signature, validity, user name = the
 * signaled one) and that the static key the handshake proved is the certified noisePub; otherwise the
 * handshake fails and the call is refused (callee: INVITE dropped; caller: hang up). A supernode relaying
 * the signaling can therefore neither read the media nor sit in the middle (it has no certified static key).
 * kx = KX_NN: Noise_NN (ephemeral only), used only by a phone without a certificate; a phone with one
 * accepts KX_IX only, so an attacker cannot downgrade a call.
 * Prologue: "p2pphone-call-v1" ‖ [callId u32] ‖ str8(caller) ‖ str8(callee), so a handshake cannot be moved
 * to another call or between other users. Ephemeral keys come from the entropy device (a CSPRNG on the
 * phone), not from the seeded PRNG, whose outputs (SSRCs, call ids) are visible on the wire.
 *
 * Once the handshake completes, SRTP keys = srtpInstall(secret = Split()'s initiator→responder key,
 * transcript = handshake hash h) — HKDF with h as salt, so both directions and the salts are bound to
 * everything the handshake saw. Every secret of the handshake is then wiped.
 *
 * One handshake per call leg, keyed by callId (a conference has several). Malformed or failing handshake
 * messages return false: the call module treats them like any malformed message.
 */
export const KX_NN: u8 = 1;
export const KX_IX: u8 = 2;
const MSG_MAX: i32 = 640;

class CallKx {
  hs: HandshakeState = new HandshakeState();
  kind: u8 = KX_NN;
  isCaller: bool = false;
  /** Our handshake message (1 for the caller, 2 for the callee), kept to resend it unchanged. */
  msg: StaticArray<u8> = new StaticArray<u8>(MSG_MAX);
  msgLen: i32 = 0;
  done: bool = false;
}

const legs = new Map<u32, CallKx>();
const scratch = new StaticArray<u8>(MSG_MAX);
const eph = new StaticArray<u8>(32);
const peerCert = new Certificate();

/** The handshake this phone speaks: IX with its certificate once it has one, else NN. */
function myKind(): u8 { return myCert.len > 0 && identity.ready ? KX_IX : KX_NN; }

/** Our handshake payload: the certificate (IX) or nothing (NN). */
function payloadPtr(k: CallKx): usize { return k.kind == KX_IX ? myCert.ptr : 0; }
function payloadLen(k: CallKx): i32 { return k.kind == KX_IX ? myCert.len : 0; }

/**
 * IX: the peer's certificate (payload of n bytes in scratch) must be valid now, for `user`, and certify the
 * static key the handshake used.
 */
function peerOk(k: CallKx, n: i32, user: string, nowUs: i64): bool {
  if (k.kind != KX_IX) return true;
  const code = certCheck(peerCert, changetype<usize>(scratch), n, user, nowUs);
  let ok = code == CERT_OK && k.hs.hasRs;
  if (ok) ok = memory.compare(changetype<usize>(k.hs.rs), changetype<usize>(peerCert.noisePub), 32) == 0;
  if (!ok) event("sec.call", "result=refused user=" + user + " cert=" + (code == CERT_OK ? "static-key-mismatch" : certErrorText(code)));
  return ok;
}

/**
 * certVerifyParsed, except on a phone provisioned without server keys (`certKeys=` absent, as the live demo's
 * tools do): then, as login.ts and presence.ts do, the certificate is parsed and its user checked, unsigned.
 */
export function certCheck(c: Certificate, ptr: usize, n: i32, user: string, nowUs: i64): i32 {
  if (certTrustCount() > 0) return certVerifyParsed(c, ptr, n, user, nowUs);
  if (!c.parse(ptr, n)) return CERT_EMALFORMED;
  return user.length > 0 && user != c.user ? CERT_EWRONG_USER : CERT_OK;
}

/** The user part of a routing address `user/devid` (issue #8), or the whole string. */
function userOf(addr: string): string { const i = addr.indexOf("/"); return i < 0 ? addr : addr.substring(0, i); }

function prologue(callId: u32, caller: string, callee: string): StaticArray<u8> {
  const b = new StaticArray<u8>(16 + 4 + 2 + 2 * 48 * 3);
  const w = new ByteWriter().reset(changetype<usize>(b), b.length);
  const tag = String.UTF8.encode("p2pphone-call-v1");
  w.bytes(changetype<usize>(tag), tag.byteLength).u32(callId).str8(caller).str8(callee);
  const out = new StaticArray<u8>(w.pos);
  memory.copy(changetype<usize>(out), changetype<usize>(b), <usize>w.pos);
  return out;
}

function start(callId: u32, initiator: bool, caller: string, callee: string): CallKx | null {
  callKxEnd(callId);
  const k = new CallKx();
  k.isCaller = initiator;
  k.kind = myKind();
  const pro = prologue(callId, caller, callee);
  const ix = k.kind == KX_IX;
  if (!k.hs.initialize(ix ? PATTERN_IX : PATTERN_NN, initiator, changetype<usize>(pro), pro.length, ix ? identity.noisePriv : null, null)) return null;
  if (entropyFill(changetype<usize>(eph), 32) != 32) return null;
  const ok = k.hs.setEphemeral(changetype<usize>(eph));
  memory.fill(changetype<usize>(eph), 0, 32);
  if (!ok) return null;
  legs.set(callId, k);
  return k;
}

/** Caller: appends [kx][len][message 1] for call leg callId to w (the same bytes on a resend). */
export function callKxOffer(callId: u32, caller: string, callee: string, w: ByteWriter): bool {
  let k: CallKx | null = legs.has(callId) ? legs.get(callId) : null;
  if (k === null || !k.isCaller) {
    k = start(callId, true, caller, callee);
    if (k === null) return false;
    const n = k.hs.writeMessage(payloadPtr(k), payloadLen(k), changetype<usize>(k.msg), MSG_MAX);
    if (n < 0) { callKxEnd(callId); return false; }
    k.msgLen = n;
  }
  w.u8(k.kind).u16(<u32>k.msgLen).bytes(changetype<usize>(k.msg), k.msgLen);
  return w.ok;
}

/**
 * Callee: reads [kx][len][message 1] of an INVITE, answers with message 2 (kept for callKxReply) and keys the
 * call's media. Returns false (nothing kept) for a missing, unknown or bad handshake.
 */
export function callKxOnOffer(callId: u32, caller: string, callee: string, r: ByteReader, nowUs: i64): bool {
  const kind = <u8>r.u8(); const len = <i32>r.u16(); const m = r.take(len);
  if (!r.ok || kind != myKind() || len > MSG_MAX) return false;
  const k = start(callId, false, caller, callee);
  if (k === null) return false;
  const pn = k.hs.readMessage(m, len, changetype<usize>(scratch), MSG_MAX);
  if (pn < 0 || !peerOk(k, pn, userOf(caller), nowUs)) { callKxEnd(callId); return false; }
  const n = k.hs.writeMessage(payloadPtr(k), payloadLen(k), changetype<usize>(k.msg), MSG_MAX);
  if (n < 0 || !finish(callId, k)) { callKxEnd(callId); return false; }
  k.msgLen = n;
  return true;
}

/** Callee: appends [kx][len][message 2] (RINGING and ANSWER). Returns false when there is no handshake. */
export function callKxReply(callId: u32, w: ByteWriter): bool {
  if (!legs.has(callId)) return false;
  const k = legs.get(callId);
  if (k.isCaller || k.msgLen == 0) return false;
  w.u8(k.kind).u16(<u32>k.msgLen).bytes(changetype<usize>(k.msg), k.msgLen);
  return w.ok;
}

/**
 * Caller: reads [kx][len][message 2] from RINGING or ANSWER and keys the media. True when the leg is keyed
 * (also when an earlier message already did it: the bytes are then skipped).
 */
export function callKxOnReply(callId: u32, callee: string, r: ByteReader, nowUs: i64): bool {
  const kind = <u8>r.u8(); const len = <i32>r.u16(); const m = r.take(len);
  if (!r.ok || len > MSG_MAX || !legs.has(callId)) return false;
  const k = legs.get(callId);
  if (!k.isCaller || kind != k.kind) return false;
  if (k.done) return true;
  const pn = k.hs.readMessage(m, len, changetype<usize>(scratch), MSG_MAX);
  if (pn < 0 || !peerOk(k, pn, userOf(callee), nowUs)) { callKxEnd(callId); return false; }
  if (!finish(callId, k)) { callKxEnd(callId); return false; }
  return true;
}

/** Whether call leg callId's media keys are installed. */
export function callKxDone(callId: u32): bool { return legs.has(callId) && legs.get(callId).done; }

function finish(callId: u32, k: CallKx): bool {
  const c1 = new CipherState(), c2 = new CipherState();
  if (!k.hs.split(c1, c2)) return false;
  const h = new StaticArray<u8>(32);
  k.hs.handshakeHash(changetype<usize>(h));
  srtpInstall(callId, k.isCaller, changetype<usize>(c1.k), changetype<usize>(h));
  c1.wipe(); c2.wipe();
  k.hs.wipe();
  k.done = true;
  event("sec.call", "result=ok callId=" + callId.toString() + " kx=" + (k.kind == KX_IX ? "ix peer=" + peerCert.user : "nn"));
  return true;
}

/** Forgets call leg callId: the handshake state and the media keys, zeroed. */
export function callKxEnd(callId: u32): void {
  if (legs.has(callId)) { legs.get(callId).hs.wipe(); legs.delete(callId); }
  srtpRemove(callId);
}
