// Where each partition of an asset sits in the detail panel's heatmap, and back: daily as a
// calendar (weeks × weekdays), hourly as days × hours, weekly/monthly as years × weeks/months,
// multi as a matrix of its dimensions, anything else as a strip wrapped to the panel's width.
// Pure maths over the GridSpec the host sends: no DOM.
import type { GridSpec } from '../src/shared/graphProtocol.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface AxisLabel {
  /** Column (for column labels) or row (for row labels). */
  at: number;
  text: string;
}

export interface GridLayout {
  cols: number;
  rows: number;
  /** Column and row of each partition index. */
  col: Int32Array;
  row: Int32Array;
  /** Partition index of each cell (row-major, cols × rows), or -1 for an empty cell. */
  cells: Int32Array;
  colLabels: AxisLabel[];
  rowLabels: AxisLabel[];
}

/** Partition index at a cell, or -1. */
export function indexAt(g: GridLayout, col: number, row: number): number {
  if (col < 0 || row < 0 || col >= g.cols || row >= g.rows) return -1;
  return g.cells[row * g.cols + col]!;
}

/** Index range [start, end) between two partitions picked in either order (a drag). */
export function rangeBetween(a: number, b: number): { start: number; end: number } {
  return a <= b ? { start: a, end: b + 1 } : { start: b, end: a + 1 };
}

/**
 * Lays out `size` partitions. `maxCols` bounds a strip's width (the panel's width in cells);
 * the other kinds have the columns their calendar gives.
 */
export function gridLayout(spec: GridSpec, size: number, maxCols = 64): GridLayout {
  switch (spec.kind) {
    case 'single':
      return place(1, [0], [0], 1, 1, [], []);
    case 'calendar':
      return calendar(spec.wallStarts.slice(0, size));
    case 'dayHour':
      return dayHour(spec.wallStarts.slice(0, size));
    case 'weeks':
    case 'months':
      return yearRows(spec.wallStarts.slice(0, size), spec.kind);
    case 'matrix':
      return matrix(spec.dims, size);
    case 'strip':
      return strip(size, maxCols);
  }
}

function place(
  size: number,
  col: ArrayLike<number>,
  row: ArrayLike<number>,
  cols: number,
  rows: number,
  colLabels: AxisLabel[],
  rowLabels: AxisLabel[],
): GridLayout {
  const cells = new Int32Array(cols * rows).fill(-1);
  const c = Int32Array.from(col);
  const r = Int32Array.from(row);
  for (let i = 0; i < size; i++) cells[r[i]! * cols + c[i]!] = i;
  return { cols, rows, col: c, row: r, cells, colLabels, rowLabels };
}

/** Monday = 0. 1970-01-01 was a Thursday. */
function weekday(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

function calendar(starts: number[]): GridLayout {
  const n = starts.length;
  if (n === 0) return place(0, [], [], 1, 7, [], weekdayLabels());
  const d0 = Math.floor(starts[0]! / DAY);
  const shift = weekday(d0);
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  const colLabels: AxisLabel[] = [];
  let lastMonth = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.floor(starts[i]! / DAY);
    col[i] = Math.floor((d - d0 + shift) / 7);
    row[i] = weekday(d);
    const date = new Date(d * DAY);
    const month = date.getUTCFullYear() * 12 + date.getUTCMonth();
    if (month !== lastMonth) {
      // A month's label sits over its first full week column.
      const at = row[i] === 0 ? col[i]! : col[i]! + 1;
      const text =
        date.getUTCMonth() === 0 || colLabels.length === 0
          ? `${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`
          : MONTHS[date.getUTCMonth()]!;
      colLabels.push({ at, text });
      lastMonth = month;
    }
  }
  return place(n, col, row, col[n - 1]! + 1, 7, colLabels, weekdayLabels());
}

function weekdayLabels(): AxisLabel[] {
  return [
    { at: 0, text: 'Mon' },
    { at: 2, text: 'Wed' },
    { at: 4, text: 'Fri' },
  ];
}

