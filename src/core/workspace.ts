import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { findDefinitionFiles } from './definitions/files.ts';
import { loadWorkspaceFromSources, type LoadOptions, type SourceFile, type Workspace } from './definitions/load.ts';

export { findDefinitionFiles, isDefinitionFile, isSkippedFolder } from './definitions/files.ts';
export { loadWorkspaceFromSources, ParseCache, type LoadOptions, type SourceFile, type Workspace } from './definitions/load.ts';
export type { DiagnosticCode } from './definitions/report.ts';

/**
 * Finds and reads the workspace's definition files, then loads them. Never throws for bad
 * definitions; a file that cannot be read becomes an error diagnostic.
 */
export async function loadWorkspace(root: string, options: LoadOptions): Promise<Workspace> {
  const absRoot = path.resolve(root);
  const paths = await findDefinitionFiles(absRoot);
  const unreadable: Array<{ path: string; message: string }> = [];
  const sources: SourceFile[] = [];
  await Promise.all(
    paths.map(async (p) => {
      try {
        sources.push({ path: p, text: await fs.readFile(p, 'utf8') });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code !== 'ENOENT') unreadable.push({ path: p, message: err.message }); // deleted meanwhile: not an error
      }
    }),
  );
  const ws = loadWorkspaceFromSources(absRoot, sources, options);
  if (unreadable.length > 0) {
    for (const u of unreadable) {
      ws.diagnostics.push({ file: u.path, line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', code: 'read-error', message: `cannot read this file: ${u.message}` });
    }
    ws.files = [...ws.files, ...unreadable.map((u) => u.path)].sort();
    ws.diagnostics.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  }
  return ws;
}
