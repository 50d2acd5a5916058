import { CipherState, HandshakeState, PATTERN_XX } from "./noise";
import { Certificate, CERT_OK, certErrorText, myCert } from "./cert";
import { certCheck } from "./call-kx";
import { identity, identityInit } from "./identity";
import { entropyFill } from "../../hal/entropy";
import { netTcpSend } from "../../hal/net";
import { FRAME_MAX } from "../wire/types";
import { event } from "../lib/log";

/**
 * Noise channels on the overlay's TCP connections (phone ↔ supernode, supernode ↔ supernode, phone ↔ phone):
 * every frame after the handshake is sealed, so a link eavesdropper sees frame lengths and nothing else — no
 * message types, no user names, no candidates. overlay/conns.ts calls this layer; the overlay modules
 * above it are unchanged. (The supernode ↔ login server connection is not a channel: its LOGIN bodies are
 * sealed end to end by overlay/login.ts.)
 *
 * Handshake: Noise_XX_25519_ChaChaPoly_SHA256 (noise.ts), prologue "p2pphone-chan-v1", static keys = the
 * nodes' identity X25519 keys (sec/identity.ts). Three frames, each `[len u16][Noise message]`, with no
 * type byte — nothing in clear identifies the protocol:
 *   1. initiator → responder   e                                   32 B
 *   2. responder → initiator   e, ee, s, es   payload: certificate   96 B + certificate
 *   3. initiator → responder   s, se          payload: certificate   64 B + certificate
 * The payload is the node's certificate (sec/cert.ts) when it has one (a logged-in phone), else empty (a
 * supernode; a phone before its first login). A certificate presented is verified — server signature,
 * validity, and that it certifies the static key the handshake proved (rs = noisePub) — and a bad one
 * closes the connection; a good one sets `peerUser`, which the overlay may use to authorise the peer.
 * After message 3 both sides Split() (initiator→responder, responder→initiator) and every frame is
 *   [len u16][ChaCha20-Poly1305(k, n, ad = empty, [type u8][body]) ‖ tag 16]   (+16 B per frame)
 * with n counting frames in each direction (Noise §5.1: TCP delivers in order, so no nonce on the wire).
 * A frame that does not authenticate breaks the stream (the connection is closed, `stats.brokenStreams`).
 * The channel's token ("~" + 8 bytes of the handshake hash, hex) names it in the phone's UDP KEEPALIVE to its
 * supernode in place of the user name (connKeepaliveToken / connKeepaliveAddr in overlay/conns.ts).
 * The initiator may send its first sealed frames right after message 3, so a channel costs one round trip
 * (message 1 → message 2) before the first overlay message, as a plain TCP connection costs none.
 */
export const CHAN_TAG: i32 = 16;
/** Largest sealed frame: FRAME_MAX of plaintext plus the tag (wire/frame.ts accepts it). */
export const CHAN_FRAME_MAX: i32 = FRAME_MAX + CHAN_TAG;

const ST_MSG1: i32 = 0;   // responder: waiting for message 1; initiator: message 1 not yet sent
const ST_MSG2: i32 = 1;   // initiator: waiting for message 2
const ST_MSG3: i32 = 2;   // responder: waiting for message 3
const ST_READY: i32 = 3;
const ST_FAILED: i32 = 4;

const HS_MAX: i32 = 512;
const PROLOGUE = "p2pphone-chan-v1";

/** Counters over all channels (console `stats`, tests). */
export class ChannelStats {
  handshakes: u32 = 0;
  /** Handshakes that failed (bad message, bad certificate): connection closed. */
  failed: u32 = 0;
  /** Sealed frames that did not authenticate: connection closed. */
  authFail: u32 = 0;
  sealed: u32 = 0;
  opened: u32 = 0;
}
export const chanStats = new ChannelStats();

const hsBuf = new StaticArray<u8>(2 + HS_MAX);
const payloadBuf = new StaticArray<u8>(HS_MAX);
const sealBuf = new StaticArray<u8>(2 + CHAN_FRAME_MAX);
const eph = new StaticArray<u8>(32);
const peerCert = new Certificate();

export class SecureChannel {
  initiator: bool;
  state: i32 = ST_MSG1;
  hs: HandshakeState | null = new HandshakeState();
  tx: CipherState = new CipherState();
  rx: CipherState = new CipherState();
  /** The user the peer's certificate names, once verified ("" when it presented none). */
  peerUser: string = "";
  /**
   * "~" + the first 8 bytes of the handshake hash in hex, the same on both ends once ready: an opaque name of
   * this channel, which the phone's UDP KEEPALIVE carries instead of its user name (overlay/conns.ts).
   */
  token: string = "";

  constructor(initiator: bool) { this.initiator = initiator; }

  get ready(): bool { return this.state == ST_READY; }
  get failed(): bool { return this.state == ST_FAILED; }

  /** Initiator, when the TCP connection is up: sends message 1. False if the handshake cannot start. */
  start(handle: i32): bool {
    if (!this.begin()) return false;
    const hs = this.hs!;
    const n = hs.writeMessage(0, 0, changetype<usize>(hsBuf) + 2, HS_MAX);
    if (n < 0) return this.fail("write1");
    sendRaw(handle, n);
    this.state = ST_MSG2;
    return true;
  }

