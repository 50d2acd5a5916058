// The simulated boot ROM (host-sim/bootrom.ts, bootrom-device.ts): A/B slots, signature check before boot,
// refusal of unsigned, tampered and older images over serial, trial boots with confirmation, and fallback to the
// previous slot when a new image does not confirm a healthy boot (never confirms, or crashes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { makeBench, runFor, signedImage, consoleCommand, vendorPublic } from '../../host-sim/bootrom-bench.js';
import { startSimFlash } from '../../host-sim/uart-line.js';
import { BootRom, NorFlash, readState, writeState, emptyState, crc32, decodeState, encodeState, STATE_OFFSETS, MAX_TRIAL_BOOTS } from '../../host-sim/bootrom.js';
import { IMAGE_HEADER_BYTES } from '../../host-sim/bootrom-image.js';

/** A minimal module with the HAL exports FirmwareNode needs at boot; `init` returns -1 or traps. It never confirms. */
function stubFirmware(trapInInit: boolean): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const sec = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const types = [3, 0x60, 0, 1, 0x7f, 0x60, 2, 0x7e, 0x7e, 1, 0x7e, 0x60, 1, 0x7e, 1, 0x7e];
  const funcs = [6, 0, 0, 0, 0, 1, 2];
  const mem = [1, 0, 1];
  const names = ['halRxBuf', 'halRxCap', 'halAudioBuf', 'halAudioCap', 'init', 'tick'];
  const exps = [7, ...str('memory'), 2, 0, ...names.flatMap((n, i) => [...str(n), 0, i])];
  const body = (instr: number[]) => { const b = [0, ...instr, 0x0b]; return [b.length, ...b]; };
  const code = [6, ...body([0x41, 0]), ...body([0x41, 0x80, 0x08]), ...body([0x41, 0x80, 0x10]), ...body([0x41, 0xe0, 0x03]),
    ...body(trapInInit ? [0x00] : [0x42, 0x7f]), ...body([0x42, 0x7f])];
  const m = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sec(1, types), ...sec(3, funcs), ...sec(5, mem), ...sec(7, exps), ...sec(10, code)]);
  assert.ok(WebAssembly.validate(m), 'stub module is valid wasm');
  return m;
}
function leb(n: number): number[] { const o = []; do { let b = n & 127; n >>>= 7; if (n) b |= 128; o.push(b); } while (n); return o; }

function flash(b: ReturnType<typeof makeBench>, phone: ReturnType<ReturnType<typeof makeBench>['phone']>, image: Uint8Array, seed = 1) {
  const { session } = startSimFlash(b.w.sched, b.w.rng.split(`line${seed}`), phone, image);
  b.w.runUntil(() => session.finished, b.w.sched.nowUs + 300_000_000);
  return session;
}

test('factory image boots from slot A; the ROM verifies it and prints what it boots', () => {
  const b = makeBench(1);
  const p = b.phone('alice', '198.51.100.50');
  runFor(b.w, 3_000_000);
  assert.equal(p.mode, 'firmware');
  assert.match(p.uartText, /booting slot A v1 build test-v1/);
  assert.match(consoleCommand(b.w, p, 'status'), /firmware=v1 slot A build test-v1 \(confirmed\)/);
  b.w.close();
});

test('serial flash of a newer signed image: boots on trial, confirms a healthy boot, raises the anti-rollback floor', () => {
  const b = makeBench(2);
  const p = b.phone('alice', '198.51.100.50');
  runFor(b.w, 3_000_000);
  const s = flash(b, p, signedImage(2));
  assert.equal(s.state, 'done', s.error);
  assert.equal(s.booted, 'slot B v2');
  runFor(b.w, 7_000_000);
  assert.match(p.uartText, /v2 in slot B confirmed healthy; anti-rollback floor now 2/);
  assert.equal(p.rom.state.confirmedSlot, 1);
  assert.equal(p.rom.state.minVersion, 2);
  assert.match(consoleCommand(b.w, p, 'status'), /firmware=v2 slot B build test-v2 \(confirmed\) floor=2/);
  b.w.close();
});

