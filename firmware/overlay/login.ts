import { cryptoAeadOpen, cryptoAeadSeal, cryptoHmacSha256, cryptoX25519, cryptoX25519Public } from "../../hal/crypto";
import { ByteWriter } from "../lib/bytes";
import { Prng } from "../lib/prng";

/**
 * Sealed requests to the login server (docs/protocol.md §Login service), so that the user name and
 * password cross supernodes and links encrypted:
 *   sealed request  = [0x01][ephPub 32][ChaCha20-Poly1305(key, nonce 0…0, plaintext) ‖ tag 16]
 *   key             = HKDF-SHA256(ikm = X25519(eph, serverPub), salt = "p2pphone-login-v0",
 *                                 info = ephPub ‖ serverPub, L = 32)          (RFC 5869, RFC 7748, RFC 8439)
 *   sealed response = [0x02][ChaCha20-Poly1305(key, nonce 0…01, [status][...]) ‖ tag]   or [0x03][errcode]
 * A fresh ephemeral key per request; the key is kept only until its response is opened.
 */
export const OP_REGISTER: u8 = 1;
export const OP_LOGIN: u8 = 2;
export const OP_LOOKUP: u8 = 3;

export const ST_OK: u8 = 0;
export const ST_EXISTS: u8 = 1;
export const ST_BAD_CREDENTIALS: u8 = 2;
export const ST_INVALID_INPUT: u8 = 3;
export const ST_NOT_FOUND: u8 = 4;
export const ST_RATE_LIMITED: u8 = 5;
export const ST_SERVER_ERROR: u8 = 6;
/** Local: the response could not be opened or parsed. */
export const ST_BAD_RESPONSE: u8 = 255;

const SALT = "p2pphone-login-v0";

export class SealedExchange {
  private ephPriv: StaticArray<u8> = new StaticArray<u8>(32);
  private ephPub: StaticArray<u8> = new StaticArray<u8>(32);
  private key: StaticArray<u8> = new StaticArray<u8>(32);
  private pt: StaticArray<u8> = new StaticArray<u8>(512);
  private nonce: StaticArray<u8> = new StaticArray<u8>(12);
  private scratch: StaticArray<u8> = new StaticArray<u8>(128);
  /** Plaintext of the last opened response (status first). */
  resp: StaticArray<u8> = new StaticArray<u8>(512);
  respLen: i32 = 0;

  /**
   * Appends a sealed request for `op` to w. `password` is ignored for OP_LOOKUP.
   * Returns false when the crypto engine fails (then nothing usable was written).
   */
  seal(w: ByteWriter, prng: Prng, serverPub: StaticArray<u8>, op: u8, user: string, password: string): bool {
    for (let i = 0; i < 32; i++) this.ephPriv[i] = <u8>prng.next();
    const ephPriv = changetype<usize>(this.ephPriv), ephPub = changetype<usize>(this.ephPub);
    if (cryptoX25519Public(ephPriv, ephPub) < 0) return false;
    // shared secret goes to scratch[0..32)
    const sc = changetype<usize>(this.scratch);
    if (cryptoX25519(ephPriv, changetype<usize>(serverPub), sc) < 0) return false;
    this.deriveKey(sc, serverPub);
    memory.fill(sc, 0, 32);
    memory.fill(ephPriv, 0, 32);

    const pw = new ByteWriter().reset(changetype<usize>(this.pt), this.pt.length);
    pw.u8(op).str8(user);
    if (op != OP_LOOKUP) pw.str8(password);
    if (!pw.ok) return false;

    memory.fill(changetype<usize>(this.nonce), 0, 12);
    w.u8(0x01).bytes(ephPub, 32);
    const out = w.reserve(pw.pos + 16);
    if (out == 0) return false;
    const n = cryptoAeadSeal(changetype<usize>(this.key), changetype<usize>(this.nonce), 0, 0, changetype<usize>(this.pt), pw.pos, out);
    memory.fill(changetype<usize>(this.pt), 0, <usize>pw.pos);
    return n == pw.pos + 16;
  }

  /** Opens a sealed response [kind][...] of `len` bytes at p; returns its status (ST_*), plaintext in resp. */
  open(p: usize, len: i32): u8 {
    this.respLen = 0;
    if (len < 1) return ST_BAD_RESPONSE;
    const kind = load<u8>(p);
    if (kind == 0x03) return ST_SERVER_ERROR;
    if (kind != 0x02 || len < 1 + 16 + 1 || len - 17 > this.resp.length) return ST_BAD_RESPONSE;
    memory.fill(changetype<usize>(this.nonce), 0, 12);
    this.nonce[11] = 1;
    const n = cryptoAeadOpen(changetype<usize>(this.key), changetype<usize>(this.nonce), 0, 0, p + 1, len - 1, changetype<usize>(this.resp));
    if (n < 1) return ST_BAD_RESPONSE;
    this.respLen = n;
    return this.resp[0];
  }

  /** Forgets the session key (after the response, or on timeout). */
  wipe(): void { memory.fill(changetype<usize>(this.key), 0, 32); }

  /** HKDF-SHA256 extract + one expand block (L = 32), RFC 5869 §2. */
  private deriveKey(ikm: usize, serverPub: StaticArray<u8>): void {
    const salt = String.UTF8.encode(SALT);
    const prk = changetype<usize>(this.scratch) + 32;
    cryptoHmacSha256(changetype<usize>(salt), salt.byteLength, ikm, 32, prk);
    const info = changetype<usize>(this.scratch) + 64; // ephPub ‖ serverPub ‖ 0x01
    memory.copy(info, changetype<usize>(this.ephPub), 32);
    memory.copy(info + 32, changetype<usize>(serverPub), 32);
    // 65 bytes would overflow scratch (128 - 64 = 64); use pt as the info buffer instead.
    const inf = changetype<usize>(this.pt);
    memory.copy(inf, info, 64);
    store<u8>(inf + 64, 1);
    cryptoHmacSha256(prk, 32, inf, 65, changetype<usize>(this.key));
    memory.fill(prk, 0, 32);
  }
}
