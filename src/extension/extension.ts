import type * as vscode from 'vscode';
import { BackfillSession } from './session.ts';

/** Thin on purpose: the session owns everything (see session.ts). */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const session = await BackfillSession.start(context.extensionUri);
  if (session) context.subscriptions.push(session);
}

export function deactivate(): void {}
