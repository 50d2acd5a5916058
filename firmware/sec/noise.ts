/**
 * The Noise Protocol Framework (noiseprotocol.org/noise.html, revision 34), instantiated as
 * Noise_<PATTERN>_25519_ChaChaPoly_SHA256: DH = X25519 (RFC 7748, DHLEN 32), cipher = ChaCha20-Poly1305
 * (RFC 8439, 16-byte tag, nonce = 4 zero bytes ‖ n as u64 little-endian, §12.5), hash = SHA-256 with HKDF
 * built on HMAC-SHA-256 (§4.3). Every primitive comes from the crypto HAL (hal/crypto.ts); this module is
 * only the protocol (§5 processing rules). Checked against the published IK test vector
 * (tests/security/security-noise.test.ts) and against an independent node:crypto implementation.
 *
 * API (all pointers are linear-memory addresses; lengths in bytes; nothing here traps on bad input):
 *
 *   const hs = new HandshakeState();
 *   hs.initialize(PATTERN_IK, initiator, prologuePtr, prologueLen, sPriv | null, rsPub | null) → bool
 *       sPriv: our 32-byte X25519 static private key (needed when the pattern sends or pre-shares our s);
 *       rsPub: the peer's 32-byte static public key (needed when the pattern pre-shares the peer's s,
 *       e.g. the responder key in NK/IK). Returns false when a required key is missing.
 *   hs.setEphemeral(priv32Ptr)           our ephemeral private key (32 random bytes); REQUIRED before the
 *                                        first writeMessage that carries an `e` token. hs.ephemeralFromPrng(prng)
 *                                        does it from a firmware Prng.
 *   hs.writeMessage(payloadPtr, payloadLen, outPtr, outCap) → i32   bytes written, or NOISE_E* (< 0)
 *   hs.readMessage(msgPtr, msgLen, outPtr, outCap) → i32            payload bytes, or NOISE_E* (< 0)
 *       Output sizes: messageLen = Σ tokens (e: 32, s: 32 (+16 once a key is set)) + payloadLen (+16 once a
 *       key is set). A failed readMessage leaves the handshake unusable (call initialize again).
 *   hs.complete                          true after the last message of the pattern was written/read
 *   hs.split(c1, c2)                     c1 = initiator→responder, c2 = responder→initiator (§5.2 Split())
 *   hs.handshakeHash(out32Ptr)           h, for channel binding (e.g. sign it with an identity key, §11.2)
 *   hs.rs / hs.hasRs                     the peer's static public key (learned or pre-shared); a caller that
 *                                        authenticates a peer MUST compare it with the certified key
 *                                        (firmware/sec/cert.ts, Certificate.noisePub).
 *   hs.wipe()                            zeroes every secret (keys, chaining key, ephemeral).
 *
 *   CipherState (after split): encryptWithAd(adPtr, adLen, ptPtr, ptLen, outPtr) → ctLen (ptLen + 16) or < 0;
 *   decryptWithAd(adPtr, adLen, ctPtr, ctLen, outPtr) → ptLen or NOISE_EAUTH; n advances only on success.
 *   encryptAt/decryptAt(nonce u64, ...) use an explicit nonce and leave n alone (for datagrams that may
 *   arrive out of order: the caller keeps its own replay window). rekey() per §4.2. wipe().
 *
 * Supported patterns (§7.4/§7.5): N, K, X, NN, NK, NX, XN, XK, XX, KN, KK, KX, IN, IK, IX. No PSK modes.
 */
import { cryptoAeadOpen, cryptoAeadSeal, cryptoHmacSha256, cryptoSha256, cryptoX25519, cryptoX25519Public } from "../../hal/crypto";
import { Prng } from "../lib/prng";

export const NOISE_DHLEN: i32 = 32;
export const NOISE_HASHLEN: i32 = 32;
export const NOISE_TAGLEN: i32 = 16;
/** §3: a Noise message is at most 65535 bytes. */
export const NOISE_MAX_MSG: i32 = 65535;

