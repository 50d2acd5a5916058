import { ipParse } from "./addr";

/**
 * Provisioning config: what a phone knows before its first login. Stored in flash under
 * KEY_PROVISIONING as UTF-8 text, one `key=value` per line ('#' starts a comment):
 *
 *   user=alice              account name (empty: a headless node, e.g. a dedicated supernode)
 *   password=secret         account password (sent only sealed to the login server)
 *   register=1              register the account on first login (0/1)
 *   port=33033              UDP and TCP port (0 or absent: chosen at random once)
 *   supernode=auto|never    may this node take the supernode role when publicly reachable
 *   bootstrap=1.2.3.4:33033,5.6.7.8:33033   up to 7 bootstrap supernodes
 *   server=1.2.3.9:33000    login server endpoint (reached through a supernode)
 *   serverKey=<64 hex>      login server's X25519 public key
 *   certKeys=1:<64 hex>,2:<64 hex>   login server's Ed25519 certificate keys (id:public key), up to 8: every key
 *                           whose certificates this phone accepts (firmware/sec/cert.ts; rotation: docs/security.md)
 *   codecs=ilbc30,ilbc20,pcmu,pcma   offer, in preference order (this is the default)
 *   snMaxClients=1000       supernode role: clients accepted at once (more are sent elsewhere)
 *   snMaxRelays=200         supernode role: calls relayed at once (the relay quota)
 *   snMaxRecords=20000      supernode role: index records held for other supernodes (more are refused: DHT_BUSY)
 *   snMinUptimeS=0          supernode election (overlay/supernode.ts): 0 = take the role at boot when the
 *                           address is public; > 0 = only after this many seconds up, once NAT discovery
 *                           shows the node publicly reachable, and while it has spare capacity
 *
 * Unknown keys and malformed values are counted in `errors` and reported on the console; the
 * phone keeps the defaults for them rather than refusing to boot.
 */
export class Config {
  user: string = "";
  password: string = "";
  register: bool = false;
  port: i32 = 0;
  supernodeAuto: bool = false;
  bootstrapIp: StaticArray<u32> = new StaticArray<u32>(MAX_BOOTSTRAP);
  bootstrapPort: StaticArray<i32> = new StaticArray<i32>(MAX_BOOTSTRAP);
  bootstrapCount: i32 = 0;
  serverIp: u32 = 0;
  serverPort: i32 = 0;
  serverKey: StaticArray<u8> = new StaticArray<u8>(32);
  hasServerKey: bool = false;
  /** Trusted certificate signing keys (issue #7): ids and 32-byte Ed25519 public keys. */
  certKeyIds: StaticArray<u32> = new StaticArray<u32>(8);
  certKeys: StaticArray<u8> = new StaticArray<u8>(8 * 32);
  certKeyCount: i32 = 0;
  /** RTP payload type numbers in preference order (0 PCMU, 8 PCMA, 97 iLBC 30 ms, 98 iLBC 20 ms). */
  codecs: StaticArray<u8> = new StaticArray<u8>(8);
  codecCount: i32 = 0;
  /** Supernode role: most clients accepted at once (more get MSG_BUSY) and most calls relayed at once. */
  snMaxClients: i32 = 1000;
  snMaxRelays: i32 = 200;
  /** Supernode role: most distributed-index records stored for others (overlay/dht.ts); more get DHT_BUSY. */
  snMaxRecords: i32 = 20000;
  /** Supernode election: seconds up before a node may take the role (0: at boot, by address alone). */
  snMinUptimeS: i32 = 0;
  errors: i32 = 0;
  firstError: string = "";

