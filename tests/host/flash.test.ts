// Flashing over serial (tools/flash.ts, tools/lib/flash-session.ts, YMODEM in host-sim/bootrom-ymodem.ts):
// CRC and block format, transfers through injected line errors (bit flips, lost bytes, garbage), resuming after
// a dropped line, and the CLI on a real pty — success with progress, and clear errors for a wrong port and for a
// port where no bootloader answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { crc16Xmodem, ymodemBlock, YmodemReceiver, YmodemSender, STX } from '../../host-sim/bootrom-ymodem.js';
import { makeBench, runFor, signedImage, consoleCommand, vendorKey } from '../../host-sim/bootrom-bench.js';
import { startSimFlash } from '../../host-sim/uart-line.js';
import { openPtyBridge } from '../../host-sim/uart-pty.js';
import { Rng } from '../../host-sim/net/rng.js';
import { hex, rawPublicKey } from '../../host-sim/bootrom-image.js';

test('CRC-16/XMODEM check value and YMODEM block layout', () => {
  assert.equal(crc16Xmodem(new TextEncoder().encode('123456789')), 0x31c3);
  const b = ymodemBlock(3, Uint8Array.of(1, 2, 3), 1024);
  assert.equal(b.length, 1029);
  assert.deepEqual([b[0], b[1], b[2]], [STX, 3, 252]);
  assert.equal(b[6], 0x1a, 'padded with SUB');
  assert.equal((b[1027] << 8) | b[1028], crc16Xmodem(b, 3, 1027));
});

test('YMODEM sender and receiver agree through a lossy, corrupting line (50 seeds), and never accept a bad block', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const r = new Rng(seed);
    const data = Uint8Array.from({ length: 5000 + r.int(20000) }, () => r.int(256));
    const got = new Uint8Array(data.length);
    let t = 0;
    const queue: { at: number; to: 'rx' | 'tx'; b: Uint8Array }[] = [];
    const noisy = (to: 'rx' | 'tx') => (b: Uint8Array) => {
      const out: number[] = [];
      for (const x of b) { if (r.float() < 0.0002) continue; out.push(r.float() < 0.0002 ? x ^ (1 << r.int(8)) : x); }
      queue.push({ at: t + 1 + out.length * 0.01, to, b: Uint8Array.from(out) });
    };
    let ended = false, cancelled = '';
    const rx = new YmodemReceiver({
      write: noisy('tx'), onFile: (_n, size) => (size === data.length ? null : 'size'),
      onData: (off, d) => { got.set(d, off); return null; }, onEnd: () => { ended = true; }, onCancel: (why) => { cancelled = why; },
    }, 0);
    const tx = new YmodemSender(data, 'f.bin', noisy('rx'), { ackTimeoutMs: 500, retries: 20 });
    tx.start(0);
    for (let step = 0; step < 200000 && !(tx.finished && (ended || cancelled)); step++) {
      queue.sort((a, b) => a.at - b.at);
      const next = Math.min(queue[0]?.at ?? Infinity, tx.deadlineMs, rx.deadlineMs);
      if (!Number.isFinite(next)) break;
      t = Math.max(t, next);
      if (queue[0] && queue[0].at <= t) { const m = queue.shift()!; if (m.to === 'rx') rx.feed(m.b, t); else tx.feed(m.b, t); }
      tx.poll(t); rx.poll(t);
    }
    assert.equal(tx.state, 'done', `seed ${seed}: ${tx.error} (receiver: ${cancelled})`);
    assert.ok(ended, `seed ${seed}: receiver ended (${cancelled})`);
    assert.deepEqual(got, data, `seed ${seed}: data intact`);
  }
});

test('flashing a phone through injected line errors retransmits and succeeds (5 seeds)', () => {
  let retransmitted = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const b = makeBench(seed, { supernode: false });
    const p = b.phone('alice', '198.51.100.50');
    runFor(b.w, 2_000_000);
    const { session, line } = startSimFlash(b.w.sched, b.w.rng.split('line'), p, signedImage(2), {
      noise: { bitErrorRate: 1e-5, dropRate: 2e-5, garbageRate: 1e-5 }, attentionTimeoutMs: 30000,
    });
    b.w.runUntil(() => session.finished, b.w.sched.nowUs + 600_000_000);
    assert.equal(session.state, 'done', `seed ${seed}: ${session.error}`);
    assert.ok(line.damaged > 0, `seed ${seed}: the line damaged bytes`);
    retransmitted += session.retransmissions;
    line.noise = {};
    runFor(b.w, 7_000_000);
    assert.match(consoleCommand(b.w, p, 'status'), /firmware=v2 slot B build test-v2 \(confirmed\)/, `seed ${seed}`);
    b.w.close();
  }
  assert.ok(retransmitted > 0, 'blocks were retransmitted');
});

