/**
 * A live phone: build/firmware.wasm on real sockets, audio from/to WAV files or raw PCM on stdin/stdout, the LCD
 * in the terminal and the keypad on the keyboard.
 *
 *   npm run phone -- --config alice.json [--input speech.wav|-] [--output heard.wav|-] [--mic-record mic.wav]
 *                    [--dial NAME] [--answer-after MS] [--hangup-after-input] [--exit-after-call]
 *                    [--events FILE.jsonl] [--login-timeout S] [--max-time S] [--iface-stats] [--verbose]
 *
 * Raw PCM (`-`) is s16le mono 8000 Hz. With --input FILE the recording plays from the moment a call is
 * answered (as in the simulator); --dial/--answer-after/--hangup-after-input script the keypad and hook the
 * way the simulator's scenario does (`npm run demo:live` and the NAT lab use them). Prints one line per
 * milestone (login, search, call, path) to stderr; with a TTY and no PCM on stdout it draws the LCD instead.
 * Exit: 0 ok; 1 bad arguments/config or startup failure (one `phone: …` line); 2 --exit-after-call and the
 * call was not answered; 3 not logged in within --login-timeout (e.g. no bootstrap supernode reachable);
 * 4 login refused by the server; 70 firmware crash.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, ConfigError, CERT_KEYS_RE } from '../host-sim/real/config.js';
import { LiveNode, type LiveEvent } from '../host-sim/real/live-node.js';
import { StreamMic, SpeakerSink, LIVE_RATE_HZ } from '../host-sim/real/audio-stream.js';
import { KeyboardMapper, TerminalView, KEY_HELP } from '../host-sim/real/terminal.js';
import { readWavFile, writeWav } from '../host-sim/audio-io.js';
import { KEY, multiTapKeys } from '../host-sim/keypad.js';
import { Lcd, MicSource } from '../host-sim/devices.js';

function fail(msg: string, code = 1): never {
  process.stderr.write(`phone: ${msg}\n`);
  process.exit(code);
}

function nonNeg(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError('must be a non-negative number');
  return Number(v);
}

const program = new Command('phone')
  .description('Run build/firmware.wasm as a live desk phone on real UDP/TCP sockets')
  .requiredOption('--config <file.json>', 'phone configuration (host-sim/real/config.ts)')
  .option('--input <file.wav|->', 'microphone: a WAV file (played from call answer) or - for raw s16le 8 kHz on stdin')
  .option('--output <file.wav|->', 'speaker: a WAV file (written at exit) or - for raw s16le 8 kHz on stdout')
  .option('--mic-record <file.wav>', 'also write what the microphone captured during calls')
  .option('--dial <name>', 'once logged in, type NAME on the keypad and press dial')
  .option('--answer-after <ms>', 'lift the handset MS after the phone starts ringing', nonNeg)
  .option('--hangup-after-input', 'put the handset down 0.5 s after the --input recording has been played')
  .option('--exit-after-call', 'exit after the first call ends (status 2 if it was never answered)')
  .option('--events <file.jsonl>', 'write every firmware event (with byte counters) as JSON lines')
  .option('--login-timeout <s>', 'give up (exit 3) if not logged in after S seconds; 0 = never', nonNeg, 30)
  .option('--max-time <s>', 'exit after S seconds whatever happens; 0 = never', nonNeg, 0)
  .option('--iface-stats', 'attach kernel interface counters to events (NAT lab)')
  .option('--no-lcd', 'do not draw the LCD (print milestones only)')
  .option('--verbose', 'print firmware log lines')
  .option('--cert-keys <id:hex,...>', 'trust these certificate signing keys (overrides the config\'s certKeys; printed by `npm run server`)')
  .showHelpAfterError(false);
program.parse(process.argv);
const opt = program.opts<{
  config: string; input?: string; output?: string; micRecord?: string; dial?: string; answerAfter?: number;
  hangupAfterInput?: boolean; exitAfterCall?: boolean; events?: string; loginTimeout: number; maxTime: number;
  ifaceStats?: boolean; lcd: boolean; verbose?: boolean; certKeys?: string;
}>();

let cfg;
try { cfg = loadConfig(opt.config, 'phone'); } catch (e) { fail((e as Error).message); }
const config = cfg!;
if (opt.certKeys !== undefined) {
  if (!CERT_KEYS_RE.test(opt.certKeys)) fail(`--cert-keys: expected "id:<64 hex>" entries separated by commas (1..8), as printed by \`npm run server\``);
  config.certKeys = opt.certKeys.toLowerCase();
}
if (opt.hangupAfterInput && (!opt.input || opt.input === '-')) fail('--hangup-after-input needs --input FILE.wav');
if (opt.dial !== undefined) { try { multiTapKeys(opt.dial); } catch (e) { fail(`--dial: ${(e as Error).message}`); } }

// ---- audio ----------------------------------------------------------------------------------------
const mic = new StreamMic();
mic.capture = !!opt.micRecord;
let inputSamples = 0;
let inputPcm: Int16Array | null = null;
if (opt.input && opt.input !== '-') {
  try {
    const a = readWavFile(opt.input, LIVE_RATE_HZ);
    mic.set(a.pcm);
    inputPcm = a.pcm;
    inputSamples = a.pcm.length;
  } catch (e) { fail(`--input: ${(e as Error).message}`); }
}
const pcmOnStdout = opt.output === '-';
const speaker = new SpeakerSink(pcmOnStdout ? process.stdout : null);

// ---- terminal -------------------------------------------------------------------------------------
const lcd = new Lcd();
const interactive = !!process.stdin.isTTY && opt.input !== '-';
const view = opt.lcd && process.stdout.isTTY && !pcmOnStdout ? new TerminalView(process.stdout, lcd, config.name) : null;
const say = (line: string) => { if (view) view.log(line); else process.stderr.write(line + '\n'); };
let lastLcdText = '';

let node: LiveNode | null = null;
let exiting = false;
let exitCode = 0;

async function exit(code: number, why?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  exitCode = code;
  if (why) say(`${config.name}: ${why}`);
  if (node) await node.stop();
  if (node) speaker.drain(node.fw.audio.speaker);
  try {
    if (opt.output && !pcmOnStdout) writeWav(opt.output, speaker.pcm(), LIVE_RATE_HZ);
    if (opt.micRecord) writeWav(opt.micRecord, Int16Array.from(mic.captured), LIVE_RATE_HZ);
  } catch (e) { say(`${config.name}: cannot write audio (${(e as Error).message})`); exitCode ||= 1; }
  view?.close();
  if (process.stdin.isTTY && interactive) process.stdin.setRawMode(false);
  if (view && why) process.stderr.write(`phone: ${config.name}: ${why}\n`);
  process.exit(exitCode);
}

process.on('SIGINT', () => void exit(0, 'SIGINT: hanging up, logging out'));
process.on('SIGTERM', () => void exit(0, 'SIGTERM: hanging up, logging out'));
process.stdout.on('error', () => void exit(0)); // a closed pipe on stdout ends the phone

// ---- milestones -----------------------------------------------------------------------------------
function onEvent(e: LiveEvent, n: LiveNode): void {
  const kv = e.kv;
  const who = config.name;
  switch (e.name) {
    case 'boot': say(`${who}: booted, bound ${config.bind}:${n.port}${n.host.view.aliased ? ` (the firmware sees loopback as 198.18/16: ${kv.addr})` : ''}`); break;
    case 'nat.discovered': say(`${who}: network ${kv.udp === '0' ? 'UDP blocked' : kv.public === '1' ? 'public' : `behind NAT, reflexive ${kv.reflexive}`}`); break;
    case 'sn.connected': say(`${who}: supernode ${kv.sn} (${kv.via})`); break;
    case 'login.ok': say(`${who}: logged in as ${kv.user} in ${kv.ms} ms, ${e.counters.wireSent + e.counters.wireRecv} B`); scriptAfterLogin(); break;
    case 'login.fail': void exit(4, `login refused: ${kv.reason}`); break;
    case 'login.retry': say(`${who}: login retry (${kv.reason})`); break;
    case 'sn.lost': say(`${who}: lost supernode ${kv.sn}, reconnecting`); break;
    case 'search.done': say(`${who}: search ${kv.name}: ${kv.found === '1' ? 'found' : 'not found'} in ${kv.ms} ms`); break;
    case 'call.invite': say(`${who}: INVITE sent ${kv.via === 'direct' ? 'direct over TCP' : 'via the supernodes'}`); break;
    case 'call.ringing': say(`${who}: ringing (${kv.ms} ms after dial)`); break;
    case 'call.incoming': say(`${who}: incoming call from ${kv.from} (${kv.via})`); scriptIncoming(); break;
    case 'call.answered': say(`${who}: call answered (${kv.ms} ms, codec ${kv.codec})`); scriptAnswered(); break;
    case 'media.path': say(`${who}: media path ${kv.path}`); break;
    case 'punch.ok': say(`${who}: hole punched to ${kv.peer} in ${kv.ms} ms`); break;
    case 'call.ended': {
      say(`${who}: call ended (${kv.reason})${kv.path ? `: path ${kv.path}, sent ${kv.rtpSent} pkts / ${kv.bytesSent} B, received ${kv.rtpRecv}, lost ${kv.lost}, late ${kv.late}, ${kv.durationMs} ms` : ''}`);
      scriptEnded(!!kv.path);
      break;
    }
  }
}

// ---- scripted keypad (demo, NAT lab) --------------------------------------------------------------
let offHook = false;
function press(code: number): void { node?.fw.pressKey(code); }
function hook(off: boolean): void { offHook = off; node?.fw.hook(off); }
const keyQueue: number[] = [];
let keyTimer: NodeJS.Timeout | null = null;
function queueKeys(codes: number[]): void {
  keyQueue.push(...codes);
  if (!keyTimer) keyTimer = setInterval(() => {
    const k = keyQueue.shift();
    if (k === undefined) { clearInterval(keyTimer!); keyTimer = null; return; }
    press(k);
  }, 150);
}
let dialed = false;
function scriptAfterLogin(): void {
  if (!opt.dial || dialed) return;
  dialed = true;
  setTimeout(() => queueKeys([...multiTapKeys(opt.dial!), KEY.SEND]), 500);
}
function scriptIncoming(): void {
  if (opt.answerAfter !== undefined) setTimeout(() => hook(true), opt.answerAfter);
}
function scriptAnswered(): void {
  if (inputSamples > 0) mic.start();
  if (opt.hangupAfterInput) setTimeout(() => hook(false), (inputSamples / LIVE_RATE_HZ) * 1000 + 500);
}
function scriptEnded(answered: boolean): void {
  if (offHook) setTimeout(() => hook(false), 300);
  // The next call plays the recording from its start again.
  if (inputPcm) { mic.playing = false; mic.set(inputPcm); }
  if (opt.exitAfterCall) setTimeout(() => void exit(answered ? 0 : 2, answered ? undefined : 'the call was not answered'), 1000);
}

// ---- start ----------------------------------------------------------------------------------------
async function main(): Promise<void> {
  try {
    node = await LiveNode.start({
      config, lcd, eventsFile: opt.events, ifaceStats: opt.ifaceStats, verbose: opt.verbose,
      log: say, onEvent, onFatal: (m) => void exit(m.startsWith('firmware crashed') ? 70 : 1, m),
    });
  } catch (e) { fail((e as Error).message); }
  const n = node!;
  // The codec chip's microphone is ours (a WAV recording or a live stream).
  (n.fw.audio as { mic: MicSource }).mic = mic;
  if (opt.input === '-') mic.attach(process.stdin);
  setInterval(() => speaker.drain(n.fw.audio.speaker), 50);
  if (!view && opt.lcd) {
    // No full-screen view: print the LCD whenever it changes, on stderr, as one line.
    setInterval(() => {
      const t = lcd.text();
      if (t === lastLcdText) return;
      lastLcdText = t;
      process.stderr.write(`${config.name}: lcd ${lcd.lines.map((l) => `[${l}]`).join(' ')}\n`);
    }, 100);
  }
  if (view) { view.status = `${config.name} on ${config.bind}:${n.port}`; view.draw(); }
  if (interactive) {
    process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    const km = new KeyboardMapper();
    process.stdin.on('data', (chunk: string) => km.keys(chunk, {
      press: (c) => queueKeys([c]), hookToggle: () => hook(!offHook), quit: () => void exit(0, 'quit'),
    }));
    if (!view) say(KEY_HELP);
  }
  if (opt.loginTimeout > 0) {
    setTimeout(() => {
      if (n.find('login.ok')) return;
      const tried = config.bootstrap.map((b) => `${b.ip}:${b.port}`).join(', ');
      const why = n.find('sn.connected') ? `connected to a supernode but the login server did not answer (server ${config.server.ip}:${config.server.port})`
        : `no bootstrap supernode reachable (tried ${tried} over UDP and TCP)`;
      void exit(3, `not logged in after ${opt.loginTimeout} s: ${why}`);
    }, opt.loginTimeout * 1000);
  }
  if (opt.maxTime > 0) setTimeout(() => void exit(exitCode, `--max-time ${opt.maxTime} s reached`), opt.maxTime * 1000);
}

void main();
