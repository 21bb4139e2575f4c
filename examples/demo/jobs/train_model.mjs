// churn_model: a toy "churn model" — a least-squares line through the weekly average of daily
// active users — trained on every weekly summary.
//   node jobs/train_model.mjs FIRST_WEEK LAST_WEEK   →   reads data/weekly_summary/W.json for every
//   week W from FIRST_WEEK to LAST_WEEK (weekly_summary's partitions), writes data/churn_model.json
// A missing week is an error: the model is never trained on part of the data without saying so.
import * as path from 'node:path';
import { DATA, addDays, args, dataVersion, day, fail, json, readJsonInput, rel, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'train_model';

const [FIRST, LAST] = args(JOB, 'FIRST_WEEK LAST_WEEK', 2).map((a, i) => day(JOB, a, i === 0 ? 'first week' : 'last week'));
const span = (Date.parse(LAST) - Date.parse(FIRST)) / 86_400_000;
if (span < 7 || span % 7 !== 0) fail(JOB, `the last week ${LAST} must be a whole number of weeks (at least one) after the first week ${FIRST}`);
const keys = Array.from({ length: span / 7 + 1 }, (_, i) => addDays(FIRST, 7 * i));
const out = path.join(DATA, 'churn_model.json');
const weeks = keys.map((k) => readJsonInput(JOB, path.join(DATA, 'weekly_summary', `${k}.json`), `weekly_summary ${k}`));
console.log(`${JOB}: training on ${weeks.length} weeks, ${FIRST}…${LAST}`);

// y = intercept + slope · x, x = week number (0 = the first week), y = average daily users.
const xs = weeks.map((_, i) => i);
const ys = weeks.map((w) => w.avg_daily_users);
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const mx = mean(xs);
const my = mean(ys);
const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
const slope = sxy / sxx;
const intercept = my - slope * mx;
const ssRes = ys.reduce((s, y, i) => s + (y - (intercept + slope * xs[i])) ** 2, 0);
const ssTot = ys.reduce((s, y) => s + (y - my) ** 2, 0);
const r2 = ssTot === 0 ? 1 : 1 - ssRes / ssTot;
const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

const model = {
  model: 'avg_daily_users ~ intercept + slope * week_number',
  trained_on: { first_week: keys[0], last_week: keys[keys.length - 1], weeks: weeks.length },
  intercept: round(intercept, 2),
  slope: round(slope, 3),
  r2: round(r2, 4),
  forecast_next_week: round(intercept + slope * weeks.length, 1),
  churn_risk: slope < 0 ? 'high: active users are falling' : 'low: active users are growing',
};
const text = json(model);
writeOutput(out, text);
console.log(`${JOB}: slope ${model.slope} users/week, r² ${model.r2}, next week ≈ ${model.forecast_next_week} → ${rel(out)}`);
reportMetadata('weeks', weeks.length);
reportMetadata('r2', model.r2);
reportVersion(dataVersion(text));
