/**
 * `npm run netlab` (as root; tests/netlab/netlab.sh wraps it with a cleanup trap): for each setup of
 * topology.ts, builds a Linux NAT lab (lab.ts), runs the login server, 3 supernodes and 2 phones as real
 * processes in it, completes a call with real speech, then runs the same setup in the simulator, and compares
 * login time and bytes, search time, call-setup bytes, media path and media bandwidth.
 *
 *   tsx tools/netlab/run.ts [--setups id,id] [--seconds N] [--out DIR] [--prefix NAME]
 *
 * Writes DIR/netlab-report.json (per setup: real and simulated reports and the comparison) and
 * DIR/netlab-table.md, prints the table. Exit 0 when every setup's real call completed on an expected media
 * path; 1 on a setup/usage error (one `netlab: …` line); 2 when a call failed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import lenaWav from 'audio-lena/wav';
import { decodeWav, readWavFile, writeWav } from '../../host-sim/audio-io.js';
import { readEvents, liveCallReport, liveSummary, type LiveCallReport } from '../../host-sim/real/live-report.js';
import { Lab, staleNamespaces, deleteNamespaces, type SiteOpts } from './lab.js';
import { runSimSetup } from './sim.js';
import { compare, markdownTable, type Comparison } from './compare.js';
import { SETUPS, SERVER_IP, SN_IPS, SN_PORT, LOGIN_PORT, UPLINK_DELAY_MS, type Setup } from './topology.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const say = (s: string) => process.stdout.write(s + '\n');

const opt = new Command('netlab')
  .description('Real processes in a Linux NAT lab (network namespaces, iptables) vs the simulator, per setup')
  .option('--setups <ids>', `comma-separated subset of ${SETUPS.map((s) => s.id).join(',')}`)
  .option('--seconds <n>', 'use only the first N seconds of the speech sample')
  .option('--out <dir>', 'output directory', 'out')
  .option('--prefix <name>', 'namespace name prefix (default p2pl-<pid>)')
  .parse(process.argv)
  .opts<{ setups?: string; seconds?: string; out: string; prefix?: string }>();

function fail(msg: string): never {
  process.stderr.write(`netlab: ${msg}\n`);
  process.exit(1);
}

if (process.getuid?.() !== 0) fail('needs root (network namespaces, veth, iptables): run as root, e.g. in CI');
const setups = opt.setups ? opt.setups.split(',').map((id) => SETUPS.find((s) => s.id === id) ?? fail(`unknown setup '${id}'`)) : SETUPS;
const prefix = opt.prefix ?? `p2pl-${process.pid}`;
if (!/^[a-z0-9-]{1,20}$/.test(prefix)) fail('--prefix: 1-20 characters a-z 0-9 -');
const outDir = path.resolve(opt.out);
const labDir = path.join(outDir, 'netlab');

let current: Lab | null = null;
const cleanup = () => { current?.destroySync(); };
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { process.stderr.write(`netlab: ${sig}: removing the lab\n`); cleanup(); process.exit(130); });

async function runReal(setup: Setup, speechWav: string, speechS: number, dir: string): Promise<{ report: LiveCallReport; delayMethod: string }> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const lab = new Lab(`${prefix}-${SETUPS.indexOf(setup)}`, dir);
  current = lab;
  try {
    const sites: SiteOpts[] = [
      { name: 'srv', kind: 'public', hostIp: SERVER_IP },
      ...SN_IPS.map((ip, i) => ({ name: `sn${i + 1}`, kind: 'public' as const, hostIp: ip })),
      { name: 'alice', ...setup.alice }, { name: 'bob', ...setup.bob },
    ];
    lab.build(sites);
    await lab.finish();
    const node = (ns: string, name: string, script: string, args: string[], echo = false) => lab.spawn(ns, name, process.execPath, ['--import', 'tsx', path.join(root, script), ...args], root,
      echo ? (l) => { if (/: (logged in|search|call answered|media path|call ended|network|supernode)/.test(l)) say(`    [${name}] ${l.replace(/^\w+: /, '')}`); } : undefined);

    const server = node(lab.site('srv').hostNs, 'server', 'server/main.ts', ['--host', SERVER_IP, '--port', String(LOGIN_PORT), '--data', path.join(dir, 'server-data')]);
    const m = await server.waitLine(/pubkey ([0-9a-f]{64})/, 30_000);
    const common = { bootstrap: SN_IPS.map((ip) => `${ip}:${SN_PORT}`), server: `${SERVER_IP}:${LOGIN_PORT}`, serverKey: m[1] };
    const sns = SN_IPS.map((ip, i) => {
      const cfg = path.join(dir, `sn${i + 1}.json`);
      fs.writeFileSync(cfg, JSON.stringify({ name: `sn${i + 1}`, bind: ip, port: SN_PORT, ...common }, null, 2));
      return node(lab.site(`sn${i + 1}`).hostNs, `sn${i + 1}`, 'tools/supernode.ts', ['--config', cfg, '--events', path.join(dir, `sn${i + 1}.jsonl`), '--wait-server', '20']);
    });
    for (const sn of sns) await sn.waitLine(/listening on/, 40_000);
    const phone = (user: string, bind: string) => {
      const cfg = path.join(dir, `${user}.json`);
      fs.writeFileSync(cfg, JSON.stringify({ user, password: `${user}-secret-1`, register: true, bind, ...common }, null, 2));
      return cfg;
    };
    const budget = String(Math.ceil(speechS) + 90);
    const bob = node(lab.site('bob').hostNs, 'bob', 'tools/phone.ts', ['--config', phone('bob', setup.bob.hostIp), '--no-lcd', '--iface-stats', '--answer-after', '1000',
      '--output', path.join(dir, 'bob-speaker.wav'), '--exit-after-call', '--events', path.join(dir, 'bob.jsonl'), '--login-timeout', '60', '--max-time', budget], true);
    await bob.waitLine(/logged in/, 70_000);
    const alice = node(lab.site('alice').hostNs, 'alice', 'tools/phone.ts', ['--config', phone('alice', setup.alice.hostIp), '--no-lcd', '--iface-stats', '--dial', 'bob',
      '--input', speechWav, '--hangup-after-input', '--mic-record', path.join(dir, 'alice-mic.wav'), '--exit-after-call', '--events', path.join(dir, 'alice.jsonl'),
      '--login-timeout', '60', '--max-time', budget], true);
    await Promise.all([alice.waitExit((+budget + 15) * 1000), bob.waitExit((+budget + 15) * 1000)]);
    const wav = (f: string) => (fs.existsSync(f) ? readWavFile(f, 8000).pcm : new Int16Array(0));
    const report = liveCallReport({ caller: 'alice', callee: 'bob' }, readEvents(path.join(dir, 'alice.jsonl')), readEvents(path.join(dir, 'bob.jsonl')),
      { mic: wav(path.join(dir, 'alice-mic.wav')), speaker: wav(path.join(dir, 'bob-speaker.wav')), rateHz: 8000 });
    return { report, delayMethod: lab.delayMethod };
  } finally {
    await lab.destroy();
    current = null;
  }
}

async function main(): Promise<void> {
  const stale = staleNamespaces('p2pl');
  if (stale.length) { say(`netlab: removing ${stale.length} namespace(s) left by a crashed run`); deleteNamespaces(stale); }
  fs.mkdirSync(labDir, { recursive: true });
  let speech = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;
  if (opt.seconds) speech = speech.subarray(0, Math.max(1, Number(opt.seconds)) * 8000);
  const speechWav = path.join(labDir, 'speech.wav');
  writeWav(speechWav, speech, 8000);
  const speechS = speech.length / 8000;

  const results: { setup: Setup; real: LiveCallReport; sim: LiveCallReport; comparison: Comparison[]; pathOk: boolean; error?: string }[] = [];
  let delayMethod = '';
  for (const setup of setups) {
    say(`netlab: ${setup.id} — ${setup.title}`);
    const t0 = Date.now();
    let real: LiveCallReport;
    let error: string | undefined;
    try {
      const r = await runReal(setup, speechWav, speechS, path.join(labDir, setup.id));
      real = r.report; delayMethod = r.delayMethod;
    } catch (e) {
      error = (e as Error).message;
      real = { ok: false, failure: error, codec: null, path: null, phones: {} };
    }
    const sim = runSimSetup(setup, speech).report;
    const comparison = compare(real, sim);
    const pathOk = real.ok && !!real.path && setup.expectPath.includes(real.path);
    results.push({ setup, real, sim, comparison, pathOk, error });
    say(`  real (${((Date.now() - t0) / 1000).toFixed(0)} s): ${real.ok ? 'OK' : `FAILED (${real.failure})`}`);
    for (const l of liveSummary(real, { caller: 'alice', callee: 'bob' })) say(`  ${l}`);
  }

  const table = markdownTable(results.map((r) => ({ id: r.setup.id, title: r.setup.title, comparison: r.comparison })));
  const report = {
    generated: new Date().toISOString(), host: { kernel: os.release(), node: process.version }, delayMethod,
    topology: { server: SERVER_IP, supernodes: SN_IPS, uplinkDelayMsEachWay: UPLINK_DELAY_MS, rttBetweenSitesMs: 4 * UPLINK_DELAY_MS },
    speechSeconds: speechS,
    setups: results.map((r) => ({ id: r.setup.id, title: r.setup.title, seed: r.setup.seed, expectPath: r.setup.expectPath, pathOk: r.pathOk, real: r.real, sim: r.sim, comparison: r.comparison })),
  };
  fs.writeFileSync(path.join(outDir, 'netlab-report.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'netlab-table.md'), table + '\n');
  say('');
  say(table);
  say('');
  say(`netlab: wrote ${path.relative(root, path.join(outDir, 'netlab-report.json'))} and netlab-table.md (delay: ${delayMethod})`);
  const failed = results.filter((r) => !r.pathOk);
  if (failed.length) {
    process.stderr.write(`netlab: ${failed.map((r) => `${r.setup.id}: ${r.real.ok ? `unexpected path ${r.real.path}` : r.real.failure}`).join('; ')}\n`);
    process.exitCode = 2;
  } else say(`netlab: all ${results.length} setups completed their call on the expected path`);
}

main().catch((e) => { cleanup(); fail((e as Error).message); });
