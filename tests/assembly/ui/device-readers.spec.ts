/** The firmware's JSON and HTTP readers (firmware/device/json.ts, http.ts): correct values, bounded errors. */
import { JsonReader, J_OBJ, J_ARR, J_STR, J_NUM, jsonQuote } from "../../../firmware/device/json";
import { HttpResponse } from "../../../firmware/device/http";

function feed(h: HttpResponse, s: string): i32 {
  const b = String.UTF8.encode(s);
  return h.feed(changetype<usize>(b), b.byteLength);
}

describe("JsonReader", () => {
  it("reads objects, arrays, strings with escapes, numbers and literals", () => {
    const r = new JsonReader();
    const v = r.parse('{"a": [1, -2.5e1, true, null], "s": "x\\"y\\u0041\\n", "o": {}}');
    expect(r.error).toBe("");
    expect(v!.kind).toBe(J_OBJ);
    const a = v!.get("a")!;
    expect(a.kind).toBe(J_ARR);
    expect(a.items[1].kind).toBe(J_NUM);
    expect(a.items[1].n).toBe(-25.0);
    expect(v!.get("s")!.kind).toBe(J_STR);
    expect(v!.get("s")!.s).toBe("x\"yA\n");
    expect(jsonQuote("a\"b")).toBe("\"a\\\"b\"");
  });
  it("reports the first syntax error with its byte position and never traps", () => {
    const r = new JsonReader();
    expect(r.parse('{"a" 1}') === null).toBe(true);
    expect(r.error).toBe("JSON syntax error at byte 5: expected ':' after a member name");
    expect(r.parse('{"a": 1,}') === null).toBe(true);
    expect(r.parse('{"a": 1, "a": 2}') === null).toBe(true);
    expect(r.error.includes("duplicate member")).toBe(true);
    expect(r.parse("[[[[[[[[[[[1]]]]]]]]]]]") === null).toBe(true);
    expect(r.error.includes("nested too deeply")).toBe(true);
    expect(r.parse('"abc') === null).toBe(true);
    expect(r.parse("01") === null).toBe(true);
    // Every prefix of a valid document is either valid or a clean error.
    const doc = '{"user": "a", "n": [1, 2, {"x": "\\u00e9"}], "b": false}';
    for (let i = 0; i < doc.length; i++) { r.parse(doc.substring(0, i)); expect(r.error.length).toBeGreaterThan(0); }
  });
});

describe("HttpResponse", () => {
  it("splits head and body across chunks and checks Content-Length", () => {
    const h = new HttpResponse();
    expect(feed(h, "HTTP/1.1 200 OK\r\nContent-")).toBe(25);
    const off = feed(h, "Length: 4\r\n\r\nab");
    expect(h.headDone).toBe(true);
    expect(h.status).toBe(200);
    expect(h.contentLength).toBe(4);
    expect(off).toBe(13);
    expect(h.body(2)).toBe(true);
    expect(h.complete()).toBe(false);
    expect(h.body(2)).toBe(true);
    expect(h.complete()).toBe(true);
    expect(h.body(1)).toBe(false);
  });
  it("refuses garbage, chunked encoding and an endless head", () => {
    const h = new HttpResponse();
    expect(feed(h, "SSH-2.0-x\r\n\r\n")).toBe(-1);
    h.reset();
    expect(feed(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(-1);
    h.reset();
    let s = "HTTP/1.1 200 OK\r\n";
    for (let i = 0; i < 300; i++) s += "X-Pad: 0123456789\r\n";
    expect(feed(h, s)).toBe(-1);
    expect(h.error.includes("larger than")).toBe(true);
  });
});
