import type * as vscode from 'vscode';
import { BackfillSession } from './session.ts';

/** Thin on purpose: the session owns everything (see session.ts). */
export function activate(context: vscode.ExtensionContext): void {
  const session = BackfillSession.start(context.extensionUri);
  if (session) context.subscriptions.push(session);
}

export function deactivate(): void {}
