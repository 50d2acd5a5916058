/**
 * Server fuzz targets (fast-check arbitraries + the byte mutator): the login server's frame decoder and
 * request handling (raw bodies, and well-sealed requests with hostile plaintexts so the op parsers behind
 * the encryption are reached), and the update service's HTTP handler and image publisher.
 *
 * A finding here is an exception escaping an API documented as "never throws", a broken invariant (the
 * frame decoder disagreeing with a reference model), or an internal error the service masks as
 * SERVER_ERROR (its `serverErrors` counter moving: with an in-memory database that is always a bug).
 */
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { mutate } from './mutate.js';
import { Pool, type Outcome, type Step, type Target } from './target.js';
import type { FuzzRng } from './rng.js';

/**
 * fast-check as a generator: 1024 values of `arb` drawn once (building an arbitrary per input is slow), then
 * one picked per call by `seed`.
 */
const samples = new Map<fc.Arbitrary<unknown>, unknown[]>();
function sample<T>(arb: fc.Arbitrary<T>, seed: number): T {
  let s = samples.get(arb);
  if (!s) { s = fc.sample(arb, { seed: 20261122, numRuns: 1024 }); samples.set(arb, s); }
  return s[seed % s.length] as T;
}
const BYTES64 = fc.uint8Array({ maxLength: 64 });
const BYTES120 = fc.uint8Array({ maxLength: 120 });
const URLS = fc.webUrl({ withQueryParameters: true, withFragments: true });

const enc = new TextEncoder();

export class FrameTarget implements Target {
  readonly name = 'server.frame';
  readonly kind = 'server' as const;
  readonly parsers = 'server/service.ts FrameDecoder (u16-length framing), checked against a reference model';
  readonly resetEvery = 2000;
  private dec!: { push(c: Uint8Array): Uint8Array[]; oversize: boolean; pending: number; maxBody: number };
  private model: number[] = [];
  private bad = false;
  private Decoder!: new (max?: number) => FrameTarget['dec'];
  async load(): Promise<void> { this.Decoder = (await import('../../server/service.js')).FrameDecoder as never; }
  fresh(): void { this.dec = new this.Decoder(4096); this.model = []; this.bad = false; }

  gen(rng: FuzzRng): Step {
    const r = rng.below(100);
    let d: Uint8Array;
    if (r < 40) { const n = rng.chance(0.1) ? 4096 + rng.below(3) : rng.size(300); d = Uint8Array.from([n >> 8, n & 255, ...rng.bytes(n)]); }
    else if (r < 70) d = sample(BYTES64, rng.u32());
    else d = rng.bytes(rng.size(5000));
    if (rng.chance(0.3) && d.length > 1) d = d.subarray(0, rng.below(d.length));
    return { op: 'push', a: 0, b: 0, data: d };
  }

  run(step: Step): Outcome {
    const frames = this.dec.push(step.data);
    // Reference: the same framing, byte by byte.
    const want: Uint8Array[] = [];
    if (!this.bad) {
      this.model.push(...step.data);
      for (;;) {
        if (this.model.length < 2) break;
        const n = (this.model[0] << 8) | this.model[1];
        if (n > 4096) { this.bad = true; this.model = []; break; }
        if (this.model.length < 2 + n) break;
        want.push(Uint8Array.from(this.model.splice(0, 2 + n).slice(2)));
      }
    }
    const same = frames.length === want.length && frames.every((f, i) => Buffer.from(f).equals(Buffer.from(want[i])));
    const out: Outcome = { tokens: [`f${Math.min(frames.length, 4)}`, this.dec.oversize ? 'oversize' : 'ok'], kinds: ['frame chunk'] };
    if (!same || this.dec.oversize !== this.bad || (!this.bad && this.dec.pending !== this.model.length)) {
      out.trap = `invariant: FrameDecoder gave ${frames.length} frames (model ${want.length}), oversize=${this.dec.oversize} (model ${this.bad}), pending=${this.dec.pending} (model ${this.model.length})`;
    }
    return out;
  }
  learn(): void {}
}

type ServiceMod = typeof import('../../server/service.js');
type KeysMod = typeof import('../../server/keys.js');

/** Login service: request frames, raw and well-sealed with fuzzed plaintexts (ops 0x00–0xFF). */
export class LoginTarget implements Target {
  readonly name = 'server.login';
  readonly kind = 'server' as const;
  readonly parsers = 'LoginService.handleFrame: raw bodies and Noise_IK requests (keys.sealRequest with a fresh static key, and hand-built) carrying every op 0x00-0xFF (register, login, lookup, prefix search, buddy ops), responses opened by the client codecs';
  readonly resetEvery = 3000;
  private svc!: InstanceType<ServiceMod['LoginService']>;
  private store: { close?(): void } | null = null;
  private mods!: { service: ServiceMod; keys: KeysMod; store: typeof import('../../server/store.js'); protocol: typeof import('../../server/protocol.js'); noise: Record<string, unknown> | null };
  private readonly priv = new Uint8Array(32).fill(7);
  private pub!: Uint8Array;
  private nowMs = 1_700_000_000_000;
  private readonly plaintexts = new Pool(3000);
  private readonly bodies = new Pool(2000);
  private serverErrors = 0;

