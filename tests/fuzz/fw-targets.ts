/**
 * Firmware fuzz targets: build/firmware.wasm as a supernode and as a phone (rig.ts), driven through its
 * exports with hostile datagrams, TCP streams on connections of every role, console input, and flash records.
 *
 * Message generation enumerates every type byte 0x00–0xFF (so parsers added later are reached without
 * touching this file) and mutates real traffic captured from simulated calls (corpus/captured.json, see
 * capture.ts) plus the hand-written templates below, so most inputs get past the first length checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Rig, fakeBootRom, ip, type FakeConn } from './rig.js';
import { mutate } from './mutate.js';
import { Pool, unhex, type Outcome, type Step, type Target } from './target.js';
import type { FuzzRng } from './rng.js';
import { fixChecksum, validRecord } from './storage-records.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

let moduleCache: { file: string; module: WebAssembly.Module } | null = null;
/** build/firmware.wasm (FUZZ_WASM overrides, e.g. build/firmware.debug.wasm to symbolize a trap). */
export function firmwareModule(): WebAssembly.Module {
  const file = process.env.FUZZ_WASM ? path.resolve(process.env.FUZZ_WASM) : path.join(root, 'build/firmware.wasm');
  if (!moduleCache || moduleCache.file !== file) moduleCache = { file, module: new WebAssembly.Module(fs.readFileSync(file)) };
  return moduleCache.module;
}

/** The captured corpus (empty when it was never captured). */
export function capturedCorpus(): Record<string, string[]> {
  const f = path.join(here, 'corpus/captured.json');
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
}

// Fixed keys of the rig world: the login server's X25519 key as provisioned, the vendor's Ed25519 key the fake
// boot ROM trusts (so the fuzzer can sign update manifests the firmware accepts).
const SERVER_KEY_HEX = '8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2109c674';
/** The phone targets log in for real: the fuzzer plays its supernode and runs server/service.ts as the login server. */
const SERVER_PRIV = new Uint8Array(32).fill(0x33);
const CERT_SEED = new Uint8Array(32).fill(0x44);
type LoginServer = { handleFrame(b: Uint8Array, peer: string): Uint8Array | null };
let serverParts: { publicHex: string; certKeys: string; make(nowMs: () => number): LoginServer } | null = null;
/** Loads the login server modules (dynamically: a server file being edited must not stop the firmware targets). */
export async function loadLoginServer(): Promise<void> {
  if (serverParts) return;
  try {
    const [svc, keys, store, cert] = await Promise.all([import('../../server/service.js'), import('../../server/keys.js'), import('../../server/store.js'), import('../../server/cert.js')]);
    const sk = cert.signingKey(1, CERT_SEED);
    let salt = 1;
    serverParts = {
      publicHex: Buffer.from(keys.x25519Public(SERVER_PRIV)).toString('hex'),
      certKeys: (keys as unknown as { certKeysLine(k: unknown[]): string }).certKeysLine([sk]),
      make: (nowMs) => new svc.LoginService({
        store: new store.UserStore(':memory:', { scryptN: 2, nowMs: () => Math.floor(nowMs()), randomBytes: (n: number) => new Uint8Array(n).fill(salt++ & 255) }),
        staticPrivateKey: SERVER_PRIV, nowMs, signingKey: sk,
      } as never) as unknown as LoginServer,
    };
  } catch (e) { process.stderr.write(`fuzz: login server unavailable (${(e as Error).message}); phones will not log in\n`); }
}
const VENDOR_PRIV = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 0x42)]), format: 'der', type: 'pkcs8' });
const VENDOR_PUB = new Uint8Array((crypto.createPublicKey(VENDOR_PRIV).export({ format: 'der', type: 'spki' }) as Buffer).subarray(12));
/** Signs a manifest body the way server/update.ts does, with a fixed test key only the fuzz rig's boot ROM trusts. */
export function signManifest(body: string): string { return `${body}signature=${crypto.sign(null, Buffer.from(body), VENDOR_PRIV).toString('hex')}\n`; }

