// The state commands of the `backfill` CLI end to end: status, why, record, history, run as the
// real bundle (dist/cli.js) in temporary workspaces with real SQLite state databases.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/core/state/sqlite.ts';
import { buildCli, json, ok, REPO, removeTempDirs, tempWorkspace, userError } from './cli-harness.ts';

/** A temporary workspace with the given files (relative path → text). */
const workspace = (files: Record<string, string>): string => tempWorkspace(files, 'backfill-cli-state-');

before(buildCli);
after(removeTempDirs);

// As of 2024-01-11 the daily assets have 10 partitions, 2024-01-01…2024-01-10.
const NOW = ['--now', '2024-01-11'];
const PIPELINE = `assets:
  raw:
    partitions: {daily: {start: 2024-01-01}}
    run: python ingest.py {partition}
  clean:
    partitions: {daily: {start: 2024-01-01}}
    deps: [raw]
    run: python clean.py {partition}
  lagged:
    partitions: {daily: {start: 2024-01-01}}
    deps:
      - asset: raw
        mapping: {offset: -1}
  regions:
    partitions: {static: [us, eu, apac]}
  lookup:
    run: echo lookup
`;
const ALL_DAYS = '2024-01-01...2024-01-10';
const DAYS = Array.from({ length: 10 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);

interface StatusJson {
  assets: Array<{
    asset: string;
    counts: Record<'fresh' | 'stale' | 'missing' | 'failed' | 'running', number>;
    partitions?: Array<{ partition: string | null; status: string; causes: string[] }>;
  }>;
}

interface Explanation {
  asset: string;
  partition: string | null;
  status: string;
  causes: Array<{ cause: string; recorded?: string | null; current?: string; changed?: Array<{ asset: string; partition: string }> }>;
  last_success: { id: number; status: string; code_version: string | null } | null;
  last_attempt: { id: number; status: string } | null;
  summary: string;
}

interface HistoryJson {
  attempts: Array<Record<string, unknown> & { id: number; asset: string; partition: string | null; status: string }>;
}

function statusOf(dir: string, asset: string, extra: string[] = []): StatusJson['assets'][number] {
  const out = json<StatusJson>(['status', asset, '--partitions', ...NOW, ...extra], { cwd: dir });
  assert.equal(out.assets.length, 1);
  return out.assets[0]!;
}

/** `{status(causes): [keys]}` of an asset's partitions. */
function byStatus(entry: StatusJson['assets'][number]): Record<string, Array<string | null>> {
  const out: Record<string, Array<string | null>> = {};
  for (const p of entry.partitions!) (out[p.status + (p.causes.length > 0 ? `(${p.causes.join(',')})` : '')] ??= []).push(p.partition);
  return out;
}

const ZERO = { fresh: 0, stale: 0, missing: 0, failed: 0, running: 0 };

describe('backfill status', () => {
  it('reads a workspace without a database as everything missing, creating an empty one', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    const out = json<StatusJson>(['status', ...NOW], { cwd: dir });
    assert.deepEqual(
      out.assets.map((a) => a.asset),
      ['lookup', 'raw', 'clean', 'lagged', 'regions'],
      'topological order, ties by name',
    );
    for (const a of out.assets) {
      assert.equal(a.counts.missing, a.asset === 'regions' ? 3 : a.asset === 'lookup' ? 1 : 10);
      assert.equal(a.counts.fresh + a.counts.stale + a.counts.failed + a.counts.running, 0);
      assert.equal('partitions' in a, false, 'no partition list without --partitions');
    }
    assert.ok(existsSync(path.join(dir, '.backfill', 'state.db')));
  });

  it('shows recorded partitions as fresh', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    const rec = json<{ recorded: { asset: string; partitions: string[]; status: string; attempt_ids: number[] } }>(
      ['record', 'raw', ALL_DAYS, ...NOW],
      { cwd: dir },
    );
    assert.equal(rec.recorded.asset, 'raw');
    assert.deepEqual(rec.recorded.partitions, DAYS);
    assert.equal(rec.recorded.status, 'success');
    assert.equal(rec.recorded.attempt_ids.length, 10);
    assert.equal(new Set(rec.recorded.attempt_ids).size, 10);
    assert.deepEqual(Object.keys(rec.recorded), ['asset', 'partitions', 'status', 'attempt_ids']);

    const out = json<StatusJson>(['status', 'raw', 'clean', ...NOW], { cwd: dir });
    assert.deepEqual(out, {
      assets: [
        { asset: 'raw', counts: { ...ZERO, fresh: 10 } },
        { asset: 'clean', counts: { ...ZERO, missing: 10 } },
      ],
    });
    const human = ok(['status', 'raw', ...NOW], { cwd: dir });
    assert.equal(human, 'raw  fresh    all 10 fresh\n');
    assert.equal(ok(['record', 'clean', '2024-01-02', ...NOW], { cwd: dir }), 'recorded 1 partition of clean (success)\n');
  });

  it('shows every partition of a code-changed asset stale with cause code, and only that asset', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', ALL_DAYS, ...NOW], { cwd: dir });
    ok(['record', 'clean', ALL_DAYS, ...NOW], { cwd: dir });
    const before = json<HistoryJson>(['history', 'clean', '2024-01-03'], { cwd: dir }).attempts[0]!;
    assert.deepEqual(byStatus(statusOf(dir, 'clean')), { fresh: DAYS });

    writeFileSync(path.join(dir, 'p.assets.yaml'), PIPELINE.replace('python clean.py {partition}', 'python clean.py --v2 {partition}'));
    assert.deepEqual(byStatus(statusOf(dir, 'clean')), { 'stale(code)': DAYS });
    assert.deepEqual(byStatus(statusOf(dir, 'raw')), { fresh: DAYS });

    const why = json<Explanation>(['why', 'clean', '2024-01-03', ...NOW], { cwd: dir });
    assert.equal(why.status, 'stale');
    assert.equal(why.causes.length, 1);
    assert.equal(why.causes[0]!.cause, 'code');
    assert.equal(why.causes[0]!.recorded, before['code_version']);
    assert.notEqual(why.causes[0]!.current, before['code_version']);
    assert.equal(why.last_success?.id, before.id);

    const human = ok(['why', 'clean', '2024-01-03', ...NOW], { cwd: dir });
    assert.match(human, /^clean 2024-01-03: stale$/m);
    assert.ok(
      human.includes(`code: version ${String(before['code_version'])} when it last succeeded, ${why.causes[0]!.current} now`),
      human,
    );
    assert.match(human, new RegExp(`^last success: #${before.id} success, `, 'm'));
    assert.match(
      ok(['status', 'clean', ...NOW], { cwd: dir }),
      /^clean {2}stale {4}10 stale\n {2}stale \(code\) {2}2024-01-01…2024-01-10 \(10\)\n$/,
    );
  });

  it('makes exactly the downstream partitions that read a re-recorded upstream partition stale, with cause upstream', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', ALL_DAYS, ...NOW], { cwd: dir });
    ok(['record', 'clean', ALL_DAYS, ...NOW], { cwd: dir });
    ok(['record', 'lagged', ALL_DAYS, ...NOW], { cwd: dir });
    ok(['record', 'raw', '2024-01-05', ...NOW], { cwd: dir });

    assert.deepEqual(byStatus(statusOf(dir, 'raw')), { fresh: DAYS });
    assert.deepEqual(byStatus(statusOf(dir, 'clean')), {
      fresh: DAYS.filter((d) => d !== '2024-01-05'),
      'stale(upstream)': ['2024-01-05'],
    });
    // lagged reads the day before: its 2024-01-06 reads raw 2024-01-05.
    assert.deepEqual(byStatus(statusOf(dir, 'lagged')), {
      fresh: DAYS.filter((d) => d !== '2024-01-06'),
      'stale(upstream)': ['2024-01-06'],
    });

    for (const [asset, key] of [
      ['clean', '2024-01-05'],
      ['lagged', '2024-01-06'],
    ] as const) {
      const why = json<Explanation>(['why', asset, key, ...NOW], { cwd: dir });
      assert.equal(why.partition, key);
      assert.equal(why.status, 'stale');
      assert.deepEqual(
        why.causes.map((c) => c.cause),
        ['upstream'],
      );
      assert.deepEqual(
        why.causes[0]!.changed!.map((c) => [c.asset, c.partition]),
        [['raw', '2024-01-05']],
      );
      const human = ok(['why', asset, key, ...NOW], { cwd: dir });
      assert.match(human, new RegExp(`^${asset} ${key}: stale$`, 'm'));
      assert.match(human, /^ {4}raw 2024-01-05 +materialized \d{4}-\d\d-\d\dT[\d:]+Z +data version \w+/m);
    }
    assert.equal(json<Explanation>(['why', 'lagged', '2024-01-05', ...NOW], { cwd: dir }).status, 'fresh');
  });

  it('follows a re-recorded hour into the one daily partition that reads it', () => {
    const dir = workspace({
      'h.assets.yaml': `assets:
  hourly_events:
    partitions: {hourly: {start: 2024-01-01-00:00}}
  daily_rollup:
    partitions: {daily: {start: 2024-01-01}}
    deps: [hourly_events]
`,
    });
    const now = ['--now', '2024-01-03'];
    const rec = json<{ recorded: { partitions: string[] } }>(['record', 'hourly_events', '2024-01-01-00:00...2024-01-02-23:00', ...now], {
      cwd: dir,
    });
    assert.equal(rec.recorded.partitions.length, 48);
    ok(['record', 'daily_rollup', '2024-01-01', '2024-01-02', ...now], { cwd: dir });
    ok(['record', 'hourly_events', '2024-01-02-05:00', ...now], { cwd: dir });

    const out = json<StatusJson>(['status', 'daily_rollup', '--partitions', ...now], { cwd: dir });
    assert.deepEqual(out.assets[0]!.partitions, [
      { partition: '2024-01-01', status: 'fresh', causes: [] },
      { partition: '2024-01-02', status: 'stale', causes: ['upstream'] },
    ]);
    const why = json<Explanation>(['why', 'daily_rollup', '2024-01-02', ...now], { cwd: dir });
    assert.deepEqual(
      why.causes[0]!.changed!.map((c) => [c.asset, c.partition]),
      [['hourly_events', '2024-01-02-05:00']],
    );
    assert.match(why.summary, /hourly_events 2024-01-02-05:00/);
    assert.match(ok(['status', ...now], { cwd: dir }), /^hourly_events +fresh +all 48 fresh$/m);
  });

  it('shows a failed record as failed, even after an earlier success', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', '2024-01-01...2024-01-04', ...NOW], { cwd: dir });
    assert.equal(
      ok(['record', 'raw', '2024-01-03', '2024-01-08', '--status', 'failed', ...NOW], { cwd: dir }),
      'recorded 2 partitions of raw (failed)\n',
    );
    const raw = statusOf(dir, 'raw');
    assert.deepEqual(raw.counts, { fresh: 3, stale: 0, missing: 5, failed: 2, running: 0 });
    assert.deepEqual(byStatus(raw), {
      fresh: ['2024-01-01', '2024-01-02', '2024-01-04'],
      failed: ['2024-01-03', '2024-01-08'],
      missing: ['2024-01-05', '2024-01-06', '2024-01-07', '2024-01-09', '2024-01-10'],
    });
    const human = ok(['status', 'raw', ...NOW], { cwd: dir });
    assert.match(human, /^raw {2}failed {3}3 fresh · 5 missing · 2 failed$/m);
    assert.match(human, /^ {2}failed +2024-01-03, 2024-01-08$/m);
    assert.match(human, /^ {2}missing +2024-01-05…2024-01-07 \(3\), 2024-01-09, 2024-01-10$/m);

    const why = json<Explanation>(['why', 'raw', '2024-01-03', ...NOW], { cwd: dir });
    assert.equal(why.status, 'failed');
    assert.equal(why.last_attempt?.status, 'failed');
    assert.equal(why.last_success?.status, 'success');
    assert.ok(why.last_attempt.id > why.last_success.id);
    assert.match(
      ok(['why', 'raw', '2024-01-08', ...NOW], { cwd: dir }),
      /^raw 2024-01-08: failed\n {2}the latest attempt failed .*\nlast success: none\nlast attempt: #\d+ failed, /,
    );
    assert.match(
      userError(['record', 'raw', '2024-01-01', '--status', 'failed', '--data-version', 'v1', ...NOW], { cwd: dir }),
      /--data-version/,
    );
    assert.match(userError(['record', 'raw', '2024-01-01', '--status', 'broken', ...NOW], { cwd: dir }), /success, failed/);
  });

  it('lists every partition with --partitions, null for an unpartitioned asset', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'regions', 'eu'], { cwd: dir });
    ok(['record', 'lookup'], { cwd: dir });
    assert.deepEqual(json(['status', 'regions', 'lookup', '--partitions'], { cwd: dir }), {
      assets: [
        { asset: 'lookup', counts: { ...ZERO, fresh: 1 }, partitions: [{ partition: null, status: 'fresh', causes: [] }] },
        {
          asset: 'regions',
          counts: { ...ZERO, fresh: 1, missing: 2 },
          partitions: [
            { partition: 'us', status: 'missing', causes: [] },
            { partition: 'eu', status: 'fresh', causes: [] },
            { partition: 'apac', status: 'missing', causes: [] },
          ],
        },
      ],
    });
    const why = json<Explanation>(['why', 'lookup'], { cwd: dir });
    assert.deepEqual([why.asset, why.partition, why.status, why.causes], ['lookup', null, 'fresh', []]);
    assert.equal(ok(['status', 'lookup'], { cwd: dir }), 'lookup  fresh    unpartitioned\n');
    assert.match(
      ok(['status', 'regions', '--partitions'], { cwd: dir }),
      /^regions {2}missing {2}1 fresh · 2 missing\n {2}us {4}missing\n {2}eu {4}fresh\n {2}apac {2}missing\n$/,
    );
  });

  it('compresses ranges in human output and groups stale partitions by cause', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', ALL_DAYS, ...NOW], { cwd: dir });
    ok(['record', 'clean', '2024-01-01...2024-01-09', ...NOW], { cwd: dir });
    ok(['record', 'raw', '2024-01-03...2024-01-09', ...NOW], { cwd: dir });
    const lines = ok(['status', 'raw', 'clean', ...NOW], { cwd: dir })
      .trimEnd()
      .split('\n');
    assert.deepEqual(lines, [
      'raw    fresh    all 10 fresh',
      'clean  stale    2 fresh · 7 stale · 1 missing',
      '  stale (upstream)  2024-01-03…2024-01-09 (7)',
      '  missing           2024-01-10',
    ]);

    // A code change on top: the upstream-stale partitions become (code, upstream), the rest (code).
    writeFileSync(path.join(dir, 'p.assets.yaml'), PIPELINE.replace('python clean.py {partition}', 'python clean.py --v2 {partition}'));
    const after = ok(['status', 'clean', ...NOW], { cwd: dir });
    assert.match(after, /^clean {2}stale {4}9 stale · 1 missing$/m);
    assert.match(after, /^ {2}stale \(code\) +2024-01-01, 2024-01-02$/m);
    assert.match(after, /^ {2}stale \(code, upstream\) +2024-01-03…2024-01-09 \(7\)$/m);
  });

  it('still sees partitions recorded beyond the clock of a later writer whose definition changed', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', ALL_DAYS, ...NOW], { cwd: dir });
    // A new start date changes the definition; a record as of 2024-01-03 knows only 3 partitions.
    writeFileSync(
      path.join(dir, 'p.assets.yaml'),
      PIPELINE.replace(
        'partitions: {daily: {start: 2024-01-01}}\n    run: python ingest',
        'partitions: {daily: {start: 2023-12-31}}\n    run: python ingest',
      ),
    );
    ok(['record', 'raw', '2024-01-01', '--now', '2024-01-03'], { cwd: dir });
    assert.deepEqual(byStatus(statusOf(dir, 'raw')), { missing: ['2023-12-31'], fresh: DAYS });
  });

  it('rejects unknown assets with a suggestion', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    assert.match(userError(['status', 'raw', 'claen'], { cwd: dir }), /unknown asset "claen".*did you mean "clean"/);
    assert.match(userError(['why', 'clen', '2024-01-01'], { cwd: dir }), /did you mean "clean"/);
    assert.match(userError(['why', 'clean', '2024-02-01', ...NOW], { cwd: dir }), /"2024-02-01".*nearest: 2024-01-09, 2024-01-10/);
    assert.match(userError(['why', 'clean', ...NOW], { cwd: dir }), /partition key/);
    assert.match(userError(['why', 'lookup', 'x'], { cwd: dir }), /not partitioned/);
    assert.match(userError(['record', 'raw', '2024-01-11', ...NOW], { cwd: dir }), /does not exist as of 2024-01-11/);
  });
});

