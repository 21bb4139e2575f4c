import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SpecError } from '../../src/core/diagnostics.ts';
import { buildMapping } from '../../src/core/mappings/build.ts';
import type { PartitionMapping } from '../../src/core/mappings/mapping.ts';
import { buildPartitionsDefinition } from '../../src/core/partitions/build.ts';
import { UnpartitionedDefinition, keysOf, type PartitionsDefinition } from '../../src/core/partitions/definition.ts';
import { PartitionSubset } from '../../src/core/partitions/subset.ts';

const NOW = new Date('2024-03-01T00:00:00Z');
const def = (raw: unknown, now = NOW): PartitionsDefinition => buildPartitionsDefinition(raw, now).value;
const map = (raw: unknown, up: PartitionsDefinition, down: PartitionsDefinition, self = false): PartitionMapping =>
  buildMapping(raw, up, down, { self, upstreamName: 'up' }).value;

/** Upstream keys read by one downstream key, and the missing ones. */
function reads(
  m: PartitionMapping,
  up: PartitionsDefinition,
  down: PartitionsDefinition,
  key: string,
): { keys: string[]; missing: string[] } {
  const i = down.indexOf(key);
  assert.ok(i >= 0, `${key} is not a downstream key`);
  const r = m.upstreamFor(PartitionSubset.of([i]));
  return { keys: keysOf(up, r.partitions), missing: r.missing };
}
function mappingError(raw: unknown, up: PartitionsDefinition, down: PartitionsDefinition): SpecError {
  try {
    map(raw, up, down);
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e;
  }
  assert.fail('expected the mapping to be rejected');
}

const daily = def({ daily: { start: '2024-01-01' } });
const hourly = def({ hourly: { start: '2024-01-01-00:00' } });
const weekly = def({ weekly: { start: '2024-01-01' } });
const monthly = def({ monthly: { start: '2024-01-01' } });

describe('default mappings between time partitions', () => {
  it('hourly → daily reads the 24 hours of the day', () => {
    const r = reads(map(undefined, hourly, daily), hourly, daily, '2024-01-02');
    assert.equal(r.keys.length, 24);
    assert.equal(r.keys[0], '2024-01-02-00:00');
    assert.equal(r.keys[23], '2024-01-02-23:00');
    assert.deepEqual(r.missing, []);
  });
  it('hourly → daily in a DST zone reads 23 hours on the spring-forward day', () => {
    const h = def({ hourly: { start: '2024-03-01-00:00', timezone: 'America/Los_Angeles' } }, new Date('2024-03-20T00:00:00Z'));
    const d = def({ daily: { start: '2024-03-01', timezone: 'America/Los_Angeles' } }, new Date('2024-03-20T00:00:00Z'));
    assert.equal(reads(map(undefined, h, d), h, d, '2024-03-10').keys.length, 23);
    assert.equal(reads(map(undefined, h, d), h, d, '2024-03-11').keys.length, 24);
  });
  it('daily → weekly reads the seven days of the week', () => {
    assert.deepEqual(reads(map(undefined, daily, weekly), daily, weekly, '2024-01-07').keys, [
      '2024-01-07',
      '2024-01-08',
      '2024-01-09',
      '2024-01-10',
      '2024-01-11',
      '2024-01-12',
      '2024-01-13',
    ]);
  });
  it('daily → monthly reads the days of the month', () => {
    const r = reads(map(undefined, daily, monthly), daily, monthly, '2024-02-01');
    assert.equal(r.keys.length, 29);
    assert.equal(r.keys.at(-1), '2024-02-29');
  });
  it('weekly → daily: a day reads its week, and days of a week not yet ended are missing', () => {
    const m = map(undefined, weekly, daily);
    assert.deepEqual(reads(m, weekly, daily, '2024-01-10'), { keys: ['2024-01-07'], missing: [] });
    // The week of 2024-02-25 ends 2024-03-03, after now.
    assert.deepEqual(reads(m, weekly, daily, '2024-02-27'), { keys: [], missing: ['2024-02-25'] });
  });
  it('downstream partitions before the upstream starts read missing keys', () => {
    const later = def({ daily: { start: '2024-01-10' } });
    const r = reads(map(undefined, later, daily, false), later, daily, '2024-01-05');
    assert.deepEqual(r, { keys: [], missing: ['2024-01-05'] });
  });
});

