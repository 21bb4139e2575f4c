import type * as vscode from 'vscode';

/**
 * The VS Code layer arrives with the editor issues; for now the extension activates on
 * workspaces with asset definitions and does nothing else (the engine is exercised by the CLI).
 */
export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
