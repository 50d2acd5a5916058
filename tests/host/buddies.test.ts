/**
 * Buddy list, presence and blocking on simulated phones running the real firmware (issue #8, issue #5
 * "Presence"; firmware/buddy/, server/buddies.ts, host-sim/scenarios/buddies.ts).
 *   node --import tsx --test tests/host/buddies.test.ts      (needs build/firmware.wasm: npm run build:fw)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buddiesWorld, consoleLine, runBuddies, waitEvent, PRESENCE_BOUND_MS, SILENT_BOUND_MS, type BuddiesReport } from '../../host-sim/scenarios/buddies.ts';
import { backboneWorld } from '../../host-sim/world.ts';
import { KEY } from '../../host-sim/keypad.ts';
import { BuddyOp, MAX_INCOMING, MAX_OWN, encodeBuddyRequest, parseBuddyRequest } from '../../server/buddies.ts';

const SEED = 11;

describe('buddy list', () => {
  test('add → request shown on the other phone through the overlay → accept; decline; list from flash after reboot, re-synced', () => {
    const { w, alice, bob, mallory } = buddiesWorld(SEED);
    try {
      for (const n of ['alice', 'bob', 'mallory']) assert.ok(waitEvent(w, n, 'buddy.list', { op: 'sync' }, 0, 30_000_000), `${n} synced`);
      let t0 = w.sched.nowUs;
      consoleLine(alice, 'buddies add bob');
      const req = waitEvent(w, 'bob', 'buddy.request', { from: 'alice' }, t0, 10_000_000);
      assert.ok(req, 'bob sees the request while online');
      assert.ok(w.events.some((e) => e.node === 'bob' && e.name === 'buddy.notify' && e.kv.from === 'alice' && e.timeUs >= t0 && e.timeUs <= req.timeUs), 'via the overlay notification');
      // bob accepts on his phone's buddy screen: the request is listed first, with Accept on soft key 1.
      w.runUntil(() => false, w.sched.nowUs + 2_100_000); // the 2 s notice "Buddy request: alice" has gone
      bob.pressKey(KEY.SOFT1);
      w.runUntil(() => false, w.sched.nowUs + 300_000);
      assert.match(bob.lcd.lines.map((l) => l.trimEnd()).join('\n'), /^Buddies \(1\)\n>\?alice\n[\s\S]*Accept ?Deny +Block +Back/);
      bob.pressKey(KEY.SOFT1);
      assert.ok(waitEvent(w, 'alice', 'buddy.added', { user: 'bob' }, t0, 10_000_000), 'alice learns bob accepted');
      bob.pressKey(KEY.SOFT4);
      assert.deepEqual(w.login.service.buddies.list('alice'), [{ kind: 1, name: 'bob' }]);
      // The buddy screen and the console show bob online.
      assert.ok(waitEvent(w, 'alice', 'buddy.presence', { user: 'bob', status: 'online' }, t0, 10_000_000));
      alice.pressKey(KEY.SOFT1);
      w.runUntil(() => false, w.sched.nowUs + 300_000);
      assert.match(alice.lcd.lines.map((l) => l.trimEnd()).join('\n'), /^Buddies \(1\)\n>\*bob online\n[\s\S]*Call +IM +Away +Back/);
      const before = alice.uart.text().length;
      consoleLine(alice, 'buddies');
      w.runUntil(() => false, w.sched.nowUs + 10_000);
      assert.match(alice.uart.text().slice(before), /\*bob online since \d+ms\r\nme online synced=1 pending=\[\]/);
      alice.pressKey(KEY.SOFT4);

      // decline: mallory asks alice, alice declines, mallory's phone ends with nothing pending
      t0 = w.sched.nowUs;
      consoleLine(mallory, 'buddies add alice');
      assert.ok(waitEvent(w, 'alice', 'buddy.request', { from: 'mallory' }, t0, 10_000_000));
      consoleLine(alice, 'buddies decline mallory');
      assert.ok(waitEvent(w, 'mallory', 'buddy.list', { op: 'sync', sent: '0' }, t0, 10_000_000), 'mallory re-synced without the request');
      assert.deepEqual(w.login.service.buddies.list('mallory'), []);

      // reboot: bob's list comes from flash before login; while he is off alice removes him; the sync fixes it
      bob.powerOff();
      t0 = w.sched.nowUs;
      consoleLine(alice, 'buddies remove bob');
      assert.ok(waitEvent(w, 'alice', 'buddy.list', { op: 'remove', buddies: '0' }, t0, 10_000_000));
      t0 = w.sched.nowUs;
      bob.boot();
      w.runUntil(() => false, t0 + 1);
      const loaded = w.events.find((e) => e.node === 'bob' && e.name === 'buddy.loaded' && e.timeUs >= t0);
      assert.equal(loaded?.kv.n, '1', 'the cached list survived the power cycle');
      assert.ok(waitEvent(w, 'bob', 'buddy.list', { op: 'sync', buddies: '0' }, t0, 30_000_000), 're-synced with the server');
      for (const n of [alice, bob, mallory]) assert.equal(n.crash, null);
    } finally { w.close(); }
  });

  test('a request to an offline user reaches it at its next login, from the server', () => {
    const w = backboneWorld(SEED + 1);
    try {
      w.login.store.register('bob', 'bob-secret-1');
      const alice = w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 1_000_000 });
      assert.ok(waitEvent(w, 'alice', 'buddy.list', { op: 'sync' }, 0, 30_000_000));
      consoleLine(alice, 'buddies add bob');
      assert.ok(waitEvent(w, 'alice', 'buddy.list', { op: 'add', sent: '1' }, 0, 10_000_000));
      const t0 = w.sched.nowUs;
      w.addNode('bob', '198.51.100.50', { user: 'bob', password: 'bob-secret-1' }, { bootAtUs: t0 + 1_000 });
      const req = waitEvent(w, 'bob', 'buddy.request', { from: 'alice' }, t0, 30_000_000);
      assert.ok(req, 'bob sees the request after logging in');
    } finally { w.close(); }
  });

  test('operations made offline wait in flash and go out at the next login', () => {
    const w = backboneWorld(SEED + 2);
    try {
      w.login.store.register('bob', 'bob-secret-1');
      // No supernode answers yet: the phone is offline when the user blocks bob.
      const alice = w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 0 });
      w.runUntil(() => false, 10_000);
      consoleLine(alice, 'buddies block bob');
      w.runUntil(() => false, 20_000);
      assert.match(alice.uart.text(), /ok: block bob/);
      assert.ok(waitEvent(w, 'alice', 'buddy.list', { op: 'block', blocked: '1' }, 0, 30_000_000), 'the queued block reached the server');
      assert.deepEqual(w.login.service.buddies.list('alice'), [{ kind: 4, name: 'bob' }]);
    } finally { w.close(); }
  });

  test('the largest list answer (MAX_OWN + MAX_INCOMING entries, 32-byte names) reaches the phone over Noise_IK', () => {
    const w = backboneWorld(SEED + 3);
    try {
      const name = (i: number) => `u${String(i).padStart(3, '0')}${'x'.repeat(28)}`;
      const pw = 'password-1';
      w.login.store.register('alice', 'alice-secret-1');
      for (let i = 0; i < MAX_OWN + MAX_INCOMING; i++) w.login.store.register(name(i), pw);
      const op = (o: number, user: string, pass: string, target: string) =>
        assert.equal(w.login.service.buddies.handle(parseBuddyRequest(encodeBuddyRequest(o, user, pass, target))!)[0], 0);
      for (let i = 0; i < MAX_OWN; i++) op(BuddyOp.ADD, 'alice', 'alice-secret-1', name(i));
      for (let i = MAX_OWN; i < MAX_OWN + MAX_INCOMING; i++) op(BuddyOp.ADD, name(i), pw, 'alice');
      w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1' }, { bootAtUs: 1_000 });
      const ev = waitEvent(w, 'alice', 'buddy.list', { op: 'sync' }, 0, 30_000_000);
      assert.ok(ev, 'alice synced the full list');
      assert.equal(ev.kv.sent, String(MAX_OWN));
      assert.equal(ev.kv.received, String(MAX_INCOMING));
      assert.equal(w.nodes.get('alice')?.crash ?? null, null);
    } finally { w.close(); }
  });
});

describe('away from the idle timer', () => {
  test('5 minutes without a key press: buddies see "away"; the next key press: "online"', () => {
    const w = backboneWorld(SEED + 3, 1);
    try {
      const alice = w.addNode('alice', '198.51.100.40', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 500_000 });
      const bob = w.addNode('bob', '198.51.100.50', { user: 'bob', password: 'bob-secret-1', register: true }, { bootAtUs: 500_000 });
      for (const n of ['alice', 'bob']) assert.ok(waitEvent(w, n, 'buddy.list', { op: 'sync' }, 0, 30_000_000));
      consoleLine(alice, 'buddies add bob');
      assert.ok(waitEvent(w, 'bob', 'buddy.request', { from: 'alice' }, 0, 10_000_000));
      consoleLine(bob, 'buddies accept alice');
      assert.ok(waitEvent(w, 'alice', 'buddy.presence', { user: 'bob', status: 'online' }, 0, 10_000_000));
      const tKey = w.sched.nowUs;
      bob.pressKey(KEY.CLEAR);
      const away = waitEvent(w, 'alice', 'buddy.presence', { user: 'bob', status: 'away' }, tKey, 320_000_000);
      assert.ok(away, 'alice sees bob away');
      const idleMs = (away.timeUs - tKey) / 1000;
      assert.ok(idleMs >= 300_000 && idleMs <= 300_000 + PRESENCE_BOUND_MS, `away after ${idleMs} ms`);
      const t1 = w.sched.nowUs;
      bob.pressKey(KEY.CLEAR);
      const back = waitEvent(w, 'alice', 'buddy.presence', { user: 'bob', status: 'online' }, t1, 10_000_000);
      assert.ok(back && back.timeUs - t1 <= PRESENCE_BOUND_MS * 1000, 'a key press ends the idle away');
    } finally { w.close(); }
  });
});

describe('presence and blocking (scenario buddies)', () => {
  let rep: BuddiesReport | undefined;
  const run = () => (rep ??= runBuddies({ seed: SEED, outDir: '' }));

  test(`a buddy's away/back/offline/online shows on the phone within ${PRESENCE_BOUND_MS} ms`, () => {
    const r = run();
    assert.deepEqual(r.failures, []);
    for (const k of ['away', 'back', 'offline', 'online']) {
      const p = r.presence[k];
      assert.ok(p, `${k} seen`);
      assert.ok(p.ms <= PRESENCE_BOUND_MS, `${k}: ${p.ms} ms`);
    }
    assert.equal(r.presence.away?.via, 'push');
  });

  test(`a buddy that vanishes without closing its connection shows offline within ${SILENT_BOUND_MS / 1000} s (supernode silence timeout)`, () => {
    const r = run();
    const p = r.presence.offlineSilent;
    assert.ok(p, 'seen');
    assert.ok(p.ms > 60_000 && p.ms <= SILENT_BOUND_MS, `${p.ms} ms`);
  });

  test('a blocked user\'s call never rings (the same call rang before the block)', () => {
    const r = run();
    assert.equal(r.block.controlCallRang, true);
    assert.equal(r.block.blockedCallRang, false);
    assert.ok(r.block.blockedCallsCounted >= 1);
    assert.equal(r.ok, true);
  });

  test('a blocked user\'s IM never reaches the inbox (an IM before the block did)', () => {
    const r = run();
    assert.equal(r.block.controlImReceived, true);
    assert.equal(r.block.blockedImReceived, false);
    assert.ok((r.block.blockedImsCounted ?? 0) >= 1);
  });
});
