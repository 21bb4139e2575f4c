import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SourceFile } from '../src/core/workspace.ts';

export interface GenerateOptions {
  /** Number of assets (default 2,000). */
  assets?: number;
  /** Number of definition files; assets are spread evenly (default 200). */
  files?: number;
  /** Start of every asset's daily partitions (default 2023-01-01: about 3 years before 2026). */
  start?: string;
  /** Fewest and most dependencies per asset (default 1 and 3; the first asset has none). */
  minDeps?: number;
  maxDeps?: number;
  /** Seed of the pseudo-random dependency choice, so that runs are comparable (default 1). */
  seed?: number;
}

/**
 * Definition files of a synthetic workspace: asset `a<i>` has daily partitions and depends on
 * 1–3 earlier assets (no cycles), half of them with an explicit `{offset: -1}` mapping.
 * Files are `<root>/group<k>/part<j>.assets.yaml`.
 */
export function generateSources(root: string, options: GenerateOptions = {}): SourceFile[] {
  const assets = options.assets ?? 2000;
  const fileCount = Math.max(1, Math.min(options.files ?? 200, assets));
  const start = options.start ?? '2023-01-01';
  const minDeps = options.minDeps ?? 1;
  const maxDeps = options.maxDeps ?? 3;
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = (): number => {
    // xorshift32: deterministic and good enough for picking dependencies.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const perFile = Math.ceil(assets / fileCount);
  const files: SourceFile[] = [];
  for (let f = 0; f < fileCount; f++) {
    const lines: string[] = [];
    if (f === 0) lines.push('pools:', '  api: 4', '');
    lines.push('assets:');
    for (let i = f * perFile; i < Math.min(assets, (f + 1) * perFile); i++) {
      lines.push(`  a${i}:`);
      lines.push(`    description: Synthetic asset number ${i}`);
      lines.push(`    group: g${f % 10}`);
      lines.push(`    partitions: { daily: { start: ${start} } }`);
      if (i > 0) {
        const want = minDeps + Math.floor(random() * (maxDeps - minDeps + 1));
        const deps = new Set<number>();
        for (let k = 0; k < want * 3 && deps.size < Math.min(want, i); k++) deps.add(Math.floor(random() * i));
        lines.push('    deps:');
        for (const d of [...deps].sort((x, y) => x - y)) {
          if (random() < 0.5) lines.push(`      - a${d}`);
          else lines.push(`      - asset: a${d}`, '        mapping: { offset: -1 }');
        }
      }
      lines.push(`    run: node jobs/build.mjs a${i} {partition}`);
      lines.push(`    code_version: "${1 + (i % 5)}"`);
      if (i % 7 === 0) lines.push('    pool: api');
      if (i % 11 === 0) lines.push('    retries: 2', '    timeout: 600');
    }
    files.push({ path: path.join(root, `group${f % 10}`, `part${f}.assets.yaml`), text: lines.join('\n') + '\n' });
  }
  return files;
}

/** Writes the synthetic workspace of `generateSources` into `dir` (created if needed). */
export async function generateWorkspace(dir: string, options: GenerateOptions = {}): Promise<string[]> {
  const root = path.resolve(dir);
  const sources = generateSources(root, options);
  for (const s of sources) {
    await fs.mkdir(path.dirname(s.path), { recursive: true });
    await fs.writeFile(s.path, s.text);
  }
  return sources.map((s) => s.path);
}
