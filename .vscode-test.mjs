// Extension-host tests with @vscode/test-cli: downloads VS Code (minimum engine and stable),
// opens the demo workspace and runs out/test/extension/*.test.js. Not runnable on machines
// without access to VS Code downloads; the code-server end-to-end tests cover this there.
import { defineConfig } from '@vscode/test-cli';

export default defineConfig([
  {
    label: 'minimum',
    version: '1.100.0',
    files: 'out/test/extension/*.test.js',
    workspaceFolder: './examples/demo',
    mocha: { ui: 'tdd', timeout: 20000 },
  },
  {
    label: 'stable',
    version: 'stable',
    files: 'out/test/extension/*.test.js',
    workspaceFolder: './examples/demo',
    mocha: { ui: 'tdd', timeout: 20000 },
  },
]);
