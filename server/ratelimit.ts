/**
 * Failure-count limiter with exponential backoff, driven entirely by a caller-supplied clock
 * (the simulator runs on virtual time, so nothing here reads Date.now or sets timers).
 *
 * Per key: when `maxFailures` failures fall within `windowMs`, the key is locked for
 * `baseBackoffMs * 2^(strikes-1)` (capped at `maxBackoffMs`), where `strikes` counts lockouts.
 * The failure count restarts at each lockout; strikes are forgotten after `forgetAfterMs` of quiet
 * (measured from the later of the last failure and the end of the last lock) or on `reset`.
 */

export interface FailureLimitOptions {
  maxFailures: number;
  windowMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  forgetAfterMs: number;
  /** Soft cap on tracked keys; idle entries are dropped first when it is exceeded. */
  maxEntries: number;
}

export const DEFAULT_FAILURE_LIMIT: FailureLimitOptions = {
  maxFailures: 5,
  windowMs: 60_000,
  baseBackoffMs: 30_000,
  maxBackoffMs: 15 * 60_000,
  forgetAfterMs: 30 * 60_000,
  maxEntries: 100_000,
};

interface Entry {
  /** Timestamps of failures since the last lockout (pruned to the window). */
  fails: number[];
  lockedUntil: number;
  strikes: number;
  last: number;
}

export class FailureLimiter {
  readonly opts: FailureLimitOptions;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: Partial<FailureLimitOptions> = {}) {
    this.opts = { ...DEFAULT_FAILURE_LIMIT, ...opts };
    if (this.opts.maxFailures < 1) throw new RangeError('maxFailures must be >= 1');
  }

  get size(): number {
    return this.entries.size;
  }

  private stale(e: Entry, now: number): boolean {
    return now - Math.max(e.last, e.lockedUntil) >= this.opts.forgetAfterMs;
  }

  /** Milliseconds until `key` may try again; 0 when not locked. */
  retryAfterMs(key: string, now: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    if (this.stale(e, now)) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, e.lockedUntil - now);
  }

  /** Records a failure; returns the lock duration if this failure started a lockout, else 0. */
  recordFailure(key: string, now: number): number {
    let e = this.entries.get(key);
    if (e && this.stale(e, now)) {
      this.entries.delete(key);
      e = undefined;
    }
    if (!e) {
      e = { fails: [], lockedUntil: 0, strikes: 0, last: now };
      this.entries.set(key, e);
      if (this.entries.size > this.opts.maxEntries) this.prune(now);
    }
    const from = now - this.opts.windowMs;
    let drop = 0;
    while (drop < e.fails.length && e.fails[drop] <= from) drop++;
    if (drop) e.fails.splice(0, drop);
    e.fails.push(now);
    e.last = now;
    if (e.fails.length < this.opts.maxFailures) return 0;
    e.strikes++;
    const backoff = Math.min(this.opts.baseBackoffMs * 2 ** Math.min(e.strikes - 1, 30), this.opts.maxBackoffMs);
    e.lockedUntil = now + backoff;
    e.fails = [];
    return backoff;
  }

  /** Forgets everything about `key` (e.g. after a successful login). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries that are neither locked nor have failures inside the window; then oldest first. */
  prune(now: number): void {
    const from = now - this.opts.windowMs;
    for (const [k, e] of this.entries) {
      if (e.lockedUntil <= now && (e.fails.length === 0 || e.fails[e.fails.length - 1] <= from)) {
        // Keep strike history only while it still matters and we have room.
        if (this.stale(e, now) || this.entries.size > this.opts.maxEntries) this.entries.delete(k);
      }
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.opts.maxEntries) break;
      this.entries.delete(k);
    }
  }
}
