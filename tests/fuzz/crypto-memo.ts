/**
 * Speed-up for fuzzing only: node:crypto's createPrivateKey/createPublicKey (every X25519/Ed25519 operation of
 * the simulator's crypto HAL and of server/noise.ts builds KeyObjects from raw DER) cost ~1 ms each on a busy
 * machine, and the fuzz rig meets the same keys again and again (its entropy restarts with every fresh
 * firmware). KeyObjects are immutable, so identical DER input can share one. Installed by importing this
 * module; `syncBuiltinESMExports` makes `import { createPrivateKey } from 'node:crypto'` see it too.
 */
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cjs = require('node:crypto') as typeof crypto & Record<string, unknown>;
const mod = require('node:module') as { syncBuiltinESMExports(): void };

function memo(name: 'createPrivateKey' | 'createPublicKey'): void {
  const orig = cjs[name] as (k: unknown) => crypto.KeyObject;
  if ((orig as { memo?: boolean }).memo) return;
  const cache = new Map<string, crypto.KeyObject>();
  const f = (k: unknown): crypto.KeyObject => {
    const o = k as { key?: unknown; format?: string; type?: string } | null;
    if (!o || typeof o !== 'object' || !(o.key instanceof Uint8Array) || o.format !== 'der') return orig(k);
    const id = `${o.type}:${Buffer.from(o.key).toString('base64')}`;
    let v = cache.get(id);
    if (!v) { if (cache.size > 20000) cache.clear(); v = orig(k); cache.set(id, v); }
    return v;
  };
  (f as { memo?: boolean }).memo = true;
  cjs[name] = f;
}
memo('createPrivateKey');
memo('createPublicKey');
mod.syncBuiltinESMExports();
