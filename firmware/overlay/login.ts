import { ByteWriter } from "../lib/bytes";
import { Prng } from "../lib/prng";
import { nowUs } from "../lib/clock";
import { event } from "../lib/log";
import { HandshakeState, PATTERN_IK } from "../sec/noise";
import { identity, identityBindSig, identityInit } from "../sec/identity";
import { Certificate, CERT_MAX, CERT_OK, certErrorText, certSetClockOffset, certTrustCount, certVerifyParsed, myCert } from "../sec/cert";

/**
 * Requests to the login server (docs/security.md §Login; docs/protocol.md §Login service) over
 * Noise_IK_25519_ChaChaPoly_SHA256 (firmware/sec/noise.ts), prologue "p2pphone-login-v1":
 *   request  = Noise_IK message 1 (e ‖ enc(s) ‖ enc(payload))   → the server learns our static key s (the
 *              phone's identity Noise key, firmware/sec/identity.ts) and we know only it can read the payload
 *   response = Noise_IK message 2 (e ‖ enc(payload)), or one plain byte (error code) when the server could not
 *              open the request
 *   payload  = [len u16][plaintext][zero padding to a multiple of 64 bytes]
 *   plaintext: REGISTER [1][user str8][password str8]; LOGIN [2][user str8][password str8][idPub 32][bindSig 64];
 *              LOOKUP [3][user str8]; answer [status u8][...]; LOGIN OK: [0][userId u32][ulen u8][name]
 *              [serverTimeS u32][certLen u16][certificate] (firmware/sec/cert.ts).
 * Nothing on the wire is a fixed plaintext byte: message 1 starts with a fresh ephemeral key. A fresh handshake
 * (fresh ephemeral) per request; every secret is wiped after the response (or on timeout).
 * A LOGIN OK's certificate is verified (provisioned server keys, our name, our two keys) and kept in `myCert`;
 * the server's clock offset is learned from it.
 */
export const OP_REGISTER: u8 = 1;
export const OP_LOGIN: u8 = 2;
export const OP_LOOKUP: u8 = 3;
/** Directory prefix search (issue #5, overlay/prefix.ts): [4][prefix str8][limit u8] → [status][more u8][n u8][name str8 × n]. */
export const OP_PREFIX: u8 = 4;

export const ST_OK: u8 = 0;
export const ST_EXISTS: u8 = 1;
export const ST_BAD_CREDENTIALS: u8 = 2;
export const ST_INVALID_INPUT: u8 = 3;
export const ST_NOT_FOUND: u8 = 4;
export const ST_RATE_LIMITED: u8 = 5;
export const ST_SERVER_ERROR: u8 = 6;
/** Load shedding (server/protocol.ts Status.BUSY): [8][retryAfterMs u32 BE]; nothing was done, try again later. */
export const ST_BUSY: u8 = 8;
/** Local: the response could not be opened or parsed. */
export const ST_BAD_RESPONSE: u8 = 255;

const PROLOGUE = "p2pphone-login-v1";
const PAD_BLOCK: i32 = 64;
/** Largest padded payload we send or accept. */
const PAYLOAD_MAX: i32 = 1024;
/**
 * Largest padded payload of a buddy-list exchange (issue #8 ops 0x70–0x76, firmware/buddy/buddies.ts): the
 * server pads answers up to PAD_MAX = 4096 − 4 − 32 − 48 − 16 = 3996 bytes (server/keys.ts), so 4096 holds any.
 */
export const PAYLOAD_MAX_BUDDY: i32 = 4096;

export class SealedExchange {
  private hs: HandshakeState = new HandshakeState();
  private pt: StaticArray<u8>;
  private op: u8 = 0;
  private user: string = "";
  /** Plaintext of the last opened response (status first, padding removed). */
  resp: StaticArray<u8>;
  respLen: i32 = 0;
  /** LOGIN OK only: the certificate check result (CERT_OK, a CERT_E* code, or 1 when none was sent). */
  certResult: i32 = 1;

  /** `payloadMax`: largest padded payload sent or accepted, bytes (PAYLOAD_MAX 1024, or PAYLOAD_MAX_BUDDY). */
  constructor(payloadMax: i32 = PAYLOAD_MAX) {
    this.pt = new StaticArray<u8>(payloadMax);
    this.resp = new StaticArray<u8>(payloadMax);
  }

