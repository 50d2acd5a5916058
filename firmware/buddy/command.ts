import { buddy, buddyLines, buddyOp, buddyOrdered, buddySetAway, buddyStatusText, opName, BK_BUDDY, OP_ACCEPT, OP_ADD, OP_BLOCK, OP_DECLINE, OP_REMOVE, OP_UNBLOCK } from "./buddies";
import { clientOnline } from "../overlay/client";

/**
 * The console's `buddies` command (ui/console.ts):
 *   buddies                          the list with presence, our own state and the counters
 *   buddies add|accept|decline|remove|block|unblock NAME
 *   buddies away on|off              the manual "away" state
 * Returns the output lines; errors start with "error:".
 */
export function buddiesCommand(arg: string, now: i64): Array<string> {
  const out = new Array<string>();
  if (arg.length == 0) {
    const es = buddyOrdered();
    const lines = buddyLines();
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      out.push(lines[i] + (e.kind == BK_BUDDY ? " " + buddyStatusText(e.status) + (e.changedUs > 0 ? " since " + (e.changedUs / 1000).toString() + "ms" : "") : ""));
    }
    if (es.length == 0) out.push("no buddies");
    let q = "";
    for (let i = 0; i < buddy.outOps.length; i++) q += " " + opName(buddy.outOps[i]) + (buddy.outNames[i].length > 0 ? ":" + buddy.outNames[i] : "");
    out.push("me " + buddyStatusText(buddy.myStatus) + (buddy.manualAway ? " (manual)" : "") + " synced=" + (buddy.synced ? "1" : "0") +
      " pending=[" + q.trim() + "] pushesSent=" + buddy.pushesSent.toString() + " pushesReceived=" + buddy.pushesReceived.toString() +
      " blockedCalls=" + buddy.blockedCalls.toString() + " blockedIms=" + buddy.blockedIms.toString());
    return out;
  }
  const sp = arg.indexOf(" ");
  const verb = sp < 0 ? arg : arg.substring(0, sp);
  const name = sp < 0 ? "" : arg.substring(sp + 1).trim();
  if (verb == "away") {
    if (name != "on" && name != "off") { out.push("error: usage: buddies away on|off"); return out; }
    buddySetAway(name == "on", now);
    out.push("ok: away " + name);
    return out;
  }
  let op: u8 = 0;
  if (verb == "add") op = OP_ADD;
  else if (verb == "accept") op = OP_ACCEPT;
  else if (verb == "decline") op = OP_DECLINE;
  else if (verb == "remove") op = OP_REMOVE;
  else if (verb == "block") op = OP_BLOCK;
  else if (verb == "unblock") op = OP_UNBLOCK;
  if (op == 0 || name.length == 0 || name.indexOf(" ") >= 0) {
    out.push("error: usage: buddies [add|accept|decline|remove|block|unblock NAME | away on|off]");
    return out;
  }
  const e = buddyOp(op, name, now);
  out.push(e.length > 0 ? "error: " + e : "ok: " + verb + " " + name + (clientOnline() ? "" : " (queued until login)"));
  return out;
}