describe('backfill history', () => {
  it('lists attempts newest first with their metadata', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(
      [
        'record',
        'raw',
        '2024-01-01',
        '--metadata',
        'rows=12',
        '--metadata',
        'note="x"',
        '--metadata',
        'src=s3://b/k',
        '--metadata',
        'eq=a=b',
        ...NOW,
      ],
      { cwd: dir },
    );
    ok(['record', 'lookup', '--data-version', 'v7'], { cwd: dir });
    ok(['record', 'raw', '2024-01-02', '--status', 'failed', ...NOW], { cwd: dir });

    const all = json<HistoryJson>(['history'], { cwd: dir }).attempts;
    assert.deepEqual(
      all.map((a) => [a.asset, a.partition, a.status]),
      [
        ['raw', '2024-01-02', 'failed'],
        ['lookup', null, 'success'],
        ['raw', '2024-01-01', 'success'],
      ],
    );
    assert.ok(all[0]!.id > all[1]!.id && all[1]!.id > all[2]!.id);
    assert.deepEqual(Object.keys(all[0]!), [
      'id',
      'asset',
      'partition',
      'run_id',
      'status',
      'started',
      'ended',
      'duration_ms',
      'exit_code',
      'code_version',
      'data_version',
      'metadata',
      'cost',
      'cost_source',
    ]);
    assert.deepEqual(all[2]!['metadata'], { rows: 12, note: 'x', src: 's3://b/k', eq: 'a=b' });
    assert.equal(all[0]!['metadata'], null);
    assert.equal(all[1]!['data_version'], 'v7');
    assert.equal(all[0]!['data_version'], null);
    assert.match(String(all[0]!['started']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof all[0]!['code_version'], 'string');

    assert.deepEqual(
      json<HistoryJson>(['history', 'raw', '2024-01-01'], { cwd: dir }).attempts.map((a) => a.id),
      [all[2]!.id],
    );
    assert.deepEqual(
      json<HistoryJson>(['history', 'raw', '--limit', '1'], { cwd: dir }).attempts.map((a) => a.id),
      [all[0]!.id],
    );
    const human = ok(['history'], { cwd: dir }).trimEnd().split('\n');
    assert.equal(human.length, 4);
    assert.match(human[0]!, /^id +started +asset +partition +status +duration +details$/);
    assert.match(human[1]!, new RegExp(`^#${all[0]!.id} +\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z +raw +2024-01-02 +failed$`));
    assert.match(human[3]!, /raw +2024-01-01 +success +rows=12 note=x src=s3:\/\/b\/k eq=a=b$/);
    assert.equal(ok(['history', 'clean'], { cwd: dir }), 'no attempts recorded for clean\n');
    assert.match(userError(['history', 'raw', '--limit', 'x'], { cwd: dir }), /invalid --limit "x"/);
    assert.match(userError(['record', 'raw', '2024-01-01', '--metadata', 'novalue', ...NOW], { cwd: dir }), /invalid --metadata "novalue"/);
  });

  it('keeps the history of an asset no longer defined', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'lagged', '2024-01-04', ...NOW], { cwd: dir });
    writeFileSync(path.join(dir, 'p.assets.yaml'), PIPELINE.replace(/ {2}lagged:[\s\S]*?(?= {2}regions:)/, ''));
    assert.deepEqual(
      json<HistoryJson>(['history', 'lagged', '2024-01-04'], { cwd: dir }).attempts.map((a) => [a.asset, a.partition]),
      [['lagged', '2024-01-04']],
    );
    assert.match(userError(['history', 'lagd'], { cwd: dir }), /unknown asset "lagd"/);
  });
});

