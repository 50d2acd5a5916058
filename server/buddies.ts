/**
 * Buddy lists and block lists on the login server (issue #8; as Skype since 1.2: skype-facts.md §Parts).
 *
 * Requests arrive inside the same sealed request as LOGIN (docs/protocol.md §Buddy list), so a supernode
 * cannot read or forge them. Plaintext: `[op u8][user str8][password str8][target str8]` (target empty for
 * SYNC). Every OK answer carries the caller's whole list, so the phone replaces its flash copy with it:
 *   `[status u8 = 0][n u16][(kind u8, name str8) × n]`   kinds: 1 buddy, 2 request sent, 3 request received,
 *   4 blocked. Other statuses are the one byte of server/protocol.ts `Status`.
 *
 * Authentication: the password, checked with scrypt (UserStore.verify) — unless the same user logged in
 * with the same password within `credentialTtlMs`: LOGIN calls `noteLogin`, which keeps an HMAC of the
 * password under a per-process random key, so the sync that follows every login costs no second scrypt.
 *
 * Rules: a request needs the other user's acceptance (a request to someone who asked us first makes both
 * buddies at once); blocking removes the buddy relation and hides the blocked user's requests; a blocked
 * user is not told (their request stays "sent"). At most MAX_OWN rows per user and MAX_INCOMING shown
 * incoming requests, so an answer fits one 4096-byte frame (names ≤ 32 bytes: 110 × 34 + 3 bytes).
 */
import type Database from 'better-sqlite3';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Status, isValidUsername } from './protocol.ts';
import type { UserStore } from './store.ts';

/** Buddy operations (first plaintext byte), in the 0x70–0x7F range reserved for issue #8's buddy list. */
export const BuddyOp = {
  SYNC: 0x70,
  ADD: 0x71,
  ACCEPT: 0x72,
  DECLINE: 0x73,
  REMOVE: 0x74,
  BLOCK: 0x75,
  UNBLOCK: 0x76,
} as const;

export const KIND_BUDDY = 1;
export const KIND_SENT = 2;
export const KIND_RECEIVED = 3;
export const KIND_BLOCKED = 4;

/** Rows a user may own (buddies + requests sent + blocked). */
export const MAX_OWN = 90;
/** Incoming requests listed (newest first). */
export const MAX_INCOMING = 20;
/** Status byte: the user's list is full. */
export const STATUS_FULL = 7;

export function isBuddyOp(op: number): boolean {
  return op >= BuddyOp.SYNC && op <= BuddyOp.UNBLOCK;
}

export interface BuddyRequest {
  op: number;
  username: string;
  password: Uint8Array;
  target: string;
}

/** Parses a buddy-op plaintext; null when the structure is wrong (truncated, trailing bytes, unknown op). */
export function parseBuddyRequest(pt: Uint8Array): BuddyRequest | null {
  if (pt.length < 1 || !isBuddyOp(pt[0])) return null;
  let off = 1;
  const fields: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    if (off >= pt.length) return null;
    const n = pt[off++];
    if (off + n > pt.length) return null;
    fields.push(pt.subarray(off, off + n));
    off += n;
  }
  if (off !== pt.length) return null;
  const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
  return { op: pt[0], username: latin1(fields[0]), password: Uint8Array.from(fields[1]), target: latin1(fields[2]) };
}

/** Builds a buddy-op plaintext (client side: tests, tools). */
export function encodeBuddyRequest(op: number, username: string, password: string, target = ''): Uint8Array {
  const parts = [username, password, target].map((s) => new TextEncoder().encode(s));
  const out = new Uint8Array(1 + parts.reduce((a, p) => a + 1 + p.length, 0));
  out[0] = op;
  let off = 1;
  for (const p of parts) { out[off++] = p.length; out.set(p, off); off += p.length; }
  return out;
}

export interface BuddyEntry { kind: number; name: string }

