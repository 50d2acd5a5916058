/**
 * Load shedding for the real server (server/main.ts): it hashes passwords synchronously on its event loop, so
 * a request's wait is the time the loop has been busy without a break. A timer notes every moment the loop is
 * free (every `tickMs`); while the loop has not been free for more than `maxWaitMs`, hashing requests are
 * answered Status.BUSY with that busy time as the retry-after (LoginServiceOptions.admit) — the standing-queue
 * test of CoDel (RFC 8289 §3, sojourn time above a target), applied to the hash queue. The simulator models a
 * multi-core server with an explicit queue instead (host-sim/login-host.ts).
 */
export class LoopBusyAdmission {
  private lastFreeMs: number;
  private timer: ReturnType<typeof setInterval> | null = null;

  /**
   * @param maxWaitMs busy time (ms, > 0) above which hashing requests are turned away.
   * @param nowMs clock (ms); tests inject one.
   * @param tickMs how often the loop's free moments are noted (ms, > 0).
   */
  constructor(readonly maxWaitMs: number, private readonly nowMs: () => number = Date.now, readonly tickMs = 20) {
    if (!(maxWaitMs > 0) || !(tickMs > 0)) throw new RangeError('maxWaitMs and tickMs must be > 0');
    this.lastFreeMs = nowMs();
  }

  /** The loop is free now (the timer calls this; tests call it directly). */
  noteFree(): void { this.lastFreeMs = this.nowMs(); }

  /** Starts noting free moments (an unref'd timer: it keeps no process alive). */
  start(): this {
    if (!this.timer) { this.timer = setInterval(() => this.noteFree(), this.tickMs); this.timer.unref(); }
    return this;
  }

  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = null; }

  /** LoginServiceOptions.admit: 0 admits; otherwise the retry-after in ms (the loop's busy time so far). */
  readonly admit = (): number => {
    const busyMs = this.nowMs() - this.lastFreeMs - this.tickMs;
    return busyMs > this.maxWaitMs ? Math.ceil(busyMs) : 0;
  };
}
