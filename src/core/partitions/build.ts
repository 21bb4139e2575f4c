import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import { SpecError } from '../diagnostics.ts';
import { didYouMean } from '../suggest.ts';
import { StaticPartitionsDefinition, type PartitionsDefinition } from './definition.ts';
import { MultiPartitionsDefinition, type Dimension } from './multi.ts';
import { StrftimeFormat } from './strftime.ts';
import { TimeWindowPartitionsDefinition, utc, ZoneOffsets, wallToEpoch, type TimeKind } from './time.ts';

export const MAX_PARTITIONS = 100_000;

export interface Built<T> {
  value: T;
  /** Non-fatal problems (unknown keys...), each pointing into the raw value. */
  warnings: SpecError[];
}

type Path = Array<string | number>;

/** Looks up a named partition set (for multi dimensions written as a set's name); throws with a message when there is none. */
export type SetResolver = (name: string) => PartitionsDefinition;

const TIME_KINDS = ['hourly', 'daily', 'weekly', 'monthly'] as const;
const KINDS = [...TIME_KINDS, 'cron', 'static', 'multi'] as const;
const TIME_KEYS = ['start', 'end', 'timezone', 'end_offset', 'minute_offset', 'hour_offset', 'day_offset', 'fmt'];
const CRON_KEYS = ['schedule', 'start', 'end', 'timezone', 'end_offset', 'fmt'];

const DEFAULT_FMT: Record<TimeKind, string> = {
  hourly: '%Y-%m-%d-%H:%M',
  daily: '%Y-%m-%d',
  weekly: '%Y-%m-%d',
  monthly: '%Y-%m-%d',
  cron: '%Y-%m-%d',
};
const SUB_DAILY_FMT = '%Y-%m-%d-%H:%M';

/**
 * Builds a partitions definition from the plain value written under `partitions:`
 * (after YAML parsing; named sets already resolved by the caller).
 * Throws SpecError (with a path into `raw`) when the definition is invalid.
 */
export function buildPartitionsDefinition(raw: unknown, now: Date, resolveSet?: SetResolver): Built<PartitionsDefinition> {
  const warnings: SpecError[] = [];
  const value = build(raw, now.getTime(), [], warnings, false, resolveSet);
  if (value.size > MAX_PARTITIONS) {
    // A cron schedule's ticks are counted only up to the limit (time.ts): no exact count then.
    const capped = value instanceof TimeWindowPartitionsDefinition && value.kind === 'cron' && value.size > MAX_PARTITIONS + 1;
    const limit = `more than ${MAX_PARTITIONS.toLocaleString('en-US')} on one asset`;
    const count = (n: number): string => n.toLocaleString('en-US');
    if (value instanceof StaticPartitionsDefinition) throw new SpecError(`${count(value.size)} static keys: ${limit}`);
    if (value instanceof MultiPartitionsDefinition) {
      const sizes = value.dimensions.map((d) => `${count(d.def.size)} ${d.name}`).join(' × ');
      throw new SpecError(`${count(value.size)} partitions (${sizes}): ${limit}. Use fewer keys or a coarser granularity`);
    }
    throw new SpecError(`${capped ? 'so many' : count(value.size)} partitions: ${limit}. Use a coarser granularity or a later start`);
  }
  return { value, warnings };
}

function build(
  raw: unknown,
  now: number,
  path: Path,
  warnings: SpecError[],
  inMulti: boolean,
  resolveSet?: SetResolver,
): PartitionsDefinition {
  if (inMulti && typeof raw === 'string' && resolveSet) {
    try {
      return resolveSet(raw);
    } catch (e) {
      throw new SpecError((e as Error).message, path);
    }
  }
  if (!isRecord(raw)) {
    throw new SpecError(`a partitions definition must be a mapping with one of: ${KINDS.join(', ')}`, path);
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    throw new SpecError(
      keys.length === 0
        ? `empty partitions definition: give one of ${KINDS.join(', ')}`
        : `a partitions definition takes exactly one kind, found ${keys.join(', ')}`,
      path,
    );
  }
  const kind = keys[0]!;
  const body = raw[kind];
  const at = [...path, kind];
  switch (kind) {
    case 'hourly':
    case 'daily':
    case 'weekly':
    case 'monthly':
      return buildTime(kind, body, now, at, warnings);
    case 'cron':
      return buildTime('cron', body, now, at, warnings);
    case 'static':
      return buildStatic(body, at);
    case 'multi':
      if (inMulti) throw new SpecError('a multi dimension cannot itself be multi', at);
      return buildMulti(body, now, at, warnings, resolveSet);
    default:
      throw new SpecError(`unknown partition kind "${kind}"${didYouMean(kind, KINDS)} (one of ${KINDS.join(', ')})`, at, { onKey: true });
  }
}

