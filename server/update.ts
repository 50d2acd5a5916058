/**
 * Firmware update service core (transport-agnostic; server/update-http.ts serves it with node:http,
 * server/update-sim.ts on a simulated host). Endpoints, after Skype's update server (skype-facts.md):
 *
 *   GET /ui/0/<version>/installed           a phone reports the first boot of <version>; 200 "ok"
 *   GET /ui/0/<version>/getlatestversion    the signed manifest of the newest release (firmware/device/update.ts)
 *   GET /images/<version>.bin               a signed image (docs/image-format.md)
 *
 * The manifest is text, `key=value` lines, signed with the vendor's Ed25519 key (the key the phones' boot ROM
 * trusts) over every byte before `signature=`:
 *   manifest=1 / version=N / size=BYTES / sha256=HEX / build=ID / url=/images/N.bin / signature=128 hex
 * Images are checked when published (format and signature against the same key) so the service never offers
 * an image the phones would refuse.
 */
import * as crypto from 'node:crypto';
import { hex, rawPublicKey, sha256, verifyImage, type ImageHeader } from '../host-sim/bootrom-image.js';

export interface HttpAnswer { status: number; headers: Record<string, string>; body: Uint8Array }

export interface Release { header: ImageHeader; image: Uint8Array }

export class UpdateService {
  private readonly releases = new Map<number, Release>();
  readonly stats = { installed: new Map<number, number>(), checks: 0, downloads: 0, notFound: 0 };
  readonly publicKey: Uint8Array;

  constructor(private readonly signingKey: crypto.KeyObject) { this.publicKey = rawPublicKey(signingKey); }

  /** Adds a release. Throws Error with one line if the image does not verify against the vendor key. */
  publish(image: Uint8Array): Release {
    const v = verifyImage(image, this.publicKey);
    if (!v.ok) throw new Error(`cannot publish: ${v.reason}`);
    const r = { header: v.header, image: new Uint8Array(image) };
    this.releases.set(v.header.version, r);
    return r;
  }

  latest(): Release | undefined {
    let best: Release | undefined;
    for (const r of this.releases.values()) if (!best || r.header.version > best.header.version) best = r;
    return best;
  }

  /** The signed manifest text of a release. */
  manifest(r: Release): string {
    const body = `manifest=1\nversion=${r.header.version}\nsize=${r.image.length}\nsha256=${hex(sha256(r.image))}\nbuild=${r.header.buildId}\nurl=/images/${r.header.version}.bin\n`;
    const sig = crypto.sign(null, Buffer.from(body), this.signingKey);
    return `${body}signature=${sig.toString('hex')}\n`;
  }

  /** Answers one request. Never throws on a bad request. */
  handle(method: string, url: string): HttpAnswer {
    const text = (status: number, s: string): HttpAnswer => ({ status, headers: { 'content-type': 'text/plain' }, body: new TextEncoder().encode(s) });
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'method not allowed\n');
    const path = url.split('?')[0];
    let m = /^\/ui\/0\/(\d{1,10})\/installed$/.exec(path);
    if (m) {
      const v = Number(m[1]);
      this.stats.installed.set(v, (this.stats.installed.get(v) ?? 0) + 1);
      return text(200, 'ok\n');
    }
    m = /^\/ui\/0\/(\d{1,10})\/getlatestversion$/.exec(path);
    if (m) {
      this.stats.checks++;
      const r = this.latest();
      if (!r) { this.stats.notFound++; return text(404, 'no release published\n'); }
      return text(200, this.manifest(r));
    }
    m = /^\/images\/(\d{1,10})\.bin$/.exec(path);
    if (m) {
      const r = this.releases.get(Number(m[1]));
      if (!r) { this.stats.notFound++; return text(404, 'no such image\n'); }
      this.stats.downloads++;
      return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: r.image };
    }
    this.stats.notFound++;
    return text(404, 'not found\n');
  }
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' };

/** Serializes an answer as an HTTP/1.1 response with Content-Length and Connection: close. */
export function encodeHttpResponse(a: HttpAnswer, head = false): Uint8Array {
  let h = `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'Status'}\r\n`;
  for (const [k, v] of Object.entries(a.headers)) h += `${k}: ${v}\r\n`;
  h += `content-length: ${a.body.length}\r\nconnection: close\r\n\r\n`;
  const hb = Buffer.from(h, 'latin1');
  return head ? new Uint8Array(hb) : new Uint8Array(Buffer.concat([hb, a.body]));
}
