import { isMap, isScalar, isSeq } from 'yaml';
import { parseMemory } from '../cost/units.ts';
import {
  EXECUTORS,
  type AssetDefinition,
  type BackfillStrategy,
  type CheckSpec,
  type CostRate,
  type ExecutorName,
  type Resources,
  type SlurmOptions,
} from '../model.ts';
import { didYouMean } from '../suggest.ts';
import { describeValue, short, type Reporter } from './report.ts';
import type { YamlFile, YNode } from './yaml.ts';

/** The settings the loader copies onto the definition as read, in this order (stable JSON output). */
export const OPTIONAL_ASSET_FIELDS = [
  'run',
  'code_version',
  'source',
  'source_outside_workspace',
  'output',
  'output_outside_workspace',
  'cwd',
  'env',
  'pool',
  'retries',
  'timeout',
  'backfill',
  'checks',
  'cost',
  'resources',
  'executor',
  'slurm',
] as const satisfies ReadonlyArray<keyof AssetDefinition>;
export const ASSET_KEYS = ['description', 'group', 'partitions', 'deps', ...OPTIONAL_ASSET_FIELDS] as const;
const DEP_KEYS = ['asset', 'mapping'];
const BACKFILL_KEYS = ['strategy', 'max_partitions_per_run'];
const STRATEGIES = ['per_partition', 'single_run'];
const CHECK_KEYS = ['name', 'run', 'blocking'];
const COST_KEYS = ['per_run', 'per_partition', 'per_hour'] as const;
const RESOURCE_KEYS = ['cpus', 'memory'];

export const DEFAULT_GROUP = 'default';

/** Asset and partition set names. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A dependency as written, before the upstream is known. */
export interface RawDependency {
  asset: string;
  /** The whole dependency (the string, or the `{asset, mapping}` mapping). */
  node: YNode;
  /** The upstream's name as written: where problems with the dependency are shown. */
  nameNode: YNode;
  /** The `mapping:` value, when given (and not empty). */
  mappingNode: YNode | undefined;
}

/** The fields of an asset that need nothing but its own text. */
export type AssetFields = Omit<AssetDefinition, 'name' | 'location' | 'partitions' | 'partitionsRef' | 'deps'>;

/** `slurm:` as written in an asset: its own settings and maybe the profile they extend. */
export interface RawSlurm {
  options: SlurmOptions;
  profile?: { name: string; node: YNode };
}

export interface AssetSpec {
  fields: AssetFields;
  /** The `partitions:` value, when given (and not empty). */
  partitionsNode: YNode | undefined;
  deps: RawDependency[];
  /** The `pool:` value node, when a pool is named. */
  poolNode: YNode | undefined;
  /** The `output:` value node, when an output is given. */
  outputNode: YNode | undefined;
  /** The `source:` value node, when sources are given. */
  sourceNode: YNode | undefined;
  /** `slurm:` with the profile it names, resolved by the loader. */
  slurm: RawSlurm | undefined;
}

/**
 * Reads the fields of one asset. Invalid fields are reported and left out; the asset itself is
 * only refused (null) when its value is not a mapping.
 */
