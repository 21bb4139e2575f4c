// Costs in words, the same in the CLI and the editor.
import type { CostEstimate, PlanCost } from './cost.ts';
import { formatCost } from './units.ts';

/** One asset's estimated cost: `~1.40 USD (1.10–2.00, 24 runs)`, `0.80 USD (rate)`, `cost unknown`. */
export function describeAssetCost(e: CostEstimate, unit: string | null): string {
  if (e.expected === null) return 'cost unknown';
  const u = unit ?? undefined;
  if (e.source === 'rate') return `${formatCost(e.expected, u)} (rate)`;
  const range =
    e.low !== null && e.high !== null && e.high > e.low ? `${formatCost(e.low, undefined)}–${formatCost(e.high, undefined)}, ` : '';
  return `~${formatCost(e.expected, u)} (${range}${plural(e.samples, 'past run')})`;
}

/** The plan's cost line: the total of what is known, its range, and what is not known. */
export function describePlanCost(cost: PlanCost): string {
  const u = cost.unit ?? undefined;
  const known = cost.assets.length - cost.unknown.length;
  if (known === 0) return `unknown (no past runs of ${cost.unknown.join(', ')}${HINT})`;
  const range = cost.high > cost.low ? ` (${formatCost(cost.low, undefined)}–${formatCost(cost.high, undefined)})` : '';
  const total = `~${formatCost(cost.expected, u)}${range}`;
  return cost.unknown.length ? `${total} for what is known; unknown for ${cost.unknown.join(', ')} (no past runs${HINT})` : total;
}

/** How to get an estimate before any run (a rate per hour needs a past duration). */
const HINT = '; a cost: rate per run or per partition estimates before any';

/** `1 past run`, `3 past runs`. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
