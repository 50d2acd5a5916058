// The phone UI (firmware/ui/): every screen transition used in a call, on both phones, the ringer (a tone made
// by the firmware on the loudspeaker, with its cadence), hook switch semantics, call history and the menus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../host-sim/world.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';
import type { FirmwareNode } from '../../host-sim/firmware.js';

function world(seed: number) {
  const w = new World({ seed });
  w.addLoginServer('198.51.100.10');
  w.bootstrapEntry('198.51.100.21');
  w.addNode('sn1', '198.51.100.21', { supernode: 'auto', port: 33033 });
  const alice = w.addNode('alice', '198.51.100.30', { user: 'alice', password: 'alice-secret-1', register: true }, { bootAtUs: 500_000 });
  const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true }, { bootAtUs: 500_000 });
  assert.ok(w.runUntil(() => !!w.find('alice', 'login.ok') && !!w.find('bob', 'login.ok'), 20_000_000), 'both phones log in');
  return { w, alice, bob };
}
const run = (w: World, us: number) => w.runUntil(() => false, w.sched.nowUs + us);
const screen = (n: FirmwareNode) => n.lcd.lines.map((l) => l.trimEnd()).join('\n');
const type = (w: World, n: FirmwareNode, keys: number[]) => { const t = w.typeKeys(n, keys, 120_000); w.runUntil(() => false, t + 200_000); };

/** Energy of `f` Hz in `x` (Goertzel), normalised per sample. */
function goertzel(x: number[], f: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * f) / rate);
  let s1 = 0, s2 = 0;
  for (const v of x) { const s = v + k * s1 - s2; s2 = s1; s1 = s; }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / x.length;
}

