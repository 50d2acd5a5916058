/**
 * A test bench for the device side (tests and tools): a vendor key, signed images of the current build, and a
 * simulated network with a login server, one supernode, an update service and ROM phones provisioned with JSON.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { World, LOGIN_PORT, SN_PORT, firmwarePath } from './world.js';
import { RomPhone, type RomPhoneOpts } from './bootrom-device.js';
import { BootRom } from './bootrom.js';
import { buildImage, rawPublicKey } from './bootrom-image.js';
import { UpdateService } from '../server/update.js';
import { startSimUpdateServer, UPDATE_PORT } from '../server/update-sim.js';
import { provisioningBytes, type Provisioning } from '../tools/lib/provisioning.js';

export const BENCH = { login: '198.51.100.10', sn: '198.51.100.21', updates: '198.51.100.30' } as const;

let vendor: crypto.KeyObject | null = null;
/** One vendor key per process (deterministic tests do not depend on its value). */
export function vendorKey(): crypto.KeyObject {
  if (!vendor) vendor = crypto.generateKeyPairSync('ed25519').privateKey;
  return vendor;
}
export function vendorPublic(): Uint8Array { return rawPublicKey(vendorKey()); }

let wasm: Uint8Array | null = null;
export function firmwareWasm(): Uint8Array { if (!wasm) wasm = new Uint8Array(fs.readFileSync(firmwarePath())); return wasm; }

/** A signed image of the current build (or of `payload`). */
export function signedImage(version: number, payload: Uint8Array = firmwareWasm(), key = vendorKey()): Uint8Array {
  return buildImage({ wasm: payload, version, buildId: `test-v${version}`, privateKey: key });
}

export interface Bench {
  w: World;
  updates: UpdateService;
  updateRequests: string[];
  phone(name: string, ip: string, opts?: { factory?: Uint8Array; prov?: Partial<Provisioning>; rom?: Partial<RomPhoneOpts>; powerOn?: boolean }): RomPhone;
}

export function makeBench(seed: number, opts: { supernode?: boolean } = {}): Bench {
  const w = new World({ seed });
  w.addLoginServer(BENCH.login);
  w.bootstrapEntry(BENCH.sn);
  if (opts.supernode !== false) w.addNode('sn1', BENCH.sn, { supernode: 'auto', port: SN_PORT });
  const updates = new UpdateService(vendorKey());
  const srv = startSimUpdateServer(w.net.addHost('updates', BENCH.updates, { link: w.accessLink }), updates);
  return {
    w, updates, updateRequests: srv.requests,
    phone(name, ip, o = {}) {
      const host = w.net.addHost(name, ip, { link: w.accessLink });
      const phone = new RomPhone({
        name, host, sched: w.sched, seed: w.rng.split(`fw-seed:${name}`).u32(), entropy: w.rng.split(`entropy:${name}`), trustedKey: vendorPublic(),
        onEvent: (e) => w.events.push(e), ...o.rom,
      });
      BootRom.factoryInstall(phone.flash, vendorPublic(), o.factory ?? signedImage(1));
      const prov: Provisioning = {
        user: name, password: `${name}-secret-1`, register: true, bootstrap: [`${BENCH.sn}:${SN_PORT}`], server: `${BENCH.login}:${LOGIN_PORT}`,
        serverKey: Buffer.from(w.login.publicKey).toString('hex'), update: { server: `${BENCH.updates}:${UPDATE_PORT}`, checkIntervalS: 3600 }, ...o.prov,
      };
      phone.kv.write(1, provisioningBytes(prov));
      if (o.powerOn !== false) phone.powerOn();
      return phone;
    },
  };
}

/** Runs the world for `us` microseconds of virtual time. */
export function runFor(w: World, us: number): void { w.runUntil(() => false, w.sched.nowUs + us); }

/** Types a console line on a phone and returns what it printed in the next 50 ms (virtual). */
export function consoleCommand(w: World, phone: RomPhone, line: string): string {
  const before = phone.uartText.length;
  phone.uartInput(new TextEncoder().encode(line + '\r'));
  runFor(w, 50_000);
  return phone.uartText.slice(before).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}
