import { distance } from 'fastest-levenshtein';
import { UserError } from '../diagnostics.ts';
import type { AssetDefinition } from '../model.ts';
import type { PartitionsDefinition } from '../partitions/definition.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import { TimeWindowPartitionsDefinition } from '../partitions/time.ts';
import { didYouMean } from '../suggest.ts';
import type { Workspace } from '../workspace.ts';

/** An instant as people read it in messages: ISO-8601 without milliseconds. */
export function formatInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Separates the two ends of an inclusive key range on the command line: `2024-01-01...2024-01-31`. */
export const RANGE_SEPARATOR = '...';

/** How many neighbours on each side a "does not exist" message names. */
const NEIGHBOURS = 2;

/** The asset named on the command line, or a UserError with a did-you-mean. */
export function resolveAsset(ws: Workspace, name: string): AssetDefinition {
  const asset = ws.assets.get(name);
  if (asset) return asset;
  let hint = didYouMean(name, ws.assets.keys());
  if (!hint && ws.diagnostics.some((d) => d.severity === 'error')) {
    hint = ' (assets with definition errors are left out: run backfill validate)';
  }
  throw new UserError(`unknown asset "${name}"${hint}`);
}

/**
 * The partitions named on the command line: keys and inclusive `first...last` ranges. An
 * unpartitioned asset takes no key (its one implicit partition); a partitioned one needs one.
 */
export function resolvePartitions(asset: AssetDefinition, args: readonly string[], now: Date): PartitionSubset {
  const def = asset.partitions;
  if (def.kind === 'unpartitioned') {
    if (args.length > 0) throw new UserError(`asset "${asset.name}" is not partitioned: give no partition key`);
    return PartitionSubset.of([0]);
  }
  if (args.length === 0) {
    const example = def.size > 0 ? `, e.g. ${def.keyAt(def.size - 1)}` : '';
    throw new UserError(`asset "${asset.name}" is partitioned (${def.kind}): give a partition key${example}`);
  }
  const ranges: Array<[number, number]> = [];
  for (const arg of args) {
    const ends = splitRange(arg);
    if (ends === null) {
      const i = resolveKey(asset, arg, now);
      ranges.push([i, i + 1]);
      continue;
    }
    const [first, last] = ends;
    const a = resolveKey(asset, first, now);
    const b = resolveKey(asset, last, now);
    if (b < a) throw new UserError(`empty range "${arg}" for asset "${asset.name}": ${last} comes before ${first}`);
    ranges.push([a, b + 1]);
  }
  return PartitionSubset.fromRanges(ranges);
}

/** The index of an existing key, or a UserError naming the nearest existing keys. */
export function resolveKey(asset: AssetDefinition, key: string, now: Date): number {
  const i = asset.partitions.indexOf(key);
  if (i >= 0) return i;
  throw new UserError(missingKeyMessage(asset, key, now));
}

function splitRange(arg: string): [string, string] | null {
  const at = arg.indexOf(RANGE_SEPARATOR);
  if (at < 0) return null;
  const first = arg.slice(0, at);
  const last = arg.slice(at + RANGE_SEPARATOR.length);
  if (first === '' || last === '' || last.includes(RANGE_SEPARATOR)) {
    throw new UserError(`invalid range "${arg}": write FIRST${RANGE_SEPARATOR}LAST, e.g. 2024-01-01${RANGE_SEPARATOR}2024-01-31`);
  }
  return [first, last];
}

function missingKeyMessage(asset: AssetDefinition, key: string, now: Date): string {
  const def = asset.partitions;
  const head = `partition "${key}" of asset "${asset.name}" does not exist as of ${formatInstant(now)}`;
  if (def.size === 0) return `${head}: the asset has no partitions yet`;
  if (def instanceof MultiPartitionsDefinition) {
    const parts = key.split('|');
    const shape = def.dimensions.map((d) => d.name).join('|');
    if (parts.length !== def.dimensions.length) {
      return `${head}: its keys have ${def.dimensions.length} parts, ${shape}, e.g. ${def.keyAt(0)}`;
    }
    // Point at the first part that does not exist, in its own dimension.
    for (let d = 0; d < parts.length; d++) {
      const dim = def.dimensions[d]!;
      const part = parts[d]!;
      if (dim.def.indexOf(part) >= 0) continue;
      if (dim.def.size === 0) return `${head}: dimension ${dim.name} has no partitions yet`;
      const near = nearestKeys(dim.def, part);
      return `${head}: no ${dim.name} "${part}"${near.note}; nearest ${dim.name} keys: ${near.keys.join(', ')}`;
    }
    return head; // every part exists: cannot happen for a product, kept for safety
  }
  const near = nearestKeys(def, key);
  return `${head}${near.note}; nearest: ${near.keys.join(', ')}`;
}

export interface NearestKeys {
  keys: string[];
  /** ` (after the last partition)` or the empty string. */
  note: string;
}

/**
 * Existing keys near a key that does not exist. For time partitions, by position: the two keys
 * before and the two after it in time (found by the window the key names, or by binary search
 * when the keys sort chronologically); otherwise the keys closest in edit distance.
 */
export function nearestKeys(def: PartitionsDefinition, key: string): NearestKeys {
  if (def instanceof TimeWindowPartitionsDefinition) {
    const at = def.locate(key);
    if (at !== null && at >= def.size) return { keys: keysIn(def, def.size - NEIGHBOURS, def.size), note: ' (after the last partition)' };
    if (at !== null && at < 0) return { keys: keysIn(def, 0, NEIGHBOURS), note: ' (before the first partition)' };
    if (sortsChronologically(def.options.fmt)) {
      const p = upperBound(def, key);
      const note =
        def.format.parse(key) === null
          ? ` (not a key of the form ${def.options.fmt})`
          : p === def.size
            ? ' (after the last partition)'
            : p === 0
              ? ' (before the first partition)'
              : '';
      return { keys: keysIn(def, p - NEIGHBOURS, p + NEIGHBOURS), note };
    }
  }
  return { keys: closestByEditDistance(def, key, 2 * NEIGHBOURS), note: '' };
}

/** Keys of the existing indexes in [from, to). */
function keysIn(def: PartitionsDefinition, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = Math.max(0, from); i < Math.min(def.size, to); i++) out.push(def.keyAt(i));
  return out;
}

/** The first index whose key sorts after `key` (keys in index order must be sorted). */
function upperBound(def: PartitionsDefinition, key: string): number {
  let lo = 0;
  let hi = def.size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (def.keyAt(mid) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Formats whose keys sort as text in time order: year first, then month, day, hour, minute. */
function sortsChronologically(fmt: string): boolean {
  return /^%Y(?:[-_./]?%m(?:[-_./]?%d(?:[-_T ]?%H(?::?%M(?::?%S)?)?)?)?)?$/.test(fmt);
}

function closestByEditDistance(def: PartitionsDefinition, key: string, count: number): string[] {
  const best: Array<{ key: string; d: number }> = [];
  for (let i = 0; i < def.size; i++) {
    const k = def.keyAt(i);
    const d = distance(key, k);
    if (best.length === count && d >= best[best.length - 1]!.d) continue;
    // Insert after the entries at the same distance: ties keep index order.
    let at = best.length;
    while (at > 0 && best[at - 1]!.d > d) at--;
    best.splice(at, 0, { key: k, d });
    if (best.length > count) best.pop();
  }
  return best.map((b) => b.key);
}
