/**
 * The simulated phone's boot ROM: two firmware slots (A/B) on NOR flash, a power-safe boot state record, image
 * verification before every boot (docs/image-format.md), anti-rollback, trial boots with fallback, and the
 * slot writer behind both the serial bootloader (host-sim/bootrom-device.ts) and the firmware's over-the-air
 * update (hal `system.update*`).
 *
 * Power-loss safety, by construction:
 * - The running (confirmed) slot is never written; images only go to the other slot, which is invalid while
 *   being written (its header sector is erased first) and becomes bootable only once it verifies whole.
 * - The boot state lives in two sectors, each a record with a sequence number and a CRC-32; a write goes to the
 *   older copy, so a power cut mid-write leaves the previous record intact and readable.
 * - A new image boots on trial: the attempt is counted in flash before it starts, and after a watchdog
 *   timeout, or `MAX_TRIAL_BOOTS` boots without `confirmBoot`, the ROM falls back to the previous slot.
 */
import { IMAGE_HEADER_BYTES, imageBytes, keyIdOf, hex, parseHeader, sha256, verifyImage, type ImageHeader } from './bootrom-image.js';

export const SECTOR_BYTES = 4096;
export const SLOT_BYTES = 1 << 20;
export const STATE_OFFSETS = [0, SECTOR_BYTES] as const;
export const SLOT_OFFSETS = [2 * SECTOR_BYTES, 2 * SECTOR_BYTES + SLOT_BYTES] as const;
export const FLASH_BYTES = 2 * SECTOR_BYTES + 2 * SLOT_BYTES;
/** Unconfirmed boots of a new image before the ROM gives up on it (power cuts during a trial count too). */
export const MAX_TRIAL_BOOTS = 3;
/** The serial bootloader's resume journal is advanced every this many bytes (a multiple of the sector). */
export const JOURNAL_STEP_BYTES = 2 * SECTOR_BYTES;
export const NO_SLOT = 0xff;
export const slotName = (s: number) => (s === 0 ? 'A' : s === 1 ? 'B' : '-');

/**
 * NOR flash: erase sets a 4 KiB sector to 0xFF, program can only clear bits (new = old AND data), as on real
 * parts. Power cuts are injected by operation count: operation number `cutAtOp` is carried out only partly
 * (a prefix of `cutFraction` of its bytes) and every later operation is lost; `onPowerCut` fires at once.
 */
export class NorFlash {
  readonly bytes: Uint8Array;
  /** Erase and program operations so far. */
  ops = 0;
  cutAtOp = -1;
  cutFraction = 0.5;
  powered = true;
  onPowerCut?: () => void;

  constructor(size = FLASH_BYTES) { this.bytes = new Uint8Array(size).fill(0xff); }

  read(offset: number, len: number): Uint8Array { return this.bytes.subarray(offset, offset + len); }

  /** Erases the sector containing `offset`. */
  erase(offset: number): void {
    const start = offset - (offset % SECTOR_BYTES);
    const n = this.op(SECTOR_BYTES);
    this.bytes.fill(0xff, start, start + n);
  }

  program(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.bytes.length) throw new RangeError(`program out of range: ${offset}+${data.length}`);
    const n = this.op(data.length);
    for (let i = 0; i < n; i++) this.bytes[offset + i] &= data[i];
  }

  /** How many bytes of an operation of `len` bytes happen (all, part at the cut, none after it). */
  private op(len: number): number {
    if (!this.powered) return 0;
    const k = this.ops++;
    if (k !== this.cutAtOp) return len;
    this.powered = false;
    const n = Math.floor(len * this.cutFraction);
    queueMicrotaskSafe(() => this.onPowerCut?.());
    return n;
  }

  /** Power back on (the contents stay as the cut left them). */
  powerOn(): void { this.powered = true; this.cutAtOp = -1; }
}

// The power-cut callback runs synchronously: the device must stop before anything else happens.
function queueMicrotaskSafe(fn: () => void): void { fn(); }

/** CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320). check("123456789") = 0xCBF43926. */
export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The boot state record (76 bytes in flash, little-endian; layout in docs/image-format.md §Boot state). */
export interface BootState {
  seq: number;
  minVersion: number;
  confirmedSlot: number;
  trialSlot: number;
  trialBoots: number;
  /** Per slot: incremented on every write, so the newer of two equal versions wins. */
  slotGen: [number, number];
  /** Per slot: the image there failed its trial; not booted until the slot is written again. */
  slotBad: [boolean, boolean];
  /** Serial bootloader resume journal: bytes of the image with this SHA-256 and size safely in `slot`. */
  journal: { slot: number; size: number; committed: number; sha256: Uint8Array };
}

