import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateSources } from '../../bench/gen-workspace.ts';
import type { Diagnostic } from '../../src/core/diagnostics.ts';
import { findDefinitionFiles, loadWorkspace, loadWorkspaceFromSources, ParseCache, type Workspace } from '../../src/core/workspace.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const ROOT = path.resolve('/ws');

/** Loads in-memory files given as { relative path: text }. */
function load(files: Record<string, string>, now = NOW): Workspace {
  return loadWorkspaceFromSources(
    ROOT,
    Object.entries(files).map(([p, text]) => ({ path: path.join(ROOT, p), text })),
    { now },
  );
}

/** Text from lines, so that line numbers in the tests are easy to count. */
function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

function only(ws: Workspace, code: string): Diagnostic {
  const found = ws.diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got: ${JSON.stringify(ws.diagnostics, null, 1)}`);
  return found[0]!;
}

/** file (relative), line, column, endLine, endColumn, severity, message. */
function at(d: Diagnostic): [string, number, number, number, number, string, string] {
  return [path.relative(ROOT, d.file), d.line, d.column, d.endLine, d.endColumn, d.severity, d.message];
}

const EXAMPLE = yaml(
  'partitions:',
  '  daily_2024: { daily: { start: 2024-01-01 } }',
  'pools: { api: 2 }',
  'assets:',
  '  raw_events:',
  '    description: Click events pulled from the events API',
  '    group: ingest',
  '    partitions: daily_2024',
  '    run: node jobs/pull.mjs --day {partition}',
  '    code_version: "3"',
  '    pool: api',
  '  events:',
  '    deps: [raw_events]',
  '    partitions: { daily: { start: 2024-01-01 } }',
  '  weekly_users:',
  '    deps:',
  '      - asset: events',
  '        mapping: { offset: -1 }',
  '    partitions: { weekly: { start: 2024-01-07 } }',
);

describe('loading definitions', () => {
  it('loads the documented example', () => {
    const ws = load({ 'pipeline.assets.yaml': EXAMPLE });
    assert.deepEqual(ws.diagnostics, []);
    assert.deepEqual([...ws.assets.keys()], ['raw_events', 'events', 'weekly_users']);
    assert.deepEqual(ws.files, [path.join(ROOT, 'pipeline.assets.yaml')]);
    assert.deepEqual([...ws.pools], [['api', 2]]);

    const raw = ws.assets.get('raw_events')!;
    assert.equal(raw.description, 'Click events pulled from the events API');
    assert.equal(raw.group, 'ingest');
    assert.equal(raw.partitionsRef, 'daily_2024');
    assert.equal(raw.partitions.kind, 'daily');
    assert.equal(raw.partitions.keyAt(0), '2024-01-01');
    assert.equal(raw.run, 'node jobs/pull.mjs --day {partition}');
    assert.equal(raw.code_version, '3');
    assert.equal(raw.pool, 'api');
    assert.deepEqual(raw.location, { file: path.join(ROOT, 'pipeline.assets.yaml'), line: 5, column: 3 });

    const events = ws.assets.get('events')!;
    assert.equal(events.group, 'default');
    assert.equal(events.partitionsRef, undefined);
    assert.equal(events.deps.length, 1);
    assert.equal(events.deps[0]!.asset, 'raw_events');
    assert.equal(events.deps[0]!.mapping.isDefault, true);
    assert.deepEqual(events.deps[0]!.location, { file: path.join(ROOT, 'pipeline.assets.yaml'), line: 13, column: 12 });

    const weekly = ws.assets.get('weekly_users')!;
    assert.deepEqual(weekly.deps[0]!.mapping.summary(), {
      kind: 'time_window',
      start_offset: -1,
      end_offset: -1,
      allow_nonexistent: false,
    });
    assert.deepEqual(weekly.deps[0]!.location, { file: path.join(ROOT, 'pipeline.assets.yaml'), line: 17, column: 9 });

    assert.deepEqual(
      ws.graph.order.map((a) => a.name),
      ['raw_events', 'events', 'weekly_users'],
    );
  });

  it('reads every optional asset key', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'pools: { db: 1 }',
        'assets:',
        '  full:',
        '    code_version: 3.10',
        '    source: ["jobs/**/*.py", sql/full.sql]',
        '    output: data/full/{partition}.parquet',
        '    cwd: jobs',
        '    env: { MODE: fast, LEVEL: 010, DRY: false, NAME: "x y" }',
        '    pool: db',
        '    retries: 2',
        '    timeout: 1.5',
        '    backfill: { strategy: single_run, max_partitions_per_run: 30 }',
        '    checks:',
        '      - { name: rows, run: ./check-rows.sh }',
        '      - { name: schema, run: ./check-schema.sh, blocking: false }',
        '  single_glob:',
        '    source: "*.sql"',
        '  empty:',
      ),
    });
    assert.deepEqual(ws.diagnostics, []);
    const a = ws.assets.get('full')!;
    assert.equal(a.code_version, '3.10', 'a number is taken as written');
    assert.deepEqual(a.source, ['jobs/**/*.py', 'sql/full.sql']);
    assert.equal(a.output, 'data/full/{partition}.parquet');
    assert.equal(a.cwd, 'jobs');
    assert.deepEqual(a.env, { MODE: 'fast', LEVEL: '010', DRY: 'false', NAME: 'x y' });
    assert.equal(a.pool, 'db');
    assert.equal(a.retries, 2);
    assert.equal(a.timeout, 1.5);
    assert.deepEqual(a.backfill, { strategy: 'single_run', max_partitions_per_run: 30 });
    assert.deepEqual(a.checks, [
      { name: 'rows', run: './check-rows.sh', blocking: true },
      { name: 'schema', run: './check-schema.sh', blocking: false },
    ]);
    assert.deepEqual(ws.assets.get('single_glob')!.source, ['*.sql']);
    const empty = ws.assets.get('empty')!;
    assert.equal(empty.partitions.kind, 'unpartitioned');
    assert.deepEqual(empty.deps, []);
    assert.equal(empty.group, 'default');
  });

  it('accepts empty files and files with only comments', () => {
    const ws = load({ 'a.assets.yaml': '', 'b.assets.yaml': '# nothing yet\n', 'c.assets.yaml': 'assets:\n' });
    assert.deepEqual(ws.diagnostics, []);
    assert.equal(ws.assets.size, 0);
    assert.equal(ws.files.length, 3);
  });

  it('expands anchors and merge keys', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'x-defaults: &defaults',
        '  group: shared',
        '  retries: 3',
        '  partitions: &daily { daily: { start: 2025-06-01 } }',
        'assets:',
        '  a:',
        '    <<: *defaults',
        '  b:',
        '    <<: *defaults',
        '    retries: 1',
        '    deps: [a]',
      ),
    });
    assert.deepEqual(ws.diagnostics, []);
    assert.equal(ws.assets.get('a')!.group, 'shared');
    assert.equal(ws.assets.get('a')!.retries, 3);
    assert.equal(ws.assets.get('b')!.retries, 1, 'explicit keys override merged ones');
    assert.equal(ws.assets.get('b')!.partitions.kind, 'daily');
    assert.equal(ws.assets.get('b')!.deps[0]!.mapping.isDefault, true);
  });
});

describe('YAML problems', () => {
  it('reports syntax errors at their position; the file contributes no assets but others load', () => {
    const ws = load({
      'bad.assets.yaml': yaml('assets:', '  broken:', '    run: a: b', '  other: {}'),
      'good.assets.yaml': yaml('assets:', '  fine:', '    deps: [broken, other]', '  also_fine: {}'),
    });
    assert.deepEqual([...ws.assets.keys()], ['fine', 'also_fine']);
    assert.deepEqual(ws.diagnostics.map(at), [
      ['bad.assets.yaml', 3, 10, 3, 11, 'error', 'Nested mappings are not allowed in compact mappings'],
    ]);
    assert.equal(ws.diagnostics[0]!.code, 'yaml-syntax');
    // The assets of the broken file are not reported as unknown where they are used.
    assert.equal(ws.diagnostics.filter((d) => d.code === 'unknown-dependency').length, 0);
    assert.deepEqual(ws.assets.get('fine')!.deps, []);
  });

  it('reports a bad indentation with its line', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    run: x', '   deps: [b]') });
    const d = ws.diagnostics.find((x) => x.code === 'yaml-syntax');
    assert.ok(d, JSON.stringify(ws.diagnostics));
    assert.equal(d.line, 4);
    assert.equal(ws.assets.size, 0);
  });

  it('reports YAML warnings as warnings', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    run: !shell echo hi') });
    const d = only(ws, 'yaml-warning');
    assert.equal(d.severity, 'warning');
    assert.deepEqual([d.line, d.column], [3, 10]);
    assert.match(d.message, /Unresolved tag: !shell/);
    assert.equal(ws.assets.get('a')!.run, 'echo hi');
  });

  it('reports an alias to an unknown anchor as a fatal error', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    <<: *nowhere') });
    assert.deepEqual(at(only(ws, 'yaml-syntax')), [
      'a.assets.yaml',
      3,
      9,
      3,
      17,
      'error',
      'unknown alias *nowhere: the anchor &nowhere must be defined before it is used',
    ]);
    assert.equal(ws.assets.size, 0);
  });

  it('reports duplicate keys inside an asset at the second one', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    run: one', '    retries: 1', '    run: two') });
    assert.deepEqual(at(only(ws, 'duplicate-key')), [
      'a.assets.yaml',
      5,
      5,
      5,
      8,
      'error',
      'duplicate key "run" (first at line 3); this one is ignored',
    ]);
    assert.equal(ws.assets.get('a')!.run, 'one');
  });

  it('explains a file with several YAML documents', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets: { a: {} }', '---', 'assets: { b: {} }') });
    const d = only(ws, 'yaml-syntax');
    assert.deepEqual(
      [d.line, d.message],
      [2, 'a definition file holds a single YAML document: remove the --- separator or split the file'],
    );
    assert.equal(ws.assets.size, 0);
  });

  it('reports a file that is not a mapping', () => {
    const ws = load({ 'a.assets.yaml': yaml('- a', '- b') });
    assert.deepEqual(at(only(ws, 'invalid-file')).slice(0, 3), ['a.assets.yaml', 1, 1]);
    assert.match(
      only(ws, 'invalid-file').message,
      /a definition file is a mapping with the keys assets, partitions, pools, cost_unit, budget, slurm_profiles; got a list/,
    );
  });
});

describe('unknown keys', () => {
  it('warns at the key with a did-you-mean', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  up: {}', '  events:', '    dep: [up]', '    retires: 2', '    colour: red') });
    const unknown = ws.diagnostics.filter((d) => d.code === 'unknown-key').map(at);
    assert.deepEqual(unknown, [
      ['a.assets.yaml', 4, 5, 4, 8, 'warning', 'unknown key "dep" in asset "events" — did you mean "deps"?'],
      ['a.assets.yaml', 5, 5, 5, 12, 'warning', 'unknown key "retires" in asset "events" — did you mean "retries"?'],
      ['a.assets.yaml', 6, 5, 6, 11, 'warning', 'unknown key "colour" in asset "events"'],
    ]);
    assert.ok(ws.assets.has('events'), 'an unknown key does not invalidate the asset');
  });

  it('warns about unknown top-level keys, dependency keys, check keys and backfill keys', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'asset:',
        '  x: {}',
        'x-anchors: {}',
        'assets:',
        '  up: {}',
        '  down:',
        '    deps: [{ asset: up, mapings: all }]',
        '    checks: [{ name: c, run: r, bloking: false }]',
        '    backfill: { strategy: single_run, max_partition_per_run: 3 }',
      ),
    });
    assert.deepEqual(
      ws.diagnostics.filter((d) => d.code === 'unknown-key').map((d) => [d.line, d.column, d.message]),
      [
        [1, 1, 'unknown top-level key "asset" — did you mean "assets"?'],
        [7, 25, 'unknown key "mapings" in dependency — did you mean "mapping"?'],
        [8, 33, 'unknown key "bloking" in check — did you mean "blocking"?'],
        [9, 39, 'unknown key "max_partition_per_run" in backfill — did you mean "max_partitions_per_run"?'],
      ],
    );
  });
});

describe('bad values', () => {
  it('names the key and what is expected, at the value', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  a:',
        '    deps: 3',
        '    retries: -1',
        '    timeout: 0',
        '    run: [make]',
        '    group: ""',
        '    code_version: { v: 1 }',
        '    env: [A]',
        '    source: [1]',
        '    backfill: { strategy: per_partiton }',
        '    checks: [{ name: x }]',
        '    description: 12',
      ),
    });
    assert.deepEqual(
      ws.diagnostics.map((d) => [d.line, d.column, d.severity, d.message]),
      [
        [3, 11, 'error', '"deps" in asset "a" must be a list of asset names or {asset, mapping}, got 3'],
        [4, 14, 'error', '"retries" in asset "a" must be a whole number ≥ 0, got -1'],
        [5, 14, 'error', '"timeout" in asset "a" must be a number of seconds > 0, got 0'],
        [6, 10, 'error', '"run" in asset "a" must be a string, got a list'],
        [7, 12, 'error', '"group" in asset "a" must be a non-empty string, got ""'],
        [8, 19, 'error', '"code_version" in asset "a" must be a string such as "3", got a mapping'],
        [9, 10, 'error', '"env" in asset "a" must be a mapping of variable names to values, got a list'],
        [10, 14, 'error', '"source" in asset "a" must be a list of glob patterns (strings), got 1'],
        [
          11,
          27,
          'error',
          '"backfill.strategy" in asset "a" must be per_partition or single_run, got "per_partiton" — did you mean "per_partition"?',
        ],
        [12, 14, 'error', 'a check in asset "a" needs a name and a run command'],
        [13, 18, 'error', '"description" in asset "a" must be a string, got 12'],
      ],
    );
    // The asset is still there, without the bad settings.
    const a = ws.assets.get('a')!;
    assert.equal(a.retries, undefined);
    assert.equal(a.run, undefined);
    assert.equal(a.group, 'default');
    assert.deepEqual(a.checks, []);
  });

  it('rejects a huge retry count and an infinite timeout', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    retries: 99999999999999999999', '    timeout: .inf') });
    assert.deepEqual(
      ws.diagnostics.map((d) => d.message),
      [
        '"retries" in asset "a" must be a whole number ≥ 0, got 100000000000000000000',
        '"timeout" in asset "a" must be a number of seconds > 0, got Infinity',
      ],
    );
  });

  it('refuses an asset that is not a mapping, but its name stays known', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a: 3', '  b:', '    deps: [a]') });
    assert.deepEqual(at(only(ws, 'invalid-value')), [
      'a.assets.yaml',
      2,
      6,
      2,
      7,
      'error',
      'asset "a" must be a mapping of settings (run, deps, partitions...), got 3',
    ]);
    assert.deepEqual([...ws.assets.keys()], ['b']);
    assert.equal(ws.diagnostics.length, 1, 'no "unknown asset" for the dependency on a');
  });

  it('checks asset names', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  9lives: {}', '  "has space": {}', '  ok.name-1_x: {}') });
    assert.deepEqual(
      ws.diagnostics.map((d) => [d.line, d.column, d.code, d.message]),
      [
        [2, 3, 'invalid-name', 'invalid asset name "9lives": use letters, digits, _, . and -, starting with a letter or _'],
        [3, 3, 'invalid-name', 'invalid asset name "has space": use letters, digits, _, . and -, starting with a letter or _'],
      ],
    );
    assert.deepEqual([...ws.assets.keys()], ['ok.name-1_x']);
  });

  it('reports duplicate check names', () => {
    const ws = load({
      'a.assets.yaml': yaml('assets:', '  a:', '    checks:', '      - { name: rows, run: a }', '      - { name: rows, run: b }'),
    });
    assert.deepEqual(at(only(ws, 'invalid-value')), [
      'a.assets.yaml',
      5,
      17,
      5,
      21,
      'error',
      'duplicate check "rows" in asset "a" (first at line 4)',
    ]);
    assert.equal(ws.assets.get('a')!.checks!.length, 1);
  });
});

describe('dependencies', () => {
  it('reports an unknown dependency at the dependency, with a did-you-mean among all assets', () => {
    const ws = load({
      'a.assets.yaml': yaml('assets:', '  raw_events: {}', '  events:', '    deps: [raw_event, nothing_like_it]'),
      'b.assets.yaml': yaml('assets:', '  weekly:', '    deps:', '      - asset: event', '        mapping: all'),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['a.assets.yaml', 4, 12, 4, 21, 'error', 'unknown asset "raw_event" — did you mean "raw_events"?'],
      ['a.assets.yaml', 4, 23, 4, 38, 'error', 'unknown asset "nothing_like_it"'],
      ['b.assets.yaml', 4, 16, 4, 21, 'error', 'unknown asset "event" — did you mean "events"?'],
    ]);
    assert.deepEqual(ws.assets.get('events')!.deps, []);
  });

  it('reports mapping errors inside the mapping and drops the dependency', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  up: { partitions: { daily: { start: 2025-01-01 } } }',
        '  down:',
        '    partitions: { daily: { start: 2025-01-01 } }',
        '    deps:',
        '      - asset: up',
        '        mapping: { offset: x }',
        '      - asset: up',
        '        mapping: idnetity',
        '      - up',
      ),
    });
    assert.deepEqual(
      ws.diagnostics.map((d) => [d.line, d.column, d.code, d.message.split(' (one of')[0]]),
      [
        [7, 28, 'invalid-mapping', 'expected a whole number of partitions, e.g. -1'],
        [9, 18, 'invalid-mapping', 'unknown mapping "idnetity" — did you mean "identity"?'],
      ],
    );
    assert.equal(ws.assets.get('down')!.deps.length, 1, 'only the valid dependency is kept');
  });

  it('reports a default mapping that does not fit at the dependency', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  regions: { partitions: { static: [us, eu] } }',
        '  daily:',
        '    partitions: { daily: { start: 2025-01-01 } }',
        '    deps: [regions]',
      ),
    });
    const d = only(ws, 'invalid-mapping');
    assert.deepEqual([d.line, d.column, d.endColumn], [5, 12, 19]);
    assert.match(d.message, /identity does not fit static partitions → daily partitions/);
  });

  it('warns about mappings that read partitions that do not exist', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  up: { partitions: { daily: { start: 2025-06-01 } } }',
        '  down:',
        '    partitions: { daily: { start: 2025-01-01 } }',
        '    deps: [up]',
      ),
    });
    const d = only(ws, 'mapping-warning');
    assert.deepEqual([d.line, d.column, d.severity], [5, 12, 'warning']);
    assert.match(d.message, /reads 151 partitions of up that do not exist/);
    assert.equal(ws.assets.get('down')!.deps.length, 1, 'a warning keeps the dependency');
  });

  it('reports each asset of a cycle at its dependency on the next', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  a:',
        '    deps: [b]',
        '  b:',
        '    deps: [c]',
        '  c:',
        '    deps:',
        '      - asset: a',
        '  d:',
        '    deps: [a]',
      ),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['a.assets.yaml', 3, 12, 3, 13, 'error', 'dependency cycle: a → b → c → a'],
      ['a.assets.yaml', 5, 12, 5, 13, 'error', 'dependency cycle: b → c → a → b'],
      ['a.assets.yaml', 8, 16, 8, 17, 'error', 'dependency cycle: c → a → b → c'],
    ]);
    assert.deepEqual(ws.graph.cycles, [['a', 'b', 'c']]);
    assert.equal(ws.assets.size, 4);
  });

  it('allows a self-dependency on earlier partitions only', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  cumulative:',
        '    partitions: { daily: { start: 2025-01-01 } }',
        '    deps:',
        '      - asset: cumulative',
        '        mapping: { offset: -1 }',
        '  selfish:',
        '    partitions: { daily: { start: 2025-01-01 } }',
        '    deps: [selfish]',
      ),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      [
        'a.assets.yaml',
        9,
        12,
        9,
        19,
        'error',
        'asset "selfish" depends on itself; only a negative offset (e.g. mapping: {offset: -1}) is allowed',
      ],
    ]);
    assert.equal(ws.assets.get('cumulative')!.deps.length, 1);
    assert.equal(ws.assets.get('selfish')!.deps.length, 0);
    assert.deepEqual(ws.graph.cycles, []);
  });
});

describe('duplicates across files', () => {
  it('reports a duplicate asset at the second definition, naming the first', () => {
    const ws = load({
      'a.assets.yaml': yaml('assets:', '  shared: { run: first }'),
      'sub/b.assets.yaml': yaml('assets:', '  other: {}', '  shared: { run: second }'),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['sub/b.assets.yaml', 3, 3, 3, 9, 'error', 'asset "shared" is already defined at a.assets.yaml:2'],
    ]);
    assert.equal(ws.assets.get('shared')!.run, 'first');
    assert.ok(ws.assets.has('other'));
  });

  it('reports a duplicate asset in the same file', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  x: { run: one }', '  y: {}', '  x: { run: two }') });
    assert.deepEqual(ws.diagnostics.map(at), [['a.assets.yaml', 4, 3, 4, 4, 'error', 'asset "x" is already defined at a.assets.yaml:2']]);
    assert.equal(ws.assets.get('x')!.run, 'one');
  });

  it('reports duplicate partition sets and pools', () => {
    const ws = load({
      'a.assets.yaml': yaml('partitions:', '  days: { daily: { start: 2025-01-01 } }', 'pools: { api: 1 }'),
      'b.assets.yaml': yaml(
        'pools:',
        '  api: 5',
        'partitions:',
        '  days: { daily: { start: 2020-01-01 } }',
        'assets:',
        '  x: { partitions: days }',
      ),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['b.assets.yaml', 2, 3, 2, 6, 'error', 'pool "api" is already defined at a.assets.yaml:3'],
      ['b.assets.yaml', 4, 3, 4, 7, 'error', 'partition set "days" is already defined at a.assets.yaml:2'],
    ]);
    assert.equal(ws.pools.get('api'), 1);
    assert.equal(ws.assets.get('x')!.partitions.keyAt(0), '2025-01-01', 'the first definition wins');
  });
});

describe('partitions', () => {
  it('shares named sets across files', () => {
    const ws = load({
      'sets.assets.yaml': yaml('partitions:', '  regions: { static: [us, eu] }'),
      'x/a.assets.yaml': yaml('assets:', '  a: { partitions: regions }'),
      'y/b.assets.yaml': yaml('assets:', '  b: { partitions: regions, deps: [a] }'),
    });
    assert.deepEqual(ws.diagnostics, []);
    const a = ws.assets.get('a')!;
    const b = ws.assets.get('b')!;
    assert.equal(a.partitions, b.partitions, 'built once, shared');
    assert.equal(b.partitionsRef, 'regions');
    assert.equal(b.deps[0]!.mapping.summary().kind, 'identity');
  });

  it('reports an unknown named set with a did-you-mean and leaves the asset out', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'partitions:',
        '  daily_2024: { daily: { start: 2024-01-01 } }',
        'assets:',
        '  a: { partitions: daily_2042 }',
        '  b: { partitions: daily }',
        '  c: { deps: [a] }',
      ),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['a.assets.yaml', 4, 20, 4, 30, 'error', 'unknown partition set "daily_2042" — did you mean "daily_2024"?'],
      [
        'a.assets.yaml',
        5,
        20,
        5,
        25,
        'error',
        'unknown partition set "daily" (an inline definition is a mapping, e.g. partitions: {daily: ...})',
      ],
    ]);
    assert.deepEqual([...ws.assets.keys()], ['c']);
    assert.deepEqual(ws.assets.get('c')!.deps, [], 'a dependency on an invalid asset is dropped without another error');
  });

  it('reports definition errors at the node the error points to', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'assets:',
        '  a:',
        '    partitions:',
        '      daily:',
        '        start: 2024-13-45',
        '  b:',
        '    partitions: { dayly: { start: 2024-01-01 } }',
        '  c:',
        '    partitions: { static: [us, eu, us] }',
        '  d:',
        '    partitions: 3',
      ),
    });
    assert.deepEqual(
      ws.diagnostics.map((d) => [d.line, d.column, d.endLine, d.endColumn, d.code, d.message.split(' (')[0]]),
      [
        [5, 16, 5, 26, 'invalid-partitions', 'invalid date "2024-13-45"'],
        [7, 19, 7, 24, 'invalid-partitions', 'unknown partition kind "dayly" — did you mean "daily"?'],
        [9, 36, 9, 38, 'invalid-partitions', 'duplicate partition key "us"'],
        [
          11,
          17,
          11,
          18,
          'invalid-value',
          '"partitions" in asset "d" must be the name of a partition set or a definition such as {daily: {start: 2024-01-01}}, got 3',
        ],
      ],
    );
    assert.equal(ws.assets.size, 0);
  });

  it('reports definition warnings at the key', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    partitions: { daily: { start: 2025-01-01, timzone: UTC } }') });
    assert.deepEqual(at(only(ws, 'partitions-warning')), [
      'a.assets.yaml',
      3,
      47,
      3,
      54,
      'warning',
      'unknown key "timzone" in daily partitions — did you mean "timezone"?',
    ]);
    assert.ok(ws.assets.has('a'));
  });

  it('refuses more than 100,000 partitions', () => {
    const ws = load({ 'a.assets.yaml': yaml('assets:', '  a:', '    partitions: { hourly: { start: 2000-01-01 } }') });
    const d = only(ws, 'invalid-partitions');
    assert.deepEqual([d.line, d.column], [3, 17]);
    assert.match(d.message, /more than 100,000 on one asset/);
    assert.equal(ws.assets.size, 0);
  });

  it('reports an invalid named set once, at its definition, and is silent where it is used', () => {
    const ws = load({
      'a.assets.yaml': yaml('partitions:', '  bad: { daily: { start: nope } }'),
      'b.assets.yaml': yaml('assets:', '  x: { partitions: bad }', '  y: { partitions: bad }', '  z: { deps: [x, y] }'),
    });
    assert.deepEqual(
      ws.diagnostics.map((d) => [path.relative(ROOT, d.file), d.line, d.column, d.code]),
      [['a.assets.yaml', 2, 26, 'invalid-partitions']],
    );
    assert.deepEqual([...ws.assets.keys()], ['z']);
  });

  it('reports a named set defined in a broken file as neither unknown nor valid', () => {
    const ws = load({
      'a.assets.yaml': yaml('partitions:', '  days: { daily: { start: 2025-01-01 }', 'oops: ['),
      'b.assets.yaml': yaml('assets:', '  x: { partitions: days }'),
    });
    assert.ok(
      ws.diagnostics.every((d) => d.code === 'yaml-syntax'),
      JSON.stringify(ws.diagnostics),
    );
    assert.equal(ws.assets.size, 0);
  });
});

describe('pools', () => {
  it('checks pool sizes and warns about unknown pools', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'pools:',
        '  api: 2',
        '  db: 0',
        '  web: many',
        'assets:',
        '  a: { pool: apii }',
        '  b: { pool: db }',
        '  c: { pool: warehouse }',
      ),
    });
    assert.deepEqual(ws.diagnostics.map(at), [
      ['a.assets.yaml', 3, 7, 3, 8, 'error', 'pool "db" must be a whole number ≥ 1 (how many runs it allows at once), got 0'],
      ['a.assets.yaml', 4, 8, 4, 12, 'error', 'pool "web" must be a whole number ≥ 1 (how many runs it allows at once), got "many"'],
      ['a.assets.yaml', 6, 14, 6, 18, 'warning', 'unknown pool "apii" — did you mean "api"? (asset "a" runs without a pool limit)'],
      ['a.assets.yaml', 8, 14, 8, 23, 'warning', 'unknown pool "warehouse" (asset "c" runs without a pool limit)'],
    ]);
    assert.deepEqual([...ws.pools], [['api', 2]]);
    assert.equal(ws.assets.get('a')!.pool, undefined);
    assert.equal(ws.assets.get('b')!.pool, 'db', 'an invalid pool is reported at its definition only');
  });
});

describe('diagnostics order', () => {
  it('sorts by file, line, column', () => {
    const ws = load({
      'b.assets.yaml': yaml('assets:', '  x: { deps: [nope1] }', '  y: { retries: -1, timeout: -1 }'),
      'a.assets.yaml': yaml('assets:', '  z: { deps: [nope2] }', 'bogus: 1'),
    });
    const keys = ws.diagnostics.map((d) => [path.basename(d.file), d.line, d.column]);
    assert.deepEqual(keys, [
      ['a.assets.yaml', 2, 15],
      ['a.assets.yaml', 3, 1],
      ['b.assets.yaml', 2, 15],
      ['b.assets.yaml', 3, 17],
      ['b.assets.yaml', 3, 30],
    ]);
  });
});

describe('garbage input', () => {
  const GARBAGE = [
    '- a\n- b\n',
    'just a scalar',
    '42',
    'null',
    '~',
    '[1, 2, {a: b}]',
    'assets: [a, b]',
    'assets: 3',
    'assets:\n  - a: 1\n',
    'partitions: [daily]\npools: 3\n',
    'assets: { a: [1, 2], b: "x", c: ~, d: { deps: { a: 1 } } }',
    'a: &a [*a]\nassets: { x: { partitions: *a } }',
    'base: &b { deps: *b }\nassets: { x: *b }',
    'assets:\n  x:\n    partitions: &p { multi: { a: *p, b: { static: [x] } } }',
    'assets: { x: { retries: 1e999, timeout: -.inf, code_version: .nan } }',
    'assets: { x: { retries: 123456789012345678901234567890 } }',
    'assets: { x: { run: !!binary aGVsbG8=, env: { A: !!binary aGVsbG8= } } }',
    'assets: { x: { partitions: { static: [!!binary aGVsbG8=] } } }',
    'assets: { x: { deps: [{ asset: [y] }, { mapping: all }, {}] } }',
    'assets: { ? [a, b] : { run: x }, ? { c: d } : {}, "": {}, 1: {}, true: {} }',
    'assets: { __proto__: { run: x }, constructor: {}, toString: { deps: [__proto__] } }',
    'assets: { x: { partitions: { __proto__: { start: 2024-01-01 } } } }',
    'assets: { x: { <<: [1, 2] } }',
    'assets: { x: { <<: [*nope] } }',
    '%YAML 1.1\n---\nassets: { x: { partitions: { daily: { start: 2024-01-01 } }, retries: yes } }',
    '---\nassets: {}\n---\nassets: {}\n',
    'assets:\n\tx: {}\n',
    '{'.repeat(500) + '}'.repeat(500),
    '['.repeat(2000),
    'assets: { x: { env: { "A=B": 1, "": 2, C: [1] } } }',
    'assets: { x: { checks: [1, { name: [x], run: 1, blocking: maybe }] } }',
    'assets: { x: { backfill: { max_partitions_per_run: 0 } } }',
    'assets: { x: { backfill: single_run } }',
    '\uFEFFassets: { x: {} }',
    'assets: { x: { deps: [x, x, x], partitions: { daily: { start: 2024-01-01 } } } }',
    'partitions: { "bad name": { daily: {} }, ok: ~ }\nassets: { x: { partitions: ok } }',
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nassets: { x: { partitions: { static: *g } } }',
    'assets: &a { x: { <<: [*a, *a, *a] }, y: &b { <<: [*b, *b], run: r } }',
    Array.from({ length: 40 }, (_, i) =>
      i === 0 ? 'm0: &m0 { run: x }' : `m${i}: &m${i} { <<: [*m${i - 1}, *m${i - 1}, *m${i - 1}] }`,
    ).join('\n') + '\nassets: { x: *m39 }',
  ];

  function checkSane(ws: Workspace): void {
    for (const d of ws.diagnostics) {
      assert.ok(d.line >= 1 && d.column >= 1, JSON.stringify(d));
      assert.ok(d.endLine > d.line || (d.endLine === d.line && d.endColumn >= d.column), JSON.stringify(d));
      assert.ok(typeof d.message === 'string' && d.message.length > 0);
      assert.notEqual(d.code, 'internal-error', d.message);
    }
  }

  it('never throws on garbage, and reports sane positions', () => {
    for (const text of GARBAGE) {
      const t = Date.now();
      let ws: Workspace;
      try {
        ws = load({ 'g.assets.yaml': text, 'ok.assets.yaml': 'assets: { fine: {} }' });
      } catch (e) {
        assert.fail(`threw on ${JSON.stringify(text.slice(0, 80))}: ${(e as Error).stack}`);
      }
      checkSane(ws);
      assert.ok(ws.assets.has('fine'), `the good file still loads beside ${JSON.stringify(text.slice(0, 80))}`);
      assert.ok(Date.now() - t < 2000, `slow on ${JSON.stringify(text.slice(0, 80))}`);
    }
  });

  it('never throws on random YAML-ish text', () => {
    const token = fc.constantFrom(
      'assets',
      'partitions',
      'pools',
      'deps',
      'mapping',
      'asset',
      'daily',
      'start',
      'static',
      'multi',
      'offset',
      'run',
      'retries',
      ':',
      ': ',
      '- ',
      '\n',
      '\n  ',
      '\n    ',
      '{',
      '}',
      '[',
      ']',
      ',',
      '&a ',
      '*a',
      '<<: ',
      '!!binary ',
      '"',
      "'",
      '#',
      '?',
      '|',
      '2024-01-01',
      '-1',
      '0',
      '1e400',
      'null',
      'true',
      'x',
      'y',
      'a',
      ' ',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        const ws = load({ 'r.assets.yaml': tokens.join(''), 'ok.assets.yaml': 'assets: { fine: {} }' });
        checkSane(ws);
        assert.ok(ws.assets.has('fine'));
      }),
      { numRuns: 400 },
    );
  });
});

describe('finding definition files', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backfill-defs-'));
    const files: Record<string, string> = {
      'root.assets.yaml': 'assets: { root: {} }',
      'nested/deeper/etl.assets.yml': 'assets: { nested: { deps: [root] } }',
      'nested/readme.md': 'not yaml',
      'nested/other.yaml': 'assets: { not_loaded: {} }',
      'node_modules/pkg/x.assets.yaml': 'assets: { from_node_modules: {} }',
      '.git/x.assets.yaml': 'assets: { from_git: {} }',
      '.backfill/x.assets.yaml': 'assets: { from_state: {} }',
      '.hidden/x.assets.yaml': 'assets: { from_hidden: {} }',
      'broken.assets.yaml': 'assets: [',
    };
    for (const [p, text] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(dir, p)), { recursive: true });
      await fs.writeFile(path.join(dir, p), text);
    }
    // A link to a file is followed; a link to a folder is not (it could loop).
    await fs.writeFile(path.join(dir, 'nested', 'target.yaml'), 'assets: { linked: {} }');
    await fs.symlink(path.join(dir, 'nested', 'target.yaml'), path.join(dir, 'linked.assets.yaml'));
    await fs.symlink(dir, path.join(dir, 'nested', 'loop'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('finds *.assets.yaml and *.assets.yml, skipping node_modules and dot-folders, sorted', async () => {
    const found = await findDefinitionFiles(dir);
    assert.deepEqual(
      found.map((f) => path.relative(dir, f).split(path.sep).join('/')),
      ['broken.assets.yaml', 'linked.assets.yaml', 'nested/deeper/etl.assets.yml', 'root.assets.yaml'],
    );
    assert.ok(found.every((f) => path.isAbsolute(f)));
  });

  it('loads a workspace from disk', async () => {
    const ws = await loadWorkspace(dir, { now: NOW });
    assert.equal(ws.root, path.resolve(dir));
    assert.equal(ws.now, NOW);
    assert.deepEqual([...ws.assets.keys()].sort(), ['linked', 'nested', 'root']);
    assert.deepEqual(
      ws.assets.get('nested')!.deps.map((d) => d.asset),
      ['root'],
    );
    assert.ok(ws.diagnostics.length > 0 && ws.diagnostics.every((d) => d.file === path.join(dir, 'broken.assets.yaml')));
  });

  it('finds nothing in an empty or missing folder', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'backfill-empty-'));
    try {
      assert.deepEqual(await findDefinitionFiles(empty), []);
      assert.deepEqual(await findDefinitionFiles(path.join(empty, 'missing')), []);
      const ws = await loadWorkspace(empty, { now: NOW });
      assert.equal(ws.assets.size, 0);
      assert.deepEqual(ws.diagnostics, []);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});

describe('scale', () => {
  it('loads a generated workspace of 2,000 assets without a diagnostic', () => {
    const sources = generateSources(ROOT, { assets: 2000, files: 200 });
    const ws = loadWorkspaceFromSources(ROOT, sources, { now: NOW });
    assert.deepEqual(ws.diagnostics, []);
    assert.equal(ws.assets.size, 2000);
    assert.equal(ws.files.length, 200);
    assert.equal(ws.graph.order.length, 2000);
    assert.deepEqual(ws.graph.cycles, []);
  });

  it('reuses parsed files through a ParseCache', () => {
    const cache = new ParseCache();
    const files = [
      { path: path.join(ROOT, 'a.assets.yaml'), text: 'assets: { a: {} }' },
      { path: path.join(ROOT, 'b.assets.yaml'), text: 'assets: { b: { deps: [a] } }' },
    ];
    const first = loadWorkspaceFromSources(ROOT, files, { now: NOW, cache });
    assert.equal(cache.size, 2);
    const second = loadWorkspaceFromSources(ROOT, [files[0]!, { ...files[1]!, text: 'assets: { b: { deps: [zzz] } }' }], {
      now: NOW,
      cache,
    });
    assert.deepEqual(first.diagnostics, []);
    assert.equal(second.diagnostics[0]!.message, 'unknown asset "zzz"');
    loadWorkspaceFromSources(ROOT, [files[0]!], { now: NOW, cache });
    assert.equal(cache.size, 1, 'deleted files are forgotten');
  });
});

describe('named sets as multi dimensions', () => {
  it('a multi dimension may name a partition set of another file', () => {
    const ws = load({
      'sets.assets.yaml': yaml('partitions:', '  days: { daily: { start: 2025-12-29 } }'),
      'a.assets.yaml': yaml('assets:', '  by_region:', '    partitions: { multi: { region: { static: [eu, us] }, date: days } }'),
    });
    assert.deepEqual(ws.diagnostics, []);
    const def = ws.assets.get('by_region')!.partitions;
    assert.equal(def.size, 6);
    assert.equal(def.keyAt(0), '2025-12-29|eu');
  });
  it('an unknown set named as a dimension is an error at the dimension, with a suggestion', () => {
    const ws = load({
      'a.assets.yaml': yaml(
        'partitions:',
        '  days: { daily: { start: 2025-12-29 } }',
        'assets:',
        '  x:',
        '    partitions: { multi: { region: { static: [eu] }, date: dayz } }',
      ),
    });
    const d = only(ws, 'invalid-partitions');
    assert.match(d.message, /unknown partition set "dayz" — did you mean "days"\?/);
    assert.equal(d.line, 5);
    assert.equal(ws.assets.has('x'), false);
  });
});

describe('an alias bomb', () => {
  it('nine levels of nine aliases (9^7 elements) load quickly, with the field it lands in reported once per element of its list, and the other assets kept', () => {
    const levels = ['x-a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 7; i++) {
      const name = String.fromCharCode(97 + i);
      const prev = String.fromCharCode(96 + i);
      levels.push(`x-${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const t0 = Date.now();
    const ws = load({
      'bomb.assets.yaml': yaml(...levels, 'assets:', '  a:', '    run: "true"', '    deps: *g', '  b:', '    run: "true"'),
    });
    const ms = Date.now() - t0;
    assert.ok(ms < 10_000, `took ${ms} ms`);
    const errors = ws.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(errors.length, 9);
    assert.ok(
      errors.every((d) => d.line === 7 && /"deps" in asset "a" must be a list of asset names/.test(d.message)),
      JSON.stringify(errors[0]),
    );
    assert.ok(ws.assets.has('b'));
  });
});

