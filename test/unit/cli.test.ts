// The `backfill` CLI end to end: the real bundle (dist/cli.js) run as a child process in
// temporary workspaces. The JSON output is a contract; these tests pin its shape and values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backfill, buildCli, json, REPO, removeTempDirs, tempWorkspace, userError } from './cli-harness.ts';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** A temporary workspace with the given files (relative path → text). */
const workspace = (files: Record<string, string>): string => tempWorkspace(files, 'backfill-cli-');

const PIPELINE = `assets:
  raw_events:
    partitions: {daily: {start: 2024-01-01}}
  clean_events:
    group: clean
    partitions: {daily: {start: 2024-01-01}}
    deps: [raw_events]
  rolling:
    partitions: {daily: {start: 2024-01-01}}
    deps:
      - asset: clean_events
        mapping: {offset: -1}
  weekly_report:
    group: reports
    partitions: {weekly: {start: 2024-01-01}}
    deps: [rolling]
  regions:
    partitions: {static: [us, eu, apac]}
  lookup:
    run: echo lookup
  summary:
    deps: [lookup]
`;

let ws: string;
const NOW = ['--now', '2024-04-01'];

before(() => {
  buildCli();
  ws = workspace({ 'pipeline.assets.yaml': PIPELINE });
});

after(removeTempDirs);

describe('backfill validate', () => {
  it('reports a clean workspace as ok', () => {
    assert.deepEqual(json(['validate'], { cwd: ws }), { ok: true, diagnostics: [] });
    const r = backfill(['validate'], { cwd: ws });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^7 assets in 1 file: 0 errors, 0 warnings$/m);
  });

  it('reports errors with the path relative to the workspace and the line, and exits 1', () => {
    const dir = workspace({
      'defs/good.assets.yaml': 'assets:\n  fine:\n    partitions: {daily: {start: 2024-01-01}}\n',
      'defs/sub/bad.assets.yaml': 'assets:\n  ok_one: {}\n  broken:\n    deps: [no_such_asset]\n    colour: red\n',
    });
    const r = backfill(['validate', '--json'], { cwd: dir });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; diagnostics: Array<Record<string, unknown>> };
    assert.equal(out.ok, false);
    const error = out.diagnostics.find((d) => d.severity === 'error');
    assert.ok(error, r.stdout);
    assert.equal(error.file, 'defs/sub/bad.assets.yaml');
    assert.equal(error.line, 4);
    assert.equal(typeof error.column, 'number');
    assert.match(String(error.message), /no_such_asset/);
    assert.deepEqual(Object.keys(error).sort(), ['column', 'file', 'line', 'message', 'severity']);
    const warning = out.diagnostics.find((d) => d.severity === 'warning');
    assert.equal(warning?.file, 'defs/sub/bad.assets.yaml');
    assert.equal(warning?.line, 5);

    const human = backfill(['validate'], { cwd: dir });
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^defs\/sub\/bad\.assets\.yaml:4:\d+: error: .*no_such_asset/m);
    assert.match(human.stdout, /^defs\/sub\/bad\.assets\.yaml:5:\d+: warning: /m);
    assert.match(human.stdout, /^\d+ assets in 2 files: 1 error, 1 warning$/m);
  });

  it('reports a YAML syntax error at its line', () => {
    const dir = workspace({ 'x.assets.yaml': 'assets:\n  a: {}\n  b: [unclosed\n' });
    const r = backfill(['validate', '--json'], { cwd: dir });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { diagnostics: Array<{ file: string; line: number; severity: string }> };
    assert.ok(
      out.diagnostics.some((d) => d.file === 'x.assets.yaml' && d.severity === 'error' && d.line >= 3),
      r.stdout,
    );
  });
});