const STATE_MAGIC = 0x54535242; // "BRST"
const STATE_BYTES = 76;

export function emptyState(): BootState {
  return { seq: 0, minVersion: 0, confirmedSlot: NO_SLOT, trialSlot: NO_SLOT, trialBoots: 0, slotGen: [0, 0], slotBad: [false, false], journal: { slot: NO_SLOT, size: 0, committed: 0, sha256: new Uint8Array(32) } };
}

export function encodeState(s: BootState): Uint8Array {
  const b = Buffer.alloc(STATE_BYTES);
  b.writeUInt32LE(STATE_MAGIC, 0); b.writeUInt32LE(s.seq >>> 0, 4); b.writeUInt32LE(s.minVersion >>> 0, 8);
  b[12] = s.confirmedSlot; b[13] = s.trialSlot; b[14] = Math.min(255, s.trialBoots); b[15] = 0;
  b.writeUInt32LE(s.slotGen[0] >>> 0, 16); b.writeUInt32LE(s.slotGen[1] >>> 0, 20);
  b[24] = s.slotBad[0] ? 1 : 0; b[25] = s.slotBad[1] ? 1 : 0;
  b[28] = s.journal.slot; b.writeUInt32LE(s.journal.size >>> 0, 32); b.writeUInt32LE(s.journal.committed >>> 0, 36);
  Buffer.from(s.journal.sha256).copy(b, 40);
  b.writeUInt32LE(crc32(b, 0, 72), 72);
  return new Uint8Array(b);
}

export function decodeState(raw: Uint8Array): BootState | null {
  if (raw.length < STATE_BYTES) return null;
  const b = Buffer.from(raw.buffer, raw.byteOffset, STATE_BYTES);
  if (b.readUInt32LE(0) !== STATE_MAGIC || b.readUInt32LE(72) !== crc32(raw, 0, 72)) return null;
  const slot = (v: number) => (v === 0 || v === 1 ? v : NO_SLOT);
  return {
    seq: b.readUInt32LE(4), minVersion: b.readUInt32LE(8), confirmedSlot: slot(b[12]), trialSlot: slot(b[13]), trialBoots: b[14],
    slotGen: [b.readUInt32LE(16), b.readUInt32LE(20)], slotBad: [b[24] === 1, b[25] === 1],
    journal: { slot: slot(b[28]), size: b.readUInt32LE(32), committed: b.readUInt32LE(36), sha256: new Uint8Array(b.subarray(40, 72)) },
  };
}

/** Reads the newest valid copy of the boot state (or an empty state on a blank or doubly corrupted flash). */
export function readState(flash: NorFlash): BootState {
  let best: BootState | null = null;
  for (const off of STATE_OFFSETS) {
    const s = decodeState(flash.read(off, STATE_BYTES));
    if (s && (!best || ((s.seq - best.seq) | 0) > 0)) best = s;
  }
  return best ?? emptyState();
}

/** Writes the state into the sector holding the older (or invalid) copy: erase, then program. */
export function writeState(flash: NorFlash, s: BootState): void {
  const copies = STATE_OFFSETS.map((off) => decodeState(flash.read(off, STATE_BYTES)));
  const newest = copies.reduce((m, c) => (c && (m === null || ((c.seq - m) | 0) > 0) ? c.seq : m), null as number | null);
  s.seq = ((newest ?? 0) + 1) >>> 0;
  const target = !copies[0] ? 0 : !copies[1] ? 1 : ((copies[0].seq - copies[1].seq) | 0) < 0 ? 0 : 1;
  flash.erase(STATE_OFFSETS[target]);
  flash.program(STATE_OFFSETS[target], encodeState(s));
}

export interface SlotStatus {
  slot: number;
  valid: boolean;
  header?: ImageHeader;
  bytes?: number;
  /** Why it is not bootable (empty, bad signature, …). */
  reason?: string;
}

/** What the ROM booted. */
export interface RunningImage {
  slot: number;
  header: ImageHeader;
  /** The image bytes (header ‖ wasm ‖ signature) as read from the slot. */
  image: Uint8Array;
  trial: boolean;
  trialBoots: number;
}