describe('reading definition files for the editor (readSources)', () => {
  it("an editor's unsaved text is used instead of the file; a file that cannot be read is a diagnostic at its bad byte", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'backfill-read-sources-'));
    try {
      const bad = path.join(dir, 'bad.assets.yaml');
      const good = path.join(dir, 'good.assets.yaml');
      await fs.writeFile(bad, Buffer.concat([Buffer.from('assets:\n  a\n'), Buffer.from([0xff]), Buffer.from(':\n    run: "true"\n')]));
      await fs.writeFile(good, 'assets:\n  b:\n    run: "true"\n');
      const { readSources } = await import('../../src/core/workspace.ts');
      const plain = await readSources([bad, good]);
      assert.deepEqual(
        plain.sources.map((s) => s.path),
        [good],
      );
      assert.equal(plain.unread.length, 1);
      assert.equal(plain.unread[0]!.file, bad);
      assert.equal(plain.unread[0]!.line, 3);
      assert.match(plain.unread[0]!.message, /invalid UTF-8 \(byte 0xff at offset \d+\)/);
      // The same file open in an editor with valid text: that text, no diagnostic.
      const edited = await readSources([bad, good], new Map([[bad, 'assets:\n  a:\n    run: "true"\n']]));
      assert.deepEqual(
        edited.sources.map((s) => [s.path, s.text.length > 0]),
        [
          [bad, true],
          [good, true],
        ],
      );
      assert.deepEqual(edited.unread, []);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
