/**
 * Update service CLI:  npm run update-server -- --key vendor.pem [--port 8080] [--host 127.0.0.1] IMAGE.bin…
 * Publishes the given signed images (each must verify against --key's public key) and serves the manifest and
 * images over HTTP. Prints `update-server listening on HOST:PORT, latest vN`; errors: one line, exit 1.
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import { loadPrivateKey } from '../host-sim/bootrom-image.js';
import { UpdateService } from './update.js';
import { listenUpdateHttp } from './update-http.js';

function fail(msg: string): never { process.stderr.write(`update-server: ${msg}\n`); process.exit(1); }

const o = new Command('update-server').description('Firmware update service (manifest + images over HTTP)')
  .requiredOption('--key <vendor.pem>', 'vendor Ed25519 private key (signs manifests; images must be signed with it)')
  .option('--port <n>', 'TCP port', '8080').option('--host <addr>', 'address to bind', '127.0.0.1')
  .argument('<images...>', 'signed images to publish').parse(process.argv);
const opts = o.opts<{ key: string; port: string; host: string }>();
let svc: UpdateService;
try { svc = new UpdateService(loadPrivateKey(fs.readFileSync(opts.key), opts.key)); } catch (e) { fail((e as Error).message); }
for (const f of o.args) {
  try { const r = svc!.publish(new Uint8Array(fs.readFileSync(f))); process.stderr.write(`published ${f}: v${r.header.version} build ${r.header.buildId}\n`); }
  catch (e) { fail(`${f}: ${(e as Error).message}`); }
}
const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${opts.port}`);
listenUpdateHttp(svc!, { host: opts.host, port }).then((s) => {
  process.stdout.write(`update-server listening on ${opts.host}:${s.port}, latest v${svc!.latest()?.header.version ?? '-'}\n`);
  const stop = () => { s.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop); process.on('SIGTERM', stop);
}, (e) => fail(`cannot listen on ${opts.host}:${port}: ${(e as Error).message}`));
