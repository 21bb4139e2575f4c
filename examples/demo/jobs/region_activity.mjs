// region_activity: events and distinct users of one region on one day.
//   node jobs/region_activity.mjs DATE REGION   →   reads data/clean_events/DATE.jsonl,
//                                                   writes data/region_activity/DATE/REGION.json
import * as path from 'node:path';
import { DATA, args, dataVersion, day, fail, json, readInput, rel, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'region_activity';
const REGIONS = ['eu', 'us', 'apac'];

const [dateArg, REGION] = args(JOB, 'DATE REGION', 2);
const DATE = day(JOB, dateArg, 'date');
if (!REGIONS.includes(REGION)) fail(JOB, `unknown region "${REGION}": expected one of ${REGIONS.join(', ')}`);
const input = path.join(DATA, 'clean_events', `${DATE}.jsonl`);
const out = path.join(DATA, 'region_activity', DATE, `${REGION}.json`);
const events = readInput(JOB, input, `clean_events ${DATE}`)
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line))
  .filter((e) => e.region === REGION);

const users = new Set(events.map((e) => e.user)).size;
const text = json({ date: DATE, region: REGION, events: events.length, users });
writeOutput(out, text);
console.log(`${JOB} ${DATE} ${REGION}: ${events.length} events from ${users} users → ${rel(out)}`);
reportMetadata('events', events.length);
reportVersion(dataVersion(text));
