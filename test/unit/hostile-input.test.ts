// Bad input to the definitions loader, the workspace scan, output paths and the CLI, the way an
// attacker or a careless user writes it. Each case asserts what the user sees: the message with
// its file and line, the exit code, and that the other files' assets are still loaded. Time
// bounds are loose on purpose: they only catch a hang or an explosion, not a slowdown.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sourceFiles } from '../../src/core/state/versions.ts';
import { loadWorkspace, loadWorkspaceFromSources, type Workspace } from '../../src/core/workspace.ts';
import { backfill, buildCli, CLI, json, ok, removeTempDirs, tempWorkspace, userError, type Result } from './cli-harness.ts';
import { tempDir } from './fixtures.ts';

const GOOD = 'assets:\n  good:\n    partitions: {daily: {start: 2024-01-01}}\n    run: "true"\n';
const NOW = ['--now', '2024-02-01'];

/** A workspace with a good file beside the hostile ones. */
const workspace = (files: Record<string, string>): string => tempWorkspace({ 'good.assets.yaml': GOOD, ...files }, 'backfill-hostile-');

/** `backfill validate` in `dir`: its exit code, its lines, and how long it took. */
function validate(dir: string, args: string[] = []): Result & { lines: string[]; ms: number } {
  const t0 = performance.now();
  const r = backfill(['validate', ...NOW, ...args], { cwd: dir });
  const ms = performance.now() - t0;
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  return { ...r, lines: r.stdout.trimEnd().split('\n'), ms };
}

/** The asset names `backfill assets` lists (the good file's must survive every attack). */
function assetNames(dir: string): string[] {
  return json<{ assets: Array<{ name: string }> }>(['assets', ...NOW], { cwd: dir }).assets.map((a) => a.name);
}

function load(files: Record<string, string>): Workspace {
  return loadWorkspaceFromSources(
    '/ws',
    Object.entries(files).map(([p, text]) => ({ path: p, text })),
    { now: new Date('2024-02-01') },
  );
}

before(buildCli);
after(removeTempDirs);

