// as-pect reporter for the firmware tests.
//
// Shows as-pect's normal output (its default SummaryReporter: one line per spec
// file plus details of every failing test) and counts tests over all spec files.
// When the process exits it prints, as the very last line, exactly
//
//     N passed, N failed
//
// N are test counts over every spec file. A spec file that fails outside any test
// (its module traps at start-up, a beforeAll/afterAll hook fails, a snapshot
// differs) adds 1 to "failed". If the run aborts with a non-zero status before
// any failure was counted (e.g. a spec file does not compile), "failed" is set to 1,
// so the line never reads "0 failed" for a failing run. as-pect itself
// exits with status 1 when any spec file fails.
//
// The CLI flags --summary and --verbose make as-pect add its own reporter next to
// this one; then this reporter only counts, so nothing is printed twice.
//
// as-pect loads this file as `reporter` in as-pect.config.js (default export: a
// reporter instance). as-pect.config.js also imports it, so the exit hook is
// installed before anything is compiled.
import { SummaryReporter } from "@as-pect/core";
import process from "node:process";

class CountingReporter {
  passed = 0;
  failed = 0;
  /** The reporter that prints as-pect's usual output, or null when the CLI adds one. */
  inner = null;
  out = process.stdout;
  err = process.stderr;

  constructor() {
    const cliAddsReporter = process.argv.some((a) => a === "--summary" || a === "--verbose");
    if (!cliAddsReporter) this.inner = new SummaryReporter();
  }

  // as-pect assigns the output streams after loading the reporter.
  get stdout() {
    return this.out;
  }
  set stdout(stream) {
    this.out = stream;
    if (this.inner) this.inner.stdout = stream;
  }
  get stderr() {
    return this.err;
  }
  set stderr(stream) {
    this.err = stream;
    if (this.inner) this.inner.stderr = stream;
  }

  onEnter(ctx, node) {
    this.inner?.onEnter(ctx, node);
  }

  onExit(ctx, node) {
    this.inner?.onExit(ctx, node);
  }

  /** Called once per spec file, after all of its tests have run. */
  onFinish(ctx) {
    this.inner?.onFinish(ctx);
    const failedTests = ctx.testCount - ctx.testPassCount;
    this.passed += ctx.testPassCount;
    this.failed += failedTests;
    if (!ctx.pass && failedTests === 0) this.failed += 1;
  }

  /** Prints the final count line; runs from the process "exit" event. */
  printCounts(exitCode) {
    if (exitCode !== 0 && this.failed === 0) {
      process.stderr.write("as-pect stopped before all tests ran; counting it as 1 failure\n");
      this.failed = 1;
    }
    // The CLI's summary ends without a newline, so start a fresh line first.
    process.stdout.write(`\n${this.passed} passed, ${this.failed} failed\n`);
  }
}

const reporter = new CountingReporter();
// stdout writes are synchronous for files, pipes and terminals on Linux, so
// this line is still written from inside the "exit" event.
process.once("exit", (code) => reporter.printCounts(code));

export default reporter;
