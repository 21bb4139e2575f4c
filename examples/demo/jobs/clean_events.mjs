// clean_events: one day of raw events without bots and malformed rows.
//   node jobs/clean_events.mjs DAY   →   reads data/raw_events/DAY.jsonl, writes data/clean_events/DAY.jsonl
import * as path from 'node:path';
import { DATA, args, dataVersion, day, readInput, rel, reportCost, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'clean_events';
const REGIONS = new Set(['eu', 'us', 'apac']);

const [DAY] = args(JOB, 'DAY', 1).map((a) => day(JOB, a));
const input = path.join(DATA, 'raw_events', `${DAY}.jsonl`);
const out = path.join(DATA, 'clean_events', `${DAY}.jsonl`);
const raw = readInput(JOB, input, `raw_events ${DAY}`);

/** The event, if the line is one we keep. */
function parse(line) {
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    return { reason: 'malformed' };
  }
  if (e === null || typeof e !== 'object') return { reason: 'malformed' };
  if (e.bot === true) return { reason: 'bot' };
  if (typeof e.ts !== 'string' || !e.ts.startsWith(DAY) || typeof e.user !== 'string' || !e.user || !REGIONS.has(e.region) || typeof e.page !== 'string') {
    return { reason: 'malformed' };
  }
  return { event: { ts: e.ts, user: e.user, region: e.region, page: e.page } };
}

const kept = [];
const dropped = { bot: 0, malformed: 0 };
for (const line of raw.split('\n')) {
  if (!line.trim()) continue;
  const { event, reason } = parse(line);
  if (event) kept.push(JSON.stringify(event));
  else dropped[reason]++;
}

const text = kept.length ? `${kept.join('\n')}\n` : '';
writeOutput(out, text);
console.log(`${JOB} ${DAY}: kept ${kept.length} events, dropped ${dropped.bot} from bots and ${dropped.malformed} malformed → ${rel(out)}`);
reportMetadata('rows', kept.length);
reportMetadata('dropped', dropped.bot + dropped.malformed);
// The cleaning query is billed by the rows it scans: 0.02 USD per 1,000 rows.
reportCost(((kept.length + dropped.bot + dropped.malformed) / 1000) * 0.02);
reportVersion(dataVersion(text));