/** Generic failure: wrong state (message out of turn), missing key, crypto engine failure. */
export const NOISE_ESTATE: i32 = -1;
/** Message too short for its tokens, or the output buffer too small. */
export const NOISE_ESHORT: i32 = -2;
/** Authentication failed: an AEAD tag did not verify, or a DH gave the all-zero (small-order) result. */
export const NOISE_EAUTH: i32 = -3;
/** Nonce exhausted (2^64 - 1 is reserved, §5.1). */
export const NOISE_ENONCE: i32 = -4;

export const PATTERN_N: i32 = 0;
export const PATTERN_K: i32 = 1;
export const PATTERN_X: i32 = 2;
export const PATTERN_NN: i32 = 3;
export const PATTERN_NK: i32 = 4;
export const PATTERN_NX: i32 = 5;
export const PATTERN_XN: i32 = 6;
export const PATTERN_XK: i32 = 7;
export const PATTERN_XX: i32 = 8;
export const PATTERN_KN: i32 = 9;
export const PATTERN_KK: i32 = 10;
export const PATTERN_KX: i32 = 11;
export const PATTERN_IN: i32 = 12;
export const PATTERN_IK: i32 = 13;
export const PATTERN_IX: i32 = 14;

// Tokens
const T_E: u8 = 1;
const T_S: u8 = 2;
const T_EE: u8 = 3;
const T_ES: u8 = 4;
const T_SE: u8 = 5;
const T_SS: u8 = 6;

/** Pattern names as used in the protocol name (§8). */
const NAMES: string[] = ["N", "K", "X", "NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX"];
/** Pre-messages: bit 0 = initiator's s is known to the responder, bit 1 = responder's s known to the initiator. */
const PRE: u8[] = [2, 3, 2, 0, 2, 0, 0, 2, 0, 1, 3, 1, 0, 2, 0];
/** Messages, '|' separated, tokens by letter: e s E(ee) 1(es) 2(se) S(ss). Message 0 is initiator → responder. */
const MSGS: string[] = [
  "e1", "e1S", "e1sS",
  "e|eE", "e1|eE", "e|eE s1",
  "e|eE|s2", "e1|eE|s2", "e|eE s1|s2",
  "e|eE2", "e1S|eE2", "e|eE2 s1",
  "e s|eE2", "e1sS|eE2", "e s|eE2 s1",
];

function parseToken(c: i32): u8 {
  if (c == 0x65) return T_E;   // e
  if (c == 0x73) return T_S;   // s
  if (c == 0x45) return T_EE;  // E
  if (c == 0x31) return T_ES;  // 1
  if (c == 0x32) return T_SE;  // 2
  if (c == 0x53) return T_SS;  // S
  return 0;
}

/** The full protocol name, e.g. "Noise_IK_25519_ChaChaPoly_SHA256". "" for an unknown pattern. */
export function noiseProtocolName(pattern: i32): string {
  if (pattern < 0 || pattern >= NAMES.length) return "";
  return "Noise_" + NAMES[pattern] + "_25519_ChaChaPoly_SHA256";
}

// Scratch shared by the HKDF and hash helpers (single-threaded firmware; never held across calls).
const HK_TEMP = new StaticArray<u8>(32);
const HK_IN = new StaticArray<u8>(33);
const HK_ONE = new StaticArray<u8>(1);
const DH_OUT = new StaticArray<u8>(32);
const NONCE = new StaticArray<u8>(12);
const ZEROS = new StaticArray<u8>(32);
const REKEY_OUT = new StaticArray<u8>(48);
let hashBuf = new StaticArray<u8>(4096 + 32);

@inline function p(a: StaticArray<u8>): usize { return changetype<usize>(a); }

function wipeArr(a: StaticArray<u8>): void { memory.fill(p(a), 0, <usize>a.length); }

