// weekly_summary: one summary per week from the daily active users. Backfill runs it once for a
// chunk of consecutive weeks (strategy single_run), passing the chunk's first and last week.
//   node jobs/weekly_summary.mjs FIRST LAST   →   for each week W from FIRST to LAST (W = the
//   week's first day; a week is W…W+6): reads data/daily_active_users/<day>.json for its 7 days,
//   writes data/weekly_summary/W.json
import * as path from 'node:path';
import { DATA, addDays, args, dataVersion, day, fail, json, readJsonInput, rel, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'weekly_summary';

const [FIRST, LAST] = args(JOB, 'FIRST_WEEK LAST_WEEK', 2).map((a, i) => day(JOB, a, i === 0 ? 'first week' : 'last week'));
const span = (Date.parse(LAST) - Date.parse(FIRST)) / 86_400_000;
if (span < 0 || span % 7 !== 0) fail(JOB, `the last week ${LAST} must be the first week ${FIRST} or a whole number of weeks after it`);
const weeks = Array.from({ length: span / 7 + 1 }, (_, i) => addDays(FIRST, 7 * i));
console.log(`${JOB}: ${weeks.length} week${weeks.length === 1 ? '' : 's'}, ${FIRST}…${LAST}`);

// Read every input first: a missing day stops the job before anything is written.
const inputs = weeks.map((week) =>
  Array.from({ length: 7 }, (_, i) => {
    const d = addDays(week, i);
    return readJsonInput(JOB, path.join(DATA, 'daily_active_users', `${d}.json`), `daily_active_users ${d}`);
  }),
);

const texts = weeks.map((week, w) => {
  const days = inputs[w];
  const userDays = days.reduce((n, d) => n + d.users, 0);
  const events = days.reduce((n, d) => n + d.events, 0);
  const summary = {
    week,
    first_day: week,
    last_day: addDays(week, 6),
    avg_daily_users: Math.round((userDays / 7) * 10) / 10,
    peak_daily_users: Math.max(...days.map((d) => d.users)),
    user_days: userDays,
    events,
    events_per_user_day: Math.round((events / userDays) * 100) / 100,
  };
  const text = json(summary);
  const out = path.join(DATA, 'weekly_summary', `${week}.json`);
  writeOutput(out, text);
  console.log(`${JOB} ${week}: ${summary.avg_daily_users} daily users on average, ${events} events → ${rel(out)}`);
  return text;
});

reportMetadata('weeks', weeks.length);
reportVersion(dataVersion(...texts));
