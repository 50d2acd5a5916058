/**
 * Call history bound and persistence (issue #8 "Call history (missed, received, dialled) in flash with a bounded
 * size"; firmware/ui/history.ts, flash key 9). Dialled/received/missed entries on the LCD are covered by
 * tests/host/ui.test.ts; this checks the bound (HISTORY_MAX = 20, oldest dropped) and that it survives a reboot.
 *   node --import tsx --test tests/host/history.test.ts      (needs build/firmware.wasm)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backboneWorld } from '../../host-sim/world.ts';
import { KEY } from '../../host-sim/keypad.ts';

const HISTORY_MAX = 20;
const KEY_CALL_HISTORY = 9;

/** Record of firmware/ui/history.ts: [1][count] then [dir u8][durationS u16][peer str8][result str8]. */
function encode(entries: { dir: number; peer: string; durationS: number; result: string }[]): Uint8Array {
  const out: number[] = [1, entries.length];
  for (const e of entries) {
    out.push(e.dir, e.durationS >> 8, e.durationS & 255, e.peer.length, ...Buffer.from(e.peer), e.result.length, ...Buffer.from(e.result));
  }
  return Uint8Array.from(out);
}

function decode(b: Uint8Array): { dir: number; peer: string }[] {
  const out: { dir: number; peer: string }[] = [];
  let p = 2;
  for (let i = 0; i < b[1]; i++) {
    const dir = b[p]; p += 3;
    const peer = Buffer.from(b.subarray(p + 1, p + 1 + b[p])).toString(); p += 1 + b[p];
    p += 1 + b[p];
    out.push({ dir, peer });
  }
  return out;
}

test('call history keeps the newest 20 calls (missed, received, dialled) across a reboot', () => {
  const w = backboneWorld(5, 1);
  try {
    const old = Array.from({ length: HISTORY_MAX }, (_, i) => ({ dir: i % 3, peer: `old${String(i).padStart(2, '0')}`, durationS: i, result: i % 3 === 2 ? 'no-answer' : '' }));
    const alice = w.addNode('alice', '198.51.100.30', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 500_000 });
    alice.flash.write(KEY_CALL_HISTORY, encode(old));
    const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true }, { bootAtUs: 500_000 });
    assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok') && !!w.find('bob', 'login.ok'), 20_000_000));
    // bob calls alice and gives up before she answers: a missed call, the 21st entry.
    bob.uartInput(new TextEncoder().encode('dial alice\r'));
    assert.ok(w.runUntil(() => !!w.find('alice', 'call.incoming'), w.sched.nowUs + 10_000_000));
    bob.uartInput(new TextEncoder().encode('hangup\r'));
    assert.ok(w.runUntil(() => !!w.find('alice', 'call.ended'), w.sched.nowUs + 5_000_000));
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    let saved = decode(alice.flash.read(KEY_CALL_HISTORY)!);
    assert.equal(saved.length, HISTORY_MAX, 'bounded');
    assert.deepEqual(saved[0], { dir: 2, peer: 'bob' }, 'newest first: the missed call');
    assert.equal(saved[HISTORY_MAX - 1].peer, 'old18', 'the oldest entry (old19) was dropped');
    assert.deepEqual(new Set(saved.map((e) => e.dir)), new Set([0, 1, 2]), 'dialled, received and missed kept');

    alice.reboot();
    w.runUntil(() => false, w.sched.nowUs + 1_000_000);
    alice.pressKey(KEY.SOFT2);
    w.runUntil(() => false, w.sched.nowUs + 300_000);
    const lcd = alice.lcd.lines.map((l) => l.trimEnd()).join('\n');
    assert.match(lcd, /^History \(20\)\n>!bob/);
    saved = decode(alice.flash.read(KEY_CALL_HISTORY)!);
    assert.equal(saved.length, HISTORY_MAX);
  } finally { w.close(); }
});
