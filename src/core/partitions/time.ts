import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { IANAZone } from 'luxon';
import type { PartitionsDefinition, PartitionsSummary } from './definition.ts';
import { StrftimeFormat, formatOffset, type WallFields } from './strftime.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export type TimeKind = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'cron';

/**
 * The boundaries of the time windows (the cron ticks), numbered from the first tick at or
 * after `start` (index 0). Indexes outside the definition's range name windows that would
 * exist before the start or after the end; mappings use them to report missing upstream keys.
 */
interface TickGrid {
  /** Epoch ms of tick i. */
  tick(i: number): number;
  /** The largest i with tick(i) <= t. */
  floorIndex(t: number): number;
}

/**
 * UTC offsets of one IANA zone, cached per UTC day: Luxon asks Intl for each offset, which costs
 * tens of microseconds, and partition keys need one per window. A day holds at most one
 * transition, found to the minute by bisection.
 */
export class ZoneOffsets {
  private static readonly zones = new Map<string, ZoneOffsets>();
  private readonly days = new Map<number, [number, number, number]>();
  private readonly fixed: number | null;

  static for(name: string): ZoneOffsets {
    let z = ZoneOffsets.zones.get(name);
    if (!z) ZoneOffsets.zones.set(name, (z = new ZoneOffsets(IANAZone.create(name))));
    return z;
  }

  private constructor(private readonly zone: IANAZone) {
    const utc = ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Etc/Universal', 'Universal', 'Zulu', 'Etc/Zulu'];
    this.fixed = utc.includes(zone.name) ? 0 : null;
  }

  get isFixed(): boolean {
    return this.fixed !== null;
  }

  /** Offset in minutes at epoch ms t. */
  offset(t: number): number {
    if (this.fixed !== null) return this.fixed;
    const day = Math.floor(t / DAY);
    let e = this.days.get(day);
    if (!e) {
      e = this.compute(day);
      if (this.days.size > 200_000) this.days.clear();
      this.days.set(day, e);
    }
    return t < e[2] ? e[0] : e[1];
  }

  private compute(day: number): [number, number, number] {
    const start = day * DAY;
    const a = this.zone.offset(start);
    const b = this.zone.offset(start + DAY - 1);
    if (a === b) return [a, a, Infinity];
    let lo = 0; // minutes after start with offset a
    let hi = 1439; // minutes after start with offset b
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.zone.offset(start + mid * 60_000) === a) lo = mid;
      else hi = mid;
    }
    return [a, b, start + hi * 60_000];
  }
}

/** A wall-clock instant in a zone, resolved the way cron does: the first of a repeated time, and a time in a spring-forward gap moved forward. */
export function wallToEpoch(zone: ZoneOffsets, wallMs: number): number {
  if (zone.isFixed) return wallMs - zone.offset(wallMs) * 60_000;
  const before = zone.offset(wallMs - DAY);
  const after = zone.offset(wallMs + DAY);
  const a = wallMs - before * 60_000;
  const b = wallMs - after * 60_000;
  const aOk = zone.offset(a) === before;
  const bOk = zone.offset(b) === after;
  if (aOk && bOk) return Math.min(a, b);
  if (aOk) return a;
  if (bOk) return b;
  return a; // inside a gap: the wall time does not exist; move it forward by the gap
}

/** Hourly ticks: a fixed step in absolute time, so DST's skipped hour is absent and the repeated hour appears twice, as cron does. */
class FixedStepGrid implements TickGrid {
  constructor(
    private readonly t0: number,
    private readonly step: number,
  ) {}
  tick(i: number): number {
    return this.t0 + i * this.step;
  }
  floorIndex(t: number): number {
    return Math.floor((t - this.t0) / this.step);
  }
}

