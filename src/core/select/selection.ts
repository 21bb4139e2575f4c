import { DateTime } from 'luxon';
import { UserError } from '../diagnostics.ts';
import type { AssetDefinition } from '../model.ts';
import type { PartitionsDefinition } from '../partitions/definition.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import { TimeWindowPartitionsDefinition } from '../partitions/time.ts';
import type { Selection } from '../plan/planner.ts';
import type { PartitionStatus } from '../state/staleness.ts';
import { didYouMean } from '../suggest.ts';
import type { Workspace } from '../workspace.ts';
import { resolveAsset, resolveKey, resolvePartitions } from './resolve.ts';

// What to backfill, in the words people use (shared by the CLI, tasks.json and the editor):
// asset words (names, `group:NAME`, `NAME+`), which partitions (from/to, keys, or all), only
// some statuses, and whether to add what is downstream.

const RANGE = '…';

/** The statuses `only` accepts. */
export const ONLY_STATUSES = ['missing', 'failed', 'stale'] as const satisfies readonly PartitionStatus[];

/** Which partitions, as written. */
export interface SelectionOptions {
  from?: string;
  to?: string;
  partition: string[];
  only?: string;
  downstream?: boolean;
  /** Also the missing or failed upstream partitions that the planned tasks read (`--with-missing-upstream`). */
  withMissingUpstream?: boolean;
  /** Leave out the partitions another backfill runs now, and what depends on them (`--skip-running`). */
  skipRunning?: boolean;
}

/** One asset of the selection, and how it came to be named. */
interface Named {
  asset: AssetDefinition;
  /** `NAME+` or `group:NAME+`: with what is downstream of it. */
  downstream: boolean;
  /** Named through `group:` (an unpartitioned member then ignores the partition options). */
  viaGroup: boolean;
}

/**
 * The assets of the selection words: names, `group:NAME` (every asset of the group) and a
 * trailing `+` on either (that asset plus everything downstream of it). Unknown names and
 * groups are UserErrors with a did-you-mean.
 */
export function resolveWords(ws: Workspace, words: readonly string[]): Named[] {
  const out: Named[] = [];
  for (const word of words) {
    const downstream = word.endsWith('+');
    const text = downstream ? word.slice(0, -1) : word;
    if (text.startsWith('group:')) {
      const group = text.slice('group:'.length);
      const members = ws.graph.order.filter((a) => a.group === group);
      if (members.length === 0) {
        const groups = new Set([...ws.assets.values()].map((a) => a.group));
        throw new UserError(`unknown group "${group}"${didYouMean(group, groups)}`);
      }
      for (const asset of members) out.push({ asset, downstream, viaGroup: true });
      continue;
    }
    if (text === '') throw new UserError(`invalid asset "${word}": write an asset name, NAME+ or group:NAME`);
    out.push({ asset: resolveAsset(ws, text), downstream, viaGroup: false });
  }
  return out;
}

/** `--only missing,failed`: the statuses, validated. */
export function parseOnly(text: string | undefined): Set<PartitionStatus> | undefined {
  if (text === undefined) return undefined;
  const words = text
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  if (words.length === 0) throw new UserError(`--only needs statuses: ${ONLY_STATUSES.join(', ')}`);
  const out = new Set<PartitionStatus>();
  for (const w of words) {
    if (!(ONLY_STATUSES as readonly string[]).includes(w)) {
      throw new UserError(
        `invalid --only status "${w}": expected ${ONLY_STATUSES.join(', ')} (comma-separated)${didYouMean(w, ONLY_STATUSES)}`,
      );
    }
    out.add(w as PartitionStatus);
  }
  return out;
}

