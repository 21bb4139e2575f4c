import type { Command } from 'commander';
import { allPartitions, keysOf } from '../../core/partitions/definition.ts';
import { MultiPartitionsDefinition } from '../../core/partitions/multi.ts';
import { action, type CliContext } from '../context.ts';
import { formatInstant, formatRanges, plural, printJson } from '../output.ts';
import { resolveAsset } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('partitions')
    .description('list the partitions of an asset that exist as of now')
    .argument('<asset>', 'asset name')
    .addHelpText(
      'after',
      `
Human output compresses runs of consecutive partitions: 2024-01-01…2024-03-31 (91).
In JSON, "partitions" lists every key, or is null for an unpartitioned asset.

Examples:
  $ backfill partitions raw_events --now 2024-04-01
  $ backfill partitions raw_events --json | jq '.partitions | length'`,
    )
    .action(action(partitions));
}

async function partitions(ctx: CliContext, name: string): Promise<void> {
  const ws = await ctx.workspace();
  const asset = resolveAsset(ws, name);
  const def = asset.partitions;
  const all = allPartitions(def);
  if (ctx.json) {
    printJson({ asset: asset.name, partitions: def.kind === 'unpartitioned' ? null : keysOf(def, all) });
    return;
  }
  const s = ctx.style;
  if (def.kind === 'unpartitioned') {
    ctx.print(`${s.bold(asset.name)} is not partitioned`);
    return;
  }
  ctx.print(`${s.bold(asset.name)}: ${def.kind}, ${plural(def.size, 'partition')} as of ${formatInstant(ctx.now)}`);
  if (def instanceof MultiPartitionsDefinition) {
    // The product's keys are `a|b`; its dimensions one by one read better than row-major runs.
    for (const d of def.dimensions) ctx.print(`  ${d.name}: ${formatRanges(d.def, allPartitions(d.def)).join(', ') || 'none'}`);
    return;
  }
  ctx.print(...formatRanges(def, all).map((r) => `  ${r}`));
}
