import * as path from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import { SpecError, type Diagnostic } from '../diagnostics.ts';
import { AssetGraph } from '../graph.ts';
import { buildMapping } from '../mappings/build.ts';
import type { AssetDefinition, AssetDependency, SlurmOptions } from '../model.ts';
import { buildPartitionsDefinition } from '../partitions/build.ts';
import { UnpartitionedDefinition, type PartitionsDefinition } from '../partitions/definition.ts';
import { isInside, outputPath } from '../state/observed.ts';
import { didYouMean } from '../suggest.ts';
import { isNull, kindOf, NAME_PATTERN, OPTIONAL_ASSET_FIELDS, readAsset, readSlurm, type RawDependency } from './asset.ts';
import { MAX_DEFINITION_FILE_BYTES, tooLargeMessage } from './files.ts';
import { Reporter, short, type DiagnosticCode } from './report.ts';
import { PlainValueError, YamlFile, type YNode } from './yaml.ts';

/** A definition file's text (from disk, or an editor's unsaved buffer). */
export interface SourceFile {
  /** Absolute path. */
  path: string;
  text: string;
}

/** Everything defined in a workspace's `*.assets.yaml` files, as of `now`. */
export interface Workspace {
  /** Absolute. */
  root: string;
  now: Date;
  /** Absolute paths of the definition files loaded, sorted. */
  files: string[];
  /** The valid assets (an asset with invalid or unknown partitions is left out). */
  assets: Map<string, AssetDefinition>;
  /** Over the valid assets. */
  graph: AssetGraph;
  /** Sorted by file, line, column. */
  diagnostics: Diagnostic[];
  /** Named concurrency pools (name → maximum concurrent runs). */
  pools: Map<string, number>;
  /** `cost_unit:` (USD, credits, …): the unit every cost is shown in. */
  costUnit?: string;
  /** `budget:`: the default --max-cost of every backfill, in the cost unit. */
  budget?: number;
}

export interface LoadOptions {
  /** The time partitions are computed for (partitions that end after it do not exist yet). */
  now: Date;
  /** Parsed files kept between loads of the same workspace (e.g. by the extension), so that only changed files are parsed again. */
  cache?: ParseCache;
}

/**
 * Parsed definition files by path. Parsing is most of the loading time (the YAML parser does
 * about 1–2 MB/s), so a host that reloads often (the extension, on every edit) keeps one of these.
 */
export class ParseCache {
  private readonly files = new Map<string, YamlFile>();

  parse(filePath: string, text: string): YamlFile {
    const cached = this.files.get(filePath);
    if (cached && cached.text === text) return cached;
    const file = new YamlFile(filePath, text);
    this.files.set(filePath, file);
    return file;
  }

  /** Forgets the files not in `paths` (deleted since). */
  retain(paths: Iterable<string>): void {
    const keep = new Set(paths);
    for (const p of this.files.keys()) if (!keep.has(p)) this.files.delete(p);
  }

  get size(): number {
    return this.files.size;
  }
}

const TOP_KEYS = ['assets', 'partitions', 'pools', 'cost_unit', 'budget', 'slurm_profiles'];
const PARTITION_KINDS = ['hourly', 'daily', 'weekly', 'monthly', 'cron', 'static', 'multi'];
const EXAMPLE_PARTITIONS = '{daily: {start: 2024-01-01}}';

/** A named thing (asset, partition set, pool) at its definition site. */
interface Site {
  name: string;
  file: YamlFile;
  keyNode: YNode;
  valueNode: YNode | null;
}

interface LoadedAsset {
  def: AssetDefinition;
  file: YamlFile;
  deps: RawDependency[];
}

/**
 * Loads definition files that are already in memory (used by tests, and by the extension for
 * unsaved buffers). Never throws: every problem becomes a diagnostic, and a broken file never
 * hides the assets of the others.
 */
