/**
 * Named network setups for a phone (issue #4): where it sits and what is between it and the Internet.
 * Each preset is applied to a World by `attachPhone`, which creates the middlebox (if any) and the host.
 */
import type { World, Provisioning } from './world.js';
import { natPresets, firewallPresets, type Middlebox } from './net/network.js';
import type { FirmwareNode } from './firmware.js';

export const PRESETS = [
  'public', 'full-cone', 'restricted-cone', 'port-restricted-cone', 'symmetric', 'symmetric-sequential', 'udp-blocked',
  'tcp-80-443', 'same-nat',
] as const;
export type Preset = (typeof PRESETS)[number];

/** RFC 4787 behaviours of a preset as seen from its phone (a firewall keeps addresses; UDP may be blocked). */
export interface PresetTraits {
  udp: boolean;
  nat: boolean;
  mapping: 'endpoint-independent' | 'address-and-port-dependent' | 'none';
  filtering: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'none';
  /** Accepts inbound TCP connections on the phone's port. */
  inboundTcp: boolean;
  /** Outbound TCP only to these ports (undefined = any). */
  tcpPorts?: number[];
  /** A non-endpoint-independent mapping whose NAT allocates ports sequentially: the next port is predictable. */
  sequentialPorts?: boolean;
}

export const TRAITS: Record<Preset, PresetTraits> = {
  'public': { udp: true, nat: false, mapping: 'none', filtering: 'none', inboundTcp: true },
  'full-cone': { udp: true, nat: true, mapping: 'endpoint-independent', filtering: 'endpoint-independent', inboundTcp: false },
  'restricted-cone': { udp: true, nat: true, mapping: 'endpoint-independent', filtering: 'address-dependent', inboundTcp: false },
  'port-restricted-cone': { udp: true, nat: true, mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', inboundTcp: false },
  'symmetric': { udp: true, nat: true, mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', inboundTcp: false },
  'symmetric-sequential': { udp: true, nat: true, mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', inboundTcp: false, sequentialPorts: true },
  'udp-blocked': { udp: false, nat: false, mapping: 'none', filtering: 'none', inboundTcp: false },
  'tcp-80-443': { udp: false, nat: false, mapping: 'none', filtering: 'none', inboundTcp: false, tcpPorts: [80, 443] },
  'same-nat': { udp: true, nat: true, mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', inboundTcp: false },
};

/**
 * What RFC 4787 theory allows between two presets (UDP hole punching with server-reflexive candidates and
 * peer-reflexive learning, or a TCP connection to a side that accepts it):
 * - both UDP-capable: direct if either side is public or both map endpoint-independently; an EIM side with a
 *   symmetric (random-port) peer only when its own filter is not port-dependent (the peer's new port gets
 *   through an endpoint-independent or address-dependent filter); two symmetric NATs never; two phones
 *   behind the same NAT always (over the LAN).
 * - port prediction (RFC 4787 §4.2.2 sequential port assignment; the technique of RFC 5128 §2.4 / §3.3 with
 *   predicted ports): a symmetric NAT that allocates ports sequentially is reachable like an EIM one by a
 *   peer that maps endpoint-independently (whatever its filter) or has no NAT: the symmetric side tells its
 *   next port and the peer punches a small window of ports there. Two predicting sides are not counted:
 *   each one's window probes allocate new ports on its own NAT and spoil the other's prediction; a
 *   random-port peer is unpredictable.
 * - one side without UDP: direct TCP if the other side accepts inbound TCP and the firewall lets the
 *   connection out (not a port-80/443-only firewall: phones listen on their own port).
 */
export function directPossible(a: Preset, b: Preset): { possible: boolean; transport: 'udp' | 'tcp' | null } {
  const A = TRAITS[a], B = TRAITS[b];
  if (a === 'same-nat' && b === 'same-nat') return { possible: true, transport: 'udp' };
  if (A.udp && B.udp) {
    if (!A.nat || !B.nat) return { possible: true, transport: 'udp' };
    const eimA = A.mapping === 'endpoint-independent', eimB = B.mapping === 'endpoint-independent';
    if (eimA && eimB) return { possible: true, transport: 'udp' };
    if ((A.sequentialPorts && eimB) || (B.sequentialPorts && eimA)) return { possible: true, transport: 'udp' };
    if (eimA !== eimB) {
      const eim = eimA ? A : B;
      return eim.filtering !== 'address-and-port-dependent' ? { possible: true, transport: 'udp' } : { possible: false, transport: null };
    }
    return { possible: false, transport: null };
  }
  const canTcp = (from: PresetTraits, to: PresetTraits) => to.inboundTcp && !from.tcpPorts;
  if (canTcp(A, B) || canTcp(B, A)) return { possible: true, transport: 'tcp' };
  return { possible: false, transport: null };
}

/** Per-world cache of the one NAT that 'same-nat' phones share, and a site counter for addresses. */
const sharedNats = new WeakMap<World, Middlebox>();
const siteCounters = new WeakMap<World, number>();

/** Adds a phone behind a port-restricted NAT that itself sits behind a UDP-blocking firewall (the seed's third setup). */
export function attachNatBehindFirewall(w: World, name: string, prov: Provisioning, bootAtUs: number): FirmwareNode {
  const site = (siteCounters.get(w) ?? 0) + 1;
  siteCounters.set(w, site);
  const fw = w.net.addFirewall(`${name}-fw`, { ...firewallPresets['udp-blocked'] });
  const nat = w.net.addNat(`${name}-nat`, `203.0.113.${site}`, { ...natPresets['port-restricted-cone'], behind: fw });
  return w.addNode(name, `192.168.${site}.10`, prov, { behind: nat, bootAtUs });
}

/** Adds a phone with `preset` to the world (creating its middlebox) and returns it. */
export function attachPhone(w: World, name: string, preset: Preset, prov: Provisioning, bootAtUs: number): FirmwareNode {
  const site = (siteCounters.get(w) ?? 0) + 1;
  siteCounters.set(w, site);
  const pubIp = `203.0.113.${site}`;
  switch (preset) {
    case 'public':
      return w.addNode(name, `198.51.100.${100 + site % 150}`, prov, { bootAtUs });
    case 'udp-blocked':
    case 'tcp-80-443': {
      const fw = w.net.addFirewall(`${name}-fw`, { ...firewallPresets[preset] });
      return w.addNode(name, `198.51.100.${100 + site % 150}`, prov, { behind: fw, bootAtUs });
    }
    case 'same-nat': {
      let nat = sharedNats.get(w);
      if (!nat) { nat = w.net.addNat('shared-nat', pubIp, natPresets['port-restricted-cone']); sharedNats.set(w, nat); }
      const n = w.nodes.size + 10;
      return w.addNode(name, `192.168.77.${n}`, prov, { behind: nat, bootAtUs });
    }
    case 'symmetric-sequential': {
      // RFC 4787 address-and-port-dependent mapping and filtering, ports assigned sequentially (step 1)
      const nat = w.net.addNat(`${name}-nat`, pubIp, { ...natPresets.symmetric, portAssignment: 'sequential' });
      return w.addNode(name, `192.168.${site}.10`, prov, { behind: nat, bootAtUs });
    }
    default: {
      const nat = w.net.addNat(`${name}-nat`, pubIp, natPresets[preset]);
      return w.addNode(name, `192.168.${site}.10`, prov, { behind: nat, bootAtUs });
    }
  }
}