  /**
   * A frame of `len` bytes at p arrived. Returns the plaintext length (decrypted in place, at p) for the
   * overlay, 0 when the frame was a handshake message (consumed), or −1 when the connection must close.
   * `sent` is set when this call completed the handshake on our side (the caller flushes queued frames).
   */
  onFrame(handle: i32, p: usize, len: i32, nowUs: i64): i32 {
    if (this.state == ST_READY) {
      const n = this.rx.decryptWithAd(0, 0, p, len, p);
      if (n < 0) { chanStats.authFail++; this.state = ST_FAILED; return -1; }
      chanStats.opened++;
      return n;
    }
    if (this.state == ST_FAILED) return -1;
    if (this.hs === null) return -1;
    if (!this.initiator && this.state == ST_MSG1) {
      if (len != 32) { this.fail("msg1-length"); return -1; } // e only: we never put a payload in message 1
      if (!this.begin()) return -1;
      const hs = this.hs!;
      if (hs.readMessage(p, len, changetype<usize>(payloadBuf), HS_MAX) < 0) { this.fail("read1"); return -1; }
      const n = hs.writeMessage(myCert.ptr, myCert.len, changetype<usize>(hsBuf) + 2, HS_MAX);
      if (n < 0) { this.fail("write2"); return -1; }
      sendRaw(handle, n);
      this.state = ST_MSG3;
      return 0;
    }
    if (this.initiator && this.state == ST_MSG2) {
      const hs = this.hs!;
      const pn = hs.readMessage(p, len, changetype<usize>(payloadBuf), HS_MAX);
      if (pn < 0) { this.fail("read2"); return -1; }
      if (!this.checkPeer(pn, nowUs)) return -1;
      const n = hs.writeMessage(myCert.ptr, myCert.len, changetype<usize>(hsBuf) + 2, HS_MAX);
      if (n < 0) { this.fail("write3"); return -1; }
      sendRaw(handle, n);
      return this.finish() ? 0 : -1;
    }
    if (!this.initiator && this.state == ST_MSG3) {
      const hs = this.hs!;
      const pn = hs.readMessage(p, len, changetype<usize>(payloadBuf), HS_MAX);
      if (pn < 0) { this.fail("read3"); return -1; }
      if (!this.checkPeer(pn, nowUs)) return -1;
      return this.finish() ? 0 : -1;
    }
    this.fail("order");
    return -1;
  }

  /** Seals the `len`-byte message at p as one frame and sends it. False when not ready or on a HAL error. */
  send(handle: i32, p: usize, len: i32): bool {
    if (this.state != ST_READY || len < 0 || len > FRAME_MAX) return false;
    const out = changetype<usize>(sealBuf);
    const n = this.tx.encryptWithAd(0, 0, p, len, out + 2);
    if (n < 0) return false;
    store<u8>(out, <u8>(n >> 8)); store<u8>(out + 1, <u8>n);
    chanStats.sealed++;
    return netTcpSend(handle, out, n + 2) >= 0;
  }

  /** Zeroes the keys (connection closed). */
  wipe(): void {
    const hs = this.hs;
    if (hs !== null) hs.wipe();
    this.tx.wipe(); this.rx.wipe();
  }

  private begin(): bool {
    const hs = this.hs;
    if (hs === null) return false;
    if (!identity.ready && !identityInit()) return this.fail("no-identity");
    const pro = String.UTF8.encode(PROLOGUE);
    if (!hs.initialize(PATTERN_XX, this.initiator, changetype<usize>(pro), pro.byteLength, identity.noisePriv, null)) return this.fail("init");
    if (entropyFill(changetype<usize>(eph), 32) != 32) return this.fail("entropy");
    const ok = hs.setEphemeral(changetype<usize>(eph));
    memory.fill(changetype<usize>(eph), 0, 32);
    return ok ? true : this.fail("ephemeral");
  }

  /** A certificate in the payload must be valid and certify the handshake's static key; none is allowed. */
  private checkPeer(n: i32, nowUs: i64): bool {
    if (n == 0) return true;
    const hs = this.hs!;
    const code = certCheck(peerCert, changetype<usize>(payloadBuf), n, "", nowUs);
    if (code != CERT_OK) return this.fail("cert-" + certErrorText(code));
    if (!hs.hasRs || memory.compare(changetype<usize>(hs.rs), changetype<usize>(peerCert.noisePub), 32) != 0) return this.fail("cert-key");
    this.peerUser = peerCert.user;
    return true;
  }

  private finish(): bool {
    const hs = this.hs!;
    const ok = this.initiator ? hs.split(this.tx, this.rx) : hs.split(this.rx, this.tx);
    const h = new StaticArray<u8>(32);
    hs.handshakeHash(changetype<usize>(h));
    let t = "~";
    for (let i = 0; i < 8; i++) t += "0123456789abcdef".charAt(h[i] >> 4) + "0123456789abcdef".charAt(h[i] & 15);
    this.token = t;
    hs.wipe();
    this.hs = null;
    if (!ok) return this.fail("split");
    this.state = ST_READY;
    chanStats.handshakes++;
    return true;
  }

  private fail(why: string): bool {
    this.state = ST_FAILED;
    chanStats.failed++;
    const hs = this.hs;
    if (hs !== null) hs.wipe();
    event("sec.chan", "result=failed why=" + why);
    return false;
  }
}

/** Sends the handshake message of n bytes at hsBuf + 2 as one frame. */
function sendRaw(handle: i32, n: i32): void {
  const b = changetype<usize>(hsBuf);
  store<u8>(b, <u8>(n >> 8)); store<u8>(b + 1, <u8>n);
  netTcpSend(handle, b, n + 2);
}
