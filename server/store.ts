/**
 * User directory persisted in SQLite (better-sqlite3, synchronous).
 *
 * Passwords are stored only as scrypt(password, salt) with a per-user random 16-byte salt and a
 * 32-byte output; the plaintext is never stored or logged (this module logs nothing at all).
 * Registration races are settled by the UNIQUE constraint on `username`.
 */
import Database from 'better-sqlite3';
import { randomBytes as nodeRandomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export const SCRYPT_N_DEFAULT = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SALT_LEN = 16;
export const HASH_LEN = 32;

export interface UserStoreOptions {
  /** scrypt cost parameter N (power of two). Default 16384; lower it in tests only. */
  scryptN?: number;
  /** Source of salts. Default node:crypto randomBytes. */
  randomBytes?: (n: number) => Uint8Array;
  /** Clock for `created_at` (ms since epoch). Default Date.now. */
  nowMs?: () => number;
}

export type RegisterResult = { status: 'ok'; userId: number } | { status: 'exists' };

export interface UserRecord {
  id: number;
  username: string;
}

interface UserRow {
  id: number;
  username: string;
  salt: Buffer;
  hash: Buffer;
}

function toBytes(pw: Uint8Array | string): Uint8Array {
  return typeof pw === 'string' ? new TextEncoder().encode(pw) : pw;
}

function isConstraintError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

export class UserStore {
  readonly scryptN: number;
  private readonly db: Database.Database;
  private readonly rand: (n: number) => Uint8Array;
  private readonly now: () => number;
  private readonly dummySalt: Uint8Array;
  private readonly dummyHash: Uint8Array;
  private readonly stmtInsert: Database.Statement;
  private readonly stmtByName: Database.Statement;
  private readonly stmtExists: Database.Statement;
  private readonly stmtCount: Database.Statement;

  /** `path` is a database file (created if missing, WAL mode) or ':memory:'. */
  constructor(path: string, opts: UserStoreOptions = {}) {
    const n = opts.scryptN ?? SCRYPT_N_DEFAULT;
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) {
      throw new RangeError('scryptN must be a power of two >= 2');
    }
    this.scryptN = n;
    this.rand = opts.randomBytes ?? ((k) => nodeRandomBytes(k));
    this.now = opts.nowMs ?? Date.now;

    this.db = new Database(path);
    try {
      if (path !== ':memory:' && path !== '') this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS users (
          id INTEGER PRIMARY KEY,
          username TEXT NOT NULL UNIQUE,
          salt BLOB NOT NULL,
          hash BLOB NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
      `);
      // Hashes are only comparable under the cost they were made with; refuse a mismatched store
      // instead of silently failing every login.
      this.db.prepare(`INSERT OR IGNORE INTO meta(key, value) VALUES ('scrypt_n', ?)`).run(String(n));
      const stored = (this.db.prepare(`SELECT value FROM meta WHERE key = 'scrypt_n'`).get() as { value: string })
        .value;
      if (stored !== String(n)) {
        throw new Error(`database ${path} uses scrypt N=${stored}, but N=${n} was requested`);
      }
      this.stmtInsert = this.db.prepare(
        'INSERT INTO users(username, salt, hash, created_at) VALUES (?, ?, ?, ?)',
      );
      this.stmtByName = this.db.prepare('SELECT id, username, salt, hash FROM users WHERE username = ?');
      this.stmtExists = this.db.prepare('SELECT 1 FROM users WHERE username = ?').pluck();
      this.stmtCount = this.db.prepare('SELECT COUNT(*) FROM users').pluck();
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.dummySalt = this.salt();
    // Compared against for unknown users; never equal to a real scrypt output in practice.
    this.dummyHash = new Uint8Array(nodeRandomBytes(HASH_LEN));
  }

  private salt(): Uint8Array {
    const s = this.rand(SALT_LEN);
    if (!(s instanceof Uint8Array) || s.length !== SALT_LEN) throw new Error('randomBytes returned wrong length');
    return s;
  }

  /** scrypt evaluations so far (tests; the simulator charges virtual time per hash). */
  kdfCount = 0;

  private kdf(password: Uint8Array, salt: Uint8Array): Buffer {
    this.kdfCount++;
    return scryptSync(password, salt, HASH_LEN, {
      N: this.scryptN,
      r: SCRYPT_R,
      p: SCRYPT_P,
      maxmem: 256 * this.scryptN * SCRYPT_R + 1024 * 1024,
    });
  }

  /**
   * Creates a user. The caller validates username/password rules. Returns `exists` if the name is
   * taken, including when a concurrent writer wins the race (UNIQUE constraint).
   */
  register(username: string, password: Uint8Array | string): RegisterResult {
    if (this.stmtExists.get(username) !== undefined) return { status: 'exists' };
    const salt = this.salt();
    const hash = this.kdf(toBytes(password), salt);
    try {
      const info = this.stmtInsert.run(username, Buffer.from(salt), hash, this.now());
      return { status: 'ok', userId: Number(info.lastInsertRowid) };
    } catch (e) {
      if (isConstraintError(e)) return { status: 'exists' };
      throw e;
    }
  }

  /**
   * Checks a password. Returns the user on success, null for an unknown user or a wrong password.
   * An unknown user still costs one scrypt evaluation and one constant-time compare, so both
   * failure cases take the same time.
   */
  verify(username: string, password: Uint8Array | string): UserRecord | null {
    const row = this.stmtByName.get(username) as UserRow | undefined;
    const pw = toBytes(password);
    const salt = row ? row.salt : this.dummySalt;
    const expected: Uint8Array = row ? row.hash : this.dummyHash;
    const got = this.kdf(pw, salt);
    // A stored hash of the wrong length (corrupt row) still gets a compare, then fails.
    const same = timingSafeEqual(got, expected.length === got.length ? expected : this.dummyHash) && expected.length === got.length;
    if (!row || !same) return null;
    return { id: row.id, username: row.username };
  }

  /** The open database, for tables kept next to the users' (server/buddies.ts). */
  database(): Database.Database {
    return this.db;
  }

  /**
   * Up to `limit` usernames starting with `prefix`, in byte order (issue #5 prefix search): a range scan on
   * the UNIQUE index. Usernames are `[a-z0-9._-]`, so every match sorts below `prefix + "\x7f"`.
   */
  prefix(prefix: string, limit: number): string[] {
    this.stmtPrefix ??= this.db.prepare('SELECT username FROM users WHERE username >= ? AND username < ? ORDER BY username LIMIT ?').pluck();
    return this.stmtPrefix.all(prefix, prefix + '\x7f', Math.max(0, Math.floor(limit))) as string[];
  }
  private stmtPrefix: Database.Statement | undefined;

  exists(username: string): boolean {
    return this.stmtExists.get(username) !== undefined;
  }

  count(): number {
    return Number(this.stmtCount.get());
  }

  /** Closes the database (checkpoints the WAL). Idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
