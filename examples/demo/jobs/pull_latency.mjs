// api_latency: "pulls" the events API's request latencies per hour from its access logs.
//   node jobs/pull_latency.mjs FIRST LAST   →   data/api_latency/DAY/HH.json for every hour FIRST…LAST
//
// FIRST and LAST are Backfill's hourly keys (YYYY-MM-DD-HH:MM). The asset is backfilled a day
// at a time (`max_partitions_per_run: 24`): one call per day, as a real log export would be.
// There are no logs: the numbers are pseudo-random, seeded by the hour (busier hours are slower).
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { DATA, args, dataVersion, fail, json, rel, reportMetadata, reportVersion, writeOutput } from './lib.mjs';

const JOB = 'pull_latency';
const HOUR_MS = 3_600_000;

/** An hourly key as a UTC time, checked. */
function hour(text) {
  const m = /^(\d{4}-\d{2}-\d{2})-(\d{2}):00$/.exec(text);
  const t = m ? Date.parse(`${m[1]}T${m[2]}:00:00Z`) : NaN;
  if (!m || Number.isNaN(t) || new Date(t).toISOString().slice(0, 13) !== `${m[1]}T${m[2]}`) fail(JOB, `invalid hour "${text}": expected YYYY-MM-DD-HH:00`);
  return t;
}

const [first, last] = args(JOB, 'FIRST LAST', 2).map(hour);
if (last < first) fail(JOB, `the last hour comes before the first`);
const versions = [];
let requests = 0;
for (let t = first; t <= last; t += HOUR_MS) {
  const iso = new Date(t).toISOString();
  const seed = createHash('sha256').update(`api_latency/${iso}`).digest();
  const h = new Date(t).getUTCHours();
  const load = 0.5 + 0.5 * Math.sin(((h - 9) / 24) * 2 * Math.PI); // peaks mid-afternoon UTC
  const count = 2000 + Math.round(load * 6000) + (seed.readUInt16LE(0) % 500);
  const p50 = Math.round(40 + load * 30 + (seed[2] % 10));
  const text = json({ hour: iso, requests: count, p50_ms: p50, p95_ms: Math.round(p50 * (2.2 + (seed[3] % 40) / 100)) });
  const out = path.join(DATA, 'api_latency', iso.slice(0, 10), `${iso.slice(11, 13)}.json`);
  writeOutput(out, text);
  versions.push(text);
  requests += count;
}
const hours = versions.length;
console.log(`${JOB}: ${hours} hour${hours === 1 ? '' : 's'} from ${new Date(first).toISOString().slice(0, 13)}h, ${requests} requests → ${rel(path.join(DATA, 'api_latency'))}/`);
reportMetadata('requests', requests);
reportVersion(dataVersion(...versions));
