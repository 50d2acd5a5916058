import { NEVER } from "../lib/clock";

/**
 * Multi-tap text entry (ITU-T E.161 letter groups on the 12-key pad): pressing a key repeatedly within
 * `MULTITAP_TIMEOUT_US` cycles through its letters; another key, the timeout, or RIGHT commits the letter.
 * Text is lower case (user names are).
 */
export const MULTITAP_TIMEOUT_US: i64 = 1_000_000;
const MAX_TEXT: i32 = 32;

const GROUPS: StaticArray<string> = [
  "0", ".-_1", "abc2", "def3", "ghi4", "jkl5", "mno6", "pqrs7", "tuv8", "wxyz9",
];
/** Free text (instant messages): space on 0, punctuation on 1. */
const TEXT_GROUPS: StaticArray<string> = [
  " 0", ".,?!'-1", "abc2", "def3", "ghi4", "jkl5", "mno6", "pqrs7", "tuv8", "wxyz9",
];
/** User names and passwords (the E.161 letters plus . - _). */
export const MULTITAP_NAMES: i32 = 0;
/** Free text with spaces and punctuation. */
export const MULTITAP_TEXT: i32 = 1;

export class MultiTap {
  text: string = "";
  /** MULTITAP_NAMES or MULTITAP_TEXT. */
  mode: i32 = MULTITAP_NAMES;
  /** Longest text accepted (characters). */
  maxLen: i32 = MAX_TEXT;
  /** Key being cycled (-1 none), its press count, and when the letter commits on its own. */
  pendingKey: i32 = -1;
  presses: i32 = 0;
  commitUs: i64 = NEVER;

  /** A digit key press (0–9). */
  digit(d: i32, now: i64): void {
    if (d < 0 || d > 9) return;
    if (this.pendingKey == d && now < this.commitUs) {
      this.presses++;
    } else {
      this.commit();
      this.pendingKey = d; this.presses = 1;
    }
    this.commitUs = now + MULTITAP_TIMEOUT_US;
  }

  /** The letter being chosen, or "" if none. */
  pendingChar(): string {
    if (this.pendingKey < 0) return "";
    const g = this.mode == MULTITAP_TEXT ? TEXT_GROUPS[this.pendingKey] : GROUPS[this.pendingKey];
    const i = (this.presses - 1) % g.length;
    return g.substring(i, i + 1);
  }

  commit(): void {
    if (this.pendingKey >= 0 && this.text.length < this.maxLen) this.text += this.pendingChar();
    this.pendingKey = -1; this.presses = 0; this.commitUs = NEVER;
  }

  /** Deletes the pending letter, or the last committed one. */
  backspace(): void {
    if (this.pendingKey >= 0) { this.pendingKey = -1; this.presses = 0; this.commitUs = NEVER; return; }
    if (this.text.length > 0) this.text = this.text.substring(0, this.text.length - 1);
  }

  /** Replaces the text (e.g. to edit a stored value). */
  set(text: string): void { this.clear(); this.text = text.length > this.maxLen ? text.substring(0, this.maxLen) : text; }

  clear(): void { this.text = ""; this.pendingKey = -1; this.presses = 0; this.commitUs = NEVER; }

  /** Committed text plus the pending letter. */
  full(): string { return this.text + this.pendingChar(); }

  tick(now: i64): bool {
    if (now >= this.commitUs) { this.commit(); return true; }
    return false;
  }
}