/** Daily / weekly / monthly ticks at a wall-clock time, stepped in calendar units of the zone. */
class CalendarGrid implements TickGrid {
  private readonly cache = new Map<number, number>();
  /**
   * @param unit days per step (1 or 7), or 0 for months
   * @param origin local date of tick 0 as days since 1970-01-01 (days/weeks) or months since 1970-01 (months)
   */
  constructor(
    private readonly zone: ZoneOffsets,
    private readonly unit: 0 | 1 | 7,
    private readonly origin: number,
    private readonly hour: number,
    private readonly minute: number,
    private readonly dayOfMonth: number,
  ) {}

  /** The wall-clock time of tick i (as if UTC), before any time zone lookup. */
  wall(i: number): number {
    if (this.unit === 0) {
      const m = this.origin + i;
      return utc(Math.floor(m / 12), ((m % 12) + 12) % 12, this.dayOfMonth, this.hour, this.minute);
    }
    return (this.origin + i * this.unit) * DAY + this.hour * HOUR + this.minute * 60_000;
  }

  /** The tick whose wall-clock date is that of `wall`, if any. */
  indexOfWallDate(wall: number): number | null {
    const d = new Date(wall);
    if (this.unit === 0) {
      if (d.getUTCDate() !== this.dayOfMonth) return null;
      return d.getUTCFullYear() * 12 + d.getUTCMonth() - this.origin;
    }
    const offset = Math.floor(wall / DAY) - this.origin;
    return offset % this.unit === 0 ? offset / this.unit : null;
  }

  tick(i: number): number {
    let t = this.cache.get(i);
    if (t === undefined) {
      t = wallToEpoch(this.zone, this.wall(i));
      if (this.cache.size > 4096) this.cache.clear();
      this.cache.set(i, t);
    }
    return t;
  }

  floorIndex(t: number): number {
    const wall = new Date(t + this.zone.offset(t) * 60_000);
    let i: number;
    if (this.unit === 0) {
      i = wall.getUTCFullYear() * 12 + wall.getUTCMonth() - this.origin;
    } else {
      i = Math.floor((Math.floor(wall.getTime() / DAY) - this.origin) / this.unit);
    }
    while (this.tick(i) > t) i--;
    while (this.tick(i + 1) <= t) i++;
    return i;
  }
}

/** Ticks of an arbitrary cron schedule, computed by cron-parser and kept in arrays grown on demand. */
class CronGrid implements TickGrid {
  private readonly forward: number[];
  private readonly backward: number[] = []; // tick(-1), tick(-2), ...
  private fwdIter: CronExpression;
  private backIter: CronExpression;

  constructor(schedule: string, tz: string, start: number) {
    // First tick at or after start: iterate from 1 ms before it.
    this.fwdIter = CronExpressionParser.parse(schedule, { currentDate: new Date(start - 1), tz });
    this.forward = [this.fwdIter.next().getTime()];
    this.backIter = CronExpressionParser.parse(schedule, { currentDate: new Date(this.forward[0]!), tz });
  }

  tick(i: number): number {
    if (i >= 0) {
      while (this.forward.length <= i) this.forward.push(this.fwdIter.next().getTime());
      return this.forward[i]!;
    }
    const k = -i - 1;
    while (this.backward.length <= k) this.backward.push(this.backIter.prev().getTime());
    return this.backward[k]!;
  }

  floorIndex(t: number): number {
    if (t >= this.forward[0]!) {
      // Enumerating ticks is linear: stop past the most partitions a definition may have (an
      // every-minute schedule since 2000 is 13 million ticks; the definition is refused for
      // its size, and the answer must not take minutes to come, nor freeze the editor).
      while (this.forward[this.forward.length - 1]! <= t) {
        if (this.forward.length > MAX_CRON_TICKS) return this.forward.length;
        this.tick(this.forward.length);
      }
      // binary search: last index with forward[i] <= t
      let lo = 0;
      let hi = this.forward.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.forward[mid]! <= t) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    }
    let k = 0;
    while (this.tick(-k - 1) > t && k <= MAX_CRON_TICKS) k++;
    return -k - 1;
  }
}

