// The Linux NAT lab itself (tools/netlab/lab.ts): its NATs and firewall behave as RFC 4787 names them, the
// uplinks add the configured delay, and every namespace is gone afterwards. Needs root; skips with a message
// otherwise (and fails under CI, which runs as root). The full lab run is `npm run netlab` (.ci/run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Lab } from '../../tools/netlab/lab.js';

const isRoot = process.getuid?.() === 0;
const hasTools = ['ip', 'iptables', 'python3'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skip = !isRoot ? 'needs root (network namespaces, iptables)' : !hasTools ? 'needs ip, iptables and python3 (apt-get install iproute2 iptables)' : false;
if (skip && process.env.CI) test('NAT lab prerequisites (CI runs as root with iptables)', () => assert.fail(String(skip)));

const PROBE = path.resolve('tests/netlab/probe.mjs');

test('NAT lab: MASQUERADE is endpoint-independent mapping + address-and-port-dependent filtering, --random-fully is symmetric, the firewall drops UDP, 50 ms RTT between sites, nothing left behind', { skip }, async () => {
  const prefix = `p2pl-${process.pid}-t`;
  const lab = new Lab(prefix, fs.mkdtempSync(path.join(os.tmpdir(), 'netlab-test-')));
  try {
    lab.build([
      { name: 'pub', kind: 'public', hostIp: '198.51.100.40' },
      { name: 'ref', kind: 'public', hostIp: '198.51.100.41' },
      { name: 'nat', kind: 'nat', hostIp: '192.168.1.10', publicIp: '203.0.113.7' },
      { name: 'sym', kind: 'symmetric-nat', hostIp: '192.168.3.10', publicIp: '203.0.113.9' },
      { name: 'fw', kind: 'nat-fw', hostIp: '192.168.2.10', publicIp: '203.0.113.8' },
    ]);
    await lab.finish();
    for (const s of ['pub', 'ref']) await lab.spawn(lab.site(s).hostNs, `reflect-${s}`, process.execPath, [PROBE, 'reflect', '3478', '3479'], process.cwd()).waitLine(/ready/, 10_000);
    const client = (site: string, port: number, actions: { to: string; ask: string }[]) =>
      JSON.parse(lab.exec(lab.site(site).hostNs, process.execPath, PROBE, 'client', String(port), JSON.stringify(actions))) as { got: string | null; from: string | null; rttMs: number | null }[];

    // Port-restricted cone: one mapping for every destination (port preserved), answers only from the exact endpoint.
    const nat = client('nat', 40000, [
      { to: '198.51.100.40:3478', ask: 'echo' }, { to: '198.51.100.40:3479', ask: 'echo' }, { to: '198.51.100.41:3478', ask: 'echo' },
    ]);
    assert.deepEqual(nat.map((r) => r.got), ['203.0.113.7:40000', '203.0.113.7:40000', '203.0.113.7:40000'], 'endpoint-independent mapping, port preserved');
    // From a fresh port that has only ever sent to 198.51.100.40:3478: an answer from port 3479 of that host is dropped.
    const filt = client('nat', 40001, [{ to: '198.51.100.40:3478', ask: 'reply-from:3479' }, { to: '198.51.100.40:3478', ask: 'echo' }]);
    assert.equal(filt[0].got, null, 'address-and-port-dependent filtering');
    assert.equal(filt[1].got, '203.0.113.7:40001', 'the contacted endpoint itself gets through');
    const rtt = filt[1].rttMs!;
    assert.ok(rtt >= 49 && rtt < 90, `RTT between sites ${rtt} ms (2 uplinks × 12.5 ms each way)`);

    // Symmetric: a new random external port per destination.
    const sym = client('sym', 40000, [{ to: '198.51.100.40:3478', ask: 'echo' }, { to: '198.51.100.40:3479', ask: 'echo' }, { to: '198.51.100.41:3478', ask: 'echo' }]);
    const ports = sym.map((r) => r.got?.split(':')[1]);
    assert.ok(sym.every((r) => r.got?.startsWith('203.0.113.9:')), JSON.stringify(sym));
    assert.equal(new Set(ports).size, 3, `address-and-port-dependent mapping: ${ports.join(', ')}`);

    // NAT + firewall: UDP never gets through, TCP does.
    assert.equal(client('fw', 40000, [{ to: '198.51.100.40:3478', ask: 'echo' }])[0].got, null, 'UDP blocked');
    assert.equal(lab.exec(lab.site('fw').hostNs, process.execPath, PROBE, 'tcp', '198.51.100.40', '3478').trim(), 'ok', 'TCP allowed');
    // Nothing reaches a NATed host unsolicited.
    assert.equal(lab.exec(lab.site('pub').hostNs, process.execPath, PROBE, 'tcp', '203.0.113.7', '22').trim() !== 'ok', true);
  } finally {
    await lab.destroy();
  }
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix));
  assert.deepEqual(left, [], 'every namespace of the lab is deleted');
});
