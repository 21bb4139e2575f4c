import type * as vscode from 'vscode';
import { SessionHost } from './host.ts';

/** Thin on purpose: the host and its session own everything (see host.ts, session.ts). */
export function activate(context: vscode.ExtensionContext): Promise<void> {
  const host = new SessionHost(context);
  context.subscriptions.push(host);
  return host.start();
}

export function deactivate(): void {}
