/**
 * Flash persisted to a JSON file for a live node: the same key/value records as the simulator's in-memory
 * `Flash` (host-sim/devices.ts; ≤ 4096 B each, atomic replace), written through to disk on every change with
 * write-to-temp + rename, so a crash or power cut leaves either the old or the new file, never half of one.
 * File shape: `{ "format": "p2pphone-flash-v1", "records": { "<key>": "<base64>" } }`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Flash } from '../devices.js';

const FORMAT = 'p2pphone-flash-v1';

export class FileFlash extends Flash {
  private loading = false;

  /** Loads `file` if it exists. Throws Error with a one-line message if it exists but is not a flash file. */
  constructor(readonly file: string) {
    super();
    if (!fs.existsSync(file)) return;
    let j: { format?: unknown; records?: Record<string, unknown> };
    try { j = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new Error(`flash file ${file} is not valid JSON (${(e as Error).message})`); }
    if (j.format !== FORMAT || typeof j.records !== 'object' || j.records === null) throw new Error(`flash file ${file} is not a ${FORMAT} file`);
    this.loading = true;
    for (const [k, v] of Object.entries(j.records)) {
      if (!/^\d+$/.test(k) || typeof v !== 'string') throw new Error(`flash file ${file}: bad record ${k}`);
      super.write(Number(k), new Uint8Array(Buffer.from(v, 'base64')));
    }
    this.loading = false;
    this.writes = 0;
  }

  override write(key: number, data: Uint8Array): boolean {
    if (!super.write(key, data)) return false;
    if (!this.loading) this.flush();
    return true;
  }

  override erase(key: number): boolean {
    const had = super.erase(key);
    if (had) this.flush();
    return had;
  }

  /** Writes every record to the file atomically. */
  flush(): void {
    const records: Record<string, string> = {};
    for (const [k, v] of [...this.records.entries()].sort((a, b) => a[0] - b[0])) records[k] = Buffer.from(v).toString('base64');
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ format: FORMAT, records }, null, 1) + '\n');
    fs.renameSync(tmp, this.file);
  }
}
