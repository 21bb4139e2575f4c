import { SpecError } from '../diagnostics.ts';
import type { Built } from '../partitions/build.ts';
import { StaticPartitionsDefinition, type PartitionsDefinition } from '../partitions/definition.ts';
import { MultiPartitionsDefinition } from '../partitions/multi.ts';
import { PartitionSubset } from '../partitions/subset.ts';
import { TimeWindowPartitionsDefinition } from '../partitions/time.ts';
import { didYouMean } from '../suggest.ts';
import { formatKeyList } from './format.ts';
import type { PartitionMapping } from './mapping.ts';
import {
  AllMapping,
  DimensionMapping,
  IdentityMapping,
  LastMapping,
  MultiMapping,
  SpecificMapping,
  StaticMapping,
  TimeWindowMapping,
} from './mappings.ts';

type Path = Array<string | number>;

const NAMED = ['identity', 'all', 'last'];
const FORMS = ['offset', 'start_offset', 'end_offset', 'allow_nonexistent', 'static', 'specific', 'dimension', 'dimensions'];
const FORMS_HELP =
  'identity | all | last | {offset: N} | {start_offset, end_offset, allow_nonexistent} | {static: {up: down}} | {specific: [keys]} | {dimension: name} | {dimensions: {dim: mapping}}';

interface Context {
  self: boolean;
  upstreamName: string;
  warnings: SpecError[];
}

/**
 * Builds the mapping of one dependency from the plain value written under `mapping:`
 * (`undefined` when omitted: the default mapping for the two definitions).
 * Throws SpecError (with a path into `raw`) when the mapping does not fit the definitions.
 * Warnings say which upstream partitions the mapping requires that do not exist.
 */
export function buildMapping(
  raw: unknown,
  upstream: PartitionsDefinition,
  downstream: PartitionsDefinition,
  options: { self: boolean; upstreamName: string },
): Built<PartitionMapping> {
  const ctx: Context = { ...options, warnings: [] };
  const value = build(raw, upstream, downstream, [], ctx);
  if (downstream.size > 0) {
    const { partitions, missing } = value.upstreamFor(PartitionSubset.all(downstream.size));
    if (missing.length > 0) {
      const message = `reads ${missing.length} partition${missing.length === 1 ? '' : 's'} of ${options.upstreamName} that do${missing.length === 1 ? 'es' : ''} not exist: ${formatKeyList(missing)}. Those partitions cannot be backfilled; set allow_nonexistent: true in a time mapping if that is expected`;
      if (partitions.isEmpty && !options.self && upstream.size > 0) {
        throw new SpecError(`the mapping does not fit: no partition of ${options.upstreamName} matches — it ${message}`);
      }
      ctx.warnings.push(new SpecError(`this dependency ${message}`));
    }
  }
  return { value, warnings: ctx.warnings };
}