export function loadWorkspaceFromSources(root: string, files: SourceFile[], options: LoadOptions): Workspace {
  const absRoot = path.resolve(root);
  const byPath = new Map<string, string>();
  for (const f of files) {
    const p = path.resolve(absRoot, f.path);
    if (!byPath.has(p)) byPath.set(p, typeof f.text === 'string' ? f.text : '');
  }
  const paths = [...byPath.keys()].sort();
  const loader = new Loader(new Reporter(absRoot), options.now);
  withPlainEnv(() => {
    for (const p of paths) loader.readFile(p, byPath.get(p)!, options.cache);
  });
  options.cache?.retain(paths);
  const { assets, graph } = loader.finish();
  return {
    root: absRoot,
    now: options.now,
    files: paths,
    assets,
    graph,
    diagnostics: loader.report.sorted(),
    pools: loader.pools,
    ...(loader.costUnit !== undefined ? { costUnit: loader.costUnit } : {}),
    ...(loader.budget !== undefined ? { budget: loader.budget } : {}),
  };
}

/**
 * The yaml parser reads `process.env.LOG_TOKENS` once per token, and Node's `process.env` is
 * a slow accessor into the C environment: a third of the parse time. Parsing is synchronous,
 * so a plain copy can stand in for it while we parse, and the real one goes back after.
 */
function withPlainEnv(fn: () => void): void {
  const env = process.env;
  process.env = { ...env };
  try {
    fn();
  } finally {
    process.env = env;
  }
}

class Loader {
  readonly pools = new Map<string, number>();
  /** `slurm_profiles:` by name: Slurm settings that assets share (`slurm: {profile: NAME}`). */
  private readonly slurmProfiles = new Map<string, { options: SlurmOptions; file: YamlFile; keyNode: YNode }>();
  costUnit: string | undefined;
  budget: number | undefined;
  /** Where `cost_unit` and `budget` were given (they are workspace-wide: one file gives each). */
  private readonly settingSites = new Map<string, { file: YamlFile; keyNode: YNode }>();
  /** Every name defined somewhere, even invalidly or in a file with syntax errors: no "unknown X" cascades. */
  private readonly knownAssets = new Set<string>();
  private readonly knownSets = new Set<string>();
  private readonly knownPools = new Set<string>();
  private readonly assetSites = new Map<string, Site>();
  private readonly setSites = new Map<string, Site>();
  private readonly poolSites = new Map<string, Site>();
  /** Built partition sets; null when invalid (reported at the definition). */
  private readonly sets = new Map<string, PartitionsDefinition | null>();
  /** Inline definitions written identically are built once. */
  private readonly inlineCache = new Map<string, PartitionsDefinition | Error | { value: PartitionsDefinition; warnings: SpecError[] }>();

  constructor(
    readonly report: Reporter,
    private readonly now: Date,
  ) {}

  // ---- Phase 1: parse each file, register the names it defines. ----

  readFile(filePath: string, text: string, cache: ParseCache | undefined): void {
    // Text given by a host that read it itself (an editor's buffer): too large to parse in bounded time and memory.
    if (text.length > MAX_DEFINITION_FILE_BYTES / 4 && Buffer.byteLength(text) > MAX_DEFINITION_FILE_BYTES) {
      this.report.diagnostics.push({
        file: filePath,
        line: 1,
        column: 1,
        endLine: 1,
        endColumn: 2,
        severity: 'error',
        code: 'read-error',
        message: tooLargeMessage(Buffer.byteLength(text)),
      });
      return;
    }
    let file: YamlFile;
    try {
      file = cache ? cache.parse(filePath, text) : new YamlFile(filePath, text);
    } catch (e) {
      this.report.diagnostics.push(internalError(filePath, e));
      return;
    }
    try {
      this.readParsed(file);
    } catch (e) {
      this.report.error(file, null, 'internal-error', `internal error while reading this file: ${messageOf(e)}`);
    }
  }

