import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { copyAttempts, describeStore, snapshotsOf, type AnyStore } from '../../core/state/copy.ts';
import { isPostgresUrl, PostgresStore } from '../../core/state/postgres.ts';
import { projectKey } from '../../core/state/project.ts';
import { STATUSES, StatusEngine, type PartitionStatus } from '../../core/state/staleness.ts';
import { StateStore } from '../../core/state/store.ts';
import { codeVersions } from '../../core/state/versions.ts';
import type { Workspace } from '../../core/workspace.ts';
import { action, type CliContext } from '../context.ts';
import { plural, printJson } from '../output.ts';

export function register(program: Command): void {
  const state = program.command('state').description('manage state databases: copy history between a local file and a team database');
  state
    .command('copy')
    .description("copy every recorded attempt from one state database into another, and check that every partition's status is the same")
    .requiredOption('--from <path|url>', 'the state database to read: a file (relative to the workspace) or postgres://user@host/db')
    .requiredOption('--to <path|url>', 'the state database to write (empty for this project): a file or postgres://user@host/db')
    .addHelpText(
      'after',
      `
Every attempt is copied with all its fields (times, exit codes, code and data versions, inputs,
metadata, costs) in the order it was recorded, so that each partition's status comes out the
same: the statuses of the workspace's assets are computed from both databases after the copy and
compared (exit 1 if any differs). The target must have no history for this project yet, and the
source no attempt still running. Backfill records (resumable plans) are not copied.
A team database's rows belong to the workspace's project (--project, else its repository's origin
remote and folder); its password comes from PGPASSWORD or ~/.pgpass (one written in the URL
works too, and is never shown in messages).

Examples:
  $ backfill state copy --from .backfill/state.db --to postgres://me@db.internal/backfill
  $ backfill state copy --from postgres://me@db.internal/backfill --to /tmp/team-copy.db`,
    )
    .action(action(copy));
}

interface CopyOptions {
  from: string;
  to: string;
}

async function open(ctx: CliContext, where: string, role: 'from' | 'to', opened: AnyStore[]): Promise<AnyStore> {
  let store: AnyStore;
  if (isPostgresUrl(where)) store = await PostgresStore.open(where, { project: projectKey(ctx.root, ctx.options.project).key });
  else {
    const file = path.resolve(ctx.root, where);
    if (role === 'from' && !existsSync(file)) throw new UserError(`--from ${where}: there is no state database at ${file}`);
    store = StateStore.open(file);
  }
  opened.push(store);
  return store;
}

/** The status of every partition of every asset, as computed from one store. */
async function statuses(ws: Workspace, store: AnyStore, versions: Map<string, string>): Promise<Map<string, PartitionStatus[]>> {
  const source = await snapshotsOf(store, [...ws.assets.keys()]);
  const engine = new StatusEngine({ graph: ws.graph, store: source, codeVersions: versions });
  const out = new Map<string, PartitionStatus[]>();
  for (const [name, st] of engine.computeAll())
    out.set(
      name,
      Array.from({ length: st.status.length }, (_, i) => st.statusAt(i)),
    );
  return out;
}

async function copy(ctx: CliContext, options: CopyOptions): Promise<number | void> {
  const ws = await ctx.workspace();
  const opened: AnyStore[] = [];
  try {
    const from = await open(ctx, options.from, 'from', opened);
    const to = await open(ctx, options.to, 'to', opened);
    if (describeStore(from) === describeStore(to)) throw new UserError('--from and --to are the same state database');
    const t0 = performance.now();
    const copied = await copyAttempts(from, to);
    const ms = performance.now() - t0;
    // The check: every partition of the workspace's assets has the same status from both.
    const versions = await codeVersions(ws.assets.values());
    const [before, after] = [await statuses(ws, from, versions), await statuses(ws, to, versions)];
    const differ: string[] = [];
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<PartitionStatus, number>;
    let partitions = 0;
    for (const [name, list] of before) {
      const other = after.get(name)!;
      list.forEach((s, i) => {
        partitions++;
        counts[s]++;
        if (other[i] !== s) differ.push(`${name} ${ws.assets.get(name)!.partitions.keyAt(i) || '(unpartitioned)'}: ${s} → ${other[i]}`);
      });
    }
    if (ctx.json)
      printJson({
        copied: { attempts: copied.attempts, assets: copied.assets, ms: Math.round(ms) },
        from: describeStore(from),
        to: describeStore(to),
        verified: { partitions, same: differ.length === 0, counts, differ: differ.slice(0, 100) },
      });
    else {
      ctx.print(
        `copied ${plural(copied.attempts, 'attempt')} of ${plural(copied.assets, 'asset')} from ${describeStore(from)} to ${describeStore(to)} in ${(ms / 1000).toFixed(1)} s`,
      );
      if (differ.length === 0)
        ctx.print(
          `statuses checked: the same for all ${plural(partitions, 'partition')} of the workspace (${STATUSES.filter((s) => counts[s] > 0)
            .map((s) => `${counts[s]} ${s}`)
            .join(', ')})`,
        );
    }
    if (differ.length > 0) {
      ctx.refuse(
        `${plural(differ.length, 'partition')} ${differ.length === 1 ? 'has' : 'have'} another status after the copy:\n  ${differ.slice(0, 20).join('\n  ')}`,
      );
      return 1;
    }
  } finally {
    for (const s of opened) await s.close();
  }
}