/** Decodes an answer plaintext: `{status, entries}` (entries only with status OK). Throws on a bad layout. */
export function decodeBuddyResponse(pt: Uint8Array): { status: number; entries: BuddyEntry[] } {
  if (pt.length < 1) throw new Error('empty buddy response');
  if (pt[0] !== Status.OK) return { status: pt[0], entries: [] };
  if (pt.length < 3) throw new Error('truncated buddy list');
  const n = (pt[1] << 8) | pt[2];
  const entries: BuddyEntry[] = [];
  let off = 3;
  for (let i = 0; i < n; i++) {
    if (off + 2 > pt.length) throw new Error('truncated buddy entry');
    const kind = pt[off];
    const len = pt[off + 1];
    if (off + 2 + len > pt.length) throw new Error('truncated buddy name');
    entries.push({ kind, name: String.fromCharCode(...pt.subarray(off + 2, off + 2 + len)) });
    off += 2 + len;
  }
  if (off !== pt.length) throw new Error('bytes after buddy list');
  return { status: Status.OK, entries };
}

export interface BuddyStats {
  requests: number;
  /** Buddy requests whose password needed a scrypt evaluation (no recent LOGIN with it). */
  hashes: number;
  authFailures: number;
}

/** Buddy/block tables in the user database, and the operations on them. */
export class BuddyBook {
  readonly stats: BuddyStats = { requests: 0, hashes: 0, authFailures: 0 };
  private readonly db: Database.Database;
  private readonly credKey = randomBytes(32);
  private readonly creds = new Map<string, { mac: Buffer; atMs: number }>();