describe('YAML that explodes', () => {
  it('an alias bomb ("billion laughs") is refused at its line, in bounded time', () => {
    const lines = ['x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `x-l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    lines.push('assets:', '  bomb:', '    partitions: {static: *l9}', '    env: {A: *l9}');
    const dir = workspace({ 'bomb.assets.yaml': lines.join('\n') + '\n' });
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.ok(
      r.lines.includes(
        'bomb.assets.yaml:13:17: error: this value is too large: more than 200,000 values (an alias counts its value each time it is used)',
      ),
      r.stdout,
    );
    assert.ok(r.ms < 30_000, `${r.ms} ms`);
    assert.deepEqual(assetNames(dir), ['good']); // an asset with invalid partitions is left out
  });

  it('merge keys that repeat or nest are bounded: the same mapping merged 100,000 times, merges of merges', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}: ${i}`).join(', ');
    const repeated = `x-a: &a {${keys}}\nx-b:\n  <<: [${Array(100_000).fill('*a').join(', ')}]\n`;
    // Each mapping merges the previous one: 2,000 mappings hold 2 million merged keys in all.
    const chain = ['x-m0: &m0 {k0: 0}'];
    for (let i = 1; i <= 2000; i++) chain.push(`x-m${i}: &m${i} {k${i}: ${i}, <<: *m${i - 1}}`);
    const dir = workspace({ 'repeated.assets.yaml': repeated, 'chain.assets.yaml': chain.join('\n') + '\n' });
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.equal(r.lines.filter((l) => l.startsWith('repeated.assets.yaml')).length, 0, r.stdout);
    const chained = r.lines.filter((l) => l.startsWith('chain.assets.yaml'));
    assert.equal(chained.length, 1, r.stdout);
    assert.match(chained[0]!, /^chain\.assets\.yaml:\d+:\d+: error: merge keys \(<<\) in this file expand to more than 1,000,000 keys/);
    assert.ok(r.ms < 30_000, `${r.ms} ms`);
    assert.deepEqual(assetNames(dir), ['good']);
  });

  it('a 50 MB definitions file is not read: the message names the file, its size and the limit', () => {
    const dir = workspace({ 'huge.assets.yaml': '' });
    truncateSync(path.join(dir, 'huge.assets.yaml'), 50_000_000);
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.ok(
      r.lines.includes(
        'huge.assets.yaml:1:1: error: not read: this file is 50 MB, over the 10 MB a definition file may have; split it into several *.assets.yaml files',
      ),
      r.stdout,
    );
    assert.ok(r.ms < 30_000, `${r.ms} ms`);
    assert.deepEqual(assetNames(dir), ['good']);
  });

  it('text handed over by a host (an editor buffer) over the limit is not parsed either', () => {
    const ws = load({ 'big.assets.yaml': `assets:\n${'  # padding\n'.repeat(1_000_000)}`, 'good.assets.yaml': GOOD });
    assert.deepEqual(
      ws.diagnostics.map((d) => [path.basename(d.file), d.line, d.message]),
      [
        [
          'big.assets.yaml',
          1,
          'not read: this file is 12 MB, over the 10 MB a definition file may have; split it into several *.assets.yaml files',
        ],
      ],
    );
    assert.deepEqual([...ws.assets.keys()], ['good']);
  });
});

describe('10,000-deep nesting', () => {
  const deep = (open: string, n: number): string => `assets:\n  deep:\n    partitions: ${open.repeat(n)}\n`;

  it('flow sequences, flow mappings and block sequences: one message at the line, no crash', () => {
    const dir = workspace({
      'flow.assets.yaml': deep('[', 10_000),
      'map.assets.yaml': deep('{a: ', 10_000),
      'block.assets.yaml': `assets:\n  deep:\n    deps:\n      ${'- '.repeat(10_000)}x\n`,
      // A megabyte of brackets: refused before the parser spends a gigabyte on it.
      'mega.assets.yaml': deep('[', 1_000_000),
    });
    const r = validate(dir);
    assert.equal(r.code, 1);
    for (const [file, line] of [
      ['block', 4],
      ['flow', 3],
      ['map', 3],
      ['mega', 3],
    ] as const) {
      const mine = r.lines.filter((l) => l.startsWith(`${file}.assets.yaml:`));
      assert.equal(mine.length, 1, r.stdout);
      assert.match(
        mine[0]!,
        new RegExp(
          `^${file}\\.assets\\.yaml:${line}:\\d+: error: values nested more than 500 levels deep: a definition needs a few levels at most$`,
        ),
      );
    }
    assert.ok(r.ms < 30_000, `${r.ms} ms`);
    assert.deepEqual(assetNames(dir), ['good']);
  });

  it('block mappings nested by indentation', () => {
    const lines = ['x-deep:'];
    for (let i = 1; i <= 2000; i++) lines.push(`${' '.repeat(i)}k:`);
    const ws = load({ 'indent.assets.yaml': lines.join('\n') + '\n', 'good.assets.yaml': GOOD });
    // Where the parser gives up depends on its stack: past level 500, before level 1,000.
    assert.deepEqual(
      ws.diagnostics.map((d) => [d.severity, d.line > 500 && d.line < 1000, d.message]),
      [['error', true, 'values nested more than 500 levels deep: a definition needs a few levels at most']],
    );
    assert.deepEqual([...ws.assets.keys()], ['good']);
  });
});

describe('encodings', () => {
  it('invalid UTF-8: the file, line, column and byte offset; the other files load', () => {
    const dir = workspace({});
    const bytes = Buffer.concat([Buffer.from('assets:\n  café:\n    run: "echo '), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]);
    writeFileSync(path.join(dir, 'latin.assets.yaml'), bytes);
    writeFileSync(path.join(dir, 'utf16.assets.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('assets: {}\n', 'utf16le')]));
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines.slice(0, 2), [
      'latin.assets.yaml:3:16: error: not read: invalid UTF-8 (byte 0xff at offset 32); save the file as UTF-8',
      'utf16.assets.yaml:1:1: error: not read: this file is UTF-16; save it as UTF-8',
    ]);
    assert.deepEqual(assetNames(dir), ['good']);
  });
});

describe('duplicates', () => {
  it('a duplicate key in a mapping names the first one’s line', () => {
    const dir = workspace({ 'dup.assets.yaml': 'assets:\n  a:\n    run: echo 1\n    group: x\n    run: echo 2\n' });
    const r = validate(dir);
    assert.ok(r.lines.includes('dup.assets.yaml:5:5: error: duplicate key "run" (first at line 3); this one is ignored'), r.stdout);
  });

  it('an asset defined in two files names the first file and line', () => {
    const dir = workspace({ 'other.assets.yaml': 'assets:\n  extra: {}\n  good: {}\n' });
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.ok(r.lines.includes('other.assets.yaml:3:3: error: asset "good" is already defined at good.assets.yaml:2'), r.stdout);
    assert.deepEqual(assetNames(dir).sort(), ['extra', 'good']);
  });
});

describe('the workspace scan', () => {
  it('symbolic link loops, links to nothing, FIFOs and folders named *.assets.yaml are reported, never opened', () => {
    const dir = workspace({ 'folder.assets.yaml/inner.assets.yaml': 'assets:\n  inner: {}\n' });
    symlinkSync('loop-b.assets.yaml', path.join(dir, 'loop-a.assets.yaml'));
    symlinkSync('loop-a.assets.yaml', path.join(dir, 'loop-b.assets.yaml'));
    symlinkSync('missing.yaml', path.join(dir, 'dangling.assets.yaml'));
    symlinkSync('.', path.join(dir, 'self')); // a folder loop: links to folders are not followed
    execFileSync('mkfifo', [path.join(dir, 'pipe.assets.yaml')]);
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      'dangling.assets.yaml:1:1: error: not read: this is a symbolic link to a file that does not exist',
      'folder.assets.yaml:1:1: warning: this is a folder, not a definition file: its files are searched like any folder’s',
      'loop-a.assets.yaml:1:1: error: not read: this is a symbolic link that loops (it leads back to itself)',
      'loop-b.assets.yaml:1:1: error: not read: this is a symbolic link that loops (it leads back to itself)',
      'pipe.assets.yaml:1:1: error: not read: this is a named pipe (FIFO), not a regular file',
      '2 assets in 6 files: 4 errors, 1 warning',
    ]);
    assert.deepEqual(assetNames(dir).sort(), ['good', 'inner']);
  });

  it('a file that cannot be read (permission denied) is reported and the others load', (t) => {
    // Root reads any file whatever its mode: the CLI runs as nobody in a user namespace instead.
    const probe = spawnSync('unshare', ['--user', process.execPath, '-e', '0']);
    if (probe.status !== 0) return t.skip('no unprivileged user namespace, or this Node is not readable by nobody');
    const dir = tempDir('backfill-hostile-perm-');
    writeFileSync(path.join(dir, 'good.assets.yaml'), GOOD);
    writeFileSync(path.join(dir, 'secret.assets.yaml'), 'assets:\n  secret: {}\n');
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'good.assets.yaml'), 0o644);
    chmodSync(path.join(dir, 'secret.assets.yaml'), 0o000);
    const r = spawnSync('unshare', ['--user', process.execPath, CLI, '--workspace', dir, 'validate'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      'secret.assets.yaml:1:1: error: cannot read this file: permission denied (check its permissions and owner)',
      '1 asset in 2 files: 1 error, 0 warnings',
    ]);
  });

  it('the core reports the same without the CLI, and a FIFO swapped in never blocks the read', async () => {
    const dir = workspace({});
    execFileSync('mkfifo', [path.join(dir, 'pipe.assets.yaml')]);
    const ws = await Promise.race([
      loadWorkspace(dir, { now: new Date('2024-02-01') }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the scan hangs on a FIFO')), 20_000).unref()),
    ]);
    assert.deepEqual(
      ws.diagnostics.map((d) => [path.basename(d.file), d.message]),
      [['pipe.assets.yaml', 'not read: this is a named pipe (FIFO), not a regular file']],
    );
    assert.deepEqual([...ws.assets.keys()], ['good']);
  });
});

describe('dates, zones, schedules and sizes', () => {
  const defs = (entries: Record<string, string>): string =>
    'assets:\n' +
    Object.entries(entries)
      .map(([name, partitions]) => `  ${name}:\n    partitions: ${partitions}\n`)
      .join('');

  it('the ends of the calendar: year 0001 and 9999 work, years Python cannot hold are refused at the line', () => {
    const dir = workspace({
      'dates.assets.yaml': defs({
        first: '{daily: {start: 0001-01-01, end: 0001-03-01}}',
        first_month: '{monthly: {start: 0001-01-01, end: 0002-01-01}}',
        last: '{daily: {start: 9999-12-01}}',
        year0: '{daily: {start: 0000-01-01}}',
        beyond_js: '{daily: {start: 275760-09-13}}',
        negative: '{daily: {start: -000001-01-01}}',
      }),
    });
    const r = validate(dir);
    const refused = (line: number, date: string): string =>
      `dates.assets.yaml:${line}:33: error: date "${date}" is out of range: years 0001 to 9999 (as Dagster, which reads dates with Python's datetime)`;
    assert.deepEqual(r.lines, [
      refused(9, '0000-01-01'),
      refused(11, '275760-09-13'),
      refused(13, '-000001-01-01'),
      '4 assets in 2 files: 3 errors, 0 warnings',
    ]);
    const partitions = (asset: string, now: string): string[] =>
      json<{ partitions: string[] }>(['partitions', asset, '--now', now], { cwd: dir }).partitions;
    const first = partitions('first', '2024-01-01');
    assert.deepEqual([first.length, first[0], first.at(-1)], [59, '0001-01-01', '0001-02-28']);
    assert.deepEqual(
      partitions('first_month', '2024-01-01'),
      Array.from({ length: 12 }, (_, i) => `0001-${String(i + 1).padStart(2, '0')}-01`),
    );
    assert.deepEqual(partitions('last', '9999-12-31T12:00:00Z').at(-1), '9999-12-30');
  });

  it('end before start, unknown time zones, invalid cron schedules: one message each at the line', () => {
    const dir = workspace({
      'bad.assets.yaml': defs({
        reversed: '{daily: {start: 2024-02-01, end: 2024-01-01}}',
        mars: '{daily: {start: 2024-01-01, timezone: Mars/Olympus}}',
        offset_zone: '{daily: {start: 2024-01-01, timezone: "+05:00"}}',
        minute61: '{cron: {schedule: "61 * * * *", start: 2024-01-01}}',
        four_fields: '{cron: {schedule: "* * * *", start: 2024-01-01}}',
        feb30: '{cron: {schedule: "0 0 30 2 *", start: 2024-01-01}}',
        every0: '{cron: {schedule: "*/0 * * * *", start: 2024-01-01}}',
      }),
    });
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.slice(0, 7).map((l) => l.replace(/: error: .*/, '')),
      [
        'bad.assets.yaml:3:50',
        'bad.assets.yaml:5:55',
        'bad.assets.yaml:7:55',
        'bad.assets.yaml:9:35',
        'bad.assets.yaml:11:35',
        'bad.assets.yaml:13:35',
        'bad.assets.yaml:15:35',
      ],
    );
    assert.match(r.lines[0]!, /end 2024-01-01 is not after start 2024-02-01$/);
    assert.match(r.lines[1]!, /unknown time zone "Mars\/Olympus": use an IANA name/);
    assert.match(r.lines[3]!, /invalid cron schedule "61 \* \* \* \*"/);
    assert.match(r.lines[4]!, /must have 5 fields/);
    assert.equal(r.lines[7], '1 asset in 2 files: 7 errors, 0 warnings');
  });

  it('static sets: 100,000 keys load fast, 100,001 are refused at the line', (t) => {
    const keys = (n: number): string => Array.from({ length: n }, (_, i) => `        - customer_${String(i).padStart(6, '0')}\n`).join('');
    const text = (name: string, n: number): string => `assets:\n  ${name}:\n    partitions:\n      static:\n${keys(n)}`;
    const t0 = performance.now();
    const ws = load({ 'a.assets.yaml': text('customers', 100_000), 'b.assets.yaml': text('too_many', 100_001) });
    const ms = performance.now() - t0;
    t.diagnostic(`2 × 100,000 static keys (5.2 MB of YAML) loaded in ${ms.toFixed(0)} ms`);
    assert.equal(ws.assets.get('customers')?.partitions.size, 100_000);
    assert.deepEqual(
      ws.diagnostics.map((d) => [path.basename(d.file), d.line, d.message]),
      [['b.assets.yaml', 4, '100,001 static keys: more than 100,000 on one asset']],
    );
    assert.ok(ms < 60_000, `${ms} ms`);
  });
});