function buildStatic(body: unknown, path: Path): StaticPartitionsDefinition {
  if (!Array.isArray(body)) throw new SpecError('static partitions are a list of keys, e.g. static: [us, eu]', path);
  if (body.length === 0) throw new SpecError('static partitions need at least one key', path);
  const seen = new Map<string, number>();
  const keys = body.map((k, i) => {
    if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') {
      throw new SpecError('a static partition key must be a string', [...path, i]);
    }
    const key = String(k);
    checkStaticKey(key, [...path, i]);
    const prev = seen.get(key);
    if (prev !== undefined) throw new SpecError(`duplicate partition key "${key}" (also item ${prev + 1})`, [...path, i]);
    seen.set(key, i);
    return key;
  });
  return new StaticPartitionsDefinition(keys);
}

export function checkStaticKey(key: string, path: Path): void {
  if (key.length === 0) throw new SpecError('a partition key cannot be empty', path);
  if (key.includes('|')) throw new SpecError(`partition key "${key}" contains "|", which separates the keys of multi partitions`, path);
  if (key.includes('...')) throw new SpecError(`partition key "${key}" contains "...", which denotes key ranges`, path);
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new SpecError(`partition key ${JSON.stringify(key)} contains a control character`, path);
}

function buildMulti(body: unknown, now: number, path: Path, warnings: SpecError[], resolveSet?: SetResolver): MultiPartitionsDefinition {
  if (!isRecord(body))
    throw new SpecError(
      'multi partitions are a mapping of dimension name to definition, e.g. multi: { region: { static: [us, eu] }, date: { daily: { start: 2024-01-01 } } }',
      path,
    );
  const names = Object.keys(body);
  if (names.length < 2) throw new SpecError('multi partitions need two or more dimensions', path);
  const dims: Dimension[] = [];
  for (const name of names) {
    if (name.includes('|')) throw new SpecError(`dimension name "${name}" cannot contain "|"`, [...path, name]);
    const def = build(body[name], now, [...path, name], warnings, true, resolveSet);
    if (def instanceof MultiPartitionsDefinition) throw new SpecError('a multi dimension cannot itself be multi', [...path, name]);
    dims.push({ name, def });
  }
  const timeDims = dims.filter((d) => d.def instanceof TimeWindowPartitionsDefinition);
  if (timeDims.length > 1) {
    throw new SpecError(`at most one dimension can be time-based (found ${timeDims.map((d) => d.name).join(', ')})`, path);
  }
  return new MultiPartitionsDefinition(dims);
}

