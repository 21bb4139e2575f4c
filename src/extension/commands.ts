// Every command of the extension, in one typed table. No runtime `vscode` import: the unit test
// test/unit/extension-manifest.test.ts checks this table against package.json's contributions.
import type { AssetsNode } from './assetsTree.ts';
import type { BackfillSession } from './session.ts';

export interface CommandSpec {
  run(session: BackfillSession, ...args: unknown[]): unknown;
  /** Runs commands from the workspace's files: refused while the workspace is not trusted. */
  needsTrust?: boolean;
}

export const COMMANDS = {
  'backfill.refresh': { run: (s) => s.model.reload() },
  'backfill.openDefinition': {
    run: (s, target) =>
      s.openDefinition(typeof target === 'string' ? target : (target as { asset?: { name: string } } | undefined)?.asset?.name),
  },
  'backfill.showOutput': { run: (s) => s.log.show() },
  'backfill.selectFolder': { run: (s, folder) => s.host.selectFolder(typeof folder === 'string' ? folder : undefined) },
  'backfill.showGraph': { run: (s) => s.showGraph() },
  'backfill.showInGraph': {
    run: (s, t) => s.showGraph(typeof t === 'string' ? t : (t as { asset?: { name: string } } | undefined)?.asset?.name),
  },
  'backfill.runBackfill': { run: (s, target) => s.actions.runBackfillFlow(s, target), needsTrust: true },
  'backfill.backfillDownstream': { run: (s, target) => s.actions.backfillDownstream(s, target), needsTrust: true },
  'backfill.backfillDownstreamAtCursor': { run: (s) => s.actions.backfillDownstream(s, undefined), needsTrust: true },
  'backfill.backfillAsset': { run: (s, target) => s.actions.runBackfillFlow(s, target ?? null), needsTrust: true },
  'backfill.backfillNeeded': { run: (s, target) => s.actions.backfillStatuses(s, target), needsTrust: true },
  'backfill.backfillRange': { run: (s, node) => s.actions.backfillRange(s, node as AssetsNode), needsTrust: true },
  'backfill.resumeBackfill': { run: (s, id) => s.actions.resumeBackfill(s, backfillId(id)), needsTrust: true },
  'backfill.retryFailed': { run: (s, id) => s.actions.retryFailed(s, backfillId(id)), needsTrust: true },
  'backfill.cancelBackfill': { run: (s, id) => s.actions.cancelBackfill(s, backfillId(id)) },
  'backfill.showBackfillOutput': { run: (s, node) => s.actions.showBackfillOutput(s, backfillId(node)) },
  'backfill.deleteBackfill': { run: (s, node) => s.actions.deleteBackfill(s, backfillId(node)) },
} satisfies Record<string, CommandSpec>;

export type CommandId = keyof typeof COMMANDS;

/** A backfill id from a command argument: an id, or a node of the Backfills view. */
function backfillId(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const node = arg as { kind?: string; record?: { id: string } } | undefined;
  return node?.kind === 'backfill' ? node.record?.id : undefined;
}