export type BootDecision = { ok: true; running: RunningImage; fallback?: string } | { ok: false; reason: string; fallback?: string };

/** Image being written to a slot (serial bootloader or OTA). */
interface SlotWrite {
  slot: number;
  size: number;
  written: number;
  erasedTo: number;
  /** SHA-256 of the whole image when known in advance (serial; enables the resume journal). */
  sha256: Uint8Array | null;
}

/**
 * The boot ROM's logic over one NorFlash. Stateless across power cycles except for what is in flash: a power-on
 * creates a new BootRom over the same NorFlash. `log` receives one-line messages (the ROM prints them on the
 * UART).
 */
export class BootRom {
  state: BootState;
  running: RunningImage | null = null;
  private write: SlotWrite | null = null;

  constructor(readonly flash: NorFlash, readonly trustedKey: Uint8Array, private readonly log: (line: string) => void = () => {}) {
    this.state = readState(flash);
  }

  /** Factory programming: `image` into slot A, confirmed, anti-rollback floor at its version. Throws if it does not verify. */
  static factoryInstall(flash: NorFlash, trustedKey: Uint8Array, image: Uint8Array): void {
    const v = verifyImage(image, trustedKey);
    if (!v.ok) throw new Error(`factory image refused: ${v.reason}`);
    if (image.length > SLOT_BYTES) throw new Error(`factory image is larger than a slot (${SLOT_BYTES} bytes)`);
    for (let off = 0; off < image.length; off += SECTOR_BYTES) flash.erase(SLOT_OFFSETS[0] + off);
    flash.program(SLOT_OFFSETS[0], image);
    const s = emptyState();
    s.confirmedSlot = 0; s.minVersion = v.header.version; s.slotGen = [1, 0];
    writeState(flash, s);
  }

  persist(): void { writeState(this.flash, this.state); }

  /** Verifies a slot: image present and valid, at or above the floor, not marked bad. */
  slotStatus(slot: number): SlotStatus {
    const raw = this.flash.read(SLOT_OFFSETS[slot], SLOT_BYTES);
    if (raw[0] === 0xff && raw[1] === 0xff && raw[2] === 0xff && raw[3] === 0xff) return { slot, valid: false, reason: 'empty' };
    const v = verifyImage(raw, this.trustedKey, this.state.minVersion);
    if (!v.ok) {
      const p = parseHeader(raw);
      return { slot, valid: false, header: p.ok ? p.header : undefined, reason: v.reason };
    }
    if (this.state.slotBad[slot]) return { slot, valid: false, header: v.header, bytes: v.bytes, reason: `v${v.header.version} failed its trial boot` };
    return { slot, valid: true, header: v.header, bytes: v.bytes };
  }

  /** Slot images go to: the one not holding the confirmed image (A on a blank phone). */
  inactiveSlot(): number {
    const c = this.running && !this.running.trial ? this.running.slot : this.state.confirmedSlot;
    return c === 1 ? 0 : 1;
  }

  /**
   * The boot decision: ends a failed trial (fallback), then boots the newest valid image — on trial if it is
   * not the confirmed one (the attempt is counted in flash first). Persists the state it changes.
   */
  selectBoot(): BootDecision {
    const s = this.state;
    let fallback: string | undefined;
    let changed = false;
    if (s.trialSlot !== NO_SLOT) {
      const st = this.slotStatus(s.trialSlot);
      if (!st.valid || s.trialBoots >= MAX_TRIAL_BOOTS) {
        const v = st.header ? `v${st.header.version}` : 'image';
        fallback = st.valid || st.header ? `${v} in slot ${slotName(s.trialSlot)} did not confirm a healthy boot after ${s.trialBoots} boot(s); falling back` : `slot ${slotName(s.trialSlot)} is no longer valid (${st.reason}); falling back`;
        this.log(`bootrom: ${fallback}`);
        s.slotBad[s.trialSlot] = true; s.trialSlot = NO_SLOT; s.trialBoots = 0;
        changed = true;
      }
    }
    const st = [this.slotStatus(0), this.slotStatus(1)];
    const valid = st.filter((x) => x.valid);
    if (valid.length === 0) {
      if (changed) this.persist();
      return { ok: false, reason: `no bootable image (A: ${st[0].reason}; B: ${st[1].reason})`, fallback };
    }
    valid.sort((a, b) => b.header!.version - a.header!.version || ((s.slotGen[b.slot] - s.slotGen[a.slot]) | 0));
    const best = valid[0];
    const trial = best.slot !== s.confirmedSlot;
    if (trial) {
      if (s.trialSlot !== best.slot) { s.trialSlot = best.slot; s.trialBoots = 0; }
      s.trialBoots++;
      changed = true;
    } else if (s.trialSlot !== NO_SLOT) { s.trialSlot = NO_SLOT; s.trialBoots = 0; changed = true; }
    if (changed) this.persist();
    const image = new Uint8Array(this.flash.read(SLOT_OFFSETS[best.slot], best.bytes!));
    this.running = { slot: best.slot, header: best.header!, image, trial, trialBoots: trial ? s.trialBoots : 0 };
    return { ok: true, running: this.running, fallback };
  }