  private readParsed(file: YamlFile): void {
    const { doc } = file;
    for (const e of doc.errors) {
      const message =
        e.code === 'MULTIPLE_DOCS'
          ? 'a definition file holds a single YAML document: remove the --- separator or split the file'
          : e.message;
      this.report.error(file, e.pos, 'yaml-syntax', message);
    }
    for (const w of doc.warnings) this.report.warning(file, w.pos, 'yaml-warning', w.message);

    const top = new Map<string, { keyNode: YNode; valueNode: YNode | null }>();
    const rootNode = file.resolve(doc.contents as YNode | null);
    for (const e of file.entries(rootNode)) top.set(e.key, e);
    const own = new Set<YNode>();
    for (const k of TOP_KEYS) {
      const n = file.resolve(top.get(k)?.valueNode);
      if (n) own.add(n);
    }
    const { fatal, other } = file.structuralProblems(own);
    this.report.diagnostics.push(...fatal);

    if (doc.errors.length > 0 || fatal.length > 0) {
      // The file contributes nothing, but what it seems to define is not "unknown" elsewhere.
      for (const e of file.entries(top.get('assets')?.valueNode, true)) this.knownAssets.add(e.key);
      for (const e of file.entries(top.get('partitions')?.valueNode, true)) this.knownSets.add(e.key);
      for (const e of file.entries(top.get('pools')?.valueNode, true)) this.knownPools.add(e.key);
      return;
    }
    this.report.diagnostics.push(...other);

    if (isNull(file, doc.contents as YNode | null)) return; // empty file (or only comments)
    if (!isMap(rootNode)) {
      this.report.error(
        file,
        doc.contents as YNode,
        'invalid-file',
        `a definition file is a mapping with the keys ${TOP_KEYS.join(', ')}; got ${kindOf(file, doc.contents as YNode)}`,
      );
      return;
    }
    for (const [key, { keyNode }] of top) {
      if (TOP_KEYS.includes(key) || key.startsWith('x-')) continue;
      const hint =
        didYouMean(key, TOP_KEYS) || ` (expected ${TOP_KEYS.join(', ')}; keys starting with x- are ignored and can hold YAML anchors)`;
      this.report.warning(file, keyNode, 'unknown-key', `unknown top-level key "${short(key)}"${hint}`);
    }
    const partitions = top.get('partitions');
    if (partitions) this.readSets(file, partitions.valueNode);
    const pools = top.get('pools');
    if (pools) this.readPools(file, pools.valueNode);
    const profiles = top.get('slurm_profiles');
    if (profiles) this.readSlurmProfiles(file, profiles.valueNode);
    for (const key of ['cost_unit', 'budget'] as const) {
      const e = top.get(key);
      if (e) this.readSetting(file, key, e.keyNode, e.valueNode);
    }
    const assets = top.get('assets');
    if (assets) this.readAssetNames(file, assets.valueNode);
  }

  /** `cost_unit: USD` and `budget: 50`: workspace-wide, so given once. */
  private readSetting(file: YamlFile, key: 'cost_unit' | 'budget', keyNode: YNode, valueNode: YNode | null): void {
    const first = this.settingSites.get(key);
    if (first) {
      this.report.error(
        file,
        keyNode,
        'invalid-value',
        `${key} is already given at ${this.report.where(first.file, first.keyNode)}: give it in one file`,
      );
      return;
    }
    this.settingSites.set(key, { file, keyNode });
    const s = file.scalar(valueNode);
    if (key === 'cost_unit') {
      if (!s || typeof s.value !== 'string' || s.value.trim() === '' || s.value.length > 20) {
        this.report.error(
          file,
          valueNode ?? keyNode,
          'invalid-value',
          `cost_unit must be a short name such as USD or credits, got ${kindOf(file, valueNode)}`,
        );
        return;
      }
      this.costUnit = s.value.trim();
    } else {
      if (!s || typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value <= 0) {
        this.report.error(
          file,
          valueNode ?? keyNode,
          'invalid-value',
          `budget must be a number > 0 (the most a backfill may cost, in the cost unit), got ${kindOf(file, valueNode)}`,
        );
        return;
      }
      this.budget = s.value;
    }
  }

  /** The entries of a section, or [] (reporting it) when it is not a mapping. */
  private section(
    file: YamlFile,
    node: YNode | null,
    name: string,
    example: string,
  ): Array<{ key: string; keyNode: YNode; valueNode: YNode | null }> {
    if (isNull(file, node)) return [];
    if (!isMap(file.resolve(node))) {
      this.report.error(file, node, 'invalid-value', `"${name}" must be a mapping such as ${example}, got ${kindOf(file, node)}`);
      return [];
    }
    return file.entries(node, true);
  }

  private readSets(file: YamlFile, node: YNode | null): void {
    for (const e of this.section(file, node, 'partitions', `{daily_2024: ${EXAMPLE_PARTITIONS}}`)) {
      this.knownSets.add(e.key);
      if (!this.checkName(file, e.keyNode, e.key, 'partition set')) continue;
      if (this.duplicate(file, e.keyNode, this.setSites.get(e.key), 'duplicate-partition-set', `partition set "${e.key}"`)) continue;
      this.setSites.set(e.key, { name: e.key, file, keyNode: e.keyNode, valueNode: e.valueNode });
    }
  }

