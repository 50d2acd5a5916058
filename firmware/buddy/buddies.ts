import { node } from "../overlay/node";
import { client, clientOnline } from "../overlay/client";
import { connSend } from "../overlay/conns";
import { ByteReader, ByteWriter } from "../lib/bytes";
import { txBegin } from "../lib/tx";
import { NEVER, nowUs } from "../lib/clock";
import { event } from "../lib/log";
import { stats } from "../lib/stats";
import { KEY_BUDDIES, KEY_BUDDY_OUTBOX } from "../lib/keys";
import { storageRead, storageWrite } from "../../hal/storage";
import { PresenceRecord, addrUser } from "../wire/record";
import { deviceId, myAddr } from "../im/device";
import {
  MSG_BUDDY_NOTIFY, MSG_BUDDY_OP, MSG_BUDDY_PRESENCE, MSG_BUDDY_WATCH, MSG_PUBLISH, MSG_ROUTE, MSG_SEARCH,
  PRESENCE_AWAY, PRESENCE_OFFLINE, PRESENCE_ONLINE, USER_MAX, ADDR_MAX,
} from "../wire/types";
import { PAYLOAD_MAX_BUDDY, SealedExchange } from "../overlay/login";
import { call } from "../call/call";
import { ui, uiMessage, uiRefresh } from "../ui/phone-ui";

/**
 * Buddy list, block list and presence (issue #8 "Buddy list", issue #5 "Presence"; docs/protocol.md §Buddy
 * list and presence).
 *
 * The list lives on the login server (server/buddies.ts, as Skype's since 1.2) and is cached in flash (key 15).
 * Changes are operations (add, accept, decline, remove, block, unblock) sent through our supernode
 * (MSG_BUDDY_OP) as Noise_IK requests to the login server, the same exchange as LOGIN (overlay/login.ts); every answer carries the whole list, which replaces the cache. Operations wait in
 * an outbox (flash key 16) while the phone is offline; at every login the phone synchronises (one SYNC, or
 * the queued operations). The other user learns of a request at once through the overlay (MSG_BUDDY_NOTIFY
 * inside ROUTE: "re-sync with the server" — it carries no state, so a forged one achieves nothing) or, if
 * offline, at its next login from the server.
 *
 * Presence: push, with a slow poll as the safety net. A phone tells its buddies itself when it comes online,
 * goes away or comes back (MSG_BUDDY_PRESENCE in ROUTE); its supernode tells them when its connection ends
 * (the buddies named in MSG_BUDDY_WATCH); and every POLL_US each phone searches its buddies in the index,
 * which catches what a push missed (a supernode crash, a buddy's SN not knowing where we are).
 *
 * Blocked users: their INVITEs (call/call.ts) and IMs (`buddyIsBlocked`) are dropped before the UI sees
 * them; so are their presence messages and notifications.
 */
export const BK_BUDDY: u8 = 1;
export const BK_SENT: u8 = 2;
export const BK_RECEIVED: u8 = 3;
export const BK_BLOCKED: u8 = 4;

export const OP_SYNC: u8 = 0x70;
export const OP_ADD: u8 = 0x71;
export const OP_ACCEPT: u8 = 0x72;
export const OP_DECLINE: u8 = 0x73;
export const OP_REMOVE: u8 = 0x74;
export const OP_BLOCK: u8 = 0x75;
export const OP_UNBLOCK: u8 = 0x76;

/** NOTIFY "what" codes. */
const NOTE_REQUEST: u8 = 1, NOTE_ACCEPTED: u8 = 2, NOTE_DECLINED: u8 = 3, NOTE_REMOVED: u8 = 4;