  /** Parses provisioning text; see the class comment for the format. */
  parse(text: string): void {
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      this.line(text.substring(start, end).trim());
      start = end + 1;
    }
    if (this.codecCount == 0) {
      // Default offer, in preference order: iLBC 30 ms (robust to loss, lowest rate), iLBC 20, G.711.
      this.codecs[0] = 97; this.codecs[1] = 98; this.codecs[2] = 0; this.codecs[3] = 8; this.codecCount = 4;
    }
  }

  /** `id:hex,id:hex…` → certKeyIds/certKeys (replaces any earlier list). */
  private parseCertKeys(v: string): void {
    this.certKeyCount = 0;
    const items = v.split(",");
    const key = new StaticArray<u8>(32);
    for (let i = 0; i < items.length; i++) {
      const it = items[i].trim();
      const c = it.indexOf(":");
      const id = c > 0 ? I32.parseInt(it.substring(0, c)) : -1;
      if (c <= 0 || id < 0 || id > 65535 || id.toString() != it.substring(0, c) || !hexDecode(it.substring(c + 1), key) || this.certKeyCount >= 8) {
        this.fail("bad certKeys"); return;
      }
      this.certKeyIds[this.certKeyCount] = <u32>id;
      memory.copy(changetype<usize>(this.certKeys) + <usize>(this.certKeyCount * 32), changetype<usize>(key), 32);
      this.certKeyCount++;
    }
  }

  private fail(what: string): void {
    if (this.errors == 0) this.firstError = what;
    this.errors++;
  }

  private line(l: string): void {
    if (l.length == 0 || l.charCodeAt(0) == 35) return;
    const eq = l.indexOf("=");
    if (eq <= 0) { this.fail("bad line: " + l); return; }
    const k = l.substring(0, eq).trim();
    const v = l.substring(eq + 1).trim();
    if (k == "user") this.user = v;
    else if (k == "password") this.password = v;
    else if (k == "register") this.register = v == "1" || v == "true";
    else if (k == "port") { const p = parsePort(v); if (p < 0) this.fail("bad port"); else this.port = p; }
    else if (k == "supernode") {
      if (v == "auto") this.supernodeAuto = true; else if (v == "never") this.supernodeAuto = false; else this.fail("bad supernode");
    } else if (k == "bootstrap") this.parseBootstrap(v);
    else if (k == "server") {
      const c = v.lastIndexOf(":");
      const ip = c > 0 ? ipParse(v.substring(0, c)) : 0;
      const p = c > 0 ? parsePort(v.substring(c + 1)) : -1;
      if (ip == 0 || p <= 0) this.fail("bad server"); else { this.serverIp = ip; this.serverPort = p; }
    } else if (k == "serverKey") {
      if (!hexDecode(v, this.serverKey)) this.fail("bad serverKey"); else this.hasServerKey = true;
    } else if (k == "certKeys") this.parseCertKeys(v);
    else if (k == "codecs") this.parseCodecs(v);
    else if (k == "snMaxClients" || k == "snMaxRelays" || k == "snMinUptimeS" || k == "snMaxRecords") {
      const n = I32.parseInt(v);
      if (v.length == 0 || v.length > 6 || n < 0 || n.toString() != v) this.fail("bad " + k);
      else if (k == "snMaxClients") this.snMaxClients = n; else if (k == "snMaxRelays") this.snMaxRelays = n;
      else if (k == "snMaxRecords") this.snMaxRecords = n; else this.snMinUptimeS = n;
    }
    else this.fail("unknown key: " + k);
  }

  private parseBootstrap(v: string): void {
    const parts = v.split(",");
    for (let i = 0; i < parts.length && this.bootstrapCount < MAX_BOOTSTRAP; i++) {
      const s = parts[i].trim();
      const c = s.lastIndexOf(":");
      const ip = c > 0 ? ipParse(s.substring(0, c)) : 0;
      const p = c > 0 ? parsePort(s.substring(c + 1)) : -1;
      if (ip == 0 || p <= 0) { this.fail("bad bootstrap entry"); continue; }
      this.bootstrapIp[this.bootstrapCount] = ip;
      this.bootstrapPort[this.bootstrapCount] = p;
      this.bootstrapCount++;
    }
  }

  private parseCodecs(v: string): void {
    const parts = v.split(",");
    this.codecCount = 0;
    for (let i = 0; i < parts.length && this.codecCount < 8; i++) {
      const pt = codecFromName(parts[i].trim());
      if (pt < 0) { this.fail("unknown codec"); continue; }
      this.codecs[this.codecCount++] = <u8>pt;
    }
  }
}

export const MAX_BOOTSTRAP: i32 = 7;

/** RTP payload type for a codec name (RFC 3551 static types; 97/98 = iLBC 30/20, docs/protocol.md), or -1. */
export function codecFromName(n: string): i32 {
  if (n == "pcmu") return 0;
  if (n == "pcma") return 8;
  if (n == "ilbc30") return 97;
  if (n == "ilbc20") return 98;
  return -1;
}

export function codecName(pt: i32): string {
  if (pt == 0) return "pcmu";
  if (pt == 8) return "pcma";
  if (pt == 97) return "ilbc30";
  if (pt == 98) return "ilbc20";
  return "pt" + pt.toString();
}

/** Decimal port 0..65535, or -1. */
export function parsePort(s: string): i32 {
  if (s.length == 0 || s.length > 5) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= 65535 ? v : -1;
}

/** Decodes exactly out.length bytes of hex; false on any other length or a non-hex digit. */
export function hexDecode(s: string, out: StaticArray<u8>): bool {
  if (s.length != out.length * 2) return false;
  for (let i = 0; i < out.length; i++) {
    const h = hexVal(s.charCodeAt(2 * i)); const l = hexVal(s.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return false;
    out[i] = <u8>((h << 4) | l);
  }
  return true;
}

function hexVal(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