/** More ticks than any definition may have partitions (build.ts's MAX_PARTITIONS, 100,000): enumeration stops there. */
const MAX_CRON_TICKS = 100_001;

export interface TimeWindowOptions {
  kind: TimeKind;
  /** IANA zone name. */
  timezone: string;
  /** Cron schedule of the window boundaries. */
  schedule: string;
  fmt: string;
  /** Epoch ms: the first window starts at the first tick at or after it. */
  start: number;
  /** Epoch ms, exclusive: windows ending after it do not exist. */
  end: number | null;
  endOffset: number;
  now: number;
  /** The text the user wrote, for summaries. */
  startText: string;
  endText: string | null;
  minuteOffset: number;
  hourOffset: number;
  dayOffset: number;
}

export interface TimeWindow {
  start: number;
  end: number;
}

/** Partitions that are time windows between consecutive ticks of a schedule, as in Dagster. */
export class TimeWindowPartitionsDefinition implements PartitionsDefinition {
  readonly kind: TimeKind;
  readonly zone: ZoneOffsets;
  readonly format: StrftimeFormat;
  readonly size: number;
  private readonly grid: TickGrid;
  /** Keys that show the hour get the UTC offset appended on the second pass of a repeated hour (else the fall's repeated hour would repeat keys). */
  private readonly dstSuffix: boolean;

  constructor(readonly options: TimeWindowOptions) {
    this.kind = options.kind;
    this.zone = ZoneOffsets.for(options.timezone);
    this.format = new StrftimeFormat(options.fmt);
    this.grid = makeGrid(options, this.zone);
    this.dstSuffix = this.format.has('H') && !this.format.has('z') && !this.zone.isFixed;
    this.size = this.computeSize();
    if (this.grid instanceof CalendarGrid && !['H', 'M', 'S', 'z', 'j', 'a', 'A', 'w'].some((d) => this.format.has(d))) {
      this.dateOnlyGrid = this.grid;
      this.isoDateFormat = options.fmt === '%Y-%m-%d';
    }
  }

  /** Set when keys show only the calendar date of a daily/weekly/monthly window (the fast path). */
  private readonly dateOnlyGrid: CalendarGrid | null = null;
  private readonly isoDateFormat: boolean = false;

  private computeSize(): number {
    const { now, end, endOffset } = this.options;
    // Windows 0..k-1 have ended by t when tick(k) <= t, i.e. k = floorIndex(t).
    let n = Math.max(0, this.grid.floorIndex(now));
    if (endOffset > 0) n += endOffset;
    if (end !== null) n = Math.min(n, Math.max(0, this.grid.floorIndex(end)));
    if (endOffset < 0) n += endOffset;
    return Math.max(0, n);
  }

  get timezone(): string {
    return this.options.timezone;
  }

  get schedule(): string {
    return this.options.schedule;
  }

  /** The window of partition i; i may lie outside [0, size) for windows that do not exist. */
  window(i: number): TimeWindow {
    return { start: this.grid.tick(i), end: this.grid.tick(i + 1) };
  }

  /** Index range [lo, hi) of the windows (existing or not) that overlap [start, end). */
  overlapping(start: number, end: number): [number, number] {
    if (end <= start) return [0, 0];
    const lo = this.grid.floorIndex(start); // window containing start (its end > start)
    const last = this.grid.floorIndex(end - 1); // window containing the last instant
    return [lo, last + 1];
  }

  /** The index of the window that contains t (may be out of range). */
  indexAt(t: number): number {
    return this.grid.floorIndex(t);
  }

  keyAt(index: number): string {
    // Keys that show only the date of a daily/weekly/monthly window need no time zone lookup.
    if (this.dateOnlyGrid) {
      const wall = this.dateOnlyGrid.wall(index);
      return this.isoDateFormat ? isoDate(wall) : this.format.format(wallFields(wall, 0));
    }
    return this.keyOfTick(this.grid.tick(index));
  }