describe('output: paths that lead out of the workspace', () => {
  it('absolute and ../ templates are errors at the line; keys with ../ a warning; nothing outside is looked at', () => {
    const outside = tempDir('backfill-hostile-outside-');
    mkdirSync(path.join(outside, 'secret'));
    for (const f of ['a', 'b']) writeFileSync(path.join(outside, 'secret', f), '');
    const dir = workspace({
      'defs/out.assets.yaml': [
        'assets:',
        '  absolute:',
        '    partitions: {static: [a, b]}',
        `    output: ${outside}/secret/{partition}`,
        '  climbing:',
        '    partitions: {static: [a, b]}',
        `    output: ../../${path.basename(outside)}/secret/{partition}`,
        '  keys:',
        '    partitions: {static: [a, "../../x"]}',
        '    output: ../data/{partition}',
        '  linked:',
        '    partitions: {static: [a, b]}',
        '    output: ../data/link/{partition}',
        '  allowed:',
        '    partitions: {static: [a, b]}',
        `    output: ${outside}/secret/{partition}`,
        '    output_outside_workspace: true',
        '',
      ].join('\n'),
      'data/a': '',
    });
    symlinkSync(path.join(outside, 'secret'), path.join(dir, 'data', 'link'));
    const r = validate(dir);
    assert.equal(r.code, 1);
    const fix = 'set output_outside_workspace: true on the asset to look there';
    assert.deepEqual(r.lines, [
      `defs/out.assets.yaml:4:13: error: output "${outside}/secret/{partition}" is outside the workspace (an absolute path), so it is never looked at: write a path inside the workspace, or ${fix}`,
      `defs/out.assets.yaml:7:13: error: output "../../${path.basename(outside)}/secret/{partition}" is outside the workspace (it leads to ${outside}/secret/{partition}), so it is never looked at: write a path inside the workspace, or ${fix}`,
      `defs/out.assets.yaml:10:13: warning: the output of partition "../../x" is outside the workspace (${path.resolve(dir, '..', 'x')}), so it is never looked at; ${fix}`,
      '6 assets in 2 files: 2 errors, 1 warning',
    ]);
    // Every outside file exists, yet only the asset that opted in sees them.
    const status = backfill(['status', '--json', ...NOW], { cwd: dir });
    const counts = Object.fromEntries(
      (JSON.parse(status.stdout) as { assets: Array<{ asset: string; counts: { fresh: number } }> }).assets.map((a) => [
        a.asset,
        a.counts.fresh,
      ]),
    );
    assert.deepEqual(counts, { absolute: 0, allowed: 2, climbing: 0, good: 0, keys: 1, linked: 0 });
    assert.match(
      status.stderr,
      new RegExp(
        `^warning: the output folder data/link of linked leads outside the workspace \\(to ${outside}/secret\\), so it is not looked at; ${fix}$`,
        'm',
      ),
    );
  });
});

