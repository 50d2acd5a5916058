/**
 * The simulator's figures for a NAT-lab setup: the same topology (topology.ts) in the deterministic simulator's
 * default world (host-sim/world.ts: 2.5 ms ± 1 ms access links, 20 ms core), and the same call flow the lab's
 * processes follow (tools/phone.ts scripting): bob boots and logs in, alice boots 1 s later, dials bob by name
 * 0.5 s after her login (keys 150 ms apart), bob lifts the handset 1 s after ringing, alice talks and hangs up
 * 0.5 s after the speech ends.
 *
 * Events become the live report's shape (host-sim/real/live-report.ts) so both sides are computed by one
 * function. The simulator's modelled wire bytes (IP + UDP/TCP headers, no pure ACKs) are what it offers as
 * "wire" figures.
 */
import { World } from '../../host-sim/world.js';
import { natPresets, firewallPresets, type Middlebox } from '../../host-sim/net/network.js';
import { KEY, multiTapKeys } from '../../host-sim/keypad.js';
import type { FwEvent } from '../../host-sim/firmware.js';
import type { LiveEvent } from '../../host-sim/real/live-node.js';
import { liveCallReport, type LiveCallReport } from '../../host-sim/real/live-report.js';
import { SERVER_IP, SN_IPS, SN_PORT, type PhoneSite, type Setup } from './topology.js';

function toLive(e: FwEvent): LiveEvent {
  return {
    tMs: e.timeUs / 1000, node: e.node, name: e.name, kv: e.kv, counters: e.counters,
    iface: { ipBytesSent: e.counters.wireSent, ipBytesRecv: e.counters.wireRecv, packetsSent: e.counters.packetsSent, packetsRecv: e.counters.packetsRecv },
  };
}

function behind(w: World, name: string, s: PhoneSite): Middlebox | undefined {
  if (s.kind === 'public') return undefined;
  if (s.kind === 'nat-fw') {
    const fw = w.net.addFirewall(`${name}-fw`, { ...firewallPresets['udp-blocked'] });
    return w.net.addNat(`${name}-nat`, s.publicIp!, { ...natPresets['port-restricted-cone'], behind: fw });
  }
  return w.net.addNat(`${name}-nat`, s.publicIp!, s.kind === 'symmetric-nat' ? natPresets.symmetric : natPresets['port-restricted-cone']);
}

export interface SimSetupResult { report: LiveCallReport; events: { alice: LiveEvent[]; bob: LiveEvent[] }; virtualMs: number }

/** Runs `setup` in the simulator with alice's microphone playing `speech` (8 kHz). */
export function runSimSetup(setup: Setup, speech: Int16Array, seed = 1): SimSetupResult {
  const w = new World({ seed });
  try {
    w.addLoginServer(SERVER_IP);
    for (const ip of SN_IPS) w.bootstrapEntry(ip, SN_PORT);
    SN_IPS.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: SN_PORT }));
    const bob = w.addNode('bob', setup.bob.hostIp, { user: 'bob', password: 'bob-secret-1', register: true }, { behind: behind(w, 'bob', setup.bob), bootAtUs: 1_000_000 });
    const aliceBehind = behind(w, 'alice', setup.alice);
    let alice: ReturnType<World['addNode']> | null = null;
    const speechUs = (speech.length / 8000) * 1e6;
    w.onEvent((e) => {
      if (e.node === 'bob' && e.name === 'login.ok' && !alice) {
        alice = w.addNode('alice', setup.alice.hostIp, { user: 'alice', password: 'alice-secret-1', register: true }, { behind: aliceBehind, bootAtUs: w.sched.nowUs + 1_000_000 });
        alice.audio.mic.set(speech);
      }
      if (e.node === 'alice' && e.name === 'login.ok') {
        const keys = [...multiTapKeys('bob'), KEY.SEND];
        keys.forEach((k, i) => w.sched.after(500_000 + 150_000 * (i + 1), () => alice!.pressKey(k)));
      }
      if (e.node === 'bob' && e.name === 'call.incoming') w.sched.after(1_000_000, () => bob.hook(true));
      if (e.node === 'bob' && e.name === 'call.ended') w.sched.after(300_000, () => bob.hook(false));
      if (e.node === 'alice' && e.name === 'call.answered') {
        alice!.audio.mic.start();
        w.sched.after(speechUs + 500_000, () => alice!.hook(false));
      }
    });
    const done = () => ['alice', 'bob'].every((n) => w.find(n, 'call.ended')) || ['alice', 'bob', 'sn1', 'sn2', 'sn3'].some((n) => w.nodes.get(n)?.crash);
    w.runUntil(done, speechUs + 90_000_000);
    w.runUntil(() => false, w.sched.nowUs + 500_000);
    const ev = (n: string) => w.events.filter((e) => e.node === n).map(toLive);
    const a = alice as ReturnType<World['addNode']> | null;
    const report = liveCallReport({ caller: 'alice', callee: 'bob' }, ev('alice'), ev('bob'),
      a ? { mic: Int16Array.from(a.audio.mic.captured), speaker: Int16Array.from(bob.audio.speaker), rateHz: 8000 } : undefined);
    return { report, events: { alice: ev('alice'), bob: ev('bob') }, virtualMs: w.sched.nowUs / 1000 };
  } finally {
    w.close();
  }
}