const SN_IP = '198.51.100.21', SN2_IP = '198.51.100.22', LOGIN_IP = '198.51.100.10', PHONE_IP = '198.51.100.40', UPDATE_IP = '198.51.100.30';
export const SN_PROVISIONING = `port=33033\nsupernode=auto\nbootstrap=${SN_IP}:33033,${SN2_IP}:33033\nserver=${LOGIN_IP}:33000\nserverKey=${SERVER_KEY_HEX}\n`;
export const PHONE_PROVISIONING = JSON.stringify({
  user: 'bob', password: 'bob-secret-22', register: true, port: 40000, supernode: 'never',
  bootstrap: [`${SN_IP}:33033`, `${SN2_IP}:33033`], server: `${LOGIN_IP}:33000`, serverKey: SERVER_KEY_HEX,
  codecs: ['pcmu', 'pcma'], update: { server: `${UPDATE_IP}:8080`, checkIntervalS: 60 },
});
const PHONE_TEXT_PROVISIONING = `user=bob\npassword=bob-secret-22\nregister=1\nport=40000\nsupernode=never\nbootstrap=${SN_IP}:33033\nserver=${LOGIN_IP}:33000\nserverKey=${SERVER_KEY_HEX}\ncodecs=ilbc30,ilbc20,pcmu,pcma\n`;
/** A phone that logs in to the fuzzer's login server (text provisioning: it carries the certificate keys). */
function phoneLoginProvisioning(): string {
  if (!serverParts) return PHONE_TEXT_PROVISIONING;
  return `user=bob\npassword=bob-secret-22\nregister=1\nport=40000\nsupernode=never\nbootstrap=${SN_IP}:33033,${SN2_IP}:33033\nserver=${LOGIN_IP}:33000\nserverKey=${serverParts.publicHex}\ncertKeys=${serverParts.certKeys}\n`;
}

/** Senders of datagrams: the supernodes, the login server, a NATed peer, a stranger. */
const SOURCES: Array<[number, number]> = [[ip(SN_IP), 33033], [ip(SN2_IP), 33033], [ip(LOGIN_IP), 33000], [ip('203.0.113.7'), 40001], [ip('10.9.8.7'), 5555]];

// Hand-written templates (type byte + plausible body), from tests/host/fuzz-firmware.test.ts.
const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const str8 = (s: string) => [s.length, ...Buffer.from(s)];
const TEMPLATES: number[][] = [
  [0x01, ...u32(7)], [0x02, ...u32(7), ...u32(0xc6336401), 0x80, 0x00], [0x03, ...str8('bob')], [0x04, ...u32(99), ...u32(1)],
  [0x06, 0, ...str8('bob'), ...u32(99), 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xff], [0x07, ...u32(99), 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9],
  [0x10, 0x80, 0x00, ...u32(0xc6336428), 3, ...u32(0xc6336428), 0x80, 0x00], [0x12, 0x01, ...new Array(48).fill(7)], [0x14, ...str8('mallory'), 1],
  [0x15, ...u32(5), ...str8('bob')], [0x17, ...str8('bob'), ...str8('mallory'), 0x20, ...u32(3)], [0x19, 0x80, 0x00],
  [0x1a, ...str8('eve'), 1, ...u32(1), 0, 1, ...u32(2), 0, 2, ...u32(3), 0, 3, 3, 0, 4],
  [0x20, ...u32(3), ...str8('mallory'), ...str8('bob'), 2, 0, 8, 3, 1, ...u32(0xc6336499), 0x13, 0x88],
  [0x21, ...u32(3), 1, 1, ...u32(1), 0, 1], [0x22, ...u32(3), 0, 1, 1, ...u32(1), 0, 1], [0x23, ...u32(3), 0],
  [0x30, ...u32(1), ...new Array(8).fill(0x11), 1, ...str8('bob')], [0x31, ...u32(1), 0, 1, ...u32(0xc6336415), 0x81, 0x29],
  [0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xfe],
  // Sealed supernode datagrams (firmware/sec/dgram.ts): INIT, REPLY, FIRST, DATA, RESET.
  [0x37, ...u32(1), ...new Array(32).fill(9)], [0x38, ...u32(1), ...u32(2), ...new Array(96).fill(5)],
  [0x39, ...u32(2), ...new Array(48 + 20 + 16).fill(3)], [0x3a, ...u32(2), ...u32(0), 0x30, ...new Array(30).fill(1)], [0x3b, ...u32(2)],
];

/** Console input seeds: every command, arguments right and wrong, line editing, escape sequences. */
const UART_SEEDS = [
  'help', 'status', 'stats', 'stats x', 'calls', 'jb', 'lcd', 'hc', 'nat', 'log level', 'log level 3', 'log level 9', 'log levelx',
  'dial bob', 'dial', 'dial a b', 'hangup', 'key 5', 'key send', 'key offhook', 'key onhook', 'key up', 'key zz', 'config', 'config show',
  'config load', 'config x', 'update', 'update check', 'update x', 'frobnicate', '', '\x1b[A', '\x1b[B', '\x1b[C\x1b[D', '\t', 'he\t', 'st\x7f\x7fta',
  '\x03', '\x15', '\x1b[3~', '\x1bO', '{"user":"bob"', PHONE_PROVISIONING, '}', '{"a":[1,2,{"b":"\\"}"}]}', 'config load\r' + PHONE_PROVISIONING,
];

