// Issue #5, supernode election (firmware/overlay/supernode.ts snTick): with `supernode=auto` and
// `snMinUptimeS > 0` a node becomes a supernode only when NAT discovery shows it publicly reachable, after the
// minimum uptime, with spare capacity; `supernode=never` never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, backboneWorld, type Provisioning } from '../../host-sim/world.js';
import { attachPhone, type Preset } from '../../host-sim/presets.js';
import type { FirmwareNode } from '../../host-sim/firmware.js';

const world = (seed: number) => backboneWorld(seed);

/** A phone with `preset`, provisioned with snMinUptimeS (written over the provisioning before it boots). */
function phone(w: World, name: string, preset: Preset, prov: Provisioning, minUptimeS: number): FirmwareNode {
  const p = attachPhone(w, name, preset, prov, 1_000_000);
  p.flash.write(1, new TextEncoder().encode(w.provisioningText(prov) + `snMinUptimeS=${minUptimeS}\n`));
  return p;
}

test('election: a publicly reachable phone with supernode=auto becomes a supernode only after snMinUptimeS; NATed, UDP-blocked and `never` phones do not', () => {
  const w = world(61);
  try {
    const acct = (u: string): Provisioning => ({ user: u, password: 'password-1', register: true, supernode: 'auto' });
    const pub = phone(w, 'pub', 'public', acct('pubuser'), 60);
    phone(w, 'nat', 'full-cone', acct('natuser'), 60);
    phone(w, 'blocked', 'udp-blocked', acct('blockeduser'), 60);
    phone(w, 'never', 'public', { ...acct('neveruser'), supernode: 'never' }, 60);
    assert.ok(w.runUntil(() => !!w.find('pub', 'nat.type'), 20_000_000), 'NAT discovery ran');
    assert.equal(w.find('pub', 'nat.type')!.kv.mapping, 'none');
    assert.equal(w.find('pub', 'boot')!.kv.supernode, '0', 'not a supernode at boot');
    w.runUntil(() => false, 50_000_000);
    assert.equal(w.find('pub', 'sn.elected'), undefined, 'not before 60 s of uptime');
    assert.ok(w.runUntil(() => !!w.find('pub', 'sn.elected'), 90_000_000), 'elected');
    const up = Number(w.find('pub', 'sn.elected')!.kv.uptimeS);
    assert.ok(up >= 60 && up <= 75, `elected after ${up} s`);
    assert.ok(w.find('pub', 'sn.start'), 'supernode role started');
    w.runUntil(() => false, 150_000_000);
    for (const n of ['nat', 'blocked', 'never']) {
      assert.ok(w.find(n, 'login.ok'), `${n} logged in`);
      assert.equal(w.find(n, 'sn.elected'), undefined, `${n} never elected`);
      assert.equal(w.find(n, 'sn.start'), undefined, `${n} no supernode role`);
    }

    // The new supernode serves: a phone that knows only it as bootstrap logs in through it.
    const pubPort = Number(pub.events.find((e) => e.name === 'boot')!.kv.addr.split(':')[1]);
    w.supernodes.length = 0;
    w.bootstrapEntry(ipStr(pub.host.ip), pubPort);
    const t0 = w.sched.nowUs;
    attachPhone(w, 'late', 'port-restricted-cone', { user: 'lateuser', password: 'password-1', register: true }, t0 + 100_000);
    assert.ok(w.runUntil(() => !!w.find('late', 'login.ok'), t0 + 10_000_000), 'logged in via the elected supernode');
    // It served the fresh phone's first HELLO; as a bootstrap supernode it also handed out its node list, which
    // the phone then logs in through (bootstrap supernodes only bootstrap: docs/protocol.md §Host cache).
    const pubEp = `${ipStr(pub.host.ip)}:${pubPort}`;
    assert.equal(w.find('late', 'sn.connected')!.kv.sn, pubEp);
    const left = w.find('late', 'sn.leave-bootstrap');
    assert.equal(w.find('late', 'login.ok')!.kv.sn === pubEp, left === undefined, 'logged in at the elected supernode unless it left it for its node list');
    if (left) assert.equal(left.kv.sn, pubEp);
  } finally { w.close(); }
});

test('election: without spare capacity (a client limit of 0) a reachable phone stays an ordinary node; with it, it is elected after the uptime', () => {
  const w = world(62);
  try {
    const prov = (u: string): Provisioning => ({ user: u, password: 'password-1', register: true, supernode: 'auto' });
    const full = phone(w, 'full', 'public', prov('fulluser'), 5);
    full.flash.write(1, new TextEncoder().encode(w.provisioningText(prov('fulluser')) + 'snMinUptimeS=5\nsnMaxClients=0\n'));
    phone(w, 'free', 'public', prov('freeuser'), 5);
    assert.ok(w.runUntil(() => !!w.find('free', 'sn.elected'), 30_000_000), 'the phone with capacity is elected');
    w.runUntil(() => false, 40_000_000);
    assert.equal(w.find('full', 'sn.elected'), undefined, 'no capacity: not elected');
    assert.equal(full.crash, null);
  } finally { w.close(); }
});

function ipStr(n: number): string { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'); }
