/**
 * JSON configuration of a live phone or supernode (`npm run phone -- --config alice.json`,
 * `npm run supernode -- --config sn1.json`), validated with one clear error line, and turned into the
 * firmware's provisioning text (firmware/lib/config.ts; the same lines World.provisioningText writes in the
 * simulator).
 *
 *   {
 *     "name": "alice",                      label in logs (default: user, or "sn:<port>")
 *     "bind": "127.0.0.1",                  IPv4 address to bind (default 127.0.0.1)
 *     "port": 33041,                        UDP+TCP port, 0 = any free one (supernodes need a fixed port)
 *     "user": "alice",                      account (phones only; a supernode has none)
 *     "password": "alice-secret-1",
 *     "register": true,                     register the account on first login
 *     "bootstrap": ["127.0.0.1:33033"],     1..7 supernodes "a.b.c.d:port"
 *     "server": "127.0.0.1:33000",          login server
 *     "serverKey": "<64 hex>",              its X25519 public key, or:
 *     "serverKeyFile": "server-data/server-key.json"   the server's key file (its publicKey is read)
 *     "certKeys": "1:<64 hex>,2:<64 hex>",  the login server's certificate signing keys (printed by `npm run server`
 *                                           as `login-server certKeys …`), or:
 *     "certKeysFile": "server-data/cert-keys.json"   the public file the server writes ({"certKeys": "…"}).
 *                                           Neither given but serverKeyFile: cert-keys.json beside it, if present.
 *                                           Without certificate keys a node checks no certificates (docs/security.md).
 *     "codecs": ["pcmu", "ilbc30"],          offer, in preference order (pcmu, pcma, ilbc30, ilbc20)
 *     "flash": "alice.flash.json",          flash persisted to this file (default: in memory only)
 *     "seed": 7                             firmware PRNG seed (default: random)
 *   }
 * Relative paths are resolved against the config file's directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ipFromString, ipToString } from '../net/ip.js';
import type { AddressView } from './address-view.js';

export type Role = 'phone' | 'supernode';

export interface Endpoint { ip: string; port: number }

export interface NodeConfig {
  role: Role;
  name: string;
  bind: string;
  port: number;
  user?: string;
  password?: string;
  register: boolean;
  bootstrap: Endpoint[];
  server: Endpoint;
  serverKey: string;
  /** `id:hex,id:hex…` (≤ 8): certificate keys to trust; absent = none (the node then checks no certificates). */
  certKeys?: string;
  codecs?: string[];
  flash?: string;
  seed?: number;
  /** The file it came from (for messages). */
  file: string;
}

export class ConfigError extends Error {}

const KNOWN = new Set(['name', 'bind', 'port', 'user', 'password', 'register', 'bootstrap', 'server', 'serverKey', 'serverKeyFile',
  'certKeys', 'certKeysFile', 'codecs', 'flash', 'seed', '$comment']);
const CODECS = ['pcmu', 'pcma', 'ilbc30', 'ilbc20'];
const USER_RE = /^[a-z0-9._-]{1,32}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Reads and validates a config file. Throws ConfigError with a one-line message naming the file and field. */
export function loadConfig(file: string, role: Role): NodeConfig {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    throw new ConfigError(`cannot read config ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`); }
  return parseConfig(json, role, file, path.dirname(path.resolve(file)));
}