test('a transfer interrupted by a dropped line resumes where it stopped', () => {
  const b = makeBench(7, { supernode: false });
  const p = b.phone('alice', '198.51.100.50');
  runFor(b.w, 2_000_000);
  const img = signedImage(2);
  let done = 0;
  const first = startSimFlash(b.w.sched, b.w.rng.split('line'), p, img, { ackTimeoutMs: 1000, retries: 3, onProgress: (d) => { done = d; } });
  b.w.runUntil(() => done > img.length / 2, b.w.sched.nowUs + 100_000_000);
  first.line.unplug();
  b.w.runUntil(() => first.session.finished, b.w.sched.nowUs + 100_000_000);
  assert.equal(first.session.state, 'failed');
  assert.match(first.session.error, /run the same command again to resume/);
  runFor(b.w, 30_000_000); // the ROM's receiver gives up too and returns to its prompt
  const second = startSimFlash(b.w.sched, b.w.rng.split('line2'), p, img);
  b.w.runUntil(() => second.session.finished, b.w.sched.nowUs + 100_000_000);
  assert.equal(second.session.state, 'done', second.session.error + ' / ' + p.uartText.slice(-300));
  assert.ok(second.session.resumedAt >= img.length / 2 - 16384 && second.session.resumedAt % 8192 === 0, `resumed at ${second.session.resumedAt}`);
  runFor(b.w, 7_000_000);
  assert.match(consoleCommand(b.w, p, 'status'), /firmware=v2 slot B/);
  b.w.close();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-test-'));
const keyFile = path.join(tmp, 'vendor.pem');
fs.writeFileSync(keyFile, vendorKey().export({ format: 'pem', type: 'pkcs8' }));
fs.writeFileSync(path.join(tmp, 'vendor.pub'), hex(rawPublicKey(vendorKey())));
fs.writeFileSync(path.join(tmp, 'v1.bin'), signedImage(1));
fs.writeFileSync(path.join(tmp, 'v2.bin'), signedImage(2));
const tsx = (tool: string) => [process.execPath, '--import', 'tsx', `tools/${tool}.ts`];

test('npm run flash over a real pty: progress bar, boots the new image; wrong port and silent port give one clear line', async () => {
  const dev = spawn(tsx('device')[0], [...tsx('device').slice(1), '--trust', path.join(tmp, 'vendor.pub'), '--image', path.join(tmp, 'v1.bin')], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const pty = await new Promise<string>((res, rej) => {
      let out = '';
      const t = setTimeout(() => rej(new Error('no pty')), 20000);
      dev.stdout!.on('data', (d) => { out += d; const m = /^uart (\S+)/m.exec(out); if (m) { clearTimeout(t); res(m[1]); } });
    });
    await new Promise((r) => setTimeout(r, 2000));
    const r = await runAsync([...tsx('flash').slice(1), '--port', pty, path.join(tmp, 'v2.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /flash \|.*\| 100% \|/, 'progress bar');
    assert.match(r.stdout, /flash: done in .* s; the phone boots slot B v2/);
  } finally { dev.kill('SIGTERM'); }

  const wrong = spawnSync(tsx('flash')[0], [...tsx('flash').slice(1), '--port', '/dev/no-such-tty', path.join(tmp, 'v2.bin')], { encoding: 'utf8' });
  assert.equal(wrong.status, 1);
  assert.equal(wrong.stderr.trim(), 'flash: cannot open /dev/no-such-tty: no such device');

  const silent = await openPtyBridge(() => {});
  try {
    const r = await runAsync([...tsx('flash').slice(1), '--port', silent.path, '--timeout', '2', path.join(tmp, 'v2.bin')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim().split('\n').pop()!, /^flash: timeout: no phone bootloader answered on \/dev\/pts\/\d+ within 2 s/);
  } finally { silent.close(); }
});

function runAsync(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