describe('backfill assets', () => {
  it('lists assets in topological order with partitions and dependencies', () => {
    const out = json(['assets', ...NOW], { cwd: ws }) as { assets: Array<Record<string, unknown>> };
    const names = out.assets.map((a) => a.name);
    assert.deepEqual(new Set(names), new Set(['raw_events', 'clean_events', 'rolling', 'weekly_report', 'regions', 'lookup', 'summary']));
    const at = (n: string) => names.indexOf(n);
    assert.ok(at('raw_events') < at('clean_events') && at('clean_events') < at('rolling') && at('rolling') < at('weekly_report'));
    assert.ok(at('lookup') < at('summary'));

    const clean = out.assets[at('clean_events')]!;
    assert.equal(clean.file, 'pipeline.assets.yaml');
    assert.equal(clean.line, 4);
    assert.equal(clean.group, 'clean');
    const cleanDeps = clean.deps as Array<{ asset: string; mapping: { kind: unknown } }>;
    assert.equal(cleanDeps.length, 1);
    assert.equal(cleanDeps[0]!.asset, 'raw_events');
    assert.equal(typeof cleanDeps[0]!.mapping.kind, 'string');
    const partitions = clean.partitions as Record<string, unknown>;
    assert.equal(partitions.kind, 'daily');
    assert.equal(partitions.count, 91);
    assert.equal(partitions.first, '2024-01-01');
    assert.equal(partitions.last, '2024-03-31');

    const rolling = out.assets[at('rolling')]!;
    const dep = (rolling.deps as Array<{ asset: string; mapping: Record<string, unknown> }>)[0]!;
    assert.equal(dep.asset, 'clean_events');
    assert.equal(dep.mapping.kind, 'time_window');
    assert.equal(dep.mapping.start_offset, -1);
    assert.equal(dep.mapping.end_offset, -1);

    assert.equal(out.assets[at('lookup')]!.partitions, null);
    assert.equal(out.assets[at('raw_events')]!.group, 'default');
    assert.deepEqual((out.assets[at('regions')]!.partitions as { keys: string[] }).keys, ['us', 'eu', 'apac']);
  });

  it('prints one compact line per asset', () => {
    const r = backfill(['assets', ...NOW], { cwd: ws });
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 7);
    const clean = lines.find((l) => l.startsWith('clean_events '))!;
    assert.match(clean, /clean_events\s+clean\s+daily 91 2024-01-01…2024-03-31\s+← raw_events$/);
    assert.match(
      lines.find((l) => l.startsWith('rolling '))!,
      /← clean_events \(offset -1\)$/,
    );
    assert.match(
      lines.find((l) => l.startsWith('lookup '))!,
      /unpartitioned/,
    );
  });
});

describe('backfill partitions', () => {
  it('lists the keys of a daily asset as of --now', () => {
    const out = json(['partitions', 'raw_events', ...NOW], { cwd: ws }) as { asset: string; partitions: string[] };
    assert.equal(out.asset, 'raw_events');
    assert.equal(out.partitions.length, 91);
    assert.equal(out.partitions[0], '2024-01-01');
    assert.equal(out.partitions[90], '2024-03-31');
    assert.ok(!out.partitions.includes('2024-04-01'), 'the partition of --now has not ended');
  });

  it('compresses consecutive keys into a range in human output', () => {
    const r = backfill(['partitions', 'raw_events', ...NOW], { cwd: ws });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ {2}2024-01-01…2024-03-31 \(91\)$/m);
    assert.ok(r.stdout.split('\n').length < 5, r.stdout);
    assert.doesNotMatch(r.stdout, /\u001b\[/, 'no colour when piped');
  });

  it('lists static keys and gives null for an unpartitioned asset', () => {
    assert.deepEqual(json(['partitions', 'regions'], { cwd: ws }), { asset: 'regions', partitions: ['us', 'eu', 'apac'] });
    assert.deepEqual(json(['partitions', 'lookup'], { cwd: ws }), { asset: 'lookup', partitions: null });
  });

  it('moves with --now, with or without a time and offset', () => {
    const count = (now: string) =>
      (json(['partitions', 'raw_events', '--now', now], { cwd: ws }) as { partitions: string[] }).partitions.length;
    assert.equal(count('2024-01-11'), 10);
    assert.equal(count('2024-01-11T23:59:59Z'), 10);
    assert.equal(count('2024-01-12T00:30:00+01:00'), 10); // 2024-01-11T23:30Z
    assert.equal(count('2024-01-12T00:00:00Z'), 11);
  });
});

