// Reliability of runs that go wrong (#16), through the real CLI: a runner killed right after it
// started its commands, and a resume after the command was fixed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backfill, buildCli, CLI, json, removeTempDirs, tempWorkspace } from './cli-harness.ts';

const NOW = ['--now', '2024-01-10T00:00:00Z'];

before(buildCli);
after(removeTempDirs);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('runs that go wrong', { timeout: 60_000 }, () => {
  it('a runner killed within a second of starting its commands: the resume stops them first, so nothing runs twice at once', async () => {
    const dir = tempWorkspace(
      {
        'a.assets.yaml':
          'assets:\n  days:\n    partitions: { daily: { start: 2024-01-01, end: 2024-01-04 } }\n    run: sh job.sh {partition}\n',
        'job.sh': 'echo "start $1 $$" >> runs.log\nsleep 3\necho "end $1 $$" >> runs.log\n',
      },
      'backfill-kill9-',
    );
    const lines = () =>
      existsSync(path.join(dir, 'runs.log'))
        ? readFileSync(path.join(dir, 'runs.log'), 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' '))
        : [];
    const runner = spawn(process.execPath, [CLI, 'run', 'days', '--concurrency', '3', ...NOW], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    runner.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t0 = Date.now();
    while (lines().filter((l) => l[0] === 'start').length < 3) {
      assert.ok(Date.now() - t0 < 20_000, 'the commands did not start');
      await new Promise((r) => setTimeout(r, 10));
    }
    runner.kill('SIGKILL');
    const startedToKilled = Date.now() - t0;
    await new Promise((r) => runner.on('close', r));
    const first = lines().map((l) => Number(l[2]));
    assert.ok(first.every(alive), 'the commands outlive their runner');
    const id = /^backfill (bf-\S+):/m.exec(out)![1]!;
    const resumed = backfill(['resume', id, ...NOW], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    // The first run's commands were stopped by the resume, before it ran its own: none of them ended.
    const all = lines();
    assert.deepEqual(
      all.filter((l) => l[0] === 'end' && first.includes(Number(l[2]))),
      [],
      `a command the dead runner left ran on (killed ${startedToKilled} ms after the first start)`,
    );
    assert.ok(first.every((pid) => !alive(pid)));
    assert.deepEqual(
      all
        .filter((l) => l[0] === 'end')
        .map((l) => l[1])
        .sort(),
      ['2024-01-01', '2024-01-02', '2024-01-03'],
    );
  });

  it('a resume after run: was fixed runs the fixed command, and the partitions are fresh with the code that ran', () => {
    const yaml = (script: string) =>
      `assets:\n  days:\n    partitions: { daily: { start: 2024-01-01, end: 2024-01-03 } }\n    run: sh ${script} {partition}\n`;
    const dir = tempWorkspace(
      {
        'a.assets.yaml': yaml('old.sh'),
        'old.sh': 'echo "old $1" >> runs.log; exit 1\n',
        'new.sh': 'echo "new $1" >> runs.log\n',
      },
      'backfill-fixed-',
    );
    const failed = backfill(['run', 'days', ...NOW], { cwd: dir });
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const id = /^backfill (bf-\S+):/m.exec(failed.stdout)![1]!;
    writeFileSync(path.join(dir, 'a.assets.yaml'), yaml('new.sh'));
    const resumed = backfill(['resume', id, ...NOW], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stderr, /2 tasks run the current run: of days \(changed since the backfill was planned\)/);
    assert.deepEqual(readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n').sort(), [
      'new 2024-01-01',
      'new 2024-01-02',
      'old 2024-01-01',
      'old 2024-01-02',
    ]);
    const st = json<{ assets: Array<{ asset: string; counts: Record<string, number> }> }>(['status', ...NOW], { cwd: dir });
    assert.equal(st.assets[0]!.counts['fresh'], 2, JSON.stringify(st));
  });
});