/** Index poll of every buddy (the safety net behind the pushes). */
export const POLL_US: i64 = 60_000_000;
/** Away after this long without a key press (Skype's default "away when inactive for 5 minutes"). */
export const AWAY_IDLE_US: i64 = 300_000_000;
const OP_TIMEOUT_US: i64 = 15_000_000;
/** After an offline push, the index is asked again this much later (multiple logins: another phone may be on). */
const VERIFY_US: i64 = 3_000_000;
/** Smallest gap between two syncs caused by BUDDY_NOTIFY messages. */
const NOTE_SYNC_US: i64 = 5_000_000;
const OP_RETRY_US: i64 = 10_000_000;
/** Entries kept (the server's bound: 90 own + 20 incoming). */
export const BUDDY_MAX: i32 = 110;
const OUTBOX_MAX: i32 = 16;
const RECORD_CAP: i32 = 4 + BUDDY_MAX * 34 + 4;
const SEARCHES_MAX: i32 = 256;

export class BuddyEntry {
  constructor(public name: string, public kind: u8) {}
  status: u8 = 0;
  /** Routing address `user/devid` of the buddy's phone as last found (search or push); "" = unknown. */
  addr: string = "";
  /** Search the index for this buddy at this time (after an offline push); NEVER = no. */
  verifyUs: i64 = NEVER;
  /** When `status` last changed (µs). */
  changedUs: i64 = 0;
}

export class BuddyState {
  entries: Array<BuddyEntry> = new Array<BuddyEntry>();
  outOps: Array<u8> = new Array<u8>();
  outNames: Array<string> = new Array<string>();
  inflight: bool = false;
  sentUs: i64 = 0;
  retryUs: i64 = 0;
  /** Noise_IK exchange with the login server (overlay/login.ts), sized for a full list answer. */
  seal: SealedExchange = new SealedExchange(PAYLOAD_MAX_BUDDY);
  wasOnline: bool = false;
  /** Our own presence as published: PRESENCE_ONLINE or PRESENCE_AWAY. */
  myStatus: u8 = 1;
  manualAway: bool = false;
  pollUs: i64 = NEVER;
  /** Outstanding index searches: txid → buddy name. */
  searches: Map<u32, string> = new Map<u32, string>();
  /** Buddies to tell our presence to once a search finds them online (after login or a list change). */
  announce: Array<string> = new Array<string>();
  /** Users to send a NOTIFY [what] to once a search finds them online. */
  noteNames: Array<string> = new Array<string>();
  noteWhat: Array<u8> = new Array<u8>();
  lastError: string = "";
  synced: bool = false;
  syncs: u32 = 0;
  pushesSent: u32 = 0;
  pushesReceived: u32 = 0;
  blockedCalls: u32 = 0;
  blockedIms: u32 = 0;
  blockedOther: u32 = 0;
  /** Last notification-driven sync, and a deferred one (µs). */
  noteSyncUs: i64 = -NOTE_SYNC_US;
  noteSyncDueUs: i64 = NEVER;
}

export const buddy = new BuddyState();
const rec = new PresenceRecord();
const flashBuf = new StaticArray<u8>(RECORD_CAP);
const OUTBOX_CAP: i32 = 5 + OUTBOX_MAX * 34 + 4;
const outboxBuf = new StaticArray<u8>(OUTBOX_CAP);

// ---- public API ------------------------------------------------------------------------------------------

/** True when `user` is on our block list (or a block is waiting in the outbox): drop their calls and IMs. */
export function buddyIsBlocked(user: string): bool {
  for (let i = buddy.outOps.length - 1; i >= 0; i--) {
    if (buddy.outNames[i] != user) continue;
    const op = buddy.outOps[i];
    if (op == OP_BLOCK) return true;
    if (op == OP_UNBLOCK || op == OP_ADD || op == OP_ACCEPT) return false;
  }
  const e = find(user);
  return e !== null && e.kind == BK_BLOCKED;
}

/** Counts a dropped call or IM from a blocked user (for `buddies` and stats). */
export function buddyCountBlocked(isCall: bool, user: string): void {
  if (isCall) buddy.blockedCalls++; else buddy.blockedIms++;
  event("buddy.blocked", "from=" + user + " what=" + (isCall ? "call" : "im"));
}

export function buddyFind(user: string): BuddyEntry | null { return find(user); }

