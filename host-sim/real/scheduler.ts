/**
 * Real-time scheduler for a live node: the same `at`/`after`/`cancel`/`nowUs` surface FirmwareNode uses on the
 * simulator's virtual clock (host-sim/firmware.ts `NodeScheduler`), backed by Node timers.
 *
 * Time is monotonic microseconds (`process.hrtime.bigint()`) counted from `epochUs` (default 0: since the
 * scheduler was created); after creation it never follows the wall clock, so NTP steps cannot move the
 * firmware's clock backwards. Live nodes start it at the wall-clock time (live-node.ts), the time scale of the
 * login server's certificates, as the simulator's firmware clock is the login server's clock.
 *
 * Periodic work stays drift-free: `after(dt)` called from inside a timer callback counts from the time that
 * callback was *due*, not from when Node got round to running it, so a 10 ms audio clock chained with
 * `after(10_000, …)` keeps 100 blocks per second however late individual timers fire (it catches up, as a
 * codec chip's FIFO would). When the process falls more than `maxLagUs` behind (suspended, overloaded), the
 * base is reset to now instead of firing a burst of stale events.
 */
import type { Handle } from '../net/scheduler.js';
import type { NodeScheduler } from '../firmware.js';

class RealEntry implements Handle {
  timer: NodeJS.Timeout | null = null;
  constructor(readonly timeUs: number, public fn: (() => void) | null) {}
}

export interface RealSchedulerOpts {
  /** How far behind real time a chained `after` may start before it is re-based on now, µs (default 200 ms). */
  maxLagUs?: number;
  /** nowUs at creation (default 0). */
  epochUs?: number;
  /** Called with the error when a callback throws (default: rethrown on the next tick, crashing the process). */
  onError?: (e: unknown) => void;
}

export class RealScheduler implements NodeScheduler {
  private readonly t0 = process.hrtime.bigint();
  /** Due time of the callback being run, or null outside callbacks. */
  private runningDueUs: number | null = null;
  private readonly maxLagUs: number;
  private live = new Set<RealEntry>();
  private stopped = false;

  constructor(private readonly opts: RealSchedulerOpts = {}) {
    this.maxLagUs = opts.maxLagUs ?? 200_000;
  }

  /** Monotonic µs: epochUs + the time since this scheduler was created (integer). */
  get nowUs(): number {
    return (this.opts.epochUs ?? 0) + Number((process.hrtime.bigint() - this.t0) / 1000n);
  }

  /** Runs `fn` at monotonic time `timeUs` (µs); a past time runs on the next turn of the event loop. */
  at(timeUs: number, fn: () => void): Handle {
    if (Number.isNaN(timeUs)) throw new RangeError('RealScheduler.at: time is NaN');
    const e = new RealEntry(timeUs, fn);
    if (this.stopped) return e;
    this.live.add(e);
    const delayMs = Math.max(0, (timeUs - this.nowUs) / 1000);
    e.timer = setTimeout(() => this.run(e), delayMs);
    return e;
  }

  /** Runs `fn` `dtUs` µs from now, or from the due time of the callback currently running (drift-free chains). */
  after(dtUs: number, fn: () => void): Handle {
    const now = this.nowUs;
    let base = this.runningDueUs ?? now;
    if (base < now - this.maxLagUs) base = now;
    return this.at(base + Math.max(0, dtUs), fn);
  }

  cancel(h: Handle | null | undefined): void {
    if (!h) return;
    const e = h as RealEntry;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.fn = null;
    this.live.delete(e);
  }

  /** Timers scheduled and not yet run or cancelled. */
  pending(): number { return this.live.size; }

  /** Cancels every pending timer; later `at`/`after` calls do nothing (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const e of this.live) { if (e.timer) clearTimeout(e.timer); e.fn = null; }
    this.live.clear();
  }

  private run(e: RealEntry): void {
    const fn = e.fn;
    e.fn = null;
    e.timer = null;
    this.live.delete(e);
    if (!fn) return;
    // Early wake-ups (setTimeout rounds to ms) re-arm for the remainder rather than running early.
    const early = e.timeUs - this.nowUs;
    if (early > 500) { e.fn = fn; this.live.add(e); e.timer = setTimeout(() => this.run(e), early / 1000); return; }
    const prev = this.runningDueUs;
    this.runningDueUs = e.timeUs;
    try {
      fn();
    } catch (err) {
      if (this.opts.onError) this.opts.onError(err); else throw err;
    } finally {
      this.runningDueUs = prev;
    }
  }
}