export function readAsset(file: YamlFile, name: string, keyNode: YNode, valueNode: YNode | null, report: Reporter): AssetSpec | null {
  const spec: AssetSpec = {
    fields: { group: DEFAULT_GROUP },
    partitionsNode: undefined,
    deps: [],
    poolNode: undefined,
    outputNode: undefined,
    sourceNode: undefined,
    slurm: undefined,
  };
  const map = file.resolve(valueNode);
  if (isNull(file, map)) return spec;
  if (!isMap(map)) {
    report.error(
      file,
      valueNode ?? keyNode,
      'invalid-value',
      `asset "${name}" must be a mapping of settings (run, deps, partitions...), got ${kindOf(file, valueNode)}`,
    );
    return null;
  }
  const r = new FieldReader(file, report, `in asset "${name}"`);
  const f = spec.fields;
  for (const { key, keyNode: k, valueNode: v } of file.entries(map)) {
    if (!(ASSET_KEYS as readonly string[]).includes(key)) {
      report.warning(file, k, 'unknown-key', `unknown key "${short(key)}" in asset "${name}"${didYouMean(key, ASSET_KEYS)}`);
      continue;
    }
    if (isNull(file, v)) continue; // `key:` with nothing after it: as if not written
    switch (key) {
      case 'description':
        set(f, 'description', r.string(key, v));
        break;
      case 'group':
        set(f, 'group', r.string(key, v, true));
        break;
      case 'run':
        set(f, 'run', r.string(key, v, true));
        break;
      case 'output':
        set(f, 'output', r.string(key, v, true));
        spec.outputNode = v ?? undefined;
        break;
      case 'output_outside_workspace':
        set(f, 'output_outside_workspace', r.boolean(key, v));
        break;
      case 'cwd':
        set(f, 'cwd', r.string(key, v, true));
        break;
      case 'code_version':
        set(f, 'code_version', r.scalarText(key, v, 'a string such as "3"'));
        break;
      case 'source':
        set(f, 'source', r.stringList(key, v));
        spec.sourceNode = v ?? undefined;
        break;
      case 'source_outside_workspace':
        set(f, 'source_outside_workspace', r.boolean(key, v));
        break;
      case 'env':
        set(f, 'env', r.env(key, v));
        break;
      case 'pool': {
        const pool = r.string(key, v, true);
        if (pool !== undefined) {
          f.pool = pool;
          spec.poolNode = v ?? undefined;
        }
        break;
      }
      case 'retries':
        set(f, 'retries', r.integer(key, v, 0, 'a whole number ≥ 0'));
        break;
      case 'timeout':
        set(f, 'timeout', r.positiveNumber(key, v));
        break;
      case 'backfill':
        set(f, 'backfill', r.backfill(key, v));
        break;
      case 'checks':
        set(f, 'checks', r.checks(key, v));
        break;
      case 'cost':
        set(f, 'cost', r.cost(key, v));
        break;
      case 'resources':
        set(f, 'resources', r.resources(key, v));
        break;
      case 'executor': {
        const value = r.string(key, v, true);
        if (value !== undefined && !(EXECUTORS as readonly string[]).includes(value))
          report.error(
            file,
            v,
            'invalid-value',
            `"executor" in asset "${name}" must be one of ${EXECUTORS.join(', ')}, got "${short(value)}"${didYouMean(value, EXECUTORS)}`,
          );
        else if (value !== undefined) f.executor = value as ExecutorName;
        break;
      }
      case 'slurm':
        spec.slurm = readSlurm(file, report, `in asset "${name}"`, v, true);
        break;
      case 'partitions':
        spec.partitionsNode = v ?? undefined;
        break;
      case 'deps':
        spec.deps = r.deps(key, v);
        break;
    }
  }
  return spec;
}

