/**
 * Per-phone JSON provisioning (issue #9), validated on the host with the same rules and the same one-line
 * messages as the firmware (firmware/device/provisioning.ts), so a bad file is refused before it reaches a
 * phone — by the simulator's device runner (`npm run device -- --config F`) and by the console tool
 * (`npm run console -- PORT --load-config F`). Shape:
 *
 *   user        string, 3..32 chars [a-z][a-z0-9._-]*   (absent: a headless node, e.g. a dedicated supernode)
 *   password    string, 6..64 chars                       (required with user)
 *   register    boolean (default false)
 *   port        integer 0..65535 (default 0 = random)
 *   supernode   "auto" | "never" (default "never")
 *   bootstrap   array of 1..7 "a.b.c.d:port"              (required)
 *   server      "a.b.c.d:port"                            (required)
 *   serverKey   64 hex digits                             (required)
 *   codecs      array of 1..8 of "pcmu" | "pcma", no repeats
 *   display     { rows 2..8, cols 16..64 }
 *   update      { server "a.b.c.d:port", checkIntervalS 60..2592000 }
 */
import * as fs from 'node:fs';

export interface Provisioning {
  user?: string;
  password?: string;
  register?: boolean;
  port?: number;
  supernode?: 'auto' | 'never';
  bootstrap: string[];
  server: string;
  serverKey: string;
  codecs?: string[];
  display?: { rows: number; cols: number };
  update?: { server: string; checkIntervalS?: number };
}

const FIELDS = ['user', 'password', 'register', 'port', 'supernode', 'bootstrap', 'server', 'serverKey', 'codecs', 'display', 'update'];

/** The firmware's names for JSON types in messages. */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'string') return 'a string';
  return 'an object';
}

class Invalid extends Error {}
const fail = (path: string, what: string): never => { throw new Invalid(`${path}: ${what}`); };
const quote = (s: string) => JSON.stringify(s);

function endpoint(v: unknown, path: string): void {
  if (typeof v !== 'string') fail(path, `expected a string, got ${kind(v)}`);
  const s = v as string;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/.exec(s);
  const ok = m && m.slice(1, 5).every((x) => Number(x) <= 255) && Number(m[5]) >= 1 && Number(m[5]) <= 65535 && !(m[1] === '0' && m[2] === '0' && m[3] === '0' && m[4] === '0');
  if (!ok) fail(path, `expected "a.b.c.d:port", got ${quote(s)}`);
}

function intIn(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `expected an integer, got ${typeof v === 'number' ? 'a fraction' : kind(v)}`);
  const n = v as number;
  if (n < lo || n > hi) fail(path, `must be ${lo}..${hi}, got ${n}`);
  return n;
}