/**
 * Queues a list operation (OP_ADD … OP_UNBLOCK) for `user`; it is sent now if online, else at the next login.
 * Block, unblock and remove take effect on the phone at once. Returns "" or why not ("bad name", "outbox full").
 */
export function buddyOp(op: u8, user: string, now: i64): string {
  if (op < OP_ADD || op > OP_UNBLOCK) return "bad op";
  if (user.length < 3 || user.length > USER_MAX || user == node.cfg.user) return "bad name";
  if (buddy.outOps.length >= OUTBOX_MAX) return "outbox full";
  buddy.outOps.push(op); buddy.outNames.push(user);
  const e = find(user);
  if (op == OP_REMOVE && e !== null) removeEntry(user);
  else if (op == OP_BLOCK) { if (e !== null) { e.kind = BK_BLOCKED; e.status = PRESENCE_OFFLINE; } else buddy.entries.push(new BuddyEntry(user, BK_BLOCKED)); }
  else if (op == OP_UNBLOCK && e !== null && e.kind == BK_BLOCKED) removeEntry(user);
  saveOutbox();
  event("buddy.op", "op=" + opName(op) + " user=" + user + " queued=" + buddy.outOps.length.toString());
  buddy.retryUs = 0;
  uiRefresh();
  return "";
}

/** Sets or clears the manual "away" state (UI key or console). */
export function buddySetAway(on: bool, now: i64): void {
  buddy.manualAway = on;
  saveOutbox();
  updateMyStatus(now);
}

export function buddyStatusText(s: u8): string {
  return s == PRESENCE_ONLINE ? "online" : s == PRESENCE_AWAY ? "away" : "offline";
}

export function opName(op: u8): string {
  if (op == OP_SYNC) return "sync";
  if (op == OP_ADD) return "add";
  if (op == OP_ACCEPT) return "accept";
  if (op == OP_DECLINE) return "decline";
  if (op == OP_REMOVE) return "remove";
  if (op == OP_BLOCK) return "block";
  if (op == OP_UNBLOCK) return "unblock";
  return "?";
}

/** Lines for the LCD list / console: `*name` online, `-name` away, ` name` offline, `?name` asks us, `~name` asked, `xname` blocked. */
export function buddyLines(): Array<string> {
  const out = new Array<string>();
  for (let k: u8 = 1; k <= 4; k++) {
    for (let i = 0; i < buddy.entries.length; i++) {
      const e = buddy.entries[i];
      const kind = e.kind == BK_RECEIVED ? 1 : e.kind == BK_BUDDY ? 2 : e.kind == BK_SENT ? 3 : 4;
      if (kind != k) continue;
      out.push(entryMark(e) + e.name);
    }
  }
  return out;
}

/** The entries in `buddyLines` order. */
export function buddyOrdered(): Array<BuddyEntry> {
  const out = new Array<BuddyEntry>();
  for (let k = 1; k <= 4; k++) {
    for (let i = 0; i < buddy.entries.length; i++) {
      const e = buddy.entries[i];
      const kind = e.kind == BK_RECEIVED ? 1 : e.kind == BK_BUDDY ? 2 : e.kind == BK_SENT ? 3 : 4;
      if (kind == k) out.push(e);
    }
  }
  return out;
}

function entryMark(e: BuddyEntry): string {
  if (e.kind == BK_RECEIVED) return "?";
  if (e.kind == BK_SENT) return "~";
  if (e.kind == BK_BLOCKED) return "x";
  return e.status == PRESENCE_ONLINE ? "*" : e.status == PRESENCE_AWAY ? "-" : " ";
}

// ---- lifecycle (main.ts) -----------------------------------------------------------------------------------

export function buddyStart(now: i64): void {
  if (node.cfg.user.length == 0) return;
  loadList();
  loadOutbox();
  event("buddy.loaded", "n=" + buddy.entries.length.toString() + " outbox=" + buddy.outOps.length.toString());
}