type Role = 'sn' | 'phone';
type Channel = 'udp' | 'tcp' | 'uart' | 'http';

/** Generates overlay messages for one channel (`udp:sn`, `tcp:phone`, …) from seeds, mutation and all 256 types. */
export class MessageGen {
  readonly pools = new Map<string, Pool>();
  private readonly all = new Pool(8000);
  constructor(corpus: Record<string, string[]>) {
    for (const [k, v] of Object.entries(corpus)) for (const h of v) this.add(k, unhex(h));
    for (const t of TEMPLATES) for (const k of ['udp:sn', 'udp:phone', 'tcp:sn', 'tcp:phone']) this.add(k, Uint8Array.from(t));
  }
  add(key: string, b: Uint8Array, rng?: FuzzRng): void {
    let p = this.pools.get(key);
    if (!p) { p = new Pool(); this.pools.set(key, p); }
    p.add(b, rng); this.all.add(b, rng);
  }
  seed(rng: FuzzRng, key: string): Uint8Array {
    return this.pools.get(key)?.pick(rng) ?? this.all.pick(rng) ?? Uint8Array.of(rng.below(256));
  }
  message(rng: FuzzRng, key: string, maxLen = 1400): Uint8Array {
    const r = rng.below(100);
    const s = this.seed(rng, key);
    if (r < 10) return s;
    if (r < 55) return mutate(rng, s, maxLen, this.all.pick(rng));
    if (r < 75) { const b = Uint8Array.from(s); if (b.length) b[0] = rng.below(256); else return Uint8Array.of(rng.below(256)); return rng.chance(0.5) ? mutate(rng, b, maxLen) : b; }
    if (r < 85) return Uint8Array.from([rng.below(256), ...rng.bytes(rng.size(300))]);
    if (r < 95) return mutate(rng, this.all.pick(rng) ?? s, maxLen);
    return rng.bytes(1 + rng.size(maxLen - 1));
  }
}

function frame(b: Uint8Array): Uint8Array { const f = new Uint8Array(b.length + 2); f[0] = b.length >> 8; f[1] = b.length & 255; f.set(b, 2); return f; }

/**
 * Wraps messages as a TCP stream chunk: mostly one well-framed message, sometimes several (→ `framed`: the
 * rig seals each on a Noise channel), or raw bytes and broken framing (→ delivered as they are: the deframer
 * and the channel's handshake/authentication are the parsers then).
 */
function stream(rng: FuzzRng, gen: MessageGen, key: string, msg: Uint8Array): { data: Uint8Array; framed: boolean } {
  const r = rng.below(100);
  if (r < 80) return { data: frame(msg), framed: true };
  if (r < 92) { const m2 = gen.message(rng, key); return { data: Uint8Array.from([...frame(msg), ...frame(m2)]), framed: true }; }
  if (r < 96) return { data: msg, framed: false };
  const f = frame(msg); const v = rng.below(3) === 0 ? 0xffff : rng.below(6000); f[0] = v >> 8; f[1] = v & 255; return { data: f, framed: false };
}

function typeKind(prefix: string, b: Uint8Array): string {
  if (!b.length) return `${prefix} empty`;
  const t = (b[0] & 0xc0) === 0x80 ? 'rtp' : `0x${b[0].toString(16).padStart(2, '0')}`;
  return `${prefix} ${t}`;
}

/** Classifies what FirmwareNode recorded: a trap, the firmware watchdog (a hang), or a reboot. */
function verdict(rig: Rig, out: Outcome): Outcome {
  const c = rig.crash;
  if (!c) return out;
  if (c.startsWith('watchdog')) out.hang = c;
  else if (c === 'rebooting' || c === 'power off') out.reset = true;
  else out.trap = `${c}${rig.panic ? ` (${rig.panic})` : ''}${rig.trapStack ? ` at ${rig.trapStack}` : ''}`;
  return out;
}

