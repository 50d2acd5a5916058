/**
 * Login/directory server CLI.
 *
 *   tsx server/main.ts [--port 33033] [--host 127.0.0.1] [--data ./server-data] [--max-wait-ms 5000]
 *   tsx server/main.ts --data DIR --signing-key-add | --signing-key-activate ID | --signing-key-drop-retired
 *                                                      (one rotation step, prints the new certKeys, exits)
 *
 * Opens <data>/users.db, loads or creates <data>/server-key.json and <data>/signing-keys.json (certificate
 * signing keys, docs/security.md §Rotation), writes their public keys to <data>/cert-keys.json
 * ({"certKeys": "id:hex,…"}, read by the live tools' configs), prints
 *   login-server listening on <host>:<port> pubkey <64 hex>
 *   login-server certKeys <id:hex,...>        (the phones' `certKeys=` provisioning value)
 * and serves until SIGINT/SIGTERM. Startup failures print one `error: ...` line to stderr and
 * exit with code 1.
 */
import { Command } from 'commander';
import { accessSync, constants as fsc, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { activeSigningKey, certKeysLine, loadOrCreateServerKey, loadOrCreateSigningKeys, rotateSigningKeys } from './keys.ts';
import { listenTcp, type TcpLoginServer } from './net.ts';
import { LoginService } from './service.ts';
import { LoopBusyAdmission } from './shed.ts';
import { UserStore } from './store.ts';

function fail(msg: string): never {
  process.stderr.write(`error: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}

/**
 * Writes <data>/cert-keys.json, {"certKeys": "id:hex,…"}: the public half of the signing keys, for the live
 * tools (host-sim/real/config.ts reads it beside server-key.json). Atomic (temp + rename).
 */
function writeCertKeysFile(dataDir: string, line: string): void {
  const file = join(dataDir, 'cert-keys.json');
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify({ certKeys: line }) + '\n');
  renameSync(`${file}.${process.pid}.tmp`, file);
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.message === 'string') return err.code ? `${err.code}: ${err.message}` : err.message;
  return String(e);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('login-server')
    .description('P2P desk phone login/directory server')
    .option('--port <port>', 'TCP port to listen on (0 = ephemeral)', '33033')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--data <dir>', 'data directory (users.db, server-key.json, signing-keys.json)', './server-data')
    .option('--max-wait-ms <ms>', 'load shedding: answer BUSY to password requests once the server has been busy this long without a break (0 = never)', '5000')
    .option('--signing-key-add', 'rotation step 1: add a new certificate signing key (state "next"), print certKeys, exit')
    .option('--signing-key-activate <id>', 'rotation step 2: sign with key <id> from now on (the old one is retired), exit')
    .option('--signing-key-drop-retired', 'rotation step 3 (after the certificate lifetime): forget retired keys, exit')
    .showHelpAfterError()
    .parse(process.argv);
  const o = program.opts<{ port: string; host: string; data: string; maxWaitMs: string; signingKeyAdd?: boolean; signingKeyActivate?: string; signingKeyDropRetired?: boolean }>();

  const port = Number(o.port);
  if (!/^\d+$/.test(o.port) || !Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`invalid --port ${JSON.stringify(o.port)} (expected 0-65535)`);
  }
  const maxWaitMs = Number(o.maxWaitMs);
  if (!/^\d+$/.test(o.maxWaitMs) || !Number.isSafeInteger(maxWaitMs)) {
    fail(`invalid --max-wait-ms ${JSON.stringify(o.maxWaitMs)} (expected an integer >= 0)`);
  }
  const dataDir = resolve(o.data);

  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, fsc.W_OK | fsc.R_OK | fsc.X_OK);
  } catch (e) {
    fail(`data dir ${dataDir} is not usable (${describe(e)})`);
  }

  let key: ReturnType<typeof loadOrCreateServerKey>;
  try {
    key = loadOrCreateServerKey(dataDir);
  } catch (e) {
    fail(`cannot load or create server key in ${dataDir} (${describe(e)})`);
  }

  let signing: ReturnType<typeof loadOrCreateSigningKeys>;
  try {
    signing = loadOrCreateSigningKeys(dataDir);
    if (o.signingKeyAdd || o.signingKeyActivate !== undefined || o.signingKeyDropRetired) {
      const id = Number(o.signingKeyActivate);
      if (o.signingKeyActivate !== undefined && (!/^\d+$/.test(o.signingKeyActivate) || id > 0xffff)) {
        fail(`invalid --signing-key-activate ${JSON.stringify(o.signingKeyActivate)} (expected a key id 0-65535)`);
      }
      signing = rotateSigningKeys(signing, o.signingKeyAdd ? 'add' : o.signingKeyDropRetired ? 'drop' : 'activate', id);
      writeCertKeysFile(dataDir, certKeysLine(signing.keys));
      process.stdout.write(`login-server certKeys ${certKeysLine(signing.keys)} active ${activeSigningKey(signing).id}\n`);
      process.exit(0);
    }
    activeSigningKey(signing);
    writeCertKeysFile(dataDir, certKeysLine(signing.keys));
  } catch (e) {
    fail(`cannot load signing keys in ${dataDir} (${describe(e)})`);
  }

  const dbPath = join(dataDir, 'users.db');
  let store: UserStore;
  try {
    store = new UserStore(dbPath);
  } catch (e) {
    fail(`cannot open database ${dbPath} (${describe(e)})`);
  }

  const shed = maxWaitMs > 0 ? new LoopBusyAdmission(maxWaitMs).start() : undefined;
  const service = new LoginService({ store, staticPrivateKey: key.privateKey, signingKey: activeSigningKey(signing), admit: shed?.admit });
  let srv: TcpLoginServer;
  try {
    srv = await listenTcp(service, { host: o.host, port });
  } catch (e) {
    store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} on ${o.host} is already in use`);
    if (code === 'EACCES') fail(`permission denied binding ${o.host}:${port}`);
    fail(`cannot listen on ${o.host}:${port} (${describe(e)})`);
  }

  const shown = srv.host.includes(':') ? `[${srv.host}]` : srv.host;
  process.stdout.write(
    `login-server listening on ${shown}:${srv.port} pubkey ${Buffer.from(service.publicKey).toString('hex')}\n` +
      `login-server certKeys ${certKeysLine(signing.keys)}\n`,
  );

  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) {
      process.stderr.write(`login-server: second ${sig}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    // Do not hang forever on a stuck close.
    setTimeout(() => process.exit(1), 5000).unref();
    srv.close().then(() => {
      store.close();
      const s = service.stats;
      process.stderr.write(
        `login-server stopped (${sig}): requests=${s.requests} ok=${s.ok} failures=${s.failures} malformed=${s.malformed}\n`,
      );
      process.exitCode = 0;
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e) => fail(describe(e)));
