// Issue #7, sessions and media, tested the way an attacker would: a supernode that tampers with, replays,
// reorders and drops the media it relays, and an eavesdropper who records every simulated link.
// Run: node --import tsx --test tests/security/security-media.test.ts   (after `npm run build`)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import lenaWav from 'audio-lena/wav';
import { decodeWav, writeWav } from '../../host-sim/audio-io.js';
import { backboneWorld, type World } from '../../host-sim/world.js';
import { attachPhone } from '../../host-sim/presets.js';
import { scriptedCall } from '../../host-sim/call-flow.js';
import type { CapturedPacket } from '../../host-sim/net/types.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';
import { NoiseHandshake } from '../../server/noise.js';
import { ipFromString } from '../../host-sim/net/ip.js';
import { createHash, randomBytes } from 'node:crypto';
import { DgramPeer } from '../../host-sim/dgram-peer.js';

const lena = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sec-media-'));

const MSG_RELAY = 0x06;
const MSG_RELAYED = 0x07;
const TAG_BYTES = 16;
const ipToStr = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/**
 * Offset of the RTP packet in a relay datagram a supernode sends, or −1 if it is not one:
 * RELAY (SN → SN, hops 1) `[0x06][hops u8][to str8][callId u32][rtp]`, RELAYED (SN → phone) `[0x07][callId u32][rtp]`.
 */
function relayedRtpOffset(d: Uint8Array): number {
  let off = -1;
  if (d[0] === MSG_RELAYED) off = 5;
  else if (d[0] === MSG_RELAY && d.length > 3) off = 3 + d[2] + 4;
  return off > 0 && d.length >= off + 12 + TAG_BYTES && (d[off] & 0xc0) === 0x80 ? off : -1;
}

/** ITU-T G.711 µ-law encoding of one 16-bit sample (the firmware's PCMU kernel is bit-exact with it). */
function ulaw(sample: number): number {
  const BIAS = 0x84, CLIP = 32635;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

const WINDOW = 12;
/**
 * Every WINDOW-byte run of the µ-law stream of `pcm` that looks like speech (≥ 8 distinct byte values, so
 * silence and other low-entropy runs cannot match by chance), as hex strings.
 */
function audioFingerprints(pcm: Int16Array): Set<string> {
  const enc = Buffer.from(Array.from(pcm, ulaw));
  const out = new Set<string>();
  for (let i = 0; i + WINDOW <= enc.length; i++) {
    const win = enc.subarray(i, i + WINDOW);
    if (new Set(win).size >= 8) out.add(win.toString('hex'));
  }
  return out;
}

/**
 * How a user name appears in our messages: length-prefixed (str8, certificates) or as the user part of a routing
 * address `user/devid`. Random ciphertext matches one of these 4+-byte patterns with p ≤ 2^-32 per position.
 */
function nameForms(name: string): Buffer[] {
  return [Buffer.concat([Buffer.from([name.length]), Buffer.from(name)]), Buffer.from(name + '/')];
}

/** Number of places in `bytes` where a fingerprinted audio run occurs. */
function audioHits(bytes: Uint8Array, prints: Set<string>): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hits = 0;
  for (let i = 0; i + WINDOW <= b.length; i++) if (prints.has(b.subarray(i, i + WINDOW).toString('hex'))) hits++;
  return hits;
}

/**
 * Turns the supernodes into attackers on the media they relay (RELAY to the next supernode, RELAYED to the
 * phone, over UDP; a supernode is the far end of its client's TCP channel, so it could do the same there): every
 * `cycle` packets one has a payload bit flipped, one a header bit flipped (the header is authenticated, not
 * encrypted), one is sent twice, one is dropped, two are swapped; and once an old packet (far outside the
 * replay window) is sent again. Returns the tallies per destination IP. (The hop between supernodes leaves the
 * socket sealed — sec/dgram.ts — so what this hook sees and alters is RELAYED to the phones: the last supernode.)
 */