/** Overlay wire messages to a supernode or a phone over UDP or TCP, and console lines. */
export class FwTarget implements Target {
  readonly kind = 'firmware' as const;
  readonly name: string;
  readonly parsers: string;
  readonly resetEvery = 4000;
  private rig!: Rig;
  private last: { key: string; msg: Uint8Array } | null = null;
  constructor(readonly role: Role, readonly channel: Channel, readonly msgs: MessageGen) {
    this.name = `fw.${role}.${channel}`;
    this.parsers = channel === 'udp' ? `every UDP message type 0x00-0xFF and RTP to a ${role === 'sn' ? 'supernode (all its sockets)' : 'phone'}`
      : channel === 'tcp' ? (role === 'sn' ? 'TCP frames of every type on client, supernode-peer, login-server and pending connections of a supernode'
        : 'TCP frames of every type on a logged-in phone\'s supernode connection (the fuzzer is its supernode and login server) and inbound call connections')
        : channel === 'http' ? 'HTTP responses and signed manifests to the update client of a phone (JSON provisioning, boot ROM)'
        : `console (UART) commands, line editing, escape sequences and JSON config load on a ${role}`;
    if (channel === 'uart') for (const s of UART_SEEDS) msgs.add(`uart`, new TextEncoder().encode(s));
  }

  async load(): Promise<void> { await loadLoginServer(); }

  fresh(): void {
    const prov = this.role === 'sn' ? SN_PROVISIONING : this.channel === 'http' ? PHONE_PROVISIONING : phoneLoginProvisioning();
    const flash = new Map<number, Uint8Array>([[1, new TextEncoder().encode(prov)]]);
    this.rig = new Rig({
      name: this.name, module: firmwareModule(), ip: this.role === 'sn' ? SN_IP : PHONE_IP, flash, seed: 0x5eed,
      bootRom: this.role === 'phone' ? fakeBootRom(VENDOR_PUB) : undefined,
    });
    // Reflection: messages the node sends are current-format messages its peers (and, between supernodes, it
    // itself) receive; a sample of them (every new type, then 1 in 64) joins the corpus.
    const sentTypes = new Set<string>();
    let sentN = 0;
    this.rig.host.sent = (tr, m) => {
      if (!m.length || (m[0] & 0xc0) === 0x80) return;
      const id = `${tr}${m[0]}`;
      if (sentTypes.has(id) && (++sentN & 63) !== 0) return;
      sentTypes.add(id);
      this.msgs.add(`${tr}:${this.role}`, m.slice());
    };
    if (this.role === 'phone' && this.channel !== 'http' && serverParts) {
      // Be the phone's supernode (HELLO_ACK) and pass its sealed LOGIN to a real login service: the phone
      // gets a certificate and goes online, so the fuzz reaches the parsers of a logged-in phone.
      const rig = this.rig;
      const login = serverParts.make(() => rig.sched.nowUs / 1000);
      let reqId = 1;
      rig.host.respond = (c, m) => {
        if (c.remotePort === 33000 || !m.length) return [];
        if (m[0] === 0x10) return [Uint8Array.from([0x11, ...u32(ip(PHONE_IP)), 40000 >> 8, 40000 & 255, 0, ...new Array(16).fill(0x77)])];
        if (m[0] !== 0x12) return [];
        const r = login.handleFrame(Uint8Array.from([...u32(reqId++), ...m.subarray(1)]), 'sn');
        return r ? [Uint8Array.from([0x13, ...r.subarray(4)])] : [];
      };
      rig.advance(1_000_000);
      for (let i = 0; i < 4 && !rig.crash && !rig.node.events.some((e) => e.name === 'login.ok'); i++) {
        while (rig.host.connecting.length && !rig.crash) rig.completeConnect(rig.host.connecting[0].remotePort === 33033);
        rig.advance(500_000);
      }
    }
    this.rig.takeTokens();
  }

  private key(channel: 'udp' | 'tcp'): string { return `${channel}:${this.role}`; }

