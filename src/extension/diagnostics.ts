import * as vscode from 'vscode';
import type { Diagnostic } from '../core/diagnostics.ts';

/** Shows the definitions' diagnostics in the Problems panel, replacing the previous set. */
export function publishDiagnostics(
  collection: vscode.DiagnosticCollection,
  diagnostics: readonly Diagnostic[],
  files: readonly string[],
): void {
  const byFile = new Map<string, vscode.Diagnostic[]>(files.map((f) => [f, []]));
  for (const d of diagnostics) {
    const range = new vscode.Range(
      d.line - 1,
      d.column - 1,
      Math.max(d.endLine, d.line) - 1,
      Math.max(d.endLine === d.line ? d.endColumn : d.endColumn, 1) - 1,
    );
    const item = new vscode.Diagnostic(
      range,
      d.message,
      d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
    );
    item.source = 'backfill';
    item.code = d.code;
    (byFile.get(d.file) ?? byFile.set(d.file, []).get(d.file)!).push(item);
  }
  collection.clear();
  for (const [file, list] of byFile) collection.set(vscode.Uri.file(file), list);
}
