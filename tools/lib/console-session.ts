/**
 * Scripted use of a phone's serial console (firmware/ui/console.ts): send a command line, collect what the
 * phone prints until its prompt returns. Works on any byte stream with `write` and `data` events — a SerialPort
 * on a real or pseudo terminal, or @serialport/binding-mock in tests.
 */
export interface ByteStream {
  write(b: Buffer | Uint8Array): unknown;
  on(ev: 'data', fn: (b: Buffer) => void): unknown;
  off?(ev: 'data', fn: (b: Buffer) => void): unknown;
}

/** A prompt at the end of the output: `alice> `, `phone> `, `sn> `, `json> ` or the ROM's `bootloader> `. */
export const PROMPT_RE = /(?:^|\n)([a-z][a-z0-9._-]*)> $/;

/** Terminal control sequences the console's line editor emits (cursor moves, erase to end of line). */
export function stripAnsi(s: string): string { return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\b]/g, ''); }

export interface CommandResult {
  /** Output lines (without the echoed command and the prompt). */
  lines: string[];
  /** The first `error: …` line, if the phone reported one. */
  error?: string;
  prompt: string;
}

export class ConsoleSession {
  private buf = '';
  private waiter: (() => void) | null = null;
  private readonly onData = (b: Buffer) => { this.buf += b.toString('latin1'); if (this.buf.length > 1 << 20) this.buf = this.buf.slice(-(1 << 19)); this.waiter?.(); };

  constructor(private readonly port: ByteStream, private readonly timeoutMs = 5000) { port.on('data', this.onData); }

  detach(): void { this.port.off?.('data', this.onData); }

  /** Waits until `re` matches the text received since the last take; resolves with the text up to and including the match. */
  private waitFor(re: RegExp, timeoutMs: number, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiter = null; reject(new Error(`timeout after ${timeoutMs / 1000} s waiting for ${what}`)); }, timeoutMs);
      const check = () => {
        const clean = stripAnsi(this.buf).replace(/\r/g, '');
        const m = re.exec(clean);
        if (!m) return;
        clearTimeout(t);
        this.waiter = null;
        this.buf = '';
        resolve(clean.slice(0, m.index + m[0].length));
      };
      this.waiter = check;
      check();
    });
  }

  /** Gets a fresh prompt (kills any half-typed line). Resolves with the prompt name ("alice", "bootloader", …). */
  async ready(): Promise<string> {
    this.buf = '';
    this.port.write(Buffer.from('\x15\r'));
    const text = await this.waitFor(PROMPT_RE, this.timeoutMs, 'the console prompt (is the phone on, and is this its console port?)');
    // Let stale output (a banner, an earlier prompt) arrive and drop it, so the next answer starts clean.
    await new Promise((r) => setTimeout(r, 200));
    this.buf = '';
    return PROMPT_RE.exec(text)![1];
  }

  /** Runs one command line. */
  async command(cmd: string, timeoutMs = this.timeoutMs): Promise<CommandResult> {
    this.buf = '';
    this.port.write(Buffer.from(cmd + '\r'));
    const text = await this.waitFor(PROMPT_RE, timeoutMs, `the answer to '${cmd}'`);
    const lines = text.split('\n');
    const prompt = PROMPT_RE.exec(text)![1];
    lines.pop(); // the prompt
    while (lines.length > 0 && lines[0].trim() === '') lines.shift();
    if (lines.length > 0 && lines[0].endsWith(cmd)) lines.shift(); // echo
    const error = lines.find((l) => l.startsWith('error:'));
    return { lines, error, prompt };
  }

  /** Sends provisioning JSON with `config load` (one line) and returns the phone's verdict. */
  async loadConfig(json: string): Promise<CommandResult> {
    const first = await this.command('config load');
    if (first.error) return first;
    return this.command(JSON.stringify(JSON.parse(json)));
  }
}
