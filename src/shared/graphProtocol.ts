// The messages between the extension host (src/extension/graphPanel.ts) and the asset graph
// webview (webview/main.ts): the one definition both sides import. Each message says which side
// sends it. Whatever arrives is checked with isHostMessage / isWebviewMessage before use: a
// webview is a web page, and its messages are input like any other.
//
// Handshake: the webview posts `ready` once it listens; only then does the host post `graph`.
// A hidden panel loses its page (retainContextWhenHidden is off), so every `ready` gets a full
// `graph` again. Requests from the webview carry an `id` that the host's reply repeats.
//
// No `vscode` or DOM import here: both bundles include this file.

import { STATUS_NAMES, type StatusTuple } from './statuses.ts';

export { STATUS_NAMES, type StatusName } from './statuses.ts';
/** Counts per status code (statuses.ts): [fresh, stale, missing, failed, running]. */
export type StatusCounts = StatusTuple;

export type PartitionKind = 'unpartitioned' | 'static' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'cron' | 'multi';
const PARTITION_KINDS: readonly string[] = ['unpartitioned', 'static', 'hourly', 'daily', 'weekly', 'monthly', 'cron', 'multi'];

/** Statuses of an asset's partitions by index, compact: runs for the usual long stretches, raw bytes otherwise. */
export type EncodedStatuses =
  /** Flat [code, length, code, length, …]. */
  | { enc: 'rle'; runs: number[] }
  /** Base64 of one byte (status code) per partition. */
  | { enc: 'b64'; data: string };

export interface AssetStatusWire {
  name: string;
  counts: StatusCounts;
  /** Length = the asset's partition count (1 for an unpartitioned asset). */
  statuses: EncodedStatuses;
}

export interface GraphDependency {
  asset: string;
  /** Short text of the mapping when the user wrote one (`offset -1`, `all`, `last`, `static`…); null for the default. */
  mapping: string | null;
}

export interface GraphAsset {
  name: string;
  group: string;
  kind: PartitionKind;
  /** Number of partitions (1 when unpartitioned). */
  size: number;
  /** `daily · 1000`, `multi (date × region) · 186`, `unpartitioned`. */
  partitionsText: string;
  description?: string;
  /** Upstream assets this one reads (known assets only; a self-dependency is listed too). */
  deps: GraphDependency[];
}

/**
 * How the detail panel lays out an asset's partitions. Time kinds carry the wall-clock start of
 * each window in the asset's time zone, as milliseconds read as UTC (so that the webview needs
 * no time zone data); the grid maths are in webview/grid.ts.
 */
export type GridSpec =
  | { kind: 'single' }
  /** Daily: weeks (columns) × weekdays (rows). */
  | { kind: 'calendar'; wallStarts: number[] }
  /** Hourly: days (columns) × hours (rows). */
  | { kind: 'dayHour'; wallStarts: number[] }
  /** Weekly: years (rows) × weeks of the year; monthly: years × months. */
  | { kind: 'weeks' | 'months'; wallStarts: number[] }
  /** In partition order, wrapped to the panel's width (static, cron). */
  | { kind: 'strip' }
  /** Multi: dimensions in index order (the last varies fastest); keys omitted past a few thousand. */
  | { kind: 'matrix'; dims: Array<{ name: string; size: number; keys?: string[] }> };

// ── host → webview ───────────────────────────────────────────────────────────────────────────

/** Host → webview: the whole graph, after `ready` and whenever the definitions change. */
export interface GraphMessage {
  type: 'graph';
  /** Increases with every graph sent; status updates name the revision they apply to. */
  revision: number;
  assets: GraphAsset[];
  statuses: AssetStatusWire[];
  /** Select and centre this asset (the "Show in Graph" command). */
  focus?: string;
  /** Backfill actions are offered (the workspace is trusted). */
  canBackfill: boolean;
}

/** Host → webview: statuses that changed since the last message, definitions unchanged. */
export interface StatusesMessage {
  type: 'statuses';
  revision: number;
  assets: AssetStatusWire[];
}

/** Host → webview: select and centre an asset (the panel was already open). */
export interface FocusMessage {
  type: 'focus';
  asset: string;
}