export function buddyDeadline(): i64 {
  if (node.cfg.user.length == 0) return NEVER;
  const on = clientOnline();
  if (on != buddy.wasOnline) return nowUs;
  if (!on) return NEVER;
  // A key press ends the idle "away" at once.
  if (buddy.myStatus == PRESENCE_AWAY && !buddy.manualAway && nowUs - ui.lastKeyUs < AWAY_IDLE_US) return nowUs;
  let d = min(buddy.pollUs, buddy.noteSyncDueUs);
  for (let i = 0; i < buddy.entries.length; i++) d = min(d, buddy.entries[i].verifyUs);
  if (buddy.inflight) d = min(d, buddy.sentUs + OP_TIMEOUT_US);
  else if (buddy.outOps.length > 0) d = min(d, buddy.retryUs);
  if (!buddy.manualAway && ui.lastKeyUs > 0 && buddy.myStatus == PRESENCE_ONLINE && call.state == 0) d = min(d, ui.lastKeyUs + AWAY_IDLE_US);
  return d;
}

export function buddyTick(now: i64): void {
  if (node.cfg.user.length == 0) return;
  const on = clientOnline();
  if (on && !buddy.wasOnline) onLogin(now);
  else if (!on && buddy.wasOnline) onLogout(now);
  buddy.wasOnline = on;
  if (!on) return;
  if (buddy.inflight && now - buddy.sentUs >= OP_TIMEOUT_US) {
    buddy.inflight = false; buddy.seal.wipe();
    buddy.retryUs = now + OP_RETRY_US;
    event("buddy.timeout", "op=" + (buddy.outOps.length > 0 ? opName(buddy.outOps[0]) : "?"));
  }
  if (!buddy.inflight && buddy.outOps.length > 0 && now >= buddy.retryUs) sendOp(now);
  if (now >= buddy.pollUs) poll(now);
  if (now >= buddy.noteSyncDueUs) queueSync(now);
  for (let i = 0; i < buddy.entries.length; i++) {
    const e = buddy.entries[i];
    if (now >= e.verifyUs) { e.verifyUs = NEVER; search(e.name); }
  }
  updateMyStatus(now);
}

function onLogin(now: i64): void {
  buddy.synced = false;
  buddy.inflight = false;
  buddy.retryUs = 0;
  buddy.searches.clear();
  // The server's list is the truth: a SYNC unless queued operations (each answered with the list) go first.
  if (buddy.outOps.length == 0) { buddy.outOps.push(OP_SYNC); buddy.outNames.push(""); }
  // Announce ourselves to every buddy the first poll finds online.
  buddy.announce.length = 0;
  for (let i = 0; i < buddy.entries.length; i++) if (buddy.entries[i].kind == BK_BUDDY) buddy.announce.push(buddy.entries[i].name);
  buddy.myStatus = PRESENCE_ONLINE;
  buddy.pollUs = now;
  sendWatch();
  updateMyStatus(now);
}

function onLogout(now: i64): void {
  buddy.inflight = false;
  buddy.pollUs = NEVER;
  buddy.searches.clear();
  // While we are offline we know nothing of our buddies' presence.
  for (let i = 0; i < buddy.entries.length; i++) buddy.entries[i].status = PRESENCE_OFFLINE;
  if (buddy.outOps.length > 0 && buddy.outOps[0] == OP_SYNC) { buddy.outOps.shift(); buddy.outNames.shift(); }
  uiRefresh();
}

// ---- operations at the login server -------------------------------------------------------------------------

function sendOp(now: i64): void {
  const sn = client.sn;
  if (sn === null || !node.cfg.hasServerKey) { buddy.retryUs = now + OP_RETRY_US; return; }
  const w = txBegin(MSG_BUDDY_OP);
  if (!buddy.seal.seal(w, node.prngBuddy, node.cfg.serverKey, buddy.outOps[0], node.cfg.user, node.cfg.password, 0, buddy.outNames[0])) {
    stats.txOverflow++; buddy.retryUs = now + OP_RETRY_US; return;
  }
  connSend(sn);
  buddy.inflight = true;
  buddy.sentUs = now;
}