function maliciousSupernodes(w: World, names: string[], active: () => boolean) {
  const tally = { seen: 0, tampered: 0, replayed: 0, dropped: 0, reordered: 0, oldReplayed: 0 };
  const cycle = 40;
  type Stream = { k: number; held: Uint8Array | null; old: Uint8Array | null };
  const streams = new Map<string, Stream>(); // per destination: each stream gets the whole attack cycle
  // A packet is attacked by the first supernode on its path only (the next one passes what it gets), so each
  // tampered or replayed packet is exactly one rejection at the receiver.
  const attacked = new Set<string>();
  for (const name of names) {
    const node = w.node(name) as unknown as { udp: Map<number, { send(ip: number, port: number, d: Uint8Array): boolean }> };
    for (const sock of node.udp.values()) {
      const send = sock.send.bind(sock);
      sock.send = (ip: number, port: number, data: Uint8Array): boolean => {
        const off = relayedRtpOffset(data);
        if (off < 0 || !active()) return send(ip, port, data);
        const id = Buffer.from(data.subarray(off + 8, off + 12)).toString('hex') + ':' + ((data[off + 2] << 8) | data[off + 3]);
        if (attacked.has(id)) return send(ip, port, data);
        attacked.add(id);
        const d = Uint8Array.from(data);
        tally.seen++;
        const key = `${ip}:${port}`;
        const st = streams.get(key) ?? { k: 0, held: null, old: null };
        streams.set(key, st);
        const k = st.k++;
        if (k === 5) st.old = Uint8Array.from(d);
        if (k === 400 && st.old) { send(ip, port, st.old); tally.oldReplayed++; }    // 395 packets late: far outside the window
        if (st.held) { const h = st.held; st.held = null; send(ip, port, d); tally.reordered++; return send(ip, port, h); } // after the next
        switch (k % cycle) {
          case 3: d[off + 12 + 7] ^= 0x10; tally.tampered++; return send(ip, port, d);       // payload
          case 13: d[off + 6] ^= 0x01; tally.tampered++; return send(ip, port, d);           // RTP timestamp (authenticated header)
          case 23: d[d.length - 1] ^= 0x80; tally.tampered++; return send(ip, port, d);      // tag
          case 7: send(ip, port, d); tally.replayed++; return send(ip, port, Uint8Array.from(d)); // duplicate
          case 11: tally.dropped++; return true;
          case 17: st.held = d; return true;                                                 // swapped with the next
          default: return send(ip, port, d);
        }
      };
    }
  }
  return tally;
}

test('a supernode that tampers with, replays, reorders and drops relayed media: tampering and replays are rejected and counted, the call survives', () => {
  const w = backboneWorld(71);
  try {
    const alice = attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-71', register: true, codecs: ['pcmu'] }, 1_000_000);
    const bob = attachPhone(w, 'bob', 'port-restricted-cone', { user: 'bob', password: 'bob-pass-71', register: true, codecs: ['pcmu'] }, 1_000_000);
    const snIps = new Set(w.supernodes.map((s) => s.ip));
    // No direct path between the phones: all media goes through the supernodes.
    w.net.addFault((p) => p.proto === 'udp' && (p.from === 'alice' || p.from === 'bob') && !snIps.has(p.dstIp));
    let from = Infinity, until = 0;
    const speech = Int16Array.from({ length: 8000 * 12 }, (_, i) => lena[i % lena.length]);
    w.runUntil(() => !!(w.find('alice', 'login.ok') && w.find('bob', 'login.ok')), 40_000_000);
    const tally = maliciousSupernodes(w, ['sn1', 'sn2', 'sn3'], () => w.sched.nowUs >= from && w.sched.nowUs <= until);
    const f = scriptedCall(w, 'alice', 'bob', {
      speech,
      onActive: (world) => { from = world.sched.nowUs + 500_000; until = world.sched.nowUs + 10_500_000; },
    });
    assert.ok(!alice.crash && !bob.crash, 'no phone crashed');
    assert.match(f.path ?? '', /^relay/, `media went through the supernodes (${f.path})`);
    assert.ok(tally.seen > 500, `the supernodes relayed ${tally.seen} packets while attacking`);
    assert.ok(tally.tampered > 30 && tally.replayed > 10 && tally.dropped > 10 && tally.reordered > 10, JSON.stringify(tally));

    let authFail = 0, replay = 0;
    for (const n of ['alice', 'bob']) {
      const s = w.find(n, 'srtp.stats');
      assert.ok(s, `${n}: the call's media was encrypted (srtp.stats reported)`);
      assert.ok(+s!.kv.authFail > 0 && +s!.kv.replay > 0, `${n} saw attacks on its incoming media: ${JSON.stringify(s!.kv)}`);
      authFail += +s!.kv.authFail; replay += +s!.kv.replay;
    }
    assert.equal(authFail, tally.tampered, 'every tampered packet failed authentication (payload, header and tag)');
    assert.equal(replay, tally.replayed + tally.oldReplayed, 'every replayed packet was refused as a replay');
    // The call survives the attack: it runs to the caller's
    // hang-up, and each side plays every authentic packet; rejected and dropped ones are concealed.
    const ea = w.find('alice', 'call.ended')!, eb = w.find('bob', 'call.ended')!;
    assert.equal(ea.kv.reason, 'local-hangup'); assert.equal(eb.kv.reason, 'remote-hangup');
    assert.ok(+ea.kv.durationMs >= speech.length / 8, `the call lasted ${ea.kv.durationMs} ms`);
    assert.ok(+eb.kv.rtpRecv >= 0.75 * +ea.kv.rtpSent, `bob played ${eb.kv.rtpRecv} of ${ea.kv.rtpSent} packets`);
    assert.ok(+ea.kv.rtpRecv >= 0.75 * +eb.kv.rtpSent, `alice played ${ea.kv.rtpRecv} of ${eb.kv.rtpSent} packets`);
    assert.equal(+eb.kv.dup + +ea.kv.dup, 0, 'no replayed packet reached a jitter buffer');
  } finally { w.close(); }
});

