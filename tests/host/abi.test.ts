// The built firmware's imports and exports must be exactly what hal/ABI.md documents (architecture.md §HAL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

interface Sig { params: string[]; results: string[] }

/** Parses `(a, b: i64, ptr) → i32` from the ABI tables: untyped names are i32. */
function parseSig(s: string): Sig {
  const m = /^`\((.*)\)\s*→\s*(\w+)`$/.exec(s.trim());
  if (!m) throw new Error(`bad signature cell: ${s}`);
  const params = m[1].trim() === '' ? [] : m[1].split(',').map((p) => (p.includes(': i64') ? 'i64' : 'i32'));
  return { params, results: m[2] === 'void' ? [] : [m[2]] };
}

function abiTables() {
  const md = fs.readFileSync('hal/ABI.md', 'utf8');
  const imports = new Map<string, Sig>();
  const exports = new Map<string, Sig | 'memory'>();
  const imp = md.slice(md.indexOf('## Imports'), md.indexOf('## Exports'));
  for (const line of imp.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !/^`\(/.test(cells[3])) continue;
    imports.set(`${cells[1]}.${cells[2]}`, parseSig(cells[3]));
  }
  const exp = md.slice(md.indexOf('## Exports'));
  for (const line of exp.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !/^[a-zA-Z]+$/.test(cells[1]) || cells[1] === 'name') continue;
    exports.set(cells[1], cells[2] === 'memory' ? 'memory' : parseSig(cells[2]));
  }
  return { imports, exports };
}

/** Reads function signatures of imports and exports from the binary (type, import, function, export sections). */
function moduleSigs(bytes: Uint8Array) {
  let p = 8;
  const u = () => { let r = 0, s = 0, b; do { b = bytes[p++]; r |= (b & 127) << s; s += 7; } while (b & 128); return r >>> 0; };
  const name = () => { const n = u(); const t = Buffer.from(bytes.subarray(p, p + n)).toString(); p += n; return t; };
  const vt = (b: number) => ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' } as Record<number, string>)[b] ?? `0x${b.toString(16)}`;
  const types: Sig[] = [];
  const funcTypes: number[] = [];
  const imports = new Map<string, Sig>();
  const exports = new Map<string, Sig | 'memory'>();
  const rawExports: [string, number, number][] = [];
  while (p < bytes.length) {
    const id = bytes[p++]; const size = u(); const end = p + size;
    if (id === 1) {
      for (let n = u(); n > 0; n--) { p++; const ps = []; for (let k = u(); k > 0; k--) ps.push(vt(bytes[p++])); const rs = []; for (let k = u(); k > 0; k--) rs.push(vt(bytes[p++])); types.push({ params: ps, results: rs }); }
    } else if (id === 2) {
      for (let n = u(); n > 0; n--) {
        const mod = name(), nm = name(), kind = bytes[p++];
        if (kind === 0) { const t = u(); funcTypes.push(t); imports.set(`${mod}.${nm}`, types[t]); }
        else { imports.set(`${mod}.${nm}`, { params: ['kind' + kind], results: [] }); p = end; break; }
      }
    } else if (id === 3) {
      for (let n = u(); n > 0; n--) funcTypes.push(u());
    } else if (id === 7) {
      for (let n = u(); n > 0; n--) { const nm = name(); const kind = bytes[p++]; rawExports.push([nm, kind, u()]); }
    }
    p = end;
  }
  for (const [nm, kind, idx] of rawExports) exports.set(nm, kind === 2 ? 'memory' : kind === 0 ? types[funcTypes[idx]] : ({ params: ['kind' + kind], results: [] }));
  return { imports, exports };
}

for (const file of ['build/firmware.wasm', 'build/firmware.debug.wasm']) {
  test(`${file} imports only what hal/ABI.md lists, with the documented signatures`, () => {
    const abi = abiTables();
    assert.ok(abi.imports.size >= 30, 'ABI import table parsed');
    const mod = moduleSigs(fs.readFileSync(file));
    assert.ok(mod.imports.size > 0);
    for (const [k, sig] of mod.imports) {
      assert.ok(abi.imports.has(k), `${file} imports ${k}, which hal/ABI.md does not list`);
      assert.deepEqual(sig, abi.imports.get(k), `signature of ${k}`);
    }
  });

  test(`${file} exports exactly the hal/ABI.md export table`, () => {
    const abi = abiTables();
    const mod = moduleSigs(fs.readFileSync(file));
    assert.deepEqual([...mod.exports.keys()].sort(), [...abi.exports.keys()].sort());
    for (const [k, sig] of mod.exports) assert.deepEqual(sig, abi.exports.get(k), `signature of export ${k}`);
  });
}

test('the ABI check itself rejects an undocumented import (env.seed, as Math.random would pull in)', () => {
  // A minimal module importing env.seed: () → f64.
  const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7c, 2, 12, 1, 3, 101, 110, 118, 4, 115, 101, 101, 100, 0, 0]);
  assert.ok(WebAssembly.validate(bytes));
  const mod = moduleSigs(bytes);
  assert.ok(mod.imports.has('env.seed'));
  assert.ok(!abiTables().imports.has('env.seed'));
});
