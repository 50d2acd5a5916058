/**
 * A simulated phone's UART as a real pseudo-terminal, through a socat pty pair (`socat PTY,raw,echo=0 STDIO`):
 * what a program writes to /dev/pts/N reaches the phone's UART, what the phone writes comes out of it — so
 * `npm run console -- /dev/pts/N` and `npm run flash -- --port /dev/pts/N` drive it exactly as they would a real
 * phone's USB-serial adapter. The bridge keeps the slave side open itself so that tools may close and reopen
 * the port (socat would otherwise end at the first close).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface PtyBridge {
  /** /dev/pts/N */
  path: string;
  /** Bytes for the terminal side (the phone's UART output). */
  write(b: Uint8Array): void;
  close(): void;
}

/**
 * Starts socat and resolves with the pty path once socat reports it. `onInput` receives what programs write
 * to the pty. Rejects with a one-line Error when socat is missing or fails.
 */
export function openPtyBridge(onInput: (b: Uint8Array) => void, opts: { link?: string } = {}): Promise<PtyBridge> {
  return new Promise((resolve, reject) => {
    const addr = `PTY,raw,echo=0${opts.link ? `,link=${opts.link}` : ''}`;
    let child: ChildProcess;
    try { child = spawn('socat', ['-d', '-d', addr, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] }); } catch (e) { reject(new Error(`cannot start socat (${(e as Error).message})`)); return; }
    let err = '';
    let settled = false;
    let keep = -1;
    child.on('error', (e) => { if (!settled) { settled = true; reject(new Error((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'socat not found: install it (apt-get install socat)' : `socat: ${e.message}`)); } });
    child.on('exit', (code) => { if (!settled) { settled = true; reject(new Error(`socat exited (${code}): ${err.trim().split('\n').pop() ?? ''}`)); } });
    child.stdout!.on('data', (d: Buffer) => onInput(new Uint8Array(d)));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /PTY is (\S+)/.exec(err);
      if (m && !settled) {
        settled = true;
        const path = m[1];
        try { keep = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY); } catch { keep = -1; }
        resolve({
          path,
          write: (b) => { if (child.stdin!.writable) child.stdin!.write(b); },
          close: () => { if (keep >= 0) { try { fs.closeSync(keep); } catch { /* already closed */ } keep = -1; } child.kill(); },
        });
      }
    });
  });
}
