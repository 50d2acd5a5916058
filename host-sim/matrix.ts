/**
 * `npm run matrix` (issue #4): every ordered pair of network presets (caller × callee, 9 × 9) makes a real
 * speech call of ≥ 5 s in the simulator; the result is out/nat-matrix.json and a table of success, media path,
 * dial-to-audio time and bytes, followed by the seed's three experiments beside Skype's figures.
 * Options: --seed N, --speech-ms N, --out DIR, --only caller:callee.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import lenaWav from 'audio-lena/wav';
import { backboneWorld } from './world.js';
import { PRESETS, attachPhone, attachNatBehindFirewall, directPossible, type Preset } from './presets.js';
import { scriptedCall, type CallFigures } from './call-flow.js';
import { decodeWav } from './audio-io.js';

export interface PairResult {
  caller: Preset; callee: Preset; ok: boolean; path: string | null; directPossible: boolean;
  directAchieved: boolean; dialToAudioMs: number | null; loginBytes: number | null; searchBytes: number | null;
  callSetupBytes: number | null; signalingBytes: number | null; loginMsCaller: number | null; loginMsCallee: number | null;
  codec: string | null; failure?: string;
}


/** One call between two presets. Names are fixed so runs are comparable. */
export function runPair(caller: Preset, callee: Preset, seed: number, speech: Int16Array): { result: PairResult; figures: CallFigures } {
  const w = backboneWorld(seed);
  try {
    attachPhone(w, 'alice', caller, { user: 'alice', password: 'alice-pass-1', register: true }, 1_000_000);
    attachPhone(w, 'bob', callee, { user: 'bob', password: 'bob-pass-22', register: true }, 1_000_000);
    const f = scriptedCall(w, 'alice', 'bob', { speech });
    const theory = directPossible(caller, callee);
    const result: PairResult = {
      caller, callee, ok: f.ok, path: f.path ?? null, directPossible: theory.possible,
      directAchieved: !!f.path && f.path.startsWith('direct'), dialToAudioMs: f.dialToAudioMs ?? null,
      loginBytes: f.loginBytes.caller ?? null, searchBytes: f.searchBytes ?? null, callSetupBytes: f.callSetupBytes ?? null,
      signalingBytes: f.signalingBytes ?? null, loginMsCaller: f.loginMs.caller ?? null, loginMsCallee: f.loginMs.callee ?? null,
      codec: f.codec ?? null,
    };
    if (f.failure) result.failure = f.failure;
    return { result, figures: f };
  } finally { w.close(); }
}

/** The seed's three experiments (Baset & Schulzrinne), with Skype's figures from skype-facts.md. */
export const SEED_SETUPS = [
  { name: 'both public', skype: { loginBytes: '≈10 KB', loginTime: '3–7 s', searchTime: '3–4 s', searchBytes: '1–2 KB', setupBytes: '≈6 KB', media: '≈5 KB/s' } },
  { name: 'caller behind port-restricted NAT', skype: { loginBytes: '≈11 KB', loginTime: '3–7 s', searchTime: '5–6 s', searchBytes: '1–2 KB', setupBytes: '≈8 KB', media: '≈5 KB/s' } },
  { name: 'both behind NAT + UDP-blocking firewall', skype: { loginBytes: '≈7 KB', loginTime: '30–35 s', searchTime: '10–15 s', searchBytes: '5–7 KB', setupBytes: '≈8 KB', media: '≈5.5 KB/s' } },
] as const;

export function runSeedSetup(i: number, seed: number, speech: Int16Array): CallFigures {
  const w = backboneWorld(seed);
  try {
    const prov = (u: string) => ({ user: u, password: `${u}-pass-1`, register: true });
    if (i === 0) { attachPhone(w, 'alice', 'public', prov('alice'), 1_000_000); attachPhone(w, 'bob', 'public', prov('bob'), 1_000_000); }
    else if (i === 1) { attachPhone(w, 'alice', 'port-restricted-cone', prov('alice'), 1_000_000); attachPhone(w, 'bob', 'public', prov('bob'), 1_000_000); }
    else { attachNatBehindFirewall(w, 'alice', prov('alice'), 1_000_000); attachNatBehindFirewall(w, 'bob', prov('bob'), 1_000_000); }
    return scriptedCall(w, 'alice', 'bob', { speech });
  } finally { w.close(); }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

/** Largest of the known values (null when none is known). */
const max = (v: (number | null)[]) => { const k = v.filter((x): x is number => x !== null); return k.length ? Math.max(...k) : null; };
const fmt = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '-' : `${v}${unit}`);

