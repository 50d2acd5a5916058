/**
 * `npm run demo:flash`: the issue #9 bench demo, end to end with the real tools on a real pty.
 *   1. builds the firmware (npm run build:fw) and makes a vendor key;
 *   2. signs the factory image v1 and starts a simulated phone with it (`npm run device`), its UART on a pty;
 *   3. signs the new image v2 (`npm run image`) and flashes it over the pty (`npm run flash`, progress shown);
 *   4. waits for the phone to boot v2 and confirm it, then runs `status` through `npm run console`;
 *   5. prints the transcript; exits 0, or 1 with the reason.
 * Options: --no-build (use the existing build/firmware.wasm), --keep DIR (keep keys and images there).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const keepIdx = args.indexOf('--keep');
const dir = keepIdx >= 0 ? path.resolve(args[keepIdx + 1]) : fs.mkdtempSync(path.join(os.tmpdir(), 'demo-flash-'));
fs.mkdirSync(dir, { recursive: true });
const transcript: string[] = [];
let device: ChildProcess | null = null;

function say(s: string): void { process.stdout.write(s + '\n'); transcript.push(s); }
function fail(msg: string): never {
  process.stderr.write(`demo:flash: FAILED: ${msg}\n`);
  device?.kill('SIGTERM');
  process.exit(1);
}

/** Runs a tool synchronously, echoing its output into the transcript. */
function run(title: string, cmd: string, argv: string[], okCodes = [0]): string {
  say(`$ ${title}`);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const out = (r.stderr ?? '') + (r.stdout ?? '');
  for (const l of out.split('\n').filter((x) => x.length > 0)) say(`  ${l}`);
  if (r.error) fail(`${title}: ${r.error.message}`);
  if (!okCodes.includes(r.status ?? -1)) fail(`${title} exited with ${r.status}`);
  return out;
}

const node = process.execPath;
const tool = (t: string) => [node, ['--import', 'tsx', `tools/${t}.ts`]] as const;

say(`demo:flash in ${dir}`);
if (!noBuild) run('npm run build:fw', 'npm', ['run', '--silent', 'build:fw']);
if (!fs.existsSync('build/firmware.wasm')) fail('build/firmware.wasm missing (run npm run build)');
const key = path.join(dir, 'vendor.pem');
if (!fs.existsSync(key)) run('npm run image -- keygen --out vendor.pem', tool('image')[0], [...tool('image')[1], 'keygen', '--out', key]);
const v1 = path.join(dir, 'factory-v1.bin');
const v2 = path.join(dir, 'firmware-v2.bin');
run('npm run image -- --key vendor.pem --version 1 --out factory-v1.bin', tool('image')[0], [...tool('image')[1], '--key', key, '--version', '1', '--out', v1]);

// The phone, on a pty.
say('$ npm run device -- --trust vendor.pub --image factory-v1.bin');
device = spawn(node, [...tool('device')[1], '--trust', key.replace(/\.pem$/, '.pub'), '--image', v1], { stdio: ['pipe', 'pipe', 'pipe'] });
let devErr = '';
device.stderr!.on('data', (d) => { devErr += d; });
device.on('exit', (c) => { if (c !== 0 && c !== null) fail(`the simulated phone exited (${c}): ${devErr.trim().split('\n').pop()}`); });
const pty: string = await new Promise((resolve) => {
  let out = '';
  const t = setTimeout(() => fail('the simulated phone did not report its pty within 20 s'), 20_000);
  device!.stdout!.on('data', (d) => { out += d; const m = /^uart (\S+)/m.exec(out); if (m) { clearTimeout(t); resolve(m[1]); } });
});
say(`  phone UART on ${pty}`);
await sleep(2500); // the ROM's boot window, then v1 boots

run('npm run image -- --key vendor.pem --version 2 --out firmware-v2.bin', tool('image')[0], [...tool('image')[1], '--key', key, '--version', '2', '--out', v2]);
run(`npm run flash -- --port ${pty} firmware-v2.bin`, tool('flash')[0], [...tool('flash')[1], '--port', pty, v2]);

// v2 boots on trial and confirms after 5 s of healthy running.
let status = '';
for (let i = 0; i < 20; i++) {
  await sleep(1000);
  const r = spawnSync(node, [...tool('console')[1], pty, '-c', 'status'], { encoding: 'utf8' });
  status = r.stdout ?? '';
  if (/firmware=v2 slot [AB] .*\(confirmed\)/.test(status)) break;
}
const st = run(`npm run console -- ${pty} -c status -c lcd`, tool('console')[0], [...tool('console')[1], pty, '-c', 'status', '-c', 'lcd']);
say('--- boot ROM log of the phone ---');
for (const l of devErr.split('\n').filter((x) => x.startsWith('['))) say(`  ${l}`);
device.removeAllListeners('exit');
device.kill('SIGTERM');
if (!/firmware=v2 slot [AB] .*\(confirmed\)/.test(st)) fail(`the phone does not run a confirmed v2 (status: ${st.trim().split('\n').find((l) => l.includes('firmware=')) ?? 'no answer'})`);
say('demo:flash OK: flashed v2 over the pty, the phone booted it and confirmed a healthy boot');
process.exit(0);

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
