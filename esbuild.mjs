// Bundles the three entry points: the CLI and the extension for Node (vscode and native
// modules stay external), the graph webview for the browser.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// ESM dependencies bundled into CommonJS lose import.meta (fdir, under tinyglobby, calls
// createRequire(import.meta.url)): give it the bundle's own file URL. "use strict" first, as
// esbuild's own directive no longer is.
const importMetaUrl = `"use strict";\nvar __importMetaUrl = require('url').pathToFileURL(__filename).href;`;

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'better-sqlite3'],
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: importMetaUrl },
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${importMetaUrl}` } },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  // The graph webview (and its CSS, imported by main.ts, as dist/webview/graph.css).
  { bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning', entryPoints: ['webview/main.ts'], outfile: 'dist/webview/graph.js' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
