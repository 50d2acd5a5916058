// Property test: hostile bytes from the network never crash the firmware (architecture.md §Bad input).
// Random and mutated datagrams and TCP streams go to a supernode and to a phone through the simulated network;
// afterwards both must still be alive, must have counted what they dropped, and the overlay must still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { World } from '../../host-sim/world.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';

const CASES = Number(process.env.FUZZ_CASES ?? 12_000);

// Message templates (type byte + plausible body) to mutate, so parsers get past their first checks.
const u32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const str8 = (s: string) => [s.length, ...Buffer.from(s)];
const TEMPLATES: number[][] = [
  [0x01, ...u32(7)],                                                     // PROBE
  [0x02, ...u32(7), ...u32(0xc6336401), 0x80, 0x00],                     // PROBE_ACK
  [0x03, ...str8('bob')],                                                // KEEPALIVE
  [0x04, ...u32(99), ...u32(1)],                                         // PUNCH
  [0x06, 0, ...str8('bob'), ...u32(99), 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xff], // RELAY with RTP
  [0x07, ...u32(99), 0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9],            // RELAYED
  [0x10, 0x80, 0x00, ...u32(0xc6336428), 3, ...u32(0xc6336428), 0x80, 0x00], // HELLO
  [0x12, 0x01, ...new Array(48).fill(7)],                                // LOGIN (sealed garbage)
  [0x14, ...str8('mallory'), 1],                                         // PUBLISH
  [0x15, ...u32(5), ...str8('bob')],                                     // SEARCH
  [0x17, ...str8('bob'), ...str8('mallory'), 0x20, ...u32(3)],           // ROUTE with inner INVITE stub
  [0x19, 0x80, 0x00],                                                    // SN_HELLO
  [0x1a, ...str8('eve'), 1, ...u32(1), 0, 1, ...u32(2), 0, 2, ...u32(3), 0, 3, 3, 0, 4], // INDEX_PUT
  [0x20, ...u32(3), ...str8('mallory'), ...str8('bob'), 2, 0, 8, 3, 1, ...u32(0xc6336499), 0x13, 0x88], // INVITE
  [0x21, ...u32(3), 1, 1, ...u32(1), 0, 1],                              // RINGING
  [0x22, ...u32(3), 0, 1, 1, ...u32(1), 0, 1],                           // ANSWER
  [0x23, ...u32(3), 0],                                                  // BYE
  [0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xfe],                   // RTP
];

const bytesArb = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 300 }),
  fc.tuple(fc.constantFrom(...TEMPLATES), fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(90))
    .map(([t, muts, cut]) => { const b = Uint8Array.from(t); for (const [i, v] of muts) if (i < b.length) b[i] = v; return b.subarray(0, Math.min(b.length, cut + 1)); }),
  fc.tuple(fc.constantFrom(...TEMPLATES), fc.uint8Array({ maxLength: 64 })).map(([t, tail]) => Uint8Array.from([...t, ...tail])),
);

const caseArb = fc.record({
  target: fc.constantFrom('sn', 'bob'),
  transport: fc.constantFrom('udp', 'tcp-framed', 'tcp-raw'),
  payloads: fc.array(bytesArb, { minLength: 1, maxLength: 3 }),
});

function frame(b: Uint8Array): Uint8Array { const f = new Uint8Array(b.length + 2); f[0] = b.length >> 8; f[1] = b.length & 255; f.set(b, 2); return f; }

function consoleStat(w: World, name: string, key: string): number {
  const node = w.node(name);
  const before = node.uart.out.length;
  node.uartInput(new TextEncoder().encode('stats\r'));
  w.runUntil(() => false, w.sched.nowUs + 1000);
  const out = Buffer.from(node.uart.out.slice(before)).toString();
  const m = new RegExp(`${key}=(\\d+)`).exec(out);
  assert.ok(m, `console stats output has ${key}: ${out}`);
  return Number(m![1]);
}

test(`${CASES} hostile datagrams and TCP streams never crash a supernode or a phone, are counted, and the overlay keeps working`, () => {
  const w = new World({ seed: 1234 });
  try {
    w.addLoginServer('198.51.100.10');
    w.bootstrapEntry('198.51.100.21');
    const sn = w.addNode('sn', '198.51.100.21', { supernode: 'auto', port: 33033 });
    const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true, port: 40000 }, { bootAtUs: 500_000 });
    assert.ok(w.runUntil(() => !!w.find('bob', 'login.ok'), 10_000_000), 'bob logs in');
    const mallory = w.net.addHost('mallory', '198.51.100.66');
    const ports = { sn: 33033, bob: 40000 };
    const ips = { sn: sn.host.ip, bob: bob.host.ip };
    const udp = mallory.udpBind(0, () => {});

    fc.assert(fc.property(caseArb, (c) => {
      const ip = ips[c.target as 'sn' | 'bob'], port = ports[c.target as 'sn' | 'bob'];
      if (c.transport === 'udp') {
        for (const p of c.payloads) if (p.length > 0) udp.send(ip, port, p);
      } else {
        const conn = mallory.tcpConnect(ip, port, {
          onConnect: () => { for (const p of c.payloads) conn.send(c.transport === 'tcp-framed' ? frame(p) : p); conn.close(); },
        });
      }
      w.runUntil(() => false, w.sched.nowUs + 60_000);
      return sn.crash === null && bob.crash === null;
    }), { numRuns: CASES, seed: 20261121, endOnFailure: true });

    assert.equal(sn.crash, null);
    assert.equal(bob.crash, null);
    const dropped = consoleStat(w, 'sn', 'malformed') + consoleStat(w, 'sn', 'unexpected');
    assert.ok(dropped > 1000, `the supernode counted what it dropped (${dropped})`);
    assert.ok(consoleStat(w, 'bob', 'malformed') + consoleStat(w, 'bob', 'unexpected') > 100, 'bob counted what he dropped');

    // Fuzzed INVITEs may have left bob ringing for "mallory": let that ring out (60 s) first.
    w.runUntil(() => false, w.sched.nowUs + 61_000_000);
    // The network still works: a new phone logs in through the fuzzed supernode and finds bob.
    const carol = w.addNode('carol', '198.51.100.41', { user: 'carol', password: 'carol-secret-3', register: true }, { bootAtUs: w.sched.nowUs + 1000 });
    assert.ok(w.runUntil(() => !!w.find('carol', 'login.ok'), w.sched.nowUs + 10_000_000), 'carol logs in after the fuzzing');
    const t = w.typeKeys(carol, multiTapKeys('bob'));
    w.sched.at(t + 200_000, () => carol.pressKey(KEY.SEND));
    assert.ok(w.runUntil(() => !!w.find('bob', 'call.incoming', { from: 'carol' }), w.sched.nowUs + 10_000_000), 'carol reaches bob');
  } finally { w.close(); }
});
