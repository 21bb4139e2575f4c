/**
 * Python `strftime`-style formats for partition keys (`fmt:`), as Dagster users write them.
 * Only the formatting of already-computed calendar fields lives here; all calendar and time
 * zone arithmetic is Luxon's.
 */

export interface WallFields {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday (Python's %w). */
  weekday: number;
  /** Day of the year, 1-based. */
  ordinal: number;
  /** UTC offset in minutes. */
  offset: number;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Part = { literal: string } | { directive: string };

const SUPPORTED = new Set(['Y', 'y', 'm', 'd', 'H', 'M', 'S', 'j', 'b', 'B', 'a', 'A', 'z', 'w', '%']);

export class StrftimeFormat {
  private readonly parts: Part[];
  private regex?: RegExp;
  private looseRegex?: RegExp;
  /** The directive of each capture group, in order (the same for both regexes). */
  private readonly groups: string[] = [];

  constructor(readonly pattern: string) {
    this.parts = [];
    let lit = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c !== '%') {
        lit += c;
        continue;
      }
      const d = pattern[i + 1];
      if (d === undefined || !SUPPORTED.has(d)) {
        throw new Error(
          `unsupported format directive "%${d ?? ''}" in "${pattern}" (supported: ${[...SUPPORTED].map((s) => '%' + s).join(' ')})`,
        );
      }
      i++;
      if (d === '%') {
        lit += '%';
        continue;
      }
      if (lit) this.parts.push({ literal: lit });
      lit = '';
      this.parts.push({ directive: d });
    }
    if (lit) this.parts.push({ literal: lit });
  }

  /** True when the format shows time of day down to the minute (so sub-daily keys stay unique). */
  get hasTimeOfDay(): boolean {
    return this.has('H') && this.has('M');
  }

  has(directive: string): boolean {
    return this.parts.some((p) => 'directive' in p && p.directive === directive);
  }

  format(f: WallFields): string {
    let out = '';
    for (const p of this.parts) {
      if ('literal' in p) {
        out += p.literal;
        continue;
      }
      switch (p.directive) {
        case 'Y':
          out += String(f.year).padStart(4, '0');
          break;
        case 'y':
          out += pad2(f.year % 100);
          break;
        case 'm':
          out += pad2(f.month);
          break;
        case 'd':
          out += pad2(f.day);
          break;
        case 'H':
          out += pad2(f.hour);
          break;
        case 'M':
          out += pad2(f.minute);
          break;
        case 'S':
          out += pad2(f.second);
          break;
        case 'j':
          out += String(f.ordinal).padStart(3, '0');
          break;
        case 'b':
          out += MONTHS[f.month - 1]!.slice(0, 3);
          break;
        case 'B':
          out += MONTHS[f.month - 1]!;
          break;
        case 'a':
          out += DAYS[f.weekday]!.slice(0, 3);
          break;
        case 'A':
          out += DAYS[f.weekday]!;
          break;
        case 'w':
          out += String(f.weekday);
          break;
        case 'z':
          out += formatOffset(f.offset);
          break;
      }
    }
    return out;
  }

  /**
   * Reads the fields a key states. Missing fields are left out (a daily key has no hour).
   * Returns null when the text does not match the format. Keys are read exactly as format()
   * writes them (zero-padded), so that one partition has one key.
   */
  parse(text: string): Partial<WallFields> | null {
    this.regex ??= this.buildRegex(false);
    return this.fields(this.regex.exec(text));
  }

  /**
   * Reads a date written by a person (`start:`/`end:`) as Python's `datetime.strptime` does,
   * which is how Dagster reads them: numbers without their leading zero (`2024-1-5 6:00`),
   * names in any case, any run of white space where the format has white space, `%z` with a
   * colon or `Z`.
   */
  parseLoosely(text: string): Partial<WallFields> | null {
    this.looseRegex ??= this.buildRegex(true);
    return this.fields(this.looseRegex.exec(text));
  }

