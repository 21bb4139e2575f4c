import type { Command } from 'commander';
import { action, type CliContext } from '../context.ts';
import { columns, describeDefinition, describeMapping, printJson, relativePath } from '../output.ts';

export function register(program: Command): void {
  program
    .command('assets')
    .description('list the assets, upstream first, with their partitions and dependencies')
    .addHelpText(
      'after',
      `
Examples:
  $ backfill assets
  $ backfill assets --json --now 2024-06-01 | jq '.assets[].name'`,
    )
    .action(action(assets));
}

async function assets(ctx: CliContext): Promise<void> {
  const ws = await ctx.workspace();
  const order = ws.graph.order;
  if (ctx.json) {
    printJson({
      assets: order.map((a) => ({
        name: a.name,
        file: relativePath(ws.root, a.location.file),
        line: a.location.line,
        group: a.group,
        partitions: a.partitions.summary(),
        deps: a.deps.map((d) => ({ asset: d.asset, mapping: d.mapping.summary() })),
      })),
    });
    return;
  }
  if (order.length === 0) {
    ctx.print('no assets');
    return;
  }
  const s = ctx.style;
  const rows = order.map((a) => {
    const deps = a.deps.map((d) => {
      const how = d.mapping.isDefault ? '' : describeMapping(d.mapping.summary());
      return how ? `${d.asset} (${how})` : d.asset;
    });
    return [s.bold(a.name), s.dim(a.group), describeDefinition(a.partitions), deps.length > 0 ? `← ${deps.join(', ')}` : ''];
  });
  ctx.print(...columns(rows));
}