  /** `system.confirmBoot`: the running image is good. Returns HAL_OK (0). */
  confirm(): number {
    const r = this.running;
    if (!r || !r.trial) return 0;
    const s = this.state;
    s.confirmedSlot = r.slot; s.trialSlot = NO_SLOT; s.trialBoots = 0;
    s.minVersion = Math.max(s.minVersion, r.header.version);
    r.trial = false;
    this.persist();
    this.log(`bootrom: v${r.header.version} in slot ${slotName(r.slot)} confirmed healthy; anti-rollback floor now ${s.minVersion}`);
    return 0;
  }

  /** The trial image ran out of time without confirming: it will not be booted again. */
  trialTimedOut(): void {
    if (!this.running?.trial) return;
    this.state.trialBoots = MAX_TRIAL_BOOTS;
    this.persist();
  }

  /** The 64-byte `system.bootInfo` record (hal/ABI.md §Boot info). */
  bootInfo(): Uint8Array {
    const b = Buffer.alloc(64);
    const r = this.running;
    if (r) {
      b.writeUInt32LE(r.header.version, 0); b[4] = r.slot; b[5] = r.trial ? 1 : 0; b[7] = r.trialBoots;
      const other = this.slotStatus(1 - r.slot);
      b[6] = other.valid ? 1 : 0;
      b.writeUInt32LE(other.valid ? other.header!.version : 0, 8);
      b.write(r.header.buildId, 16, 'latin1');
    }
    b.writeUInt32LE(this.state.minVersion, 12);
    Buffer.from(this.trustedKey).copy(b, 32);
    return new Uint8Array(b);
  }

  // ----- writing a slot -------------------------------------------------------------------------

  /**
   * Starts writing an image of `size` bytes into the inactive slot. With `sha256` (serial bootloader), a
   * journal entry for the same image lets a later session resume at `resumeOffset()`. Returns the offset the
   * writer continues at (0, or the journal's committed bytes when `resume`), or an error line.
   */
  beginWrite(size: number, sha: Uint8Array | null, resume: boolean): { ok: true; offset: number; slot: number } | { ok: false; reason: string } {
    if (!Number.isSafeInteger(size) || size < IMAGE_HEADER_BYTES) return { ok: false, reason: `image size ${size} is smaller than an image header` };
    if (size > SLOT_BYTES) return { ok: false, reason: `image is ${size} bytes, larger than a ${SLOT_BYTES}-byte slot` };
    const slot = this.inactiveSlot();
    const j = this.state.journal;
    const offset = resume && sha && j.slot === slot && j.size === size && Buffer.from(j.sha256).equals(Buffer.from(sha)) ? j.committed : 0;
    if (offset === 0) {
      // Invalidate the old contents first: a cut from here on leaves the slot unbootable, never half-trusted.
      this.flash.erase(SLOT_OFFSETS[slot]);
      const s = this.state;
      s.slotGen[slot] = (s.slotGen[slot] + 1) >>> 0;
      s.slotBad[slot] = false;
      if (s.trialSlot === slot) { s.trialSlot = NO_SLOT; s.trialBoots = 0; }
      s.journal = { slot: sha ? slot : NO_SLOT, size: sha ? size : 0, committed: 0, sha256: sha ? new Uint8Array(sha) : new Uint8Array(32) };
      this.persist();
      this.write = { slot, size, written: 0, erasedTo: SECTOR_BYTES, sha256: sha };
    } else {
      this.write = { slot, size, written: offset, erasedTo: offset, sha256: sha };
    }
    return { ok: true, offset, slot };
  }

