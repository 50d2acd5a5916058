// The real-socket HAL backend (host-sim/real): RealHost implements SimHost over node:dgram/node:net on loopback,
// RealScheduler keeps real time drift-free, configs are validated with clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RealHost, HostError } from '../../host-sim/real/host.js';
import { RealScheduler } from '../../host-sim/real/scheduler.js';
import { viewFor, LOOPBACK_ALIAS_VIEW, IDENTITY_VIEW } from '../../host-sim/real/address-view.js';
import { parseConfig, provisioningText, ConfigError } from '../../host-sim/real/config.js';
import { FileFlash } from '../../host-sim/real/flash-file.js';
import { ipFromString } from '../../host-sim/net/ip.js';
import type { TcpConn } from '../../host-sim/net/types.js';

const until = (pred: () => boolean, ms = 3000) => new Promise<void>((resolve, reject) => {
  const t0 = Date.now();
  const iv = setInterval(() => {
    if (pred()) { clearInterval(iv); resolve(); } else if (Date.now() - t0 > ms) { clearInterval(iv); reject(new Error('timed out')); }
  }, 5);
});

test('RealScheduler: chained after() keeps a 10 ms period without drift; cancel; monotonic µs', async () => {
  const s = new RealScheduler();
  const t0 = s.nowUs;
  let n = 0;
  let lastNow = -1;
  let monotonic = true;
  const done = new Promise<void>((resolve) => {
    const tick = () => { n++; const now = s.nowUs; if (now < lastNow) monotonic = false; lastNow = now; if (n < 50) s.after(10_000, tick); else resolve(); };
    s.after(10_000, tick);
  });
  const never = s.after(5_000, () => assert.fail('cancelled timer ran'));
  s.cancel(never);
  await done;
  const elapsedMs = (s.nowUs - t0) / 1000;
  assert.equal(n, 50);
  assert.ok(monotonic);
  // 50 periods of 10 ms: drift-free chaining ends near 500 ms, not 50 × (10 ms + timer lateness).
  assert.ok(elapsedMs >= 499 && elapsedMs < 540, `elapsed ${elapsedMs} ms`);
  assert.equal(s.pending(), 0);
  s.stop();
});

test('address view: loopback 127.0.x.y is shown to the firmware as 198.18.x.y and back; other addresses unchanged', () => {
  assert.equal(viewFor('127.0.0.21'), LOOPBACK_ALIAS_VIEW);
  assert.equal(viewFor('198.51.100.7'), IDENTITY_VIEW);
  assert.equal(LOOPBACK_ALIAS_VIEW.toFirmware(ipFromString('127.0.3.4')), ipFromString('198.18.3.4'));
  assert.equal(LOOPBACK_ALIAS_VIEW.toReal(ipFromString('198.18.3.4')), ipFromString('127.0.3.4'));
  assert.equal(LOOPBACK_ALIAS_VIEW.toReal(ipFromString('10.1.2.3')), ipFromString('10.1.2.3'));
});

test('RealHost UDP: datagrams both ways with the sender\'s address as the firmware sees it, and the simulator\'s byte accounting', async () => {
  const view = viewFor('127.0.0.1');
  const a = new RealHost({ name: 'a', bindIp: '127.0.0.1', view }), b = new RealHost({ name: 'b', bindIp: '127.0.0.1', view });
  const pa = await a.prepare(0), pb = await b.prepare(0);
  const got: [number, number, string][] = [];
  const sa = a.udpBind(pa, () => {});
  b.udpBind(pb, (ip, port, data) => got.push([ip, port, Buffer.from(data).toString()]));
  assert.equal(sa.localPort, pa);
  assert.ok(sa.send(b.ip, pb, new TextEncoder().encode('hello')));
  await until(() => got.length === 1);
  assert.deepEqual(got[0], [ipFromString('198.18.0.1'), pa, 'hello']);
  assert.equal(a.counters.udpPayloadSent, 5); assert.equal(a.counters.wireSent, 33);
  assert.equal(b.counters.wireRecv, 33); assert.equal(b.counters.packetsRecv, 1);
  // udpOpen(0) knows its port at once (pre-bound pool), as the HAL requires.
  const eph = a.udpBind(0, () => {});
  assert.ok(eph.localPort > 0);
  a.closeAll(); b.closeAll();
});

test('RealHost: a port already in use is a clear startup error', async () => {
  const squatter = dgram.createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', () => r()));
  const port = squatter.address().port;
  const h = new RealHost({ name: 'h', bindIp: '127.0.0.1' });
  await assert.rejects(h.prepare(port), (e: Error) => e instanceof HostError && /UDP port \d+ on 127\.0\.0\.1 is already in use/.test(e.message));
  squatter.close();
  const ghost = new RealHost({ name: 'g', bindIp: '192.0.2.1' });
  await assert.rejects(ghost.prepare(0), /not an address of this host/);
});