  private fields(m: RegExpExecArray | null): Partial<WallFields> | null {
    if (!m) return null;
    const out: Partial<WallFields> = {};
    this.groups.forEach((d, i) => {
      const v = m[i + 1]!;
      switch (d) {
        case 'Y':
          out.year = Number(v);
          break;
        case 'y':
          // Python's pivot: 69-99 are 1969-1999, 00-68 are 2000-2068.
          out.year = Number(v) + (Number(v) >= 69 ? 1900 : 2000);
          break;
        case 'm':
          out.month = Number(v);
          break;
        case 'd':
          out.day = Number(v);
          break;
        case 'H':
          out.hour = Number(v);
          break;
        case 'M':
          out.minute = Number(v);
          break;
        case 'S':
          out.second = Number(v);
          break;
        case 'j':
          out.ordinal = Number(v);
          break;
        case 'b':
        case 'B':
          out.month = MONTHS.findIndex((n) => n.toLowerCase().startsWith(v.toLowerCase().slice(0, 3))) + 1;
          break;
        case 'z':
          out.offset = parseOffset(v);
          break;
      }
    });
    // Fields out of range (month 13, hour 25) are not a time of this form, whatever the digits.
    const bad = (v: number | undefined, lo: number, hi: number): boolean => v !== undefined && !(v >= lo && v <= hi);
    if (
      bad(out.month, 1, 12) ||
      bad(out.day, 1, 31) ||
      bad(out.hour, 0, 23) ||
      bad(out.minute, 0, 59) ||
      bad(out.second, 0, 59) ||
      bad(out.ordinal, 1, 366)
    )
      return null;
    return out;
  }

  private buildRegex(loose: boolean): RegExp {
    let src = '^';
    const groups: string[] = [];
    for (const p of this.parts) {
      if ('literal' in p) {
        const escaped = p.literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        src += loose ? escaped.replace(/\s+/g, '\\s+') : escaped;
        continue;
      }
      const d = p.directive;
      // Python's _strptime patterns: one or two digits, names full or abbreviated.
      const names = (list: string[]): string => `(${[...list, ...list.map((n) => n.slice(0, 3))].join('|')})`;
      const looseRe: Record<string, string> = {
        Y: '(\\d{4})',
        y: '(\\d{2})',
        m: '(1[0-2]|0[1-9]|[1-9])',
        d: '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
        H: '(2[0-3]|[01]\\d|\\d)',
        M: '([0-5]\\d|\\d)',
        S: '(6[01]|[0-5]\\d|\\d)',
        j: '(36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
        b: names(MONTHS),
        B: names(MONTHS),
        a: names(DAYS),
        A: names(DAYS),
        w: '([0-6])',
        z: '([+-]\\d\\d:?[0-5]\\d|Z)',
      };
      const re: Record<string, string> = {
        Y: '(\\d{4})',
        y: '(\\d{2})',
        m: '(\\d{2})',
        d: '(\\d{2})',
        H: '(\\d{2})',
        M: '(\\d{2})',
        S: '(\\d{2})',
        j: '(\\d{3})',
        b: '([A-Za-z]{3})',
        B: '([A-Za-z]+)',
        a: '([A-Za-z]{3})',
        A: '([A-Za-z]+)',
        w: '([0-6])',
        z: '([+-]\\d{4})',
      };
      src += loose ? looseRe[d] : re[d];
      groups.push(d);
    }
    if (this.groups.length === 0) this.groups.push(...groups);
    return new RegExp(src + '$', loose ? 'i' : '');
  }
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Python's %z: `+0000`, `-0800`. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return sign + pad2(Math.floor(a / 60)) + pad2(a % 60);
}

/** `+0530`, `-08:00` or `Z`, in minutes. */
export function parseOffset(text: string): number {
  if (text === 'Z' || text === 'z') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}