/**
 * HKDF of §4.3 (not RFC 5869's general form): temp = HMAC(ck, ikm); out1 = HMAC(temp, 0x01);
 * out2 = HMAC(temp, out1 ‖ 0x02); out3 (optional, out3 != 0) = HMAC(temp, out2 ‖ 0x03). ck may alias out1.
 */
export function noiseHkdf(ck: usize, ikm: usize, ikmLen: i32, out1: usize, out2: usize, out3: usize): bool {
  const t = p(HK_TEMP), inp = p(HK_IN), one = p(HK_ONE);
  if (cryptoHmacSha256(ck, 32, ikm, ikmLen, t) < 0) return false;
  store<u8>(one, 1);
  if (cryptoHmacSha256(t, 32, one, 1, inp) < 0) return false;       // inp[0..32) = out1
  store<u8>(inp + 32, 2);
  if (cryptoHmacSha256(t, 32, inp, 33, out2) < 0) return false;
  memory.copy(out1, inp, 32);
  if (out3 != 0) {
    memory.copy(inp, out2, 32);
    store<u8>(inp + 32, 3);
    if (cryptoHmacSha256(t, 32, inp, 33, out3) < 0) return false;
  }
  memory.fill(t, 0, 32); memory.fill(inp, 0, 33);
  return true;
}

function setNonce(n: u64): void {
  const q = p(NONCE);
  store<u32>(q, 0);
  store<u64>(q + 4, n); // wasm is little-endian: n as u64 LE, §12.5
}

/** §5.1 CipherState: a key k (when hasKey) and a 64-bit counter n. */
export class CipherState {
  k: StaticArray<u8> = new StaticArray<u8>(32);
  hasKey: bool = false;
  n: u64 = 0;

  /** InitializeKey: key = 32 bytes at keyPtr, or 0 for "empty" (no encryption). n = 0. */
  initializeKey(keyPtr: usize): void {
    if (keyPtr == 0) { wipeArr(this.k); this.hasKey = false; }
    else { memory.copy(p(this.k), keyPtr, 32); this.hasKey = true; }
    this.n = 0;
  }

  /** EncryptWithAd: out = ct ‖ tag (ptLen + 16), or a copy of the plaintext without a key. Returns bytes or < 0. */
  encryptWithAd(ad: usize, adLen: i32, pt: usize, ptLen: i32, out: usize): i32 {
    if (!this.hasKey) { if (ptLen > 0) memory.copy(out, pt, <usize>ptLen); return ptLen; }
    if (this.n == u64.MAX_VALUE) return NOISE_ENONCE;
    const r = this.encryptAt(this.n, ad, adLen, pt, ptLen, out);
    if (r >= 0) this.n++;
    return r;
  }

  /** DecryptWithAd: plaintext length, or NOISE_EAUTH (n unchanged, §5.1). Without a key: copies. */
  decryptWithAd(ad: usize, adLen: i32, ct: usize, ctLen: i32, out: usize): i32 {
    if (!this.hasKey) { if (ctLen > 0) memory.copy(out, ct, <usize>ctLen); return ctLen; }
    if (this.n == u64.MAX_VALUE) return NOISE_ENONCE;
    const r = this.decryptAt(this.n, ad, adLen, ct, ctLen, out);
    if (r >= 0) this.n++;
    return r;
  }

  /** ENCRYPT(k, nonce, ad, pt) with an explicit nonce; n untouched. Needs a key. */
  encryptAt(nonce: u64, ad: usize, adLen: i32, pt: usize, ptLen: i32, out: usize): i32 {
    if (!this.hasKey || ptLen < 0) return NOISE_ESTATE;
    setNonce(nonce);
    const r = cryptoAeadSeal(p(this.k), p(NONCE), ad, adLen, pt, ptLen, out);
    return r == ptLen + NOISE_TAGLEN ? r : NOISE_ESTATE;
  }