test('a call through every screen: idle → dial → calling → ringback | incoming (ringer) → in call → idle, history', () => {
  const { w, alice, bob } = world(31);
  assert.match(screen(alice), /^alice +Online\nNet: public\n\nBuddy +Hist +IM +Menu$/);
  type(w, alice, multiTapKeys('bob'));
  assert.match(screen(alice), /^Dial: bob_/, 'dial screen with the multi-tap entry');
  alice.pressKey(KEY.SEND);
  assert.ok(w.runUntil(() => /^Ringing bob/.test(screen(alice)), w.sched.nowUs + 5_000_000), `alice sees ringback: ${screen(alice)}`);
  const seen = alice.lcd.history.map((h) => h.text.split('\n')[0]);
  assert.ok(seen.some((l) => /^(Searching|Calling) bob/.test(l)), 'searching/calling screen shown');
  assert.match(screen(bob), /^Call from alice\nLift handset to answer\n\nAnswer +Reject$/);
  // The ringer: firmware-made tone on the loudspeaker, 2 s on / 4 s off; not on the handset.
  const ringStart = bob.loudspeaker.length;
  run(w, 6_000_000);
  const ring = bob.loudspeaker.slice(ringStart);
  assert.ok(ring.length >= 6 * 8000 - 800, `6 s of loudspeaker output (${ring.length})`);
  const on = ring.slice(0, 8000), off = ring.slice(3 * 8000, 4 * 8000);
  const rms = (x: number[]) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
  assert.ok(rms(on) > 3000, `ringing: RMS ${rms(on)}`);
  assert.ok(rms(off) < 1, 'silent in the cadence pause');
  // A 20 Hz warble: every 25 ms the tone is at 1000 or 1250 Hz (zero-crossing frequency in 10 ms windows).
  const freqs = [];
  for (let i = 0; i + 80 <= on.length; i += 80) { let zc = 0; for (let k = i + 1; k < i + 80; k++) if ((on[k - 1] < 0) !== (on[k] < 0)) zc++; freqs.push(zc / 2 / 0.01); }
  assert.ok(freqs.filter((f) => Math.abs(f - 1000) <= 100).length > 30 && freqs.filter((f) => Math.abs(f - 1250) <= 100).length > 30, `warble 1000/1250 Hz: ${freqs.slice(0, 12).join(' ')}`);
  assert.ok(goertzel(on.slice(0, 200), 1000) + goertzel(on.slice(0, 200), 1250) > 1000 * goertzel(on.slice(0, 200), 3000), 'no energy far from the ring frequencies');
  assert.equal(bob.audio.speaker.length, 0, 'nothing in the handset earpiece while ringing');
  // Off-hook answers.
  bob.hook(true);
  run(w, 2_200_000);
  assert.match(screen(bob), /^alice +00:02\n[A-Z0-9]+ <=>direct Q\[[#.?]+\]\n/, `in-call screen: ${screen(bob)}`);
  assert.match(screen(alice), /^bob +00:0[12]\n[A-Z0-9]+ <=>direct/);
  assert.match(screen(alice), /Hold +Conf +Spkr +End/);
  const loudAfter = bob.loudspeaker.length;
  run(w, 3_000_000);
  assert.equal(bob.loudspeaker.length, loudAfter, 'ringer stopped after answering');
  assert.ok(bob.audio.speaker.length > 2 * 8000, 'call audio in the handset');
  assert.match(screen(bob), /Q\[[#.]{4}\]/, 'E-model quality bars once enough packets arrived');
  // Hold (issue #8): bob holds, alice is told; Resume from the Hold screen.
  bob.pressKey(KEY.HOLD); run(w, 300_000);
  assert.match(screen(bob), /^Hold\nalice still connected\nOn hold/);
  assert.match(screen(alice), /On hold by bob/);
  bob.pressKey(KEY.SOFT1); run(w, 300_000);
  assert.doesNotMatch(screen(alice), /On hold/);
  // On-hook hangs up.
  alice.hook(false);
  assert.ok(w.runUntil(() => /^bob +Online/.test(screen(bob)) && /^alice +Online/.test(screen(alice)), w.sched.nowUs + 3_000_000), `timed out: ${screen(alice)} ## ${screen(bob)}`);
  assert.match(screen(alice), /Last: local-hangup/);
  // History on both phones.
  alice.pressKey(KEY.SOFT2); run(w, 300_000);
  assert.match(screen(alice), /^History \(1\)\n>>bob 00:0\d/);
  bob.hook(false); run(w, 300_000);
  bob.pressKey(KEY.SOFT2); run(w, 300_000);
  assert.match(screen(bob), /^History \(1\)\n><alice 00:0\d/);
  w.close();
});

test('decline, missed call, search-as-you-type from the history, speaker answer, volume, settings and account screens', () => {
  const { w, alice, bob } = world(32);
  type(w, alice, multiTapKeys('bob'));
  alice.pressKey(KEY.SEND);
  assert.ok(w.runUntil(() => /^Call from alice/.test(screen(bob)), w.sched.nowUs + 5_000_000), `timed out: ${screen(alice)} ## ${screen(bob)}`);
  bob.pressKey(KEY.VOLUME_UP); run(w, 200_000);
  assert.match(screen(bob), /Ring 6 \[######\.\.\]/, 'ringer volume while ringing');
  bob.pressKey(KEY.SOFT4); // Decline
  assert.ok(w.runUntil(() => /Last: declined/.test(screen(alice)), w.sched.nowUs + 3_000_000), screen(alice));
  run(w, 500_000);
  // Search-as-you-type: "b" suggests bob from the history; DOWN selects, SEND dials it.
  type(w, alice, multiTapKeys('b'));
  assert.match(screen(alice), /^Dial: b_\n bob/);
  alice.pressKey(KEY.DOWN); run(w, 200_000);
  assert.match(screen(alice), /^Dial: b_?\n>bob/);
  alice.pressKey(KEY.SEND);
  assert.ok(w.runUntil(() => /^Call from alice/.test(screen(bob)), w.sched.nowUs + 5_000_000), `timed out: ${screen(alice)} ## ${screen(bob)}`);
  bob.pressKey(KEY.SPEAKER); // answer hands-free
  run(w, 1_500_000);
  assert.match(screen(bob), /^alice +00:0\d[\s\S]*Speaker/);
  assert.ok(bob.loudspeaker.length > 0, 'bob.loudspeaker.length > 0');
  bob.pressKey(KEY.SOFT4); // End
  assert.ok(w.runUntil(() => /^alice +Online/.test(screen(alice)), w.sched.nowUs + 3_000_000), `timed out: ${screen(alice)} ## ${screen(bob)}`);
  // A missed call: alice gives up before bob answers.
  run(w, 500_000);
  type(w, alice, multiTapKeys('bob'));
  alice.pressKey(KEY.SEND);
  assert.ok(w.runUntil(() => /^Call from alice/.test(screen(bob)), w.sched.nowUs + 5_000_000), `${screen(alice)} ## ${screen(bob)} ## ${w.events.filter((e) => e.node === 'alice').slice(-8).map((e) => e.name + JSON.stringify(e.kv)).join(' ')}`);
  alice.pressKey(KEY.SOFT4);
  assert.ok(w.runUntil(() => /1 missed call/.test(screen(bob)), w.sched.nowUs + 3_000_000), screen(bob));
  bob.pressKey(KEY.SOFT2); run(w, 200_000);
  assert.match(screen(bob), /^History \(3\)\n>!alice/);
  bob.pressKey(KEY.SOFT4); run(w, 200_000);
  // Menu → network, supernode, volumes, account (login/registration) → edit user name.
  bob.pressKey(KEY.SOFT4); run(w, 200_000);
  assert.match(screen(bob), /^Settings\n>Network\n Supernode: off/);
  bob.pressKey(KEY.OK); run(w, 200_000);
  assert.match(screen(bob), /^Network\n198\.51\.100\.40:\d+\npublic via 198\.51\.100\.21/);
  bob.pressKey(KEY.SOFT4); run(w, 200_000);
  for (let i = 0; i < 4; i++) { bob.pressKey(KEY.DOWN); run(w, 150_000); }
  assert.match(screen(bob), />Account/);
  bob.pressKey(KEY.OK); run(w, 200_000);
  assert.match(screen(bob), /^Account: Online\nUser: bob\nPass: \*{13}\nUser +Pass +Login +Reg$/);
  bob.pressKey(KEY.SOFT1); run(w, 200_000);
  assert.match(screen(bob), /^User name:\nbob_/);
  bob.pressKey(KEY.SOFT4); run(w, 200_000);
  assert.match(screen(bob), /^Account: Online/);
  w.close();
});

test('IM compose with multi-tap text, sent to bob and shown on his Messages screen (issue #8); the conference placeholder', () => {
  const { w, alice, bob } = world(33);
  alice.pressKey(KEY.SOFT3); run(w, 200_000);
  assert.match(screen(alice), /^Messages\nNo messages/);
  alice.pressKey(KEY.SOFT1); run(w, 200_000);
  type(w, alice, multiTapKeys('bob'));
  alice.pressKey(KEY.OK); run(w, 200_000);
  type(w, alice, [52, 52, 52, 52, 52, 48, 52, 52, 52]); // "i" then space (0) then "h" via 4s: h i → multi-tap
  assert.match(screen(alice), /^IM to bob\n/);
  alice.pressKey(KEY.SOFT1); run(w, 200_000);
  assert.match(screen(alice), /IM sent to bob/);
  assert.ok(w.runUntil(() => !!w.find('bob', 'im.recv'), w.sched.nowUs + 5_000_000), 'bob received it');
  bob.pressKey(KEY.SOFT3); run(w, 200_000);
  assert.match(screen(bob), /^Messages\nalice: \S/);
  alice.pressKey(KEY.SOFT4); run(w, 2_500_000);
  assert.match(screen(alice), /^alice +Online/);
  alice.pressKey(KEY.CONFERENCE); run(w, 200_000);
  assert.match(screen(alice), /^Conference\nAdd: _/);
  assert.match(screen(alice), /Add +Xfer/);
  w.close();
});