  /** The key a window would have; also for windows outside the range (missing upstream keys). */
  keyOfTick(t: number): string {
    const offset = this.zone.offset(t);
    const key = this.format.format(wallFields(t, offset));
    if (this.dstSuffix && isSecondOfRepeatedTime(this.zone, t, offset)) return key + formatOffset(offset);
    return key;
  }

  indexOf(key: string): number {
    if (this.dateOnlyGrid) {
      let wall: number;
      if (this.isoDateFormat) {
        wall = parseIsoDate(key);
      } else {
        const f = this.format.parse(key);
        if (!f || f.year === undefined) return -1;
        wall = utc(f.year, (f.month ?? 1) - 1, f.day ?? 1);
      }
      const i = Number.isNaN(wall) ? null : this.dateOnlyGrid.indexOfWallDate(wall);
      return i !== null && i >= 0 && i < this.size && this.keyAt(i) === key ? i : -1;
    }
    const i = this.locate(key);
    return i !== null && i >= 0 && i < this.size ? i : -1;
  }

  /** The window index a key names, existing or not; null when the text is no key of this definition. */
  locate(key: string): number | null {
    let text = key;
    let suffixOffset: number | null = null;
    if (this.dstSuffix) {
      const m = /([+-]\d{4})$/.exec(key);
      if (m && this.format.parse(key) === null) {
        text = key.slice(0, -5);
        suffixOffset = Number(m[1]!.slice(0, 1) + '1') * (Number(m[1]!.slice(1, 3)) * 60 + Number(m[1]!.slice(3)));
      }
    }
    const f = this.format.parse(text);
    if (!f || f.year === undefined) return null;
    let month = f.month ?? 1;
    let day = f.day ?? 1;
    if (f.ordinal !== undefined && f.month === undefined) {
      const d = new Date(utc(f.year, 0, f.ordinal));
      month = d.getUTCMonth() + 1;
      day = d.getUTCDate();
    }
    const wall = utc(f.year, month - 1, day, f.hour ?? 0, f.minute ?? 0, f.second ?? 0);
    if (Number.isNaN(wall)) return null;
    const t =
      f.offset !== undefined
        ? wall - f.offset * 60_000
        : suffixOffset !== null
          ? wall - suffixOffset * 60_000
          : wallToEpoch(this.zone, wall);
    const guess = this.grid.floorIndex(t);
    // The key's text may omit parts of the tick (a daily key at hour_offset 7 has no hour): look around.
    for (const i of [guess, guess + 1, guess - 1, guess + 2]) {
      if (this.keyAt(i) === key) return i;
    }
    return null;
  }

  summary(): PartitionsSummary {
    const o = this.options;
    return {
      kind: this.kind,
      count: this.size,
      first: this.size > 0 ? this.keyAt(0) : null,
      last: this.size > 0 ? this.keyAt(this.size - 1) : null,
      timezone: o.timezone,
      schedule: o.schedule,
      fmt: o.fmt,
      start: o.startText,
      end: o.endText,
      end_offset: o.endOffset,
    };
  }

  fingerprint(): string {
    return `time|${this.options.schedule}|${this.options.timezone}|${this.grid.tick(0)}|${this.options.fmt}`;
  }

  /** Same schedule, zone and start tick: windows line up index for index. */
  sameGrid(other: TimeWindowPartitionsDefinition): boolean {
    return (
      other.options.schedule === this.options.schedule &&
      other.options.timezone === this.options.timezone &&
      other.grid.tick(0) === this.grid.tick(0)
    );
  }

  equals(other: PartitionsDefinition): boolean {
    return (
      other instanceof TimeWindowPartitionsDefinition &&
      this.sameGrid(other) &&
      other.size === this.size &&
      other.options.fmt === this.options.fmt
    );
  }
}

