import type { Command } from 'commander';
import { keysOf } from '../../core/partitions/definition.ts';
import { action, type CliContext } from '../context.ts';
import { columns, describeSubset, plural, printJson } from '../output.ts';
import { RANGE_SEPARATOR, resolveAsset, resolvePartitions } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('impact')
    .description('show every partition downstream of the given partitions, transitively')
    .argument('<asset>', 'asset name')
    .argument('[partitions...]', `partition keys, or inclusive ranges FIRST${RANGE_SEPARATOR}LAST (omit them for an unpartitioned asset)`)
    .addHelpText(
      'after',
      `
The given partitions come first, then the assets downstream in dependency order.
In JSON, "partitions" is null for an unpartitioned asset.

Examples:
  $ backfill impact raw_events 2024-03-01
  $ backfill impact raw_events 2024-03-01${RANGE_SEPARATOR}2024-03-07 --json`,
    )
    .action(action(impact));
}

async function impact(ctx: CliContext, name: string, keys: string[]): Promise<void> {
  const ws = await ctx.workspace();
  const asset = resolveAsset(ws, name);
  const subset = resolvePartitions(asset, keys, ctx.now);
  const impacted = ws.graph.impact(asset.name, subset);
  if (ctx.json) {
    printJson({
      impacted: impacted.map(({ asset: a, partitions }) => ({
        asset: a.name,
        partitions: a.partitions.kind === 'unpartitioned' ? null : keysOf(a.partitions, partitions),
      })),
    });
    return;
  }
  const s = ctx.style;
  const total = impacted.reduce((n, i) => n + i.partitions.size, 0);
  const rows = impacted.map(({ asset: a, partitions }) => [
    `  ${s.bold(a.name)}`,
    a.partitions.kind === 'unpartitioned' ? '(whole asset)' : describeSubset(a.partitions, partitions),
  ]);
  ctx.print(`${plural(total, 'partition')} of ${plural(impacted.length, 'asset')} impacted:`, ...columns(rows));
}