test('an eavesdropper on every link of a relayed call sees no audio (no run of the µ-law stream in any packet) and no user name on any link', () => {
  const w = backboneWorld(72);
  try {
    attachPhone(w, 'alice', 'symmetric', { user: 'alice', password: 'alice-pass-72', register: true, codecs: ['pcmu'] }, 1_000_000);
    attachPhone(w, 'bob', 'port-restricted-cone', { user: 'bob', password: 'bob-pass-72', register: true, codecs: ['pcmu'] }, 1_000_000);
    const snIps = new Set(w.supernodes.map((s) => s.ip));
    w.net.addFault((p) => p.proto === 'udp' && (p.from === 'alice' || p.from === 'bob') && !snIps.has(p.dstIp));
    const captured: CapturedPacket[] = [];
    w.net.addTap((p) => captured.push({ ...p, payload: Uint8Array.from(p.payload) }));
    const speech = lena.subarray(0, 8000 * 4);
    const f = scriptedCall(w, 'alice', 'bob', { speech });
    assert.equal(f.ok, true, f.failure);
    const prints = audioFingerprints(speech);
    assert.ok(prints.size > 10_000, `${prints.size} speech fingerprints`);
    // The search works: a plaintext RTP payload of the speech would be found.
    const plain = Buffer.from(Array.from(speech.subarray(8000, 8160), ulaw));
    assert.ok(audioHits(plain, prints) > 100, 'the search finds unencrypted µ-law speech');
    const media = captured.filter((p) => p.proto === 'udp' && p.payload.length >= 160 + 12 + TAG_BYTES);
    assert.ok(media.length > 300, `${media.length} media packets captured`);
    let hits = 0;
    for (const p of captured) hits += audioHits(p.payload, prints);
    assert.equal(hits, 0, 'no speech on any link');
    // Nor a user name on any link, although the media is relayed: RELAY from a phone names the peer by an alias,
    // and everything between the supernodes — the index (DHT), the relay hop, held IMs — is sealed (sec/dgram.ts).
    const ips = new Set<number>();
    for (const n of ['alice', 'bob']) {
      ips.add(w.node(n).host.ip);
      const nat = w.find(n, 'nat.discovered');
      if (nat) ips.add(ipFromString(nat.kv.reflexive.split(':')[0]));
    }
    const phoneLinks = captured.filter((p) => ips.has(p.srcIp) || ips.has(p.dstIp));
    assert.ok(phoneLinks.length > 300 && ips.size === 4, `${phoneLinks.length} packets on the phones' links`);
    const snIpsAll = new Set(w.supernodes.map((s) => s.ip >>> 0));
    const backbone = captured.filter((p) => snIpsAll.has(p.srcIp >>> 0) && snIpsAll.has(p.dstIp >>> 0));
    assert.ok(backbone.filter((p) => p.proto === 'udp').length > 20, `${backbone.length} packets between the supernodes`);
    const sealed = backbone.filter((p) => p.proto === 'udp' && p.payload[0] >= 0x37 && p.payload[0] <= 0x3b).length;
    assert.ok(sealed > 20, `${sealed} sealed datagrams between the supernodes`);
    for (const name of ['alice', 'bob']) {
      for (const form of nameForms(name)) {
        const hits = captured.filter((p) => Buffer.from(p.payload).indexOf(form) >= 0);
        assert.equal(hits.length, 0, `no ${name} on any link: ${hits.slice(0, 3).map((p) => `${p.proto} ${ipToStr(p.srcIp)}:${p.srcPort} → ${ipToStr(p.dstIp)}:${p.dstPort} type 0x${p.payload[0]?.toString(16)}`).join(', ')}`);
      }
    }
  } finally { w.close(); }
});

