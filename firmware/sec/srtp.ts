import { cryptoAeadOpen, cryptoAeadSeal, cryptoHmacSha256 } from "../../hal/crypto";
import { hkdfSha256 } from "./hkdf";
import { ReplayWindow, REPLAY_OK } from "./replay-window";
import { event } from "../lib/log";

/**
 * Secure RTP for one call leg: an AEAD per packet, in the manner of SRTP with AEAD ciphers (RFC 3711,
 * RFC 7714), with ChaCha20-Poly1305 (RFC 8439) from the crypto HAL instead of AES-GCM.
 *
 *   packet on the wire = [RTP header (12 + 4·CC + extension) — authenticated, in clear]
 *                        [ChaCha20-Poly1305(payload)][tag 16]            → +16 bytes per packet
 *   nonce (12 B)       = salt ⊕ [0x00 0x00][SSRC u32][index u48]          (RFC 7714 §8.1 layout)
 *   index              = ROC · 65536 + SEQ, estimated by the receiver      (RFC 3711 §3.3.1)
 *   key of epoch e     = K_e, epoch e = index >> SRTP_EPOCH_SHIFT; K_{e+1} = HMAC-SHA256(K_e, "p2pphone srtp ratchet")
 *
 * Rekeying needs no signaling and no key-id field: the epoch follows from the authenticated index, and the
 * one-way ratchet erases K_e once K_{e+1} is in use (forward secrecy inside a call; the receiver keeps one
 * previous epoch key for packets reordered across the boundary). With 2^14 packets per epoch a call rekeys
 * every 5 min 28 s at 50 packets/s.
 *
 * Keys (installed from the call handshake, call/call.ts): HKDF-SHA256 (RFC 5869) with the handshake's
 * transcript hash as salt and its shared secret as input keying material (sec/hkdf.ts); four labels give
 * the caller→callee and callee→caller epoch-0 keys and salts. Each direction has its own key, so the two
 * SSRCs can never collide on a nonce.
 *
 * Receive order (RFC 3711 §3.3): estimate the index, replay check, authenticate + decrypt, then commit the
 * index to the window. A packet that fails authentication or is a replay is dropped and counted (`authFail`,
 * `replay`); neither changes any state. Nothing here allocates per packet.
 *
 * Invariant: one media session (one SSRC, one run of sequence numbers) per installed key. A leg whose session
 * restarts must run a new call handshake first (srtpInstall), or nonces could repeat and the peer's replay
 * window would refuse the new stream.
 */
export const SRTP_TAG_BYTES: i32 = 16;
export const SRTP_EPOCH_SHIFT: i32 = 14;
/** How many epochs ahead of the current one a packet may be (the first packet's random SEQ: ≤ 3). */
const MAX_EPOCH_AHEAD: i64 = 4;

/** Totals over all call legs (console `stats`, tests). */
export class SrtpStats {
  protected_: u32 = 0;
  unprotected: u32 = 0;
  /** Packets whose tag did not verify (tampered, wrong key, truncated): dropped. */
  authFail: u32 = 0;
  /** Packets whose index was already accepted or is older than the window: dropped. */
  replay: u32 = 0;
  /** Packets for a call leg without keys: dropped (never sent or accepted in clear). */
  noKey: u32 = 0;
  rekeys: u32 = 0;
}
export const srtpStats = new SrtpStats();

const RATCHET_LABEL = "p2pphone srtp ratchet";

/** One direction's key schedule. */
class SrtpDirection {
  key: StaticArray<u8> = new StaticArray<u8>(32);
  salt: StaticArray<u8> = new StaticArray<u8>(12);
  epoch: i64 = 0;
  /** Receive only: K_{epoch−1}, for packets reordered across a rekey. */
  prevKey: StaticArray<u8> = new StaticArray<u8>(32);
  prevValid: bool = false;
  win: ReplayWindow = new ReplayWindow();

  wipe(): void {
    memory.fill(changetype<usize>(this.key), 0, 32);
    memory.fill(changetype<usize>(this.prevKey), 0, 32);
    memory.fill(changetype<usize>(this.salt), 0, 12);
    this.prevValid = false;
    this.epoch = 0;
    this.win.reset();
  }
}

/** The keys and counters of one call leg. */
export class SrtpContext {
  callId: u32 = 0;
  tx: SrtpDirection = new SrtpDirection();
  rx: SrtpDirection = new SrtpDirection();
  authFail: u32 = 0;
  replay: u32 = 0;
  rekeys: u32 = 0;
  accepted: u32 = 0;
}