  /** DECRYPT(k, nonce, ad, ct) with an explicit nonce; n untouched. Plaintext length or NOISE_EAUTH/ESHORT. */
  decryptAt(nonce: u64, ad: usize, adLen: i32, ct: usize, ctLen: i32, out: usize): i32 {
    if (!this.hasKey) return NOISE_ESTATE;
    if (ctLen < NOISE_TAGLEN) return NOISE_ESHORT;
    setNonce(nonce);
    const r = cryptoAeadOpen(p(this.k), p(NONCE), ad, adLen, ct, ctLen, out);
    return r == ctLen - NOISE_TAGLEN ? r : NOISE_EAUTH;
  }

  /** Rekey (§4.2/§11.3): k = first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, 32 zero bytes). n unchanged. */
  rekey(): bool {
    if (!this.hasKey) return false;
    setNonce(u64.MAX_VALUE);
    if (cryptoAeadSeal(p(this.k), p(NONCE), 0, 0, p(ZEROS), 32, p(REKEY_OUT)) != 48) return false;
    memory.copy(p(this.k), p(REKEY_OUT), 32);
    wipeArr(REKEY_OUT);
    return true;
  }

  wipe(): void { wipeArr(this.k); this.hasKey = false; this.n = 0; }
}

/** §5.2 SymmetricState: chaining key ck, handshake hash h, and a CipherState. */
export class SymmetricState {
  ck: StaticArray<u8> = new StaticArray<u8>(32);
  h: StaticArray<u8> = new StaticArray<u8>(32);
  cs: CipherState = new CipherState();
  private tk: StaticArray<u8> = new StaticArray<u8>(32);

  /** InitializeSymmetric(protocol_name): h = name padded to 32 bytes, or SHA-256(name) when longer; ck = h. */
  initialize(name: string): void {
    const b = String.UTF8.encode(name);
    wipeArr(this.h);
    if (b.byteLength <= 32) memory.copy(p(this.h), changetype<usize>(b), <usize>b.byteLength);
    else cryptoSha256(changetype<usize>(b), b.byteLength, p(this.h));
    memory.copy(p(this.ck), p(this.h), 32);
    this.cs.initializeKey(0);
  }

  /** MixKey(ikm): ck, tempk = HKDF(ck, ikm, 2); InitializeKey(tempk). */
  mixKey(ikm: usize, len: i32): bool {
    if (!noiseHkdf(p(this.ck), ikm, len, p(this.ck), p(this.tk), 0)) return false;
    this.cs.initializeKey(p(this.tk));
    wipeArr(this.tk);
    return true;
  }

  /** MixHash(data): h = SHA-256(h ‖ data). */
  mixHash(data: usize, len: i32): bool {
    if (len + 32 > hashBuf.length) hashBuf = new StaticArray<u8>(len + 32);
    const b = p(hashBuf);
    memory.copy(b, p(this.h), 32);
    if (len > 0) memory.copy(b + 32, data, <usize>len);
    return cryptoSha256(b, len + 32, p(this.h)) >= 0;
  }

  /** EncryptAndHash: out = Encrypt(h as ad, pt); MixHash(out). Returns bytes written or < 0. */
  encryptAndHash(pt: usize, len: i32, out: usize): i32 {
    const n = this.cs.encryptWithAd(p(this.h), 32, pt, len, out);
    if (n < 0) return n;
    if (!this.mixHash(out, n)) return NOISE_ESTATE;
    return n;
  }

  /** DecryptAndHash: plaintext into out (may not alias ct); MixHash(ct). Returns plaintext bytes or < 0. */
  decryptAndHash(ct: usize, len: i32, out: usize): i32 {
    const n = this.cs.decryptWithAd(p(this.h), 32, ct, len, out);
    if (n < 0) return n;
    if (!this.mixHash(ct, len)) return NOISE_ESTATE;
    return n;
  }

