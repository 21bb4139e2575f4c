import * as path from 'node:path';
import type { Diagnostic } from './diagnostics.ts';
import { readDefinitionFile, scanDefinitionFiles } from './definitions/files.ts';
import { loadWorkspaceFromSources, type LoadOptions, type SourceFile, type Workspace } from './definitions/load.ts';

export { findDefinitionFiles, isDefinitionFile, isSkippedFolder, MAX_DEFINITION_FILE_BYTES, readDefinitionFile, scanDefinitionFiles } from './definitions/files.ts';
export { loadWorkspaceFromSources, ParseCache, type LoadOptions, type SourceFile, type Workspace } from './definitions/load.ts';
export type { DiagnosticCode } from './definitions/report.ts';

/**
 * Finds and reads the workspace's definition files, then loads them. Never throws for bad
 * definitions; a file that cannot be read (or a path named like one that is no file) becomes a
 * diagnostic, and the other files load as usual.
 */
export async function loadWorkspace(root: string, options: LoadOptions): Promise<Workspace> {
  const absRoot = path.resolve(root);
  const { files, problems } = await scanDefinitionFiles(absRoot);
  const unread: Diagnostic[] = problems.map((p) => at(p.path, 1, 1, p.severity, p.message));
  const sources: SourceFile[] = [];
  await Promise.all(
    files.map(async (p) => {
      const r = await readDefinitionFile(p);
      if ('text' in r) sources.push({ path: p, text: r.text });
      else if ('problem' in r) unread.push(at(p, r.problem.line, r.problem.column, 'error', r.problem.message));
      // else: deleted meanwhile, not an error
    }),
  );
  const ws = loadWorkspaceFromSources(absRoot, sources, options);
  if (unread.length > 0) {
    ws.diagnostics.push(...unread);
    // Files that could not be read count as files; a folder named like one does not.
    ws.files = [...new Set([...ws.files, ...unread.filter((u) => u.severity === 'error').map((u) => u.file)])].sort();
    ws.diagnostics.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  }
  return ws;
}

function at(file: string, line: number, column: number, severity: Diagnostic['severity'], message: string): Diagnostic {
  return { file, line, column, endLine: line, endColumn: column + 1, severity, code: 'read-error', message };
}