function set<K extends keyof AssetFields>(target: AssetFields, key: K, value: AssetFields[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** An absent or empty value (`key:` or `key: null`). */
export function isNull(file: YamlFile, node: YNode | null | undefined): boolean {
  if (node === null || node === undefined) return true;
  const n = file.resolve(node);
  return isScalar(n) && n.value === null;
}

/** How a node is described in "expected X, got Y" messages. */
export function kindOf(file: YamlFile, node: YNode | null | undefined): string {
  const n = file.resolve(node);
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return describeValue(n.value);
  return 'nothing';
}

/** Reads typed values, reporting bad ones (as errors) and returning undefined for them. */
class FieldReader {
  constructor(
    private readonly file: YamlFile,
    private readonly report: Reporter,
    /** `in asset "x"`: where the key is, for messages. */
    private readonly where: string,
  ) {}

  private bad(node: YNode | null, key: string, expected: string): undefined {
    this.report.error(this.file, node, 'invalid-value', `"${key}" ${this.where} must be ${expected}, got ${kindOf(this.file, node)}`);
    return undefined;
  }

  string(key: string, node: YNode | null, nonEmpty = false): string | undefined {
    const s = this.file.scalar(node);
    if (!s || typeof s.value !== 'string') return this.bad(node, key, 'a string');
    if (nonEmpty && s.value.trim() === '') return this.bad(node, key, 'a non-empty string');
    return s.value;
  }

  /** A string, or a number or boolean taken as written (`3.10` stays "3.10"). */
  scalarText(key: string, node: YNode | null, expected: string): string | undefined {
    const s = this.file.scalar(node);
    if (s && typeof s.value === 'string') return s.value;
    if (s && (typeof s.value === 'number' || typeof s.value === 'boolean' || typeof s.value === 'bigint')) return s.source;
    return this.bad(node, key, expected);
  }

  boolean(key: string, node: YNode | null): boolean | undefined {
    const s = this.file.scalar(node);
    if (!s || typeof s.value !== 'boolean') return this.bad(node, key, 'true or false');
    return s.value;
  }

  integer(key: string, node: YNode | null, min: number, expected: string): number | undefined {
    const s = this.file.scalar(node);
    if (!s || typeof s.value !== 'number' || !Number.isSafeInteger(s.value) || s.value < min) return this.bad(node, key, expected);
    return s.value;
  }

  positiveNumber(key: string, node: YNode | null): number | undefined {
    const s = this.file.scalar(node);
    if (!s || typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value <= 0)
      return this.bad(node, key, 'a number of seconds > 0');
    return s.value;
  }

  stringList(key: string, node: YNode | null): string[] | undefined {
    const n = this.file.resolve(node);
    if (isScalar(n) && typeof n.value === 'string') return [n.value];
    if (!isSeq(n)) return this.bad(node, key, 'a list of glob patterns');
    const out: string[] = [];
    for (const item of n.items as YNode[]) {
      const s = this.file.scalar(item);
      if (!s || typeof s.value !== 'string' || s.value === '') {
        this.bad(item, key, 'a list of glob patterns (strings)');
        continue;
      }
      out.push(s.value);
    }
    return out;
  }

  env(key: string, node: YNode | null): Record<string, string> | undefined {
    const n = this.file.resolve(node);
    if (!isMap(n)) return this.bad(node, key, 'a mapping of variable names to values');
    const out: Record<string, string> = {};
    for (const e of this.file.entries(n)) {
      if (e.key === '' || e.key.includes('=') || e.key.includes('\0')) {
        this.report.error(this.file, e.keyNode, 'invalid-value', `invalid environment variable name "${short(e.key)}" ${this.where}`);
        continue;
      }
      const value = this.scalarText(`env.${short(e.key)}`, e.valueNode, 'a string, number or true/false');
      if (value !== undefined) Object.defineProperty(out, e.key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  backfill(key: string, node: YNode | null): BackfillStrategy | undefined {
    const n = this.file.resolve(node);
    if (!isMap(n)) return this.bad(node, key, `a mapping such as {strategy: single_run, max_partitions_per_run: 30}`);
    let strategy: BackfillStrategy['strategy'] | undefined;
    let max: number | undefined;
    let maxNode: YNode | null = null;
    for (const e of this.file.entries(n)) {
      if (!BACKFILL_KEYS.includes(e.key)) {
        this.report.warning(
          this.file,
          e.keyNode,
          'unknown-key',
          `unknown key "${short(e.key)}" in backfill${didYouMean(e.key, BACKFILL_KEYS)}`,
        );
      } else if (e.key === 'strategy') {
        const s = this.file.scalar(e.valueNode);
        if (s && (s.value === 'per_partition' || s.value === 'single_run')) strategy = s.value;
        else {
          const hint = s && typeof s.value === 'string' ? didYouMean(s.value, STRATEGIES) : '';
          this.report.error(
            this.file,
            e.valueNode ?? e.keyNode,
            'invalid-value',
            `"backfill.strategy" ${this.where} must be per_partition or single_run, got ${kindOf(this.file, e.valueNode)}${hint}`,
          );
          return undefined;
        }
      } else if (!isNull(this.file, e.valueNode)) {
        max = this.integer('backfill.max_partitions_per_run', e.valueNode, 1, 'a whole number ≥ 1');
        if (max === undefined) return undefined;
        maxNode = e.valueNode;
      }
    }
    if (strategy === undefined) {
      this.report.error(this.file, node, 'invalid-value', `"backfill" ${this.where} needs a strategy: per_partition or single_run`);
      return undefined;
    }
    if (max !== undefined && strategy !== 'single_run') {
      this.report.warning(this.file, maxNode, 'invalid-value', 'max_partitions_per_run only applies to strategy: single_run');
    }
    return max === undefined ? { strategy } : { strategy, max_partitions_per_run: max };
  }

  /** `cost: {per_run: 0.40}` (or per_partition, per_hour): exactly one rate, a number ≥ 0. */
  cost(key: string, node: YNode | null): CostRate | undefined {
    const n = this.file.resolve(node);
    const example = 'a mapping with one rate such as {per_run: 0.40}, {per_partition: 0.02} or {per_hour: 3.2}';
    if (!isMap(n)) return this.bad(node, key, example);
    let rate: CostRate | undefined;
    let ok = true;
    for (const e of this.file.entries(n)) {
      if (!(COST_KEYS as readonly string[]).includes(e.key)) {
        this.report.error(
          this.file,
          e.keyNode,
          'unknown-key',
          `unknown rate "${short(e.key)}" in cost${didYouMean(e.key, COST_KEYS)} (per_run, per_partition or per_hour)`,
        );
        ok = false;
        continue;
      }
      const s = this.file.scalar(e.valueNode);
      if (!s || typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value < 0) {
        this.bad(e.valueNode ?? e.keyNode, `cost.${e.key}`, 'a number ≥ 0');
        ok = false;
        continue;
      }
      if (rate) {
        this.report.error(
          this.file,
          e.keyNode,
          'invalid-value',
          `cost ${this.where} has more than one rate: give one of per_run, per_partition, per_hour`,
        );
        ok = false;
        continue;
      }
      rate = { [e.key]: s.value } as CostRate;
    }
    if (ok && !rate) return this.bad(node, key, example);
    return ok ? rate : undefined;
  }

  /** `resources: {cpus: 2, memory: 6GiB}`. */
  resources(key: string, node: YNode | null): Resources | undefined {
    const n = this.file.resolve(node);
    if (!isMap(n)) return this.bad(node, key, 'a mapping such as {cpus: 2, memory: 6GiB}');
    const out: Resources = {};
    let ok = true;
    for (const e of this.file.entries(n)) {
      if (!RESOURCE_KEYS.includes(e.key)) {
        this.report.warning(
          this.file,
          e.keyNode,
          'unknown-key',
          `unknown key "${short(e.key)}" in resources${didYouMean(e.key, RESOURCE_KEYS)}`,
        );
        continue;
      }
      const s = this.file.scalar(e.valueNode);
      if (e.key === 'cpus') {
        if (!s || typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value <= 0) {
          this.bad(e.valueNode ?? e.keyNode, 'resources.cpus', 'a number of cores > 0');
          ok = false;
        } else out.cpus = s.value;
      } else {
        const bytes = s && (typeof s.value === 'string' || typeof s.value === 'number') ? parseMemory(s.value) : null;
        if (bytes === null) {
          this.bad(e.valueNode ?? e.keyNode, 'resources.memory', 'a size such as 6GiB, 512MiB or 2GB');
          ok = false;
        } else out.memory = bytes;
      }
    }
    return ok ? out : undefined;
  }

  checks(key: string, node: YNode | null): CheckSpec[] | undefined {
    const n = this.file.resolve(node);
    if (!isSeq(n)) return this.bad(node, key, 'a list of {name, run, blocking?}');
    const out: CheckSpec[] = [];
    const seen = new Map<string, YNode>();
    for (const item of n.items as YNode[]) {
      const m = this.file.resolve(item);
      if (!isMap(m)) {
        this.bad(item, 'checks', 'a list of {name, run, blocking?}');
        continue;
      }
      let name: string | undefined;
      let run: string | undefined;
      let blocking = true;
      let ok = true;
      let nameNode: YNode | null = null;
      for (const e of this.file.entries(m)) {
        if (!CHECK_KEYS.includes(e.key)) {
          this.report.warning(
            this.file,
            e.keyNode,
            'unknown-key',
            `unknown key "${short(e.key)}" in check${didYouMean(e.key, CHECK_KEYS)}`,
          );
        } else if (e.key === 'blocking') {
          const s = this.file.scalar(e.valueNode);
          if (s && typeof s.value === 'boolean') blocking = s.value;
          else {
            this.bad(e.valueNode, 'checks.blocking', 'true or false');
            ok = false;
          }
        } else {
          const v = this.string(`checks.${e.key}`, e.valueNode, true);
          if (v === undefined) ok = false;
          else if (e.key === 'name') {
            name = v;
            nameNode = e.valueNode;
          } else run = v;
        }
      }
      if (!ok) continue;
      if (name === undefined || run === undefined) {
        this.report.error(this.file, item, 'invalid-value', `a check ${this.where} needs a name and a run command`);
        continue;
      }
      const first = seen.get(name);
      if (first) {
        this.report.error(
          this.file,
          nameNode,
          'invalid-value',
          `duplicate check "${name}" ${this.where} (first at line ${this.file.position(first).line})`,
        );
        continue;
      }
      seen.set(name, nameNode ?? item);
      out.push({ name, run, blocking });
    }
    return out;
  }

  deps(key: string, node: YNode | null): RawDependency[] {
    const n = this.file.resolve(node);
    if (!isSeq(n)) return this.bad(node, key, 'a list of asset names or {asset, mapping}') ?? [];
    const out: RawDependency[] = [];
    for (const item of n.items as YNode[]) {
      const resolved = this.file.resolve(item);
      const s = this.file.scalar(item);
      if (s && typeof s.value === 'string' && s.value !== '') {
        out.push({ asset: s.value, node: item, nameNode: item, mappingNode: undefined });
        continue;
      }
      if (!isMap(resolved)) {
        this.bad(item, 'deps', 'a list of asset names or {asset, mapping}');
        continue;
      }
      let asset: string | undefined;
      let nameNode: YNode | null = null;
      let mappingNode: YNode | undefined;
      let ok = true;
      for (const e of this.file.entries(resolved)) {
        if (!DEP_KEYS.includes(e.key)) {
          this.report.warning(
            this.file,
            e.keyNode,
            'unknown-key',
            `unknown key "${short(e.key)}" in dependency${didYouMean(e.key, DEP_KEYS)}`,
          );
        } else if (e.key === 'asset') {
          asset = this.string('deps.asset', e.valueNode, true);
          nameNode = e.valueNode;
          if (asset === undefined) ok = false;
        } else if (!isNull(this.file, e.valueNode)) {
          mappingNode = e.valueNode ?? undefined;
        }
      }
      if (!ok) continue;
      if (asset === undefined || nameNode === null) {
        this.report.error(
          this.file,
          item,
          'invalid-value',
          `a dependency ${this.where} needs the name of an asset: {asset: NAME, mapping: ...}`,
        );
        continue;
      }
      out.push({ asset, node: item, nameNode, mappingNode });
    }
    return out;
  }
}

const SLURM_KEYS = ['profile', 'partition', 'account', 'qos', 'cpus', 'mem', 'time', 'gres', 'extra_args'];
/** A Slurm name (partition, account, QOS): what sbatch accepts, and nothing a shell would read. */
const SLURM_NAME = /^[A-Za-z0-9_.:+-]+$/;

/**
 * `slurm: {partition, account, qos, cpus, mem, time, gres, extra_args}` (and in an asset,
 * `profile:`, a name from `slurm_profiles:`). Invalid settings are reported and left out.
 */
export function readSlurm(file: YamlFile, report: Reporter, where: string, node: YNode | null, withProfile: boolean): RawSlurm | undefined {
  const map = file.resolve(node);
  if (!isMap(map)) {
    report.error(
      file,
      node,
      'invalid-value',
      `"slurm" ${where} must be a mapping such as {partition: batch, time: 60}, got ${kindOf(file, node)}`,
    );
    return undefined;
  }
  const keys = withProfile ? SLURM_KEYS : SLURM_KEYS.filter((k) => k !== 'profile');
  const out: RawSlurm = { options: {} };
  const o = out.options;
  const bad = (n: YNode | null, key: string, expected: string): void =>
    report.error(file, n, 'invalid-value', `"slurm.${key}" ${where} must be ${expected}, got ${kindOf(file, n)}`);
  for (const e of file.entries(map)) {
    if (!keys.includes(e.key)) {
      report.warning(file, e.keyNode, 'unknown-key', `unknown key "${short(e.key)}" in slurm${didYouMean(e.key, keys)}`);
      continue;
    }
    if (isNull(file, e.valueNode)) continue;
    const s = file.scalar(e.valueNode);
    const text = s && (typeof s.value === 'string' || typeof s.value === 'number') ? String(s.value) : undefined;
    switch (e.key) {
      case 'profile':
      case 'partition':
      case 'account':
      case 'qos':
      case 'gres':
        if (text === undefined || !SLURM_NAME.test(text)) bad(e.valueNode, e.key, 'a name (letters, digits, _ . : + -)');
        else if (e.key === 'profile') out.profile = { name: text, node: e.valueNode! };
        else o[e.key] = text;
        break;
      case 'cpus':
        if (!s || typeof s.value !== 'number' || !Number.isSafeInteger(s.value) || s.value < 1)
          bad(e.valueNode, e.key, 'a whole number of cores ≥ 1');
        else o.cpus = s.value;
        break;
      case 'mem': {
        const bytes = text === undefined ? null : parseMemory(text);
        if (bytes === null) bad(e.valueNode, e.key, 'a size such as 6GiB or 4000M');
        else o.mem = bytes;
        break;
      }
      case 'time': {
        const minutes = text === undefined ? null : slurmMinutes(text);
        if (minutes === null) bad(e.valueNode, e.key, 'minutes (90) or a Slurm time (1:30:00, 2-00:00:00)');
        else o.time = minutes;
        break;
      }
      case 'extra_args': {
        const seq = file.resolve(e.valueNode);
        const args = isSeq(seq) ? (seq.items as YNode[]).map((i) => file.scalar(i)?.value) : null;
        if (!args || !args.every((a): a is string => typeof a === 'string' && /^--?[A-Za-z]/.test(a)))
          bad(e.valueNode, e.key, 'a list of sbatch options, each one argument such as --constraint=avx2');
        else o.extra_args = args;
        break;
      }
    }
  }
  return out;
}

/** Minutes from `90`, `1:30:00` (h:m:s), `30:00` (m:s), `2-00:00:00` (days-h:m:s), `2-12` (days-h); null if not a time. */
export function slurmMinutes(text: string): number | null {
  const t = text.trim();
  let m: RegExpExecArray | null;
  let seconds: number;
  if ((m = /^(\d+)$/.exec(t))) seconds = Number(m[1]) * 60;
  else if ((m = /^(\d+):(\d{1,2})$/.exec(t))) seconds = Number(m[1]) * 60 + Number(m[2]);
  else if ((m = /^(\d+):(\d{1,2}):(\d{1,2})$/.exec(t))) seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  else if ((m = /^(\d+)-(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?$/.exec(t)))
    seconds = Number(m[1]) * 86400 + Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  else return null;
  return seconds > 0 ? Math.ceil(seconds / 60) : null;
}