  /** Programs the next bytes of the image (sequential). Returns null or an error line. */
  writeChunk(offset: number, data: Uint8Array): string | null {
    const w = this.write;
    if (!w) return 'no image write in progress';
    if (offset !== w.written) return `write at ${offset}, expected ${w.written} (writes must be sequential)`;
    if (offset + data.length > w.size) return `write past the announced image size ${w.size}`;
    if (offset === 0 && data.length >= 4 && Buffer.from(data.subarray(0, 4)).toString('latin1') !== 'P2PF') return 'not a firmware image (bad magic; expected "P2PF")';
    const base = SLOT_OFFSETS[w.slot];
    const end = offset + data.length;
    while (w.erasedTo < end) { this.flash.erase(base + w.erasedTo); w.erasedTo += SECTOR_BYTES; }
    this.flash.program(base + offset, data);
    w.written = end;
    if (w.sha256 && Math.floor(end / JOURNAL_STEP_BYTES) > Math.floor(this.state.journal.committed / JOURNAL_STEP_BYTES)) {
      this.state.journal.committed = Math.floor(end / JOURNAL_STEP_BYTES) * JOURNAL_STEP_BYTES;
      this.persist();
    }
    return null;
  }

  /** Early check on the header of the image being written (serial: refuse before sending the rest). */
  checkHeader(headerBytes: Uint8Array, size: number): string | null {
    const p = parseHeader(headerBytes);
    if (!p.ok) return p.reason;
    const h = p.header;
    if (imageBytes(h) !== size) return `header says the image is ${imageBytes(h)} bytes, ${size} were announced`;
    if (!Buffer.from(h.keyId).equals(Buffer.from(keyIdOf(this.trustedKey)))) return `signed with key ${hex(h.keyId)}, this phone trusts key ${hex(keyIdOf(this.trustedKey))}`;
    if (h.version < this.state.minVersion) return `version ${h.version} is older than this phone's anti-rollback floor ${this.state.minVersion}`;
    return null;
  }

  /**
   * Verifies the written image. `mustBeNewerThan` (OTA) refuses versions not above the running one. On success
   * the slot is the newest valid image and boots (on trial) at the next reset.
   */
  finishWrite(mustBeNewerThan = 0): { ok: true; header: ImageHeader; slot: number } | { ok: false; code: string; reason: string } {
    const w = this.write;
    if (!w) return { ok: false, code: 'format', reason: 'no image write in progress' };
    if (w.written !== w.size) return { ok: false, code: 'format', reason: `image incomplete: ${w.written} of ${w.size} bytes written` };
    const bytes = this.flash.read(SLOT_OFFSETS[w.slot], w.size);
    const v = verifyImage(bytes, this.trustedKey, this.state.minVersion);
    this.write = null;
    if (!v.ok) return v;
    if (v.bytes !== w.size) return { ok: false, code: 'format', reason: `image is ${v.bytes} bytes but ${w.size} were written` };
    if (w.sha256 && !Buffer.from(sha256(bytes)).equals(Buffer.from(w.sha256))) return { ok: false, code: 'hash', reason: 'image SHA-256 differs from the one announced' };
    if (v.header.version <= mustBeNewerThan) return { ok: false, code: 'rollback', reason: `version ${v.header.version} is not newer than the running ${mustBeNewerThan}` };
    if (this.state.journal.slot !== NO_SLOT) { this.state.journal = { slot: NO_SLOT, size: 0, committed: 0, sha256: new Uint8Array(32) }; this.persist(); }
    return { ok: true, header: v.header, slot: w.slot };
  }

  // ----- hal system.update* (the firmware's OTA writer) --------------------------------------------

  updateBegin(size: number): number {
    if (!Number.isInteger(size) || size < IMAGE_HEADER_BYTES) return -3; // EINVAL
    if (size > SLOT_BYTES) return -9; // ENOSPC
    const r = this.beginWrite(size, null, false);
    return r.ok ? 0 : -3;
  }

  updateWrite(offset: number, data: Uint8Array): number {
    return this.writeChunk(offset, data) === null ? data.length : -3;
  }

  updateFinish(): number {
    const r = this.finishWrite(this.running?.header.version ?? 0);
    if (r.ok) { this.log(`bootrom: update v${r.header.version} verified in slot ${slotName(r.slot)}; boots at the next reset`); return 0; }
    this.log(`bootrom: update refused: ${r.reason}`);
    return r.code === 'rollback' ? -1 : r.code === 'format' || r.code === 'size' ? -3 : -8;
  }
}
