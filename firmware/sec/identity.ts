/**
 * The phone's long-term identity (docs/security.md §Identity).
 *
 *  - Identity seed: 32 bytes from hal entropy on first boot, stored raw in flash under KEY_IDENTITY (4)
 *    and never sent anywhere. Ed25519 identity key pair = (seed, Ed25519Public(seed)) (RFC 8032 §5.1.5).
 *    firmware/im/device.ts derives the device id from the same record.
 *  - Noise static key (X25519, RFC 7748): derived, not stored:
 *        noisePriv = HMAC-SHA-256(key = seed, "p2pphone-noise-static-v1")
 *    so one flash record holds the whole identity, and both keys change together.
 *  - Binding signature: bindSig = Ed25519(seed, "p2pphone-bind-v1" ‖ noisePub ‖ user): the identity key
 *    vouches for the Noise key under a user name; the login server checks it before certifying both
 *    (server/service.ts).
 *
 * API: identityInit() once at boot (idempotent; false when the flash or the crypto engine fails — the phone
 * then has no identity and cannot log in); identity.idPub / identity.noisePub (32 B each); identity.noisePriv
 * (for HandshakeState.initialize); identitySign(msgPtr, len, sig64Ptr); identityBindSig(user, sig64Ptr).
 */
import { cryptoEd25519Public, cryptoEd25519Sign, cryptoHmacSha256, cryptoX25519Public } from "../../hal/crypto";
import { entropyFill } from "../../hal/entropy";
import { storageRead, storageWrite } from "../../hal/storage";
import { KEY_IDENTITY } from "../lib/keys";

export const BIND_CONTEXT: string = "p2pphone-bind-v1";
const NOISE_DERIVE: string = "p2pphone-noise-static-v1";

export class Identity {
  ready: bool = false;
  /** Ed25519 seed: secret. */
  seed: StaticArray<u8> = new StaticArray<u8>(32);
  idPub: StaticArray<u8> = new StaticArray<u8>(32);
  /** X25519 static key pair for Noise handshakes. noisePriv is secret. */
  noisePriv: StaticArray<u8> = new StaticArray<u8>(32);
  noisePub: StaticArray<u8> = new StaticArray<u8>(32);
  /** True when the seed was generated during this boot. */
  created: bool = false;
}

export const identity = new Identity();

@inline function p(a: StaticArray<u8>): usize { return changetype<usize>(a); }

/** Loads the identity from flash, creating it from hal entropy on first boot. Idempotent. */
export function identityInit(): bool {
  if (identity.ready) return true;
  const n = storageRead(KEY_IDENTITY, p(identity.seed), 32);
  if (n != 32) {
    if (entropyFill(p(identity.seed), 32) != 32) return false;
    if (storageWrite(KEY_IDENTITY, p(identity.seed), 32) != 32) return false;
    identity.created = true;
  }
  if (cryptoEd25519Public(p(identity.seed), p(identity.idPub)) < 0) return false;
  const tag = String.UTF8.encode(NOISE_DERIVE);
  if (cryptoHmacSha256(p(identity.seed), 32, changetype<usize>(tag), tag.byteLength, p(identity.noisePriv)) < 0) return false;
  if (cryptoX25519Public(p(identity.noisePriv), p(identity.noisePub)) < 0) return false;
  identity.ready = true;
  return true;
}

/** Ed25519 signature (64 B at sig) of [msg, msg+len) with the identity key. False without an identity. */
export function identitySign(msg: usize, len: i32, sig: usize): bool {
  if (!identity.ready && !identityInit()) return false;
  return cryptoEd25519Sign(p(identity.seed), msg, len, sig) >= 0;
}

/** bindSig (see the module header) for `user` into 64 bytes at sig. */
export function identityBindSig(user: string, sig: usize): bool {
  if (!identity.ready && !identityInit()) return false;
  const ctx = String.UTF8.encode(BIND_CONTEXT);
  const u = String.UTF8.encode(user);
  const cl = ctx.byteLength, ul = u.byteLength;
  const m = new StaticArray<u8>(cl + 32 + ul);
  memory.copy(p(m), changetype<usize>(ctx), <usize>cl);
  memory.copy(p(m) + <usize>cl, p(identity.noisePub), 32);
  memory.copy(p(m) + <usize>(cl + 32), changetype<usize>(u), <usize>ul);
  return identitySign(p(m), m.length, sig);
}
