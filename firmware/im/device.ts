import { node } from "../overlay/node";
import { deviceAddr } from "../wire/record";
import { KEY_IDENTITY } from "../lib/keys";
import { KEY_IM_DEVICE } from "./keys";
import { storageRead, storageWrite } from "../../hal/storage";
import { cryptoSha256 } from "../../hal/crypto";
import { entropyFill } from "../../hal/entropy";

/**
 * This phone's device id (issue #8, multiple logins): one user name may be logged in on several phones, and
 * the index holds one presence record per device, addressed `user/devid`. The id is the first 4 bytes of
 * SHA-256("p2pphone-dev" ‖ identity key) when the identity key (flash key 4, issue #7) exists; until then a
 * random 32-byte seed kept in flash key 13 stands in for it (hal entropy, once, on first use). Stable across
 * reboots; 0 is never used.
 */
let devIdCache: u32 = 0;
let addrCache = "";
let addrUserCache = "";

const buf = new StaticArray<u8>(64);
const out = new StaticArray<u8>(32);

export function deviceId(): u32 {
  if (devIdCache != 0) return devIdCache;
  const p = changetype<usize>(buf);
  const tag = "p2pphone-dev";
  for (let i = 0; i < tag.length; i++) store<u8>(p + <usize>i, <u8>tag.charCodeAt(i));
  const off: i32 = 12;
  let n = storageRead(KEY_IDENTITY, p + <usize>off, 32);
  if (n < 32) {
    n = storageRead(KEY_IM_DEVICE, p + <usize>off, 32);
    if (n < 32) {
      entropyFill(p + <usize>off, 32);
      storageWrite(KEY_IM_DEVICE, p + <usize>off, 32);
    }
  }
  cryptoSha256(p, off + 32, changetype<usize>(out));
  let v: u32 = (<u32>out[0] << 24) | (<u32>out[1] << 16) | (<u32>out[2] << 8) | <u32>out[3];
  if (v == 0) v = 1;
  devIdCache = v;
  return v;
}

/** This phone's routing address `user/devid` (the provisioned user). */
export function myAddr(): string {
  const user = node.cfg.user;
  if (addrCache.length == 0 || addrUserCache != user) { addrCache = deviceAddr(user, deviceId()); addrUserCache = user; }
  return addrCache;
}

/** Whether `to` (a user name or a routing address) names this phone. */
export function isMe(to: string): bool { return to == node.cfg.user || to == myAddr(); }
