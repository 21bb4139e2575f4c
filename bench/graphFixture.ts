// A synthetic asset graph shaped like a real pipeline, for the graph benchmarks: assets in
// groups (ingest → staging → marts…), each reading 1–3 earlier assets, mostly from its own or
// the previous group, with a few long-range edges. Seeded, so every run lays out the same graph.

export interface FixtureAsset {
  name: string;
  group: string;
  deps: Array<{ asset: string; mapping: string | null }>;
}

/** Mulberry32: small, fast, good enough for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAPPINGS = ['offset -1', 'all', 'last', 'static'];

/** `assets` assets in `groups` groups with about 2 upstream edges per asset. */
export function fixtureGraph(assets = 2000, groups = 20, seed = 7): FixtureAsset[] {
  const random = rng(seed);
  const perGroup = Math.ceil(assets / groups);
  const out: FixtureAsset[] = [];
  for (let i = 0; i < assets; i++) {
    const g = Math.floor(i / perGroup);
    const group = `group_${String(g).padStart(2, '0')}`;
    const deps: FixtureAsset['deps'] = [];
    if (i > 0) {
      // Sources: the first few assets of the first group have no upstream.
      const wanted = i < 10 ? 0 : random() < 0.15 ? 1 : random() < 0.6 ? 2 : 3;
      const seen = new Set<number>();
      for (let k = 0; k < wanted * 3 && deps.length < wanted; k++) {
        const r = random();
        // Mostly the recent past (same or previous group), sometimes anything earlier.
        const span = r < 0.85 ? Math.min(i, perGroup * 1.5) : i;
        const j = i - 1 - Math.floor(random() * span);
        if (j < 0 || seen.has(j)) continue;
        seen.add(j);
        const mapping = random() < 0.1 ? MAPPINGS[Math.floor(random() * MAPPINGS.length)]! : null;
        deps.push({ asset: `asset_${j}`, mapping });
      }
    }
    out.push({ name: `asset_${i}`, group, deps });
  }
  return out;
}
