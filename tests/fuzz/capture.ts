/**
 * Seed corpus from real traffic: runs simulated calls (alice behind a NAT calls bob; then bob behind a
 * UDP-blocking firewall, so the relay over TCP is used), taps every link, and keeps a few distinct messages
 * of every type, split by transport and by who received them (a supernode or a phone). The fuzzer mutates
 * these, so its inputs get past the parsers' first checks. `npm run fuzz -- --capture` rewrites
 * tests/fuzz/corpus/captured.json; the harness also works without it (hand-written templates).
 */
import { World } from '../../host-sim/world.js';
import { natPresets, firewallPresets } from '../../host-sim/net/network.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';
import type { CapturedPacket } from '../../host-sim/net/types.js';

export interface Corpus {
  /** key: `udp:sn`, `udp:phone`, `tcp:sn`, `tcp:phone` → hex messages ([type][body], TCP length prefix removed). */
  [key: string]: string[];
}

const PER_TYPE = 6;

function speech(n: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(6000 * Math.sin(i * 0.07) * Math.sin(i * 0.0009) + 2000 * Math.sin(i * 0.31));
  return s;
}

function oneCall(seed: number, firewall: boolean, keep: (p: CapturedPacket, toSn: boolean) => void, flash: (key: number, rec: Uint8Array) => void): void {
  const w = new World({ seed });
  try {
    w.addLoginServer('198.51.100.10');
    const snIps = ['198.51.100.21', '198.51.100.22'];
    for (const a of snIps) w.bootstrapEntry(a);
    snIps.forEach((a, i) => w.addNode(`sn${i + 1}`, a, { supernode: 'auto', port: 33033 }));
    const snSet = new Set(snIps.map((a) => a.split('.').reduce((x, y) => (x * 256 + Number(y)) >>> 0, 0)));
    const nat = w.net.addNat('alice-nat', '203.0.113.7', natPresets['port-restricted-cone']);
    const alice = w.addNode('alice', '192.168.1.10', { user: 'alice', password: 'alice-secret-1', register: true }, { behind: nat, bootAtUs: 1_000_000 });
    const fw = firewall ? w.net.addFirewall('bob-fw', { ...firewallPresets['udp-blocked'] }) : undefined;
    const bob = w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true }, { behind: fw, bootAtUs: 1_000_000 });
    const stop = w.net.addTap((p) => { if (p.where.startsWith('host:') && p.payload.length) keep(p, snSet.has(p.dstIp)); });
    w.runUntil(() => !!(w.find('alice', 'login.ok') && w.find('bob', 'login.ok')), 30_000_000);
    w.onEvent((e) => {
      if (e.node === 'bob' && e.name === 'call.incoming') w.sched.after(800_000, () => bob.hook(true));
      if (e.node === 'alice' && e.name === 'call.answered') { alice.audio.mic.start(); w.sched.after(1_500_000, () => alice.hook(false)); }
    });
    alice.audio.mic.set(speech(8000 * 3));
    const t = w.typeKeys(alice, multiTapKeys('bob'));
    w.sched.at(t + 300_000, () => alice.pressKey(KEY.SEND));
    w.runUntil(() => !!w.find('alice', 'call.ended') || !!alice.crash || !!bob.crash, w.sched.nowUs + 40_000_000);
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    stop();
    for (const n of w.nodes.values()) for (const [k, v] of n.flash.records) flash(k, v);
  } finally { w.close(); }
}

/** Runs the capture calls and returns the corpus (deterministic for a given firmware build). */
export function captureCorpus(): Corpus {
  const out: Corpus = {};
  const seen = new Set<string>();
  const perType = new Map<string, number>();
  const streams = new Map<string, number[]>();
  const add = (key: string, msg: Uint8Array) => {
    if (msg.length === 0) return;
    const type = (msg[0] & 0xc0) === 0x80 ? 0x80 : msg[0];
    const tk = `${key}:${type}`;
    const hex = Buffer.from(msg).toString('hex');
    if (seen.has(hex) || (perType.get(tk) ?? 0) >= (type === 0x80 ? 12 : PER_TYPE)) return;
    seen.add(hex);
    perType.set(tk, (perType.get(tk) ?? 0) + 1);
    (out[key] ??= []).push(hex);
  };
  const keep = (p: CapturedPacket, toSn: boolean) => {
    const role = toSn ? 'sn' : 'phone';
    if (p.proto === 'udp') { add(`udp:${role}`, p.payload); return; }
    // TCP: reassemble each direction's stream and split it into [len u16][message] frames.
    const id = `${p.srcIp}:${p.srcPort}>${p.dstIp}:${p.dstPort}`;
    let s = streams.get(id);
    if (!s) { s = []; streams.set(id, s); }
    s.push(...p.payload);
    while (s.length >= 2) {
      const n = (s[0] << 8) | s[1];
      if (s.length < 2 + n) break;
      const msg = Uint8Array.from(s.slice(2, 2 + n));
      s.splice(0, 2 + n);
      if (n > 0) add(p.dstPort === 33000 || p.srcPort === 33000 ? `tcp:server` : `tcp:${role}`, msg);
    }
    if (s.length > 1 << 16) s.length = 0; // not our framing (HTTP): drop
  };
  const flash = (k: number, rec: Uint8Array) => {
    const hex = Buffer.from(rec).toString('hex');
    const list = (out[`flash:${k}`] ??= []);
    if (!list.includes(hex) && list.length < 8) list.push(hex);
  };
  oneCall(11, false, keep, flash);
  oneCall(12, true, keep, flash);
  return out;
}