  /** A name defined a second time: reported at the second, naming the first (true); false when it is the first. */
  private duplicate(
    file: YamlFile,
    keyNode: YNode,
    first: { file: YamlFile; keyNode: YNode } | undefined,
    code: DiagnosticCode,
    what: string,
  ): boolean {
    if (!first) return false;
    this.report.error(file, keyNode, code, `${what} is already defined at ${this.report.where(first.file, first.keyNode)}`);
    return true;
  }

  private readSlurmProfiles(file: YamlFile, node: YNode | null): void {
    for (const e of this.section(file, node, 'slurm_profiles', '{gpu: {partition: gpu, gres: gpu:1}}')) {
      if (this.duplicate(file, e.keyNode, this.slurmProfiles.get(e.key), 'duplicate-profile', `Slurm profile "${short(e.key)}"`)) continue;
      const read = readSlurm(file, this.report, `in Slurm profile "${short(e.key)}"`, e.valueNode, false);
      this.slurmProfiles.set(e.key, { options: read?.options ?? {}, file, keyNode: e.keyNode });
    }
  }

  private readPools(file: YamlFile, node: YNode | null): void {
    for (const e of this.section(file, node, 'pools', '{api: 2}')) {
      this.knownPools.add(e.key);
      if (this.duplicate(file, e.keyNode, this.poolSites.get(e.key), 'duplicate-pool', `pool "${short(e.key)}"`)) continue;
      this.poolSites.set(e.key, { name: e.key, file, keyNode: e.keyNode, valueNode: e.valueNode });
      const s = file.scalar(e.valueNode);
      if (!s || typeof s.value !== 'number' || !Number.isSafeInteger(s.value) || s.value < 1) {
        this.report.error(
          file,
          isNull(file, e.valueNode) ? e.keyNode : e.valueNode,
          'invalid-value',
          `pool "${short(e.key)}" must be a whole number ≥ 1 (how many runs it allows at once), got ${kindOf(file, e.valueNode)}`,
        );
        continue;
      }
      this.pools.set(e.key, s.value);
    }
  }

  private readAssetNames(file: YamlFile, node: YNode | null): void {
    for (const e of this.section(file, node, 'assets', '{my_asset: {run: ...}}')) {
      this.knownAssets.add(e.key);
      if (!this.checkName(file, e.keyNode, e.key, 'asset')) continue;
      if (this.duplicate(file, e.keyNode, this.assetSites.get(e.key), 'duplicate-asset', `asset "${e.key}"`)) continue;
      this.assetSites.set(e.key, { name: e.key, file, keyNode: e.keyNode, valueNode: e.valueNode });
    }
  }

  private checkName(file: YamlFile, keyNode: YNode, name: string, what: string): boolean {
    const key = file.resolve(keyNode);
    if (isScalar(key) && NAME_PATTERN.test(name)) return true;
    this.report.error(
      file,
      keyNode,
      'invalid-name',
      `invalid ${what} name ${JSON.stringify(short(name))}: use letters, digits, _, . and -, starting with a letter or _`,
    );
    return false;
  }

  // ---- Phases 2-4, once every file is read. ----

  /** Sets being built, to catch a set whose dimensions name itself. */
  private readonly building = new Set<string>();

  /** Builds a named set once (on first use: a multi set may name other sets as dimensions). */
  private buildSet(name: string): PartitionsDefinition | null {
    if (this.sets.has(name)) return this.sets.get(name)!;
    const site = this.setSites.get(name)!;
    this.building.add(name);
    this.guard(site.file, site.keyNode, () => {
      const node = site.valueNode === null || isNull(site.file, site.valueNode) ? site.keyNode : site.valueNode;
      this.sets.set(site.name, this.partitions(site.file, node, false));
    });
    this.building.delete(name);
    if (!this.sets.has(name)) this.sets.set(name, null);
    return this.sets.get(name)!;
  }

