// Host-driven harness around firmware/sec/noise.ts and firmware/sec/cert.ts (the same code firmware.wasm runs),
// compiled on its own to build/sec-harness.wasm for tests/security/security-noise.test.ts and
// security-cert.test.ts. Byte buffers are exchanged through IO (index 0..3, 8 KiB each).
import { CipherState, HandshakeState } from "../../../firmware/sec/noise";
import { certTrustAdd, certTrustClear, certVerify, certSetClockOffset } from "../../../firmware/sec/cert";
import { hkdfSha256 } from "../../../firmware/sec/hkdf";

const IO = new StaticArray<u8>(4 * 8192);
const hs: HandshakeState[] = [];
const c1: CipherState[] = [];
const c2: CipherState[] = [];

export function io(i: i32): usize { return changetype<usize>(IO) + <usize>(i * 8192); }

/** New handshake: keys read from io(2) (s priv at 0, rs pub at 32). Returns the handle or -1. */
export function hsNew(pattern: i32, initiator: i32, prologueLen: i32, hasS: i32, hasRs: i32): i32 {
  const h = new HandshakeState();
  let s: StaticArray<u8> | null = null, rs: StaticArray<u8> | null = null;
  if (hasS) { s = new StaticArray<u8>(32); memory.copy(changetype<usize>(s), io(2), 32); }
  if (hasRs) { rs = new StaticArray<u8>(32); memory.copy(changetype<usize>(rs), io(2) + 32, 32); }
  if (!h.initialize(pattern, initiator != 0, io(3), prologueLen, s, rs)) return -1;
  hs.push(h); c1.push(new CipherState()); c2.push(new CipherState());
  return hs.length - 1;
}
/** Ephemeral private key from io(2)+64. */
export function hsSetE(id: i32): i32 { return hs[id].setEphemeral(io(2) + 64) ? 1 : 0; }
/** Payload io(0)[0..len) → message in io(1). */
export function hsWrite(id: i32, len: i32): i32 { return hs[id].writeMessage(io(0), len, io(1), 8192); }
/** Message io(1)[0..len) → payload in io(0). */
export function hsRead(id: i32, len: i32): i32 { return hs[id].readMessage(io(1), len, io(0), 8192); }
export function hsComplete(id: i32): i32 { return hs[id].complete ? 1 : 0; }
/** Handshake hash → io(2)+96; peer static → io(2)+128 (returns hasRs). */
export function hsInfo(id: i32): i32 {
  hs[id].handshakeHash(io(2) + 96);
  memory.copy(io(2) + 128, changetype<usize>(hs[id].rs), 32);
  return hs[id].hasRs ? 1 : 0;
}
export function hsSplit(id: i32): i32 { return hs[id].split(c1[id], c2[id]) ? 1 : 0; }
/** Transport: which 1 = c1, 2 = c2. io(0) → io(1) (encrypt) or io(1) → io(0) (decrypt). Empty ad. */
export function csEncrypt(id: i32, which: i32, len: i32): i32 { return (which == 1 ? c1[id] : c2[id]).encryptWithAd(0, 0, io(0), len, io(1)); }
export function csDecrypt(id: i32, which: i32, len: i32): i32 { return (which == 1 ? c1[id] : c2[id]).decryptWithAd(0, 0, io(1), len, io(0)); }
export function csRekey(id: i32, which: i32): i32 { return (which == 1 ? c1[id] : c2[id]).rekey() ? 1 : 0; }

/** Trust key id → Ed25519 public key at io(2). */
export function trustAdd(keyId: i32): i32 { return certTrustAdd(<u32>keyId, io(2)) ? 1 : 0; }
export function trustClear(): void { certTrustClear(); }
export function clockOffset(s: i64): void { certSetClockOffset(s); }
/** Certificate io(1)[0..len) for user io(3)[0..ulen) at nowUs. */
export function verify(len: i32, ulen: i32, nowUs: i64): i32 {
  return certVerify(io(1), len, String.UTF8.decodeUnsafe(io(3), <usize>ulen, false), nowUs);
}

/** HKDF-SHA256 (firmware/sec/hkdf.ts): salt io(0)[0..saltLen), IKM io(1)[0..ikmLen), info io(2)[0..infoLen) → io(3)[0..outLen). 1 ok, 0 refused. */
export function hkdf(saltLen: i32, ikmLen: i32, infoLen: i32, outLen: i32): i32 {
  return hkdfSha256(io(0), saltLen, io(1), ikmLen, io(2), infoLen, io(3), outLen) ? 1 : 0;
}