function runSim(seconds: number, pcap: string, out: string, codec?: string): any {
  const input = path.join(tmp, `speech-${seconds}.wav`);
  if (!fs.existsSync(input)) writeWav(input, lena.subarray(0, seconds * 8000), 8000);
  execFileSync(process.execPath, ['dist/sim.js', 'run', ...(codec ? ['--codec', codec] : []), '--input', input, '--out', out, '--pcap', pcap], { encoding: 'utf8' });
  return JSON.parse(fs.readFileSync(path.join(out, 'call-report.json'), 'utf8'));
}

/** The link-layer frames of a libpcap file (host-sim/pcap.ts writes Ethernet + IPv4 + UDP/TCP). */
function pcapFrames(file: string): Buffer[] {
  const b = fs.readFileSync(file);
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'libpcap magic');
  const frames: Buffer[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const incl = b.readUInt32LE(o + 8);
    frames.push(b.subarray(o + 16, o + 16 + incl));
    o += 16 + incl;
  }
  return frames;
}

const PASSWORDS = ['alice-secret-1', 'bob-secret-22']; // host-sim/scenario.ts

function assertNoPasswords(frames: Buffer[]): void {
  const all = Buffer.concat(frames);
  for (const secret of PASSWORDS) {
    assert.equal(all.indexOf(Buffer.from(secret)), -1, `password ${secret} not on the wire`);
    assert.ok(Buffer.concat([all, Buffer.from(secret)]).indexOf(Buffer.from(secret)) >= 0); // the search itself works
  }
}

test('npm start (iLBC, default offer): encryption changes nothing the far end hears — 99 dB vs the codec alone — and no password is on the wire', () => {
  const pcap = path.join(tmp, 'ilbc.pcap');
  const report = runSim(3, pcap, path.join(tmp, 'out-ilbc'));
  assert.equal(report.ok, true, report.failure);
  assert.equal(report.codec, 'ilbc30');
  assert.ok(report.audio.snrVsCodecDb >= 90, `${report.audio.snrVsCodecDb} dB vs the codec alone`);
  // +16 B AEAD tag per packet: 12 B RTP header + 50 B iLBC 30 ms frame + 16 B.
  const m = report.phones.alice.media;
  assert.equal(Math.round(m.bytesSent / m.packetsSent), 12 + 50 + TAG_BYTES);
  assertNoPasswords(pcapFrames(pcap));
});