  constructor(
    private readonly store: UserStore,
    private readonly now: () => number = Date.now,
    readonly credentialTtlMs = 10 * 60_000,
  ) {
    this.db = store.database();
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS contacts (
        owner TEXT NOT NULL,
        peer TEXT NOT NULL,
        kind INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (owner, peer)
      );
      CREATE INDEX IF NOT EXISTS contacts_peer ON contacts(peer, kind);
    `);
  }

  /** LOGIN succeeded with this password: remember it (keyed HMAC, in memory only) for the next buddy ops. */
  noteLogin(username: string, password: Uint8Array): void {
    this.creds.set(username, { mac: this.mac(password), atMs: this.now() });
    if (this.creds.size > 100_000) this.creds.delete(this.creds.keys().next().value as string);
  }

  private mac(password: Uint8Array): Buffer {
    return createHmac('sha256', this.credKey).update(password).digest();
  }

  /** Whether a request of `user` with `password` would run the password hash (not vouched for by a recent login). */
  needsHash(user: string, password: Uint8Array): boolean {
    const c = this.creds.get(user);
    return !(c && this.now() - c.atMs <= this.credentialTtlMs && timingSafeEqual(c.mac, this.mac(password)));
  }

  private authenticate(user: string, password: Uint8Array): boolean {
    if (!this.needsHash(user, password)) return true;
    this.stats.hashes++;
    const ok = this.store.verify(user, password) !== null;
    if (ok) this.noteLogin(user, password);
    return ok;
  }

  /** Handles a parsed buddy request → response plaintext. Throws only on database trouble. */
  handle(req: BuddyRequest): Uint8Array {
    this.stats.requests++;
    const me = req.username;
    if (!isValidUsername(me)) return Uint8Array.of(Status.INVALID_INPUT);
    if (!this.authenticate(me, req.password)) { this.stats.authFailures++; return Uint8Array.of(Status.BAD_CREDENTIALS); }
    const t = req.target;
    if (req.op !== BuddyOp.SYNC) {
      if (!isValidUsername(t) || t === me) return Uint8Array.of(Status.INVALID_INPUT);
      if (!this.store.exists(t)) return Uint8Array.of(Status.NOT_FOUND);
    }
    const st = this.db.transaction(() => this.apply(req.op, me, t))();
    if (st !== Status.OK) return Uint8Array.of(st);
    return this.encodeList(me);
  }

  private kind(owner: string, peer: string): number {
    const row = this.db.prepare('SELECT kind FROM contacts WHERE owner = ? AND peer = ?').get(owner, peer) as { kind: number } | undefined;
    return row ? row.kind : 0;
  }

  private set(owner: string, peer: string, kind: number): void {
    this.db.prepare('INSERT OR REPLACE INTO contacts(owner, peer, kind, created_at) VALUES (?, ?, ?, ?)').run(owner, peer, kind, this.now());
  }

  private del(owner: string, peer: string, kinds: number[]): void {
    this.db.prepare(`DELETE FROM contacts WHERE owner = ? AND peer = ? AND kind IN (${kinds.join(',')})`).run(owner, peer);
  }

  private ownCount(owner: string): number {
    return Number(this.db.prepare('SELECT COUNT(*) FROM contacts WHERE owner = ?').pluck().get(owner));
  }

  private apply(op: number, me: string, t: string): number {
    const mine = this.kind(me, t);
    const theirs = this.kind(t, me);
    const room = mine !== 0 || this.ownCount(me) < MAX_OWN;
    switch (op) {
      case BuddyOp.SYNC:
        return Status.OK;
      case BuddyOp.ADD:
        if (mine === KIND_BUDDY) return Status.OK;
        if (!room) return STATUS_FULL;
        if (theirs === KIND_SENT) { this.set(me, t, KIND_BUDDY); this.set(t, me, KIND_BUDDY); return Status.OK; }
        if (theirs === KIND_BUDDY) { this.set(me, t, KIND_BUDDY); return Status.OK; }
        this.set(me, t, KIND_SENT); // also replaces a block: asking someone unblocks them
        return Status.OK;
      case BuddyOp.ACCEPT:
        if (theirs !== KIND_SENT || mine === KIND_BLOCKED) return Status.NOT_FOUND;
        if (!room) return STATUS_FULL;
        this.set(me, t, KIND_BUDDY); this.set(t, me, KIND_BUDDY);
        return Status.OK;
      case BuddyOp.DECLINE:
        this.del(t, me, [KIND_SENT]);
        return Status.OK;
      case BuddyOp.REMOVE:
        this.del(me, t, [KIND_BUDDY, KIND_SENT]);
        this.del(t, me, [KIND_BUDDY]);
        return Status.OK;
      case BuddyOp.BLOCK:
        if (!room) return STATUS_FULL;
        this.set(me, t, KIND_BLOCKED);
        this.del(t, me, [KIND_BUDDY]);
        return Status.OK;
      case BuddyOp.UNBLOCK:
        this.del(me, t, [KIND_BLOCKED]);
        return Status.OK;
    }
    return Status.INVALID_INPUT;
  }

  /** The user's entries (own rows by name, then up to MAX_INCOMING requests from users not blocked). */
  list(me: string): BuddyEntry[] {
    const own = this.db.prepare('SELECT peer AS name, kind FROM contacts WHERE owner = ? ORDER BY peer LIMIT ?').all(me, MAX_OWN) as BuddyEntry[];
    const incoming = this.db.prepare(`
      SELECT c.owner AS name FROM contacts c
      WHERE c.peer = ? AND c.kind = ${KIND_SENT}
        AND NOT EXISTS (SELECT 1 FROM contacts m WHERE m.owner = c.peer AND m.peer = c.owner)
      ORDER BY c.created_at DESC, c.owner LIMIT ?`).all(me, MAX_INCOMING) as { name: string }[];
    return [...own.map((e) => ({ kind: e.kind, name: e.name })), ...incoming.map((e) => ({ kind: KIND_RECEIVED, name: e.name }))];
  }

  private encodeList(me: string): Uint8Array {
    const entries = this.list(me);
    const bytes = entries.map((e) => Buffer.from(e.name, 'latin1'));
    const out = new Uint8Array(3 + bytes.reduce((a, b) => a + 2 + b.length, 0));
    out[0] = Status.OK;
    out[1] = entries.length >>> 8;
    out[2] = entries.length & 0xff;
    let off = 3;
    entries.forEach((e, i) => { out[off] = e.kind; out[off + 1] = bytes[i].length; out.set(bytes[i], off + 2); off += 2 + bytes[i].length; });
    return out;
  }
}
