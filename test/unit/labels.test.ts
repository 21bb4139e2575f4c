import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AssetDefinition } from '../../src/core/model.ts';
import { buildPartitionsDefinition } from '../../src/core/partitions/build.ts';
import { AssetSnapshot } from '../../src/core/state/snapshot.ts';
import { AssetStatus, STATUSES } from '../../src/core/state/staleness.ts';
import { attentionRanges, describeAttention, describeCounts, partitionStripHtml, STRIP_LEGEND_HTML } from '../../src/extension/labels.ts';

const asset: AssetDefinition = {
  name: 'events',
  location: { file: '/ws/a.assets.yaml', line: 1, column: 1 },
  group: 'default',
  partitions: buildPartitionsDefinition({ daily: { start: '2024-01-01' } }, new Date('2024-01-11T00:00:00Z')).value,
  deps: [],
};

/** Statuses by letter: f fresh, s stale (code), u stale (upstream), m missing, x failed. */
function status(pattern: string): AssetStatus {
  const st = new AssetStatus(asset, AssetSnapshot.empty());
  [...pattern].forEach((c, i) => {
    const s = { f: 'fresh', s: 'stale', u: 'stale', m: 'missing', x: 'failed' }[c]!;
    st.status[i] = STATUSES.indexOf(s as (typeof STATUSES)[number]);
    st.causes[i] = c === 's' ? 1 : c === 'u' ? 2 : 0;
  });
  return st;
}

describe('asset labels', () => {
  it('describe counts worst first (failed, stale, missing, running, fresh), and all-fresh plainly', () => {
    assert.equal(describeCounts(status('ffssmmmxff').counts()), '1 failed · 2 stale · 3 missing · 4 fresh');
    assert.equal(describeCounts(status('ffffffffff').counts()), 'all 10 fresh');
    assert.equal(describeCounts(status('mmmmmmmmmm').counts()), '10 missing');
    assert.equal(describeCounts({ fresh: 0, stale: 0, missing: 1, failed: 0, running: 0 }, true), 'missing');
  });
  it('compress partitions needing attention into ranges by status and cause, worst first', () => {
    const st = status('ffsssummxm');
    assert.deepEqual(
      attentionRanges(st).map((r) => describeAttention(asset.partitions, r)),
      [
        'failed 2024-01-09',
        'stale (code) 2024-01-03…2024-01-05 (3)',
        'stale (upstream) 2024-01-06',
        'missing 2024-01-07…2024-01-08 (2)',
        'missing 2024-01-10',
      ],
    );
  });
});

describe("the hover's partition strip", () => {
  const spans = (html: string): Array<[string, string]> =>
    [...html.matchAll(/<span style="color:(#[0-9a-f]{6});">([^<]*)<\/span>/g)].map((m) => [m[1]!, m[2]!]);
  it('colors each run of one status, with a shape per status', () => {
    assert.deepEqual(spans(partitionStripHtml(status('ffssmmmxff').status)), [
      ['#3fa34d', '██'],
      ['#d7a000', '▒▒'],
      ['#8a8a8a', '···'],
      ['#e5484d', '✕'],
      ['#3fa34d', '██'],
    ]);
  });
  it('sampled down, a character shows the worst status it stands for', () => {
    assert.deepEqual(spans(partitionStripHtml(status('ffffxfffmm').status, 5)), [
      ['#3fa34d', '██'],
      ['#e5484d', '✕'],
      ['#3fa34d', '█'],
      ['#8a8a8a', '·'],
    ]);
  });
  it('has a legend in the same colors, worst first', () => {
    assert.deepEqual(
      spans(STRIP_LEGEND_HTML).map(([, c]) => c),
      ['✕', '▒', '·', '▶', '█'],
    );
    assert.match(STRIP_LEGEND_HTML, /✕<\/span> failed .*█<\/span> fresh$/);
  });
});