test('RealHost TCP: connect, accept, data both ways, FIN → closed; connect to a closed port → refused', async () => {
  const view = viewFor('127.0.0.1');
  const srv = new RealHost({ name: 'srv', bindIp: '127.0.0.1', view }), cli = new RealHost({ name: 'cli', bindIp: '127.0.0.1', view });
  const port = await srv.prepare(0);
  await cli.prepare(0);
  let accepted: TcpConn | null = null;
  const srvGot: string[] = [];
  let srvClosed = '';
  srv.tcpListen(port, (c) => { accepted = c; c.setHandlers({ onData: (d) => srvGot.push(Buffer.from(d).toString()), onClose: (r) => { srvClosed = r; } }); });
  const events: string[] = [];
  const conn = cli.tcpConnect(srv.ip, port, { onConnect: () => events.push('connect'), onData: (d) => events.push(`data:${Buffer.from(d)}`), onClose: (r) => events.push(`close:${r}`) });
  assert.equal(conn.state, 'connecting');
  await until(() => events.includes('connect') && accepted !== null);
  assert.equal(conn.state, 'open');
  assert.equal(accepted!.remoteIp, ipFromString('198.18.0.1'));
  conn.send(new TextEncoder().encode('ping'));
  await until(() => srvGot.join('') === 'ping');
  accepted!.send(new TextEncoder().encode('pong'));
  await until(() => events.includes('data:pong'));
  accepted!.close();
  await until(() => events.includes('close:closed'));
  assert.equal(srvClosed, '', 'no events after a local close');
  assert.equal(cli.counters.tcpPayloadSent, 4);
  // SYN (40) + "ping" in one segment (44) + FIN? no: the server closed. Received: SYN-ACK 40 + "pong" 44 + FIN 40.
  assert.equal(cli.counters.wireSent, 40 + 44);
  assert.equal(cli.counters.wireRecv, 40 + 44 + 40);

  const refused: string[] = [];
  const probe = dgram.createSocket('udp4'); // find a port with no TCP listener
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const closedPort = probe.address().port; probe.close();
  cli.tcpConnect(srv.ip, closedPort, { onConnect: () => refused.push('connect'), onClose: (r) => refused.push(r) });
  await until(() => refused.length > 0);
  assert.deepEqual(refused, ['refused']);
  srv.closeAll(); cli.closeAll();
});

const KEY = 'ab'.repeat(32);
const base = { bootstrap: ['127.0.0.11:33033'], server: '127.0.0.1:33000', serverKey: KEY };

test('config: valid phone config becomes the firmware\'s provisioning text with addresses as the firmware sees them', () => {
  const c = parseConfig({ ...base, user: 'alice', password: 'pw', register: true, bind: '127.0.0.21', codecs: ['pcmu'] }, 'phone');
  assert.equal(provisioningText(c, 40000, viewFor(c.bind)),
    `user=alice\npassword=pw\nregister=1\nport=40000\nsupernode=never\nbootstrap=198.18.0.11:33033\nserver=198.18.0.1:33000\nserverKey=${KEY}\ncodecs=pcmu\n`);
  const sn = parseConfig({ ...base, bind: '198.51.100.21', port: 33033 }, 'supernode');
  assert.match(provisioningText(sn, 33033, viewFor(sn.bind)), /supernode=auto\nbootstrap=127\.0\.0\.11:33033\nserver=127\.0\.0\.1:33000/);
});

test('config: bad configs give one clear line naming the field', () => {
  const cases: [unknown, 'phone' | 'supernode', RegExp][] = [
    [{ ...base, password: 'x' }, 'phone', /"user": missing/],
    [{ ...base, user: 'Alice!', password: 'x' }, 'phone', /"user": expected 1-32 characters/],
    [{ ...base, user: 'a', password: 'x', bootstrap: ['1.2.3:4'] }, 'phone', /"bootstrap\[0\]": bad IPv4 address in "1\.2\.3:4"/],
    [{ ...base, user: 'a', password: 'x', bootstrap: [] }, 'phone', /"bootstrap": expected a list/],
    [{ ...base, user: 'a', password: 'x', serverKey: 'zz' }, 'phone', /"serverKey": expected 64 hex digits/],
    [{ ...base, user: 'a', password: 'x', prot: 1 }, 'phone', /"prot": unknown field/],
    [{ ...base, user: 'a', password: 'x', port: 70000 }, 'phone', /"port": expected an integer 0\.\.65535/],
    [{ ...base }, 'supernode', /"port": a supernode needs a fixed port/],
    [{ ...base, port: 1, user: 'a' }, 'supernode', /"user": a supernode has no account/],
    [[1, 2], 'phone', /expected a JSON object/],
  ];
  for (const [json, role, re] of cases) {
    assert.throws(() => parseConfig(json, role, 'x.json'), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'), `${JSON.stringify(json)} → ${re}`);
  }
});

test('flash file: records survive a restart; a corrupt file is a clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-'));
  const f = path.join(dir, 'p.flash.json');
  const a = new FileFlash(f);
  a.write(3, Uint8Array.of(1, 2, 3));
  a.write(2, new Uint8Array(4096));
  assert.equal(a.write(4, new Uint8Array(4097)), false);
  const b = new FileFlash(f);
  assert.deepEqual([...b.read(3)!], [1, 2, 3]);
  assert.equal(b.read(2)!.length, 4096);
  assert.equal(b.read(4), undefined);
  fs.writeFileSync(f, '{"format":"other"}');
  assert.throws(() => new FileFlash(f), /is not a p2pphone-flash-v1 file/);
});
