/**
 * A small JSON reader (RFC 8259) for provisioning and update manifests: bounded depth and size, never traps,
 * and reports the first error as one line with its byte position. Numbers are kept as f64 (integers up to 2^53
 * exact); strings decode the standard escapes including \uXXXX (BMP; surrogate pairs are combined).
 */
export const J_NULL: i32 = 0;
export const J_BOOL: i32 = 1;
export const J_NUM: i32 = 2;
export const J_STR: i32 = 3;
export const J_ARR: i32 = 4;
export const J_OBJ: i32 = 5;

export const JSON_DEPTH_MAX: i32 = 8;
export const JSON_TEXT_MAX: i32 = 8192;

export class JsonValue {
  kind: i32 = J_NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  /** Array items, or object values (parallel to `keys`). */
  items: Array<JsonValue> = new Array<JsonValue>();
  keys: Array<string> = new Array<string>();

  constructor(kind: i32) { this.kind = kind; }

  /** Member `k` of an object, or null (also for non-objects). */
  get(k: string): JsonValue | null {
    if (this.kind != J_OBJ) return null;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == k) return this.items[i];
    return null;
  }

  isInt(): bool { return this.kind == J_NUM && this.n == Math.floor(this.n) && Math.abs(this.n) <= 9007199254740991; }
}

/** Type name for error messages ("a string", "an object", …). */
export function jsonKindName(v: JsonValue): string {
  const k = v.kind;
  if (k == J_NULL) return "null";
  if (k == J_BOOL) return "a boolean";
  if (k == J_NUM) return "a number";
  if (k == J_STR) return "a string";
  if (k == J_ARR) return "an array";
  return "an object";
}

export class JsonReader {
  error: string = "";
  private t: string = "";
  private p: i32 = 0;

  /** Parses `text` as one JSON value; null on error (then `error` says what and where). */
  parse(text: string): JsonValue | null {
    this.error = ""; this.t = text; this.p = 0;
    if (text.length > JSON_TEXT_MAX) { this.error = "JSON text too long (" + text.length.toString() + " > " + JSON_TEXT_MAX.toString() + " bytes)"; return null; }
    const v = this.value(0);
    if (v === null) return null;
    this.ws();
    if (this.p < this.t.length) return this.fail("unexpected text after the JSON value");
    return v;
  }

  private fail(what: string): JsonValue | null {
    if (this.error.length == 0) this.error = "JSON syntax error at byte " + this.p.toString() + ": " + what;
    return null;
  }

  private ws(): void {
    while (this.p < this.t.length) {
      const c = this.t.charCodeAt(this.p);
      if (c == 32 || c == 9 || c == 10 || c == 13) this.p++; else break;
    }
  }

  private value(depth: i32): JsonValue | null {
    if (depth > JSON_DEPTH_MAX) return this.fail("nested too deeply");
    this.ws();
    if (this.p >= this.t.length) return this.fail("unexpected end of text");
    const c = this.t.charCodeAt(this.p);
    if (c == 123) return this.object(depth);
    if (c == 91) return this.array(depth);
    if (c == 34) { const s = this.string(); if (s === null) return null; const v = new JsonValue(J_STR); v.s = s; return v; }
    if (c == 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.word("true")) { const v = new JsonValue(J_BOOL); v.b = true; return v; }
    if (this.word("false")) return new JsonValue(J_BOOL);
    if (this.word("null")) return new JsonValue(J_NULL);
    return this.fail("expected a value");
  }

  private word(w: string): bool {
    if (this.p + w.length <= this.t.length && this.t.substring(this.p, this.p + w.length) == w) { this.p += w.length; return true; }
    return false;
  }

  private object(depth: i32): JsonValue | null {
    const o = new JsonValue(J_OBJ);
    this.p++;
    this.ws();
    if (this.p < this.t.length && this.t.charCodeAt(this.p) == 125) { this.p++; return o; }
    while (true) {
      this.ws();
      if (this.p >= this.t.length || this.t.charCodeAt(this.p) != 34) return this.fail("expected a member name in double quotes");
      const k = this.string();
      if (k === null) return null;
      for (let i = 0; i < o.keys.length; i++) if (o.keys[i] == k) return this.fail("duplicate member \"" + k + "\"");
      this.ws();
      if (this.p >= this.t.length || this.t.charCodeAt(this.p) != 58) return this.fail("expected ':' after a member name");
      this.p++;
      const v = this.value(depth + 1);
      if (v === null) return null;
      o.keys.push(k); o.items.push(v);
      this.ws();
      if (this.p >= this.t.length) return this.fail("unexpected end of text in an object");
      const c = this.t.charCodeAt(this.p++);
      if (c == 125) return o;
      if (c != 44) { this.p--; return this.fail("expected ',' or '}'"); }
    }
    return null;
  }

