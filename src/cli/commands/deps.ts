import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { keysOf } from '../../core/partitions/definition.ts';
import { action, type CliContext } from '../context.ts';
import { columns, describeMapping, describeSubset, printJson } from '../output.ts';
import { RANGE_SEPARATOR, resolveAsset, resolvePartitions } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('deps')
    .description('show which upstream partitions one partition of an asset reads')
    .argument('<asset>', 'asset name')
    .argument('[partition]', 'partition key (omit it for an unpartitioned asset)')
    .addHelpText(
      'after',
      `
"missing" lists keys the mapping requires that the upstream does not have (as of now).
In JSON, "partition" and an upstream's "partitions" are null for unpartitioned assets.

Examples:
  $ backfill deps weekly_report 2024-01-07
  $ backfill deps daily_summary 2024-03-01 --json`,
    )
    .action(action(deps));
}

async function deps(ctx: CliContext, name: string, partition: string | undefined): Promise<void> {
  const ws = await ctx.workspace();
  const asset = resolveAsset(ws, name);
  if (partition?.includes(RANGE_SEPARATOR)) throw new UserError(`deps takes one partition key, not a range: ${partition}`);
  const subset = resolvePartitions(asset, partition === undefined ? [] : [partition], ctx.now);
  const upstream = asset.deps.flatMap((dep) => {
    const up = ws.assets.get(dep.asset);
    if (!up) return []; // the loader keeps no dependency on an unknown asset; be safe anyway
    const { partitions, missing } = dep.mapping.upstreamFor(subset);
    return [{ dep, up, partitions, missing }];
  });
  const unpartitioned = asset.partitions.kind === 'unpartitioned';
  if (ctx.json) {
    printJson({
      asset: asset.name,
      partition: unpartitioned ? null : partition,
      upstream: upstream.map(({ up, partitions, missing }) => ({
        asset: up.name,
        partitions: up.partitions.kind === 'unpartitioned' ? null : keysOf(up.partitions, partitions),
        missing,
      })),
    });
    return;
  }
  const s = ctx.style;
  const what = unpartitioned ? s.bold(asset.name) : `${s.bold(asset.name)} ${partition}`;
  if (upstream.length === 0) {
    ctx.print(`${what} has no dependencies`);
    return;
  }
  const rows = upstream.map(({ dep, up, partitions, missing }) => {
    const how = dep.mapping.isDefault ? '' : describeMapping(dep.mapping.summary());
    const reads = up.partitions.kind === 'unpartitioned' ? '(whole asset)' : describeSubset(up.partitions, partitions);
    const gaps = missing.length > 0 ? s.red(`missing ${missing.join(', ')}`) : '';
    return [`  ${up.name}`, reads, how ? s.dim(`(${how})`) : '', gaps];
  });
  ctx.print(`${what} reads:`, ...columns(rows));
}
