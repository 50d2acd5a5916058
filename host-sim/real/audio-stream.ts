/**
 * Audio for a live phone: the microphone from a WAV file or raw PCM on stdin, the speaker to a WAV file or
 * raw PCM on stdout. Raw PCM is signed 16-bit little-endian, mono, 8000 Hz (the G.711 codec rate the firmware
 * starts the codec chip at). The codec chip itself (10 ms blocks, `onAudio`) is FirmwareNode's, on the
 * real-time scheduler; this module only feeds and drains it.
 */
import type { Readable, Writable } from 'node:stream';
import { MicSource } from '../devices.js';

export const LIVE_RATE_HZ = 8000;

/**
 * A microphone fed either with a whole recording (`set`, played from `start()` on, as in the simulator) or
 * with a live stream (`attach`): blocks are taken from a queue, silence when it runs dry. The stream is paused
 * while more than `maxQueuedSamples` wait, so stdin is read at the pace of the call.
 */
export class StreamMic extends MicSource {
  private chunks: Int16Array[] = [];
  private head = 0;
  private queued = 0;
  private stream: Readable | null = null;
  private carry: Buffer | null = null;
  /** Record what the microphone captured (for a `--mic-record` WAV); off saves memory on long runs. */
  capture = false;
  /** Set once the recording (not a stream) has been fully played. */
  ended = false;
  private recording: Int16Array | null = null;
  private recPos = 0;

  constructor(private readonly maxQueuedSamples = LIVE_RATE_HZ / 2) { super(); }

  override set(pcm: Int16Array): void { this.recording = pcm; this.recPos = 0; this.ended = pcm.length === 0; }

  /** Samples of the recording still to play (Infinity for a stream). */
  override get remaining(): number { return this.recording ? this.recording.length - this.recPos : Infinity; }

  /** Feeds the microphone from raw s16le mono PCM; it starts playing at once (a live source). */
  attach(stream: Readable): void {
    this.stream = stream;
    this.playing = true;
    stream.on('data', (b: Buffer) => {
      const buf = this.carry ? Buffer.concat([this.carry, b]) : b;
      const n = buf.length >> 1;
      this.carry = buf.length & 1 ? buf.subarray(buf.length - 1) : null;
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) pcm[i] = buf.readInt16LE(2 * i);
      this.chunks.push(pcm);
      this.queued += n;
      if (this.queued > this.maxQueuedSamples) stream.pause();
    });
    stream.on('end', () => { this.ended = true; });
  }

  override read(out: Int16Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.playing ? this.next() : 0;
    if (this.playing && this.capture) for (let i = 0; i < out.length; i++) this.captured.push(out[i]);
    if (this.stream && this.queued <= this.maxQueuedSamples && this.stream.isPaused()) this.stream.resume();
  }

  private next(): number {
    if (this.recording) {
      if (this.recPos < this.recording.length) return this.recording[this.recPos++];
      this.ended = true;
      return 0;
    }
    while (this.chunks.length > 0) {
      const c = this.chunks[0];
      if (this.head < c.length) { this.queued--; return c[this.head++]; }
      this.chunks.shift(); this.head = 0;
    }
    return 0;
  }
}

/** Where the speaker's samples go: collected for a WAV file, or streamed as raw s16le. */
export class SpeakerSink {
  private readonly parts: Int16Array[] = [];
  samples = 0;
  constructor(private readonly stream: Writable | null) {}

  /** Takes (and removes) every sample the firmware played so far. */
  drain(speaker: number[]): void {
    if (speaker.length === 0) return;
    const pcm = Int16Array.from(speaker.splice(0, speaker.length));
    this.samples += pcm.length;
    if (this.stream) {
      const b = Buffer.alloc(pcm.length * 2);
      for (let i = 0; i < pcm.length; i++) b.writeInt16LE(pcm[i], 2 * i);
      this.stream.write(b);
    } else this.parts.push(pcm);
  }

  /** Everything collected (WAV mode). */
  pcm(): Int16Array {
    const out = new Int16Array(this.samples);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}
