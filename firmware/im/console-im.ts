import { imInboxText, imSend, imStatsText, IM_TEXT_MAX } from "./im";
import { imSnHeldDump, imSnHeldTamper } from "./hold";
import { node } from "../overlay/node";

/**
 * Console commands of the IM module (firmware/ui/console.ts dispatches here):
 *   im                 the inbox (last 16 messages) and the IM counters
 *   im NAME TEXT       send TEXT (the console line is ASCII) to NAME
 *   imx NAME HEX       send the UTF-8 bytes written as hex (any unicode; invalid UTF-8 is refused)
 *   im --held          (supernode, debug) the held copies this supernode stores, as hex: what a holder sees
 *   im --held-tamper   (supernode, debug) act as a malicious holder: alter every held copy (tests)
 * (User names start with a letter, so the `--` forms never collide with `im NAME TEXT`.)
 * Returns the reply lines; errors are one line starting with `error:`.
 */
export function imCommand(cmd: string, arg: string, now: i64): Array<string> {
  const out = new Array<string>();
  if (cmd == "im" && arg.length == 0) {
    const inbox = imInboxText();
    for (let i = 0; i < inbox.length; i++) out.push(inbox[i]);
    out.push(imStatsText());
    return out;
  }
  if (cmd == "im" && (arg == "--held" || arg == "--held-tamper")) {
    if (!node.isSupernode) { out.push("error: not a supernode"); return out; }
    if (arg == "--held") return imSnHeldDump(now);
    out.push("ok: tampered " + imSnHeldTamper().toString() + " held copies");
    return out;
  }
  const sp = arg.indexOf(" ");
  if (sp <= 0) { out.push("error: usage: " + cmd + (cmd == "im" ? " NAME TEXT" : " NAME HEX")); return out; }
  const name = arg.substring(0, sp);
  let text = arg.substring(sp + 1);
  if (cmd == "imx") {
    const bytes = hexBytes(text.trim());
    if (bytes === null) { out.push("error: HEX must be an even number of hex digits"); return out; }
    text = String.UTF8.decodeUnsafe(changetype<usize>(bytes), bytes.length, false);
    const check = String.UTF8.encode(text, false);
    if (check.byteLength != bytes.length || !sameBytes(changetype<usize>(check), changetype<usize>(bytes), bytes.length)) {
      out.push("error: not valid UTF-8"); return out;
    }
  }
  const id = imSend(name, text, now);
  if (id == -1) out.push("error: not online");
  else if (id == -2) out.push("error: message empty or longer than " + IM_TEXT_MAX.toString() + " bytes");
  else if (id == -3) out.push("error: bad user name");
  else out.push("ok: message " + id.toString() + " to " + name);
  return out;
}

function sameBytes(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}

function nib(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function hexBytes(s: string): StaticArray<u8> | null {
  if (s.length == 0 || (s.length & 1) != 0) return null;
  const out = new StaticArray<u8>(s.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const h = nib(s.charCodeAt(2 * i)), l = nib(s.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return null;
    out[i] = <u8>((h << 4) | l);
  }
  return out;
}
