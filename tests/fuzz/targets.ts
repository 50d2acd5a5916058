/**
 * Every fuzz target, by name. `npm run fuzz -- --list` prints them; the smoke test (tests/host/fuzz-smoke.test.ts)
 * runs each briefly and replays tests/fuzz/regressions/.
 */
import './crypto-memo.js';
import type { Target } from './target.js';
import { FwTarget, MessageGen, StorageRecordsTarget, StorageTarget, capturedCorpus } from './fw-targets.js';

export const TARGET_NAMES = [
  'fw.sn.udp', 'fw.sn.tcp', 'fw.phone.udp', 'fw.phone.tcp', 'fw.phone.http', 'fw.sn.uart', 'fw.phone.uart', 'fw.storage', 'fw.storage.records',
  'codec.ilbc', 'codec.ilbc-file', 'server.frame', 'server.login', 'server.update',
] as const;

/** Builds target `name` (its corpus from corpus/captured.json). */
export async function makeTarget(name: string): Promise<Target> {
  const corpus = capturedCorpus();
  const m = /^fw\.(sn|phone)\.(udp|tcp|uart)$/.exec(name) ?? /^fw\.(phone)\.(http)$/.exec(name);
  if (m) { const t = new FwTarget(m[1] as 'sn' | 'phone', m[2] as 'udp' | 'tcp' | 'uart' | 'http', new MessageGen(corpus)); await t.load(); return t; }
  if (name === 'fw.storage') return new StorageTarget(corpus);
  if (name === 'fw.storage.records') return new StorageRecordsTarget(corpus);
  if (name === 'codec.ilbc' || name === 'codec.ilbc-file') {
    const c = await import('./codec-targets.js');
    return name === 'codec.ilbc' ? new c.IlbcDecodeTarget() : new c.IlbcFileTarget();
  }
  // Server modules are imported only when asked for, so a server file being edited cannot stop firmware fuzzing.
  if (name === 'server.frame' || name === 'server.login' || name === 'server.update') {
    const s = await import('./server-targets.js');
    const t = name === 'server.frame' ? new s.FrameTarget() : name === 'server.login' ? new s.LoginTarget() : new s.UpdateTarget();
    await t.load();
    return t;
  }
  if (name === 'selftest.hang' && process.env.FUZZ_SELFTEST === '1') {
    // Checks the CLI's watchdog: step 300 never returns.
    let n = 0;
    return { name, kind: 'firmware', parsers: 'selftest', resetEvery: 100, fresh() { n = 0; }, gen: (rng) => ({ op: 'x', a: rng.below(9), b: 0, data: new Uint8Array(1) }),
      run() { if (++n === 300 - 200) for (;;) { /* hang */ } return { tokens: [], kinds: ['x'] }; }, learn() {} };
  }
  throw new Error(`unknown fuzz target '${name}' (try --list)`);
}
