/**
 * Flashes a signed firmware image into a phone over its serial console port, through the boot ROM's
 * bootloader (YMODEM with CRC-16 and retransmission; resumes an interrupted transfer of the same image).
 *
 *   npm run flash -- --port /dev/ttyUSB0 build/firmware-v2.bin [--baud 115200] [--no-boot] [--timeout 15]
 *
 * Shows a progress bar; ends with one line: what the phone boots, or why it failed (exit 1): wrong port, no
 * bootloader answering (timeout), the phone refusing the image (bad signature, older version, …), or a line
 * too noisy to get through.
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { openSerial } from './lib/serial.js';
import { FlashSession } from './lib/flash-session.js';
import { parseHeader } from '../host-sim/bootrom-image.js';

function fail(msg: string): never { process.stderr.write(`flash: ${msg}\n`); process.exit(1); }

const program = new Command('flash').description('Flash a signed firmware image over the serial port')
  .requiredOption('-p, --port <path>', 'serial port of the phone')
  .argument('<image>', 'signed image (npm run image)')
  .option('-b, --baud <n>', 'baud rate', '115200')
  .option('--no-boot', 'leave the phone in its bootloader afterwards')
  .option('--timeout <s>', 'seconds to wait for the bootloader', '15')
  .parse(process.argv);
const o = program.opts<{ port: string; baud: string; boot: boolean; timeout: string }>();
const file = program.args[0];

let image: Uint8Array;
try { image = new Uint8Array(fs.readFileSync(file)); } catch (e) { fail(`cannot read ${file} (${(e as NodeJS.ErrnoException).code})`); }
const p = parseHeader(image!);
if (!p.ok) fail(`${file}: ${p.reason}`);

const port = await openSerial(o.port, Number(o.baud)).catch((e: Error) => fail(e.message));
process.stderr.write(`flash: ${file} (v${p.header.version} build ${p.header.buildId}, ${image!.length} bytes) → ${o.port}\n`);

const bar = new cliProgress.SingleBar({
  format: 'flash |{bar}| {percentage}% | {value}/{total} B | {speed} KiB/s | retries {retries}',
  noTTYOutput: true, notTTYSchedule: 1000, hideCursor: true, stream: process.stderr,
}, cliProgress.Presets.shades_classic);
let barStarted = false;
const t0 = Date.now();
let timer: NodeJS.Timeout | null = null;

const session = new FlashSession(image!, (b) => port.write(Buffer.from(b)), {
  portName: o.port, boot: o.boot, attentionTimeoutMs: Number(o.timeout) * 1000,
  onNote: (l) => { if (barStarted) bar.stop(); process.stderr.write(`flash: ${l}\n`); if (barStarted) { barStarted = false; } },
  onProgress: (done, total, retries) => {
    const speed = ((done - session.resumedAt) / 1024 / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1);
    if (!barStarted) { bar.start(total, done, { speed, retries }); barStarted = true; } else bar.update(done, { speed, retries });
  },
});

const now = () => Date.now();
const arm = () => {
  if (timer) clearTimeout(timer);
  timer = null;
  if (session.finished) { finish(); return; }
  if (Number.isFinite(session.deadlineMs)) { const due = session.deadlineMs; timer = setTimeout(() => { session.poll(Math.max(now(), due)); arm(); }, Math.max(0, due - now())); }
};
port.on('data', (d: Buffer) => { session.feed(new Uint8Array(d), now()); arm(); });
port.on('close', () => { if (!session.finished) { session.abort(`${o.port} closed (line dropped?); run the same command again to resume`); finish(); } });
process.on('SIGINT', () => { session.abort('interrupted; run the same command again to resume'); finish(); });

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  if (barStarted) bar.stop();
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (session.state === 'done') {
    process.stdout.write(`flash: done in ${secs} s${session.retransmissions ? ` (${session.retransmissions} blocks resent)` : ''}${session.resumedAt ? `, resumed at byte ${session.resumedAt}` : ''}; ${o.boot ? `the phone boots ${session.booted} (on trial until it confirms a healthy boot)` : 'the phone waits in its bootloader'}\n`);
    port.drain(() => port.close(() => process.exit(0)));
  } else {
    process.stderr.write(`flash: ${session.error}\n`);
    if (session.inBootloader && o.boot && !/resume/.test(session.error)) {
      // Refused: send the phone back to the firmware it has.
      setTimeout(() => { port.write('\rboot\r'); port.drain(() => setTimeout(() => port.close(() => process.exit(1)), 200)); }, 300);
      return;
    }
    setTimeout(() => port.close(() => process.exit(1)), 100);
  }
}

session.start(now());
arm();
