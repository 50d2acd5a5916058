import { node } from "./node";
import { Conn, connGet, connSend } from "./conns";
import { ByteReader } from "../lib/bytes";
import { tx, txBegin } from "../lib/tx";
import { NEVER } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { OP_PREFIX, SealedExchange, ST_OK, ST_RATE_LIMITED, ST_SERVER_ERROR } from "./login";
import { MSG_PREFIX, MSG_PREFIX_RESP, USER_MAX } from "../wire/types";

/**
 * Prefix search (issue #5, "sal*"): the distributed index is keyed by hashed names, so it cannot answer a
 * prefix; the login server's directory can. The phone sends PREFIX [txid u32][limit u8][prefix str8] to its
 * supernode, which asks the directory with a sealed OP_PREFIX request ([op][prefix str8][limit u8], the same
 * sealing as LOOKUP: overlay/login.ts) and returns PREFIX_RESP [txid u32][status u8][more u8][n u8][name str8 × n]
 * (names in byte order, at most `limit` ≤ PREFIX_LIMIT_MAX; more = 1 when the limit cut the list).
 * Load shedding: a supernode keeps at most PREFIX_PENDING_MAX directory requests open; more are answered
 * at once with status RATE_LIMITED. No answer within PREFIX_TIMEOUT_US: SERVER_ERROR.
 */
export const PREFIX_LIMIT_MAX: i32 = 10;
const PREFIX_TIMEOUT_US: i64 = 5_000_000;
export const PREFIX_PENDING_MAX: i32 = 64;

class PendingPrefix {
  constructor(public ex: SealedExchange, public handle: i32, public txid: u32, public sentUs: i64) {}
}

const pending = new Map<u32, PendingPrefix>();

/** Prefix rule (the server's username alphabet): 1..32 of [a-z0-9._-], starting with a letter. */
export function prefixValid(p: string): bool {
  if (p.length < 1 || p.length > USER_MAX) return false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    const letter = c >= 97 && c <= 122;
    if (i == 0 ? !letter : !(letter || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 45)) return false;
  }
  return true;
}

function reply(handle: i32, txid: u32, status: u8): void {
  const c = connGet(handle);
  if (c === null) return;
  txBegin(MSG_PREFIX_RESP).u32(txid).u8(status).u8(0).u8(0);
  connSend(c);
}

/** SN side: PREFIX from a client. `server` is the login-server connection (null: none), `reqId` a fresh request id. */
export function snOnPrefix(c: Conn, r: ByteReader, server: Conn | null, reqId: u32, now: i64): void {
  const txid = r.u32(); let limit = <i32>r.u8(); const prefix = r.str8(USER_MAX);
  if (!r.ok) { stats.malformed++; return; }
  if (!prefixValid(prefix) || limit < 1) { reply(c.handle, txid, 3 /* INVALID_INPUT */); return; }
  if (limit > PREFIX_LIMIT_MAX) limit = PREFIX_LIMIT_MAX;
  if (server === null || !node.cfg.hasServerKey) { reply(c.handle, txid, ST_SERVER_ERROR); return; }
  if (pending.size >= PREFIX_PENDING_MAX) { reply(c.handle, txid, ST_RATE_LIMITED); event("sn.prefix.busy"); return; }
  const ex = new SealedExchange();
  txBegin(0); tx.pos = 0;
  tx.u32(reqId);
  if (!ex.seal(tx, node.prngOverlay, node.cfg.serverKey, OP_PREFIX, prefix, "", limit)) { reply(c.handle, txid, ST_SERVER_ERROR); return; }
  connSend(server);
  pending.set(reqId, new PendingPrefix(ex, c.handle, txid, now));
}

/** SN side: a login-server frame for request `id`; returns false when it is not a prefix request of ours. */
export function snPrefixOnServer(id: u32, r: ByteReader, now: i64): bool {
  if (!pending.has(id)) return false;
  const p = pending.get(id);
  pending.delete(id);
  const n = r.remaining();
  const st = p.ex.open(r.take(n), n);
  p.ex.wipe();
  const c = connGet(p.handle);
  if (c === null) return true;
  if (st != ST_OK) { reply(p.handle, p.txid, st == 255 ? ST_SERVER_ERROR : st); return true; }
  // Re-check what the directory sent before passing it on: [status][more u8][n u8][name str8 × n].
  const pr = new ByteReader().reset(changetype<usize>(p.ex.resp), p.ex.respLen);
  pr.u8();
  const more = pr.u8(); const cnt = <i32>pr.u8();
  if (!pr.ok || cnt > PREFIX_LIMIT_MAX) { stats.malformed++; reply(p.handle, p.txid, ST_SERVER_ERROR); return true; }
  const names = new Array<string>();
  for (let i = 0; i < cnt; i++) {
    const s = pr.str8(USER_MAX);
    if (!pr.ok) break;
    names.push(s);
  }
  if (!pr.ok) { stats.malformed++; reply(p.handle, p.txid, ST_SERVER_ERROR); return true; }
  const w = txBegin(MSG_PREFIX_RESP).u32(p.txid).u8(ST_OK).u8(more != 0 ? 1 : 0).u8(<u32>names.length);
  for (let i = 0; i < names.length; i++) w.str8(names[i]);
  connSend(c);
  return true;
}

export function snPrefixDeadline(): i64 {
  let d = NEVER;
  const ids = pending.keys();
  for (let i = 0; i < ids.length; i++) { const t = pending.get(ids[i]).sentUs + PREFIX_TIMEOUT_US; if (t < d) d = t; }
  return d;
}

export function snPrefixTick(now: i64): void {
  const ids = pending.keys();
  for (let i = 0; i < ids.length; i++) {
    const p = pending.get(ids[i]);
    if (now - p.sentUs < PREFIX_TIMEOUT_US) continue;
    pending.delete(ids[i]);
    p.ex.wipe();
    reply(p.handle, p.txid, ST_SERVER_ERROR);
  }
}

// ---- phone side ---------------------------------------------------------------------------------------------

/** The last prefix search: its text for the console (`find`), "" before the first. */
export let prefixResultText: string = "";
let prefixTxid: u32 = 0;

/** Sends PREFIX for `prefix` (without the '*') over the SN connection `sn`. Returns false when not sendable. */
export function clientPrefixSearch(sn: Conn | null, prefix: string, limit: i32): bool {
  if (sn === null || !prefixValid(prefix)) return false;
  prefixTxid++;
  txBegin(MSG_PREFIX).u32(prefixTxid).u8(<u32>(limit < 1 ? 1 : limit > PREFIX_LIMIT_MAX ? PREFIX_LIMIT_MAX : limit)).str8(prefix);
  prefixResultText = "searching";
  return connSend(sn);
}

/** Phone side: PREFIX_RESP from our SN. */
export function clientOnPrefixResp(r: ByteReader, now: i64): void {
  const txid = r.u32(); const st = r.u8(); const more = r.u8(); const n = <i32>r.u8();
  if (!r.ok || n > PREFIX_LIMIT_MAX) { stats.malformed++; return; }
  if (txid != prefixTxid) { stats.unexpected++; return; }
  let names = "";
  for (let i = 0; i < n; i++) {
    const s = r.str8(USER_MAX);
    if (!r.ok) { stats.malformed++; return; }
    names += (i > 0 ? "," : "") + s;
  }
  prefixResultText = st != ST_OK ? "error status=" + st.toString() : n.toString() + (more != 0 ? "+" : "") + " found: " + names;
  event("search.prefix", "status=" + st.toString() + " n=" + n.toString() + " more=" + more.toString() + " names=" + names);
}