  async load(): Promise<void> {
    const [service, keys, store, protocol] = await Promise.all([
      import('../../server/service.js'), import('../../server/keys.js'), import('../../server/store.js'), import('../../server/protocol.js'),
    ]);
    let noise: Record<string, unknown> | null = null;
    try { noise = await import('../../server/noise.js') as unknown as Record<string, unknown>; } catch { noise = null; }
    this.mods = { service, keys, store, protocol, noise };
    this.pub = keys.x25519Public(this.priv);
    const p = protocol;
    for (const pt of [p.encodeRegister('alice', 'alice-secret-1'), p.encodeLogin('alice', 'alice-secret-1'), p.encodeLogin('alice', 'wrong-pass'),
      p.encodeLookup('alice'), p.encodeLookup('bob'), p.encodeRegister('bob', 'bob-secret-22'), Uint8Array.of(4, 2, 97, 108)]) this.plaintexts.add(pt);
    try {
      const b = await import('../../server/buddies.js');
      for (let op = 0x70; op <= 0x76; op++) this.plaintexts.add(b.encodeBuddyRequest(op, 'alice', 'alice-secret-1', 'bob'));
    } catch { /* buddy ops not present */ }
  }

  fresh(): void {
    this.store?.close?.();
    const st = new this.mods.store.UserStore(':memory:', { scryptN: 2 });
    this.store = st as unknown as { close?(): void };
    this.svc = new this.mods.service.LoginService({ store: st, staticPrivateKey: this.priv, nowMs: () => this.nowMs } as never);
    this.serverErrors = 0;
  }

  gen(rng: FuzzRng): Step {
    const r = rng.below(100);
    const pt = () => {
      const s = this.plaintexts.pick(rng)!;
      const q = rng.below(100);
      if (q < 20) return s;
      if (q < 70) return mutate(rng, s, 300);
      if (q < 85) { const b = Uint8Array.from(s); if (b.length) b[0] = rng.below(256); return b; }
      return sample(BYTES120, rng.u32());
    };
    if (r < 45) return { op: 'sealed', a: rng.u32(), b: 0, data: pt() };
    if (r < 75 && this.mods.noise) return { op: 'ik', a: rng.u32(), b: 0, data: pt() };
    const s = this.bodies.pick(rng);
    return { op: 'raw', a: 0, b: 0, data: s && rng.chance(0.6) ? mutate(rng, s, 4200) : rng.bytes(rng.size(300)) };
  }

  run(step: Step): Outcome {
    const { keys } = this.mods;
    this.nowMs += 1000;
    const out: Outcome = { tokens: [], kinds: [] };
    const op = step.data.length ? `0x${step.data[0].toString(16).padStart(2, '0')}` : 'empty';
    let body: Uint8Array;
    let openReply: ((b: Uint8Array) => Uint8Array) | null = null;
    if (step.op === 'sealed') {
      const eph = new Uint8Array(32); new DataView(eph.buffer).setUint32(0, step.a); eph[31] = 1;
      const s = keys.sealRequest(this.pub, step.data, eph, step.a >>> 16);
      body = s.body;
      openReply = (b) => { const o = keys.openResponse(s.key, b); if (o.kind !== 'response') throw new Error(`error frame ${o.errcode} for a well-sealed request`); return o.plaintext; };
      out.kinds.push(`sealed op ${op}`);
    } else if (step.op === 'ik') {
      const n = this.mods.noise as { NoiseHandshake: new (p: string, init: boolean, pro: Uint8Array, k: Record<string, Uint8Array>) => { writeMessage(p: Uint8Array): Uint8Array; readMessage(m: Uint8Array): Uint8Array } };
      const k = keys as unknown as { LOGIN_PROLOGUE?: Uint8Array; padPlaintext?: (p: Uint8Array) => Uint8Array; unpadPlaintext?: (p: Uint8Array) => Uint8Array | null };
      if (!k.LOGIN_PROLOGUE || !k.padPlaintext || !k.unpadPlaintext) return { tokens: ['no-ik'], kinds: ['ik unavailable'] };
      const s = new Uint8Array(32); new DataView(s.buffer).setUint32(0, step.a); s[31] = 2;
      const e = new Uint8Array(32); new DataView(e.buffer).setUint32(0, step.a ^ 0x5a5a5a5a); e[31] = 3;
      const hs = new n.NoiseHandshake('IK', true, k.LOGIN_PROLOGUE, { s, rs: this.pub, e });
      const m1 = hs.writeMessage(k.padPlaintext(step.data));
      body = new Uint8Array(4 + m1.length); body.set(m1, 4);
      openReply = (b) => { const p = k.unpadPlaintext!(hs.readMessage(b.subarray(4))); if (!p) throw new Error('reply does not unpad'); return p; };
      out.kinds.push(`ik op ${op}`);
    } else { body = step.data; out.kinds.push('raw body'); }

    const reply = this.svc.handleFrame(body, `peer${step.a & 3}`);
    if (reply !== null && !(reply instanceof Uint8Array)) { out.trap = `handleFrame returned ${typeof reply}`; return out; }
    const se = this.svc.stats.serverErrors;
    if (se > this.serverErrors) { this.serverErrors = se; out.trap = `server error (an exception inside the service, answered SERVER_ERROR) for ${step.op} op ${op}`; }
    if (reply && openReply) {
      try { const p = openReply(reply); out.tokens.push(`st${p[0]}`, `len${Math.min(p.length, 9)}`); }
      catch (e) { out.trap = `the client could not open the reply to a well-formed request: ${(e as Error).message}`; }
    } else out.tokens.push(reply ? `raw${reply.length > 5 ? reply[4] : 'short'}` : 'closed');
    return out;
  }