describe('backfill deps', () => {
  it('lists the 7 days a weekly partition reads from a daily asset', () => {
    const dir = workspace({
      'w.assets.yaml': `assets:
  daily: {partitions: {daily: {start: 2024-01-01}}}
  weekly:
    partitions: {weekly: {start: 2024-01-01}}
    deps: [daily]
`,
    });
    const out = json(['deps', 'weekly', '2024-01-07', ...NOW], { cwd: dir });
    assert.deepEqual(out, {
      asset: 'weekly',
      partition: '2024-01-07',
      upstream: [
        {
          asset: 'daily',
          partitions: ['2024-01-07', '2024-01-08', '2024-01-09', '2024-01-10', '2024-01-11', '2024-01-12', '2024-01-13'],
          missing: [],
        },
      ],
    });
    const human = backfill(['deps', 'weekly', '2024-01-07', ...NOW], { cwd: dir });
    assert.match(human.stdout, /daily\s+2024-01-07…2024-01-13 \(7\)/);
  });

  it('follows an offset -1 dependency to the previous day', () => {
    const out = json(['deps', 'rolling', '2024-02-01', ...NOW], { cwd: ws }) as { upstream: unknown[] };
    assert.deepEqual(out.upstream, [{ asset: 'clean_events', partitions: ['2024-01-31'], missing: [] }]);
  });

  it('takes no partition for an unpartitioned asset', () => {
    assert.deepEqual(json(['deps', 'summary'], { cwd: ws }), {
      asset: 'summary',
      partition: null,
      upstream: [{ asset: 'lookup', partitions: null, missing: [] }],
    });
    assert.match(userError(['deps', 'summary', '2024-01-01'], { cwd: ws }), /not partitioned/);
  });

  it('needs a partition for a partitioned asset', () => {
    assert.match(userError(['deps', 'rolling', ...NOW], { cwd: ws }), /rolling.*partition key/);
  });
});

describe('backfill impact', () => {
  it('follows a partition downstream through a 3-asset chain', () => {
    const dir = workspace({
      'chain.assets.yaml': `assets:
  a: {partitions: {daily: {start: 2024-01-01}}}
  b:
    partitions: {daily: {start: 2024-01-01}}
    deps: [{asset: a, mapping: {offset: -1}}]
  c:
    partitions: {weekly: {start: 2024-01-01}}
    deps: [b]
  unrelated: {partitions: {daily: {start: 2024-01-01}}}
`,
    });
    assert.deepEqual(json(['impact', 'a', '2024-01-09', ...NOW], { cwd: dir }), {
      impacted: [
        { asset: 'a', partitions: ['2024-01-09'] },
        { asset: 'b', partitions: ['2024-01-10'] },
        { asset: 'c', partitions: ['2024-01-07'] },
      ],
    });
  });

  it('accepts several keys and FIRST...LAST ranges, and compresses them in human output', () => {
    const out = json(['impact', 'raw_events', '2024-03-01...2024-03-10', '2024-03-20', ...NOW], { cwd: ws }) as {
      impacted: Array<{ asset: string; partitions: string[] }>;
    };
    assert.deepEqual(
      out.impacted.map((i) => [i.asset, i.partitions.length]),
      [
        ['raw_events', 11],
        ['clean_events', 11],
        ['rolling', 11],
        ['weekly_report', 4],
      ],
    );
    // rolling reads the previous day: its 2024-03-02…2024-03-11 and 2024-03-21 fall in these weeks.
    assert.deepEqual(out.impacted[3]!.partitions, ['2024-02-25', '2024-03-03', '2024-03-10', '2024-03-17']);
    const r = backfill(['impact', 'raw_events', '2024-03-01...2024-03-10', '2024-03-20', ...NOW], { cwd: ws });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ {2}raw_events\s+2024-03-01…2024-03-10 \(10\), 2024-03-20$/m);
    assert.match(r.stdout, /^ {2}rolling\s+2024-03-02…2024-03-11 \(10\), 2024-03-21$/m);
  });

  it('takes no partition for an unpartitioned asset', () => {
    assert.deepEqual(json(['impact', 'lookup'], { cwd: ws }), {
      impacted: [
        { asset: 'lookup', partitions: null },
        { asset: 'summary', partitions: null },
      ],
    });
  });
});