/** Host → webview: reply to `gridRequest`. */
export interface GridReply {
  type: 'grid';
  id: number;
  asset: string;
  /** Null when the asset no longer exists. */
  grid: GridSpec | null;
}

/** Host → webview: reply to `describeRequest`, in the order of the requested indexes. */
export interface DescribeReply {
  type: 'describe';
  id: number;
  asset: string;
  keys: string[];
  /** Why each partition is stale (`code`, `upstream`, `dependencies`, `observed`); empty when not. */
  causes: string[][];
}

export type HostMessage = GraphMessage | StatusesMessage | FocusMessage | GridReply | DescribeReply;

// ── webview → host ───────────────────────────────────────────────────────────────────────────

/** Webview → host: the page listens; post the graph. */
export interface ReadyMessage {
  type: 'ready';
}

/** Webview → host: backfill an asset: a partition index range [start, end) or, when null, the usual picker flow. */
export interface BackfillMessage {
  type: 'backfill';
  asset: string;
  range: { start: number; end: number } | null;
  downstream: boolean;
}

/** Webview → host: backfill an asset's stale, missing and failed partitions (the tree's Backfill Stale/Missing/Failed). */
export interface BackfillNeededMessage {
  type: 'backfillNeeded';
  asset: string;
}

/** Webview → host: open the file defining an asset. */
export interface OpenDefinitionMessage {
  type: 'openDefinition';
  asset: string;
}

/** Webview → host: how to lay out an asset's partitions (answered by `grid`). */
export interface GridRequest {
  type: 'gridRequest';
  id: number;
  asset: string;
}

/** Webview → host: keys and stale causes of some partitions (answered by `describe`). At most 1,000 indexes. */
export interface DescribeRequest {
  type: 'describeRequest';
  id: number;
  asset: string;
  indexes: number[];
}

/** Webview → host: an error in the page, for the extension's log. */
export interface LogMessage {
  type: 'log';
  level: 'info' | 'error';
  message: string;
}

export type WebviewMessage =
  ReadyMessage | BackfillMessage | BackfillNeededMessage | OpenDefinitionMessage | GridRequest | DescribeRequest | LogMessage;

/** State the webview keeps with vscode.setState (restored after a reload by the serializer). */
export interface GraphViewState {
  /** d3-zoom transform. */
  transform?: { x: number; y: number; k: number };
  /** The graph area's size when the transform was saved (a restore keeps the same centre at another size). */
  size?: { width: number; height: number };
  selected?: string;
  collapsed?: string[];
  search?: string;
}

export const MAX_DESCRIBE = 1000;

// ── validation ───────────────────────────────────────────────────────────────────────────────

type Check = (v: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isInt: Check = (v) => typeof v === 'number' && Number.isInteger(v);
const isCount: Check = (v) => isInt(v) && (v as number) >= 0;
const isBool: Check = (v) => typeof v === 'boolean';
const isFiniteNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const arrayOf =
  (item: Check, max = Infinity): Check =>
  (v) =>
    Array.isArray(v) && v.length <= max && v.every(item);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isObject(v) && Object.entries(fields).every(([k, check]) => check(v[k]));

const isCounts: Check = (v) => Array.isArray(v) && v.length === 5 && v.every(isCount);
const isEncoded: Check = (v) =>
  isObject(v) &&
  ((v.enc === 'rle' && Array.isArray(v.runs) && v.runs.length % 2 === 0 && v.runs.every(isCount)) ||
    (v.enc === 'b64' && typeof v.data === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v.data)));
const isStatusWire = shape({ name: isString, counts: isCounts, statuses: isEncoded });
const isAsset = shape({
  name: isString,
  group: isString,
  kind: (v) => typeof v === 'string' && PARTITION_KINDS.includes(v),
  size: isCount,
  partitionsText: isString,
  description: optional(isString),
  deps: arrayOf(shape({ asset: isString, mapping: nullable(isString) })),
});
const isGrid: Check = (v) => {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'single':
    case 'strip':
      return true;
    case 'calendar':
    case 'dayHour':
    case 'weeks':
    case 'months':
      return arrayOf(isFiniteNumber)(v.wallStarts);
    case 'matrix':
      return (
        arrayOf(shape({ name: isString, size: isCount, keys: optional(arrayOf(isString)) }))(v.dims) && (v.dims as unknown[]).length > 0
      );
    default:
      return false;
  }
};