/** Days as columns, hours as rows; the second pass of a repeated (DST) hour gets a 25th row. */
function dayHour(starts: number[]): GridLayout {
  const n = starts.length;
  if (n === 0) return place(0, [], [], 1, 24, [], hourLabels());
  const d0 = Math.floor(starts[0]! / DAY);
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  const taken = new Set<number>();
  let rows = 24;
  const colLabels: AxisLabel[] = [];
  let lastMonth = -1;
  for (let i = 0; i < n; i++) {
    const d = Math.floor(starts[i]! / DAY);
    col[i] = d - d0;
    row[i] = Math.floor((starts[i]! - d * DAY) / HOUR);
    const key = col[i]! * 32 + row[i]!;
    if (taken.has(key)) {
      row[i] = 24;
      rows = 25;
    } else taken.add(key);
    const date = new Date(d * DAY);
    const month = date.getUTCFullYear() * 12 + date.getUTCMonth();
    if (month !== lastMonth) {
      colLabels.push({
        at: col[i]!,
        text: `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}${date.getUTCMonth() === 0 || colLabels.length === 0 ? ` ${date.getUTCFullYear()}` : ''}`,
      });
      lastMonth = month;
    }
  }
  return place(n, col, row, col[n - 1]! + 1, rows, colLabels, hourLabels());
}

function hourLabels(): AxisLabel[] {
  return [0, 6, 12, 18].map((h) => ({ at: h, text: `${String(h).padStart(2, '0')}:00` }));
}

/** Years as rows; weeks of the year (0–52) or months as columns. */
function yearRows(starts: number[], kind: 'weeks' | 'months'): GridLayout {
  const n = starts.length;
  const cols = kind === 'months' ? 12 : 53;
  if (n === 0) return place(0, [], [], cols, 1, [], []);
  const y0 = new Date(starts[0]!).getUTCFullYear();
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  const rowLabels: AxisLabel[] = [];
  for (let i = 0; i < n; i++) {
    const date = new Date(starts[i]!);
    const y = date.getUTCFullYear();
    row[i] = y - y0;
    if (kind === 'months') col[i] = date.getUTCMonth();
    else col[i] = Math.min(52, Math.floor((starts[i]! - Date.UTC(y, 0, 1)) / DAY / 7));
    if (!rowLabels.length || rowLabels[rowLabels.length - 1]!.at !== row[i]) rowLabels.push({ at: row[i]!, text: String(y) });
  }
  // Two windows in one cell (a 53rd partial week): the later one wins the cell; both keep their index.
  const colLabels =
    kind === 'months' ? MONTHS.map((m, at) => ({ at, text: m.slice(0, 1) })) : [0, 13, 26, 39].map((w) => ({ at: w, text: `W${w + 1}` }));
  return place(n, col, row, cols, row[n - 1]! + 1, colLabels, rowLabels);
}

/** The widest dimension runs across; the others, in index order, down. */
function matrix(dims: ReadonlyArray<{ name: string; size: number; keys?: string[] }>, size: number): GridLayout {
  let across = 0;
  dims.forEach((d, k) => {
    if (d.size > dims[across]!.size) across = k;
  });
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= dims[d]!.size;
  }
  const n = Math.min(size, stride);
  const cols = Math.max(1, dims[across]!.size);
  const rows = Math.max(1, Math.round(stride / cols));
  const col = new Int32Array(n);
  const row = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let d = 0; d < dims.length; d++) {
      const part = Math.floor(i / strides[d]!) % dims[d]!.size;
      if (d === across) col[i] = part;
      else r = r * dims[d]!.size + part;
    }
    row[i] = r;
  }
  const acrossDim = dims[across]!;
  const colLabels: AxisLabel[] = [];
  if (acrossDim.keys) {
    const every = Math.max(1, Math.ceil(cols / 12));
    for (let c = 0; c < cols; c += every) colLabels.push({ at: c, text: acrossDim.keys[c] ?? '' });
  }
  const rowLabels: AxisLabel[] = [];
  const others = dims.filter((_, d) => d !== across);
  if (others.every((d) => d.keys) && rows <= 400) {
    for (let r = 0; r < rows; r++) {
      const parts: string[] = [];
      let rest = r;
      for (let k = others.length - 1; k >= 0; k--) {
        parts.unshift(others[k]!.keys![rest % others[k]!.size] ?? '');
        rest = Math.floor(rest / others[k]!.size);
      }
      rowLabels.push({ at: r, text: parts.join('|') });
    }
  }
  return place(n, col, row, cols, rows, colLabels, rowLabels);
}

function strip(size: number, maxCols: number): GridLayout {
  const cols = Math.max(1, Math.min(size, maxCols));
  const rows = Math.max(1, Math.ceil(size / cols));
  const col = new Int32Array(size);
  const row = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    col[i] = i % cols;
    row[i] = Math.floor(i / cols);
  }
  return place(size, col, row, cols, rows, [], []);
}