/** MSG_BUDDY_RESP [sealed answer] from our SN (overlay/client.ts). */
export function buddyOnResp(r: ByteReader, now: i64): void {
  if (!buddy.inflight || buddy.outOps.length == 0) { stats.unexpected++; return; }
  const n = r.remaining();
  const st = buddy.seal.open(r.take(n), n);
  buddy.seal.wipe();
  buddy.inflight = false;
  const op = buddy.outOps[0]; const target = buddy.outNames[0];
  if (st == 5 || st == 6 || st == 255) { // rate limited, server error, unreadable: try again later
    buddy.retryUs = now + OP_RETRY_US;
    event("buddy.retry", "op=" + opName(op) + " status=" + st.toString());
    return;
  }
  buddy.outOps.shift(); buddy.outNames.shift();
  saveOutbox();
  if (st != 0) {
    buddy.lastError = st == 4 ? "no such user" : st == 2 ? "login refused" : st == 7 ? "list full" : st == 8 ? "server busy, try later" : "refused";
    event("buddy.error", "op=" + opName(op) + " user=" + target + " status=" + st.toString());
    uiMessage("Buddy " + opName(op) + ": " + buddy.lastError);
    return;
  }
  if (!applyList(now)) { stats.malformed++; return; }
  if (op == OP_SYNC) buddy.syncs++;
  buddy.synced = true;
  saveList();
  event("buddy.list", "op=" + opName(op) + " " + countsText());
  const what: u8 = op == OP_ADD ? NOTE_REQUEST : op == OP_ACCEPT ? NOTE_ACCEPTED : op == OP_DECLINE ? NOTE_DECLINED : op == OP_REMOVE ? NOTE_REMOVED : 0;
  if (what != 0) { buddy.noteNames.push(target); buddy.noteWhat.push(what); search(target); }
  if (op != OP_SYNC) sendWatch();
  uiRefresh();
}

/** Replaces the entries with the answer's list [status][n u16][(kind u8, name str8) × n], keeping known presence. */
function applyList(now: i64): bool {
  const r = new ByteReader().reset(changetype<usize>(buddy.seal.resp) + 1, buddy.seal.respLen - 1);
  const n = <i32>r.u16();
  if (!r.ok || n > BUDDY_MAX) return false;
  const next = new Array<BuddyEntry>();
  for (let i = 0; i < n; i++) {
    const kind = <u8>r.u8(); const name = r.str8(USER_MAX);
    if (!r.ok || kind < BK_BUDDY || kind > BK_BLOCKED || name.length == 0) return false;
    const e = new BuddyEntry(name, kind);
    const old = find(name);
    if (old !== null) {
      if (old.kind == BK_BUDDY && kind == BK_BUDDY) { e.status = old.status; e.changedUs = old.changedUs; }
      if (kind == BK_RECEIVED && old.kind != BK_RECEIVED) event("buddy.request", "from=" + name);
      if (kind == BK_BUDDY && old.kind != BK_BUDDY) { event("buddy.added", "user=" + name); buddy.announce.push(name); search(name); }
    } else {
      if (kind == BK_RECEIVED) { event("buddy.request", "from=" + name); uiMessage("Buddy request: " + name); }
      if (kind == BK_BUDDY) { event("buddy.added", "user=" + name); buddy.announce.push(name); search(name); }
    }
    next.push(e);
  }
  if (r.remaining() != 0) return false;
  buddy.entries = next;
  return true;
}

function countsText(): string {
  let b = 0, s = 0, rcv = 0, x = 0;
  for (let i = 0; i < buddy.entries.length; i++) {
    const k = buddy.entries[i].kind;
    if (k == BK_BUDDY) b++; else if (k == BK_SENT) s++; else if (k == BK_RECEIVED) rcv++; else x++;
  }
  return "buddies=" + b.toString() + " sent=" + s.toString() + " received=" + rcv.toString() + " blocked=" + x.toString();
}

// ---- presence ------------------------------------------------------------------------------------------------