  learn(step: Step): void { if (step.op === 'raw') this.bodies.add(step.data); else this.plaintexts.add(step.data); }
  close(): void { this.store?.close?.(); }
}

/** Update service: HTTP method + URL handling and image publishing (header parser, verification). */
export class UpdateTarget implements Target {
  readonly name = 'server.update';
  readonly kind = 'server' as const;
  readonly parsers = 'UpdateService.handle (method, URL routes) + encodeHttpResponse, UpdateService.publish (image header, hash, signature, verifyImage)';
  readonly resetEvery = 2000;
  private svc!: { handle(m: string, u: string): { status: number; body: Uint8Array }; publish(i: Uint8Array): unknown };
  private mod!: typeof import('../../server/update.js');
  private images = new Pool(500);
  private readonly urls = new Pool(2000);
  private key = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 0x24)]), format: 'der', type: 'pkcs8' });

  async load(): Promise<void> {
    this.mod = await import('../../server/update.js');
    const img = await import('../../host-sim/bootrom-image.js');
    for (const v of [1, 6, 0xffffffff]) this.images.add(img.buildImage({ wasm: crypto.randomBytes(v === 1 ? 0 : 200), version: v, buildId: `b${v}`, privateKey: this.key }));
    for (const u of ['/ui/0/5/installed', '/ui/0/5/getlatestversion?build=x', '/images/6.bin', '/images/1.bin', '/', '/ui/0/99999999999/installed', '/images/%00.bin']) this.urls.add(enc.encode(u));
  }
  fresh(): void {
    this.svc = new this.mod.UpdateService(this.key) as never;
    this.svc.publish(this.images.items[1]);
  }

  gen(rng: FuzzRng): Step {
    if (rng.chance(0.2)) { const s = this.images.pick(rng)!; return { op: 'publish', a: 0, b: 0, data: rng.chance(0.1) ? s : mutate(rng, s, 600) }; }
    const u = this.urls.pick(rng)!;
    const data = rng.chance(0.2) ? enc.encode(sample(URLS, rng.u32()).replace(/^https?:\/\/[^/]*/, '')) : mutate(rng, u, 400);
    return { op: 'get', a: rng.below(4), b: 0, data };
  }

  run(step: Step): Outcome {
    if (step.op === 'publish') {
      try { this.svc.publish(step.data); return { tokens: ['published'], kinds: ['image publish'] }; }
      catch (e) {
        const m = (e as Error).message ?? '';
        const ok = e instanceof Error && e.constructor === Error && m.startsWith('cannot publish:') && !m.includes('\n');
        return { tokens: [m.replace(/[0-9a-f]{8,}|\d+/g, '#').slice(0, 50)], kinds: ['image publish'], trap: ok ? undefined : `publish threw ${(e as Error).name}: ${m}` };
      }
    }
    const method = ['GET', 'HEAD', 'POST', 'get'][step.a & 3];
    const url = Buffer.from(step.data).toString('latin1');
    const a = this.svc.handle(method, url);
    const http = this.mod.encodeHttpResponse(a as never, method === 'HEAD');
    const head = Buffer.from(http).toString('latin1');
    const trap = !/^HTTP\/1\.1 \d{3} /.test(head) || !(a.body instanceof Uint8Array) ? `bad answer for ${method} ${JSON.stringify(url)}` : undefined;
    return { tokens: [`s${a.status}`], kinds: ['http request'], trap };
  }
  learn(step: Step): void { if (step.op === 'get') this.urls.add(step.data); else this.images.add(step.data); }
}