describe('offsets', () => {
  it('offset -1 reads the previous window', () => {
    assert.deepEqual(reads(map({ offset: -1 }, daily, daily), daily, daily, '2024-01-05').keys, ['2024-01-04']);
  });
  it('offset -1 at the first partition is clamped: no upstream, nothing missing', () => {
    assert.deepEqual(reads(map({ offset: -1 }, daily, daily, true), daily, daily, '2024-01-01'), { keys: [], missing: [] });
  });
  it('offsets are in downstream units: weekly with offset -1 reads the previous week of days', () => {
    const r = reads(map({ offset: -1 }, daily, weekly), daily, weekly, '2024-01-14');
    assert.deepEqual(r.keys, ['2024-01-07', '2024-01-08', '2024-01-09', '2024-01-10', '2024-01-11', '2024-01-12', '2024-01-13']);
  });
  it('start_offset/end_offset read a trailing window', () => {
    const r = reads(map({ start_offset: -2, end_offset: 0 }, daily, daily), daily, daily, '2024-01-10');
    assert.deepEqual(r.keys, ['2024-01-08', '2024-01-09', '2024-01-10']);
  });
  it('a future window is missing unless allow_nonexistent', () => {
    const last = daily.keyAt(daily.size - 1);
    assert.deepEqual(reads(map({ offset: 1 }, daily, daily), daily, daily, last), { keys: [], missing: ['2024-03-01'] });
    assert.deepEqual(reads(map({ offset: 1, allow_nonexistent: true }, daily, daily), daily, daily, last), { keys: [], missing: [] });
  });
  it('warns when the mapping requires partitions that do not exist', () => {
    const { warnings } = buildMapping({ offset: 1 }, daily, daily, { self: false, upstreamName: 'events' });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /reads 1 partition of events that does not exist: 2024-03-01/);
  });
  it('only negative offsets on a self-dependency read strictly earlier partitions', () => {
    assert.equal(map({ offset: -1 }, daily, daily, true).readsOnlyEarlier(), true);
    assert.equal(map({ start_offset: -2, end_offset: 0 }, daily, daily, true).readsOnlyEarlier(), false);
    assert.equal(map(undefined, daily, daily, true).readsOnlyEarlier(), false);
  });
});

describe('other mappings', () => {
  const regions = def({ static: ['us', 'eu', 'apac'] });
  const markets = def({ static: ['north', 'south'] });
  it('all and the unpartitioned default read every upstream partition', () => {
    assert.equal(reads(map('all', daily, weekly), daily, weekly, '2024-01-07').keys.length, daily.size);
    const model = UnpartitionedDefinition.INSTANCE;
    const m = map(undefined, weekly, model);
    assert.equal(m.upstreamFor(PartitionSubset.of([0])).partitions.size, weekly.size);
    assert.equal(m.downstreamFor(PartitionSubset.of([3])).size, 1);
  });
  it('last reads the latest upstream partition', () => {
    assert.deepEqual(reads(map('last', daily, regions), daily, regions, 'eu').keys, ['2024-02-29']);
  });
  it('static maps explicit pairs and rejects unknown keys', () => {
    const m = map({ static: { us: 'north', eu: ['north', 'south'] } }, regions, markets);
    assert.deepEqual(reads(m, regions, markets, 'north').keys, ['us', 'eu']);
    assert.deepEqual(reads(m, regions, markets, 'south').keys, ['eu']);
    const e = mappingError({ static: { us: 'west' } }, regions, markets);
    assert.deepEqual(e.path, ['static', 'us']);
  });
  it('specific reads the given keys, reporting the ones that do not exist', () => {
    const r = reads(map({ specific: ['2024-01-01', '2025-01-01'] }, daily, regions), daily, regions, 'us');
    assert.deepEqual(r, { keys: ['2024-01-01'], missing: ['2025-01-01'] });
  });
  it('identity between static sets matches keys', () => {
    const some = def({ static: ['us', 'eu'] });
    assert.deepEqual(reads(map(undefined, regions, some), regions, some, 'eu').keys, ['eu']);
  });
  it('mappings that do not fit are errors', () => {
    assert.match(mappingError({ offset: -1 }, regions, daily).message, /time partitions on both sides/);
    assert.match(mappingError(undefined, regions, daily).message, /identity does not fit/);
    assert.match(mappingError({ dimension: 'region' }, daily, weekly).message, /multi partitions on one side/);
    assert.match(mappingError('lats', daily, weekly).message, /did you mean "last"/);
    assert.match(mappingError({ ofset: -1 }, daily, weekly).message, /did you mean "offset"/);
  });
});

