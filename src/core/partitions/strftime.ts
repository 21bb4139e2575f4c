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
   * Returns null when the text does not match the format.
   */
  parse(text: string): Partial<WallFields> | null {
    if (!this.regex) this.regex = this.buildRegex();
    const m = this.regex.exec(text);
    if (!m) return null;
    const out: Partial<WallFields> = {};
    this.groups.forEach((d, i) => {
      const v = m[i + 1]!;
      switch (d) {
        case 'Y':
          out.year = Number(v);
          break;
        case 'y':
          out.year = 2000 + Number(v);
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
    if (bad(out.month, 1, 12) || bad(out.day, 1, 31) || bad(out.hour, 0, 23) || bad(out.minute, 0, 59) || bad(out.second, 0, 59) || bad(out.ordinal, 1, 366)) return null;
    return out;
  }

  private buildRegex(): RegExp {
    let src = '^';
    for (const p of this.parts) {
      if ('literal' in p) {
        src += p.literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        continue;
      }
      const d = p.directive;
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
      src += re[d];
      this.groups.push(d);
    }
    return new RegExp(src + '$');
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

export function parseOffset(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  return sign * (Number(text.slice(1, 3)) * 60 + Number(text.slice(3, 5)));
}
