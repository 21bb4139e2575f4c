import { Option, type Command } from 'commander';
import { UserError } from '../../core/diagnostics.ts';
import { keysOf } from '../../core/partitions/definition.ts';
import { indexStoreFor, recordMaterializations } from '../../core/state/record.ts';
import { StateStore } from '../../core/state/store.ts';
import { action, type CliContext } from '../context.ts';
import { colourStatus, plural, printJson } from '../output.ts';
import { RANGE_SEPARATOR, resolveAsset, resolvePartitions } from '../../core/select/resolve.ts';

export function register(program: Command): void {
  program
    .command('record')
    .description('record materializations done outside Backfill (success or failure)')
    .argument('<asset>', 'asset name')
    .argument('[partitions...]', `partition keys, or inclusive ranges FIRST${RANGE_SEPARATOR}LAST (omit them for an unpartitioned asset)`)
    .addOption(new Option('--status <status>', 'how the materialization ended').choices(['success', 'failed']).default('success'))
    .option(
      '--data-version <version>',
      'data version of what was written (default: a hash of the code version and the versions of its inputs)',
    )
    .option(
      '--metadata <key=value>',
      'metadata to keep with each attempt, repeatable; a value that parses as JSON is stored as such',
      collect,
      [],
    )
    .addHelpText(
      'after',
      `
Each partition is recorded with the asset's current code version and the data versions of the
upstream partitions it reads now, at the current time: it is fresh against the current upstream,
and the downstream partitions that read it become stale.
In JSON, "partitions" is null for an unpartitioned asset.

Examples:
  $ backfill record raw_events 2024-03-01${RANGE_SEPARATOR}2024-03-07
  $ backfill record raw_events 2024-03-08 --status failed --metadata error="timeout"
  $ backfill record clean_events 2024-03-01 --metadata rows=1200 --metadata source=s3`,
    )
    .action(action(record));
}

interface RecordCliOptions {
  status: 'success' | 'failed';
  dataVersion?: string;
  metadata: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function record(ctx: CliContext, name: string, keys: string[], options: RecordCliOptions): Promise<void> {
  const ws = await ctx.workspace();
  const asset = resolveAsset(ws, name);
  const subset = resolvePartitions(asset, keys, ctx.now);
  const metadata = parseMetadata(options.metadata);
  if (options.dataVersion !== undefined && options.status !== 'success') {
    throw new UserError('--data-version applies to a successful materialization, not to --status failed');
  }
  if (options.dataVersion === '') throw new UserError('--data-version needs a value');
  const indexes = [...subset];
  const store = await ctx.state();
  // Snapshots written keep the partition indexes of these definitions: readers skip parsing keys.
  if (store instanceof StateStore) indexStoreFor(ws, store);
  const attemptIds = await recordMaterializations(ws, store, asset, indexes, {
    status: options.status,
    ...(options.dataVersion !== undefined ? { dataVersion: options.dataVersion } : {}),
    ...(metadata ? { metadata } : {}),
    // The real clock, whatever --now says: --now only fixes which partitions exist.
    at: Date.now(),
  });
  const unpartitioned = asset.partitions.kind === 'unpartitioned';
  if (ctx.json) {
    printJson({
      recorded: {
        asset: asset.name,
        partitions: unpartitioned ? null : keysOf(asset.partitions, subset),
        status: options.status,
        attempt_ids: attemptIds,
      },
    });
    return;
  }
  const s = ctx.style;
  const what = unpartitioned ? s.bold(asset.name) : `${plural(indexes.length, 'partition')} of ${s.bold(asset.name)}`;
  ctx.print(`recorded ${what} (${colourStatus(s, options.status)})`);
}

/**
 * `--metadata k=v` values as an object: a value that parses as JSON is kept as such (`rows=12`
 * is the number 12, `note="x"` the string x), any other value as the string written.
 */
function parseMetadata(pairs: readonly string[]): Record<string, unknown> | undefined {
  if (pairs.length === 0) return undefined;
  // A Map, then an object: a key such as __proto__ stays a plain key.
  const out = new Map<string, unknown>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`invalid --metadata "${pair}": write KEY=VALUE, e.g. rows=1200`);
    const key = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    out.set(key, value);
  }
  return Object.fromEntries(out);
}