describe('multi-dimension mappings', () => {
  const multi = def({ multi: { region: { static: ['us', 'eu'] }, date: { daily: { start: '2024-01-01' } } } });
  const weeklyMulti = def({ multi: { region: { static: ['us', 'eu'] }, week: { weekly: { start: '2024-01-01' } } } });
  it('multi → single time: the default goes through the time dimension, all regions', () => {
    const r = reads(map(undefined, multi, daily), multi, daily, '2024-01-03');
    assert.deepEqual(r.keys, ['2024-01-03|us', '2024-01-03|eu']);
  });
  it('single → multi: each multi partition reads its own day', () => {
    assert.deepEqual(reads(map(undefined, daily, multi), daily, multi, '2024-01-03|eu').keys, ['2024-01-03']);
  });
  it('{dimension} with a weekly dimension reads the overlapping days of a daily upstream', () => {
    const r = reads(map({ dimension: 'week' }, daily, weeklyMulti), daily, weeklyMulti, 'us|2024-01-07');
    assert.equal(r.keys.length, 7);
    assert.equal(r.keys[0], '2024-01-07');
  });
  it('{dimensions} maps each dimension', () => {
    const m = map({ dimensions: { date: { offset: -1 } } }, multi, multi);
    assert.deepEqual(reads(m, multi, multi, '2024-01-05|eu').keys, ['2024-01-04|eu']);
  });
  it('unknown dimension names get a suggestion', () => {
    assert.match(mappingError({ dimension: 'regoin' }, regionsOf(multi), multi).message, /did you mean "region"/);
  });
});

function regionsOf(_: PartitionsDefinition): PartitionsDefinition {
  return def({ static: ['us', 'eu'] });
}

/** A time mapping, or null where it does not fit (no downstream partition reads an existing upstream one). */
function timeMapping(start: number, width: number, U: PartitionsDefinition, D: PartitionsDefinition): PartitionMapping | null {
  try {
    return buildMapping({ start_offset: start, end_offset: start + width }, U, D, { self: false, upstreamName: 'u' }).value;
  } catch (e) {
    if (e instanceof SpecError && /does not fit/.test(e.message)) return null;
    throw e;
  }
}