  /** Resolves a set named as a multi dimension. */
  private readonly resolveSet = (name: string): PartitionsDefinition => {
    if (!this.setSites.has(name)) {
      throw new Error(`unknown partition set "${name}"${didYouMean(name, this.knownSets)}`);
    }
    if (this.building.has(name)) throw new Error(`partition set "${name}" uses itself as a dimension`);
    const def = this.buildSet(name);
    if (!def) throw new Error(`partition set "${name}" is invalid (see its definition)`);
    return def;
  };

  finish(): { assets: Map<string, AssetDefinition>; graph: AssetGraph } {
    for (const site of this.setSites.values()) this.buildSet(site.name);

    const loaded: LoadedAsset[] = [];
    for (const site of this.assetSites.values()) {
      this.guard(site.file, site.keyNode, () => {
        const asset = this.readAsset(site);
        if (asset) loaded.push(asset);
      });
    }
    const assets = new Map(loaded.map((a) => [a.def.name, a.def]));

    const depNodes = new Map<AssetDependency, { file: YamlFile; node: YNode }>();
    for (const a of loaded) {
      for (const raw of a.deps) {
        this.guard(a.file, raw.node, () => {
          const dep = this.dependency(a, raw, assets);
          if (!dep) return;
          a.def.deps.push(dep);
          depNodes.set(dep, { file: a.file, node: raw.nameNode });
        });
      }
    }

    let graph: AssetGraph;
    try {
      graph = new AssetGraph(assets.values());
    } catch (e) {
      // Should not happen; keep the workspace usable without dependencies rather than throw.
      const first = loaded[0];
      if (first) this.report.error(first.file, null, 'internal-error', `internal error while ordering the assets: ${messageOf(e)}`);
      graph = new AssetGraph([]);
    }
    for (const cycle of graph.cycles) {
      cycle.forEach((name, i) => {
        const next = cycle[(i + 1) % cycle.length]!;
        const dep = assets.get(name)?.deps.find((d) => d.asset === next);
        const at = dep && depNodes.get(dep);
        if (!at) return;
        const path = [...cycle.slice(i), ...cycle.slice(0, i), name].join(' → ');
        this.report.error(at.file, at.node, 'cycle', `dependency cycle: ${path}`);
      });
    }
    return { assets, graph };
  }

  /** Runs one step; an unexpected exception becomes a diagnostic instead of escaping. */
  private guard(file: YamlFile, node: YNode, step: () => void): void {
    try {
      step();
    } catch (e) {
      this.report.error(file, node, 'internal-error', `internal error: ${messageOf(e)}`);
    }
  }

  private readAsset(site: Site): LoadedAsset | null {
    const { file, name } = site;
    const spec = readAsset(file, name, site.keyNode, site.valueNode, this.report);
    if (!spec) return null;

    let partitions: PartitionsDefinition | null = UnpartitionedDefinition.INSTANCE;
    let partitionsRef: string | undefined;
    const pnode = spec.partitionsNode;
    if (pnode) {
      const s = file.scalar(pnode);
      const resolved = file.resolve(pnode);
      if (s && typeof s.value === 'string') {
        partitionsRef = s.value;
        partitions = this.sets.get(s.value) ?? null;
        if (!this.knownSets.has(s.value)) {
          const hint = PARTITION_KINDS.includes(s.value)
            ? ` (an inline definition is a mapping, e.g. partitions: {${s.value}: ...})`
            : didYouMean(s.value, this.knownSets) || (this.knownSets.size === 0 ? ' (name sets under the top-level partitions: key)' : '');
          this.report.error(file, pnode, 'unknown-partition-set', `unknown partition set "${s.value}"${hint}`);
        }
      } else if (isMap(resolved)) {
        partitions = this.partitions(file, pnode, true);
      } else {
        this.report.error(
          file,
          pnode,
          'invalid-value',
          `"partitions" in asset "${name}" must be the name of a partition set or a definition such as ${EXAMPLE_PARTITIONS}, got ${kindOf(file, pnode)}`,
        );
        partitions = null;
      }
    }

    const f = spec.fields;
    if (f.pool !== undefined && !this.knownPools.has(f.pool)) {
      const hint = didYouMean(f.pool, this.knownPools);
      this.report.warning(
        file,
        spec.poolNode ?? site.keyNode,
        'unknown-pool',
        `unknown pool "${f.pool}"${hint} (asset "${name}" runs without a pool limit)`,
      );
      delete f.pool;
    }
    if (partitions === null) return null; // reported where the partitions are defined

    const pos = file.position(site.keyNode);
    const def: AssetDefinition = {
      name,
      location: { file: file.path, line: pos.line, column: pos.column },
      group: f.group,
      ...(f.description !== undefined ? { description: f.description } : {}),
      partitions,
      ...(partitionsRef !== undefined ? { partitionsRef } : {}),
      deps: [],
    };
    // The optional settings in a fixed order (not the order written), for stable JSON output.
    for (const key of OPTIONAL_ASSET_FIELDS) {
      if (f[key] !== undefined) Object.assign(def, { [key]: f[key] });
    }
    if (spec.slurm) {
      const { options, profile } = spec.slurm;
      const shared = profile ? this.slurmProfiles.get(profile.name) : undefined;
      if (profile && !shared) {
        this.report.error(
          file,
          profile.node,
          'unknown-profile',
          `unknown Slurm profile "${short(profile.name)}"${didYouMean(profile.name, this.slurmProfiles.keys()) || ' (define it under slurm_profiles:)'}`,
        );
      }
      def.slurm = { ...shared?.options, ...options };
    }
    if (def.output !== undefined) this.checkOutput(file, spec.outputNode ?? site.keyNode, def);
    if (def.source !== undefined) this.checkSource(file, spec.sourceNode ?? site.keyNode, def);
    return { def, file, deps: spec.deps };
  }

