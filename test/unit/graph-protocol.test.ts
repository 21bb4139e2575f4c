import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadWorkspaceFromSources } from '../../src/core/workspace.ts';
import {
  describeIndexes,
  graphAssets,
  graphHtml,
  gridSpec,
  mappingLabel,
  StatusTracker,
  structureKey,
} from '../../src/extension/graphData.ts';
import {
  decodeStatuses,
  encodeStatuses,
  fromBase64,
  isHostMessage,
  isWebviewMessage,
  MAX_DESCRIBE,
  toBase64,
  type AssetStatusWire,
  type GraphAsset,
  type HostMessage,
  type WebviewMessage,
} from '../../src/shared/graphProtocol.ts';
import type { AssetStatus } from '../../src/core/state/staleness.ts';

const asset: GraphAsset = {
  name: 'a',
  group: 'g',
  kind: 'daily',
  size: 3,
  partitionsText: 'daily · 3',
  deps: [{ asset: 'b', mapping: 'offset -1' }],
};
const wire: AssetStatusWire = { name: 'a', counts: [2, 0, 1, 0, 0], statuses: { enc: 'rle', runs: [0, 2, 2, 1] } };

const goodHost: HostMessage[] = [
  { type: 'graph', revision: 1, assets: [asset], statuses: [wire], canBackfill: true },
  { type: 'graph', revision: 2, assets: [], statuses: [], canBackfill: false, focus: 'a' },
  { type: 'statuses', revision: 1, assets: [wire, { ...wire, statuses: { enc: 'b64', data: 'AAAC' } }] },
  { type: 'focus', asset: 'a' },
  { type: 'grid', id: 1, asset: 'a', grid: { kind: 'calendar', wallStarts: [0, 86_400_000] } },
  {
    type: 'grid',
    id: 2,
    asset: 'a',
    grid: {
      kind: 'matrix',
      dims: [
        { name: 'date', size: 2 },
        { name: 'region', size: 2, keys: ['eu', 'us'] },
      ],
    },
  },
  { type: 'grid', id: 3, asset: 'gone', grid: null },
  { type: 'describe', id: 4, asset: 'a', keys: ['2024-01-01'], causes: [['code']] },
];

const goodWebview: WebviewMessage[] = [
  { type: 'ready' },
  { type: 'backfill', asset: 'a', range: { start: 0, end: 2 }, downstream: false },
  { type: 'backfill', asset: 'a', range: null, downstream: true },
  { type: 'backfillNeeded', asset: 'a' },
  { type: 'openDefinition', asset: 'a' },
  { type: 'gridRequest', id: 1, asset: 'a' },
  { type: 'describeRequest', id: 2, asset: 'a', indexes: [0, 5] },
  { type: 'log', level: 'error', message: 'boom' },
];

