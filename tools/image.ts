/**
 * Builds and signs firmware images (docs/image-format.md).
 *
 *   npm run image -- --key vendor.pem --version 2 [--wasm build/firmware.wasm] [--build-id ID] [--out FILE]
 *   npm run image -- keygen --out vendor.pem        new Ed25519 key (vendor.pem 0600, public key in vendor.pub)
 *   npm run image -- info FILE [--trust vendor.pub] header fields; with --trust, the full verification
 *
 * Prints one line per result; errors are one line on stderr and exit code 1.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { buildImage, hex, loadPrivateKey, loadPublicKey, parseHeader, rawPublicKey, verifyImage, IMAGE_HEADER_BYTES } from '../host-sim/bootrom-image.js';

function fail(msg: string): never { process.stderr.write(`image: ${msg}\n`); process.exit(1); }

function defaultBuildId(): string {
  try { return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().slice(0, 16); } catch { return 'unknown'; }
}

const program = new Command('image').description('Build, sign and inspect firmware images').showHelpAfterError(false);

program.command('build', { isDefault: true }).description('sign build/firmware.wasm (or --wasm) into an image')
  .requiredOption('--key <pem>', 'vendor Ed25519 private key (PEM)')
  .requiredOption('--version <n>', 'firmware version, an integer that grows with every release (anti-rollback)')
  .option('--wasm <file>', 'firmware to sign', 'build/firmware.wasm')
  .option('--build-id <id>', 'build id, ≤ 16 ASCII characters (default: git describe)')
  .option('--out <file>', 'output image (default build/firmware-v<version>.bin)')
  .action((o) => {
    if (!/^\d+$/.test(o.version) || Number(o.version) < 1 || Number(o.version) > 0xffffffff) fail(`--version must be an integer 1..4294967295, got '${o.version}'`);
    let key: crypto.KeyObject;
    try { key = loadPrivateKey(fs.readFileSync(o.key), o.key); } catch (e) { fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? `key file ${o.key} not found (create one with: npm run image -- keygen --out ${o.key})` : (e as Error).message); }
    if (!fs.existsSync(o.wasm)) fail(`${o.wasm} not found (run npm run build first)`);
    const wasm = new Uint8Array(fs.readFileSync(o.wasm));
    if (!WebAssembly.validate(wasm)) fail(`${o.wasm} is not a valid WebAssembly module`);
    let img: Uint8Array;
    try { img = buildImage({ wasm, version: Number(o.version), buildId: o.buildId ?? defaultBuildId(), privateKey: key! }); } catch (e) { fail((e as Error).message); }
    const out = o.out ?? `build/firmware-v${o.version}.bin`;
    fs.writeFileSync(out, img!);
    const h = (parseHeader(img!) as { header: { buildId: string; keyId: Uint8Array } }).header;
    process.stdout.write(`image ${out}: v${o.version} build ${h.buildId}, ${img!.length} bytes (wasm ${wasm.length}), signed by key ${hex(h.keyId)}\n`);
  });

program.command('keygen').description('create an Ed25519 signing key')
  .requiredOption('--out <pem>', 'private key file (PEM, mode 0600); the public key goes to <name>.pub as hex')
  .action((o) => {
    if (fs.existsSync(o.out)) fail(`${o.out} exists; not overwriting a signing key`);
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(o.out, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const pubFile = o.out.replace(/\.pem$/, '') + '.pub';
    fs.writeFileSync(pubFile, hex(rawPublicKey(privateKey)) + '\n');
    process.stdout.write(`key ${o.out}, public key ${pubFile}: ${hex(rawPublicKey(privateKey))}\n`);
  });

program.command('info').description('print an image header; with --trust also verify it')
  .argument('<file>').option('--trust <key>', 'vendor public key (hex or PEM) to verify against')
  .action((file, o) => {
    let b: Uint8Array;
    try { b = new Uint8Array(fs.readFileSync(file)); } catch (e) { fail(`cannot read ${file} (${(e as NodeJS.ErrnoException).code})`); }
    const p = parseHeader(b!);
    if (!p.ok) fail(`${file}: ${p.reason}`);
    const h = p.header;
    process.stdout.write(`${file}: format ${h.formatVersion}, v${h.version}, build ${h.buildId}, payload ${h.payloadBytes} bytes (header ${IMAGE_HEADER_BYTES}), sha256 ${hex(h.payloadSha256)}, key ${hex(h.keyId)}\n`);
    if (o.trust) {
      let pub: Uint8Array;
      try { pub = loadPublicKey(fs.existsSync(o.trust) ? fs.readFileSync(o.trust, 'utf8') : o.trust, o.trust); } catch (e) { fail((e as Error).message); }
      const v = verifyImage(b!, pub!);
      if (!v.ok) fail(`${file}: refused: ${v.reason}`);
      process.stdout.write(`${file}: signature OK\n`);
    }
  });

program.parseAsync(process.argv).catch((e) => fail((e as Error).message));
