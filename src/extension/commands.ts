// Every command of the extension, in one typed table. No runtime `vscode` import: the unit test
// test/unit/extension-manifest.test.ts checks this table against package.json's contributions.
import type { BackfillSession } from './session.ts';

export interface CommandSpec {
  run(session: BackfillSession, ...args: unknown[]): unknown;
  /** Runs commands from the workspace's files: refused while the workspace is not trusted. */
  needsTrust?: boolean;
}

export const COMMANDS = {
  'backfill.refresh': { run: (s) => s.model.reload() },
  'backfill.openDefinition': {
    run: (s, target) => s.openDefinition(typeof target === 'string' ? target : (target as { asset?: { name: string } } | undefined)?.asset?.name),
  },
  'backfill.showOutput': { run: (s) => s.log.show() },
} satisfies Record<string, CommandSpec>;

export type CommandId = keyof typeof COMMANDS;
