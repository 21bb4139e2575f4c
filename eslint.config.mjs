// Lint: typescript-eslint's recommended rules, plus the architecture's layering, enforced here
// rather than by habit:
//   src/core       the engine: no editor API, no front (cli, extension), no webview
//   src/cli        a front over the core: no editor API, not the other front
//   src/extension  a front over the core: not the CLI
//   src/shared     the webview protocol, imported by both sides: imports nothing of ours
//   webview/       the browser app: only src/shared of ours, no Node, no editor API
// (The type checker adds the other half: tsconfig.json has no DOM types, webview/tsconfig.json
// no Node types.)
import tseslint from 'typescript-eslint';

/** A no-restricted-imports rule from [glob or RegExp, why] pairs, plus exact module names. */
function restrict(groups, paths = []) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: paths.map(([name, message]) => ({ name, message })),
        patterns: groups.map(([pattern, message]) =>
          pattern instanceof RegExp ? { regex: pattern.source, message } : { group: [pattern], message },
        ),
      },
    ],
  };
}

const VSCODE = ['vscode', 'only src/extension may use the editor API'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'test-output/**', 'examples/**/data/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      [
        ['**/cli/**', 'src/core is the engine under both fronts: it must not import the CLI'],
        ['**/extension/**', 'src/core must not import the VS Code layer: put editor code in src/extension'],
        ['**/webview/**', 'src/core must not import the webview'],
      ],
      [VSCODE],
    ),
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict(
      [
        ['**/extension/**', 'the CLI must not import the VS Code layer: share code through src/core'],
        ['**/webview/**', 'the CLI must not import the webview'],
      ],
      [VSCODE],
    ),
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: restrict([
      ['**/cli/**', 'the extension must not import the CLI: share code through src/core'],
      ['**/webview/**', 'the extension talks to the webview through src/shared/graphProtocol.ts only'],
    ]),
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: restrict([['../**', 'src/shared is imported by the host and the webview: it imports nothing of ours']], [VSCODE]),
  },
  {
    files: ['webview/**/*.ts'],
    rules: restrict(
      [
        [/^\.\.\/src\/(?!shared\/)/, 'the webview imports only src/shared of ours'],
        ['node:*', 'the webview runs in a browser: no Node modules'],
      ],
      [VSCODE],
    ),
  },
);