describe('graph protocol: validation on receipt', () => {
  it('accepts every well-formed message', () => {
    for (const m of goodHost) assert.ok(isHostMessage(m), JSON.stringify(m));
    for (const m of goodWebview) assert.ok(isWebviewMessage(m), JSON.stringify(m));
  });

  it('keeps the two directions apart', () => {
    for (const m of goodHost) assert.equal(isWebviewMessage(m), false, m.type);
    for (const m of goodWebview) assert.equal(isHostMessage(m), false, m.type);
  });

  it('rejects what is not a message', () => {
    for (const v of [null, undefined, 1, 'ready', [], [{ type: 'ready' }], { type: 1 }, {}]) {
      assert.equal(isWebviewMessage(v), false, JSON.stringify(v));
      assert.equal(isHostMessage(v), false, JSON.stringify(v));
    }
  });

  it('rejects unknown types, including names inherited from Object', () => {
    for (const type of ['nope', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.equal(isWebviewMessage({ type }), false, type);
      assert.equal(isHostMessage({ type }), false, type);
    }
  });

  it('rejects webview messages with missing or mistyped fields', () => {
    const bad: unknown[] = [
      { type: 'backfill', asset: 'a', range: null }, // no downstream
      { type: 'backfill', asset: 1, range: null, downstream: false },
      { type: 'backfill', asset: 'a', range: { start: 2, end: 2 }, downstream: false }, // empty range
      { type: 'backfill', asset: 'a', range: { start: 3, end: 1 }, downstream: false },
      { type: 'backfill', asset: 'a', range: { start: -1, end: 1 }, downstream: false },
      { type: 'backfill', asset: 'a', range: { start: 0.5, end: 1 }, downstream: false },
      { type: 'backfill', asset: 'a', range: [0, 1], downstream: false },
      { type: 'backfill', asset: 'a', range: null, downstream: 'yes' },
      { type: 'backfillNeeded' },
      { type: 'backfillNeeded', asset: ['a'] },
      { type: 'openDefinition' },
      { type: 'gridRequest', id: '1', asset: 'a' },
      { type: 'gridRequest', id: -1, asset: 'a' },
      { type: 'describeRequest', id: 1, asset: 'a', indexes: [1, 'x'] },
      { type: 'describeRequest', id: 1, asset: 'a', indexes: Array.from({ length: MAX_DESCRIBE + 1 }, (_, i) => i) },
      { type: 'log', level: 'debug', message: 'x' },
    ];
    for (const m of bad) assert.equal(isWebviewMessage(m), false, JSON.stringify(m).slice(0, 120));
  });

  it('rejects host messages with missing or mistyped fields', () => {
    const bad: unknown[] = [
      { type: 'graph', revision: 1, assets: [asset], statuses: [wire] }, // no canBackfill
      { type: 'graph', revision: 1, assets: [{ ...asset, kind: 'yearly' }], statuses: [], canBackfill: true },
      { type: 'graph', revision: 1, assets: [{ ...asset, deps: [{ asset: 'b' }] }], statuses: [], canBackfill: true },
      { type: 'graph', revision: 1, assets: [], statuses: [{ ...wire, counts: [1, 2, 3] }], canBackfill: true },
      { type: 'statuses', revision: 1, assets: [{ ...wire, statuses: { enc: 'rle', runs: [0, 1, 2] } }] }, // odd runs
      { type: 'statuses', revision: 1, assets: [{ ...wire, statuses: { enc: 'b64', data: 'AA A' } }] },
      { type: 'statuses', revision: 1, assets: [{ ...wire, statuses: { enc: 'gzip', data: '' } }] },
      { type: 'grid', id: 1, asset: 'a', grid: { kind: 'calendar' } },
      { type: 'grid', id: 1, asset: 'a', grid: { kind: 'calendar', wallStarts: [NaN] } },
      { type: 'grid', id: 1, asset: 'a', grid: { kind: 'matrix', dims: [] } },
      { type: 'grid', id: 1, asset: 'a', grid: { kind: 'spiral' } },
      { type: 'describe', id: 1, asset: 'a', keys: ['x', 'y'], causes: [[]] }, // lengths differ
    ];
    for (const m of bad) assert.equal(isHostMessage(m), false, JSON.stringify(m).slice(0, 120));
  });
});

describe('graph protocol: status encoding', () => {
  it('uses runs for long stretches and base64 for scattered statuses', () => {
    const runs = new Uint8Array(1000).fill(0);
    runs.fill(1, 100, 200);
    assert.deepEqual(encodeStatuses(runs), { enc: 'rle', runs: [0, 100, 1, 100, 0, 800] });
    const scattered = Uint8Array.from({ length: 1000 }, (_, i) => i % 5);
    assert.equal(encodeStatuses(scattered).enc, 'b64');
    assert.deepEqual(encodeStatuses(new Uint8Array(0)), { enc: 'rle', runs: [] });
  });

  it('decodes what it encodes, exactly (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (codes, stretch) => {
        const bytes = Uint8Array.from(codes.flatMap((c) => Array<number>(stretch % 7 === 0 ? stretch : 1).fill(c)));
        const e = encodeStatuses(bytes);
        assert.ok(isHostMessage({ type: 'statuses', revision: 0, assets: [{ name: 'x', counts: [0, 0, 0, 0, 0], statuses: e }] }));
        assert.deepEqual(decodeStatuses(e, bytes.length), bytes);
      }),
    );
  });

  it('refuses encodings of the wrong size or with unknown codes', () => {
    assert.equal(decodeStatuses({ enc: 'rle', runs: [0, 3] }, 4), null);
    assert.equal(decodeStatuses({ enc: 'rle', runs: [0, 5] }, 4), null);
    assert.equal(decodeStatuses({ enc: 'rle', runs: [7, 4] }, 4), null);
    assert.equal(decodeStatuses({ enc: 'b64', data: toBase64(Uint8Array.of(0, 1, 2)) }, 4), null);
    assert.equal(decodeStatuses({ enc: 'b64', data: toBase64(Uint8Array.of(0, 9)) }, 2), null);
    assert.equal(decodeStatuses({ enc: 'b64', data: 'A=AA' }, 2), null);
  });

  it('base64 agrees with Buffer (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = toBase64(bytes);
        assert.equal(text, Buffer.from(bytes).toString('base64'));
        assert.deepEqual(fromBase64(text), bytes);
      }),
    );
  });
});

