import type { AssetDefinition, AssetDependency } from './model.ts';
import { TimeWindowMapping } from './mappings/mappings.ts';
import { PartitionSubset } from './partitions/subset.ts';

export interface ImpactedAsset {
  asset: AssetDefinition;
  partitions: PartitionSubset;
}

export interface DownstreamEdge {
  asset: AssetDefinition;
  dep: AssetDependency;
}

/**
 * The dependency graph of a workspace's assets. Dependencies on unknown assets are ignored
 * here (the loader reports them). Self-dependencies that read only earlier partitions
 * (negative offsets) are not cycles.
 */
export class AssetGraph {
  /** Topological order (upstream first); assets caught in cycles come last, by name. */
  readonly order: AssetDefinition[] = [];
  /** Each cycle as the names along it: `[a, b]` means a depends on b and b depends on a. */
  readonly cycles: string[][] = [];
  private readonly byName = new Map<string, AssetDefinition>();
  private readonly downstream = new Map<string, DownstreamEdge[]>();
  private readonly position = new Map<string, number>();

  constructor(assets: Iterable<AssetDefinition>) {
    for (const a of assets) this.byName.set(a.name, a);
    for (const a of this.byName.values()) {
      for (const dep of a.deps) {
        if (!this.byName.has(dep.asset)) continue;
        const list = this.downstream.get(dep.asset);
        if (list) list.push({ asset: a, dep });
        else this.downstream.set(dep.asset, [{ asset: a, dep }]);
      }
    }
    this.sort();
  }

  get(name: string): AssetDefinition | undefined {
    return this.byName.get(name);
  }

  get names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** The direct downstream dependencies of an asset: (downstream asset, its dep on `name`). */
  downstreamOf(name: string): DownstreamEdge[] {
    return this.downstream.get(name) ?? [];
  }

  /** Whether a dependency counts as an edge for ordering (a self-dependency on earlier partitions does not). */
  private static orders(a: AssetDefinition, dep: AssetDependency): boolean {
    return dep.asset !== a.name || !dep.mapping.readsOnlyEarlier();
  }

  /** Kahn's algorithm, ties broken by name so the order is stable; leftover nodes are cycles. */
  private sort(): void {
    const indegree = new Map<string, number>();
    for (const a of this.byName.values()) {
      const ups = new Set(a.deps.filter((d) => this.byName.has(d.asset) && AssetGraph.orders(a, d)).map((d) => d.asset));
      indegree.set(a.name, ups.size);
    }
    const ready = [...indegree]
      .filter(([, n]) => n === 0)
      .map(([name]) => name)
      .sort();
    // A binary heap would be O(log n); a sorted array with binary insertion is simpler and fast enough for 10^4 assets.
    while (ready.length > 0) {
      const name = ready.shift()!;
      this.position.set(name, this.order.length);
      this.order.push(this.byName.get(name)!);
      const seen = new Set<string>();
      for (const { asset, dep } of this.downstreamOf(name)) {
        if (!AssetGraph.orders(asset, dep) || seen.has(asset.name)) continue;
        seen.add(asset.name);
        const n = indegree.get(asset.name)! - 1;
        indegree.set(asset.name, n);
        if (n === 0) insertSorted(ready, asset.name);
      }
    }
    const left = [...this.byName.keys()].filter((n) => !this.position.has(n)).sort();
    for (const name of left) {
      this.position.set(name, this.order.length);
      this.order.push(this.byName.get(name)!);
    }
    if (left.length > 0) this.findCycles(new Set(left));
  }

  /** One cycle per strongly connected component among the leftover nodes (Tarjan). */
  private findCycles(nodes: Set<string>): void {
    const upstreamOf = (name: string): string[] => {
      const a = this.byName.get(name)!;
      return [...new Set(a.deps.filter((d) => nodes.has(d.asset) && AssetGraph.orders(a, d)).map((d) => d.asset))].sort();
    };
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const components: string[][] = [];
    const visit = (v: string): void => {
      index.set(v, counter);
      low.set(v, counter);
      counter++;
      stack.push(v);
      onStack.add(v);
      for (const w of upstreamOf(v)) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        components.push(comp);
      }
    };
    for (const n of [...nodes].sort()) if (!index.has(n)) visit(n);
    for (const comp of components) {
      const inComp = new Set(comp);
      const start = [...comp].sort()[0]!;
      if (comp.length === 1 && !upstreamOf(start).includes(start)) continue; // only downstream of a cycle
      // Walk a shortest path back to `start` inside the component (BFS over dependencies).
      const prev = new Map<string, string>();
      const queue = [start];
      let found = false;
      while (queue.length > 0 && !found) {
        const v = queue.shift()!;
        for (const w of upstreamOf(v)) {
          if (!inComp.has(w)) continue;
          if (w === start) {
            prev.set(start, v);
            found = true;
            break;
          }
          if (!prev.has(w)) {
            prev.set(w, v);
            queue.push(w);
          }
        }
      }
      const path: string[] = [];
      let v = prev.get(start)!;
      while (v !== start) {
        path.unshift(v);
        v = prev.get(v)!;
      }
      this.cycles.push([start, ...path]);
    }
  }

  /** The given partitions and every downstream partition depending on them, transitively, in topological order. */
  impact(name: string, partitions: PartitionSubset): ImpactedAsset[] {
    const root = this.byName.get(name);
    if (!root) return [];
    const pending = new Map<string, PartitionSubset>([[name, partitions]]);
    const out: ImpactedAsset[] = [];
    // In topological order every upstream's subset is final before it is propagated.
    for (let pos = this.position.get(name)!; pos < this.order.length; pos++) {
      const asset = this.order[pos]!;
      const reachedHere = pending.get(asset.name);
      if (!reachedHere) continue;
      const subset = this.selfClosure(asset, reachedHere);
      out.push({ asset, partitions: subset });
      for (const { asset: down, dep } of this.downstreamOf(asset.name)) {
        if (down.name === asset.name || this.position.get(down.name)! <= pos) continue;
        const reached = dep.mapping.downstreamFor(subset);
        if (reached.isEmpty) continue;
        const before = pending.get(down.name);
        pending.set(down.name, before ? before.union(reached) : reached);
      }
    }
    return out;
  }

  /** Partitions reached through an asset's own earlier partitions (cumulative assets), to a fixpoint. */
  private selfClosure(asset: AssetDefinition, subset: PartitionSubset): PartitionSubset {
    const selfDeps = asset.deps.filter((d) => d.asset === asset.name);
    if (selfDeps.length === 0) return subset;
    // A self-dependency reads partitions [p+start_offset, p+end_offset] (both negative). A run of
    // at least -end_offset impacted partitions impacts the next one, so it grows to the end:
    // close such runs at once instead of stepping one partition at a time.
    const step = Math.min(...selfDeps.map((d) => (d.mapping instanceof TimeWindowMapping ? -d.mapping.endOffset : Infinity)));
    const size = asset.partitions.size;
    let all = subset;
    let frontier = subset;
    while (!frontier.isEmpty) {
      for (const [a, b] of all.ranges()) {
        if (b - a >= step && b < size) {
          all = all.union(PartitionSubset.range(a, size));
          break;
        }
      }
      let next = PartitionSubset.EMPTY;
      for (const d of selfDeps) next = next.union(d.mapping.downstreamFor(frontier));
      frontier = next.minus(all);
      all = all.union(frontier);
    }
    return all;
  }
}

function insertSorted(list: string[], value: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}
