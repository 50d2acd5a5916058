// as-pect configuration for the firmware unit tests (AssemblyScript -> wasm).
//
// Run from the repository root:  npx asp --config as-pect.config.js
// (this is what `npm run test:fw` does).
//
// - Every tests/assembly/**/*.spec.ts is compiled as its own wasm module, together
//   with as-pect's assembly runtime (describe/it/expect, included below) and any
//   tests/assembly/**/*.include.ts helper files.
// - Compiler options come from tests/assembly/as-pect.asconfig.json (see
//   selectTestAsconfig() below for why that file is not at the repo root).
// - tests/assembly/reporter.js prints the usual as-pect output plus, as the very
//   last line of the run, "N passed, N failed". as-pect itself exits with status 1
//   when any test fails.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Imported here (not only through `reporter:` below) so that its process exit hook
// is installed before the first compilation: the count line is then printed even
// if a spec file fails to compile or no spec file is found.
import "./tests/assembly/reporter.js";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Repo-relative path -> path relative to the current directory (as-pect globs and
 *  loads the reporter relative to process.cwd()). */
function fromCwd(repoRelative) {
  return path.relative(process.cwd(), path.join(ROOT, repoRelative)) || ".";
}

/** Glob patterns use "/" on every platform. */
function glob(repoRelative) {
  return fromCwd(repoRelative).split(path.sep).join("/");
}

/**
 * as-pect 8.1 hands asc the compiler config named by its `-a/--as-config` flag,
 * which defaults to ./as-pect.asconfig.json, and this file cannot set it. If that
 * file is missing, asc gets no config at all and the run fails (no wasm output,
 * no as-pect transform). This repo keeps that config at
 * tests/assembly/as-pect.asconfig.json, so when the user passed no `-a` flag and there
 * is no ./as-pect.asconfig.json, point as-pect's (already parsed, not yet read)
 * `asConfig` option at it. as-pect reads the option only after loading this file.
 *
 * This relies on as-pect's CLI using the shared `program` object of its own
 * commander 9 copy. If that changes, this function throws with instructions.
 * It does nothing if `-a` is passed explicitly or ./as-pect.asconfig.json exists.
 */
function selectTestAsconfig() {
  const testAsconfig = path.join(ROOT, "tests/assembly/as-pect.asconfig.json");
  let program;
  try {
    const cliEntry = require.resolve("@as-pect/cli");
    ({ program } = createRequire(cliEntry)("commander"));
  } catch {
    program = undefined;
  }
  const parsed =
    program &&
    typeof program.getOptionValueSource === "function" &&
    program.options.some((o) => o.attributeName() === "asConfig");
  if (!parsed) {
    throw new Error(
      "as-pect.config.js: cannot reach as-pect's command line options; run " +
        `asp with --as-config ${path.relative(process.cwd(), testAsconfig)}`,
    );
  }
  if (program.getOptionValueSource("asConfig") !== "default") return;
  if (existsSync(path.resolve(program.opts().asConfig))) return;
  program.setOptionValue("asConfig", testAsconfig);
}
selectTestAsconfig();

/** as-pect's assembly runtime: declares describe/it/expect/... as globals. It must be
 *  part of every test compilation. (Its package exports no path that require.resolve
 *  could find, so it is looked up in node_modules directly.) */
const ASPECT_ASSEMBLY = path.join(ROOT, "node_modules/@as-pect/assembly/assembly/index.ts");
if (!existsSync(ASPECT_ASSEMBLY)) {
  throw new Error(`as-pect.config.js: ${ASPECT_ASSEMBLY} not found (is @as-pect/assembly installed?)`);
}

export default {
  /** Globs of test entry files; each one is compiled to its own wasm module. */
  entries: [glob("tests/assembly") + "/**/*.spec.ts"],
  /** Globs of files added to every test compilation. */
  include: [
    path.relative(process.cwd(), ASPECT_ASSEMBLY).split(path.sep).join("/"),
    glob("tests/assembly") + "/**/*.include.ts",
  ],
  /** Test entry files matching any of these are skipped. */
  disclude: [/node_modules/],
  /** Reporter module (path relative to the current directory; default export = instance). */
  reporter: fromCwd("tests/assembly/reporter.js"),
  /** Instantiates one compiled test module. The tests need no host imports. */
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  /** Set to true to write <spec>.wasm/.wat next to each spec file (debugging). */
  outputBinary: false,
};
