/**
 * Discrete-event scheduler on a virtual microsecond clock.
 *
 * Events live in a binary min-heap ordered by (time, insertion sequence), so events due at the
 * same instant run in the order they were scheduled (FIFO). That tie rule is what makes a whole
 * simulation reproducible: nothing depends on wall-clock time or on Map/heap iteration accidents.
 *
 * Cancellation is lazy: a cancelled entry stays in the heap, marked dead, and is discarded when it
 * reaches the top. `pending()` still reports only live events.
 */

const PENDING = 0;
const DONE = 1;
const CANCELLED = 2;

/** Opaque handle returned by `at`/`after`; pass it to `cancel`. */
export interface Handle {
  /** Virtual time (µs) at which the event is (or was) due. */
  readonly timeUs: number;
}

class Entry implements Handle {
  constructor(
    public readonly timeUs: number,
    public readonly seq: number,
    public fn: ((arg: any) => void) | null,
    public arg: unknown,
    public state: number,
  ) {}
}

export class Scheduler {
  /** Current virtual time, µs. Advances only while running events. */
  nowUs = 0;

  private heap: Entry[] = [];
  private seq = 0;
  private live = 0;
  /** Cancelled entries still sitting in the heap. */
  private dead = 0;
  private running = false;

  /**
   * Schedules `fn(arg)` at absolute time `timeUs`. Times in the past run at `nowUs` (after every
   * event already due at `nowUs`). The optional `arg` lets hot paths avoid allocating closures.
   */
  at<T = undefined>(timeUs: number, fn: (arg: T) => void, arg?: T): Handle {
    if (!(timeUs >= this.nowUs)) {
      if (Number.isNaN(timeUs)) throw new RangeError('Scheduler.at: time is NaN');
      timeUs = this.nowUs;
    }
    const e = new Entry(timeUs, this.seq++, fn, arg, PENDING);
    this.push(e);
    this.live++;
    return e;
  }

  /** Schedules `fn(arg)` `dtUs` microseconds from now (negative values mean now). */
  after<T = undefined>(dtUs: number, fn: (arg: T) => void, arg?: T): Handle {
    return this.at(this.nowUs + (dtUs > 0 ? dtUs : 0), fn, arg);
  }

  /** Cancels a pending event. No-op for events that already ran or were cancelled, and for null. */
  cancel(h: Handle | null | undefined): void {
    if (!h) return;
    const e = h as Entry;
    if (e.state !== PENDING) return;
    e.state = CANCELLED;
    e.fn = null;
    e.arg = undefined;
    this.live--;
    // Keep memory bounded when a workload cancels much more than it runs (re-armed timers).
    if (++this.dead > 1024 && this.dead > this.heap.length >> 1) this.compact();
  }

  /** Number of events scheduled and neither run nor cancelled. */
  pending(): number {
    return this.live;
  }

  /** Time of the next live event, or Infinity if there is none. */
  peekTime(): number {
    const top = this.top();
    return top ? top.timeUs : Infinity;
  }

  /**
   * Runs every event due at or before `timeUs` (including events those events schedule), then
   * sets the clock to `timeUs` (the clock never moves backwards).
   */
  runUntil(timeUs: number): void {
    this.enter();
    try {
      for (;;) {
        const top = this.top();
        if (!top || top.timeUs > timeUs) break;
        this.runTop();
      }
      if (timeUs > this.nowUs) this.nowUs = timeUs;
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs events one at a time while `pred()` is true and the next event is due at or before the
   * absolute time `limitUs`. Returns true if it stopped because `pred()` became false (the clock
   * then stays at the time of the last event run), false if it reached the limit (the clock is
   * then set to `limitUs`, as with `runUntil`).
   */
  runWhile(pred: () => boolean, limitUs: number): boolean {
    this.enter();
    try {
      for (;;) {
        if (!pred()) return true;
        const top = this.top();
        if (!top || top.timeUs > limitUs) {
          if (limitUs > this.nowUs) this.nowUs = limitUs;
          return false;
        }
        this.runTop();
      }
    } finally {
      this.running = false;
    }
  }

  /** Runs the single next live event, whatever its time. Returns false if there was none. */
  step(): boolean {
    this.enter();
    try {
      if (!this.top()) return false;
      this.runTop();
      return true;
    } finally {
      this.running = false;
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private enter(): void {
    if (this.running) throw new Error('Scheduler: run called re-entrantly from inside an event');
    this.running = true;
  }

  /** Top live entry (discarding cancelled ones), or undefined. */
  private top(): Entry | undefined {
    const h = this.heap;
    while (h.length > 0 && h[0].state === CANCELLED) {
      this.pop();
      this.dead--;
    }
    return h[0];
  }

  /** Pops the (live) top entry and runs it. */
  private runTop(): void {
    const e = this.pop();
    const fn = e.fn!;
    const arg = e.arg;
    e.state = DONE;
    e.fn = null;
    e.arg = undefined;
    this.live--;
    this.nowUs = e.timeUs;
    fn(arg);
  }

  /** Drops cancelled entries and restores the heap property (Floyd's bottom-up heapify). */
  private compact(): void {
    const h = this.heap.filter((e) => e.state !== CANCELLED);
    this.heap = h;
    this.dead = 0;
    for (let i = (h.length >> 1) - 1; i >= 0; i--) this.siftDown(i, h[i]);
  }

  private push(e: Entry): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    const t = e.timeUs;
    const s = e.seq;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const p = h[pi];
      if (p.timeUs < t || (p.timeUs === t && p.seq < s)) break;
      h[i] = p;
      i = pi;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const first = h[0];
    const last = h.pop()!;
    if (h.length === 0) return first;
    this.siftDown(0, last);
    return first;
  }

  /** Places `e` at index `i` or below, moving smaller children up. */
  private siftDown(i: number, e: Entry): void {
    const h = this.heap;
    const n = h.length;
    const t = e.timeUs;
    const s = e.seq;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let ce = h[l];
      if (r < n) {
        const re = h[r];
        if (re.timeUs < ce.timeUs || (re.timeUs === ce.timeUs && re.seq < ce.seq)) {
          c = r;
          ce = re;
        }
      }
      if (t < ce.timeUs || (t === ce.timeUs && s < ce.seq)) break;
      h[i] = ce;
      i = c;
    }
    h[i] = e;
  }
}