describe('--state', () => {
  it('points at another database file, relative to the workspace', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    // Run from elsewhere: the relative path is the workspace's, not the current folder's.
    ok(['record', 'raw', ALL_DAYS, '--state', 'states/other.db', '-w', dir, ...NOW]);
    assert.ok(existsSync(path.join(dir, 'states', 'other.db')));
    assert.ok(!existsSync(path.join(REPO, 'states')));
    assert.equal(json<StatusJson>(['status', 'raw', '--state', 'states/other.db', ...NOW], { cwd: dir }).assets[0]!.counts.fresh, 10);
    assert.equal(
      json<StatusJson>(['status', 'raw', ...NOW], { cwd: dir }).assets[0]!.counts.missing,
      10,
      'the default database has no records',
    );
    const absolute = path.join(dir, 'states', 'other.db');
    assert.equal(json<HistoryJson>(['--state', absolute, 'history'], { cwd: dir }).attempts.length, 10);
    assert.equal(json<HistoryJson>(['history'], { cwd: dir }).attempts.length, 0);
  });
});

describe('state database errors', () => {
  const COMMANDS = [['status'], ['why', 'raw', '2024-01-01'], ['record', 'raw', '2024-01-01'], ['history']];

  /** Every command fails with one line naming the file, exit 2, and leaves the file as it was. */
  function refusedEverywhere(dir: string, file: string, message: RegExp): void {
    const bytes = readFileSync(file);
    for (const command of COMMANDS) {
      const line = userError([...command, ...NOW], { cwd: dir });
      assert.ok(line.includes(file), line);
      assert.match(line, message);
      assert.deepEqual(readFileSync(file), bytes, `${command[0]} left ${file} unchanged`);
      assert.ok(!existsSync(`${file}-wal`) && !existsSync(`${file}-shm`), 'no WAL files left behind');
    }
  }

  it('reports a file that is not a database, and leaves it untouched', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE, '.backfill/state.db': 'these are not the bytes you are looking for\n'.repeat(100) });
    refusedEverywhere(dir, path.join(dir, '.backfill', 'state.db'), /is corrupt .*move it aside/);
  });

  it('reports a database whose pages are corrupt, found while reading', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    ok(['record', 'raw', ALL_DAYS, ...NOW], { cwd: dir });
    const file = path.join(dir, '.backfill', 'state.db');
    assert.ok(!existsSync(`${file}-wal`), 'the WAL was checkpointed on close');
    // Keep the first page (header and schema), overwrite every table's pages.
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    assert.ok(bytes.length > pageSize);
    bytes.fill(0xab, pageSize);
    writeFileSync(file, bytes);
    refusedEverywhere(dir, file, /is corrupt/);
  });

  it('refuses a newer schema and a foreign SQLite database without changing them', () => {
    const dir = workspace({ 'p.assets.yaml': PIPELINE });
    const newer = path.join(dir, 'newer.db');
    let db = connect(newer, { timeoutMs: 0 });
    db.exec('CREATE TABLE attempts (id INTEGER PRIMARY KEY)');
    db.exec('PRAGMA user_version = 99');
    db.close();
    const foreign = path.join(dir, 'foreign.db');
    db = connect(foreign, { timeoutMs: 0 });
    db.exec(`CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada')`);
    db.close();
    for (const [file, message] of [
      [newer, /schema version 99, newer than this Backfill understands/],
      [foreign, /not a Backfill state database/],
    ] as const) {
      const bytes = readFileSync(file);
      const line = userError(['status', '--state', file], { cwd: dir });
      assert.ok(line.includes(file), line);
      assert.match(line, message);
      assert.deepEqual(readFileSync(file), bytes);
    }
  });
});

describe('help', () => {
  it('lists the state commands and --state', () => {
    const help = ok(['--help']);
    for (const command of ['status', 'why', 'record', 'history', 'state']) assert.match(help, new RegExp(`^ {2}${command}\\b`, 'm'));
    assert.match(help, /--state <path\|url> +state database: a file, .* or a team database postgres:\/\/user@host\/db/);
    assert.match(help, /--project <key>/);
    assert.match(ok(['state', 'copy', '--help']), /--from <path\|url>[\s\S]*--to <path\|url>/);
    assert.match(ok(['record', '--help']), /--metadata <key=value>/);
  });
});