/** The core selection for the words and options. */
export function buildSelection(ws: Workspace, words: readonly string[], options: SelectionOptions, now: Date): Selection {
  const named = resolveWords(ws, words);
  const ranged = options.from !== undefined || options.to !== undefined;
  const keyed = options.partition.length > 0;
  if (ranged && keyed) throw new UserError('give either --partition or --from/--to, not both');
  const only = parseOnly(options.only);
  const roots: Selection['roots'] = named.map(({ asset, downstream, viaGroup }) => {
    const def = asset.partitions;
    let partitions: PartitionSubset;
    if ((!ranged && !keyed) || (def.kind === 'unpartitioned' && viaGroup)) {
      partitions = PartitionSubset.all(def.size);
    } else if (def.kind === 'unpartitioned') {
      throw new UserError(`asset "${asset.name}" is not partitioned: give no --partition, --from or --to`);
    } else if (keyed) {
      partitions = resolvePartitions(asset, options.partition, now);
    } else {
      partitions = rangeOf(asset, options.from, options.to, now);
    }
    return { asset: asset.name, partitions, ...(downstream ? { downstream: true } : {}) };
  });
  if (ranged && roots.every((r) => r.partitions.isEmpty)) {
    const names = [...new Set(roots.map((r) => r.asset))];
    const shown = names.map((n) => `${n} (${extent(ws.assets.get(n)!.partitions)})`).join(', ');
    throw new UserError(`no partitions between ${options.from ?? 'the first'} and ${options.to ?? 'the last'}: ${shown}`);
  }
  return {
    roots,
    downstream: options.downstream === true,
    ...(only ? { only } : {}),
    ...(options.withMissingUpstream ? { withMissingUpstream: true } : {}),
    ...(options.skipRunning ? { skipRunning: true } : {}),
  };
}

/** `2024-01-01…2024-01-10` or `no partitions yet`. */
function extent(def: PartitionsDefinition): string {
  if (def.size === 0) return 'no partitions yet';
  return def.size === 1 ? def.keyAt(0) : `${def.keyAt(0)}${RANGE}${def.keyAt(def.size - 1)}`;
}

/**
 * `--from`/`--to` for one asset: the keys between the two, inclusive. For time partitions a
 * value that is not a key of the asset is read as an ISO date/time (in the asset's time zone
 * unless it has an offset) and the range is the windows that start within [from, to]. Multi
 * partitions apply it to their (first) time dimension, with every key of the other dimensions.
 */
export function rangeOf(asset: AssetDefinition, from: string | undefined, to: string | undefined, now: Date): PartitionSubset {
  const def = asset.partitions;
  if (def instanceof MultiPartitionsDefinition) {
    const d = def.dimensions.findIndex((dim) => dim.def instanceof TimeWindowPartitionsDefinition);
    if (d < 0) throw new UserError(`asset "${asset.name}" has no time dimension for --from/--to: select its partitions with --partition`);
    const dim = def.dimensions[d]!;
    // Keys of the dimension, resolved (and reported) as those of an asset of that dimension.
    const view: AssetDefinition = { ...asset, name: `${asset.name}" dimension "${dim.name}`, partitions: dim.def };
    const inner = rangeOf(view, from, to, now);
    return def.product(def.dimensions.map((other, i) => (i === d ? inner : PartitionSubset.all(other.def.size))));
  }
  if (def.size === 0) return PartitionSubset.EMPTY;
  const first = from === undefined ? 0 : bound(asset, from, 'from', now);
  const last = to === undefined ? def.size - 1 : bound(asset, to, 'to', now);
  if (from !== undefined && to !== undefined && asset.partitions.indexOf(from) >= 0 && asset.partitions.indexOf(to) >= 0 && last < first) {
    throw new UserError(`empty range for asset "${asset.name}": --to ${to} comes before --from ${from}`);
  }
  return PartitionSubset.range(Math.max(0, first), Math.min(def.size - 1, last) + 1);
}

/**
 * The index of one end of the range: the key's own index, else (time partitions) the first
 * window starting at or after a `from` instant, or the last one starting at or before a `to`
 * instant; may be outside the existing partitions (then clamped, maybe to nothing).
 */
function bound(asset: AssetDefinition, text: string, end: 'from' | 'to', now: Date): number {
  const def = asset.partitions;
  const i = def.indexOf(text);
  if (i >= 0) return i;
  if (def instanceof TimeWindowPartitionsDefinition) {
    const t = parseInstant(text, def.timezone);
    if (t !== null) {
      const at = def.indexAt(t);
      if (end === 'to') return at;
      return def.window(at).start < t ? at + 1 : at;
    }
  }
  return resolveKey(asset, text, now); // throws, naming the nearest keys
}

/** An ISO-8601 date or date-time in `zone` unless it has an offset; null when it is none. */
function parseInstant(text: string, zone: string): number | null {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}/.test(trimmed)) return null;
  const iso = /^\d{4}-\d{2}-\d{2} \d/.test(trimmed) ? trimmed.replace(' ', 'T') : trimmed;
  const dt = DateTime.fromISO(iso, { zone, setZone: true });
  return dt.isValid ? dt.toMillis() : null;
}
