/**
 * `npm run demo:live`: the whole network for real on this machine's loopback — the login server, 3 supernodes
 * and 2 phones as 6 separate processes — and one call with real speech, then everything it started is stopped.
 *
 *   npm run demo:live -- [--input FILE.wav] [--seconds N] [--codec pcmu|pcma|ilbc30|ilbc20|any] [--out DIR]
 *                        [--base-port P] [--keep]
 *
 * Addresses: the server on 127.0.0.1, supernodes on 127.0.0.11–13, alice on 127.0.0.21, bob on 127.0.0.22, all
 * loopback (the firmware sees 127.0.x.y as 198.18.x.y, host-sim/real/address-view.ts). Separate addresses
 * rather than one address with many ports, because NAT behaviour discovery asks a *different* supernode
 * address to answer (RFC 5780 "change IP"), exactly as in the simulator's topology.
 * Flow (as the simulator's default scenario): bob answers 1 s after ringing; alice dials bob by name on the
 * keypad, talks (the audio-lena speech sample by default) and hangs up 0.5 s after it ends.
 * Prints what happened (login, search, call, path, SNR) and writes DIR/live-report.json, DIR/alice-mic.wav,
 * DIR/bob-speaker.wav and one log and event file per process. Exit 0 when the call completed, 2 when it did
 * not, 1 on a setup error (one `demo:live: …` line).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { Proc } from '../host-sim/real/procs.js';
import { readEvents, liveCallReport, liveSummary } from '../host-sim/real/live-report.js';
import lenaWav from 'audio-lena/wav';
import { decodeWav, readWavFile, writeWav } from '../host-sim/audio-io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function intArg(lo: number, hi: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v) || +v < lo || +v > hi) throw new InvalidArgumentError(`must be an integer ${lo}..${hi}`);
    return Number(v);
  };
}

const opt = new Command('demo:live')
  .description('Server, 3 supernodes and 2 phones as separate processes on loopback; one call with real speech')
  .option('--input <file.wav>', 'alice\'s speech (default: the audio-lena sample)')
  .option('--seconds <n>', 'use only the first N seconds of the input', intArg(1, 600))
  .option('--codec <name>', 'pcmu | pcma | ilbc30 | ilbc20 | any (the firmware\'s preference)', 'pcmu')
  .option('--out <dir>', 'output directory', 'out/demo-live')
  .option('--base-port <p>', 'supernode port; the login server uses P-33', intArg(1100, 65000), 33033)
  .option('--keep', 'keep the server data directory from an earlier run (accounts already registered)')
  .showHelpAfterError(false)
  .parse(process.argv)
  .opts<{ input?: string; seconds?: number; codec: string; out: string; basePort: number; keep?: boolean }>();

const procs: Proc[] = [];
const say = (s: string) => process.stdout.write(s + '\n');

async function stopAll(): Promise<void> {
  await Promise.all([...procs].reverse().map((p) => p.stop(5000)));
}

async function fail(msg: string, code = 1): Promise<never> {
  process.stderr.write(`demo:live: ${msg}\n`);
  await stopAll();
  process.exit(code);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => {
  if (interrupted) return;
  interrupted = true;
  void fail(`${sig}: stopping everything`, 130);
});

function tsx(script: string, args: string[], name: string, out: string, echo = false): Proc {
  const p = new Proc({
    name, cmd: process.execPath, args: ['--import', 'tsx', path.join(root, script), ...args], cwd: root,
    logFile: path.join(out, `${name}.log`),
    onLine: echo ? (l) => { if (/^(alice|bob): (logged in|search|INVITE|ringing|incoming|call |media path|hole punched|network)/.test(l)) say(`  [${name}] ${l.replace(/^\w+: /, '')}`); } : undefined,
  });
  procs.push(p);
  return p;
}

async function main(): Promise<void> {
  const out = path.resolve(opt.out);
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(out)) if (/\.(log|jsonl|json|wav)$/.test(f)) fs.rmSync(path.join(out, f));
  const dataDir = path.join(out, 'server-data');
  if (!opt.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  if (!fs.existsSync(path.join(root, 'build/firmware.wasm'))) await fail('build/firmware.wasm not found: run `npm run build` first');

  // Speech: trimmed to --seconds and written as the exact input alice plays.
  let inputName = opt.input ?? 'audio-lena (lena.wav)';
  let speech: Int16Array;
  try {
    speech = opt.input ? readWavFile(opt.input, 8000).pcm : decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;
  } catch (e) { return fail(`--input: ${(e as Error).message}`); }
  if (opt.seconds) { speech = speech.subarray(0, opt.seconds * 8000); inputName += `, first ${opt.seconds} s`; }
  const inputWav = path.join(out, 'alice-input.wav');
  writeWav(inputWav, speech, 8000);

  // 1. login server
  const serverPort = opt.basePort - 33;
  say(`demo:live: login server, 3 supernodes, alice and bob as separate processes on loopback (logs in ${path.relative(root, out) || '.'})`);
  const server = tsx('server/main.ts', ['--port', String(serverPort), '--host', '127.0.0.1', '--data', dataDir], 'server', out);
  const m = await server.waitLine(/listening on ([\d.]+):(\d+) pubkey ([0-9a-f]{64})/, 20_000).catch((e) => fail(e.message));
  const ck = await server.waitLine(/login-server certKeys (\S+)/, 20_000).catch((e) => fail(e.message));
  say(`  server      127.0.0.1:${m[2]} (pubkey ${m[3].slice(0, 16)}…), pid ${server.pid}`);

  // 2. supernodes
  const snAddrs = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
  const bootstrap = snAddrs.map((a) => `${a}:${opt.basePort}`);
  const common = { bootstrap, server: `127.0.0.1:${m[2]}`, serverKey: m[3], certKeys: ck[1] };
  const codecs = opt.codec === 'any' ? {} : { codecs: [opt.codec] };
  const sns = snAddrs.map((bind, i) => {
    const name = `sn${i + 1}`;
    const cfg = path.join(out, `${name}.json`);
    fs.writeFileSync(cfg, JSON.stringify({ name, bind, port: opt.basePort, ...common }, null, 2) + '\n');
    return tsx('tools/supernode.ts', ['--config', cfg, '--events', path.join(out, `${name}.jsonl`)], name, out);
  });
  for (const [i, sn] of sns.entries()) {
    await sn.waitLine(/listening on/, 20_000).catch((e) => fail(e.message));
    say(`  ${`sn${i + 1}`.padEnd(11)} ${bootstrap[i]}, pid ${sn.pid}`);
  }

  // 3. phones: bob first (he must be online to be found), then alice dials.
  const phoneCfg = (user: string, bind: string) => {
    const cfg = path.join(out, `${user}.json`);
    fs.writeFileSync(cfg, JSON.stringify({ user, password: `${user}-secret-1`, register: true, bind, ...common, ...codecs, flash: `${user}.flash.json` }, null, 2) + '\n');
    return cfg;
  };
  const budgetS = Math.ceil(speech.length / 8000) + 60;
  const bob = tsx('tools/phone.ts', ['--config', phoneCfg('bob', '127.0.0.22'), '--no-lcd', '--answer-after', '1000', '--output', path.join(out, 'bob-speaker.wav'),
    '--exit-after-call', '--events', path.join(out, 'bob.jsonl'), '--max-time', String(budgetS)], 'bob', out, true);
  await bob.waitLine(/logged in/, 30_000).catch((e) => fail(e.message));
  const alice = tsx('tools/phone.ts', ['--config', phoneCfg('alice', '127.0.0.21'), '--no-lcd', '--dial', 'bob', '--input', inputWav, '--hangup-after-input',
    '--mic-record', path.join(out, 'alice-mic.wav'), '--exit-after-call', '--events', path.join(out, 'alice.jsonl'), '--max-time', String(budgetS)], 'alice', out, true);
  say(`  phones      alice 127.0.0.21 (pid ${alice.pid}) calls bob 127.0.0.22 (pid ${bob.pid}); speech: ${inputName}, ${(speech.length / 8000).toFixed(1)} s`);

  const codes = await Promise.all([alice, bob].map((p) => p.waitExit((budgetS + 10) * 1000).catch(async (e) => { await p.stop(); throw e; })))
    .catch((e) => fail((e as Error).message));

  // 4. stop the network, then report.
  await stopAll();
  say(`  stopped     ${procs.map((p) => `${p.opts.name} (${p.exitCode ?? p.exitSignal})`).join(', ')}`);
  const wav = (f: string) => (fs.existsSync(f) ? readWavFile(f, 8000).pcm : new Int16Array(0));
  const rep = liveCallReport({ caller: 'alice', callee: 'bob' }, readEvents(path.join(out, 'alice.jsonl')), readEvents(path.join(out, 'bob.jsonl')),
    { mic: wav(path.join(out, 'alice-mic.wav')), speaker: wav(path.join(out, 'bob-speaker.wav')), rateHz: 8000 });
  if (codes.some((c) => c !== 0) && rep.ok) { rep.ok = false; rep.failure = `phone exit codes ${codes.join(', ')}`; }
  const file = path.join(out, 'live-report.json');
  fs.writeFileSync(file, JSON.stringify({ input: inputName, processes: procs.map((p) => ({ name: p.opts.name, exit: p.exitCode ?? p.exitSignal })), ...rep }, null, 2) + '\n');
  say(`demo:live: ${rep.ok ? 'OK' : `FAILED (${rep.failure})`}`);
  for (const l of liveSummary(rep, { caller: 'alice', callee: 'bob' })) say(l);
  say(`  wrote   ${path.relative(root, file)}, alice-mic.wav, bob-speaker.wav`);
  process.exitCode = rep.ok ? 0 : 2;
}

main().catch((e) => fail((e as Error).message));