  private array(depth: i32): JsonValue | null {
    const a = new JsonValue(J_ARR);
    this.p++;
    this.ws();
    if (this.p < this.t.length && this.t.charCodeAt(this.p) == 93) { this.p++; return a; }
    while (true) {
      const v = this.value(depth + 1);
      if (v === null) return null;
      a.items.push(v);
      this.ws();
      if (this.p >= this.t.length) return this.fail("unexpected end of text in an array");
      const c = this.t.charCodeAt(this.p++);
      if (c == 93) return a;
      if (c != 44) { this.p--; return this.fail("expected ',' or ']'"); }
    }
    return null;
  }

  private string(): string | null {
    this.p++;
    let out = "";
    let start = this.p;
    while (true) {
      if (this.p >= this.t.length) { this.fail("unterminated string"); return null; }
      const c = this.t.charCodeAt(this.p);
      if (c == 34) { out += this.t.substring(start, this.p); this.p++; return out; }
      if (c < 32) { this.fail("control character in a string"); return null; }
      if (c != 92) { this.p++; continue; }
      out += this.t.substring(start, this.p);
      this.p++;
      if (this.p >= this.t.length) { this.fail("unterminated escape"); return null; }
      const e = this.t.charCodeAt(this.p++);
      if (e == 34) out += "\""; else if (e == 92) out += "\\"; else if (e == 47) out += "/";
      else if (e == 98) out += "\b"; else if (e == 102) out += "\f"; else if (e == 110) out += "\n";
      else if (e == 114) out += "\r"; else if (e == 116) out += "\t";
      else if (e == 117) {
        const u = this.hex4();
        if (u < 0) { this.fail("bad \\u escape"); return null; }
        out += String.fromCharCode(u);
      } else { this.p--; this.fail("bad escape"); return null; }
      start = this.p;
    }
    return null;
  }

  private hex4(): i32 {
    if (this.p + 4 > this.t.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.t.charCodeAt(this.p + i);
      let d = -1;
      if (c >= 48 && c <= 57) d = c - 48; else if (c >= 97 && c <= 102) d = c - 87; else if (c >= 65 && c <= 70) d = c - 55;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    this.p += 4;
    return v;
  }

  private number(): JsonValue | null {
    const start = this.p;
    if (this.t.charCodeAt(this.p) == 45) this.p++;
    const intStart = this.p;
    while (this.p < this.t.length && isDigit(this.t.charCodeAt(this.p))) this.p++;
    if (this.p == intStart) return this.fail("bad number");
    if (this.p - intStart > 1 && this.t.charCodeAt(intStart) == 48) return this.fail("leading zero in a number");
    if (this.p < this.t.length && this.t.charCodeAt(this.p) == 46) {
      this.p++;
      const f = this.p;
      while (this.p < this.t.length && isDigit(this.t.charCodeAt(this.p))) this.p++;
      if (this.p == f) return this.fail("bad number");
    }
    if (this.p < this.t.length && (this.t.charCodeAt(this.p) | 32) == 101) {
      this.p++;
      if (this.p < this.t.length && (this.t.charCodeAt(this.p) == 43 || this.t.charCodeAt(this.p) == 45)) this.p++;
      const e = this.p;
      while (this.p < this.t.length && isDigit(this.t.charCodeAt(this.p))) this.p++;
      if (this.p == e) return this.fail("bad number");
    }
    const v = new JsonValue(J_NUM);
    v.n = parseFloat(this.t.substring(start, this.p));
    return v;
  }
}

@inline function isDigit(c: i32): bool { return c >= 48 && c <= 57; }

/** JSON string literal of `s` (quotes and escapes). */
export function jsonQuote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\""; else if (c == 92) out += "\\\\";
    else if (c < 32) { out += "\\u00" + (c < 16 ? "0" : "") + (<u32>c).toString(16); }
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}