test('npm start -- --pcap: the capture of a whole G.711 call (logins, signaling, media) holds no password, no audio and no user name on any link', () => {
  const pcap = path.join(tmp, 'call.pcap');
  const report = runSim(4, pcap, path.join(tmp, 'out'), 'pcmu');
  assert.equal(report.ok, true, report.failure);
  assert.ok(report.audio.snrDb >= 35, `G.711 speech at bob: ${report.audio.snrDb} dB`);
  const frames = pcapFrames(pcap);
  assert.ok(frames.length > 300, `${frames.length} packets captured`);
  assertNoPasswords(frames);
  // No link carries a user name: the phones' own links (alice 192.168.1.10 and her NAT 203.0.113.7, bob
  // 198.51.100.40) — logins are sealed, TCP is a Noise channel, KEEPALIVE names the channel, the call handshake
  // is inside the channel —, the supernodes' links to each other (TCP channels; the index, relay hop and held IMs
  // over UDP in sealed datagrams, sec/dgram.ts) and to the login server (directory LOOKUP/PREFIX sealed with
  // Noise_IK). Names travel length-prefixed (str8, certificates), which random ciphertext matches with p = 2^-32.
  const phoneIps = new Set([0xc0a8010a, 0xcb007107, 0xc6336428]);
  const ipv4 = frames.filter((f) => f.readUInt16BE(12) === 0x0800);
  const onPhoneLinks = ipv4.filter((f) => phoneIps.has(f.readUInt32BE(26)) || phoneIps.has(f.readUInt32BE(30)));
  assert.ok(onPhoneLinks.length > 300, `${onPhoneLinks.length} packets on the phones' links`);
  const others = ipv4.filter((f) => !phoneIps.has(f.readUInt32BE(26)) && !phoneIps.has(f.readUInt32BE(30)));
  assert.ok(others.length > 20, `${others.length} packets between the supernodes and the login server`);
  for (const name of ['alice', 'bob']) {
    for (const form of nameForms(name)) {
      const hits = ipv4.filter((f) => f.indexOf(form) >= 0).map((f) => `${ipToStr(f.readUInt32BE(26))} → ${ipToStr(f.readUInt32BE(30))}`);
      assert.deepEqual(hits, [], `user name ${name} (${form.toString('hex')}) on no link`);
    }
  }
  const prints = audioFingerprints(lena.subarray(0, 4 * 8000));
  let hits = 0;
  for (const fr of frames) hits += audioHits(fr, prints);
  assert.equal(hits, 0, 'no run of the speech\'s µ-law stream in any packet');
});

/** A TCP client that speaks our channel (Noise_XX, sec/channel.ts) with node:crypto (server/noise.ts). */
function channelClient(host: { tcpConnect: Function }, ip: number, port: number, staticPriv: Uint8Array, onOpen: (send: (m: Uint8Array) => void) => void) {
  const hs = new NoiseHandshake('XX', true, Buffer.from('p2pphone-chan-v1'), { s: staticPriv, e: randomBytes(32) });
  let buf = Buffer.alloc(0);
  let step = 0;
  let tx: { encrypt(ad: Uint8Array, pt: Uint8Array): Buffer } | null = null;
  const frame = (b: Uint8Array) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
  const state = { closed: false, frames: 0 };
  const conn = host.tcpConnect(ip, port, {
    onConnect: () => { conn.send(frame(hs.writeMessage())); step = 1; },
    onData: (d: Uint8Array) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        state.frames++;
        if (step === 1) {
          hs.readMessage(m);
          conn.send(frame(hs.writeMessage()));
          tx = hs.split()[0];
          step = 2;
          onOpen((msg) => conn.send(frame(tx!.encrypt(new Uint8Array(0), msg))));
        }
      }
    },
    onClose: () => { state.closed = true; },
  });
  return state;
}

/** The certificate of `user` in presence records (here: DHT_FOUND answers a supernode gives any peer supernode). */
function certFromCapture(captured: { payload: Uint8Array }[], user: string): Uint8Array | null {
  const needle = Buffer.concat([Buffer.from([user.length]), Buffer.from(user)]);
  const len = 1 + 2 + 4 + 4 + 1 + user.length + 32 + 32 + 64;
  for (const p of captured) {
    const b = Buffer.from(p.payload);
    for (let i = b.indexOf(needle); i >= 0; i = b.indexOf(needle, i + 1)) {
      const start = i - 11;
      if (start >= 0 && b[start] === 1 && start + len <= b.length) return Uint8Array.from(b.subarray(start, start + len));
    }
  }
  return null;
}

