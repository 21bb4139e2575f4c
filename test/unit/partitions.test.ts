import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpecError } from '../../src/core/diagnostics.ts';
import { buildPartitionsDefinition } from '../../src/core/partitions/build.ts';
import type { PartitionsDefinition } from '../../src/core/partitions/definition.ts';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';

const def = (raw: unknown, now: string): PartitionsDefinition => buildPartitionsDefinition(raw, new Date(now)).value;
const keys = (d: PartitionsDefinition): string[] => Array.from({ length: d.size }, (_, i) => d.keyAt(i));
function specError(raw: unknown, now = '2024-06-01T00:00:00Z'): SpecError {
  try {
    buildPartitionsDefinition(raw, new Date(now));
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the definition to be rejected');
}

describe('daily partitions', () => {
  it('exist only once their window has ended', () => {
    const d = def({ daily: { start: '2024-01-01' } }, '2024-01-04T12:00:00Z');
    assert.deepEqual(keys(d), ['2024-01-01', '2024-01-02', '2024-01-03']);
  });
  it('end is exclusive and end_offset adds windows past now', () => {
    assert.deepEqual(keys(def({ daily: { start: '2024-01-01', end: '2024-01-03' } }, '2024-02-01')), ['2024-01-01', '2024-01-02']);
    assert.deepEqual(keys(def({ daily: { start: '2024-01-01', end_offset: 1 } }, '2024-01-02T05:00:00Z')), ['2024-01-01', '2024-01-02']);
    assert.deepEqual(keys(def({ daily: { start: '2024-01-01', end_offset: -1 } }, '2024-01-04T00:00:00Z')), ['2024-01-01', '2024-01-02']);
  });
  it('start at the first boundary at or after start', () => {
    const d = def({ daily: { start: '2024-01-01T06:00', hour_offset: 3 } }, '2024-01-04T00:00:00Z');
    // 2024-01-01 03:00 is before the start, so the first window starts on the 2nd at 03:00.
    assert.deepEqual(keys(d), ['2024-01-02']);
  });
  it('find keys by index and reject others', () => {
    const d = def({ daily: { start: '2021-01-01' } }, '2024-01-01');
    assert.equal(d.size, 1095);
    assert.equal(d.indexOf('2022-01-01'), 365);
    assert.equal(d.indexOf('2024-01-01'), -1, 'not ended yet');
    assert.equal(d.indexOf('2020-12-31'), -1, 'before start');
    assert.equal(d.indexOf('2022-1-1'), -1, 'not in the key format');
    assert.equal(d.indexOf('junk; rm -rf ~'), -1);
  });
  it('use the time zone for window boundaries', () => {
    const d = def({ daily: { start: '2024-01-01', timezone: 'Asia/Tokyo' } }, '2024-01-02T15:00:00Z');
    // 2024-01-03 00:00 in Tokyo is 2024-01-02T15:00Z: two windows have ended.
    assert.deepEqual(keys(d), ['2024-01-01', '2024-01-02']);
  });
  it('use a custom fmt', () => {
    const d = def({ daily: { start: '2024-01-30', fmt: '%Y%m%d' } }, '2024-02-02');
    assert.deepEqual(keys(d), ['20240130', '20240131', '20240201']);
    assert.equal(d.indexOf('20240131'), 1);
  });
});

describe('weekly and monthly partitions', () => {
  it('weeks start on Sunday by default', () => {
    const d = def({ weekly: { start: '2024-01-01' } }, '2024-01-29');
    assert.deepEqual(keys(d), ['2024-01-07', '2024-01-14', '2024-01-21']);
  });
  it('day_offset moves the start of the week (1 = Monday)', () => {
    assert.deepEqual(keys(def({ weekly: { start: '2024-01-01', day_offset: 1 } }, '2024-01-22')), [
      '2024-01-01',
      '2024-01-08',
      '2024-01-15',
    ]);
  });
  it('months start on day 1 unless day_offset', () => {
    assert.deepEqual(keys(def({ monthly: { start: '2024-01-01' } }, '2024-04-01')), ['2024-01-01', '2024-02-01', '2024-03-01']);
    assert.deepEqual(keys(def({ monthly: { start: '2024-01-01', day_offset: 15 } }, '2024-04-01')), ['2024-01-15', '2024-02-15']);
  });
  it('a day_offset of 31 skips months without a 31st, as cron does', () => {
    assert.deepEqual(keys(def({ monthly: { start: '2024-01-01', day_offset: 31 } }, '2024-09-01')), [
      '2024-01-31',
      '2024-03-31',
      '2024-05-31',
      '2024-07-31',
    ]);
  });
});

describe('hourly partitions across DST (America/Los_Angeles)', () => {
  it('the spring-forward hour does not exist', () => {
    const d = def({ hourly: { start: '2023-03-12-00:00', timezone: 'America/Los_Angeles' } }, '2023-03-12T12:00:00Z');
    assert.deepEqual(keys(d), ['2023-03-12-00:00', '2023-03-12-01:00', '2023-03-12-03:00', '2023-03-12-04:00']);
    assert.equal(d.indexOf('2023-03-12-02:00'), -1);
  });
  it('the repeated fall hour gets the offset appended', () => {
    const d = def({ hourly: { start: '2023-11-05-00:00', timezone: 'America/Los_Angeles' } }, '2023-11-05T12:00:00Z');
    assert.deepEqual(keys(d), ['2023-11-05-00:00', '2023-11-05-01:00', '2023-11-05-01:00-0800', '2023-11-05-02:00', '2023-11-05-03:00']);
    assert.equal(d.indexOf('2023-11-05-01:00'), 1);
    assert.equal(d.indexOf('2023-11-05-01:00-0800'), 2);
  });
  it('a DST day has 23 or 25 hourly partitions', () => {
    const d = def({ hourly: { start: '2023-03-12-00:00', timezone: 'America/Los_Angeles' } }, '2023-11-07T00:00:00Z');
    const perDay = new Map<string, number>();
    for (const k of keys(d)) perDay.set(k.slice(0, 10), (perDay.get(k.slice(0, 10)) ?? 0) + 1);
    assert.equal(perDay.get('2023-03-12'), 23);
    assert.equal(perDay.get('2023-11-05'), 25);
    assert.equal(perDay.get('2023-07-01'), 24);
  });
  it('keys round-trip through indexOf for a whole year', () => {
    const d = def({ hourly: { start: '2023-01-01-00:00', timezone: 'America/Los_Angeles' } }, '2024-01-01T08:00:00Z');
    assert.equal(d.size, 8760);
    for (let i = 0; i < d.size; i += 1) assert.equal(d.indexOf(d.keyAt(i)), i);
  });
});

describe('cron partitions', () => {
  it('sub-daily schedules get hour:minute keys', () => {
    const d = def({ cron: { schedule: '0 */6 * * *', start: '2024-01-01' } }, '2024-01-02T01:00:00Z');
    assert.deepEqual(keys(d), ['2024-01-01-00:00', '2024-01-01-06:00', '2024-01-01-12:00', '2024-01-01-18:00']);
  });
  it('weekday schedules skip weekends', () => {
    const d = def({ cron: { schedule: '0 0 * * 1-5', start: '2024-01-05' } }, '2024-01-11');
    // Friday the 5th's window runs to Monday the 8th; Wednesday the 10th's ends at now.
    assert.deepEqual(keys(d), ['2024-01-05', '2024-01-08', '2024-01-09', '2024-01-10']);
  });
  it('rejects a bad schedule with its position', () => {
    const e = specError({ cron: { schedule: '61 * * * *', start: '2024-01-01' } });
    assert.deepEqual(e.path, ['cron', 'schedule']);
    assert.match(e.message, /invalid cron schedule/);
  });
});

describe('static and multi partitions', () => {
  it('static keys are kept in order', () => {
    const d = def({ static: ['us', 'eu', 'apac'] }, '2024-01-01');
    assert.deepEqual(keys(d), ['us', 'eu', 'apac']);
    assert.equal(d.indexOf('eu'), 1);
  });
  it('static keys must be unique and free of |, ... and control characters', () => {
    assert.match(specError({ static: ['a', 'a'] }).message, /duplicate partition key "a"/);
    assert.deepEqual(specError({ static: ['a', 'b|c'] }).path, ['static', 1]);
    assert.match(specError({ static: ['x...y'] }).message, /\.\.\./);
    assert.match(specError({ static: ['x\ny'] }).message, /control character/);
  });
  it('multi keys join the dimension keys with | in dimension-name order', () => {
    const d = def({ multi: { region: { static: ['us', 'eu'] }, date: { daily: { start: '2024-01-01' } } } }, '2024-01-03');
    assert.deepEqual(keys(d), ['2024-01-01|us', '2024-01-01|eu', '2024-01-02|us', '2024-01-02|eu']);
    assert.equal(d.indexOf('2024-01-02|eu'), 3);
    assert.equal(d.indexOf('eu|2024-01-02'), -1);
  });
  it('multi needs two dimensions and at most one time dimension', () => {
    assert.match(specError({ multi: { a: { static: ['x'] } } }).message, /two or more/);
    assert.match(
      specError({ multi: { a: { daily: { start: '2024-01-01' } }, b: { hourly: { start: '2024-01-01-00:00' } } } }).message,
      /at most one/,
    );
  });
});

describe('invalid definitions', () => {
  it('report the offending field', () => {
    assert.deepEqual(specError({ daily: { start: '2024-02-30' } }).path, ['daily', 'start']);
    assert.deepEqual(specError({ daily: { start: '2024-01-01', timezone: 'Mars/Olympus' } }).path, ['daily', 'timezone']);
    assert.deepEqual(specError({ daily: { start: '2024-02-01', end: '2024-01-01' } }).path, ['daily', 'end']);
    assert.match(specError({ dayly: { start: '2024-01-01' } }).message, /did you mean "daily"/);
    assert.match(specError({ daily: {} }).message, /need a start/);
    assert.deepEqual(specError({ weekly: { start: '2024-01-01', day_offset: 7 } }).path, ['weekly', 'day_offset']);
  });
  it('more than 100,000 partitions on one asset', () => {
    assert.match(specError({ hourly: { start: '2010-01-01-00:00' } }, '2024-01-01').message, /more than 100,000/);
  });
  it('unknown keys are warnings with a suggestion', () => {
    const { warnings } = buildPartitionsDefinition({ daily: { start: '2024-01-01', timezon: 'UTC' } }, new Date('2024-02-01'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /did you mean "timezone"/);
    assert.deepEqual(warnings[0]!.path, ['daily', 'timezon']);
  });
});

describe('PartitionSubset', () => {
  const arbSet = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 });
  const toSet = (s: PartitionSubset): number[] => [...s];
  it('set operations agree with plain sets', () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => {
        const A = PartitionSubset.of(a);
        const B = PartitionSubset.of(b);
        const sa = new Set(a);
        const sb = new Set(b);
        const sorted = (xs: Iterable<number>): number[] => [...xs].sort((x, y) => x - y);
        assert.deepEqual(toSet(A.union(B)), sorted(new Set([...a, ...b])));
        assert.deepEqual(toSet(A.intersect(B)), sorted(a.filter((x) => sb.has(x))));
        assert.deepEqual(toSet(A.minus(B)), sorted(a.filter((x) => !sb.has(x))));
        assert.equal(A.size, sa.size);
        for (let i = 0; i <= 61; i++) assert.equal(A.has(i), sa.has(i));
      }),
    );
  });
});

