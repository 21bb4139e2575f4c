import { F } from '../../core/state/snapshot.ts';
import type { Attempt, StateStore } from '../../core/state/store.ts';
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { explain, type AttemptSummary, type CauseDetail } from '../../core/state/explain.ts';
import { action, type CliContext } from '../context.ts';
import { colourStatus, columns, formatDuration, formatInstant, printJson, type Style } from '../output.ts';
import { RANGE_SEPARATOR, resolveAsset, resolvePartitions } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('why')
    .description('explain the status of one partition: its causes, with versions, times and upstream partitions')
    .argument('<asset>', 'asset name')
    .argument('[partition]', 'partition key (omit it for an unpartitioned asset)')
    .addHelpText(
      'after',
      `
Causes of a stale partition: "code" (the code version changed since its last success),
"upstream" (partitions it reads were materialized after it), "dependencies" (its dependency set
changed). "observed": counted as materialized because its output: file exists.

Examples:
  $ backfill why clean_events 2024-03-02
  $ backfill why clean_events 2024-03-02 --json | jq '.causes'`,
    )
    .action(action(why));
}

async function why(ctx: CliContext, name: string, partition: string | undefined): Promise<void> {
  const ws = await ctx.workspace();
  const asset = resolveAsset(ws, name);
  if (partition?.includes(RANGE_SEPARATOR)) throw new UserError(`why takes one partition key, not a range: ${partition}`);
  const index = resolvePartitions(asset, partition === undefined ? [] : [partition], ctx.now).first;
  const { engine, codeVersions } = await ctx.status(ws);
  let store: Pick<StateStore, 'attempt'>;
  if (ctx.teamUrl) {
    // The partition's latest attempt and latest success, read from the team database first.
    const team = await ctx.team();
    const st = engine.get(asset.name)!;
    const row = st.rowOf[index]!;
    const ids =
      row >= 0 ? [st.snapshot.get(row, F.lastAttemptId), st.snapshot.get(row, F.successId)].filter((id) => !Number.isNaN(id)) : [];
    const read = new Map<number, Attempt | null>();
    for (const id of ids) read.set(id, await team.attempt(id));
    store = { attempt: (id) => read.get(id) ?? null };
  } else store = ctx.store();
  const explanation = explain({ graph: ws.graph, store, codeVersions, engine }, asset.name, index);
  if (ctx.json) {
    printJson(explanation);
    return;
  }
  const s = ctx.style;
  const what = explanation.partition === null ? s.bold(asset.name) : `${s.bold(asset.name)} ${explanation.partition}`;
  const lines = [`${what}: ${colourStatus(s, explanation.status)}`, `  ${explanation.summary}`];
  for (const cause of explanation.causes) lines.push(...causeLines(cause, s).map((l) => `  ${l}`));
  if (explanation.output) lines.push(`  output: ${explanation.output.path} (${explanation.output.exists ? 'exists' : 'does not exist'})`);
  lines.push(`last success: ${attemptLine(explanation.last_success, s)}`);
  lines.push(`last attempt: ${attemptLine(explanation.last_attempt, s)}`);
  ctx.print(...lines);
}

function causeLines(c: CauseDetail, s: Style): string[] {
  switch (c.cause) {
    case 'code':
      return [`${s.yellow('code')}: version ${c.recorded ?? 'unknown'} when it last succeeded, ${c.current} now`];
    case 'dependencies': {
      const changes = [...c.added.map((a) => `+${a}`), ...c.removed.map((r) => `-${r}`)].join(', ');
      return [`${s.yellow('dependencies')}: ${changes} (then: ${list(c.recorded)}; now: ${list(c.current)})`];
    }
    case 'upstream': {
      const rows = c.changed.map((u) => [
        `  ${u.asset} ${u.partition}`,
        `materialized ${u.materialized === null ? 'unknown' : formatInstant(new Date(u.materialized))}`,
        dataVersions(u.data_version, u.read_version),
      ]);
      return [
        `${s.yellow('upstream')}: ${c.changed.length === 1 ? '1 partition' : `${c.changed.length} partitions`} materialized after it`,
        ...columns(rows),
      ];
    }
    case 'observed':
      return [`${s.dim('observed')}: its output ${c.output} exists`];
  }
}

/** `data version 3c4d (it read 1a2b)`, `data version 3c4d (the version it read)`, or nothing when neither is known. */
function dataVersions(now: string | null, read: string | null): string {
  if (now === null && read === null) return '';
  return `data version ${now ?? 'none'} (${now === read ? 'the version it read' : `it read ${read ?? 'none'}`})`;
}

function list(names: string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

/** `#12 success, 2024-06-01T10:00:00Z, 1.2s, code 1a2b…, data 3c4d…`. */
function attemptLine(a: AttemptSummary | null, s: Style): string {
  if (a === null) return s.dim('none');
  const parts = [`#${a.id} ${colourStatus(s, a.status)}`];
  parts.push(a.ended === null ? `started ${formatInstant(new Date(a.started))}` : formatInstant(new Date(a.ended)));
  if (a.duration_ms !== null && a.duration_ms > 0) parts.push(formatDuration(a.duration_ms));
  if (a.exit_code !== null) parts.push(`exit code ${a.exit_code}`);
  if (a.run_id !== null) parts.push(`run ${a.run_id}`);
  if (a.code_version !== null) parts.push(`code ${a.code_version}`);
  if (a.data_version !== null) parts.push(`data ${a.data_version}`);
  return parts.join(', ');
}
