/**
 * Runs a simulated world in real time: the virtual clock follows the monotonic wall clock, so a person or a
 * tool on a pty can talk to a simulated phone at human speed. Events stay ordered by the simulator's scheduler;
 * inputs from outside (pty bytes) are delivered at the current virtual time, after catching up.
 */
import type { Scheduler } from './net/scheduler.js';

export class RealtimePump {
  private readonly t0 = process.hrtime.bigint();
  private readonly base: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sched: Scheduler, private readonly periodMs = 2) { this.base = sched.nowUs; }

  /** Virtual time that corresponds to now. */
  nowUs(): number { return this.base + Number((process.hrtime.bigint() - this.t0) / 1000n); }

  /** Runs every event due up to now. */
  catchUp(): void { this.sched.runUntil(this.nowUs()); }

  start(): void { if (!this.timer) this.timer = setInterval(() => this.catchUp(), this.periodMs); }
  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = null; }
}
