// daily_active_users: distinct users and events of one day.
//   node jobs/daily_active_users.mjs DAY   →   reads data/clean_events/DAY.jsonl, writes data/daily_active_users/DAY.json
import * as path from 'node:path';
import { DATA, args, dataVersion, day, json, readInput, rel, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'daily_active_users';

const [DAY] = args(JOB, 'DAY', 1).map((a) => day(JOB, a));
const input = path.join(DATA, 'clean_events', `${DAY}.jsonl`);
const out = path.join(DATA, 'daily_active_users', `${DAY}.json`);
const lines = readInput(JOB, input, `clean_events ${DAY}`).split('\n').filter(Boolean);

const users = new Set(lines.map((line) => JSON.parse(line).user));
const text = json({ day: DAY, users: users.size, events: lines.length });
writeOutput(out, text);
console.log(`${JOB} ${DAY}: ${users.size} users, ${lines.length} events → ${rel(out)}`);
reportMetadata('users', users.size);
reportVersion(dataVersion(text));
