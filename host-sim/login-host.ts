/**
 * Runs the login service (server/service.ts) on a simulated host: the same transport-agnostic core that
 * `npm run server` serves over real TCP, here behind a simulated TCP listener.
 */
import { LoginService, FrameDecoder, encodeFrame } from '../server/service.js';
import { UserStore } from '../server/store.js';
import { signingKey, type SigningKey } from '../server/cert.js';
import { certKeysLine } from '../server/keys.js';
import type { SimHost } from './net/types.js';
import type { Scheduler } from './net/scheduler.js';
import type { Rng } from './net/rng.js';
import { ipToString } from './net/ip.js';

export interface LoginHost {
  service: LoginService;
  store: UserStore;
  publicKey: Uint8Array;
  /** The certificate signing key (id 1) and the `certKeys=` provisioning value phones trust it with. */
  signingKey: SigningKey;
  certKeys: string;
  close(): void;
}

/**
 * Virtual time the login server spends on one request: scrypt (N = 16384, r = 8) dominates REGISTER and LOGIN.
 * The NAT lab measured the real server's round trip at 142–169 ms against 2 RTT = 100 ms of network (so ≈ 50 ms
 * per hash on an idle 2-core machine; 100–250 ms under load), so the model charges 50 ms per request that
 * hashes a password (UserStore.kdfCount: an unknown user's dummy hash included) on `LOGIN_WORKERS` parallel workers
 * (a small server: four cores hashing), each request on the first worker free, in arrival order; anything else
 * (directory lookups, prefix searches, BUSY answers) takes 1 ms on the front thread, which does not wait for
 * the hashes.
 */
export const LOGIN_SERVICE_US = 50_000;
export const OTHER_SERVICE_US = 1_000;
export const LOGIN_WORKERS = 4;
/**
 * Load shedding: a request that would wait longer than this for a hashing worker is answered BUSY with a
 * retry-after instead (server/protocol.ts Status.BUSY), well inside the phones' 30 s login timeout, so the
 * server never hashes for a phone that has given up (the congestion collapse of a login storm, skype-facts.md
 * §August 2007 outage).
 */
export const LOGIN_QUEUE_MAX_US = 5_000_000;

/** The simulated server's capacity (defaults: LOGIN_WORKERS, LOGIN_QUEUE_MAX_US; queueMaxUs 0 = never shed). */
export interface LoginLoad {
  workers?: number;
  queueMaxUs?: number;
}

export function startLoginServer(host: SimHost, port: number, sched: Scheduler, rng: Rng, dbPath = ':memory:', scryptN?: number, load: LoginLoad = {}): LoginHost {
  const keyRng = rng.split('login-server-key');
  const priv = new Uint8Array(32);
  for (let i = 0; i < 32; i++) priv[i] = keyRng.u32() & 255;
  const saltRng = rng.split('login-server-salts');
  const store = new UserStore(dbPath, {
    scryptN,
    randomBytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = saltRng.u32() & 255; return b; },
    nowMs: () => Math.floor(sched.nowUs / 1000),
  });
  const signRng = rng.split('login-server-signing');
  const seed = new Uint8Array(32);
  for (let i = 0; i < 32; i++) seed[i] = signRng.u32() & 255;
  const sk = signingKey(1, seed);
  const ephRng = rng.split('login-server-noise');
  const workers = load.workers ?? LOGIN_WORKERS;
  const queueMaxUs = load.queueMaxUs ?? LOGIN_QUEUE_MAX_US;
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError('login server workers must be an integer >= 1');
  // scrypt is CPU-bound: each hashing request waits for a free worker, then takes its own service time.
  const workerFreeUs = new Array<number>(workers).fill(0);
  let frontFreeUs = 0;
  const firstFree = (): number => {
    let wk = 0;
    for (let i = 1; i < workerFreeUs.length; i++) if (workerFreeUs[i] < workerFreeUs[wk]) wk = i;
    return wk;
  };
  /** Admission (LoginServiceOptions.admit): retry-after = the time the queue needs to drain, at least 1 s. */
  const admit = (): number => {
    if (queueMaxUs <= 0) return 0;
    const waitUs = workerFreeUs[firstFree()] - sched.nowUs;
    return waitUs > queueMaxUs ? Math.max(1000, Math.ceil(waitUs / 1000)) : 0;
  };
  const service = new LoginService({
    admit,
    store, staticPrivateKey: priv, nowMs: () => sched.nowUs / 1000, signingKey: sk,
    randomBytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = ephRng.u32() & 255; return b; },
  });
  const listener = host.tcpListen(port, (conn) => {
    const dec = new FrameDecoder();
    const peer = ipToString(conn.remoteIp);
    conn.setHandlers({
      onData(data) {
        for (const body of dec.push(data)) {
          const buddyHashes = service.buddies.stats.hashes;
          const kdfBefore = store.kdfCount;
          const resp = service.handleFrame(body, peer);
          // Charged by the scrypt work actually done (issue #7): an unknown user costs the dummy hash, so it takes
          // exactly as long as a wrong password (tests/security/security-login.test.ts).
          const hashed = store.kdfCount > kdfBefore || service.buddies.stats.hashes > buddyHashes;
          let doneUs: number;
          if (hashed) {
            const wk = firstFree();
            doneUs = workerFreeUs[wk] = Math.max(workerFreeUs[wk], sched.nowUs) + LOGIN_SERVICE_US;
          } else doneUs = frontFreeUs = Math.max(frontFreeUs, sched.nowUs) + OTHER_SERVICE_US;
          sched.at(doneUs, () => { if (resp === null) conn.close(); else conn.send(encodeFrame(resp)); });
          if (resp === null) return;
        }
        if (dec.oversize) conn.close();
      },
    });
  });
  return {
    service, store, publicKey: service.publicKey, signingKey: sk, certKeys: certKeysLine([sk]),
    close() { listener.close(); store.close(); },
  };
}
