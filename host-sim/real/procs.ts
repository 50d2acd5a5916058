/**
 * Child processes of a live deployment (demo:live, the NAT lab): spawn with output captured to a log file,
 * wait for a line or for exit with a time limit, and stop by pid (SIGTERM, then SIGKILL after a grace
 * period). Every wait is bounded; nothing is ever killed by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface ProcOpts {
  /** Short label for messages. */
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** Combined stdout+stderr go here (appended). */
  logFile: string;
  /** Called with every complete output line (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  env?: NodeJS.ProcessEnv;
}

export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(readonly opts: ProcOpts) {
    const log = fs.openSync(opts.logFile, 'a');
    this.child = spawn(opts.cmd, opts.args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [stream, s] of [['stdout', this.child.stdout!], ['stderr', this.child.stderr!]] as const) {
      let carry = '';
      s.on('data', (b: Buffer) => {
        fs.writeSync(log, b);
        const text = carry + b.toString('utf8');
        const parts = text.split('\n');
        carry = parts.pop()!;
        for (const l of parts) this.line(l, stream);
      });
    }
    this.exited = new Promise((resolve) => this.child.once('close', (code, sig) => {
      this.exitCode = code; this.exitSignal = sig; fs.closeSync(log); resolve();
    }));
    this.child.once('error', (e) => this.line(`spawn error: ${e.message}`, 'stderr'));
  }

  get pid(): number | undefined { return this.child.pid; }
  get running(): boolean { return this.exitCode === null && this.exitSignal === null; }

  private line(l: string, stream: 'stdout' | 'stderr'): void {
    this.lines.push(l);
    this.opts.onLine?.(l, stream);
    for (const w of [...this.waiters]) {
      const m = w.re.exec(l);
      if (m) { this.waiters = this.waiters.filter((x) => x !== w); w.resolve(m); }
    }
  }

  /** Resolves with the first output line (already seen or future) matching `re`; rejects on exit or after `timeoutMs`. */
  waitLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    for (const l of this.lines) { const m = re.exec(l); if (m) return Promise.resolve(m); }
    return new Promise((resolve, reject) => {
      const w = { re, resolve: (m: RegExpMatchArray) => { clearTimeout(t); resolve(m); } };
      const t = setTimeout(() => { this.waiters = this.waiters.filter((x) => x !== w); reject(new Error(`${this.opts.name}: no line matching ${re} within ${timeoutMs} ms${this.tail()}`)); }, timeoutMs);
      this.waiters.push(w);
      void this.exited.then(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters = this.waiters.filter((x) => x !== w);
        clearTimeout(t);
        reject(new Error(`${this.opts.name} exited (${this.exitCode ?? this.exitSignal}) before printing ${re}${this.tail()}`));
      });
    });
  }

  /** Resolves with the exit code when the process ends; rejects after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${this.opts.name} still running after ${timeoutMs} ms`)), timeoutMs); });
    try { await Promise.race([this.exited, timeout]); } finally { clearTimeout(t); }
    return this.exitCode;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves when it is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running || this.pid === undefined) return;
    this.child.kill('SIGTERM');
    try { await this.waitExit(graceMs); } catch {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** The last output lines, for error messages. */
  tail(n = 4): string {
    const t = this.lines.filter((l) => l.trim()).slice(-n);
    return t.length ? `; last output: ${t.join(' | ')}` : '';
  }
}
