/**
 * A simulated phone on the bench: boot ROM with A/B slots, the firmware from a signed image, a small simulated
 * network (login server, two supernodes, a second phone "bob", an update service), all in real time, with the
 * phone's UART on a real pseudo-terminal.
 *
 *   npm run device -- --trust vendor.pub --image factory.bin [--config alice.json] [--link /tmp/phone-uart]
 *                     [--vendor-key vendor.pem --publish new.bin] [--lcd] [--seed N]
 *   npm run device -- --write-config alice.json [--user alice]     a valid provisioning for this network
 *
 * Prints `uart /dev/pts/N` on stdout once the phone is powered, then ROM and status lines on stderr; runs
 * until SIGINT/SIGTERM. Errors: one line, exit 1.
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import { World, LOGIN_PORT, SN_PORT } from '../host-sim/world.js';
import { RomPhone } from '../host-sim/bootrom-device.js';
import { BootRom } from '../host-sim/bootrom.js';
import { loadPrivateKey, loadPublicKey, verifyImage } from '../host-sim/bootrom-image.js';
import { openPtyBridge } from '../host-sim/uart-pty.js';
import { RealtimePump } from '../host-sim/uart-realtime.js';
import { Lcd } from '../host-sim/devices.js';
import { UpdateService } from '../server/update.js';
import { startSimUpdateServer, UPDATE_PORT } from '../server/update-sim.js';
import { loadProvisioningFile, provisioningBytes, type Provisioning } from './lib/provisioning.js';

function fail(msg: string): never { process.stderr.write(`device: ${msg}\n`); process.exit(1); }

const LOGIN_IP = '198.51.100.10', SN_IPS = ['198.51.100.21', '198.51.100.22'], UPDATE_IP = '198.51.100.30', PHONE_IP = '198.51.100.50';

/** The simulated network (deterministic from the seed: the login server's key too). */
function buildWorld(seed: number): World {
  const w = new World({ seed });
  w.addLoginServer(LOGIN_IP);
  for (const ip of SN_IPS) w.bootstrapEntry(ip);
  SN_IPS.forEach((ip, i) => w.addNode(`sn${i + 1}`, ip, { supernode: 'auto', port: SN_PORT }));
  w.addNode('bob', '198.51.100.40', { user: 'bob', password: 'bob-secret-22', register: true }, { bootAtUs: 200_000 });
  return w;
}

function templateFor(w: World, user: string): Provisioning {
  return {
    user, password: `${user}-secret-1`, register: true, supernode: 'never',
    bootstrap: SN_IPS.map((ip) => `${ip}:${SN_PORT}`), server: `${LOGIN_IP}:${LOGIN_PORT}`,
    serverKey: Buffer.from(w.login.publicKey).toString('hex'), codecs: ['pcmu', 'pcma'],
    display: { rows: 4, cols: 24 }, update: { server: `${UPDATE_IP}:${UPDATE_PORT}`, checkIntervalS: 3600 },
  };
}

const program = new Command('device').description('Simulated phone with boot ROM, UART on a pty')
  .option('--trust <key>', 'vendor public key the boot ROM trusts (hex or PEM, or a file holding it)')
  .option('--image <file>', 'signed factory image for slot A')
  .option('--config <file>', 'provisioning JSON (validated; default: a valid one for user alice)')
  .option('--write-config <file>', 'write a provisioning JSON valid for this simulated network, then exit')
  .option('--user <name>', 'user for --write-config and the default provisioning', 'alice')
  .option('--vendor-key <pem>', 'vendor private key: runs the update service (signs its manifests)')
  .option('--publish <images...>', 'signed images the update service offers (needs --vendor-key)')
  .option('--link <path>', 'also make the pty reachable as this symlink')
  .option('--boot-window-ms <n>', 'how long the ROM waits for Ctrl-B', '1000')
  .option('--seed <n>', 'world seed', '1')
  .option('--lcd', 'print the LCD on stderr when it changes')
  .parse(process.argv);