  /**
   * Output paths stay in the workspace unless the asset says `output_outside_workspace: true`:
   * a template that leads out is an error (and dropped), partition keys that lead out (`../`)
   * a warning (those partitions' outputs are never looked at).
   */
  private checkOutput(file: YamlFile, node: YNode, def: AssetDefinition): void {
    if (def.output_outside_workspace) return;
    const root = this.report.root;
    const base = path.dirname(def.location.file);
    const template = def.output!;
    const fix = 'set output_outside_workspace: true on the asset to look there';
    const fixed = path.resolve(base, template.replace(/\{[^}]*\}/g, 'x'));
    if (!isInside(root, fixed)) {
      const why = path.isAbsolute(template) ? 'an absolute path' : `it leads to ${path.resolve(base, template)}`;
      this.report.error(
        file,
        node,
        'invalid-value',
        `output "${short(template)}" is outside the workspace (${why}), so it is never looked at: write a path inside the workspace, or ${fix}`,
      );
      delete def.output;
      return;
    }
    def.outputRoot = root;
    for (let i = 0; i < def.partitions.size; i++) {
      const p = path.resolve(base, outputPath(def, i));
      if (isInside(root, p)) continue;
      const key = def.partitions.keyAt(i);
      this.report.warning(
        file,
        node,
        'invalid-value',
        `the output of partition "${short(key)}" is outside the workspace (${p}), so it is never looked at; ${fix}`,
      );
      return;
    }
  }

  /**
   * `source:` globs stay in the workspace unless the asset says `source_outside_workspace: true`:
   * a pattern whose fixed part leads out (absolute, `../`) is an error (and dropped); files that
   * a pattern reaches through a symbolic link to outside are left out when the globs are listed.
   */
  private checkSource(file: YamlFile, node: YNode, def: AssetDefinition): void {
    if (def.source_outside_workspace) return;
    const root = this.report.root;
    const base = path.dirname(def.location.file);
    const list = file.resolve(node);
    const items = isSeq(list) ? (list.items as YNode[]) : [];
    const kept: string[] = [];
    for (const [i, pattern] of def.source!.entries()) {
      if (pattern.startsWith('!') || isInside(root, path.resolve(base, fixedPart(pattern)))) {
        kept.push(pattern);
        continue;
      }
      const why = path.isAbsolute(pattern) ? 'an absolute path' : `it reads ${path.resolve(base, fixedPart(pattern))}`;
      const at = items.find((item) => file.scalar(item)?.value === pattern) ?? items[i] ?? node;
      this.report.error(
        file,
        at,
        'invalid-value',
        `source "${short(pattern)}" is outside the workspace (${why}), so it is not read: write a pattern inside the workspace, or set source_outside_workspace: true on the asset to read there`,
      );
    }
    def.source = kept;
    def.sourceRoot = root;
  }

  /**
   * Builds a partitions definition from a node, reporting errors and warnings at the nodes
   * their paths point to. Null when invalid.
   */
  private partitions(file: YamlFile, node: YNode, cache: boolean): PartitionsDefinition | null {
    let raw: unknown;
    try {
      raw = file.toPlain(node);
    } catch (e) {
      this.report.error(file, node, 'invalid-partitions', messageOf(e));
      return null;
    }
    let key: string | undefined;
    if (cache) {
      try {
        key = JSON.stringify(raw);
      } catch {
        key = undefined;
      }
    }
    let result = key === undefined ? undefined : this.inlineCache.get(key);
    if (result === undefined) {
      try {
        result = buildPartitionsDefinition(raw, this.now, this.resolveSet);
      } catch (e) {
        result = e instanceof Error ? e : new Error(String(e));
      }
      if (key !== undefined) this.inlineCache.set(key, result);
    }
    if (result instanceof SpecError) {
      this.report.error(file, file.nodeAt(node, result.path, result.onKey), 'invalid-partitions', result.message);
      return null;
    }
    if (result instanceof Error) {
      this.report.error(file, node, 'invalid-partitions', `invalid partitions: ${result.message}`);
      return null;
    }
    if ('warnings' in result) {
      for (const w of result.warnings) this.report.warning(file, file.nodeAt(node, w.path, w.onKey), 'partitions-warning', w.message);
      return result.value;
    }
    return result;
  }

  private dependency(a: LoadedAsset, raw: RawDependency, assets: Map<string, AssetDefinition>): AssetDependency | null {
    const { file } = a;
    const up = assets.get(raw.asset);
    if (!up) {
      if (!this.knownAssets.has(raw.asset)) {
        this.report.error(
          file,
          raw.nameNode,
          'unknown-dependency',
          `unknown asset "${raw.asset}"${didYouMean(raw.asset, this.knownAssets)}`,
        );
      }
      return null; // a known but invalid asset is reported where it is defined
    }
    const mappingRoot = raw.mappingNode ?? raw.node;
    let rawMapping: unknown;
    if (raw.mappingNode) {
      try {
        rawMapping = file.toPlain(raw.mappingNode);
      } catch (e) {
        this.report.error(file, raw.mappingNode, 'invalid-mapping', messageOf(e));
        return null;
      }
    }
    const self = up === a.def;
    let built;
    try {
      built = buildMapping(rawMapping, up.partitions, a.def.partitions, { self, upstreamName: up.name });
    } catch (e) {
      if (e instanceof SpecError) {
        // Without a mapping: the path is into nothing, show it on the dependency.
        this.report.error(file, raw.mappingNode ? file.nodeAt(mappingRoot, e.path, e.onKey) : raw.node, 'invalid-mapping', e.message);
      } else {
        this.report.error(file, mappingRoot, 'invalid-mapping', `invalid mapping: ${messageOf(e)}`);
      }
      return null;
    }
    for (const w of built.warnings) {
      this.report.warning(file, raw.mappingNode ? file.nodeAt(mappingRoot, w.path, w.onKey) : raw.node, 'mapping-warning', w.message);
    }
    if (self && !built.value.readsOnlyEarlier()) {
      this.report.error(
        file,
        raw.nameNode,
        'self-dependency',
        `asset "${up.name}" depends on itself; only a negative offset (e.g. mapping: {offset: -1}) is allowed`,
      );
      return null;
    }
    const pos = file.position(raw.node);
    return { asset: up.name, mapping: built.value, location: { file: file.path, line: pos.line, column: pos.column } };
  }
}

/** A glob pattern's leading folders before its first wildcard (`../src/**` → `../src`). */
function fixedPart(pattern: string): string {
  const parts = pattern.split('/');
  const i = parts.findIndex((p) => /[*?[\]{}()!+@]/.test(p));
  return (i < 0 ? parts : parts.slice(0, i)).join('/') || '.';
}

function messageOf(e: unknown): string {
  if (e instanceof PlainValueError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function internalError(file: string, e: unknown): Diagnostic {
  return {
    file,
    line: 1,
    column: 1,
    endLine: 1,
    endColumn: 1,
    severity: 'error',
    code: 'internal-error',
    message: `internal error while reading this file: ${messageOf(e)}`,
  };
}