describe('source: globs that lead out of the workspace', () => {
  it('absolute and ../ patterns are errors at the line; links to outside and link loops are not read; opting in reads them', async () => {
    const outside = tempDir('backfill-hostile-src-');
    writeFileSync(path.join(outside, 'secret.py'), 'password = 1\n');
    const dir = workspace({
      'defs/src.assets.yaml': [
        'assets:',
        '  absolute:',
        `    source: [${outside}/*.py]`,
        '  climbing:',
        `    source: [jobs/*.py, "../../${path.basename(outside)}/*.py"]`,
        '  linked:',
        '    source: ["../jobs/**/*.py"]',
        '  allowed:',
        `    source: [${outside}/*.py]`,
        '    source_outside_workspace: true',
        '',
      ].join('\n'),
      'defs/jobs/a.py': 'a = 1\n',
      'jobs/b.py': 'b = 1\n',
    });
    symlinkSync(outside, path.join(dir, 'jobs', 'link'));
    symlinkSync(path.join(outside, 'secret.py'), path.join(dir, 'jobs', 'secret.py'));
    symlinkSync(path.join(dir, 'jobs'), path.join(dir, 'jobs', 'loop'));
    const r = validate(dir);
    assert.equal(r.code, 1);
    const fix = 'write a pattern inside the workspace, or set source_outside_workspace: true on the asset to read there';
    assert.deepEqual(r.lines, [
      `defs/src.assets.yaml:3:14: error: source "${outside}/*.py" is outside the workspace (an absolute path), so it is not read: ${fix}`,
      `defs/src.assets.yaml:5:25: error: source "../../${path.basename(outside)}/*.py" is outside the workspace (it reads ${outside}), so it is not read: ${fix}`,
      '5 assets in 2 files: 2 errors, 0 warnings',
    ]);
    const ws = await loadWorkspace(dir, { now: new Date('2024-02-01') });
    const files = async (name: string): Promise<string[]> => (await sourceFiles(ws.assets.get(name)!)).map((f) => path.relative(dir, f));
    assert.deepEqual(await files('absolute'), []);
    assert.deepEqual(await files('climbing'), ['defs/jobs/a.py']);
    // jobs/link/secret.py and jobs/secret.py lead outside; jobs/loop/b.py is jobs/b.py again.
    assert.deepEqual(await files('linked'), ['jobs/b.py']);
    assert.deepEqual(await files('allowed'), [path.relative(dir, path.join(outside, 'secret.py'))]);
  });
});

