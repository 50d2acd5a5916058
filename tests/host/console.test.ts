// The serial debug console (firmware/ui/console.ts) driven by the console tool (tools/console.ts,
// tools/lib/console-session.ts): over a real pty to a simulated phone (npm run device), and over
// @serialport/binding-mock to a phone in this process. Every listed command, line editing, and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';
import { SerialPortStream } from '@serialport/stream';
import { makeBench, signedImage, vendorPublic } from '../../host-sim/bootrom-bench.js';
import { RealtimePump } from '../../host-sim/uart-realtime.js';
import { hex } from '../../host-sim/bootrom-image.js';
import { ConsoleSession, stripAnsi } from '../../tools/lib/console-session.js';
import { openSerial } from '../../tools/lib/serial.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'console-test-'));
fs.writeFileSync(path.join(tmp, 'vendor.pub'), hex(vendorPublic()));
fs.writeFileSync(path.join(tmp, 'v1.bin'), signedImage(1));
const tsx = ['--import', 'tsx'];

/** Every command of the issue, with what its answer must show. */
const COMMANDS: [string, RegExp][] = [
  ['help', /status .*\n[\s\S]*jb [\s\S]*reboot/],
  ['status', /user=alice addr=198\.51\.100\.50:\d+ supernode=no\nlogin=online net=public sn=198\.51\.100\.2\d:33033\nfirmware=v1 slot A build test-v1 \(confirmed\)/],
  ['hc', /198\.51\.100\.2\d:33033|host cache empty/],
  ['nat', /nat udp=1 public=1 local=198\.51\.100\.50:\d+ reflexive=198\.51\.100\.50:\d+/],
  ['calls', /call idle/],
  ['jb', /jb idle \(last call\) delayMs=\d+ frameMs=\d+ received=0 lost=0 late=0/],
  ['stats', /udpRx=\d+ udpTx=\d+ .*\nmalformed=\d+ unexpected=\d+ brokenStreams=\d+/],
  ['log level', /log level 2 \(0 error/],
  ['log level 3', /ok: log level 3/],
  ['key 5', /^ok$/m],
  ['lcd', /\|Dial: j_ +\|\n\| +\|/],
  ['key clear', /^ok$/m],
  ['dial bob', /ok: dialing bob/],
  ['calls', /call (searching|calling|connecting|ringback) peer=bob outgoing/],
  ['hangup', /^ok$/m],
  ['config', /\{"user": "alice", "password": "\*\*\*", "register": true/],
];
const ERRORS: [string, RegExp][] = [
  ['frobnicate', /^error: unknown command 'frobnicate' \(try help\)$/m],
  ['log level 9', /^error: log level must be 0\.\.4, got '9'$/m],
  ['log', /^error: usage: log level \[0\.\.4\]$/m],
  ['dial', /^error: usage: dial NAME$/m],
  ['hangup', /^error: no call$/m],
  ['key banana', /^error: unknown key 'banana' \(try help\)$/m],
  ['key 0x999', /^error: unknown key '0x999'/m],
  ['reboot now', /^error: reboot takes no arguments$/m],
  ['update', /Updates?: /],
];

async function exercise(s: ConsoleSession): Promise<void> {
  assert.equal(await s.ready(), 'alice');
  for (const [cmd, re] of COMMANDS) {
    const r = await s.command(cmd);
    assert.equal(r.error, undefined, `${cmd}: ${r.lines.join(' / ')}`);
    assert.match(r.lines.join('\n'), re, cmd);
  }
  for (const [cmd, re] of ERRORS) assert.match((await s.command(cmd)).lines.join('\n'), re, cmd);
}

test('console over a real pty: every command, clear errors, line editing, config load, reboot', async () => {
  const dev = spawn(process.execPath, [...tsx, 'tools/device.ts', '--trust', path.join(tmp, 'vendor.pub'), '--image', path.join(tmp, 'v1.bin'), '--boot-window-ms', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const pty = await new Promise<string>((res, rej) => {
      let out = '';
      const t = setTimeout(() => rej(new Error('no pty')), 20000);
      dev.stdout!.on('data', (d) => { out += d; const m = /^uart (\S+)/m.exec(out); if (m) { clearTimeout(t); res(m[1]); } });
    });
    await new Promise((r) => setTimeout(r, 2500)); // boot and login
    const port = await openSerial(pty, 115200);
    const s = new ConsoleSession(port, 5000);
    await exercise(s);
    // Line editing as a person types it: a typo fixed with Backspace, a line killed with Ctrl-U, ← and insert,
    // ↑ recalls the previous line.
    let r = await s.command('stx\x7f\x7ftatus');
    assert.match(r.lines.join('\n'), /^user=alice/m, 'backspace');
    r = await s.command('garbage\x15lcd');
    assert.match(r.lines.join('\n'), /^\|alice +Online\|/m, 'Ctrl-U');
    r = await s.command('jxb\x1b[D\x7f');
    assert.match(r.lines.join('\n'), /^jb idle/m, 'cursor left, then backspace in the middle of the line');
    r = await s.command('b\x01j');
    assert.match(r.lines.join('\n'), /^jb idle/m, 'Ctrl-A (home), then insert');
    r = await s.command('\x1b[A');
    assert.match(r.lines.join('\n'), /^jb idle/m, 'history recall');
    // Provisioning over the console: a bad document is refused with its path, a good one saved.
    assert.match((await s.loadConfig('{"user": "alice", "password": "alice-secret-1", "bootstrap": ["1.2.3"], "server": "1.2.3.4:5", "serverKey": "00"}')).lines.join('\n'),
      /^error: config: bootstrap\[0\]: expected "a\.b\.c\.d:port", got "1\.2\.3"$/m);
    s.detach();
    port.close();
    // The CLI: exit 2 when the phone answers an error, one line and exit 1 for a bad port.
    const cli = spawnSync(process.execPath, [...tsx, 'tools/console.ts', pty, '-c', 'status', '-c', 'nope'], { encoding: 'utf8' });
    assert.equal(cli.status, 2);
    assert.match(cli.stdout, /> status\nuser=alice[\s\S]*> nope\nerror: unknown command 'nope'/);
    const bad = spawnSync(process.execPath, [...tsx, 'tools/console.ts', '/dev/no-such-tty', '-c', 'status'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim(), 'console: cannot open /dev/no-such-tty: no such device');
    const reb = spawnSync(process.execPath, [...tsx, 'tools/console.ts', pty, '-c', 'reboot'], { encoding: 'utf8' });
    assert.match(reb.stdout, /ok: rebooting/);
    await new Promise((r) => setTimeout(r, 1500));
    const after = spawnSync(process.execPath, [...tsx, 'tools/console.ts', pty, '-c', 'status'], { encoding: 'utf8' });
    assert.match(after.stdout, /firmware=v1 slot A/, 'the phone came back after reboot');
  } finally { dev.kill('SIGTERM'); }
});

test('console through @serialport/binding-mock to a phone in this process', async () => {
  const b = makeBench(21);
  const phone = b.phone('alice', '198.51.100.50', { rom: { bootWindowUs: 100_000 } });
  b.w.runUntil(() => !!b.w.find('alice', 'login.ok'), 10_000_000);
  const pump = new RealtimePump(b.w.sched);
  pump.start();
  MockBinding.createPort('/dev/PHONE', { echo: false, record: false });
  const port = new SerialPortStream({ binding: MockBinding, path: '/dev/PHONE', baudRate: 115200 });
  await new Promise<void>((res, rej) => port.once('open', res).once('error', rej));
  const binding = port.port as unknown as MockPortBinding;
  const write = binding.write.bind(binding);
  binding.write = async (buf: Buffer) => { await write(buf); pump.catchUp(); phone.uartInput(new Uint8Array(buf)); };
  phone.onUart((bytes) => binding.emitData(Buffer.from(bytes)));
  try {
    await exercise(new ConsoleSession(port, 3000));
  } finally {
    pump.stop();
    await new Promise((r) => port.close(r));
    MockBinding.reset();
    b.w.close();
  }
});

test('stripAnsi removes the line editor\'s cursor sequences', () => {
  assert.equal(stripAnsi('\ralice> jb\x1b[K\x1b[1D'), '\ralice> jb');
});