describe('graph data from a workspace', () => {
  const ROOT = path.resolve('/ws');
  const text = [
    'assets:',
    '  events:',
    '    group: ingest',
    '    partitions: { daily: { start: 2024-01-01, timezone: America/New_York } }',
    '  sessions:',
    '    group: clean',
    '    partitions: { daily: { start: 2024-01-01, timezone: America/New_York } }',
    '    deps:',
    '      - events',
    '      - asset: events',
    '        mapping: { offset: -1 }',
    '      - asset: ghost',
    '  clicks:',
    '    partitions: { hourly: { start: 2024-03-09 } }',
    '  regions:',
    '    partitions:',
    '      multi:',
    '        region: { static: [eu, us] }',
    '        date: { daily: { start: 2024-01-01 } }',
    '  model:',
    '    deps: [{ asset: sessions, mapping: all }]',
    '  lookup:',
    '    partitions: { static: [a, b, c] }',
  ].join('\n');
  const ws = loadWorkspaceFromSources(ROOT, [{ path: path.join(ROOT, 'a.assets.yaml'), text }], { now: new Date('2024-03-11T00:00:00Z') });
  const assets = graphAssets(ws.graph);
  const byName = new Map(assets.map((a) => [a.name, a]));

  it('lists assets upstream first, with mapping labels only where the user wrote one', () => {
    assert.equal(assets.length, 6);
    assert.ok(assets.findIndex((a) => a.name === 'events') < assets.findIndex((a) => a.name === 'sessions'));
    assert.deepEqual(byName.get('sessions')!.deps, [
      { asset: 'events', mapping: null },
      { asset: 'events', mapping: 'offset -1' },
    ]); // the unknown "ghost" is left out
    assert.deepEqual(byName.get('model')!.deps, [{ asset: 'sessions', mapping: 'all' }]);
    assert.equal(byName.get('model')!.kind, 'unpartitioned');
    assert.equal(byName.get('model')!.size, 1);
    assert.match(byName.get('regions')!.partitionsText, /^multi \(date × region\)/);
    assert.ok(isHostMessage({ type: 'graph', revision: 1, assets, statuses: [], canBackfill: true }));
  });

  it('labels mappings briefly', () => {
    assert.equal(mappingLabel({ kind: 'time_window', start_offset: -7, end_offset: 0, allow_nonexistent: false }), '-7…0');
    assert.equal(mappingLabel({ kind: 'dimension', dimension: 'date', mapping: { kind: 'last' } }), 'date: last');
    assert.equal(mappingLabel({ kind: 'dimensions', dimensions: { date: { kind: 'identity' }, region: { kind: 'all' } } }), 'region: all');
  });

  it('gives each partition kind its grid, time windows at their local wall-clock start', () => {
    const daily = gridSpec(ws.assets.get('events')!.partitions);
    assert.equal(daily.kind, 'calendar');
    // New York midnights, read as UTC: whole days, even across the March DST change.
    if (daily.kind === 'calendar') {
      assert.equal(daily.wallStarts.length, ws.assets.get('events')!.partitions.size);
      assert.ok(daily.wallStarts.every((t, i) => t === Date.UTC(2024, 0, 1 + i)));
    }
    const hourly = gridSpec(ws.assets.get('clicks')!.partitions);
    assert.equal(hourly.kind, 'dayHour');
    const multi = gridSpec(ws.assets.get('regions')!.partitions);
    assert.equal(multi.kind, 'matrix');
    if (multi.kind === 'matrix')
      assert.deepEqual(
        multi.dims.map((d) => [d.name, d.keys?.length]),
        [
          ['date', 70],
          ['region', 2],
        ],
      );
    assert.deepEqual(gridSpec(ws.assets.get('model')!.partitions), { kind: 'single' });
    assert.deepEqual(gridSpec(ws.assets.get('lookup')!.partitions), { kind: 'strip' });
    for (const a of ws.assets.values())
      assert.ok(isHostMessage({ type: 'grid', id: 1, asset: a.name, grid: gridSpec(a.partitions) }), a.name);
  });

  it('sends only the statuses that changed since the last message', () => {
    const status = (_name: string, codes: number[]): AssetStatus =>
      ({ status: Uint8Array.from(codes), causesAt: () => [] }) as unknown as AssetStatus;
    const two = assets.filter((a) => a.name === 'lookup' || a.name === 'model');
    const tracker = new StatusTracker();
    const first = new Map([
      ['lookup', status('lookup', [0, 0, 2])],
      ['model', status('model', [2])],
    ]);
    const all = tracker.all(two, first);
    assert.deepEqual(
      new Map(all.map((w) => [w.name, w.counts])),
      new Map([
        ['model', [0, 0, 1, 0, 0]],
        ['lookup', [2, 0, 1, 0, 0]],
      ]),
    );
    assert.deepEqual(tracker.changes(two, first), []);
    first.set('lookup', status('lookup', [0, 0, 3]));
    const changed = tracker.changes(two, first);
    assert.deepEqual(
      changed.map((w) => w.name),
      ['lookup'],
    );
    assert.deepEqual(decodeStatuses(changed[0]!.statuses, 3), Uint8Array.of(0, 0, 3));
    assert.deepEqual(tracker.changes(two, first), []);
    // No state database: everything missing.
    assert.deepEqual(
      tracker.all(two, new Map()).map((w) => w.counts[2]),
      two.map((a) => a.size),
    );
  });

  it('tells a definition change from a status change', () => {
    const again = loadWorkspaceFromSources(ROOT, [{ path: path.join(ROOT, 'a.assets.yaml'), text }], {
      now: new Date('2024-03-11T00:00:00Z'),
    });
    assert.equal(structureKey(graphAssets(again.graph)), structureKey(assets));
    const edited = loadWorkspaceFromSources(
      ROOT,
      [{ path: path.join(ROOT, 'a.assets.yaml'), text: text.replace('group: clean', 'group: staging') }],
      { now: new Date('2024-03-11T00:00:00Z') },
    );
    assert.notEqual(structureKey(graphAssets(edited.graph)), structureKey(assets));
  });

  it('describes partitions by index', () => {
    const d = describeIndexes(ws.assets.get('lookup')!.partitions, undefined, [2, 0, 9]);
    assert.deepEqual(d, { keys: ['c', 'a', ''], causes: [[], [], []] });
  });
});

describe('graph page', () => {
  it('has a strict CSP: no inline script or style without the nonce, nothing remote', () => {
    const html = graphHtml({
      cspSource: 'https://x.vscode-cdn.net',
      nonce: 'N0nce',
      script: 'https://x.vscode-cdn.net/graph.js',
      style: 'https://x.vscode-cdn.net/graph.css',
    });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0nce'/);
    // The layout worker starts from a Blob of graph.js's own text, and from nothing else.
    assert.deepEqual(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d.startsWith('worker-src') || d.startsWith('child-src')),
      ['worker-src blob:'],
    );
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(html, /<script nonce="N0nce" src="https:\/\/x\.vscode-cdn\.net\/graph\.js">/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.doesNotMatch(html, /style="/);
  });
});