/** Our status from the manual flag and the idle timer; on a change: PUBLISH it and push it to online buddies. */
function updateMyStatus(now: i64): void {
  if (!clientOnline()) return;
  const idle = ui.lastKeyUs > 0 && now - ui.lastKeyUs >= AWAY_IDLE_US && call.state == 0;
  const want: u8 = buddy.manualAway || idle ? PRESENCE_AWAY : PRESENCE_ONLINE;
  if (want == buddy.myStatus) return;
  buddy.myStatus = want;
  event("presence.self", "status=" + buddyStatusText(want) + " idle=" + (idle ? "1" : "0"));
  const sn = client.sn;
  if (sn !== null) { txBegin(MSG_PUBLISH).str8(node.cfg.user).u8(want).u32(deviceId()); connSend(sn); }
  for (let i = 0; i < buddy.entries.length; i++) {
    const e = buddy.entries[i];
    if (e.kind == BK_BUDDY && e.status != PRESENCE_OFFLINE) pushPresence(e);
  }
  uiRefresh();
}

function pushPresence(e: BuddyEntry): void {
  const sn = client.sn;
  if (sn === null || e.addr.length == 0) return;
  txBegin(MSG_ROUTE).str8(e.addr).str8(myAddr()).u8(MSG_BUDDY_PRESENCE).u8(buddy.myStatus);
  connSend(sn);
  buddy.pushesSent++;
}

/** Tells our SN which buddies to notify when our connection ends (MSG_BUDDY_WATCH). */
function sendWatch(): void {
  const sn = client.sn;
  if (sn === null || !clientOnline()) return;
  const w = txBegin(MSG_BUDDY_WATCH);
  let n = 0;
  for (let i = 0; i < buddy.entries.length; i++) if (buddy.entries[i].kind == BK_BUDDY && buddy.entries[i].addr.length > 0) n++;
  w.u8(<u32>min(n, 100));
  let k = 0;
  for (let i = 0; i < buddy.entries.length && k < 100; i++) {
    const e = buddy.entries[i];
    if (e.kind == BK_BUDDY && e.addr.length > 0) { w.str8(e.addr); k++; }
  }
  connSend(sn);
}

function poll(now: i64): void {
  buddy.pollUs = now + POLL_US;
  for (let i = 0; i < buddy.entries.length; i++) if (buddy.entries[i].kind == BK_BUDDY) search(buddy.entries[i].name);
}

function search(name: string): void {
  const sn = client.sn;
  if (sn === null || !clientOnline() || buddy.searches.size >= SEARCHES_MAX) return;
  const txid = node.prngBuddy.next(); // random like the call's search txid: a clash is a 2^-32 event
  buddy.searches.set(txid, name);
  txBegin(MSG_SEARCH).u32(txid).str8(name);
  connSend(sn);
}

/**
 * SEARCH_RESP hook (overlay/client.ts): returns false, with the reader untouched, when the txid is not one of
 * our searches. [txid u32][found u8][record] or [txid][0][reason u8][record if offline and seen].
 */
export function buddyOnSearchResult(r: ByteReader, now: i64): bool {
  const save = r.pos;
  const txid = r.u32();
  if (!r.ok || !buddy.searches.has(txid)) { r.pos = save; r.ok = true; return false; }
  const name = buddy.searches.get(txid);
  buddy.searches.delete(txid);
  const found = r.u8();
  if (!r.ok) { stats.malformed++; return true; }
  let status = PRESENCE_OFFLINE;
  if (found == 1) {
    if (!rec.read(r) || rec.user != name) { stats.malformed++; return true; }
    status = rec.status == PRESENCE_AWAY ? PRESENCE_AWAY : PRESENCE_ONLINE;
  }
  const e = find(name);
  if (e !== null && e.kind == BK_BUDDY) {
    if (status != PRESENCE_OFFLINE && e.addr != rec.addr()) { e.addr = rec.addr(); sendWatch(); }
    setStatus(e, status, now, "poll");
  }
  if (status != PRESENCE_OFFLINE) {
    const a = buddy.announce.indexOf(name);
    if (a >= 0) { buddy.announce.splice(a, 1); if (e !== null && e.kind == BK_BUDDY) pushPresence(e); }
    for (let i = buddy.noteNames.length - 1; i >= 0; i--) {
      if (buddy.noteNames[i] != name) continue;
      sendNote(rec.addr(), buddy.noteWhat[i]);
      buddy.noteNames.splice(i, 1); buddy.noteWhat.splice(i, 1);
    }
  } else {
    // Offline: the server delivers the news at their next login.
    for (let i = buddy.noteNames.length - 1; i >= 0; i--) if (buddy.noteNames[i] == name) { buddy.noteNames.splice(i, 1); buddy.noteWhat.splice(i, 1); }
  }
  return true;
}

