import * as vscode from 'vscode';
import type { WorkspaceModel } from './workspaceModel.ts';

/** A tree view over the workspace model: redrawn whenever the model changes, or is replaced by another folder's. */
export abstract class ModelTreeProvider<T> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<T | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private subscription: vscode.Disposable;

  constructor(protected model: WorkspaceModel) {
    this.subscription = model.onDidChange(() => this.changed.fire(undefined));
  }

  /** Shows another model (another workspace folder). */
  show(model: WorkspaceModel): void {
    this.subscription.dispose();
    this.model = model;
    this.subscription = model.onDidChange(() => this.changed.fire(undefined));
    this.changed.fire(undefined);
  }

  abstract getChildren(node?: T): T[] | Promise<T[]>;
  abstract getTreeItem(node: T): vscode.TreeItem;

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
