// What the asset graph webview is sent, built from the workspace and its statuses. No `vscode`
// import: unit-tested with node:test (test/unit/graph-protocol.test.ts).
import type { MappingSummary } from '../core/mappings/mapping.ts';
import type { AssetDefinition } from '../core/model.ts';
import { MultiPartitionsDefinition } from '../core/partitions/multi.ts';
import type { PartitionsDefinition } from '../core/partitions/definition.ts';
import { TimeWindowPartitionsDefinition } from '../core/partitions/time.ts';
import type { AssetStatus } from '../core/state/staleness.ts';
import type { AssetGraph } from '../core/graph.ts';
import {
  countStatuses,
  encodeStatuses,
  MAX_DESCRIBE,
  type AssetStatusWire,
  type GraphAsset,
  type GridSpec,
} from '../shared/graphProtocol.ts';
import { describePartitions } from './labels.ts';

/** Keys of a multi dimension are sent for axis labels up to this many. */
const MAX_AXIS_KEYS = 5000;

/** A mapping the user wrote, as an edge label: `offset -1`, `-7…0`, `all`, `last`, `static`. */
export function mappingLabel(m: MappingSummary): string {
  switch (m.kind) {
    case 'identity':
    case 'all':
    case 'last':
    case 'static':
    case 'specific':
      return m.kind;
    case 'time_window':
      return m.start_offset === m.end_offset ? `offset ${m.start_offset}` : `${m.start_offset}…${m.end_offset}`;
    case 'dimension':
      return `${m.dimension}: ${mappingLabel(m.mapping)}`;
    case 'dimensions':
      return (
        Object.entries(m.dimensions)
          .filter(([, inner]) => inner.kind !== 'identity')
          .map(([dim, inner]) => `${dim}: ${mappingLabel(inner)}`)
          .join(', ') || 'identity'
      );
  }
}

export function graphAsset(a: AssetDefinition, known: (name: string) => boolean): GraphAsset {
  const out: GraphAsset = {
    name: a.name,
    group: a.group,
    kind: a.partitions.kind,
    size: a.partitions.size,
    partitionsText: describePartitions(a),
    deps: a.deps
      .filter((d) => known(d.asset))
      .map((d) => ({ asset: d.asset, mapping: d.mapping.isDefault ? null : mappingLabel(d.mapping.summary()) })),
  };
  if (a.description) out.description = a.description;
  return out;
}

export function graphAssets(graph: AssetGraph): GraphAsset[] {
  const known = (name: string): boolean => graph.get(name) !== undefined;
  return graph.order.map((a) => graphAsset(a, known));
}

/**
 * Names what the webview lays out and lists: when it is unchanged, only statuses need sending.
 * Partition counts are in it (a new day adds a partition to every daily asset: a new graph).
 */
export function structureKey(assets: readonly GraphAsset[]): string {
  return JSON.stringify(assets);
}

/** An asset's statuses for the wire; an asset without statuses (no state database) is all missing. */
export function statusWire(name: string, size: number, st: AssetStatus | undefined): AssetStatusWire {
  const status = st && st.status.length === size ? st.status : new Uint8Array(size).fill(2);
  return { name, counts: countStatuses(status), statuses: encodeStatuses(status) };
}

/**
 * Tracks the statuses last sent so that an update carries only the assets that changed.
 * `reset` after a full graph; `changes` returns the wires to send (and remembers them).
 */
export class StatusTracker {
  private sent = new Map<string, Uint8Array>();

  /** Every asset's wire, remembered as sent. */
  all(assets: readonly GraphAsset[], statuses: ReadonlyMap<string, AssetStatus>): AssetStatusWire[] {
    this.sent.clear();
    return assets.map((a) => {
      const wire = statusWire(a.name, a.size, statuses.get(a.name));
      this.sent.set(a.name, copyOf(statuses.get(a.name), a.size));
      return wire;
    });
  }

  changes(assets: readonly GraphAsset[], statuses: ReadonlyMap<string, AssetStatus>): AssetStatusWire[] {
    const out: AssetStatusWire[] = [];
    for (const a of assets) {
      const now = copyOf(statuses.get(a.name), a.size);
      const before = this.sent.get(a.name);
      if (before && equalBytes(before, now)) continue;
      this.sent.set(a.name, now);
      out.push(statusWire(a.name, a.size, statuses.get(a.name)));
    }
    return out;
  }
}

function copyOf(st: AssetStatus | undefined, size: number): Uint8Array {
  return st && st.status.length === size ? st.status.slice() : new Uint8Array(size).fill(2);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The start of each window as wall-clock time in the definition's zone (ms read as UTC). */
function wallStarts(def: TimeWindowPartitionsDefinition): number[] {
  const out = new Array<number>(def.size);
  for (let i = 0; i < def.size; i++) {
    const t = def.window(i).start;
    out[i] = t + def.zone.offset(t) * 60_000;
  }
  return out;
}

/** How the detail panel lays out the partitions (see GridSpec). */
export function gridSpec(def: PartitionsDefinition): GridSpec {
  if (def instanceof MultiPartitionsDefinition) {
    return {
      kind: 'matrix',
      dims: def.dimensions.map((d) => {
        const dim: { name: string; size: number; keys?: string[] } = { name: d.name, size: d.def.size };
        if (d.def.size <= MAX_AXIS_KEYS) dim.keys = Array.from({ length: d.def.size }, (_, i) => d.def.keyAt(i));
        return dim;
      }),
    };
  }
  if (def instanceof TimeWindowPartitionsDefinition) {
    switch (def.kind) {
      case 'daily':
        return { kind: 'calendar', wallStarts: wallStarts(def) };
      case 'hourly':
        return { kind: 'dayHour', wallStarts: wallStarts(def) };
      case 'weekly':
        return { kind: 'weeks', wallStarts: wallStarts(def) };
      case 'monthly':
        return { kind: 'months', wallStarts: wallStarts(def) };
      default:
        return { kind: 'strip' };
    }
  }
  return def.kind === 'unpartitioned' ? { kind: 'single' } : { kind: 'strip' };
}

/** Keys and stale causes of some partitions (indexes out of range get an empty key). */
export function describeIndexes(
  def: PartitionsDefinition,
  st: AssetStatus | undefined,
  indexes: readonly number[],
): { keys: string[]; causes: string[][] } {
  const wanted = indexes.slice(0, MAX_DESCRIBE);
  return {
    keys: wanted.map((i) => (i < def.size ? def.keyAt(i) : '')),
    causes: wanted.map((i) => (st && i < st.status.length ? st.causesAt(i) : [])),
  };
}

/**
 * The page: nothing inline but the nonce'd script tag. Styles come from the extension's files
 * (the toolkit's are constructed stylesheets, which style-src does not govern), so no
 * 'unsafe-inline'. The one <style> element is the toolkit's probe for :focus-visible support,
 * which takes its nonce from the csp-nonce meta tag (FAST's convention). `worker-src blob:`
 * lets the page start its layout worker, whose code graph.js carries and hands over as a Blob
 * (webview/layoutWorker.ts); no other worker source. The benchmark harness serves the same page.
 */
export function graphHtml(o: { cspSource: string; nonce: string; script: string; style: string }): string {
  const csp = [
    `default-src 'none'`,
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'nonce-${o.nonce}'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
    `worker-src blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${o.nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${o.style}">
<title>Asset Graph</title>
</head>
<body>
<div id="app"></div>
<script nonce="${o.nonce}" src="${o.script}"></script>
</body>
</html>`;
}
