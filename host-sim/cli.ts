/**
 * Simulator command line (bundled to dist/sim.js; `npm start` runs `sim run`).
 *   sim run [--scenario default|firewall|wrong-password|buddies] [--input FILE.wav] [--seed N] [--codec pcmu|pcma]
 *           [--out DIR] [--verbose] [--pcap FILE.pcap]
 * Writes OUT/call-report.json, OUT/alice-mic.wav and OUT/bob-speaker.wav and prints a summary.
 * Errors: one clear line on stderr and exit code 1 (2 when the scenario ran but the call failed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import lenaWav from 'audio-lena/wav';
import { runScenario, summary, SCENARIOS, CODECS, type ScenarioName } from './scenario.js';
import { decodeWav, readWavFile } from './audio-io.js';
import { runBuddies, buddiesSummary } from './scenarios/buddies.js';
import { writeConference, conferenceSummary } from './scenarios/conference.js';
import { writeConferencePaths, conferencePathsSummary } from './scenarios/conference-paths.js';
import { writeConference10, conferenceCrashSummary } from './scenarios/conference-crash.js';
import { writeHold, holdSummary } from './scenarios/hold.js';
import { writeTransfer, transferSummary } from './scenarios/transfer.js';
import { writeMultilogin, multiloginSummary } from './scenarios/multilogin.js';
import { writeOfflineIm, offlineImSummary } from './scenarios/offline-im.js';

function intArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new InvalidArgumentError('must be an integer 0..4294967295');
  return Number(v);
}

const program = new Command('sim').description('Deterministic simulator for the P2P desk phone firmware').showHelpAfterError(false);

program.command('run', { isDefault: true })
  .description('run a built-in scenario: two phones log in, alice calls bob and talks')
  .option('--scenario <name>', `one of ${SCENARIOS.join(', ')}`, 'default')
  .option('--input <file.wav>', 'speech for alice\'s microphone (any WAV; resampled to 8 kHz)')
  .option('--seed <n>', 'world seed (same seed, same run bit for bit)', intArg, 1)
  .option('--codec <name>', `force one codec: ${CODECS.join(' | ')} (default: offer all, iLBC 30 ms preferred)`)
  .option('--out <dir>', 'output directory', 'out')
  .option('--verbose', 'print firmware log lines')
  .option('--pcap <file.pcap>', 'write a libpcap capture of every packet (synthesized Ethernet/IPv4/UDP/TCP headers, virtual time)')
  .action((opts) => {
    if (!SCENARIOS.includes(opts.scenario)) fail(`unknown scenario '${opts.scenario}' (expected ${SCENARIOS.join(', ')})`);
    if (opts.codec !== undefined && !CODECS.includes(opts.codec)) fail(`unknown codec '${opts.codec}' (expected ${CODECS.join(', ')})`);
    if (opts.scenario === 'buddies') { // issue #8/#5: buddy list, presence, block (host-sim/scenarios/buddies.ts)
      let r;
      try { r = runBuddies({ seed: opts.seed, outDir: opts.out, verbose: opts.verbose }); } catch (e) { fail((e as Error).message); }
      process.stdout.write(buddiesSummary(r!) + `\n  report  ${path.join(opts.out, 'buddies-report.json')}\n`);
      process.exitCode = r!.ok ? 0 : 2;
      return;
    }
    if (opts.scenario === 'conference' || opts.scenario === 'hold' || opts.scenario === 'transfer') { // issue #8 (host-sim/scenarios/)
      const o = { seed: opts.seed, outDir: opts.out, verbose: opts.verbose };
      let text = '', ok = false;
      try {
        if (opts.scenario === 'conference') { const r = writeConference(o); text = conferenceSummary(r); ok = r.ok; }
        else if (opts.scenario === 'hold') { const r = writeHold(o); text = holdSummary(r); ok = r.ok; }
        else { const r = writeTransfer(o); text = transferSummary(r); ok = r.ok; }
      } catch (e) { fail((e as Error).message); }
      process.stdout.write(text + `\n  report  ${path.join(opts.out, `${opts.scenario}-report.json`)}\n`);
      process.exitCode = ok ? 0 : 2;
      return;
    }
    if (opts.scenario === 'conference-paths') { // issue #8: conference legs' paths and codecs (host-sim/scenarios/conference-paths.ts); --codec sets every phone's offer (default pcmu)
      let r;
      try { r = writeConferencePaths({ seed: opts.seed, outDir: opts.out, codecs: [opts.codec ?? 'pcmu'] }); } catch (e) { fail((e as Error).message); }
      process.stdout.write(conferencePathsSummary(r!) + `\n  report  ${path.join(opts.out, 'conference-paths-report.json')}\n`);
      process.exitCode = r!.ok ? 0 : 2;
      return;
    }
    if (opts.scenario === 'conference10') { // issue #8: 10 parties, the host loses power (host-sim/scenarios/conference-crash.ts)
      let r;
      try { r = writeConference10({ seed: opts.seed, outDir: opts.out }); } catch (e) { fail((e as Error).message); }
      process.stdout.write(conferenceCrashSummary(r!) + `\n  report  ${path.join(opts.out, 'conference10-report.json')}\n`);
      process.exitCode = r!.ok ? 0 : 2;
      return;
    }
    if (opts.scenario === 'multilogin' || opts.scenario === 'offline-im') { // issue #8 (host-sim/scenarios/multilogin.ts, offline-im.ts)
      const o = { seed: opts.seed, outDir: opts.out, verbose: opts.verbose };
      let text = '', ok = false;
      try {
        if (opts.scenario === 'multilogin') { const r = writeMultilogin(o); text = multiloginSummary(r); ok = r.ok; }
        else { const r = writeOfflineIm(o); text = offlineImSummary(r); ok = r.ok; }
      } catch (e) { fail((e as Error).message); }
      process.stdout.write(text + `\n  report  ${path.join(opts.out, `${opts.scenario}-report.json`)}\n`);
      process.exitCode = ok ? 0 : 2;
      return;
    }
    let input: Int16Array, inputName: string;
    try {
      if (opts.input) {
        const a = readWavFile(opts.input, 8000);
        if (a.resampled) process.stderr.write(`note: ${opts.input} is ${a.sourceRateHz} Hz, resampled to 8000 Hz\n`);
        input = a.pcm; inputName = opts.input;
      } else {
        input = decodeWav(new Uint8Array(lenaWav as ArrayBuffer), 8000).pcm; inputName = 'audio-lena (lena.wav, 44.1 kHz → 8 kHz)';
      }
    } catch (e) { fail((e as Error).message); }
    if (input!.length < 8000) fail('input is shorter than 1 s of audio');
    let report;
    try {
      report = runScenario({ scenario: opts.scenario as ScenarioName, seed: opts.seed, input: input!, inputName: inputName!, codec: opts.codec, outDir: opts.out, verbose: opts.verbose, pcap: opts.pcap });
    } catch (e) { fail((e as Error).message); }
    const file = path.join(opts.out, 'call-report.json');
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(summary(report!) + `\n  report  ${file}\n` + (opts.pcap ? `  pcap    ${opts.pcap}\n` : ''));
    process.exitCode = report!.ok || opts.scenario === 'wrong-password' ? 0 : 2;
  });

function fail(msg: string): never {
  process.stderr.write(`sim: ${msg}\n`);
  process.exit(1);
}

program.parseAsync(process.argv).catch((e) => fail((e as Error).message));
