import * as path from 'node:path';
import type { Diagnostic } from './diagnostics.ts';
import { readDefinitionFile, scanDefinitionFiles } from './definitions/files.ts';
import { loadWorkspaceFromSources, type LoadOptions, type SourceFile, type Workspace } from './definitions/load.ts';

export {
  findDefinitionFiles,
  isDefinitionFile,
  isSkippedFolder,
  MAX_DEFINITION_FILE_BYTES,
  readDefinitionFile,
  scanDefinitionFiles,
} from './definitions/files.ts';
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
  const { sources, unread } = await readSources(files);
  const ws = loadWorkspaceFromSources(absRoot, sources, options);
  addUnread(ws, [...problems.map((p) => at(p.path, 1, 1, p.severity, p.message)), ...unread]);
  return ws;
}

/**
 * The text of each definition file, in the order given: an editor's unsaved text from `open`
 * where there is one, else the file read by readDefinitionFile; a file that cannot be read
 * becomes a diagnostic instead (one deleted meanwhile is simply left out).
 */
export async function readSources(
  files: readonly string[],
  open: ReadonlyMap<string, string> = new Map(),
): Promise<{ sources: SourceFile[]; unread: Diagnostic[] }> {
  const read = await Promise.all(files.map(async (p) => (open.has(p) ? { text: open.get(p)! } : await readDefinitionFile(p))));
  const sources: SourceFile[] = [];
  const unread: Diagnostic[] = [];
  read.forEach((r, i) => {
    const p = files[i]!;
    if ('text' in r) sources.push({ path: p, text: r.text });
    else if ('problem' in r) unread.push(at(p, r.problem.line, r.problem.column, 'error', r.problem.message));
  });
  return { sources, unread };
}

/** Adds the diagnostics of files that could not be read (or are no files) to a loaded workspace. */
export function addUnread(ws: Workspace, unread: readonly Diagnostic[]): void {
  if (unread.length === 0) return;
  ws.diagnostics.push(...unread);
  // Files that could not be read count as files; a folder named like one does not.
  ws.files = [...new Set([...ws.files, ...unread.filter((u) => u.severity === 'error').map((u) => u.file)])].sort();
  ws.diagnostics.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
}

function at(file: string, line: number, column: number, severity: Diagnostic['severity'], message: string): Diagnostic {
  return { file, line, column, endLine: line, endColumn: column + 1, severity, code: 'read-error', message };
}