test('the ROM refuses unsigned, tampered, wrongly signed and older images, and keeps booting what it has', () => {
  const b = makeBench(3);
  const p = b.phone('alice', '198.51.100.50', { factory: signedImage(5) });
  runFor(b.w, 3_000_000);
  const good = signedImage(6);
  const tamperedPayload = Uint8Array.from(good); tamperedPayload[IMAGE_HEADER_BYTES + 1000] ^= 0x40;
  const tamperedSig = Uint8Array.from(good); tamperedSig[good.length - 5] ^= 1;
  const tamperedHeader = Uint8Array.from(good); tamperedHeader[8] = 7; // version 6 → 7 without re-signing
  const otherKey = signedImage(6, undefined, crypto.generateKeyPairSync('ed25519').privateKey);
  const unsigned = Uint8Array.from(Buffer.concat([Buffer.from(good.subarray(0, good.length - 64))]));
  const cases: [string, Uint8Array, RegExp][] = [
    ['raw wasm (no image header)', Uint8Array.from(Buffer.concat([Buffer.from('\0asm'), Buffer.alloc(200)])), /bad magic/],
    ['payload tampered', tamperedPayload, /SHA-256 does not match/],
    ['signature tampered', tamperedSig, /signature does not verify/],
    ['header tampered', tamperedHeader, /signature does not verify/],
    ['signed with another key', otherKey, /signed with key [0-9a-f]{16}, this phone trusts key/],
    ['unsigned (signature stripped)', unsigned, /signature does not verify|truncated|header says/],
    ['older than the anti-rollback floor', signedImage(4), /version 4 is older than this phone's anti-rollback floor 5/],
  ];
  for (const [what, img, re] of cases) {
    const s = flash(b, p, img);
    assert.equal(s.state, 'failed', `${what}: must be refused`);
    assert.match(s.error, /the phone refused the image/, what);
    assert.match(s.error, re, what);
    assert.equal(p.rom.state.confirmedSlot, 0, `${what}: slot A still the confirmed one`);
  }
  // Back to the firmware: still v5 from slot A.
  runFor(b.w, 500_000);
  p.uartInput(new TextEncoder().encode('boot\r'));
  runFor(b.w, 2_000_000);
  assert.match(consoleCommand(b.w, p, 'status'), /firmware=v5 slot A/);
  b.w.close();
});

for (const [what, trap] of [['never confirms a healthy boot', false], ['crashes in init', true]] as const) {
  test(`rollback: a new image that ${what} is abandoned and the phone falls back to the previous slot`, () => {
    const b = makeBench(4);
    const p = b.phone('alice', '198.51.100.50', { rom: { confirmTimeoutUs: 20_000_000 } });
    runFor(b.w, 3_000_000);
    const bad = signedImage(2, stubFirmware(trap));
    const s = flash(b, p, bad);
    assert.equal(s.state, 'done', s.error);
    runFor(b.w, 120_000_000);
    assert.match(p.uartText, /v2 in slot B did not confirm a healthy boot after \d boot\(s\); falling back/);
    if (!trap) assert.match(p.uartText, /watchdog: v2 did not confirm a healthy boot in time/);
    else assert.ok(p.romLog.filter((l) => /booting slot B v2/.test(l.line)).length === MAX_TRIAL_BOOTS, 'a crashing image gets MAX_TRIAL_BOOTS tries');
    assert.equal(p.mode, 'firmware');
    assert.equal(p.rom.running?.slot, 0);
    assert.equal(p.rom.state.slotBad[1], true);
    assert.equal(p.rom.state.minVersion, 1, 'the floor did not move: v1 still bootable');
    assert.match(consoleCommand(b.w, p, 'status'), /firmware=v1 slot A build test-v1 \(confirmed\)/);
    // A power cycle does not bring the bad image back.
    p.powerCut(); p.powerOn();
    runFor(b.w, 3_000_000);
    assert.equal(p.rom.running?.slot, 0);
    b.w.close();
  });
}

test('boot state: two copies with sequence and CRC-32; a torn write leaves the previous state readable', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const f = new NorFlash();
  const s = emptyState(); s.confirmedSlot = 0; s.minVersion = 3;
  writeState(f, s);
  const s2 = readState(f); s2.minVersion = 4; writeState(f, s2);
  assert.equal(readState(f).minVersion, 4);
  // Tear the next write at every byte boundary: the reader sees 4 (old) or 5 (new), never garbage.
  for (let cut = 0; cut <= 1; cut += 0.05) {
    const g = new NorFlash(); g.bytes.set(f.bytes);
    const st = readState(g); st.minVersion = 5;
    g.cutAtOp = g.ops + 1; g.cutFraction = cut; // op 0: erase, op 1: program (torn)
    writeState(g, st);
    assert.ok([4, 5].includes(readState(g).minVersion), `cut ${cut}`);
  }
  const bad = encodeState(s); bad[10] ^= 1;
  assert.equal(decodeState(bad), null, 'CRC catches a flipped bit');
  assert.ok(STATE_OFFSETS.length === 2, 'STATE_OFFSETS.length === 2');
  assert.throws(() => BootRom.factoryInstall(new NorFlash(), vendorPublic(), Uint8Array.from([1, 2, 3])), /factory image refused/);
});