  gen(rng: FuzzRng): Step {
    const r = rng.below(100);
    this.last = null;
    const data = (channel: 'udp' | 'tcp') => { const k = this.key(channel); const m = this.msgs.message(rng, k); this.last = { key: k, msg: m }; return m; };
    if (this.channel === 'udp' || (this.channel === 'tcp' && r >= 95)) {
      if (r < 88 || this.channel === 'tcp') return { op: 'udp', a: rng.u32(), b: rng.below(SOURCES.length), data: data('udp') };
      if (r < 93) return { op: 'time', a: rng.chance(0.5) ? 1000 + rng.below(200_000) : rng.below(40_000_000), b: 0, data: new Uint8Array(0) };
      if (r < 97) return { op: 'connect', a: rng.chance(0.8) ? 1 : 0, b: 0, data: new Uint8Array(0) };
      return { op: 'key', a: rng.pick([0x100, 0x101, 0x102, 0x108, 0x120, 0x121]), b: 0, data: new Uint8Array(0) };
    }
    if (this.channel === 'tcp' || this.channel === 'http') {
      // Accepting costs a Noise handshake (six X25519): connections are reused for many messages.
      if (r < 74) { const m = data('tcp'); const s = this.maybeHttp(rng, m); return { op: 'data', a: rng.u32(), b: s.framed ? 1 : 0, data: s.data }; }
      // b: source | 8 = run a Noise channel | 16 = corrupt our handshake message 3 (at a >>> 8).
      if (r < 78) return { op: 'accept', a: rng.u32(), b: rng.below(SOURCES.length) | (rng.chance(0.85) ? 8 : 0) | (rng.chance(0.1) ? 16 : 0), data: frame(this.entry(rng)) };
      // a: 0 refuse, 1 complete, 2 complete but corrupt our handshake message 2 (at b).
      if (r < 86) return { op: 'connect', a: rng.chance(0.15) ? 0 : rng.chance(0.1) ? 2 : 1, b: rng.below(200), data: new Uint8Array(0) };
      if (r < 89) return { op: 'close', a: rng.u32(), b: 0, data: new Uint8Array(0) };
      if (r < 93) return { op: 'time', a: rng.chance(0.5) ? 1000 + rng.below(200_000) : rng.below(40_000_000), b: 0, data: new Uint8Array(0) };
      return { op: 'key', a: rng.pick([0x100, 0x101, 0x102, 0x108, 0x120, 0x121]), b: 0, data: new Uint8Array(0) };
    }
    // uart
    if (r < 90) {
      let m = this.msgs.message(rng, 'uart', 300);
      if (rng.below(100) < 60) m = this.msgs.seed(rng, 'uart');
      if (rng.chance(0.3)) m = mutate(rng, m, 300);
      this.last = { key: 'uart', msg: m };
      const tail = rng.chance(0.85) ? [rng.pick([13, 10, 13])] : [];
      return { op: 'uart', a: 0, b: 0, data: Uint8Array.from([...m, ...tail]) };
    }
    if (r < 97) return { op: 'time', a: rng.below(200_000), b: 0, data: new Uint8Array(0) };
    return { op: 'key', a: rng.pick([0x100, 0x101, 0x102, 0x108]), b: 0, data: new Uint8Array(0) };
  }

  /** For the phone, data on the update client's connection is HTTP: a response head with (often) a signed manifest. */
  private maybeHttp(rng: FuzzRng, m: Uint8Array): { data: Uint8Array; framed: boolean } {
    if (this.channel !== 'http') return stream(rng, this.msgs, this.key('tcp'), m);
    const body = rng.chance(0.6)
      ? signManifest(`manifest=1\nversion=${rng.pick([1, 5, 6, 4294967295, 4294967296, 0])}\nsize=${rng.pick([1, 1000, 16777216, 16777217, 0])}\nsha256=${'ab'.repeat(32)}\nbuild=b${rng.below(99)}\nurl=${rng.pick(['/images/6.bin', 'x', '/' + 'a'.repeat(250)])}\n`)
      : Buffer.from(mutate(rng, new TextEncoder().encode(signManifest('manifest=1\nversion=6\nsize=100\nurl=/images/6.bin\n')), 600)).toString('latin1');
    const cl = rng.chance(0.8) ? `Content-Length: ${rng.chance(0.8) ? Buffer.byteLength(body, 'latin1') : rng.below(1000)}\r\n` : '';
    let text = `HTTP/1.1 ${rng.pick(['200 OK', '404 Not Found', '200', '999 X', 'xyz'])}\r\n${cl}Connection: close\r\n\r\n${body}`;
    if (rng.chance(0.3)) text = Buffer.from(mutate(rng, new TextEncoder().encode(text), 3000)).toString('latin1');
    return { data: new Uint8Array(Buffer.from(text, 'latin1')), framed: false };
  }

  /** First frame of an inbound connection: what decides its role (HELLO, SN_HELLO, INVITE, CALL_ATTACH) or anything. */
  private entry(rng: FuzzRng): Uint8Array {
    const want = this.role === 'sn' ? [0x10, 0x19, 0x10, 0x19, 0x20] : [0x20, 0x24, 0x20];
    const t = rng.pick(want);
    const pool = this.msgs.pools.get(this.key('tcp'))?.items.concat(this.msgs.pools.get(`tcp:${this.role === 'sn' ? 'phone' : 'sn'}`)?.items ?? []) ?? [];
    const cands = pool.filter((m) => m[0] === t);
    const s = cands.length ? rng.pick(cands) : Uint8Array.of(t);
    return rng.chance(0.25) ? mutate(rng, s, 1400) : s;
  }