describe('round trip: downstreamFor is the exact inverse of upstreamFor (property)', () => {
  const timeDefs = [
    { hourly: { start: '2024-01-01-00:00' } },
    { hourly: { start: '2024-01-01-00:00', timezone: 'America/Los_Angeles' } },
    { daily: { start: '2024-01-03' } },
    { daily: { start: '2024-01-01', timezone: 'America/Los_Angeles' } },
    { weekly: { start: '2024-01-01' } },
    { weekly: { start: '2024-01-01', day_offset: 1 } },
    { monthly: { start: '2023-11-01' } },
    { cron: { schedule: '0 */6 * * *', start: '2024-01-02' } },
  ];
  const now = new Date('2024-01-20T00:00:00Z');
  const defs = timeDefs.map((t) => def(t, now));
  const arb = fc.record({
    up: fc.integer({ min: 0, max: defs.length - 1 }),
    down: fc.integer({ min: 0, max: defs.length - 1 }),
    start: fc.integer({ min: -3, max: 1 }),
    width: fc.integer({ min: 0, max: 2 }),
    d: fc.nat(),
    u: fc.nat(),
  });
  it('u ∈ upstreamFor({d}) ⇔ d ∈ downstreamFor({u}), for time mappings with offsets', () => {
    fc.assert(
      fc.property(arb, ({ up, down, start, width, d, u }) => {
        const U = defs[up]!;
        const D = defs[down]!;
        fc.pre(U.size > 0 && D.size > 0);
        const m = timeMapping(start, width, U, D);
        fc.pre(m !== null);
        const di = d % D.size;
        const ui = u % U.size;
        const readsU = m.upstreamFor(PartitionSubset.of([di])).partitions.has(ui);
        const reachedD = m.downstreamFor(PartitionSubset.of([ui])).has(di);
        assert.equal(
          reachedD,
          readsU,
          `${JSON.stringify(timeDefs[up])} → ${JSON.stringify(timeDefs[down])} d=${D.keyAt(di)} u=${U.keyAt(ui)}`,
        );
      }),
      { numRuns: 2000 },
    );
  });
  it('upstream of a subset is the union of the upstreams of its partitions', () => {
    fc.assert(
      fc.property(arb, fc.uniqueArray(fc.nat(), { maxLength: 6 }), ({ up, down, start, width }, picks) => {
        const U = defs[up]!;
        const D = defs[down]!;
        fc.pre(D.size > 0);
        const m = timeMapping(start, width, U, D);
        fc.pre(m !== null);
        const ds = picks.map((p) => p % D.size);
        let union = PartitionSubset.EMPTY;
        for (const x of ds) union = union.union(m.upstreamFor(PartitionSubset.of([x])).partitions);
        assert.deepEqual([...m.upstreamFor(PartitionSubset.of(ds)).partitions], [...union]);
      }),
      { numRuns: 500 },
    );
  });
  it('holds for multi and static mappings too', () => {
    const multi = def({ multi: { region: { static: ['us', 'eu', 'apac'] }, date: { daily: { start: '2024-01-01' } } } }, now);
    const weeklyMulti = def({ multi: { region: { static: ['us', 'eu', 'apac'] }, week: { weekly: { start: '2024-01-01' } } } }, now);
    const dailyDef = def({ daily: { start: '2024-01-01' } }, now);
    const regions = def({ static: ['us', 'eu', 'apac'] }, now);
    const cases: Array<[unknown, PartitionsDefinition, PartitionsDefinition]> = [
      [undefined, multi, dailyDef],
      [undefined, dailyDef, multi],
      [{ dimension: 'week' }, dailyDef, weeklyMulti],
      [{ dimension: 'region' }, multi, regions],
      [{ dimensions: { date: { offset: -1 } } }, multi, multi],
      [{ static: { us: ['eu', 'apac'], eu: 'us' } }, regions, regions],
      ['last', dailyDef, regions],
      [{ specific: ['2024-01-02', '2024-01-05'] }, dailyDef, weeklyMulti],
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cases.length - 1 }), fc.nat(), fc.nat(), (c, d, u) => {
        const [raw, U, D] = cases[c]!;
        const m = map(raw, U, D);
        const di = d % D.size;
        const ui = u % U.size;
        assert.equal(m.downstreamFor(PartitionSubset.of([ui])).has(di), m.upstreamFor(PartitionSubset.of([di])).partitions.has(ui));
      }),
      { numRuns: 2000 },
    );
  });
});