function check(j: unknown): Provisioning {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('config', `expected an object, got ${kind(j)}`);
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) fail(k, `unknown field (expected one of ${FIELDS.join(', ')})`);
  if (o.user !== undefined) {
    if (typeof o.user !== 'string') fail('user', `expected a string, got ${kind(o.user)}`);
    if (!/^[a-z][a-z0-9._-]{2,31}$/.test(o.user as string)) fail('user', `must be 3..32 characters [a-z][a-z0-9._-]*, got ${quote(o.user as string)}`);
    if (o.password === undefined) fail('password', 'required when user is set');
    if (typeof o.password !== 'string') fail('password', `expected a string, got ${kind(o.password)}`);
    const pl = (o.password as string).length;
    if (pl < 6 || pl > 64) fail('password', `must be 6..64 characters, got ${pl}`);
  } else if (o.password !== undefined) fail('password', 'given without a user');
  if (o.register !== undefined && typeof o.register !== 'boolean') fail('register', `expected a boolean, got ${kind(o.register)}`);
  if (o.port !== undefined) intIn(o.port, 'port', 0, 65535);
  if (o.supernode !== undefined) {
    if (typeof o.supernode !== 'string') fail('supernode', `expected a string, got ${kind(o.supernode)}`);
    if (o.supernode !== 'auto' && o.supernode !== 'never') fail('supernode', `expected "auto" or "never", got ${quote(o.supernode as string)}`);
  }
  if (o.bootstrap === undefined) fail('bootstrap', 'required (1..7 supernodes "a.b.c.d:port")');
  if (!Array.isArray(o.bootstrap)) fail('bootstrap', `expected an array, got ${kind(o.bootstrap)}`);
  const bs = o.bootstrap as unknown[];
  if (bs.length < 1 || bs.length > 7) fail('bootstrap', `must list 1..7 supernodes, got ${bs.length}`);
  bs.forEach((e, i) => endpoint(e, `bootstrap[${i}]`));
  if (o.server === undefined) fail('server', 'required ("a.b.c.d:port" of the login server)');
  endpoint(o.server, 'server');
  if (o.serverKey === undefined) fail('serverKey', 'required (64 hex digits)');
  if (typeof o.serverKey !== 'string') fail('serverKey', `expected a string, got ${kind(o.serverKey)}`);
  if (!/^[0-9a-fA-F]{64}$/.test(o.serverKey as string)) fail('serverKey', `expected 64 hex digits, got ${(o.serverKey as string).length} characters`);
  if (o.codecs !== undefined) {
    if (!Array.isArray(o.codecs)) fail('codecs', `expected an array, got ${kind(o.codecs)}`);
    const cs = o.codecs as unknown[];
    if (cs.length < 1 || cs.length > 8) fail('codecs', `must list 1..8 codecs, got ${cs.length}`);
    cs.forEach((c, i) => {
      const p = `codecs[${i}]`;
      if (typeof c !== 'string') fail(p, `expected a string, got ${kind(c)}`);
      if (c !== 'pcmu' && c !== 'pcma') fail(p, `unknown codec ${quote(c as string)} (expected "pcmu" or "pcma")`);
      if (cs.indexOf(c) < i) fail(p, `codec ${quote(c as string)} listed twice`);
    });
  }
  if (o.display !== undefined) {
    const d = o.display;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) fail('display', `expected an object, got ${kind(d)}`);
    const dd = d as Record<string, unknown>;
    for (const k of Object.keys(dd)) if (k !== 'rows' && k !== 'cols') fail(`display.${k}`, 'unknown field (expected rows, cols)');
    if (dd.rows === undefined) fail('display.rows', 'required');
    if (dd.cols === undefined) fail('display.cols', 'required');
    intIn(dd.rows, 'display.rows', 2, 8); intIn(dd.cols, 'display.cols', 16, 64);
  }
  if (o.update !== undefined) {
    const u = o.update;
    if (typeof u !== 'object' || u === null || Array.isArray(u)) fail('update', `expected an object, got ${kind(u)}`);
    const uu = u as Record<string, unknown>;
    for (const k of Object.keys(uu)) if (k !== 'server' && k !== 'checkIntervalS') fail(`update.${k}`, 'unknown field (expected server, checkIntervalS)');
    if (uu.server === undefined) fail('update.server', 'required');
    endpoint(uu.server, 'update.server');
    if (uu.checkIntervalS !== undefined) intIn(uu.checkIntervalS, 'update.checkIntervalS', 60, 2592000);
  }
  return o as unknown as Provisioning;
}

/** Validates parsed JSON. Returns the provisioning or `{ error }` with the firmware's one-line message. */
export function validateProvisioning(j: unknown): { ok: true; value: Provisioning } | { ok: false; error: string } {
  try { return { ok: true, value: check(j) }; } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}

/** Reads and validates a provisioning file. Throws Error with one line: `FILE: path: problem`. */
export function loadProvisioningFile(file: string): Provisioning {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new Error(`${file}: not valid JSON (${(e as Error).message})`); }
  const v = validateProvisioning(j);
  if (!v.ok) throw new Error(`${file}: ${v.error}`);
  return v.value;
}

/** The bytes stored in the phone's flash under KEY_PROVISIONING (compact JSON, ≤ 4096 bytes). */
export function provisioningBytes(p: Provisioning): Uint8Array {
  const b = new TextEncoder().encode(JSON.stringify(p));
  if (b.length > 4096) throw new Error(`provisioning is ${b.length} bytes, more than a flash record (4096)`);
  return b;
}