  run(step: Step): Outcome {
    const rig = this.rig;
    const out: Outcome = { tokens: [], kinds: [] };
    const open = rig.host.open;
    switch (step.op) {
      case 'udp': {
        const ports = rig.udpPorts();
        if (!ports.length) break;
        const [sip, sport] = SOURCES[step.b % SOURCES.length];
        // Mostly the node's main socket (the first bound); sometimes its others (alt port, NAT discovery).
        const port = step.a % 4 === 0 ? ports[(step.a >>> 2) % ports.length] : ports[0];
        rig.udp(port, sip, sport, step.data);
        out.kinds.push(typeKind('udp', step.data));
        break;
      }
      case 'data': {
        // The update client's connection takes the HTTP (fw.phone.http); a check is asked for when none is open.
        const pool = this.channel === 'http' ? open.filter((c) => c.remotePort === 8080) : open;
        if (this.channel === 'http' && !pool.length && !rig.host.connecting.length) rig.uart(new TextEncoder().encode('update check\r'));
        if (!pool.length) { out.kinds.push('tcp (no connection)'); break; }
        const c = pool[step.a % pool.length];
        if (step.b === 1) rig.sendMessages(c, Rig.unframe(step.data)); else rig.tcpData(c, step.data);
        out.kinds.push(typeKind(`tcp ${c.label}`, step.data.subarray(2)));
        break;
      }
      case 'accept': {
        const ls = [...rig.host.listeners.keys()];
        if (!ls.length) break;
        const [sip, sport] = SOURCES[(step.b & 7) % SOURCES.length];
        const c = rig.accept(ls[step.a % ls.length], sip, sport + (step.a & 255), (step.b & 8) !== 0, step.b & 16 ? step.a >>> 8 : -1);
        if (c && !rig.crash) rig.sendMessages(c, Rig.unframe(step.data));
        out.kinds.push(typeKind('tcp accept', step.data.subarray(2)));
        break;
      }
      case 'connect': rig.completeConnect(step.a !== 0, step.a === 2 ? step.b : -1); break;
      case 'close': if (open.length) rig.peerClose(open[step.a % open.length]); break;
      case 'time': rig.advance(step.a); break;
      case 'key': rig.key(step.a, true); if (!rig.crash) rig.key(step.a, false); break;
      case 'uart': rig.uart(step.data); out.kinds.push('uart'); break;
    }
    if (!rig.crash) {
      rig.advance(2000);
      // Bound what piles up: refuse connects nobody answered, close the oldest connections.
      while (rig.host.connecting.length > 6 && !rig.crash) rig.completeConnect(false);
      while (open.length > 24 && !rig.crash) rig.peerClose(open[0] as FakeConn);
    }
    out.tokens = rig.takeTokens();
    return verdict(rig, out);
  }

  learn(): void { if (this.last) this.msgs.add(this.last.key, this.last.msg); }
}

/**
 * Storage records at boot: every flash key the firmware reads (provisioning text and JSON, host cache,
 * account, identity seed, NAT record, update state, call history, UI settings, and keys nobody owns yet),
 * mutated from the records real nodes wrote. Each step boots a fresh firmware with them and lets it run
 * 7 s of virtual time (login attempts, host cache use), then asks the console to print what it loaded.
 */
export class StorageTarget implements Target {
  readonly name = 'fw.storage';
  readonly kind = 'firmware' as const;
  readonly parsers = 'flash records at boot: provisioning (text, JSON), host cache, account, identity, NAT, update state, call history, UI settings, unknown keys';
  readonly resetEvery = 1;
  private readonly seeds = new Map<number, Pool>();
  private last: Map<number, Uint8Array> | null = null;
  constructor(corpus: Record<string, string[]>) {
    for (const [k, v] of Object.entries(corpus)) {
      const m = /^flash:(\d+)$/.exec(k);
      if (m) for (const h of v) this.pool(Number(m[1])).add(unhex(h));
    }
    const te = new TextEncoder();
    for (const p of [SN_PROVISIONING, PHONE_PROVISIONING, PHONE_TEXT_PROVISIONING]) this.pool(1).add(te.encode(p));
    // Every key a module reads (firmware/lib/keys.ts, firmware/device/storage-keys.ts and newer ones), also
    // those without a captured record (then random bytes).
    for (let k = 2; k <= 20; k++) this.pool(k);
  }
  private pool(k: number): Pool { let p = this.seeds.get(k); if (!p) { p = new Pool(500); this.seeds.set(k, p); } return p; }
  fresh(): void {}