function buildTime(kind: TimeKind, body: unknown, now: number, path: Path, warnings: SpecError[]): TimeWindowPartitionsDefinition {
  if (!isRecord(body)) {
    throw new SpecError(
      kind === 'cron' ? 'cron partitions need { schedule, start }' : `${kind} partitions need at least { start: YYYY-MM-DD }`,
      path,
    );
  }
  const allowed = kind === 'cron' ? CRON_KEYS : TIME_KEYS;
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) {
      const hint = kind === 'cron' && TIME_KEYS.includes(k) ? ' (offsets are part of the cron schedule)' : didYouMean(k, allowed);
      warnings.push(new SpecError(`unknown key "${k}" in ${kind} partitions${hint}`, [...path, k], { onKey: true }));
    }
  }

  const timezone = body['timezone'] === undefined ? 'UTC' : str(body['timezone'], [...path, 'timezone']);
  if (!isValidZone(timezone)) {
    throw new SpecError(`unknown time zone "${timezone}": use an IANA name such as UTC, Europe/Paris or America/Los_Angeles`, [
      ...path,
      'timezone',
    ]);
  }

  const minuteOffset = int(body['minute_offset'], [...path, 'minute_offset'], 0, 59, 0);
  const hourOffset = int(body['hour_offset'], [...path, 'hour_offset'], 0, 23, 0);
  let dayOffset = 0;
  if (kind === 'weekly') dayOffset = int(body['day_offset'], [...path, 'day_offset'], 0, 6, 0);
  if (kind === 'monthly') dayOffset = int(body['day_offset'], [...path, 'day_offset'], 1, 31, 1);
  if (
    (kind === 'hourly' && (body['hour_offset'] !== undefined || body['day_offset'] !== undefined)) ||
    (kind === 'daily' && body['day_offset'] !== undefined)
  ) {
    const k = body['day_offset'] !== undefined ? 'day_offset' : 'hour_offset';
    throw new SpecError(`${k} does not apply to ${kind} partitions`, [...path, k]);
  }
  const endOffset = int(body['end_offset'], [...path, 'end_offset'], -MAX_PARTITIONS, MAX_PARTITIONS, 0);

  let schedule: string;
  if (kind === 'cron') {
    schedule = str(body['schedule'], [...path, 'schedule']);
    try {
      CronExpressionParser.parse(schedule, { tz: timezone });
    } catch (e) {
      throw new SpecError(`invalid cron schedule "${schedule}": ${(e as Error).message}`, [...path, 'schedule']);
    }
    if (schedule.trim().split(/\s+/).length !== 5) {
      throw new SpecError(`cron schedule "${schedule}" must have 5 fields (minute hour day-of-month month day-of-week)`, [
        ...path,
        'schedule',
      ]);
    }
  } else {
    schedule = {
      hourly: `${minuteOffset} * * * *`,
      daily: `${minuteOffset} ${hourOffset} * * *`,
      weekly: `${minuteOffset} ${hourOffset} * * ${dayOffset}`,
      monthly: `${minuteOffset} ${hourOffset} ${dayOffset} * *`,
    }[kind];
  }

  const defaultFmt = kind === 'cron' && isSubDaily(schedule) ? SUB_DAILY_FMT : DEFAULT_FMT[kind];
  const fmt = body['fmt'] === undefined ? defaultFmt : str(body['fmt'], [...path, 'fmt']);
  let format: StrftimeFormat;
  try {
    format = new StrftimeFormat(fmt);
  } catch (e) {
    throw new SpecError((e as Error).message, [...path, 'fmt']);
  }
  if (body['start'] === undefined) throw new SpecError(`${kind} partitions need a start, e.g. start: 2024-01-01`, path);
  const startText = scalarText(body['start'], [...path, 'start']);
  const start = parseInstant(startText, timezone, format, [...path, 'start']);
  let end: number | null = null;
  let endText: string | null = null;
  if (body['end'] !== undefined && body['end'] !== null) {
    endText = scalarText(body['end'], [...path, 'end']);
    end = parseInstant(endText, timezone, format, [...path, 'end']);
    if (end <= start) throw new SpecError(`end ${endText} is not after start ${startText}`, [...path, 'end']);
  }

  const def = new TimeWindowPartitionsDefinition({
    kind,
    timezone,
    schedule,
    fmt,
    start,
    end,
    endOffset,
    now,
    startText,
    endText,
    minuteOffset,
    hourOffset,
    dayOffset,
  });
  const clash = sharedKey(def);
  if (clash) {
    const [a, b] = clash;
    throw new SpecError(
      `fmt "${fmt}" gives two partitions the same key "${def.keyAt(a)}" (the windows starting ${new Date(def.window(a).start).toISOString()} and ${new Date(def.window(b).start).toISOString()}): ` +
        `add the directives that tell them apart (e.g. %H, %M or %d)`,
      [...path, 'fmt'],
    );
  }
  return def;
}

/**
 * Two partitions of the definition whose keys are the same, if any. Formats that show every
 * field down to the windows' own resolution (the date for daily and coarser windows, the date
 * and %H:%M for sub-daily ones) cannot repeat a key; any other format is checked the only way
 * that is exact: by rendering the keys of the partitions that exist (at most MAX_PARTITIONS).
 */
