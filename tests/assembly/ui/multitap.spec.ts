/** Multi-tap text entry (ITU-T E.161 letter groups). */
import { MultiTap } from "../../../firmware/ui/multitap";

describe("MultiTap", () => {
  it("cycles letters on repeated presses and commits on another key", () => {
    const m = new MultiTap();
    m.digit(2, 0); m.digit(2, 100_000);           // b
    m.digit(6, 200_000); m.digit(6, 300_000); m.digit(6, 400_000); // o
    m.commit();
    expect(m.text).toBe("bo");
  });
  it("commits after the timeout, so the same key can type two letters", () => {
    const m = new MultiTap();
    m.digit(2, 0);
    expect(m.tick(1_100_000)).toBe(true);
    m.digit(2, 1_200_000); m.digit(2, 1_300_000);
    m.commit();
    expect(m.text).toBe("ab");
  });
  it("wraps around the group (abc2 → a after 5 presses) and backspaces", () => {
    const m = new MultiTap();
    for (let i = 0; i < 5; i++) m.digit(2, i * 10_000);
    expect(m.pendingChar()).toBe("a");
    m.backspace();
    expect(m.full()).toBe("");
    m.digit(7, 0); m.digit(7, 1); m.digit(7, 2); m.digit(7, 3); m.commit();
    expect(m.text).toBe("s");
    m.backspace();
    expect(m.text).toBe("");
  });
});
