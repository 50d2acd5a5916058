/**
 * A simulated serial line (8N1: 10 bit times per byte) between a phone's UART and a host tool, on the
 * simulator's clock, with seeded line errors for tests: per byte, a flipped bit (`bitErrorRate`), a lost byte
 * (`dropRate`), or a burst of garbage (`garbageRate`); and `unplug()` / `plug()` for a dropped line. Bytes keep
 * their order; each direction is paced at `baud`.
 */
import type { Rng } from './net/rng.js';
import type { NodeScheduler } from './firmware.js';
import type { RomPhone } from './bootrom-device.js';
import { FlashSession, type FlashSessionOpts } from '../tools/lib/flash-session.js';

export interface LineNoise { bitErrorRate?: number; dropRate?: number; garbageRate?: number }

export class SerialLine {
  baud = 115200;
  noise: LineNoise = {};
  plugged = true;
  /** Bytes damaged or dropped so far (both directions). */
  damaged = 0;
  private busyUntil = [0, 0];

  constructor(private readonly sched: NodeScheduler, private readonly rng: Rng, private readonly phone: RomPhone, private readonly toHost: (b: Uint8Array) => void) {
    phone.onUart((b) => this.send(1, b));
  }

  /** Host → phone. */
  write(b: Uint8Array): void { this.send(0, b); }

  unplug(): void { this.plugged = false; }
  plug(): void { this.plugged = true; }

  private send(dir: 0 | 1, b: Uint8Array): void {
    if (!this.plugged || b.length === 0) return;
    const out: number[] = [];
    const n = this.noise;
    for (const x of b) {
      if (n.dropRate && this.rng.float() < n.dropRate) { this.damaged++; continue; }
      let y = x;
      if (n.bitErrorRate && this.rng.float() < n.bitErrorRate * 8) { y ^= 1 << this.rng.int(8); this.damaged++; }
      out.push(y);
      if (n.garbageRate && this.rng.float() < n.garbageRate) { for (let k = this.rng.range(1, 8); k > 0; k--) out.push(this.rng.int(256)); this.damaged++; }
    }
    const byteUs = 10e6 / this.baud;
    const start = Math.max(this.sched.nowUs, this.busyUntil[dir]);
    const end = start + out.length * byteUs;
    this.busyUntil[dir] = end;
    const data = Uint8Array.from(out);
    this.sched.at(end, () => {
      if (!this.plugged) return;
      if (dir === 0) this.phone.uartInput(data); else this.toHost(data);
    });
  }
}

/**
 * Runs the flash tool's session (tools/lib/flash-session.ts) against a simulated phone over a SerialLine.
 * Returns the line and the session; drive the scheduler until `session.finished`.
 */
export function startSimFlash(sched: NodeScheduler, rng: Rng, phone: RomPhone, image: Uint8Array, opts: FlashSessionOpts & { noise?: LineNoise } = {}): { line: SerialLine; session: FlashSession } {
  let session!: FlashSession;
  let timer: ReturnType<NodeScheduler['at']> | null = null;
  const arm = () => {
    if (timer) sched.cancel(timer);
    timer = null;
    if (!session.finished && Number.isFinite(session.deadlineMs)) { const due = session.deadlineMs; timer = sched.at(due * 1000, () => { timer = null; session.poll(Math.max(sched.nowUs / 1000, due)); arm(); }); } // max(): µs↔ms rounding must not make the timer fire 'early' forever
  };
  const line = new SerialLine(sched, rng, phone, (b) => { session.feed(b, sched.nowUs / 1000); arm(); });
  if (opts.noise) line.noise = opts.noise;
  session = new FlashSession(image, (b) => line.write(b), opts);
  session.start(sched.nowUs / 1000);
  arm();
  return { line, session };
}
