// A plan's time estimate and resource peak in words, the same in the CLI and the editor.
import { formatMemory } from '../cost/units.ts';
import { formatSeconds } from '../run/duration.ts';
import type { BackfillPlan, TimeEstimate } from './planner.ts';

/** `~3m 20s (2m 10s–5m 00s) from history at concurrency 4; no history for x`, or `unknown (no history for x, y)`. */
export function describeTime(time: TimeEstimate, concurrency: number): string {
  if (time.expected_seconds === null) return `unknown (no history for ${time.unknown.join(', ')})`;
  const at = (s: number): string => (s < 1 ? '<1s' : formatSeconds(s));
  const low = time.low_seconds ?? time.expected_seconds;
  const high = time.high_seconds ?? time.expected_seconds;
  const range = high > low && at(high) !== at(low) ? ` (${at(low)}–${at(high)})` : '';
  const known = `~${at(time.expected_seconds)}${range} from history at concurrency ${concurrency}`;
  return time.unknown.length > 0 ? `${known}; no history for ${time.unknown.join(', ')}` : known;
}

/**
 * `peak 3 of 8 cpus, 6 GiB of 15.5 GiB`: at most what the tasks running at once declared (of what
 * the runner may give them), for the resources some planned asset declares.
 */
export function describeResources(resources: NonNullable<BackfillPlan['summary']['resources']>): string {
  const { peak, capacity } = resources;
  const n = (x: number): string => String(Number(x.toFixed(2)));
  const parts: string[] = [];
  if (peak.cpus > 0)
    parts.push(`${n(peak.cpus)}${capacity ? ` of ${n(capacity.cpus)}` : ''} cpu${peak.cpus === 1 && !capacity ? '' : 's'}`);
  if (peak.memory > 0) parts.push(`${formatMemory(peak.memory)}${capacity ? ` of ${formatMemory(capacity.memory)}` : ''} memory`);
  return `peak ${parts.join(', ')}`;
}