  gen(rng: FuzzRng): Step {
    const recs = new Map<number, Uint8Array>();
    for (const [k, p] of this.seeds) {
      const s = (rng.chance(0.5) ? validRecord(rng, k) : null) ?? p.pick(rng) ?? rng.bytes(rng.size(64));
      const r = rng.below(100);
      if (r < 15) continue; // absent
      recs.set(k, r < 45 ? s : r < 90 ? (rng.chance(0.5) ? fixChecksum(k, mutate(rng, s, 4096)) : mutate(rng, s, 4096)) : rng.bytes(rng.size(600)));
    }
    if (rng.chance(0.1)) recs.set(rng.below(32), rng.bytes(rng.size(200)));
    this.last = recs;
    const parts: number[] = [];
    for (const [k, v] of recs) parts.push(k, v.length >> 8, v.length & 255, ...v);
    return { op: 'boot', a: rng.chance(0.3) ? 1 : 0, b: 0, data: Uint8Array.from(parts) };
  }

  run(step: Step): Outcome {
    const recs = new Map<number, Uint8Array>();
    const d = step.data;
    for (let i = 0; i + 3 <= d.length;) { const k = d[i], n = (d[i + 1] << 8) | d[i + 2]; recs.set(k, d.slice(i + 3, i + 3 + n)); i += 3 + n; }
    const out: Outcome = { tokens: [], kinds: [...recs.keys()].map((k) => `flash key ${k}`) };
    const rig = new Rig({ name: this.name, module: firmwareModule(), ip: step.a ? SN_IP : PHONE_IP, flash: recs, seed: 0x5eed + step.a, bootRom: fakeBootRom(VENDOR_PUB) });
    if (!rig.crash) rig.advance(1_000_000);
    if (!rig.crash) rig.completeConnect(true);
    if (!rig.crash) rig.advance(6_000_000);
    if (!rig.crash) rig.uart(new TextEncoder().encode('status\rhc\rnat\rcalls\rconfig show\rupdate\r'));
    out.tokens = rig.takeTokens();
    return verdict(rig, out);
  }

  learn(): void { if (this.last) for (const [k, v] of this.last) this.pool(k).add(v); }
}

/** Flash keys the firmware decodes (firmware/lib/keys.ts, device/storage-keys.ts, im/keys.ts), and 5 (written only). */
export const STORAGE_KEYS = [1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15, 16];
/** Those fuzzStorage re-runs (5 and 13 have no re-runnable decoder: fw.storage covers them at boot). */
const RELOADABLE_KEYS = [1, 2, 3, 4, 8, 9, 10, 14, 15, 16];
const MORE_PROVISIONING = [
  `${PHONE_TEXT_PROVISIONING}certKeys=1:${'ab'.repeat(32)},2:${'cd'.repeat(32)}\nsnMaxClients=5\nsnMinUptimeS=60\n`,
  JSON.stringify({ user: 'carol', password: 'carol-secret', bootstrap: ['1.2.3.4:5'], server: '1.2.3.4:6', serverKey: 'ef'.repeat(32), display: { rows: 4, cols: 24 }, update: { server: '5.6.7.8:80', checkIntervalS: 600 }, codecs: ['pcma'] }),
  JSON.stringify({ bootstrap: ['1.2.3.4:5', '1.2.3.5:5', '1.2.3.6:5', '1.2.3.7:5', '1.2.3.8:5', '1.2.3.9:5', '1.2.3.10:5', '1.2.3.11:5'], server: '1.2.3.4:6', serverKey: 'ef'.repeat(32) }),
  'user=\npassword=\nport=99999\nbootstrap=1.2.3.4\nserverKey=zz\ncertKeys=9:00\ncodecs=opus,pcmu,pcmu\n',
];

/**
 * Storage records without a boot per input: one long-lived phone firmware, and for each input the fuzzer
 * writes one flash record (or erases it) and calls the fuzz-only export `fuzzStorage(key)` (hal/ABI.md), which
 * re-runs the boot-time decoder of that key (firmware/device/storage-fuzz.ts). Records are well-formed ones
 * built from the firmware's layouts (storage-records.ts), mutated, often with their FNV-1a trailer repaired,
 * or random. Now and then the console prints what was loaded (`config show`, `hc`, `calls`, `buddies`), so the
 * values decoded are used too. Boot-order effects stay with `fw.storage` (a boot per input).
 */
