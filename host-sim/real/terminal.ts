/**
 * The live phone's face in a terminal: the character LCD drawn as a box, the keypad and hook switch on the
 * keyboard.
 *
 * Keys (raw mode): 0-9 * #  keypad · letters  typed with multi-tap (b = 2 2) · Enter  dial / answer ·
 * Backspace  clear · arrows  navigation (→ commits a letter) · space  lift / put down the handset ·
 * Ctrl-C or Ctrl-D  quit.
 */
import type { Lcd } from '../devices.js';
import { KEY, multiTapKeys } from '../keypad.js';

export const KEY_HELP = 'keys: 0-9*# keypad, a-z multi-tap, Enter dial/answer, Backspace clear, Space handset, arrows, Ctrl-C quit';

/** Draws the LCD rows in a box. */
export function lcdBox(lcd: Lcd, title = ''): string[] {
  const top = `┌${title ? `─ ${title} ` : ''}${'─'.repeat(Math.max(0, lcd.cols - (title ? title.length + 3 : 0)))}┐`;
  return [top, ...lcd.lines.map((l) => `│${l}│`), `└${'─'.repeat(lcd.cols)}┘`];
}

/**
 * Full-screen terminal view: LCD box, a status line and the last log lines, redrawn (at most 20×/s) when
 * something changes. Used only when stdout is a TTY that is not carrying audio.
 */
export class TerminalView {
  private readonly logs: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastLcd = '';
  status = '';

  constructor(private readonly out: NodeJS.WriteStream, private readonly lcd: Lcd, private readonly title: string) {
    out.write('\x1b[?1049h\x1b[?25l'); // alternate screen, hide cursor
    this.timer = setInterval(() => { if (this.lcd.text() !== this.lastLcd) this.draw(); }, 50);
  }

  log(line: string): void {
    this.logs.push(line);
    if (this.logs.length > 200) this.logs.shift();
    this.draw();
  }

  draw(): void {
    this.lastLcd = this.lcd.text();
    const rows = this.out.rows || 24;
    const box = lcdBox(this.lcd, this.title);
    const head = [...box, this.status, KEY_HELP, ''];
    const tail = this.logs.slice(-Math.max(0, rows - head.length - 1));
    this.out.write('\x1b[H\x1b[2J' + [...head, ...tail].join('\n'));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.out.write('\x1b[?25h\x1b[?1049l');
  }
}

/** Maps one keypress (a raw-mode chunk) to phone actions. */
export interface KeyActions {
  press(code: number): void;
  hookToggle(): void;
  quit(): void;
}

/**
 * Handles raw-mode keyboard input: returns the key codes to press for `chunk`, with multi-tap for letters
 * (RIGHT between two letters on the same key, as `multiTapKeys` does).
 */
export class KeyboardMapper {
  private lastDigitKey = -1;

  keys(chunk: string, a: KeyActions): void {
    const seq: Record<string, number> = { '\x1b[A': KEY.UP, '\x1b[B': KEY.DOWN, '\x1b[C': KEY.RIGHT, '\x1b[D': KEY.LEFT };
    if (seq[chunk] !== undefined) { this.lastDigitKey = -1; a.press(seq[chunk]); return; }
    for (const ch of chunk) {
      if (ch === '\x03' || ch === '\x04') { a.quit(); return; }
      if (ch === '\r' || ch === '\n') { this.lastDigitKey = -1; a.press(KEY.SEND); continue; }
      if (ch === '\x7f' || ch === '\b') { this.lastDigitKey = -1; a.press(KEY.CLEAR); continue; }
      if (ch === ' ') { a.hookToggle(); continue; }
      if (/[0-9*#]/.test(ch)) { this.lastDigitKey = -1; a.press(ch.charCodeAt(0)); continue; }
      const lower = ch.toLowerCase();
      if (/[a-z.\-_]/.test(lower)) {
        const ks = multiTapKeys(lower);
        if (ks[0] === this.lastDigitKey) a.press(KEY.RIGHT);
        for (const k of ks) a.press(k);
        this.lastDigitKey = ks[ks.length - 1];
      }
    }
  }
}