describe('errors', () => {
  it('names the nearest existing keys of a partition that does not exist', () => {
    const after = userError(['deps', 'raw_events', '2024-04-15', ...NOW], { cwd: ws });
    assert.match(after, /"2024-04-15"/);
    assert.match(after, /raw_events/);
    assert.match(after, /2024-03-30, 2024-03-31/);
    const before = userError(['impact', 'raw_events', '2023-12-25', ...NOW], { cwd: ws });
    assert.match(before, /2024-01-01, 2024-01-02/);
    const statics = userError(['deps', 'regions', 'uk'], { cwd: ws });
    assert.match(statics, /"uk".*regions.*nearest: us\b/);
    // Digits in the right places but no such month: said to be malformed, not "after the last partition".
    const month13 = userError(['deps', 'raw_events', '2024-13-01', ...NOW], { cwd: ws });
    assert.match(month13, /"2024-13-01".*\(not a key of the form %Y-%m-%d\)/);
  });

  it('suggests the asset meant', () => {
    const line = userError(['partitions', 'raw_evnts'], { cwd: ws });
    assert.match(line, /unknown asset "raw_evnts"/);
    assert.match(line, /did you mean "raw_events"/);
  });

  it('rejects an invalid --now clearly', () => {
    assert.match(userError(['partitions', 'raw_events', '--now', 'yesterday'], { cwd: ws }), /invalid --now "yesterday"/);
    assert.match(userError(['partitions', 'raw_events', '--now', '2024-13-01'], { cwd: ws }), /invalid --now/);
  });

  it('exits 2 on usage errors', () => {
    assert.match(userError(['partitions'], { cwd: ws }), /missing required argument/);
    assert.match(userError(['assets', '--no-such-option'], { cwd: ws }), /unknown option/);
    assert.match(userError(['valdate'], { cwd: ws }), /did you mean validate/);
    assert.match(userError(['assets', '--workspace', path.join(ws, 'nope')]), /not a directory/);
  });

  it('keeps working with the valid assets when some files have errors', () => {
    const dir = workspace({
      'good.assets.yaml': 'assets:\n  fine: {partitions: {daily: {start: 2024-01-01}}}\n',
      'bad.assets.yaml': 'assets:\n  broken: {partitions: {daily: {start: not-a-date}}}\n',
    });
    const r = backfill(['assets', '--json'], { cwd: dir });
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as { assets: Array<{ name: string }> };
    assert.deepEqual(
      out.assets.map((a) => a.name),
      ['fine'],
    );
    assert.match(r.stderr, /^warning: 1 definition error \(run backfill validate\)$/m);
    assert.match(userError(['partitions', 'broken'], { cwd: dir }), /unknown asset "broken".*validate/);
  });
});

describe('global options', () => {
  it('work before and after the command name', () => {
    const afterName = backfill(['partitions', 'raw_events', '--now', '2024-02-01', '--json', '--workspace', ws]);
    const beforeName = backfill(['--json', '--workspace', ws, '--now', '2024-02-01', 'partitions', 'raw_events']);
    const mixed = backfill(['--now', '2024-02-01', 'partitions', '--json', 'raw_events', '-w', ws]);
    assert.equal(afterName.code, 0, afterName.stderr);
    assert.equal(beforeName.stdout, afterName.stdout);
    assert.equal(mixed.stdout, afterName.stdout);
    assert.equal((JSON.parse(afterName.stdout) as { partitions: string[] }).partitions.length, 31);
  });

  it('prints the version and help', () => {
    const v = backfill(['--version']);
    assert.equal(v.code, 0);
    const [name, runtime] = v.stdout.trim().split('\n');
    assert.equal(name, `backfill ${VERSION}`);
    assert.match(
      runtime!,
      new RegExp(`^Node ${process.versions.node}; state database through (node:sqlite|better-sqlite3) \\(SQLite 3\\.\\d+\\.\\d+\\)$`),
    );
    const help = backfill(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['validate', 'assets', 'partitions', 'deps', 'impact'])
      assert.match(help.stdout, new RegExp(`^ {2}${command}\\b`, 'm'));
    const deps = backfill(['deps', '--help']);
    assert.equal(deps.code, 0);
    assert.match(deps.stdout, /backfill deps \[options\] <asset> \[partition\]/);
    assert.match(deps.stdout, /--json/);
    assert.match(deps.stdout, /--now/);
  });
});