export class StorageRecordsTarget implements Target {
  readonly name = 'fw.storage.records';
  readonly kind = 'firmware' as const;
  readonly parsers = 'flash record decoders on a running phone (fuzzStorage export): provisioning text/JSON, host cache, account, identity, update state, call history, UI settings, IM state, buddy list, buddy outbox (+ keys 5, 13: no re-runnable decoder)';
  readonly resetEvery = 20_000;
  private rig!: Rig;
  private readonly seeds = new Map<number, Pool>();
  private last: { key: number; data: Uint8Array } | null = null;
  constructor(corpus: Record<string, string[]>) {
    for (const [k, v] of Object.entries(corpus)) {
      const m = /^flash:(\d+)$/.exec(k);
      if (m) for (const h of v) this.pool(Number(m[1])).add(unhex(h));
    }
    const te = new TextEncoder();
    for (const p of [SN_PROVISIONING, PHONE_PROVISIONING, PHONE_TEXT_PROVISIONING, ...MORE_PROVISIONING]) this.pool(1).add(te.encode(p));
  }
  private pool(k: number): Pool { let p = this.seeds.get(k); if (!p) { p = new Pool(500); this.seeds.set(k, p); } return p; }

  fresh(): void {
    this.rig = new Rig({ name: this.name, module: firmwareModule(), ip: PHONE_IP, flash: new Map([[1, new TextEncoder().encode(PHONE_TEXT_PROVISIONING)]]), seed: 0x5eed, bootRom: fakeBootRom(VENDOR_PUB) });
    if (!this.rig.crash) this.rig.advance(1_000_000);
    this.rig.takeTokens();
  }

  /** FUZZ_STORAGE_KEYS=2,14 limits the keys (to bisect a finding). */
  private readonly keys = process.env.FUZZ_STORAGE_KEYS ? process.env.FUZZ_STORAGE_KEYS.split(',').map(Number) : null;

  gen(rng: FuzzRng): Step {
    const key = this.keys ? rng.pick(this.keys) : rng.chance(0.03) ? rng.below(32) : rng.pick(RELOADABLE_KEYS);
    const r = rng.below(100);
    const valid = () => validRecord(rng, key) ?? rng.bytes(rng.size(64));
    const seed = () => (rng.chance(0.5) ? this.pool(key).pick(rng) : undefined) ?? valid();
    let data: Uint8Array;
    if (r < 25) data = valid();
    else if (r < 80) { data = mutate(rng, seed(), 4096, this.pool(key).pick(rng)); if (rng.chance(0.6)) data = fixChecksum(key, data); }
    else if (r < 92) data = rng.bytes(rng.size(rng.chance(0.1) ? 4096 : 600));
    else data = seed();
    this.last = { key, data };
    // b: 1 = erase the record instead, 2 = then print it on the console.
    return { op: 'record', a: key, b: (rng.chance(0.04) ? 1 : 0) | (rng.chance(0.08) ? 2 : 0), data };
  }

  run(step: Step): Outcome {
    const rig = this.rig;
    const key = step.a;
    const out: Outcome = { tokens: [], kinds: [`flash key ${key}`] };
    if (step.b & 1) rig.flash.erase(key); else rig.flash.write(key, step.data.subarray(0, 4096));
    const node = rig.node as unknown as { deliver(f: () => void): void; enter(f: () => bigint): void; ex: { fuzzStorage(k: number, now: bigint): bigint } };
    const n0 = rig.node.events.length;
    node.deliver(() => node.enter(() => node.ex.fuzzStorage(key, BigInt(Math.floor(rig.sched.nowUs)))));
    const ev = rig.node.events.slice(n0).find((e) => e.name === 'storage.reload');
    if (!rig.crash) {
      if (!ev) out.trap = `fuzzStorage(${key}) returned without its storage.reload event`;
      else {
        const res = Number(ev.kv.result);
        // Result class, not value (values are counts and versions: they would flood the coverage set).
        out.tokens.push(`res:${res < 0 ? res : res === 0 ? 0 : res < 10 ? 'few' : 'many'}`);
      }
      if (step.b & 2) {
        const cmd = key === 1 ? 'config show' : key === 2 ? 'hc' : key === 9 ? 'calls' : key === 15 || key === 16 ? 'buddies' : 'status';
        rig.uart(new TextEncoder().encode(`${cmd}\r`));
      }
      rig.advance(1000);
    }
    out.tokens.push(...rig.takeTokens().filter((t) => t !== 'e:storage.reload'));
    return verdict(rig, out);
  }

  learn(): void { if (this.last) this.pool(this.last.key).add(this.last.data); }
}