/** Validates a parsed config object (see the module comment). `baseDir` resolves relative paths. */
export function parseConfig(json: unknown, role: Role, file = '<config>', baseDir = process.cwd()): NodeConfig {
  const bad = (field: string, msg: string): never => { throw new ConfigError(`${file}: "${field}": ${msg}`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) bad(k, `unknown field (known: ${[...KNOWN].filter((x) => x !== '$comment').join(', ')})`);

  const str = (k: string): string | undefined => {
    if (o[k] === undefined) return undefined;
    if (typeof o[k] !== 'string') bad(k, `expected a string, got ${JSON.stringify(o[k])}`);
    return o[k] as string;
  };
  const bind = str('bind') ?? '127.0.0.1';
  try { ipFromString(bind); } catch { bad('bind', `expected an IPv4 address like "127.0.0.1", got ${JSON.stringify(bind)}`); }
  if (bind.startsWith('127.') && !bind.startsWith('127.0.')) bad('bind', 'loopback addresses must be in 127.0.0.0/16');

  let port = 0;
  if (o.port !== undefined) {
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) bad('port', `expected an integer 0..65535, got ${JSON.stringify(o.port)}`);
    port = o.port as number;
  }
  if (role === 'supernode' && port === 0) bad('port', 'a supernode needs a fixed port (it is what the others bootstrap from)');

  const user = str('user');
  const password = str('password');
  if (role === 'phone') {
    if (user === undefined) bad('user', 'missing (the phone\'s account name)');
    if (!USER_RE.test(user!)) bad('user', `expected 1-32 characters a-z 0-9 . _ -, got ${JSON.stringify(user)}`);
    if (password === undefined || password.length === 0) bad('password', 'missing');
    if (/[\n\r]/.test(password!)) bad('password', 'must be one line');
  } else if (user !== undefined || password !== undefined) {
    bad(user !== undefined ? 'user' : 'password', 'a supernode has no account (remove it)');
  }
  if (o.register !== undefined && typeof o.register !== 'boolean') bad('register', 'expected true or false');

  if (!Array.isArray(o.bootstrap) || o.bootstrap.length === 0) bad('bootstrap', 'expected a list of 1..7 "a.b.c.d:port" supernode endpoints');
  const boots = o.bootstrap as unknown[];
  if (boots.length > 7) bad('bootstrap', `at most 7 entries (the firmware keeps 7), got ${boots.length}`);
  const bootstrap = boots.map((b, i) => endpoint(b, `bootstrap[${i}]`, bad));
  const server = endpoint(o.server, 'server', bad);

  let serverKey = str('serverKey');
  const keyFile = str('serverKeyFile');
  if (serverKey !== undefined && keyFile !== undefined) bad('serverKey', 'give serverKey or serverKeyFile, not both');
  if (keyFile !== undefined) serverKey = readServerKey(path.resolve(baseDir, keyFile), bad);
  if (serverKey === undefined) bad('serverKey', 'missing: the login server\'s public key (printed by `npm run server`), or serverKeyFile');
  if (!HEX64.test(serverKey!)) bad('serverKey', 'expected 64 hex digits');

  let certKeys = str('certKeys');
  const certFile = str('certKeysFile');
  if (certKeys !== undefined && certFile !== undefined) bad('certKeys', 'give certKeys or certKeysFile, not both');
  if (certFile !== undefined) certKeys = readCertKeys(path.resolve(baseDir, certFile), 'certKeysFile', bad);
  else if (certKeys === undefined && keyFile !== undefined) {
    const beside = path.join(path.dirname(path.resolve(baseDir, keyFile)), CERT_KEYS_FILE);
    if (fs.existsSync(beside)) certKeys = readCertKeys(beside, 'serverKeyFile', bad);
  }
  if (certKeys !== undefined && !CERT_KEYS_RE.test(certKeys)) bad('certKeys', 'expected "id:<64 hex>" entries separated by commas (1..8, id 0..65535), as printed by `npm run server`');

  let codecs: string[] | undefined;
  if (o.codecs !== undefined) {
    if (!Array.isArray(o.codecs) || o.codecs.length === 0 || o.codecs.some((c) => !CODECS.includes(c as string))) bad('codecs', `expected a non-empty list of ${CODECS.join(', ')}`);
    codecs = o.codecs as string[];
  }
  const flash = str('flash');
  let seed: number | undefined;
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) bad('seed', 'expected an integer 0..4294967295');
    seed = o.seed as number;
  }
  const name = str('name') ?? (role === 'phone' ? user! : `sn:${port}`);
  return {
    role, name, bind, port, user, password, register: (o.register as boolean | undefined) ?? false, bootstrap, server,
    serverKey: serverKey!.toLowerCase(), certKeys: certKeys?.toLowerCase(), codecs, flash: flash !== undefined ? path.resolve(baseDir, flash) : undefined, seed, file,
  };
}

function endpoint(v: unknown, field: string, bad: (f: string, m: string) => never): Endpoint {
  const s = typeof v === 'string' ? v.trim() : '';
  const m = /^([0-9.]+|localhost):(\d{1,5})$/.exec(s);
  if (!m) return bad(field, `expected "a.b.c.d:port", got ${JSON.stringify(v)}`);
  const ip = m[1] === 'localhost' ? '127.0.0.1' : m[1];
  try { ipFromString(ip); } catch { return bad(field, `bad IPv4 address in ${JSON.stringify(s)}`); }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return bad(field, `port out of range in ${JSON.stringify(s)}`);
  return { ip, port };
}

/** The public file the login server writes into its data directory (server/main.ts): {"certKeys": "id:hex,…"}. */
export const CERT_KEYS_FILE = 'cert-keys.json';
/** A `certKeys=` value the firmware accepts (firmware/lib/config.ts): 1..8 entries `id:<64 hex>`, id 0..65535. */
export const CERT_KEYS_RE = /^(?:(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0):[0-9a-fA-F]{64})(?:,(?:(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0):[0-9a-fA-F]{64})){0,7}$/;

function readCertKeys(file: string, field: string, bad: (f: string, m: string) => never): string {
  let j: { certKeys?: unknown };
  try { j = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) {
    return bad(field, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (typeof j.certKeys !== 'string' || !CERT_KEYS_RE.test(j.certKeys)) return bad(field, `${file} has no valid certKeys ("id:<64 hex>,…")`);
  return j.certKeys;
}

function readServerKey(file: string, bad: (f: string, m: string) => never): string {
  let j: { publicKey?: unknown };
  try { j = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) {
    return bad('serverKeyFile', `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (typeof j.publicKey !== 'string' || !HEX64.test(j.publicKey)) return bad('serverKeyFile', `${file} has no publicKey (64 hex digits)`);
  return j.publicKey;
}

/**
 * The firmware's provisioning text (firmware/lib/config.ts) for a validated config, with the port actually
 * bound and every address as the firmware sees it through `view`.
 */
export function provisioningText(c: NodeConfig, port: number, view: AddressView): string {
  const fw = (e: Endpoint) => `${ipToString(view.toFirmware(ipFromString(e.ip)))}:${e.port}`;
  const lines = [
    c.user ? `user=${c.user}` : '',
    c.password !== undefined ? `password=${c.password}` : '',
    `register=${c.register ? 1 : 0}`,
    `port=${port}`,
    `supernode=${c.role === 'supernode' ? 'auto' : 'never'}`,
    `bootstrap=${c.bootstrap.map(fw).join(',')}`,
    `server=${fw(c.server)}`,
    `serverKey=${c.serverKey}`,
    c.certKeys ? `certKeys=${c.certKeys}` : '',
    c.codecs ? `codecs=${c.codecs.join(',')}` : '',
  ];
  return lines.filter((l) => l.length > 0).join('\n') + '\n';
}
