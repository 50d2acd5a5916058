// Third-party interop: RFC 3952 storage files written by our CLI
// (`npm run ilbc -- encode`) are read by ffmpeg's own iLBC demuxer and
// decoder (libavcodec, no enhancer), and ffmpeg's output matches our decoder
// with the enhancer off (`decode --no-enhancer`) at >= 30 dB SNR, skipping
// ffmpeg's first two frames. Against our default (enhanced) output ffmpeg is
// 40 / 80 samples early (the enhancer's look-ahead, RFC 3951 §4.6).
//
//   node --import tsx --test tests/host/ilbc-ffmpeg.test.ts
//
// Needs ffmpeg on PATH (Debian: apt-get install ffmpeg; .ci/run installs it).
// Without it the tests are skipped, unless CI is set (then they fail).
// Input: ../shared/vectors/speech/alsa8k.wav, or synthetic speech without
// the vectors.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  bestDelay, countDiff, haveVectors, ilbc, readI16, readWav, snrDb, synthSpeech, tempDir, vectors, writeWav,
} from '../ilbc/cli.js';

const ffmpegFound = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).status === 0;
const skip = ffmpegFound || process.env.CI ? false : 'ffmpeg not found on PATH (apt-get install ffmpeg); set CI=1 to make this a failure';
const SNR_MIN_DB = 30;

const dir = tempDir('ffmpeg');
after(() => rmSync(dir, { recursive: true, force: true }));
let input = join(vectors, 'speech/alsa8k.wav');
if (!haveVectors) {
  input = join(dir, 'synth.wav');
  writeWav(input, [synthSpeech(8000 * 8, 5)], 8000);
}

for (const mode of [20, 30]) {
  test(`ffmpeg decodes our ${mode} ms .lbc like our decoder without enhancer (>= ${SNR_MIN_DB} dB)`, { skip }, (t) => {
    assert.ok(ffmpegFound, 'ffmpeg is required when CI is set (apt-get install ffmpeg)');
    const ns = mode === 20 ? 160 : 240;
    const lbc = join(dir, `in.${mode}.lbc`);
    const enc = ilbc('encode', '--mode', String(mode), input, lbc);
    assert.equal(enc.status, 0, enc.stderr);
    const frames = (readFileSync(lbc).length - 9) / (mode === 20 ? 38 : 50);

    const raw = join(dir, `ffmpeg.${mode}.raw`);
    const ff = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', lbc, '-f', 's16le', raw], { encoding: 'utf8' });
    assert.equal(ff.status, 0, `ffmpeg rejected our file: ${ff.stderr}`);
    const theirs = readI16(raw);
    assert.equal(theirs.length, frames * ns, 'ffmpeg decoded every frame');

    const plainWav = join(dir, `ours.${mode}.noenh.wav`);
    assert.equal(ilbc('decode', '--no-enhancer', lbc, plainWav).status, 0);
    const plain = readWav(plainWav).pcm;
    const enhWav = join(dir, `ours.${mode}.wav`);
    assert.equal(ilbc('decode', lbc, enhWav).status, 0);
    const enhanced = readWav(enhWav).pcm;

    const skipSamples = 2 * ns;
    const snr = snrDb(theirs, plain, 0, skipSamples);
    const aligned = bestDelay(theirs, plain, 100, skipSamples);
    const vsEnh = bestDelay(theirs, enhanced, 120, skipSamples);
    const differing = countDiff(theirs.subarray(skipSamples), plain.subarray(skipSamples));
    t.diagnostic(
      `${mode} ms, ${frames} frames: ffmpeg vs ours (no enhancer) ${Number.isFinite(snr) ? snr.toFixed(2) : 'inf'} dB at offset 0, ` +
        `${differing} of ${theirs.length - skipSamples} samples differ; vs ours (enhancer on) best offset ${vsEnh.delay} (${vsEnh.snr.toFixed(2)} dB)`,
    );
    assert.ok(snr >= SNR_MIN_DB, `SNR ${snr.toFixed(2)} dB < ${SNR_MIN_DB} dB`);
    assert.equal(aligned.delay, 0, 'ffmpeg and our enhancer-off decoder are aligned');
    assert.equal(vsEnh.delay, mode === 20 ? 40 : 80, 'the enhancer delays our output by 40 / 80 samples');
  });
}
