/**
 * A simulation of the runner's admission over a plan: tasks start in plan order once their
 * upstream tasks are done, while the concurrency limit, the named pools and the capacity (the
 * declared cores and memory of the running tasks) allow — the same rules as BackfillRunner's.
 * It gives the time estimate (the makespan, for given task durations) and the peak resource use.
 */
import type { Capacity } from '../model.ts';

export interface SimulatedTask {
  /** Indexes (into the simulated array) of the tasks that must finish first; always smaller than the task's own. */
  after: readonly number[];
  durationMs: number;
  cpus: number;
  /** Bytes. */
  memory: number;
  /** The task's named pool ('' for none). */
  pool: string;
}

export interface ScheduleLimits {
  concurrency: number;
  capacity?: Capacity;
  pools?: ReadonlyMap<string, number>;
}

export interface Simulation {
  makespanMs: number;
  /** The most the tasks running at one moment declared in all, and the most tasks running at once. */
  peak: { cpus: number; memory: number; tasks: number };
}

export function simulateSchedule(tasks: readonly SimulatedTask[], limits: ScheduleLimits): Simulation {
  const n = tasks.length;
  const unmet = new Int32Array(n);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  tasks.forEach((t, i) => {
    unmet[i] = t.after.length;
    for (const a of t.after) dependents[a]!.push(i);
  });
  // Ready tasks per pool, each in plan order; pools in the order they are first seen (as the runner's).
  const ready = new Map<string, Heap>();
  const enqueue = (i: number): void => {
    const pool = tasks[i]!.pool;
    (ready.get(pool) ?? ready.set(pool, new Heap((a, b) => a - b)).get(pool)!).push(i);
  };
  for (let i = 0; i < n; i++) if (unmet[i] === 0) enqueue(i);

  const finishAt = new Float64Array(n);
  const running = new Heap((a, b) => finishAt[a]! - finishAt[b]! || a - b);
  const poolUse = new Map<string, number>();
  const capacity = limits.capacity ?? { cpus: Infinity, memory: Infinity };
  let now = 0;
  let cpus = 0;
  let memory = 0;
  let makespan = 0;
  const peak = { cpus: 0, memory: 0, tasks: 0 };
  const start = (i: number): void => {
    const t = tasks[i]!;
    finishAt[i] = now + Math.max(0, t.durationMs);
    makespan = Math.max(makespan, finishAt[i]!);
    running.push(i);
    cpus += t.cpus;
    memory += t.memory;
    poolUse.set(t.pool, (poolUse.get(t.pool) ?? 0) + 1);
  };

  for (let done = 0; done < n;) {
    // Start what may start now: a task that does not fit stops the pass (as in the runner, a
    // big task is not overtaken forever by small ones).
    pools: for (const [pool, queue] of ready) {
      const limit = pool ? (limits.pools?.get(pool) ?? Infinity) : Infinity;
      while (queue.size > 0 && running.size < limits.concurrency && (poolUse.get(pool) ?? 0) < limit) {
        const t = tasks[queue.peek()]!;
        if (running.size > 0 && (cpus + t.cpus > capacity.cpus + 1e-9 || memory + t.memory > capacity.memory)) break pools;
        start(queue.pop());
      }
    }
    peak.cpus = Math.max(peak.cpus, cpus);
    peak.memory = Math.max(peak.memory, memory);
    peak.tasks = Math.max(peak.tasks, running.size);
    if (running.size === 0) break; // nothing ready: only possible for a cycle, which plans never have
    // Then the next task(s) to finish.
    now = finishAt[running.peek()]!;
    while (running.size > 0 && finishAt[running.peek()]! <= now) {
      const i = running.pop();
      const t = tasks[i]!;
      cpus -= t.cpus;
      memory -= t.memory;
      poolUse.set(t.pool, poolUse.get(t.pool)! - 1);
      done++;
      for (const d of dependents[i]!) if (--unmet[d]! === 0) enqueue(d);
    }
  }
  return { makespanMs: makespan, peak };
}

/** A binary min-heap of task indexes. */
class Heap {
  private readonly items: number[] = [];
  constructor(private readonly less: (a: number, b: number) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): number {
    return this.items[0]!;
  }

  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
