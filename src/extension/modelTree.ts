import * as vscode from 'vscode';
import type { WorkspaceModel } from './workspaceModel.ts';

/** A tree view over the workspace model: redrawn whenever the model changes. */
export abstract class ModelTreeProvider<T> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<T | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(protected readonly model: WorkspaceModel) {
    this.subscription = model.onDidChange(() => this.changed.fire(undefined));
  }

  abstract getChildren(node?: T): T[];
  abstract getTreeItem(node: T): vscode.TreeItem;

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
