/**
 * Memory sizes as people write them in definitions and on the command line: `6GiB`, `512Mi`,
 * `2GB`, `1.5G`, or a plain number of bytes. Binary units (Ki, Mi, Gi, Ti, and K/M/G/T as Slurm
 * reads them) are powers of 1024; KB, MB, GB, TB are powers of 1000.
 */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  ki: 2 ** 10,
  kib: 2 ** 10,
  kb: 1e3,
  m: 2 ** 20,
  mi: 2 ** 20,
  mib: 2 ** 20,
  mb: 1e6,
  g: 2 ** 30,
  gi: 2 ** 30,
  gib: 2 ** 30,
  gb: 1e9,
  t: 2 ** 40,
  ti: 2 ** 40,
  tib: 2 ** 40,
  tb: 1e12,
};

/** Bytes, or null when `text` is not a size. */
export function parseMemory(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? Math.round(text) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : null;
}

/** `6 GiB`, `512 MiB`, `100 B`: a size for people (binary units). */
export function formatMemory(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Number(v.toFixed(v < 10 ? 1 : 0))} ${units[i]}`;
}

/** A cost for people: `12.40 USD`, `0.0123 credits`; the unit is the workspace's `cost_unit`. */
export function formatCost(value: number, unit: string | undefined): string {
  let text: string;
  if (value === 0 || Math.abs(value) >= 1) text = value.toFixed(2);
  else {
    // Below 1: three significant digits (0.0123), at least two decimals (0.50).
    text = String(Number(value.toPrecision(3)));
    const decimals = text.split('.')[1]?.length ?? 0;
    if (decimals < 2) text = value.toFixed(2);
  }
  return `${text}${unit ? ` ${unit}` : ''}`;
}
