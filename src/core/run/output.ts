import type { Readable } from 'node:stream';

/** Longest line kept whole; longer output without a newline is cut into pieces of this size. */
export const MAX_LINE = 64 * 1024;

/**
 * Splits a stream into lines without ever holding more than one line in memory (a command
 * that prints 100 MB costs the runner nothing but time).
 */
export function forEachLine(stream: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let text = pending + chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        onLine(text.endsWith('\r', nl) ? text.slice(0, nl - 1) : text.slice(0, nl));
        text = text.slice(nl + 1);
      }
      while (text.length > MAX_LINE) {
        onLine(text.slice(0, MAX_LINE));
        text = text.slice(MAX_LINE);
      }
      pending = text;
    });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (pending) onLine(pending);
      resolve();
    };
    stream.on('end', finish);
    // A stream destroyed without ending (the command could not start) only closes.
    stream.on('close', finish);
    stream.on('error', finish);
  });
}

export interface Reported {
  dataVersion?: string;
  metadata: Record<string, unknown>;
  /** The sum of the `::backfill cost=` lines (a job may report its queries one by one). */
  cost?: number;
  /** Report lines that could not be read, for a warning. */
  problems?: string[];
}

/**
 * Reads a `::backfill data_version=<v>`, `::backfill cost=<number>` or
 * `::backfill metadata <key>=<json>` line into `into`. Returns false for ordinary output.
 */
export function parseReportLine(line: string, into: Reported): boolean {
  if (!line.startsWith('::backfill ')) return false;
  const rest = line.slice('::backfill '.length).trim();
  const dv = /^data_version=(.+)$/.exec(rest);
  if (dv) {
    into.dataVersion = dv[1]!.trim();
    return true;
  }
  const cost = /^cost=(.*)$/.exec(rest);
  if (cost) {
    const value = Number(cost[1]!.trim());
    if (cost[1]!.trim() === '' || !Number.isFinite(value) || value < 0) {
      (into.problems ??= []).push(`"${line.slice(0, 80)}" is not a cost (a number ≥ 0 such as ::backfill cost=0.0123): ignored`);
    } else {
      into.cost = (into.cost ?? 0) + value;
    }
    return true;
  }
  const md = /^metadata\s+([^=\s]+)=(.*)$/.exec(rest);
  if (md) {
    const raw = md[2]!.trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the text
    }
    into.metadata[md[1]!] = value;
    return true;
  }
  return false;
}