const o = program.opts<{ trust?: string; image?: string; config?: string; writeConfig?: string; user: string; vendorKey?: string; publish?: string[]; link?: string; bootWindowMs: string; seed: string; lcd?: boolean }>();

const seed = Number(o.seed);
if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be a non-negative integer, got '${o.seed}'`);
const w = buildWorld(seed);

if (o.writeConfig) {
  fs.writeFileSync(o.writeConfig, JSON.stringify(templateFor(w, o.user), null, 2) + '\n');
  process.stdout.write(`wrote ${o.writeConfig} (user ${o.user})\n`);
  process.exit(0);
}
if (!o.trust) fail('--trust <vendor public key> is required');
if (!o.image) fail('--image <signed factory image> is required');
let trusted: Uint8Array;
try { trusted = loadPublicKey(fs.existsSync(o.trust) ? fs.readFileSync(o.trust, 'utf8') : o.trust, `--trust ${o.trust}`); } catch (e) { fail((e as Error).message); }
let factory: Uint8Array;
try { factory = new Uint8Array(fs.readFileSync(o.image)); } catch (e) { fail(`cannot read ${o.image} (${(e as NodeJS.ErrnoException).code})`); }
const fv = verifyImage(factory!, trusted!);
if (!fv.ok) fail(`${o.image}: ${fv.reason}`);
let prov: Provisioning;
try { prov = o.config ? loadProvisioningFile(o.config) : templateFor(w, o.user); } catch (e) { fail((e as Error).message); }

if (o.publish) {
  if (!o.vendorKey) fail('--publish needs --vendor-key (the update service signs its manifests)');
  let svc: UpdateService;
  try { svc = new UpdateService(loadPrivateKey(fs.readFileSync(o.vendorKey), o.vendorKey)); } catch (e) { fail((e as Error).message); }
  for (const f of o.publish) { try { svc!.publish(new Uint8Array(fs.readFileSync(f))); } catch (e) { fail(`${f}: ${(e as Error).message}`); } }
  startSimUpdateServer(w.net.addHost('updates', UPDATE_IP, { link: w.accessLink }), svc!);
}

const lcd = new Lcd(prov!.display?.rows ?? 4, prov!.display?.cols ?? 24);
const host = w.net.addHost(prov!.user ?? 'phone', PHONE_IP, { link: w.accessLink });
const phone = new RomPhone({
  name: prov!.user ?? 'phone', host, sched: w.sched, seed: seed + 1, entropy: w.rng.split('entropy:phone'), trustedKey: trusted!, lcd,
  bootWindowUs: Number(o.bootWindowMs) * 1000,
  onLog: (_n, level, text) => { if (level === 0) process.stderr.write(`firmware: ${text}\n`); },
});
try { BootRom.factoryInstall(phone.flash, trusted!, factory!); } catch (e) { fail((e as Error).message); }
phone.kv.write(1, provisioningBytes(prov!));

const pump = new RealtimePump(w.sched);
let lastLcd = '';
openPtyBridge((b) => { pump.catchUp(); phone.uartInput(b); }, { link: o.link }).then((pty) => {
  phone.onUart((b) => pty.write(b));
  let romLines = 0;
  const report = setInterval(() => {
    for (; romLines < phone.romLog.length; romLines++) process.stderr.write(`[${(phone.romLog[romLines].timeUs / 1e6).toFixed(2)} s] ${phone.romLog[romLines].line}\n`);
    if (o.lcd && lcd.text() !== lastLcd) { lastLcd = lcd.text(); process.stderr.write(lcd.lines.map((l) => `  |${l}|`).join('\n') + '\n'); }
  }, 50);
  process.stdout.write(`uart ${pty.path}\n`);
  process.stderr.write(`phone ${prov!.user ?? '-'} at ${PHONE_IP}: UART on ${pty.path}${o.link ? ` (${o.link})` : ''}; attach with: npm run console -- ${pty.path}\n`);
  phone.powerOn();
  pump.start();
  const stop = () => { clearInterval(report); pump.stop(); pty.close(); w.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}, (e) => fail((e as Error).message));
