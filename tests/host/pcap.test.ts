// The simulator's packet capture (`sim run --pcap FILE`, host-sim/pcap.ts): a valid libpcap file with correct
// IPv4/UDP/TCP checksums and virtual-time stamps, that tshark reads back and whose call packets match the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import lenaWav from 'audio-lena/wav';
import { frameFor, inetChecksum } from '../../host-sim/pcap.js';
import { decodeWav, writeWav } from '../../host-sim/audio-io.js';
import { ipFromString } from '../../host-sim/net/ip.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcap-test-'));

test('IPv4 header checksum matches the RFC 1071 worked example (c0a8:0001 → c0a8:00c7, 0xb861)', () => {
  // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7: a UDP packet of 115 bytes, id 0, DF, TTL 64.
  const f = frameFor({ timeUs: 0, proto: 'udp', srcIp: ipFromString('192.168.0.1'), srcPort: 1, dstIp: ipFromString('192.168.0.199'), dstPort: 2,
    payload: new Uint8Array(115 - 28), where: 'host:x' }, 0);
  assert.equal(Buffer.from(f.subarray(14, 34)).toString('hex'), '450000730000400040' + '11b861c0a80001c0a800c7');
});

test('UDP and TCP checksums verify (one\'s-complement sum over pseudo-header and segment is 0xffff)', () => {
  for (const proto of ['udp', 'tcp'] as const) {
    for (const len of [0, 1, 7, 160, 1460]) {
      const payload = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 255);
      const f = frameFor({ timeUs: 5, proto, srcIp: 0xc6336415, srcPort: 33033, dstIp: 0xcb007107, dstPort: 28708, payload, where: 'host:a',
        flags: { ack: true }, seq: 0xdeadbeef, ackNo: 12345 }, 7);
      const ip = f.subarray(14, 34), l4 = f.subarray(34);
      assert.equal(inetChecksum(ip, 0, 20), 0, `${proto} ${len}: IP header`);
      const pseudo = new Uint8Array(12);
      pseudo.set(ip.subarray(12, 20)); pseudo[9] = proto === 'udp' ? 17 : 6; pseudo[10] = l4.length >> 8; pseudo[11] = l4.length & 255;
      const acc = 0xffff - inetChecksum(pseudo, 0, 12);
      assert.equal(inetChecksum(l4, 0, l4.length, acc), 0, `${proto} ${len}: L4 checksum`);
    }
  }
});

interface Rec { tUs: number; frame: Buffer }
function readPcap(file: string): { linktype: number; recs: Rec[] } {
  const b = fs.readFileSync(file);
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'libpcap magic, microsecond timestamps');
  assert.equal(b.readUInt16LE(4), 2); assert.equal(b.readUInt16LE(6), 4);
  const recs: Rec[] = [];
  let o = 24;
  while (o < b.length) {
    const sec = b.readUInt32LE(o), usec = b.readUInt32LE(o + 4), incl = b.readUInt32LE(o + 8), orig = b.readUInt32LE(o + 12);
    assert.equal(incl, orig); assert.ok(usec < 1e6);
    recs.push({ tUs: sec * 1e6 + usec, frame: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  assert.equal(o, b.length, 'no trailing bytes');
  return { linktype: b.readUInt32LE(20), recs };
}

function runSim(seconds: number, pcap: string, out: string) {
  const input = path.join(tmp, `speech-${seconds}.wav`);
  if (!fs.existsSync(input)) writeWav(input, decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm.subarray(0, seconds * 8000), 8000);
  execFileSync(process.execPath, ['dist/sim.js', 'run', '--codec', 'pcmu', '--input', input, '--out', out, '--pcap', pcap], { encoding: 'utf8' });
  return JSON.parse(fs.readFileSync(path.join(out, 'call-report.json'), 'utf8'));
}

test('sim run --pcap: a call through the NAT, read back by our parser and by tshark, matches the report', (t) => {
  const pcap = path.join(tmp, 'call.pcap');
  const report = runSim(4, pcap, path.join(tmp, 'out'));
  assert.equal(report.ok, true, report.failure);
  const { linktype, recs } = readPcap(pcap);
  assert.equal(linktype, 1, 'Ethernet');
  assert.ok(recs.length > 300, `${recs.length} packets`);
  for (let i = 1; i < recs.length; i++) assert.ok(recs[i].tUs >= recs[i - 1].tUs, 'timestamps never go back');
  assert.ok(recs[recs.length - 1].tUs >= report.media.durationMs * 1000, 'timestamps are virtual time of the run');
  for (const r of recs) assert.equal(inetChecksum(r.frame, 14, 20), 0, 'IPv4 header checksum');

  const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
  if (tshark.error) {
    if (process.env.CI) assert.fail('tshark is not installed (.ci/run installs it)');
    t.skip('tshark not installed (apt-get install tshark): checked with our own parser only');
    return;
  }
  const count = (filter: string) => {
    const r = spawnSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-o', 'tcp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.trim()).length;
  };
  assert.equal(count('frame'), recs.length, 'tshark reads every packet');
  assert.equal(count('ip.checksum.status != 1 || udp.checksum.status == 0 || tcp.checksum.status == 0'), 0, 'no bad checksums');
  // alice (192.168.1.10) behind alice-nat (203.0.113.7) talks to bob (198.51.100.40) directly over UDP:
  // her RTP leaves her host once and the NAT once (translated); bob's RTP is seen once leaving bob.
  assert.equal(report.path, 'direct-udp');
  assert.equal(count('rtp && ip.src == 192.168.1.10 && ip.dst == 198.51.100.40'), report.phones.alice.media.packetsSent, 'alice\'s RTP, inside the NAT');
  assert.equal(count('rtp && ip.src == 203.0.113.7 && ip.dst == 198.51.100.40'), report.phones.alice.media.packetsSent, 'alice\'s RTP, translated');
  assert.equal(count('rtp && ip.src == 198.51.100.40 && ip.dst == 203.0.113.7'), report.phones.bob.media.packetsSent, 'bob\'s RTP to alice\'s mapping');
  assert.ok(count('tcp.flags.syn == 1 && tcp.flags.ack == 0') >= 5, 'TCP handshakes (SN mesh, logins, call signaling)');
});

test('the capture is reproducible from the seed, byte for byte', () => {
  const a = path.join(tmp, 'a.pcap'), b = path.join(tmp, 'b.pcap');
  runSim(2, a, path.join(tmp, 'oa'));
  runSim(2, b, path.join(tmp, 'ob'));
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)));
});