  /** Split(): temp_k1, temp_k2 = HKDF(ck, empty, 2) → c1 (initiator→responder), c2. */
  split(c1: CipherState, c2: CipherState): bool {
    const k2 = new StaticArray<u8>(32), k1 = new StaticArray<u8>(32);
    if (!noiseHkdf(p(this.ck), 0, 0, p(k1), p(k2), 0)) return false;
    c1.initializeKey(p(k1)); c2.initializeKey(p(k2));
    wipeArr(k1); wipeArr(k2);
    return true;
  }

  wipe(): void { wipeArr(this.ck); wipeArr(this.tk); this.cs.wipe(); }
}

/** §5.3 HandshakeState for the patterns listed in the module header. */
export class HandshakeState {
  ss: SymmetricState = new SymmetricState();
  /** Our static key pair (private, public). */
  sPriv: StaticArray<u8> = new StaticArray<u8>(32);
  sPub: StaticArray<u8> = new StaticArray<u8>(32);
  hasS: bool = false;
  /** Our ephemeral key pair. */
  ePriv: StaticArray<u8> = new StaticArray<u8>(32);
  ePub: StaticArray<u8> = new StaticArray<u8>(32);
  hasE: bool = false;
  /** The peer's static and ephemeral public keys. */
  rs: StaticArray<u8> = new StaticArray<u8>(32);
  hasRs: bool = false;
  re: StaticArray<u8> = new StaticArray<u8>(32);
  hasRe: bool = false;
  initiator: bool = false;
  pattern: i32 = -1;
  /** Index of the next message of the pattern; equals the message count when complete. */
  msgIndex: i32 = 0;
  private msgs: string[] = [];
  /** Set by a failed read/write: the handshake cannot continue. */
  failed: bool = false;

  get complete(): bool { return this.pattern >= 0 && !this.failed && this.msgIndex >= this.msgs.length; }

  /**
   * Initialize(pattern, initiator, prologue, s, e = empty, rs, re = empty) (§5.3). `sPriv` is our static private
   * key (32 bytes) or null; `rsPub` the peer's static public key or null. Returns false for an unknown pattern,
   * a missing required key, or a crypto engine failure.
   */
  initialize(pattern: i32, initiator: bool, prologue: usize, prologueLen: i32,
             sPriv: StaticArray<u8> | null, rsPub: StaticArray<u8> | null): bool {
    this.wipe();
    this.failed = true;
    if (pattern < 0 || pattern >= NAMES.length) return false;
    this.pattern = pattern;
    this.initiator = initiator;
    this.msgIndex = 0;
    this.msgs = MSGS[pattern].split("|");
    if (sPriv !== null) {
      memory.copy(p(this.sPriv), p(sPriv), 32);
      if (cryptoX25519Public(p(this.sPriv), p(this.sPub)) < 0) return false;
      this.hasS = true;
    }
    if (rsPub !== null) { memory.copy(p(this.rs), p(rsPub), 32); this.hasRs = true; }
    // Keys our own messages will need: an `s` token we send, or a pre-message about us.
    const pre = PRE[pattern];
    const preMine: bool = initiator ? (pre & 1) != 0 : (pre & 2) != 0;
    const preTheirs: bool = initiator ? (pre & 2) != 0 : (pre & 1) != 0;
    if (preTheirs && !this.hasRs) return false;
    let sendsS = false;
    for (let m = 0; m < this.msgs.length; m++) {
      const mine = (m & 1) == 0 ? initiator : !initiator;
      if (mine && this.msgs[m].indexOf("s") >= 0) sendsS = true;
    }
    if ((preMine || sendsS || this.needsOwnS()) && !this.hasS) return false;

    this.ss.initialize(noiseProtocolName(pattern));
    if (!this.ss.mixHash(prologue, prologueLen)) return false;
    // Pre-messages: initiator's first, then responder's (§7.1).
    if ((pre & 1) != 0) { if (!this.ss.mixHash(initiator ? p(this.sPub) : p(this.rs), 32)) return false; }
    if ((pre & 2) != 0) { if (!this.ss.mixHash(initiator ? p(this.rs) : p(this.sPub), 32)) return false; }
    this.failed = false;
    return true;
  }