const HOST: Record<HostMessage['type'], Check> = {
  graph: shape({
    revision: isCount,
    assets: arrayOf(isAsset),
    statuses: arrayOf(isStatusWire),
    focus: optional(isString),
    canBackfill: isBool,
  }),
  statuses: shape({ revision: isCount, assets: arrayOf(isStatusWire) }),
  focus: shape({ asset: isString }),
  grid: shape({ id: isCount, asset: isString, grid: nullable(isGrid) }),
  describe: (v) =>
    shape({ id: isCount, asset: isString, keys: arrayOf(isString), causes: arrayOf(arrayOf(isString)) })(v) &&
    (v as DescribeReply).keys.length === (v as DescribeReply).causes.length,
};

const WEBVIEW: Record<WebviewMessage['type'], Check> = {
  ready: () => true,
  backfill: shape({
    asset: isString,
    range: nullable((r) => shape({ start: isCount, end: isCount })(r) && (r as { start: number }).start < (r as { end: number }).end),
    downstream: isBool,
  }),
  backfillNeeded: shape({ asset: isString }),
  openDefinition: shape({ asset: isString }),
  gridRequest: shape({ id: isCount, asset: isString }),
  describeRequest: shape({ id: isCount, asset: isString, indexes: arrayOf(isCount, MAX_DESCRIBE) }),
  log: shape({ level: (v) => v === 'info' || v === 'error', message: isString }),
};

/** A message the webview may act on: known type, every field of the right shape. */
export function isHostMessage(v: unknown): v is HostMessage {
  return isObject(v) && typeof v.type === 'string' && Object.hasOwn(HOST, v.type) && HOST[v.type as HostMessage['type']](v);
}

/** A message the host may act on: known type, every field of the right shape. */
export function isWebviewMessage(v: unknown): v is WebviewMessage {
  return isObject(v) && typeof v.type === 'string' && Object.hasOwn(WEBVIEW, v.type) && WEBVIEW[v.type as WebviewMessage['type']](v);
}

// ── status encoding ──────────────────────────────────────────────────────────────────────────

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE['='.charCodeAt(0)] = 0;

/** Runs when they are shorter than the bytes in base64 (statuses mostly come in long stretches). */
export function encodeStatuses(status: Uint8Array): EncodedStatuses {
  const runs: number[] = [];
  for (let i = 0; i < status.length;) {
    let j = i + 1;
    while (j < status.length && status[j] === status[i]) j++;
    runs.push(status[i]!, j - i);
    i = j;
    // Alternating statuses: base64 wins (about 1.3 characters a partition against 4+ a run).
    if (runs.length * 2 > status.length) return { enc: 'b64', data: toBase64(status) };
  }
  return { enc: 'rle', runs };
}

/** The statuses, or null when the encoding does not give exactly `size` valid codes. */
export function decodeStatuses(e: EncodedStatuses, size: number): Uint8Array | null {
  const out = new Uint8Array(size);
  if (e.enc === 'rle') {
    let at = 0;
    for (let k = 0; k < e.runs.length; k += 2) {
      const code = e.runs[k]!;
      const len = e.runs[k + 1]!;
      if (code >= STATUS_NAMES.length || at + len > size) return null;
      out.fill(code, at, at + len);
      at += len;
    }
    return at === size ? out : null;
  }
  const bytes = fromBase64(e.data);
  if (!bytes || bytes.length !== size) return null;
  for (const b of bytes) if (b >= STATUS_NAMES.length) return null;
  return bytes;
}

/** Base64 without Buffer or btoa, so that one implementation serves Node and the browser. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(i + k);
      const v = c < 128 ? B64_VALUE[c]! : -1;
      if (v < 0 || (c === 61 && i + k < text.length - pad)) return null; // '=' only as padding
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** Counts per status code. */
export function countStatuses(status: Uint8Array): StatusCounts {
  const c: StatusCounts = [0, 0, 0, 0, 0];
  for (let i = 0; i < status.length; i++) c[status[i] as 0 | 1 | 2 | 3 | 4]++;
  return c;
}
