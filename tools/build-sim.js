// Bundles the host-side entry points with esbuild (dependencies stay external: node_modules at run time).
import { build } from 'esbuild';

await build({
  entryPoints: { sim: 'host-sim/cli.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