  /**
   * Appends Noise_IK message 1 carrying `op` for `user` to w (`password` is ignored for OP_LOOKUP; a LOGIN
   * also carries our identity key and binding signature). Returns false when there is no identity, the payload
   * does not fit, or the crypto engine fails (then nothing usable was written). A buddy op (0x70–0x76, issue #8)
   * passes its `target` name: plaintext [op][user str8][password str8][target str8].
   */
  seal(w: ByteWriter, prng: Prng, serverPub: StaticArray<u8>, op: u8, user: string, password: string, limit: i32 = 0, target: string | null = null): bool {
    if (!identity.ready && !identityInit()) return false;
    this.op = op; this.user = user; this.certResult = 1;
    const pw = new ByteWriter().reset(changetype<usize>(this.pt) + 2, this.pt.length - 2);
    pw.u8(op).str8(user);
    if (op == OP_PREFIX) pw.u8(<u32>limit); // OP_PREFIX: `user` is the prefix (issue #5)
    else if (op != OP_LOOKUP) pw.str8(password);
    if (target !== null) pw.str8(target);
    if (op == OP_LOGIN) {
      pw.bytes(changetype<usize>(identity.idPub), 32);
      const sig = pw.reserve(64);
      if (sig == 0 || !identityBindSig(user, sig)) { this.wipePt(); return false; }
    }
    if (!pw.ok) { this.wipePt(); return false; }
    const len = pw.pos;
    this.pt[0] = <u8>(len >> 8); this.pt[1] = <u8>len;
    const padded = min(this.pt.length, ((len + 2 + PAD_BLOCK - 1) / PAD_BLOCK) * PAD_BLOCK);
    memory.fill(changetype<usize>(this.pt) + <usize>(len + 2), 0, <usize>(padded - len - 2));

    const pro = String.UTF8.encode(PROLOGUE);
    let ok = this.hs.initialize(PATTERN_IK, true, changetype<usize>(pro), pro.byteLength, identity.noisePriv, serverPub) &&
      this.hs.ephemeralFromPrng(prng);
    if (ok) {
      const cap = 32 + 48 + padded + 16;
      const out = w.reserve(cap);
      ok = out != 0 && this.hs.writeMessage(changetype<usize>(this.pt), padded, out, cap) == cap;
    }
    this.wipePt();
    if (!ok) this.hs.wipe();
    return ok;
  }

  /** The big-endian u32 at `off` of the opened response plaintext, 0 when it is shorter. */
  respU32(off: i32): u32 {
    if (off < 0 || off + 4 > this.respLen) return 0;
    const p = changetype<usize>(this.resp) + <usize>off;
    return (<u32>load<u8>(p) << 24) | (<u32>load<u8>(p + 1) << 16) | (<u32>load<u8>(p + 2) << 8) | <u32>load<u8>(p + 3);
  }

  /** Opens the response (len bytes at p); returns its status (ST_*), plaintext in resp. */
  open(p: usize, len: i32): u8 {
    this.respLen = 0;
    if (len < 1) return ST_BAD_RESPONSE;
    if (len == 1) { this.hs.wipe(); return ST_SERVER_ERROR; } // the server could not open our request
    const n = this.hs.readMessage(p, len, changetype<usize>(this.pt), this.pt.length);
    this.hs.wipe();
    if (n < 3) { this.wipePt(); return ST_BAD_RESPONSE; }
    const plen = (<i32>this.pt[0] << 8) | <i32>this.pt[1];
    if (plen < 1 || plen + 2 > n) { this.wipePt(); return ST_BAD_RESPONSE; }
    memory.copy(changetype<usize>(this.resp), changetype<usize>(this.pt) + 2, <usize>plen);
    this.wipePt();
    this.respLen = plen;
    const st = this.resp[0];
    if (st == ST_OK && this.op == OP_LOGIN) this.takeCert();
    return st;
  }

  /** LOGIN OK: [0][userId u32][ulen][name][serverTimeS u32][certLen u16][cert] → myCert, clock offset. */
  private takeCert(): void {
    const b = changetype<usize>(this.resp);
    if (this.respLen < 6) return;
    const end = 6 + <i32>load<u8>(b + 5);
    if (this.respLen < end + 6) { this.certResult = 1; return; }
    const serverS = (<u32>load<u8>(b + end) << 24) | (<u32>load<u8>(b + end + 1) << 16) | (<u32>load<u8>(b + end + 2) << 8) | <u32>load<u8>(b + end + 3);
    const clen = (<i32>load<u8>(b + end + 4) << 8) | <i32>load<u8>(b + end + 5);
    if (clen > CERT_MAX || end + 6 + clen != this.respLen) { this.certResult = -1; return; }
    const cp = b + <usize>(end + 6);
    const now = nowUs;
    // The server authenticated itself (IK); its clock is the certificates' clock.
    certSetClockOffset(<i64>serverS - now / 1_000_000);
    // Without provisioned certificate keys (certKeys=) nobody here can verify it: keep none rather than present
    // one that peers would refuse.
    if (certTrustCount() == 0) { this.certResult = -3; event("cert.unverifiable", "reason=no-cert-keys"); return; }
    const c = new Certificate();
    let r = certVerifyParsed(c, cp, clen, "", now);
    if (r == CERT_OK && (!same(c.idPub, identity.idPub) || !same(c.noisePub, identity.noisePub))) r = -4;
    this.certResult = r;
    if (r == CERT_OK) {
      myCert.set(cp, clen, c.notAfterS, now);
      event("cert.ok", "user=" + c.user + " keyId=" + c.keyId.toString() + " validS=" + (<i64>c.notAfterS - <i64>serverS).toString());
    } else event("cert.bad", "reason=" + certErrorText(r));
  }

  /** Forgets the handshake state and any plaintext (after the response, or on timeout). */
  wipe(): void { this.hs.wipe(); this.wipePt(); }

  private wipePt(): void { memory.fill(changetype<usize>(this.pt), 0, <usize>this.pt.length); }
}

function same(a: StaticArray<u8>, b: StaticArray<u8>): bool {
  if (a.length != b.length) return false;
  let d: u8 = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d == 0;
}
