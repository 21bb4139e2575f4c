// raw_events: "pulls" one day of click events from the events API.
//   node jobs/pull_events.mjs DAY   →   data/raw_events/DAY.jsonl
//
// There is no API: the events are pseudo-random, seeded by the day, so the same day always
// gives the same bytes. Like real feeds they contain bot traffic and the odd malformed row
// (clean_events removes both). The API "fails" once for 2024-01-15: the first attempt exits 1,
// the retry (raw_events has `retries: 1`) succeeds — delete data/.flaky/ to see it again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA, args, dataVersion, day, fail, rel, reportCost, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'pull_events';
const FLAKY_DAY = '2024-01-15';
const USERS = 1500;
const PAGES = ['/', '/', '/search', '/search', '/product', '/product', '/product', '/cart', '/checkout', '/account', '/help'];
const REGIONS = ['eu', 'eu', 'eu', 'eu', 'us', 'us', 'us', 'us', 'apac', 'apac']; // a user's home region: index % 10

const [DAY] = args(JOB, 'DAY', 1).map((a) => day(JOB, a));
const out = path.join(DATA, 'raw_events', `${DAY}.jsonl`);
console.log(`${JOB} ${DAY}: requesting events…`);

const marker = path.join(DATA, '.flaky', DAY);
if (DAY === FLAKY_DAY && !existsSync(marker)) {
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, `the events API failed once for ${DAY}; delete this file to make it fail again\n`);
  fail(JOB, `events API answered 503 Service Unavailable for ${DAY} (the demo's deliberate one-time failure: a retry succeeds)`);
}

// mulberry32, seeded with the day's hash: deterministic and good enough for a demo.
let seed = createHash('sha256').update(`raw_events/${DAY}`).digest().readUInt32LE(0);
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];

// Traffic grows through the quarter, dips at weekends, and varies ±15 % from day to day.
const start = Date.parse(`${DAY}T00:00:00Z`);
const dayIndex = Math.round((start - Date.parse('2024-01-01T00:00:00Z')) / 86_400_000);
const weekday = new Date(start).getUTCDay();
const weekend = weekday === 0 || weekday === 6 ? 0.6 : 1;
const count = Math.max(300, Math.round((600 + 25 * dayIndex) * weekend * (0.85 + 0.3 * random())));

const times = Array.from({ length: count }, () => start + Math.floor(random() * 86_400_000)).sort((a, b) => a - b);
let bots = 0;
let malformed = 0;
const lines = times.map((time) => {
  const ts = new Date(time).toISOString();
  const r = random();
  if (r < 0.04) {
    bots++;
    return JSON.stringify({ ts, user: `bot-${1 + Math.floor(random() * 5)}`, region: pick(['eu', 'us', 'apac']), page: '/search', bot: true });
  }
  // A few heavy users, many occasional ones.
  const u = Math.floor(USERS * random() ** 2);
  const event = { ts, user: `u${String(u).padStart(5, '0')}`, region: REGIONS[u % 10], page: pick(PAGES) };
  if (r < 0.047) {
    malformed++;
    const kind = Math.floor(random() * 3);
    if (kind === 0) return JSON.stringify(event).slice(0, 30); // truncated line
    if (kind === 1) return JSON.stringify({ ts, region: event.region, page: event.page }); // no user
    return JSON.stringify({ ...event, region: '??' }); // unknown region
  }
  return JSON.stringify(event);
});

const text = `${lines.join('\n')}\n`;
writeOutput(out, text);
console.log(`${JOB} ${DAY}: ${count} events (${bots} from bots, ${malformed} malformed) → ${rel(out)}`);
reportMetadata('rows', count);
// The events API bills 0.05 USD per 1,000 events returned.
reportCost((count / 1000) * 0.05);
reportVersion(dataVersion(text));