const contexts = new Map<u32, SrtpContext>();
// Scratch (no per-packet allocation).
const nonce = new StaticArray<u8>(12);
const tmpKey = new StaticArray<u8>(32);
const tmpPrev = new StaticArray<u8>(32);
const ratchetLabel = String.UTF8.encode(RATCHET_LABEL);
const okm = new StaticArray<u8>(32);

/**
 * Installs (or replaces) the keys of call leg `callId` from the handshake: `secret` (32 B input keying
 * material) and `transcript` (32 B hash of everything the handshake authenticated). `isCaller` picks the
 * direction. The caller must wipe its copy of `secret`.
 */
export function srtpInstall(callId: u32, isCaller: bool, secret: usize, transcript: usize): SrtpContext {
  let c: SrtpContext;
  if (contexts.has(callId)) { c = contexts.get(callId); c.tx.wipe(); c.rx.wipe(); }
  else { c = new SrtpContext(); contexts.set(callId, c); }
  c.callId = callId;
  c.authFail = 0; c.replay = 0; c.rekeys = 0; c.accepted = 0;
  const c2e = isCaller ? c.tx : c.rx, e2c = isCaller ? c.rx : c.tx;
  derive(transcript, secret, "p2pphone srtp key c>e", changetype<usize>(c2e.key), 32);
  derive(transcript, secret, "p2pphone srtp salt c>e", changetype<usize>(c2e.salt), 12);
  derive(transcript, secret, "p2pphone srtp key e>c", changetype<usize>(e2c.key), 32);
  derive(transcript, secret, "p2pphone srtp salt e>c", changetype<usize>(e2c.salt), 12);
  return c;
}

/** HKDF-SHA256(salt = transcript, IKM = secret, info = label) (sec/hkdf.ts, RFC 5869), `n` ≤ 32 bytes to out. */
function derive(transcript: usize, secret: usize, label: string, out: usize, n: i32): void {
  const l = String.UTF8.encode(label);
  hkdfSha256(transcript, 32, secret, 32, changetype<usize>(l), l.byteLength, out, n);
}

export function srtpHas(callId: u32): bool { return contexts.has(callId); }
export function srtpGet(callId: u32): SrtpContext | null { return contexts.has(callId) ? contexts.get(callId) : null; }

/**
 * Forgets call leg callId's keys (zeroed) and reports the leg's counters as the event
 * `srtp.stats callId=… accepted=… authFail=… replay=… rekeys=…` (separate from call.ended, whose line is full).
 */
export function srtpRemove(callId: u32): void {
  if (!contexts.has(callId)) return;
  const c = contexts.get(callId);
  event("srtp.stats", "callId=" + callId.toString() + " accepted=" + c.accepted.toString() + " authFail=" + c.authFail.toString() +
    " replay=" + c.replay.toString() + " rekeys=" + c.rekeys.toString());
  c.tx.wipe(); c.rx.wipe();
  contexts.delete(callId);
}

/** Length of the RTP header at p (fixed part, CSRCs, extension: RFC 3550 §5.1, §5.3.1), or −1 if malformed. */
function headerLen(p: usize, len: i32): i32 {
  if (len < 12) return -1;
  const b0 = <i32>load<u8>(p);
  if ((b0 >> 6) != 2) return -1;
  let off = 12 + 4 * (b0 & 15);
  if (off > len) return -1;
  if ((b0 & 0x10) != 0) {
    if (off + 4 > len) return -1;
    off += 4 + 4 * ((<i32>load<u8>(p + <usize>off + 2) << 8) | <i32>load<u8>(p + <usize>off + 3));
    if (off > len) return -1;
  }
  return off;
}

/** nonce = salt ⊕ [0 0][SSRC][index u48] (RFC 7714 §8.1). */
function makeNonce(salt: StaticArray<u8>, p: usize, index: i64): void {
  nonce[0] = salt[0]; nonce[1] = salt[1];
  for (let i = 0; i < 4; i++) nonce[2 + i] = salt[2 + i] ^ load<u8>(p + 8 + <usize>i);
  for (let i = 0; i < 6; i++) nonce[6 + i] = salt[6 + i] ^ <u8>(index >> (8 * (5 - i)));
}

/** K ← HMAC-SHA256(K, ratchet label), from src into dst (may be the same buffer). */
function ratchet(src: StaticArray<u8>, dst: StaticArray<u8>): void {
  cryptoHmacSha256(changetype<usize>(src), 32, changetype<usize>(ratchetLabel), ratchetLabel.byteLength, changetype<usize>(okm));
  memory.copy(changetype<usize>(dst), changetype<usize>(okm), 32);
  memory.fill(changetype<usize>(okm), 0, 32);
}

