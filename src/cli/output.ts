import * as path from 'node:path';
import type { MappingSummary } from '../core/mappings/mapping.ts';
import type { PartitionsDefinition } from '../core/partitions/definition.ts';
import { MultiPartitionsDefinition } from '../core/partitions/multi.ts';
import { PartitionSubset } from '../core/partitions/subset.ts';

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
/** The command ran and found problems (`validate` with errors), or an internal error. */
export const EXIT_FAILURE = 1;
/** Bad usage or bad input: unknown option, unknown asset, partition that does not exist. */
export const EXIT_USAGE = 2;
/** `run --sample` / `resume`: the backfill paused with tasks left to run (`backfill resume` runs them). */
export const EXIT_PAUSED = 3;

/** The horizontal ellipsis that separates the two ends of a key range in human output. */
export const RANGE = '…';

/**
 * Writes one JSON document on stdout: indented for a person at a terminal, one line when piped
 * (large impact sets stay small and `jq` does not care).
 */
export function printJson(value: unknown, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(JSON.stringify(value, null, stream.isTTY ? 2 : undefined) + '\n');
}

/** A path as shown to the user: relative to `root` (the workspace, or the folder the command was typed in) with `/` separators, absolute when outside it. */
export function relativePath(root: string, file: string): string {
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return rel.split(path.sep).join('/');
}

/** `1 error`, `2 errors`. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/** `2024-06-01T00:00:00Z`: an instant as the CLI prints it (to the second). */
export { formatInstant } from '../core/select/resolve.ts';

// ---------------------------------------------------------------------------------------------
// Colour

export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

/** Colour only for a terminal, and never when NO_COLOR is set to a non-empty value (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const enabled = stream.isTTY === true && !env['NO_COLOR'];
  const sgr = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    green: sgr(32, 39),
    cyan: sgr(36, 39),
  };
}

/** Length of a string as shown, without colour escapes (for column alignment). */
export function visibleLength(s: string): number {
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Rows of cells padded into aligned columns (the last cell of a row is not padded). */
export function columns(rows: readonly string[][], gap = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)) : cell))
      .join(gap)
      .trimEnd(),
  );
}

// ---------------------------------------------------------------------------------------------
// Partition sets as text

/**
 * The subset as compressed runs of consecutive partitions: `2024-01-01…2024-03-31 (91)`, a
 * single key alone, two keys as `a, b`.
 */
export function formatRanges(def: PartitionsDefinition, subset: PartitionSubset): string[] {
  const out: string[] = [];
  for (const [start, end] of subset.ranges()) {
    const n = end - start;
    // Static keys have no order worth a range: `us…apac (3)` would hide eu.
    if (n === 1 || def.kind === 'static') for (let i = start; i < end; i++) out.push(def.keyAt(i));
    else if (n === 2) out.push(def.keyAt(start), def.keyAt(start + 1));
    else out.push(`${def.keyAt(start)}${RANGE}${def.keyAt(end - 1)} (${n})`);
  }
  return out;
}

/**
 * A one-line description of a set of partitions, at most `maxParts` runs long:
 * `2024-01-01…2024-03-31 (91)`, `us, eu`, `date 2024-01-01…2024-01-31 (31) × region eu, us`.
 */
export function describeSubset(def: PartitionsDefinition, subset: PartitionSubset, maxParts = 6): string {
  if (def.kind === 'unpartitioned') return 'unpartitioned';
  if (subset.isEmpty) return 'none';
  if (def instanceof MultiPartitionsDefinition && subset.rangeCount > 1) {
    // Row-major ranges of a product are many; a product reads better dimension by dimension.
    const parts = def.project(subset);
    if (def.product(parts).equals(subset)) {
      return def.dimensions.map((d, i) => `${d.name} ${describeSubset(d.def, parts[i]!, maxParts)}`).join(' × ');
    }
  }
  const runs = formatRanges(def, subset);
  if (runs.length <= maxParts) return runs.join(', ');
  const shown = runs.slice(0, maxParts - 1);
  return `${shown.join(', ')}, … ${runs[runs.length - 1]} (${subset.size} in ${subset.rangeCount} runs)`;
}

/** A one-line description of all the partitions of a definition: `daily 152 2024-01-01…2024-05-31`. */
export function describeDefinition(def: PartitionsDefinition): string {
  if (def.kind === 'unpartitioned') return 'unpartitioned';
  if (def.size === 0) return `${def.kind} 0 (none yet)`;
  if (def instanceof MultiPartitionsDefinition) {
    return `multi ${def.size} (${def.dimensions.map((d) => `${d.name}: ${describeDefinition(d.def)}`).join(' × ')})`;
  }
  if (def.kind === 'static') return `static ${def.size} ${describeSubset(def, PartitionSubset.all(def.size), 6)}`;
  const first = def.keyAt(0);
  return def.size === 1 ? `${def.kind} 1 ${first}` : `${def.kind} ${def.size} ${first}${RANGE}${def.keyAt(def.size - 1)}`;
}

/** A dependency's mapping as a short phrase; empty for identity (the usual case). */
export function describeMapping(m: MappingSummary): string {
  switch (m.kind) {
    case 'identity':
      return '';
    case 'all':
    case 'last':
      return m.kind;
    case 'time_window': {
      const window = m.start_offset === m.end_offset ? `offset ${m.start_offset}` : `offsets ${m.start_offset}..${m.end_offset}`;
      return m.allow_nonexistent ? `${window}, allow nonexistent` : window;
    }
    case 'static':
      return `static (${plural(Object.keys(m.pairs).length, 'key')})`;
    case 'specific':
      return `specific ${m.keys.join(', ')}`;
    case 'dimension': {
      const inner = describeMapping(m.mapping);
      return `dimension ${m.dimension}${inner ? ` ${inner}` : ''}`;
    }
    case 'dimensions':
      return Object.entries(m.dimensions)
        .map(([dim, inner]) => `${dim}: ${describeMapping(inner) || 'identity'}`)
        .join(', ');
  }
}

// ---------------------------------------------------------------------------------------------
// State

/**
 * A partition or attempt status in its colour: failed red, stale yellow, fresh and success
 * green, running cyan, missing and canceled dim. Only fresh is ever green.
 */
export function colourStatus(style: Style, status: string): string {
  switch (status) {
    case 'failed':
      return style.red(status);
    case 'stale':
      return style.yellow(status);
    case 'fresh':
    case 'success':
      return style.green(status);
    case 'running':
      return style.cyan(status);
    default:
      return style.dim(status);
  }
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