  /** True when a DH token uses our s (es as responder, se as initiator, ss). */
  private needsOwnS(): bool {
    for (let m = 0; m < this.msgs.length; m++) {
      const t = this.msgs[m];
      if (t.indexOf("S") >= 0) return true;
      if (!this.initiator && t.indexOf("1") >= 0) return true;
      if (this.initiator && t.indexOf("2") >= 0) return true;
    }
    return false;
  }

  /** Sets our ephemeral private key (32 bytes at priv). Returns false if the engine refuses it. */
  setEphemeral(priv: usize): bool {
    memory.copy(p(this.ePriv), priv, 32);
    this.hasE = cryptoX25519Public(p(this.ePriv), p(this.ePub)) >= 0;
    return this.hasE;
  }

  /** Ephemeral private key from 32 bytes of `prng` (the firmware's seeded PRNG, for reproducible runs). */
  ephemeralFromPrng(prng: Prng): bool {
    const b = new StaticArray<u8>(32);
    for (let i = 0; i < 32; i += 4) store<u32>(p(b) + <usize>i, prng.next());
    const ok = this.setEphemeral(p(b));
    wipeArr(b);
    return ok;
  }

  /** Whether it is our turn to write. */
  get myTurn(): bool {
    if (this.failed || this.pattern < 0 || this.msgIndex >= this.msgs.length) return false;
    return ((this.msgIndex & 1) == 0) == this.initiator;
  }

  private dh(which: u8): bool {
    // ee: e/re; es: initiator e·rs, responder s·re; se: initiator s·re, responder e·rs; ss: s·rs.
    let priv: usize = 0, pub: usize = 0;
    if (which == T_EE) { if (!this.hasE || !this.hasRe) return false; priv = p(this.ePriv); pub = p(this.re); }
    else if (which == T_ES) {
      if (this.initiator) { if (!this.hasE || !this.hasRs) return false; priv = p(this.ePriv); pub = p(this.rs); }
      else { if (!this.hasS || !this.hasRe) return false; priv = p(this.sPriv); pub = p(this.re); }
    } else if (which == T_SE) {
      if (this.initiator) { if (!this.hasS || !this.hasRe) return false; priv = p(this.sPriv); pub = p(this.re); }
      else { if (!this.hasE || !this.hasRs) return false; priv = p(this.ePriv); pub = p(this.rs); }
    } else { if (!this.hasS || !this.hasRs) return false; priv = p(this.sPriv); pub = p(this.rs); }
    if (cryptoX25519(priv, pub, p(DH_OUT)) < 0) { wipeArr(DH_OUT); return false; }
    const ok = this.ss.mixKey(p(DH_OUT), 32);
    wipeArr(DH_OUT);
    return ok;
  }

