import { cryptoAeadOpen, cryptoAeadSeal, cryptoHmacSha256, cryptoX25519, cryptoX25519Public } from "../../hal/crypto";
import { ByteWriter } from "../lib/bytes";
import { Prng } from "../lib/prng";

/**
 * A sealed buddy request to the login server: the same one-shot sealing as a v0 LOGIN (docs/protocol.md
 * §Login service: X25519 with the server's key, HKDF-SHA256 salt "p2pphone-login-v0", ChaCha20-Poly1305,
 * nonce 0 for the request and 0…01 for the response; RFC 7748, RFC 5869, RFC 8439), with room for the
 * buddy list in the answer (≤ 4096-byte frame). Plaintext: [op u8][user str8][password str8][target str8].
 */
export const BUDDY_RESP_CAP: i32 = 4096;
const SALT = "p2pphone-login-v0";

export class BuddySeal {
  private ephPriv: StaticArray<u8> = new StaticArray<u8>(32);
  private ephPub: StaticArray<u8> = new StaticArray<u8>(32);
  private key: StaticArray<u8> = new StaticArray<u8>(32);
  private pt: StaticArray<u8> = new StaticArray<u8>(160);
  private nonce: StaticArray<u8> = new StaticArray<u8>(12);
  private scratch: StaticArray<u8> = new StaticArray<u8>(128);
  /** Plaintext of the last opened answer (status first). */
  resp: StaticArray<u8> = new StaticArray<u8>(BUDDY_RESP_CAP);
  respLen: i32 = 0;

  /** Appends `[0x01][ephPub 32][AEAD(plaintext) ‖ tag 16]` to w. Returns false if the crypto engine failed. */
  seal(w: ByteWriter, prng: Prng, serverPub: StaticArray<u8>, op: u8, user: string, password: string, target: string): bool {
    for (let i = 0; i < 32; i++) this.ephPriv[i] = <u8>prng.next();
    const ephPriv = changetype<usize>(this.ephPriv), ephPub = changetype<usize>(this.ephPub);
    if (cryptoX25519Public(ephPriv, ephPub) < 0) return false;
    const sc = changetype<usize>(this.scratch);
    if (cryptoX25519(ephPriv, changetype<usize>(serverPub), sc) < 0) return false;
    this.deriveKey(sc, serverPub);
    memory.fill(sc, 0, 32);
    memory.fill(ephPriv, 0, 32);
    const pw = new ByteWriter().reset(changetype<usize>(this.pt), this.pt.length);
    pw.u8(op).str8(user).str8(password).str8(target);
    if (!pw.ok) return false;
    memory.fill(changetype<usize>(this.nonce), 0, 12);
    w.u8(0x01).bytes(ephPub, 32);
    const out = w.reserve(pw.pos + 16);
    if (out == 0) return false;
    const n = cryptoAeadSeal(changetype<usize>(this.key), changetype<usize>(this.nonce), 0, 0, changetype<usize>(this.pt), pw.pos, out);
    memory.fill(changetype<usize>(this.pt), 0, <usize>pw.pos);
    return n == pw.pos + 16;
  }

  /** Opens `[0x02][AEAD ‖ tag]` (len bytes at p); returns the status byte, 255 if it cannot be opened, 6 for an error frame. */
  open(p: usize, len: i32): u8 {
    this.respLen = 0;
    if (len < 1) return 255;
    const kind = load<u8>(p);
    if (kind == 0x03) return 6;
    if (kind != 0x02 || len < 1 + 16 + 1 || len - 17 > this.resp.length) return 255;
    memory.fill(changetype<usize>(this.nonce), 0, 12);
    this.nonce[11] = 1;
    const n = cryptoAeadOpen(changetype<usize>(this.key), changetype<usize>(this.nonce), 0, 0, p + 1, len - 1, changetype<usize>(this.resp));
    if (n < 1) return 255;
    this.respLen = n;
    return this.resp[0];
  }

  wipe(): void { memory.fill(changetype<usize>(this.key), 0, 32); }

  /** HKDF-SHA256 extract and one expand block (RFC 5869 §2.2–2.3), info = ephPub ‖ serverPub. */
  private deriveKey(ikm: usize, serverPub: StaticArray<u8>): void {
    const salt = String.UTF8.encode(SALT);
    const prk = changetype<usize>(this.scratch) + 32;
    cryptoHmacSha256(changetype<usize>(salt), salt.byteLength, ikm, 32, prk);
    const inf = changetype<usize>(this.pt);
    memory.copy(inf, changetype<usize>(this.ephPub), 32);
    memory.copy(inf + 32, changetype<usize>(serverPub), 32);
    store<u8>(inf + 64, 1);
    cryptoHmacSha256(prk, 32, inf, 65, changetype<usize>(this.key));
    memory.fill(prk, 0, 32);
  }
}
