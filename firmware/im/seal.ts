import { HandshakeState, PATTERN_N } from "../sec/noise";
import { Certificate, certVerifyParsed, CERT_OK } from "../sec/cert";
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