function sharedKey(def: TimeWindowPartitionsDefinition): [number, number] | null {
  const f = def.format;
  const year = f.has('Y');
  const date = (f.has('m') && f.has('d')) || f.has('j');
  const subDaily = def.kind === 'hourly' || (def.kind === 'cron' && isSubDaily(def.schedule));
  if (subDaily ? year && date && f.hasTimeOfDay : def.kind === 'monthly' ? year && f.has('m') : year && date) return null;
  if (def.size > MAX_PARTITIONS) return null; // refused for its size by the caller
  const seen = new Map<string, number>();
  for (let i = 0; i < def.size; i++) {
    const key = def.keyAt(i);
    const first = seen.get(key);
    if (first !== undefined) return [first, i];
    seen.set(key, i);
  }
  return null;
}

/** A cron schedule whose ticks come more than once on some day. */
function isSubDaily(schedule: string): boolean {
  const [minute, hour] = schedule.trim().split(/\s+/);
  return !/^\d+$/.test(minute ?? '') || !/^\d+$/.test(hour ?? '');
}

/**
 * `2024-01-01`, `2024-01-01 06:00`, `2024-01-01T06:00:00Z` (ISO 8601, which Dagster does not
 * take for a custom fmt: we do), or a date in the definition's fmt read as Dagster reads it.
 */
function parseInstant(text: string, timezone: string, format: StrftimeFormat, path: Path): number {
  // Read the wall time with Luxon in UTC (no time zone lookups), then place it in the zone.
  const outOfRange = (): SpecError =>
    new SpecError(`date "${text}" is out of range: years 0001 to 9999 (as Dagster, which reads dates with Python's datetime)`, path);
  if (/^[+-]?\d{5,}-|^-\d/.test(text)) throw outOfRange();
  const iso = DateTime.fromISO(text.replace(' ', 'T'), { zone: 'UTC', setZone: true });
  if (iso.isValid) {
    if (iso.year < 1 || iso.year > 9999) throw outOfRange();
    const hasOffset = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/.test(text) && text.length > 10;
    return hasOffset ? iso.toMillis() : wallToEpoch(ZoneOffsets.for(timezone), iso.toMillis());
  }
  // As Dagster reads it: with the definition's fmt, through strptime's rules (parseLoosely).
  const f = format.parseLoosely(text);
  if (f && f.year !== undefined && !(f.ordinal !== undefined && f.ordinal > (isLeapYear(f.year) ? 366 : 365))) {
    if (f.year < 1 || f.year > 9999) throw outOfRange();
    const byOrdinal = f.ordinal !== undefined && f.month === undefined;
    const month = byOrdinal ? 1 : (f.month ?? 1);
    const day = byOrdinal ? f.ordinal! : (f.day ?? 1);
    const wall = utc(f.year, month - 1, day, f.hour ?? 0, f.minute ?? 0, f.second ?? 0);
    const check = new Date(wall);
    if (byOrdinal || (check.getUTCMonth() + 1 === month && check.getUTCDate() === day)) {
      return f.offset !== undefined ? wall - f.offset * 60_000 : wallToEpoch(ZoneOffsets.for(timezone), wall);
    }
  }
  const why = iso.invalidExplanation ? ` (${iso.invalidExplanation})` : '';
  throw new SpecError(
    `invalid date "${text}"${why}: write YYYY-MM-DD, YYYY-MM-DDTHH:MM or a date in the definition's fmt ("${format.pattern}")`,
    path,
  );
}

const zoneValidity = new Map<string, boolean>();
/** Luxon builds an Intl formatter on every check: remember the answer per name. */
function isValidZone(name: string): boolean {
  if (name === 'UTC') return true;
  let ok = zoneValidity.get(name);
  // Offsets such as +05:00 are time zones to newer runtimes' Intl (Node 24), not to Node 20 nor to
  // Dagster (Python's zoneinfo): refused everywhere, so a definition means the same on every runtime.
  if (ok === undefined) zoneValidity.set(name, (ok = !/^[+\-\u2212]/.test(name) && IANAZone.isValidZone(name)));
  return ok;
}

function scalarText(v: unknown, path: Path): string {
  if (typeof v === 'string') return v.trim();
  if (v instanceof Date) return v.toISOString();
  throw new SpecError('expected a date such as 2024-01-01', path);
}

function str(v: unknown, path: Path): string {
  if (typeof v !== 'string') throw new SpecError('expected a string', path);
  return v;
}

function int(v: unknown, path: Path, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SpecError(`expected a whole number from ${min} to ${max}`, path);
  if (v < min || v > max) throw new SpecError(`${v} is out of range: expected ${min} to ${max}`, path);
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
