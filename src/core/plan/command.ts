import * as path from 'node:path';
import { DateTime } from 'luxon';
import { UserError } from '../diagnostics.ts';
import type { AssetDefinition } from '../model.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import type { PartitionSubset } from '../partitions/subset.ts';
import { TimeWindowPartitionsDefinition } from '../partitions/time.ts';

/** POSIX shell quoting: the value becomes one literal word, whatever it contains. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface RenderedCommand {
  command: string;
  cwd: string;
  env: Record<string, string>;
}

const PLACEHOLDER = /\{(partition|partitions|start|end|first|last|asset|dim:[^}]+)\}/y;

/**
 * Replaces the placeholders of a shell command template, each quoted for where it stands: a
 * value must stay data in every quoting context, so that a partition key like `$(touch x)` or
 * `a"b` never becomes code. Outside quotes it becomes one single-quoted word per value; inside
 * "…" its `$`, backquote, `"` and backslash are escaped (the values joined by spaces); inside
 * '…' the single quotes are closed around a quoted word and reopened.
 */
export function substitute(template: string, values: (name: string) => string[]): string {
  let out = '';
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < template.length;) {
    PLACEHOLDER.lastIndex = i;
    const m = PLACEHOLDER.exec(template);
    if (m) {
      const v = values(m[1]!);
      if (quote === '') out += v.map(shellQuote).join(' ');
      else if (quote === '"') out += v.join(' ').replace(/[\\$`"]/g, '\\$&');
      else out += `'${shellQuote(v.join(' '))}'`;
      i += m[0].length;
      continue;
    }
    const c = template[i]!;
    out += c;
    i++;
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (c === '\\' && i < template.length) {
      // An escaped character is literal (outside quotes and inside "…" alike).
      out += template[i]!;
      i++;
    } else if (c === '"') quote = quote === '"' ? '' : '"';
    else if (c === "'" && quote === '') quote = "'";
  }
  return out;
}

/**
 * The shell command of one task: the asset's `run` template with every placeholder replaced
 * by a shell-quoted value, the folder it runs in and the BACKFILL_* environment.
 * `partitions` are the indexes of the task's partitions (one for a per-partition task, a
 * contiguous run for a single-run task).
 */
export function renderCommand(asset: AssetDefinition, partitions: PartitionSubset, runId: string, template = asset.run): RenderedCommand {
  if (!template)
    throw new UserError(
      `asset "${asset.name}" has no run command: add run: to its definition in ${asset.location.file}:${asset.location.line}`,
    );
  const def = asset.partitions;
  const indexes = [...partitions];
  const keys = def.kind === 'unpartitioned' ? [] : indexes.map((i) => def.keyAt(i));
  const single = indexes.length === 1;
  let start = '';
  let end = '';
  const timeDef = def instanceof TimeWindowPartitionsDefinition ? def : null;
  if (timeDef && indexes.length > 0) {
    const zone = timeDef.timezone;
    start = DateTime.fromMillis(timeDef.window(indexes[0]!).start, { zone }).toISO()!;
    end = DateTime.fromMillis(timeDef.window(indexes[indexes.length - 1]!).end, { zone }).toISO()!;
  }
  const dims = new Map<string, string>();
  if (def instanceof MultiPartitionsDefinition && single) {
    const parts = def.split(indexes[0]!);
    def.dimensions.forEach((d, i) => dims.set(d.name, d.def.keyAt(parts[i]!)));
  }
  const values = (name: string): string[] => {
    switch (name) {
      case 'partition':
        if (!single && def.kind !== 'unpartitioned')
          throw new UserError(
            `asset "${asset.name}" runs several partitions per command: use {first}, {last} or {partitions} instead of {partition}`,
          );
        return [keys[0] ?? ''];
      case 'partitions':
        return keys;
      case 'first':
        return [keys[0] ?? ''];
      case 'last':
        return [keys[keys.length - 1] ?? ''];
      case 'start':
        return [start];
      case 'end':
        return [end];
      case 'asset':
        return [asset.name];
      default: {
        const dim = name.slice(4);
        const v = dims.get(dim);
        if (v === undefined) {
          throw new UserError(
            def instanceof MultiPartitionsDefinition
              ? `asset "${asset.name}": {${name}} needs one partition per command and a dimension named "${dim}" (${def.dimensions.map((d) => d.name).join(', ')})`
              : `asset "${asset.name}" is not multi-partitioned: {${name}} has no value`,
          );
        }
        return [v];
      }
    }
  };
  const command = substitute(template, (name) => values(name));
  const folder = path.dirname(asset.location.file);
  const env: Record<string, string> = {
    ...(asset.env ?? {}),
    BACKFILL_ASSET: asset.name,
    BACKFILL_START: start,
    BACKFILL_END: end,
    BACKFILL_RUN_ID: runId,
  };
  if (single || def.kind === 'unpartitioned') env['BACKFILL_PARTITION'] = keys[0] ?? '';
  else env['BACKFILL_PARTITIONS'] = keys.join('\n');
  return { command, cwd: asset.cwd ? path.resolve(folder, asset.cwd) : folder, env };
}