describe('CLI misuse: one line, exit 2, no stack trace', () => {
  let dir: string;
  let succeeded: string;
  before(() => {
    dir = workspace({});
    ok(['run', 'good', '--now', '2024-01-03'], { cwd: dir });
    succeeded = json<{ backfills: Array<{ id: string }> }>(['backfills'], { cwd: dir }).backfills[0]!.id;
  });

  const cases: Array<[string[], RegExp]> = [
    [['validate', '--bogus'], /unknown option '--bogus'/],
    [['plan', 'good', '--from', '2024-01-10', '--to', '2024-01-05'], /--to 2024-01-05 comes before --from 2024-01-10/],
    [['impact', 'good', '2024-01-10...2024-01-05'], /2024-01-05 comes before 2024-01-10/],
    [['run', 'good', '--concurrency', '-1'], /invalid --concurrency "-1": expected a whole number from 1 to 10,000/],
    [
      ['run', 'good', '--concurrency', '99999999999999999999'],
      /invalid --concurrency "99999999999999999999": expected a whole number from 1 to 10,000/,
    ],
    [['run', 'good', '--sample', '-2'], /invalid --sample "-2": expected a whole number of at least 1/],
    [['history', '--limit', '0'], /invalid --limit "0"/],
    [['resume', 'bf-nope'], /no backfill "bf-nope"/],
    [['cancel', 'bf-nope'], /no backfill "bf-nope"/],
    [['cancel', ''], /^backfill: cancel needs a backfill id/],
    [['resume', ' '], /^backfill: resume needs a backfill id/],
  ];
  for (const [args, message] of cases) {
    it(`backfill ${args.map((a) => (a === '' || a === ' ' ? JSON.stringify(a) : a)).join(' ')}`, () => {
      assert.match(userError([...args, ...NOW], { cwd: dir }), message);
    });
  }

  it('resume and cancel of a backfill that already succeeded', () => {
    assert.equal(userError(['resume', succeeded], { cwd: dir }), `backfill: backfill ${succeeded} already succeeded: nothing to resume`);
    assert.equal(userError(['cancel', succeeded], { cwd: dir }), `backfill: backfill ${succeeded} already succeeded: nothing to cancel`);
  });
});
