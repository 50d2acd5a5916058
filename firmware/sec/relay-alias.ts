import { client } from "../overlay/client";
import { connSend } from "../overlay/conns";
import { txBegin } from "../lib/tx";
import { ByteReader } from "../lib/bytes";
import { stats } from "../lib/stats";
import { cryptoSha256 } from "../../hal/crypto";
import { ADDR_MAX, MSG_RELAY_ALIAS } from "../wire/types";

/**
 * Relay aliases: a phone's UDP RELAY to its own supernode names the peer by an alias instead of its routing
 * address, so the phone's link shows no user name even when media is relayed (docs/security.md §Sessions and
 * media). The alias is registered over the phone's Noise channel to that supernode first:
 *   RELAY_ALIAS (0x48, TCP SC → SN, sealed)  [alias str8][addr str8]
 *   alias = "~" + hex(first 8 bytes of SHA-256(channel token ‖ addr))
 * The supernode maps alias → addr (relayAliasResolve) and relays as before; between supernodes the address
 * travels as it always did. A relay through another supernode (after RELAY_REFUSED), or a supernode connection
 * without a ready channel, uses the address itself.
 */
const ALIAS_CAP: i32 = 4096;

// Phone side: aliases registered on the current channel (its token), per peer address.
let regToken = "";
const registered = new Map<string, string>();
const hashIn = new StaticArray<u8>(64 + ADDR_MAX);
const hashOut = new StaticArray<u8>(32);

function aliasOf(token: string, addr: string): string {
  const t = String.UTF8.encode(token), a = String.UTF8.encode(addr);
  const n = t.byteLength + a.byteLength;
  if (n > hashIn.length) return addr;
  memory.copy(changetype<usize>(hashIn), changetype<usize>(t), <usize>t.byteLength);
  memory.copy(changetype<usize>(hashIn) + <usize>t.byteLength, changetype<usize>(a), <usize>a.byteLength);
  cryptoSha256(changetype<usize>(hashIn), n, changetype<usize>(hashOut));
  let s = "~";
  for (let i = 0; i < 8; i++) s += "0123456789abcdef".charAt(hashOut[i] >> 4) + "0123456789abcdef".charAt(hashOut[i] & 15);
  return s;
}

/**
 * The `to` of a RELAY the phone is about to build for `peerAddr` (call before txBegin(MSG_RELAY): this may
 * send RELAY_ALIAS first, which uses the transmit buffer).
 */
export function relayTo(peerAddr: string): string {
  const sn = client.sn;
  if (sn === null) return peerAddr;
  const ch = sn.chan;
  if (ch === null || !ch.ready) return peerAddr;
  if (client.udpOk && (sn.ip != client.relayIp || sn.port != client.relayPort)) return peerAddr; // another SN relays
  if (regToken != ch.token) { registered.clear(); regToken = ch.token; }
  if (registered.has(peerAddr)) return registered.get(peerAddr);
  const alias = aliasOf(ch.token, peerAddr);
  if (alias == peerAddr) return peerAddr;
  txBegin(MSG_RELAY_ALIAS).str8(alias).str8(peerAddr);
  if (!connSend(sn)) return peerAddr;
  registered.set(peerAddr, alias);
  return alias;
}

// Supernode side.
const aliases = new Map<string, string>();

/** RELAY_ALIAS [alias str8][addr str8] from a client over its channel. */
export function relayAliasOnFrame(r: ByteReader): void {
  const alias = r.str8(ADDR_MAX); const addr = r.str8(ADDR_MAX);
  if (!r.ok || alias.length < 2 || alias.charCodeAt(0) != 0x7E || addr.length == 0) { stats.malformed++; return; }
  if (aliases.size >= ALIAS_CAP && !aliases.has(alias)) aliases.clear(); // bounded; clients re-register on a new channel
  aliases.set(alias, addr);
}

/** The routing address a RELAY's `to` stands for: a registered alias's address, "" for an unknown alias, else `to`. */
export function relayAliasResolve(to: string): string {
  if (to.length == 0 || to.charCodeAt(0) != 0x7E) return to;
  return aliases.has(to) ? aliases.get(to) : "";
}
