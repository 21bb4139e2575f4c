// Bundles the three entry points: the CLI and the extension for Node (vscode and native
// modules stay external), the graph webview for the browser (with its layout worker inside).
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';
import * as path from 'node:path';

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

const browser = { bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', minify: production, logLevel: 'warning' };

// A webview cannot start a Worker from its own script URL (a vscode-resource URL is another
// origin), so the layout worker starts from a Blob: `import source from 'layout-worker:source'`
// is the text of webview/layoutWorker.ts bundled on its own (rebuilt with graph.js in watch mode).
const layoutWorkerSource = {
  name: 'layout-worker-source',
  setup(build) {
    build.onResolve({ filter: /^layout-worker:source$/ }, (args) => ({ path: args.path, namespace: 'layout-worker' }));
    build.onLoad({ filter: /.*/, namespace: 'layout-worker' }, async () => {
      const r = await esbuild.build({
        ...browser,
        sourcemap: production ? false : 'inline',
        entryPoints: ['webview/layoutWorker.ts'],
        write: false,
        metafile: true,
      });
      return {
        contents: `export default ${JSON.stringify(r.outputFiles[0].text)};`,
        loader: 'js',
        watchFiles: Object.keys(r.metafile.inputs).map((f) => path.resolve(f)),
      };
    });
  },
};

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${importMetaUrl}` } },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  // The graph webview (and its CSS, imported by main.ts, as dist/webview/graph.css).
  { ...browser, sourcemap: !production, entryPoints: ['webview/main.ts'], outfile: 'dist/webview/graph.js', plugins: [layoutWorkerSource] },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
