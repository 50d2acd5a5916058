/**
 * A headless supernode daemon: the same build/firmware.wasm as the phones, no audio device, on real sockets.
 *
 *   npm run supernode -- --config sn1.json [--events FILE.jsonl] [--wait-server S] [--wait-peers S] [--max-time S] [--verbose]
 *
 * The config (host-sim/real/config.ts) needs a fixed port, the bootstrap list (the other supernodes; its own
 * entry is skipped) and the login server. Before booting it checks that the login server accepts TCP
 * (retrying for --wait-server seconds), so a wrong server address is a clear error rather than a silent
 * supernode whose clients never log in. It binds its port, then waits (--wait-peers) until the other bootstrap
 * supernodes listen before booting, because the v0 firmware dials its peers only once, at boot. Prints `supernode <name> listening on <ip>:<port>` once up, then one
 * line per client that comes online or goes offline. SIGINT/SIGTERM close every connection and exit 0.
 * Exit: 1 bad config / port in use / login server unreachable (one `supernode: …` line); 70 firmware crash.
 */
import * as net from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, CERT_KEYS_RE } from '../host-sim/real/config.js';
import { LiveNode, type LiveEvent } from '../host-sim/real/live-node.js';

function fail(msg: string, code = 1): never {
  process.stderr.write(`supernode: ${msg}\n`);
  process.exit(code);
}

function nonNeg(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError('must be a non-negative number');
  return Number(v);
}

const opt = new Command('supernode')
  .description('Run build/firmware.wasm as a headless supernode on real UDP/TCP sockets')
  .requiredOption('--config <file.json>', 'supernode configuration (host-sim/real/config.ts)')
  .option('--events <file.jsonl>', 'write every firmware event as JSON lines')
  .option('--wait-server <s>', 'wait up to S seconds for the login server to accept TCP', nonNeg, 10)
  .option('--wait-peers <s>', 'wait up to S seconds for the other bootstrap supernodes to listen before booting', nonNeg, 15)
  .option('--max-time <s>', 'exit after S seconds; 0 = never', nonNeg, 0)
  .option('--verbose', 'print firmware log lines')
  .option('--cert-keys <id:hex,...>', 'trust these certificate signing keys (overrides the config\'s certKeys; printed by `npm run server`)')
  .showHelpAfterError(false)
  .parse(process.argv)
  .opts<{ config: string; events?: string; waitServer: number; waitPeers: number; maxTime: number; verbose?: boolean; certKeys?: string }>();

let cfg;
try { cfg = loadConfig(opt.config, 'supernode'); } catch (e) { fail((e as Error).message); }
const config = cfg!;
if (opt.certKeys !== undefined) {
  if (!CERT_KEYS_RE.test(opt.certKeys)) fail(`--cert-keys: expected "id:<64 hex>" entries separated by commas (1..8), as printed by \`npm run server\``);
  config.certKeys = opt.certKeys.toLowerCase();
}

/** Resolves when ip:port accepts a TCP connection; rejects with the last error after `waitS`. */
async function reachable(ip: string, port: number, bind: string, waitS: number): Promise<void> {
  const until = Date.now() + waitS * 1000;
  for (;;) {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const s = net.connect({ host: ip, port, localAddress: bind, timeout: 2000 });
      s.once('connect', () => { s.destroy(); resolve(null); });
      s.once('timeout', () => { s.destroy(); resolve(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })); });
      s.once('error', (e) => resolve(e));
    });
    if (!err) return;
    if (Date.now() >= until) throw err;
    await new Promise((r) => setTimeout(r, 300));
  }
}

let node: LiveNode | null = null;
let exiting = false;
async function exit(code: number, why?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (why) process.stderr.write(`supernode ${config.name}: ${why}\n`);
  if (node) await node.stop();
  process.exit(code);
}
process.on('SIGINT', () => void exit(0, 'SIGINT: closing connections'));
process.on('SIGTERM', () => void exit(0, 'SIGTERM: closing connections'));

function onEvent(e: LiveEvent, n: LiveNode): void {
  const say = (s: string) => process.stdout.write(`${config.name}: ${s}\n`);
  if (e.name === 'boot' && e.kv.supernode !== '1') {
    void exit(1, `the firmware did not take the supernode role (address ${e.kv.addr} is private to it); bind a public address or loopback 127.0.x.y`);
  } else if (e.name === 'sn.start') say(`supernode ${config.name} listening on ${config.bind}:${n.port} (firmware address ${e.kv.addr})`);
  else if (e.name === 'sn.publish') say(`${e.kv.user} online (flags ${e.kv.flags})`);
  else if (e.name === 'sn.offline') say(`${e.kv.user} offline`);
}

async function main(): Promise<void> {
  try {
    await reachable(config.server.ip, config.server.port, config.bind, opt.waitServer);
  } catch (e) {
    fail(`login server ${config.server.ip}:${config.server.port} unreachable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); start it first (npm run server)`);
  }
  try {
    node = await LiveNode.prepare({
      config, eventsFile: opt.events, verbose: opt.verbose, log: (l) => process.stderr.write(l + '\n'), onEvent,
      onFatal: (m) => void exit(m.startsWith('firmware crashed') ? 70 : 1, m),
    });
  } catch (e) { fail((e as Error).message); }
  // The v0 firmware dials its peer supernodes once, at boot: wait (bounded) until they listen, so supernodes
  // started together form the full mesh the replicated index needs.
  const peers = config.bootstrap.filter((b) => !(b.ip === config.bind && b.port === node!.port));
  const missing: string[] = [];
  await Promise.all(peers.map((p) => reachable(p.ip, p.port, config.bind, opt.waitPeers).catch(() => { missing.push(`${p.ip}:${p.port}`); })));
  if (missing.length) process.stderr.write(`supernode ${config.name}: peer supernode(s) ${missing.join(', ')} not listening after ${opt.waitPeers} s; starting without them\n`);
  node!.boot();
  if (opt.maxTime > 0) setTimeout(() => void exit(0, `--max-time ${opt.maxTime} s reached`), opt.maxTime * 1000);
}

void main();