test('a node that presents another user\'s certificate, a forged one or no certificate in the call handshake cannot make a phone ring', () => {
  const w = backboneWorld(74);
  try {
    attachPhone(w, 'alice', 'port-restricted-cone', { user: 'alice', password: 'alice-pass-74', register: true }, 1_000_000);
    const bob = attachPhone(w, 'bob', 'public', { user: 'bob', password: 'bob-pass-74', register: true }, 1_000_000);
    assert.ok(w.runUntil(() => !!(w.find('alice', 'login.ok') && w.find('bob', 'login.ok')), 30_000_000), 'both log in');
    w.runUntil(() => false, w.sched.nowUs + 2_000_000);
    // Records are sealed on the backbone now (sec/dgram.ts), so mallory asks as a supernode would: DHT_FIND.
    const answers: { payload: Uint8Array }[] = [];
    const asSn = new DgramPeer(w.net.addHost('mallory-sn', '198.51.100.67'), 33033, 'mallory-sn');
    asSn.onMessage = (_ip, _port, m) => answers.push({ payload: m });
    const key = createHash('sha256').update('alice').digest().subarray(0, 8);
    for (const s of w.supernodes) asSn.send(s.ip, s.port, Uint8Array.from([0x30, 0, 0, 0, 1, ...key, 1, 5, ...Buffer.from('alice')]));
    w.runUntil(() => false, w.sched.nowUs + 1_000_000);
    const aliceCert = certFromCapture(answers, 'alice');
    assert.ok(aliceCert, 'alice\'s certificate, as any supernode sees it');
    const bobIp = bob.host.ip;
    const port = +w.find('bob', 'boot')!.kv.addr.split(':')[1];
    const mallory = w.net.addHost('mallory', '198.51.100.66');
    const malloryStatic = randomBytes(32);
    const str8 = (s: string) => [s.length, ...Buffer.from(s)];
    const invite = (callId: number, kx: number, payload: Uint8Array | null) => {
      const prologue = Buffer.from([...Buffer.from('p2pphone-call-v1'), callId >>> 24, (callId >> 16) & 255, (callId >> 8) & 255, callId & 255, ...str8('alice'), ...str8('bob')]);
      const hs = new NoiseHandshake(kx === 2 ? 'IX' : 'NN', true, prologue, { s: malloryStatic, e: randomBytes(32) });
      const m1 = hs.writeMessage(payload ?? new Uint8Array(0));
      return Uint8Array.from([0x20, callId >>> 24, (callId >> 16) & 255, (callId >> 8) & 255, callId & 255, ...str8('alice'), ...str8('bob'),
        2, 0, 8, 0x01, 0, kx, m1.length >> 8, m1.length & 255, ...m1]);
    };
    const forged = Uint8Array.from(aliceCert!); forged[forged.length - 1] ^= 1;          // signature broken
    const attempts: [string, Uint8Array][] = [
      ['alice\'s real certificate with mallory\'s static key', invite(0x1001, 2, aliceCert)],
      ['a forged certificate', invite(0x1003, 2, forged)],
      ['no certificate (NN downgrade)', invite(0x1005, 1, null)],
    ];
    const refusedBefore = w.events.filter((e) => e.node === 'bob' && e.name === 'sec.call' && e.kv.result === 'refused').length;
    for (const [, msg] of attempts) {
      channelClient(mallory, bobIp, port, malloryStatic, (send) => send(msg));
      w.runUntil(() => false, w.sched.nowUs + 1_000_000);
    }
    assert.equal(w.find('bob', 'call.incoming'), undefined, 'bob\'s phone never rang');
    const refused = w.events.filter((e) => e.node === 'bob' && e.name === 'sec.call' && e.kv.result === 'refused');
    assert.equal(refused.length - refusedBefore, 2, `both certificate attempts refused: ${JSON.stringify(refused.map((e) => e.kv))}`);
    assert.ok(refused.some((e) => e.kv.cert === 'static-key-mismatch'), 'a copied certificate does not certify mallory\'s key');
    assert.ok(refused.some((e) => e.kv.cert === 'signature'), 'a forged certificate fails its signature');
    // The control: a genuine call from alice still rings.
    const t = w.typeKeys(w.node('alice'), multiTapKeys('bob'));
    w.sched.at(t + 200_000, () => w.node('alice').pressKey(KEY.SEND));
    assert.ok(w.runUntil(() => !!w.find('bob', 'call.incoming', { from: 'alice' }), w.sched.nowUs + 10_000_000), 'alice\'s real call rings');
  } finally { w.close(); }
});
