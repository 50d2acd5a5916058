/**
 * Incremental HTTP/1.1 response reader (RFC 9112 §4–6) for the update client: status line, headers with
 * Content-Length, then the body. Bounded: the head may be at most HEAD_MAX bytes; chunked transfer coding is
 * refused (the update service always sends Content-Length). Never traps on hostile input: errors set `error`.
 */
export const HEAD_MAX: i32 = 2048;

export class HttpResponse {
  /** 0 until the status line is read. */
  status: i32 = 0;
  /** Content-Length, or -1 when absent (body runs until the connection closes). */
  contentLength: i64 = -1;
  headDone: bool = false;
  error: string = "";
  bodyReceived: i64 = 0;
  private head: string = "";

  reset(): void { this.status = 0; this.contentLength = -1; this.headDone = false; this.error = ""; this.bodyReceived = 0; this.head = ""; }

  /**
   * Takes `len` received bytes at `p`. Returns the offset within them where body bytes start (len when they are
   * all head bytes; the caller takes [offset, len) as body and adds it with `body`). -1 on error.
   */
  feed(p: usize, len: i32): i32 {
    if (this.error.length > 0) return -1;
    if (this.headDone) return 0;
    for (let i = 0; i < len; i++) {
      const c = <i32>load<u8>(p + <usize>i);
      if (this.head.length >= HEAD_MAX) { this.error = "response head larger than " + HEAD_MAX.toString() + " bytes"; return -1; }
      this.head += String.fromCharCode(c);
      if (c == 10 && this.head.endsWith("\r\n\r\n")) {
        if (!this.parseHead()) return -1;
        this.headDone = true;
        return i + 1;
      }
    }
    return len;
  }

  /** Counts body bytes; returns false when more arrive than Content-Length allows. */
  body(n: i32): bool {
    this.bodyReceived += <i64>n;
    if (this.contentLength >= 0 && this.bodyReceived > this.contentLength) { this.error = "more body bytes than Content-Length"; return false; }
    return true;
  }

  /** The whole body has arrived (Content-Length known). */
  complete(): bool { return this.headDone && this.contentLength >= 0 && this.bodyReceived == this.contentLength; }

  private parseHead(): bool {
    const lines = this.head.split("\r\n");
    const sl = lines[0];
    if (!sl.startsWith("HTTP/1.") || sl.length < 12 || sl.charCodeAt(12 - 4) != 32) { this.error = "not an HTTP/1.x status line"; return false; }
    let st = 0;
    for (let i = 9; i < 12; i++) {
      const c = sl.charCodeAt(i);
      if (c < 48 || c > 57) { this.error = "bad status code"; return false; }
      st = st * 10 + (c - 48);
    }
    this.status = st;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      const colon = l.indexOf(":");
      if (colon <= 0) continue;
      const name = l.substring(0, colon).trim().toLowerCase();
      const value = l.substring(colon + 1).trim();
      if (name == "content-length") {
        if (value.length == 0 || value.length > 10) { this.error = "bad Content-Length"; return false; }
        let v: i64 = 0;
        for (let k = 0; k < value.length; k++) {
          const c = value.charCodeAt(k);
          if (c < 48 || c > 57) { this.error = "bad Content-Length"; return false; }
          v = v * 10 + <i64>(c - 48);
        }
        this.contentLength = v;
      } else if (name == "transfer-encoding" && value.toLowerCase() != "identity") {
        this.error = "unsupported Transfer-Encoding " + value; return false;
      }
    }
    return true;
  }
}
