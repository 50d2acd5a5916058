/**
 * Runs the login service (server/service.ts) on a simulated host: the same transport-agnostic core that
 * `npm run server` serves over real TCP, here behind a simulated TCP listener.
 */
import { LoginService, FrameDecoder, encodeFrame } from '../server/service.js';
import { UserStore } from '../server/store.js';
import type { SimHost } from './net/types.js';
import type { Scheduler } from './net/scheduler.js';
import type { Rng } from './net/rng.js';
import { ipToString } from './net/ip.js';

export interface LoginHost {
  service: LoginService;
  store: UserStore;
  publicKey: Uint8Array;
  close(): void;
}

export function startLoginServer(host: SimHost, port: number, sched: Scheduler, rng: Rng, dbPath = ':memory:'): LoginHost {
  const keyRng = rng.split('login-server-key');
  const priv = new Uint8Array(32);
  for (let i = 0; i < 32; i++) priv[i] = keyRng.u32() & 255;
  const saltRng = rng.split('login-server-salts');
  const store = new UserStore(dbPath, {
    randomBytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = saltRng.u32() & 255; return b; },
    nowMs: () => Math.floor(sched.nowUs / 1000),
  });
  const service = new LoginService({ store, staticPrivateKey: priv, nowMs: () => sched.nowUs / 1000 });
  const listener = host.tcpListen(port, (conn) => {
    const dec = new FrameDecoder();
    const peer = ipToString(conn.remoteIp);
    conn.setHandlers({
      onData(data) {
        for (const body of dec.push(data)) {
          const resp = service.handleFrame(body, peer);
          if (resp === null) { conn.close(); return; }
          conn.send(encodeFrame(resp));
        }
        if (dec.oversize) conn.close();
      },
    });
  });
  return { service, store, publicKey: service.publicKey, close() { listener.close(); store.close(); } };
}
