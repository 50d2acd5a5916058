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
 * hashes a password (UserStore.kdfCount: an unknown user's dummy hash included) and 1 ms for anything else, on `LOGIN_WORKERS` parallel workers (a small
 * server: four cores hashing), each request on the first worker free, in arrival order.
 */
export const LOGIN_SERVICE_US = 50_000;
export const OTHER_SERVICE_US = 1_000;
export const LOGIN_WORKERS = 4;

export function startLoginServer(host: SimHost, port: number, sched: Scheduler, rng: Rng, dbPath = ':memory:', scryptN?: number): LoginHost {
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
  const service = new LoginService({
    store, staticPrivateKey: priv, nowMs: () => sched.nowUs / 1000, signingKey: sk,
    randomBytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = ephRng.u32() & 255; return b; },
  });
  // scrypt is CPU-bound: each request waits for a free worker, then takes its own service time.
  const workerFreeUs = new Array<number>(LOGIN_WORKERS).fill(0);
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
          let wk = 0;
          for (let i = 1; i < workerFreeUs.length; i++) if (workerFreeUs[i] < workerFreeUs[wk]) wk = i;
          const doneUs = Math.max(workerFreeUs[wk], sched.nowUs) + (hashed ? LOGIN_SERVICE_US : OTHER_SERVICE_US);
          workerFreeUs[wk] = doneUs;
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