describe('key formats (fmt): the rule is that no two partitions of a definition share a key', () => {
  it('a format without the minute is accepted when every partition start still renders differently (4-hourly cron, %Y-%m-%d_%H)', () => {
    const d = def({ cron: { schedule: '0 */4 * * *', start: '2024-01-01_00', fmt: '%Y-%m-%d_%H' } }, '2024-01-02T00:00:00Z');
    assert.deepEqual(keys(d), ['2024-01-01_00', '2024-01-01_04', '2024-01-01_08', '2024-01-01_12', '2024-01-01_16', '2024-01-01_20']);
    assert.equal(d.indexOf('2024-01-01_08'), 2);
  });
  it('hourly partitions with %Y-%m-%d-%H are accepted', () => {
    const d = def({ hourly: { start: '2024-01-01-00', fmt: '%Y-%m-%d-%H' } }, '2024-01-01T03:00:00Z');
    assert.deepEqual(keys(d), ['2024-01-01-00', '2024-01-01-01', '2024-01-01-02']);
  });
  it('a format under which two partitions render the same key is refused, naming the key and both windows', () => {
    const e = specError({ cron: { schedule: '*/30 * * * *', start: '2024-01-01_00', fmt: '%Y-%m-%d_%H' } }, '2024-01-01T02:00:00Z');
    assert.deepEqual(e.path, ['cron', 'fmt']);
    assert.match(
      e.message,
      /gives two partitions the same key "2024-01-01_00" \(the windows starting 2024-01-01T00:00:00\.000Z and 2024-01-01T00:30:00\.000Z\)/,
    );
    // Daily partitions keyed by month only: the second day of a month repeats the first's key.
    assert.match(specError({ daily: { start: '2024-01-01', fmt: '%Y-%m' } }, '2024-01-03').message, /same key "2024-01"/);
    // A year-less format repeats once a daily definition spans more than a year.
    assert.match(specError({ daily: { start: '2023-01-01', fmt: '%m-%d' } }, '2024-01-03').message, /same key "01-01"/);
    assert.equal(def({ daily: { start: '2023-01-01', fmt: '%m-%d' } }, '2023-12-31').size, 364);
  });
  it('keys that show the hour stay distinct through the repeated fall hour (the second pass gets the offset)', () => {
    const d = def({ hourly: { start: '2023-11-05-00', fmt: '%Y-%m-%d-%H', timezone: 'America/Los_Angeles' } }, '2023-11-05T12:00:00Z');
    assert.deepEqual(keys(d), ['2023-11-05-00', '2023-11-05-01', '2023-11-05-01-0800', '2023-11-05-02', '2023-11-05-03']);
    assert.equal(d.indexOf('2023-11-05-01-0800'), 2);
  });
});