export function main(argv: string[]): void {
  const arg = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const seed = Number(arg('--seed') ?? 1);
  const speechMs = Number(arg('--speech-ms') ?? 5000);
  const outDir = arg('--out') ?? 'out';
  const only = arg('--only');
  if (!Number.isInteger(seed) || seed < 0) { process.stderr.write('matrix: --seed must be a non-negative integer\n'); process.exit(1); }
  if (!(speechMs >= 1000)) { process.stderr.write('matrix: --speech-ms must be at least 1000\n'); process.exit(1); }
  const speech = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm.subarray(0, Math.round(speechMs * 8));
  const t0 = Date.now();
  const pairs: PairResult[] = [];
  let k = 0;
  for (const caller of PRESETS) for (const callee of PRESETS) {
    k++;
    if (only && only !== `${caller}:${callee}`) continue;
    pairs.push(runPair(caller, callee, seed * 1000 + k, speech).result);
  }
  const rows = [['caller', 'callee', 'ok', 'path', 'direct possible', 'dial→audio', 'login B', 'search B', 'setup B', 'signaling B']];
  for (const p of pairs) {
    rows.push([p.caller, p.callee, p.ok ? 'yes' : 'NO', p.path ?? '-', p.directPossible ? (p.directAchieved ? 'yes (direct)' : 'yes (MISSED)') : 'no',
      fmt(p.dialToAudioMs, ' ms'), fmt(p.loginBytes), fmt(p.searchBytes), fmt(p.callSetupBytes), fmt(p.signalingBytes)]);
  }
  const okCount = pairs.filter((p) => p.ok).length;
  const directPossibleCount = pairs.filter((p) => p.directPossible).length;
  const directHit = pairs.filter((p) => p.directPossible && p.directAchieved).length;
  const relayWhenPossible = pairs.filter((p) => p.directPossible && !p.directAchieved).map((p) => `${p.caller}→${p.callee}`);
  const summary = {
    pairs: pairs.length, connected: okCount, directPossible: directPossibleCount, directAchieved: directHit,
    directWhenImpossible: pairs.filter((p) => !p.directPossible && p.directAchieved).length, missedDirect: relayWhenPossible,
    maxLoginMsNat: max(pairs.filter((p) => !['public', 'udp-blocked', 'tcp-80-443'].includes(p.caller)).map((p) => p.loginMsCaller)),
    maxLoginMsUdpBlocked: max(pairs.filter((p) => ['udp-blocked', 'tcp-80-443'].includes(p.caller)).map((p) => p.loginMsCaller)),
    maxSignalingBytes: max(pairs.map((p) => p.signalingBytes)),
    maxCallSetupBytes: max(pairs.map((p) => p.callSetupBytes)),
  };

  const seedRows = [['setup', 'login', 'login B', 'search', 'search B', 'call setup B', 'media out / in', 'path', 'Skype: login, login B, search, setup B, media']];
  const seedFigures: Record<string, CallFigures> = {};
  if (!only) {
    SEED_SETUPS.forEach((s, i) => {
      const f = runSeedSetup(i, seed * 1000 + 100 + i, speech);
      seedFigures[s.name] = f;
      seedRows.push([s.name, fmt(f.loginMs.caller, ' ms'), fmt(f.loginBytes.caller), fmt(f.searchMs, ' ms'), fmt(f.searchBytes),
        fmt(f.callSetupBytes), `${fmt(f.mediaBpsCallerToCallee)} / ${fmt(f.mediaBpsCalleeToCaller)} B/s`, f.path ?? '-',
        `${s.skype.loginTime}, ${s.skype.loginBytes}, ${s.skype.searchTime}, ${s.skype.setupBytes}, ${s.skype.media}`]);
    });
  }
  fs.mkdirSync(outDir, { recursive: true });
  const json = { seed, speechMs, rttMsBetweenSites: 50, summary, pairs, seedComparison: SEED_SETUPS.map((s) => ({ setup: s.name, ours: seedFigures[s.name] ?? null, skype: s.skype })) };
  fs.writeFileSync(path.join(outDir, 'nat-matrix.json'), JSON.stringify(json, null, 2) + '\n');
  const text = `NAT matrix (seed ${seed}, ${speechMs / 1000} s of speech per call, 50 ms RTT between sites)\n${table(rows)}\n\n` +
    `connected ${okCount}/${pairs.length}; direct where theory allows: ${directHit}/${directPossibleCount}` +
    (relayWhenPossible.length ? ` (missed: ${relayWhenPossible.join(', ')})` : '') +
    `; max login behind NAT ${summary.maxLoginMsNat} ms, behind UDP-blocking firewall ${summary.maxLoginMsUdpBlocked} ms; ` +
    `max signaling ${summary.maxSignalingBytes} B, max call setup (incl. search and punching) ${summary.maxCallSetupBytes} B\n` +
    (only ? '' : `\nThe seed's three experiments (ours vs Skype 1.4, Baset & Schulzrinne 2006)\n${table(seedRows)}\n`);
  fs.writeFileSync(path.join(outDir, 'nat-matrix.txt'), text);
  process.stdout.write(text + `\nwrote ${path.join(outDir, 'nat-matrix.json')} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  if (okCount < pairs.length) process.exitCode = 2;
}

if (process.argv[1] && /matrix\.(ts|js)$/.test(process.argv[1])) main(process.argv.slice(2));
