/**
 * The NAT lab's setups, shared by the Linux lab (lab.ts) and the simulator run it is compared with (sim.ts):
 * the seed's three network setups (skype-facts.md §Calls) plus a symmetric NAT, with the simulator's addresses.
 *
 * Every host is its own site: a login server, 3 supernodes and two phones. Between any two sites the one-way
 * delay is 25 ms (50 ms RTT): 12.5 ms each way on every site's uplink in the lab; 2.5 ms access link + 20 ms
 * core in the simulator's default world (host-sim/world.ts).
 */
export type SiteKind = 'public' | 'nat' | 'nat-fw' | 'symmetric-nat';

export interface PhoneSite {
  kind: SiteKind;
  /** The phone's own address: public, or private behind the site's router. */
  hostIp: string;
  /** The NAT's public address (NAT kinds). */
  publicIp?: string;
}

export interface Setup {
  id: string;
  title: string;
  /** What the seed documents for this setup (skype-facts.md), for the report. */
  seed: string;
  alice: PhoneSite;
  bob: PhoneSite;
  /** Path the firmware is expected to take today (issue #10 note; #4 may improve it). */
  expectPath: string[];
}

export const SERVER_IP = '198.51.100.10';
export const SN_IPS = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
export const SN_PORT = 33033;
export const LOGIN_PORT = 33000;
/** One-way delay added on each site's uplink in the lab, ms (two uplinks between any two sites: 25 ms). */
export const UPLINK_DELAY_MS = 12.5;

const PUB_ALICE: PhoneSite = { kind: 'public', hostIp: '198.51.100.30' };
const PUB_BOB: PhoneSite = { kind: 'public', hostIp: '198.51.100.40' };

export const SETUPS: Setup[] = [
  {
    id: 'both-public', title: 'both public', seed: 'caller opens TCP straight to the callee; ≈6 KB call setup; media UDP ≈5 KB/s',
    alice: PUB_ALICE, bob: PUB_BOB, expectPath: ['direct-udp'],
  },
  {
    id: 'caller-nat', title: 'caller behind port-restricted NAT', seed: 'signaling via an online node, media direct over UDP (hole punching); ≈8 KB',
    alice: { kind: 'nat', hostIp: '192.168.1.10', publicIp: '203.0.113.7' }, bob: PUB_BOB, expectPath: ['direct-udp'],
  },
  {
    id: 'both-nat-fw', title: 'both behind NAT + UDP-blocking firewall', seed: 'signaling and media over TCP through relay nodes; ≈8 KB; ≈5.5 KB/s',
    alice: { kind: 'nat-fw', hostIp: '192.168.1.10', publicIp: '203.0.113.7' },
    bob: { kind: 'nat-fw', hostIp: '192.168.2.10', publicIp: '203.0.113.8' }, expectPath: ['relay-tcp'],
  },
  {
    id: 'caller-symmetric', title: 'caller behind symmetric NAT (extra)', seed: '(not in the seed) RFC 4787 address-and-port-dependent mapping',
    alice: { kind: 'symmetric-nat', hostIp: '192.168.1.10', publicIp: '203.0.113.7' }, bob: PUB_BOB, expectPath: ['direct-udp', 'relay-udp'],
  },
];