/**
 * Encrypts the RTP packet of `len` bytes at p in place for call leg `callId`; `cap` is the buffer's size.
 * Returns the new length (len + SRTP_TAG_BYTES), or −1 when the leg has no keys or the packet is malformed
 * (the caller must then not send it: media never goes out in clear).
 */
export function srtpProtect(callId: u32, p: usize, len: i32, cap: i32): i32 {
  if (!contexts.has(callId)) { srtpStats.noKey++; return -1; }
  const h = headerLen(p, len);
  if (h < 0 || len + SRTP_TAG_BYTES > cap) return -1;
  const d = contexts.get(callId).tx;
  const seq = <u16>((<i32>load<u8>(p + 2) << 8) | <i32>load<u8>(p + 3));
  const index = d.win.estimate(seq);
  d.win.commit(index);
  const e = index >> SRTP_EPOCH_SHIFT;
  while (d.epoch < e) { ratchet(d.key, d.key); d.epoch++; }
  makeNonce(d.salt, p, index);
  const n = cryptoAeadSeal(changetype<usize>(d.key), changetype<usize>(nonce), p, h, p + <usize>h, len - h, p + <usize>h);
  if (n != len - h + SRTP_TAG_BYTES) return -1;
  srtpStats.protected_++;
  return h + n;
}

/**
 * Authenticates and decrypts, in place, an RTP packet of `len` bytes at p received for call leg `callId`.
 * Returns the plaintext packet's length, or −1 when it was dropped: no keys, malformed, replayed
 * (`replay`), or not authentic (`authFail`). A dropped packet changes no state.
 */
export function srtpUnprotect(callId: u32, p: usize, len: i32): i32 {
  if (!contexts.has(callId)) { srtpStats.noKey++; return -1; }
  const c = contexts.get(callId);
  const h = headerLen(p, len);
  if (h < 0 || len - h < SRTP_TAG_BYTES) { c.authFail++; srtpStats.authFail++; return -1; }
  const d = c.rx;
  const seq = <u16>((<i32>load<u8>(p + 2) << 8) | <i32>load<u8>(p + 3));
  const index = d.win.estimate(seq);
  if (d.win.check(index) != REPLAY_OK) { c.replay++; srtpStats.replay++; return -1; }
  const e = index >> SRTP_EPOCH_SHIFT;
  let key: StaticArray<u8>;
  if (e == d.epoch) key = d.key;
  else if (e == d.epoch - 1 && d.prevValid) key = d.prevKey;
  else if (e > d.epoch && e - d.epoch <= MAX_EPOCH_AHEAD) {
    // Candidate keys for a later epoch, kept aside until the packet proves authentic.
    memory.copy(changetype<usize>(tmpKey), changetype<usize>(d.key), 32);
    memory.copy(changetype<usize>(tmpPrev), changetype<usize>(d.key), 32);
    for (let k = d.epoch; k < e; k++) { memory.copy(changetype<usize>(tmpPrev), changetype<usize>(tmpKey), 32); ratchet(tmpKey, tmpKey); }
    key = tmpKey;
  } else { c.replay++; srtpStats.replay++; return -1; } // an epoch whose key is erased: older than any window
  makeNonce(d.salt, p, index);
  const n = cryptoAeadOpen(changetype<usize>(key), changetype<usize>(nonce), p, h, p + <usize>h, len - h, p + <usize>h);
  if (n < 0 || n != len - h - SRTP_TAG_BYTES) {
    if (key === tmpKey) { memory.fill(changetype<usize>(tmpKey), 0, 32); memory.fill(changetype<usize>(tmpPrev), 0, 32); }
    c.authFail++; srtpStats.authFail++;
    return -1;
  }
  if (key === tmpKey) {
    // Authentic packet of a new epoch: move forward and erase everything older than K_{e−1}.
    memory.copy(changetype<usize>(d.prevKey), changetype<usize>(tmpPrev), 32);
    memory.copy(changetype<usize>(d.key), changetype<usize>(tmpKey), 32);
    memory.fill(changetype<usize>(tmpKey), 0, 32); memory.fill(changetype<usize>(tmpPrev), 0, 32);
    d.prevValid = true;
    if (d.win.top >= 0) { c.rekeys += <u32>(e - d.epoch); srtpStats.rekeys += <u32>(e - d.epoch); } // not the first packet's catch-up
    d.epoch = e;
  }
  d.win.commit(index);
  c.accepted++;
  srtpStats.unprotected++;
  return h + n;
}
