/**
 * Serial console of a phone (real, or simulated: `npm run device` prints its pty).
 *
 *   npm run console -- /dev/ttyUSB0                 interactive terminal; Ctrl-] quits
 *   npm run console -- /dev/pts/5 -c status -c nat  run commands, print their output, exit
 *   npm run console -- /dev/pts/5 --load-config alice.json   validate locally, send with `config load`
 *
 * Exit codes: 0 ok; 1 an error (one line on stderr: port, timeout, invalid config); 2 the phone answered a
 * command with `error: …`.
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import { openSerial } from './lib/serial.js';
import { ConsoleSession } from './lib/console-session.js';
import { validateProvisioning } from './lib/provisioning.js';

function fail(msg: string, code = 1): never { process.stderr.write(`console: ${msg}\n`); process.exit(code); }

const program = new Command('console').description('Serial debug console of a phone')
  .argument('<port>', 'serial device, e.g. /dev/ttyUSB0 or the /dev/pts/N of a simulated phone')
  .option('-b, --baud <n>', 'baud rate', '115200')
  .option('-c, --command <cmd>', 'run a console command and exit (repeatable)', (v: string, a: string[]) => [...a, v], [] as string[])
  .option('--load-config <file.json>', 'validate a provisioning JSON and load it into the phone')
  .option('--timeout <s>', 'seconds to wait for each answer', '5')
  .parse(process.argv);
const o = program.opts<{ baud: string; command: string[]; loadConfig?: string; timeout: string }>();
const portPath = program.args[0];
const timeoutMs = Number(o.timeout) * 1000;
if (!(timeoutMs > 0)) fail(`--timeout must be a positive number of seconds, got '${o.timeout}'`);

let configJson: string | undefined;
if (o.loadConfig) {
  let text: string;
  try { text = fs.readFileSync(o.loadConfig, 'utf8'); } catch (e) { fail(`cannot read ${o.loadConfig} (${(e as NodeJS.ErrnoException).code})`); }
  let j: unknown;
  try { j = JSON.parse(text!); } catch (e) { fail(`${o.loadConfig}: not valid JSON (${(e as Error).message})`); }
  const v = validateProvisioning(j);
  if (!v.ok) fail(`${o.loadConfig}: ${v.error}`);
  configJson = JSON.stringify(j);
}

const port = await openSerial(portPath, Number(o.baud)).catch((e: Error) => fail(e.message));

if (o.command.length > 0 || configJson) {
  const s = new ConsoleSession(port, timeoutMs);
  let phoneError = false;
  try {
    await s.ready();
    if (configJson) {
      process.stdout.write(`> config load ${o.loadConfig}\n`);
      const r = await s.loadConfig(configJson);
      for (const l of r.lines) process.stdout.write(l + '\n');
      if (r.error) phoneError = true;
    }
    for (const cmd of o.command) {
      process.stdout.write(`> ${cmd}\n`);
      const r = await s.command(cmd, timeoutMs);
      for (const l of r.lines) process.stdout.write(l + '\n');
      if (r.error) phoneError = true;
    }
  } catch (e) {
    port.close();
    fail(`${portPath}: ${(e as Error).message}`);
  }
  port.close(() => process.exit(phoneError ? 2 : 0));
} else {
  process.stderr.write(`connected to ${portPath} at ${o.baud} baud; Ctrl-] quits\n`);
  port.on('data', (d: Buffer) => process.stdout.write(d));
  port.on('close', () => { process.stderr.write('\nconsole: port closed\n'); process.exit(0); });
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on('data', (d: Buffer) => {
    if (d.includes(0x1d)) { if (process.stdin.isTTY) process.stdin.setRawMode(false); process.stderr.write('\n'); port.close(() => process.exit(0)); return; }
    port.write(d);
  });
  process.stdin.on('end', () => setTimeout(() => port.close(() => process.exit(0)), 300));
  port.write('\r');
}