describe('start and end are read as Dagster reads them (strptime with the fmt), and as ISO 8601', () => {
  it('numbers without leading zeros', () => {
    assert.equal(def({ daily: { start: '2024-1-5' } }, '2024-01-08').keyAt(0), '2024-01-05');
    assert.equal(def({ hourly: { start: '2024-01-01-6:00' } }, '2024-01-01T08:00:00Z').keyAt(0), '2024-01-01-06:00');
  });
  it('month names in any case, full or abbreviated, and white space runs', () => {
    const d = def({ daily: { start: 'JANUARY  5 2024', end: 'jan 8 2024', fmt: '%B %d %Y' } }, '2024-02-01');
    assert.deepEqual(keys(d), ['January 05 2024', 'January 06 2024', 'January 07 2024']);
  });
  it("%y uses Python's pivot (69-99 are 19xx) and %j a day of the year", () => {
    assert.equal(def({ monthly: { start: '99-12', fmt: '%y-%m' } }, '2000-02-01').keyAt(0), '99-12');
    assert.equal(def({ daily: { start: '2024-060', fmt: '%Y-%j' } }, '2024-03-02').keyAt(0), '2024-060');
  });
  it('%z with a colon or Z', () => {
    const d = def({ hourly: { start: '01/01/2024 05:00 +05:00', fmt: '%d/%m/%Y %H:%M %z' } }, '2024-01-01T03:00:00Z');
    assert.equal(d.keyAt(0), '01/01/2024 00:00 +0000');
    assert.equal(
      def({ hourly: { start: '01/01/2024 01:00 Z', fmt: '%d/%m/%Y %H:%M %z' } }, '2024-01-01T03:00:00Z').keyAt(0),
      '01/01/2024 01:00 +0000',
    );
  });
  it('what strptime refuses is refused, saying which forms are read', () => {
    const e = specError({ daily: { start: '2024-13-01' } });
    assert.deepEqual(e.path, ['daily', 'start']);
    assert.match(e.message, /invalid date "2024-13-01".*a date in the definition's fmt \("%Y-%m-%d"\)/);
    assert.deepEqual(specError({ daily: { start: '2023-366', fmt: '%Y-%j' } }).path, ['daily', 'start']);
  });
  it('keys themselves stay exact: one partition has one key', () => {
    const d = def({ daily: { start: '2024-01-01' } }, '2024-01-10');
    assert.equal(d.indexOf('2024-1-5'), -1);
    assert.equal(d.indexOf('2024-01-05'), 4);
  });
});

describe('a cron schedule with too many ticks is refused at once, not enumerated', () => {
  it('every minute since 2000 is more than 100,000 partitions, said within seconds', () => {
    const t0 = Date.now();
    assert.match(
      specError({ cron: { schedule: '* * * * *', start: '2000-01-01' } }, '2024-06-01').message,
      /^so many partitions: more than 100,000 on one asset/,
    );
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  });
});
