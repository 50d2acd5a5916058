/**
 * What a fuzz target is. A target owns some state under test (a firmware instance, a codec instance, a
 * server object) and a corpus; the runner (runner.ts) asks it for steps, runs them, and feeds back which
 * steps showed new behaviour. Every step is plain data, so a failing sequence can be written to a file
 * (tests/fuzz/regressions/) and replayed exactly: `fresh()` then `run` of each step in order.
 */
import type { FuzzRng } from './rng.js';

/** One input: an operation, two small integer arguments and bytes. Meaning is per target. */
export interface Step { op: string; a: number; b: number; data: Uint8Array }

export interface Outcome {
  /** A trap (WebAssembly.RuntimeError, AssemblyScript abort) or, on the host, an uncaught exception / broken invariant. */
  trap?: string;
  /** A call that did not return (firmware watchdog: a deadline that never advances). */
  hang?: string;
  /** Behaviour tokens observed (the coverage signal); `kind` is prefixed by the runner. */
  tokens: string[];
  /** Which parser(s) the step exercised (for per-parser counts), e.g. `udp 0x14`, `flash key 2`. */
  kinds: string[];
  /** The state under test ended normally but must be rebuilt (firmware reboot). */
  reset?: boolean;
}

export interface Target {
  readonly name: string;
  readonly kind: 'firmware' | 'codec' | 'server';
  /** One line: the parsers it reaches. */
  readonly parsers: string;
  /** Rebuild the state every this many steps (bounds state growth and the replay log). */
  readonly resetEvery: number;
  /** One-time asynchronous set-up (module imports) before the first `fresh`. */
  load?(): Promise<void>;
  /** Builds fresh state under test (the corpus is kept). */
  fresh(): void;
  gen(rng: FuzzRng): Step;
  run(step: Step): Outcome;
  /** The last generated step showed new behaviour: keep its bytes in the corpus. */
  learn(step: Step): void;
  /** Frees resources (databases). */
  close?(): void;
}

export function hex(b: Uint8Array): string { return Buffer.from(b).toString('hex'); }
export function unhex(s: string): Uint8Array { return new Uint8Array(Buffer.from(s, 'hex')); }

/** Keeps at most `cap` entries; new ones replace random old ones once full. */
export class Pool {
  readonly items: Uint8Array[] = [];
  constructor(private readonly cap = 4000) {}
  add(b: Uint8Array, rng?: FuzzRng): void {
    if (this.items.length < this.cap) this.items.push(b);
    else if (rng) this.items[rng.below(this.cap)] = b;
  }
  pick(rng: FuzzRng): Uint8Array | undefined { return this.items.length ? this.items[rng.below(this.items.length)] : undefined; }
}