/** `YYYY-MM-DD` of a wall time: the default key of daily, weekly and monthly partitions. */
function isoDate(wall: number): string {
  const d = new Date(wall);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  return `${y >= 1000 ? y : String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${day < 10 ? '0' : ''}${day}`;
}

/**
 * Date.UTC, also for the years 0–99, which Date.UTC takes for 1900–1999 (a daily definition
 * starting in 0001 must not start in 1901).
 */
export function utc(year: number, monthIndex: number, day = 1, hour = 0, minute = 0, second = 0): number {
  if (year >= 100 || year < 0) return Date.UTC(year, monthIndex, day, hour, minute, second);
  const d = new Date(0);
  d.setUTCFullYear(year, monthIndex, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** Wall time of a `YYYY-MM-DD` text, NaN when it is not one. */
function parseIsoDate(key: string): number {
  if (key.length !== 10 || key.charCodeAt(4) !== 45 || key.charCodeAt(7) !== 45) return NaN;
  const y = Number(key.slice(0, 4));
  const m = Number(key.slice(5, 7));
  const d = Number(key.slice(8, 10));
  return Number.isInteger(y) && Number.isInteger(m) && Number.isInteger(d) ? utc(y, m - 1, d) : NaN;
}

function wallFields(t: number, offset: number): WallFields {
  const d = new Date(t + offset * 60_000);
  const year = d.getUTCFullYear();
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
    ordinal: Math.floor((d.getTime() - utc(year, 0, 1)) / DAY) + 1,
    offset,
  };
}

/** True when the wall-clock time at t occurred once before, earlier the same night (DST fall-back). */
function isSecondOfRepeatedTime(zone: ZoneOffsets, t: number, offset: number): boolean {
  const before = zone.offset(t - 3 * HOUR);
  if (before <= offset) return false;
  const earlier = t - (before - offset) * 60_000;
  return zone.offset(earlier) === before;
}

function makeGrid(o: TimeWindowOptions, zone: ZoneOffsets): TickGrid {
  const startOffset = zone.offset(o.start);
  const startWall = new Date(o.start + startOffset * 60_000);
  switch (o.kind) {
    case 'hourly': {
      // First tick at or after start at minute `minuteOffset`.
      let t = wallToEpoch(
        zone,
        utc(startWall.getUTCFullYear(), startWall.getUTCMonth(), startWall.getUTCDate(), startWall.getUTCHours(), o.minuteOffset),
      );
      if (t < o.start) t += HOUR;
      return new FixedStepGrid(t, HOUR);
    }
    case 'daily':
    case 'weekly': {
      let day = Math.floor(startWall.getTime() / DAY);
      if (o.kind === 'weekly') {
        const weekday = new Date(day * DAY).getUTCDay();
        day += (o.dayOffset - weekday + 7) % 7;
      }
      const unit = o.kind === 'daily' ? 1 : 7;
      const grid = new CalendarGrid(zone, unit, day, o.hourOffset, o.minuteOffset, 1);
      return grid.tick(0) >= o.start ? grid : new CalendarGrid(zone, unit, day + unit, o.hourOffset, o.minuteOffset, 1);
    }
    case 'monthly': {
      // Days 29-31 do not occur every month; cron skips the months without them.
      if (o.dayOffset > 28) return new CronGrid(o.schedule, o.timezone, o.start);
      const month = startWall.getUTCFullYear() * 12 + startWall.getUTCMonth();
      const grid = new CalendarGrid(zone, 0, month, o.hourOffset, o.minuteOffset, o.dayOffset);
      return grid.tick(0) >= o.start ? grid : new CalendarGrid(zone, 0, month + 1, o.hourOffset, o.minuteOffset, o.dayOffset);
    }
    case 'cron':
      return new CronGrid(o.schedule, o.timezone, o.start);
  }
}