function sendNote(to: string, what: u8): void {
  const sn = client.sn;
  if (sn === null) return;
  txBegin(MSG_ROUTE).str8(to).str8(myAddr()).u8(MSG_BUDDY_NOTIFY).u8(what);
  connSend(sn);
  event("buddy.notify.sent", "to=" + to + " what=" + what.toString());
}

function setStatus(e: BuddyEntry, status: u8, now: i64, via: string): void {
  if (e.status == status) return;
  e.status = status;
  e.changedUs = now;
  event("buddy.presence", "user=" + e.name + " status=" + buddyStatusText(status) + " via=" + via);
  uiRefresh();
}

/** ROUTE'd buddy messages (inner type 0x72 PRESENCE, 0x73 NOTIFY) from routing address `fromAddr` (overlay/client.ts). */
export function buddyOnRouted(fromAddr: string, type: u8, r: ByteReader, now: i64): void {
  const from = addrUser(fromAddr);
  const v = <u8>r.u8();
  if (!r.ok) { stats.malformed++; return; }
  if (buddyIsBlocked(from)) { buddy.blockedOther++; return; }
  if (type == MSG_BUDDY_PRESENCE) {
    if (v > PRESENCE_AWAY) { stats.malformed++; return; }
    buddy.pushesReceived++;
    const e = find(from);
    if (e === null || e.kind != BK_BUDDY) { stats.unexpected++; return; }
    if (v == PRESENCE_OFFLINE) {
      // Pushed by the buddy's supernode when one phone of theirs left. Another may still be online (multiple
      // logins): the index is asked again once the supernode's offline record has reached it.
      e.verifyUs = now + VERIFY_US;
      setStatus(e, v, now, "push");
      return;
    }
    if (e.addr != fromAddr) { e.addr = fromAddr; sendWatch(); }
    setStatus(e, v, now, "push");
  } else if (type == MSG_BUDDY_NOTIFY) {
    event("buddy.notify", "from=" + from + " what=" + v.toString());
    // At most one notification-driven sync per NOTE_SYNC_US: a flood of NOTIFYs costs one server request.
    if (now - buddy.noteSyncUs >= NOTE_SYNC_US) queueSync(now);
    else buddy.noteSyncDueUs = buddy.noteSyncUs + NOTE_SYNC_US;
  } else stats.unexpected++;
}

function queueSync(now: i64): void {
  buddy.noteSyncUs = now;
  buddy.noteSyncDueUs = NEVER;
  for (let i = 0; i < buddy.outOps.length; i++) if (buddy.outOps[i] == OP_SYNC) return;
  buddy.outOps.push(OP_SYNC); buddy.outNames.push("");
}

// ---- flash ---------------------------------------------------------------------------------------------------

function find(user: string): BuddyEntry | null {
  for (let i = 0; i < buddy.entries.length; i++) if (buddy.entries[i].name == user) return buddy.entries[i];
  return null;
}

function removeEntry(user: string): void {
  for (let i = 0; i < buddy.entries.length; i++) if (buddy.entries[i].name == user) { buddy.entries.splice(i, 1); return; }
}