  /** WriteMessage(payload, message_buffer) (§5.3). Returns message length, or NOISE_E* (handshake then failed). */
  writeMessage(payload: usize, payloadLen: i32, out: usize, outCap: i32): i32 {
    if (!this.myTurn || payloadLen < 0) return this.fail(NOISE_ESTATE);
    const toks = this.msgs[this.msgIndex];
    let pos: i32 = 0;
    for (let i = 0; i < toks.length; i++) {
      const t = parseToken(toks.charCodeAt(i));
      if (t == 0) continue;
      if (t == T_E) {
        if (!this.hasE) return this.fail(NOISE_ESTATE);
        if (pos + 32 > outCap) return this.fail(NOISE_ESHORT);
        memory.copy(out + <usize>pos, p(this.ePub), 32);
        if (!this.ss.mixHash(p(this.ePub), 32)) return this.fail(NOISE_ESTATE);
        pos += 32;
      } else if (t == T_S) {
        const need = 32 + (this.ss.cs.hasKey ? NOISE_TAGLEN : 0);
        if (pos + need > outCap) return this.fail(NOISE_ESHORT);
        const n = this.ss.encryptAndHash(p(this.sPub), 32, out + <usize>pos);
        if (n < 0) return this.fail(n);
        pos += n;
      } else if (!this.dh(t)) return this.fail(NOISE_EAUTH);
    }
    const need = payloadLen + (this.ss.cs.hasKey ? NOISE_TAGLEN : 0);
    if (pos + need > outCap || pos + need > NOISE_MAX_MSG) return this.fail(NOISE_ESHORT);
    const n = this.ss.encryptAndHash(payload, payloadLen, out + <usize>pos);
    if (n < 0) return this.fail(n);
    pos += n;
    this.msgIndex++;
    return pos;
  }

  /** ReadMessage(message, payload_buffer) (§5.3). Returns payload length, or NOISE_E* (handshake then failed). */
  readMessage(msg: usize, len: i32, out: usize, outCap: i32): i32 {
    if (this.failed || this.pattern < 0 || this.msgIndex >= this.msgs.length || this.myTurn) return this.fail(NOISE_ESTATE);
    if (len < 0 || len > NOISE_MAX_MSG) return this.fail(NOISE_ESHORT);
    const toks = this.msgs[this.msgIndex];
    let pos: i32 = 0;
    for (let i = 0; i < toks.length; i++) {
      const t = parseToken(toks.charCodeAt(i));
      if (t == 0) continue;
      if (t == T_E) {
        if (pos + 32 > len) return this.fail(NOISE_ESHORT);
        memory.copy(p(this.re), msg + <usize>pos, 32);
        this.hasRe = true;
        if (!this.ss.mixHash(p(this.re), 32)) return this.fail(NOISE_ESTATE);
        pos += 32;
      } else if (t == T_S) {
        const need = 32 + (this.ss.cs.hasKey ? NOISE_TAGLEN : 0);
        if (pos + need > len) return this.fail(NOISE_ESHORT);
        const n = this.ss.decryptAndHash(msg + <usize>pos, need, p(this.rs));
        if (n != 32) return this.fail(n < 0 ? n : NOISE_EAUTH);
        this.hasRs = true;
        pos += need;
      } else if (!this.dh(t)) return this.fail(NOISE_EAUTH);
    }
    const rest = len - pos;
    const tag = this.ss.cs.hasKey ? NOISE_TAGLEN : 0;
    if (rest < tag) return this.fail(NOISE_ESHORT);
    if (rest - tag > outCap) return this.fail(NOISE_ESHORT);
    const n = this.ss.decryptAndHash(msg + <usize>pos, rest, out);
    if (n < 0) return this.fail(n);
    this.msgIndex++;
    return n;
  }

  /** Split into the transport CipherStates (only when complete): c1 initiator→responder, c2 the other way. */
  split(c1: CipherState, c2: CipherState): bool {
    if (!this.complete) return false;
    return this.ss.split(c1, c2);
  }

  /** Copies the handshake hash h (32 bytes) to out. Final only once complete (§11.2 channel binding). */
  handshakeHash(out: usize): void { memory.copy(out, p(this.ss.h), 32); }

  /** Zeroes every secret this state holds (static and ephemeral private keys, ck, k). */
  wipe(): void {
    this.ss.wipe();
    wipeArr(this.sPriv); wipeArr(this.ePriv);
    this.hasS = false; this.hasE = false; this.hasRs = false; this.hasRe = false;
  }

  private fail(code: i32): i32 {
    this.failed = true;
    this.ss.wipe();
    wipeArr(this.ePriv);
    return code;
  }
}