function build(raw: unknown, up: PartitionsDefinition, down: PartitionsDefinition, path: Path, ctx: Context): PartitionMapping {
  if (raw === undefined || raw === null) return defaultMapping(up, down, path, ctx);
  if (typeof raw === 'string') {
    switch (raw) {
      case 'identity':
        return identity(up, down, path, false);
      case 'all':
        return new AllMapping(up, down, false);
      case 'last':
        return new LastMapping(up, down);
      default:
        throw new SpecError(`unknown mapping "${raw}"${didYouMean(raw, NAMED)} (one of ${FORMS_HELP})`, path);
    }
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new SpecError(`a mapping is one of ${FORMS_HELP}`, path);
  const spec = raw as Record<string, unknown>;
  const keys = Object.keys(spec);
  for (const k of keys) {
    if (!FORMS.includes(k))
      throw new SpecError(`unknown mapping key "${k}"${didYouMean(k, FORMS)} (one of ${FORMS_HELP})`, [...path, k], { onKey: true });
  }

  if ('static' in spec) {
    only(spec, ['static'], path);
    return staticMapping(spec['static'], up, down, [...path, 'static']);
  }
  if ('specific' in spec) {
    only(spec, ['specific'], path);
    const list = spec['specific'];
    if (!Array.isArray(list) || list.length === 0)
      throw new SpecError('specific takes a non-empty list of upstream keys', [...path, 'specific']);
    return new SpecificMapping(
      list.map((k, i) => keyText(k, [...path, 'specific', i])),
      up,
      down,
    );
  }
  if ('dimension' in spec) {
    only(spec, ['dimension'], path);
    const name = spec['dimension'];
    if (typeof name !== 'string') throw new SpecError('dimension takes the name of a dimension', [...path, 'dimension']);
    return dimensionMapping(name, up, down, [...path, 'dimension'], ctx, false);
  }
  if ('dimensions' in spec) {
    only(spec, ['dimensions'], path);
    return multiMapping(spec['dimensions'], up, down, [...path, 'dimensions'], ctx, false);
  }

  // Time window forms.
  if ('offset' in spec && ('start_offset' in spec || 'end_offset' in spec)) {
    throw new SpecError('give either offset or start_offset/end_offset, not both', [...path, 'offset']);
  }
  const offset = 'offset' in spec ? intValue(spec['offset'], [...path, 'offset']) : undefined;
  const startOffset = offset ?? ('start_offset' in spec ? intValue(spec['start_offset'], [...path, 'start_offset']) : 0);
  const endOffset = offset ?? ('end_offset' in spec ? intValue(spec['end_offset'], [...path, 'end_offset']) : 0);
  const allow = spec['allow_nonexistent'];
  if (allow !== undefined && typeof allow !== 'boolean')
    throw new SpecError('allow_nonexistent is true or false', [...path, 'allow_nonexistent']);
  if (startOffset > endOffset)
    throw new SpecError(`start_offset (${startOffset}) is after end_offset (${endOffset})`, [...path, 'start_offset']);
  if (!(up instanceof TimeWindowPartitionsDefinition) || !(down instanceof TimeWindowPartitionsDefinition)) {
    const first = keys[0] ?? 'offset';
    throw new SpecError(`${first} applies to time partitions on both sides; ${describe(up)} → ${describe(down)} does not fit`, [
      ...path,
      first,
    ]);
  }
  return new TimeWindowMapping(up, down, startOffset, endOffset, allow === true, false, ctx.self);
}

/** Dagster's defaults: unpartitioned → all; time → time: overlapping windows; multi ↔ single: through the matching dimension; else identity. */
function defaultMapping(up: PartitionsDefinition, down: PartitionsDefinition, path: Path, ctx: Context): PartitionMapping {
  if (up.kind === 'unpartitioned' || down.kind === 'unpartitioned') return new AllMapping(up, down, true);
  if (up instanceof TimeWindowPartitionsDefinition && down instanceof TimeWindowPartitionsDefinition) {
    return new TimeWindowMapping(up, down, 0, 0, false, true, ctx.self);
  }
  const upMulti = up instanceof MultiPartitionsDefinition;
  const downMulti = down instanceof MultiPartitionsDefinition;
  if (upMulti !== downMulti) {
    const multi = (upMulti ? up : down) as MultiPartitionsDefinition;
    const single = upMulti ? down : up;
    const dim = matchingDimension(multi, single);
    if (dim === undefined) {
      throw new SpecError(
        `no default mapping between multi partitions (${multi.dimensions.map((d) => d.name).join(', ')}) and ${describe(single)}: write mapping: {dimension: NAME}`,
        path,
      );
    }
    return dimensionMapping(dim, up, down, path, ctx, true);
  }
  if (upMulti && downMulti) {
    const upNames = up.dimensions.map((d) => d.name).join('|');
    const downNames = down.dimensions.map((d) => d.name).join('|');
    if (upNames === downNames) return multiMapping({}, up, down, path, ctx, true);
  }
  return identity(up, down, path, true);
}

function identity(up: PartitionsDefinition, down: PartitionsDefinition, path: Path, isDefault: boolean): PartitionMapping {
  const timeUp = up instanceof TimeWindowPartitionsDefinition;
  const timeDown = down instanceof TimeWindowPartitionsDefinition;
  if (timeUp !== timeDown || up.kind === 'unpartitioned' || down.kind === 'unpartitioned') {
    throw new SpecError(
      `identity does not fit ${describe(up)} → ${describe(down)}: their keys cannot match; choose a mapping (all, last, static, specific, dimension)`,
      path,
    );
  }
  if (timeUp && timeDown) {
    // Same keys = same windows; the time mapping does this without comparing strings.
    return new TimeWindowMapping(
      up as TimeWindowPartitionsDefinition,
      down as TimeWindowPartitionsDefinition,
      0,
      0,
      false,
      isDefault,
      false,
    );
  }
  return new IdentityMapping(up, down, isDefault);
}

/** The dimension of `multi` that corresponds to the single definition, if exactly one does. */
function matchingDimension(multi: MultiPartitionsDefinition, single: PartitionsDefinition): string | undefined {
  if (single instanceof TimeWindowPartitionsDefinition) {
    return multi.dimensions.find((d) => d.def instanceof TimeWindowPartitionsDefinition)?.name;
  }
  if (single instanceof StaticPartitionsDefinition) {
    const equal = multi.dimensions.filter((d) => d.def.equals(single));
    if (equal.length === 1) return equal[0]!.name;
    const sharing = multi.dimensions.filter(
      (d) => d.def instanceof StaticPartitionsDefinition && single.keys.some((k) => d.def.indexOf(k) >= 0),
    );
    if (sharing.length === 1) return sharing[0]!.name;
  }
  return undefined;
}

function dimensionMapping(
  name: string,
  up: PartitionsDefinition,
  down: PartitionsDefinition,
  path: Path,
  ctx: Context,
  isDefault: boolean,
): PartitionMapping {
  const upMulti = up instanceof MultiPartitionsDefinition;
  const downMulti = down instanceof MultiPartitionsDefinition;
  if (upMulti === downMulti) {
    throw new SpecError(
      upMulti
        ? 'dimension maps multi ↔ single; between two multi definitions use dimensions: {dim: mapping}'
        : 'dimension needs multi partitions on one side',
      path,
    );
  }
  const multi = (upMulti ? up : down) as MultiPartitionsDefinition;
  const single = upMulti ? down : up;
  const index = multi.dimension(name);
  if (index < 0) {
    const names = multi.dimensions.map((d) => d.name);
    throw new SpecError(`no dimension "${name}"${didYouMean(name, names)} (dimensions: ${names.join(', ')})`, path);
  }
  const dimDef = multi.dimensions[index]!.def;
  const inner = upMulti ? defaultMapping(dimDef, single, path, ctx) : defaultMapping(single, dimDef, path, ctx);
  return new DimensionMapping(name, multi, upMulti, inner, isDefault);
}

function multiMapping(
  raw: unknown,
  up: PartitionsDefinition,
  down: PartitionsDefinition,
  path: Path,
  ctx: Context,
  isDefault: boolean,
): PartitionMapping {
  if (!(up instanceof MultiPartitionsDefinition) || !(down instanceof MultiPartitionsDefinition)) {
    throw new SpecError(`dimensions maps multi → multi; ${describe(up)} → ${describe(down)} does not fit`, path);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SpecError('dimensions takes {dimension: mapping, ...}', path);
  const spec = raw as Record<string, unknown>;
  const upNames = up.dimensions.map((d) => d.name);
  for (const name of Object.keys(spec)) {
    if (!upNames.includes(name))
      throw new SpecError(`no dimension "${name}" in ${ctx.upstreamName}${didYouMean(name, upNames)}`, [...path, name], { onKey: true });
    if (down.dimension(name) < 0)
      throw new SpecError(`dimension "${name}" is not a dimension of this asset`, [...path, name], { onKey: true });
  }
  const perDimension = up.dimensions.map((d) => {
    const downDim = down.dimension(d.name);
    if (downDim < 0) return null;
    const mapping = build(spec[d.name], d.def, down.dimensions[downDim]!.def, [...path, d.name], { ...ctx, self: false });
    return { downDim, mapping, name: d.name };
  });
  return new MultiMapping(up, down, perDimension, isDefault);
}

function staticMapping(raw: unknown, up: PartitionsDefinition, down: PartitionsDefinition, path: Path): PartitionMapping {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SpecError('static takes {upstream key: downstream key or [keys]}', path);
  }
  const pairs: Record<string, string[]> = {};
  for (const [u, v] of Object.entries(raw as Record<string, unknown>)) {
    if (up.indexOf(u) < 0)
      throw new SpecError(`"${u}" is not a partition of the upstream asset${didYouMean(u, sampleKeys(up))}`, [...path, u], { onKey: true });
    const list = Array.isArray(v) ? v : [v];
    pairs[u] = list.map((d, i) => {
      const key = keyText(d, Array.isArray(v) ? [...path, u, i] : [...path, u]);
      if (down.indexOf(key) < 0) {
        throw new SpecError(
          `"${key}" is not a partition of this asset${didYouMean(key, sampleKeys(down))}`,
          Array.isArray(v) ? [...path, u, i] : [...path, u],
        );
      }
      return key;
    });
  }
  return new StaticMapping(pairs, up, down);
}

function sampleKeys(def: PartitionsDefinition): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.min(def.size, 1000); i++) out.push(def.keyAt(i));
  return out;
}

function only(spec: Record<string, unknown>, allowed: string[], path: Path): void {
  for (const k of Object.keys(spec)) {
    if (!allowed.includes(k)) throw new SpecError(`"${k}" cannot be combined with ${allowed.join(', ')}`, [...path, k]);
  }
}

function intValue(v: unknown, path: Path): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SpecError('expected a whole number of partitions, e.g. -1', path);
  return v;
}

function keyText(v: unknown, path: Path): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new SpecError('expected a partition key', path);
}

function describe(def: PartitionsDefinition): string {
  return def.kind === 'unpartitioned' ? 'unpartitioned' : `${def.kind} partitions`;
}