/** FNV-1a 32: detects a torn or corrupted record (not a security measure). */
function fnv1a(p: usize, n: i32): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i = 0; i < n; i++) { h ^= <u32>load<u8>(p + <usize>i); h *= 0x01000193; }
  return h;
}

/** Key 15: ["BL"][version 1][n u8][(kind u8, name str8) × n][FNV-1a 32]. */
function saveList(): void {
  const p = changetype<usize>(flashBuf);
  const w = new ByteWriter().reset(p, RECORD_CAP);
  w.u8(0x42).u8(0x4C).u8(1).u8(<u32>min(buddy.entries.length, BUDDY_MAX));
  for (let i = 0; i < buddy.entries.length && i < BUDDY_MAX; i++) w.u8(buddy.entries[i].kind).str8(buddy.entries[i].name);
  w.u32(fnv1a(p, w.pos));
  if (w.ok) storageWrite(KEY_BUDDIES, p, w.pos);
}

export function loadList(): void {
  buddy.entries.length = 0;
  const p = changetype<usize>(flashBuf);
  const len = storageRead(KEY_BUDDIES, p, RECORD_CAP);
  if (len < 8 || len > RECORD_CAP) return;
  const r = new ByteReader().reset(p, len - 4);
  const tail = new ByteReader().reset(p + <usize>(len - 4), 4);
  if (tail.u32() != fnv1a(p, len - 4) || r.u8() != 0x42 || r.u8() != 0x4C || r.u8() != 1) { event("buddy.corrupt", "key=15"); return; }
  const n = <i32>r.u8();
  const list = new Array<BuddyEntry>();
  for (let i = 0; i < n; i++) {
    const kind = <u8>r.u8(); const name = r.str8(USER_MAX);
    if (!r.ok || kind < BK_BUDDY || kind > BK_BLOCKED || name.length == 0) { event("buddy.corrupt", "key=15"); return; }
    list.push(new BuddyEntry(name, kind));
  }
  buddy.entries = list;
}

/** Key 16: ["BO"][version 1][flags u8 (1 = away)][n u8][(op u8, name str8) × n][FNV-1a 32]; SYNC is not kept. */
function saveOutbox(): void {
  const p = changetype<usize>(outboxBuf);
  const w = new ByteWriter().reset(p, OUTBOX_CAP);
  let n = 0;
  for (let i = 0; i < buddy.outOps.length; i++) if (buddy.outOps[i] != OP_SYNC) n++;
  w.u8(0x42).u8(0x4F).u8(1).u8(buddy.manualAway ? 1 : 0).u8(<u32>n);
  for (let i = 0; i < buddy.outOps.length; i++) if (buddy.outOps[i] != OP_SYNC) w.u8(buddy.outOps[i]).str8(buddy.outNames[i]);
  w.u32(fnv1a(p, w.pos));
  if (w.ok) storageWrite(KEY_BUDDY_OUTBOX, p, w.pos);
}

export function loadOutbox(): void {
  buddy.outOps.length = 0; buddy.outNames.length = 0;
  const p = changetype<usize>(outboxBuf);
  const len = storageRead(KEY_BUDDY_OUTBOX, p, OUTBOX_CAP);
  if (len < 9 || len > OUTBOX_CAP) return;
  const tail = new ByteReader().reset(p + <usize>(len - 4), 4);
  const r = new ByteReader().reset(p, len - 4);
  if (tail.u32() != fnv1a(p, len - 4) || r.u8() != 0x42 || r.u8() != 0x4F || r.u8() != 1) { event("buddy.corrupt", "key=16"); return; }
  buddy.manualAway = (r.u8() & 1) != 0;
  const n = <i32>r.u8();
  for (let i = 0; i < n && i < OUTBOX_MAX; i++) {
    const op = <u8>r.u8(); const name = r.str8(USER_MAX);
    if (!r.ok || op < OP_ADD || op > OP_UNBLOCK) { event("buddy.corrupt", "key=16"); buddy.outOps.length = 0; buddy.outNames.length = 0; return; }
    buddy.outOps.push(op); buddy.outNames.push(name);
  }
}
