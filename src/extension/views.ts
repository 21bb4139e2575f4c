import * as vscode from 'vscode';
import { AssetsTreeProvider } from './assetsTree.ts';
import { BackfillsTreeProvider } from './backfillsTree.ts';
import type { WorkspaceModel } from './workspaceModel.ts';

/**
 * The Assets and Backfills views. Created once and kept when the folder shown changes: their
 * providers are pointed at the new folder's model (a tree view disposed and created again
 * under the same id can stay empty).
 */
export class ModelViews implements vscode.Disposable {
  private trees: { assets: AssetsTreeProvider; backfills: BackfillsTreeProvider; views: Array<vscode.TreeView<unknown>> } | undefined;

  /** Shows a folder's model; `folderName` is shown beside the views' titles (multi-root workspaces). */
  show(model: WorkspaceModel, folderName: string | undefined): void {
    if (this.trees) {
      this.trees.assets.show(model);
      this.trees.backfills.show(model);
    } else {
      const assets = new AssetsTreeProvider(model);
      const backfills = new BackfillsTreeProvider(model);
      const views = [
        vscode.window.createTreeView('backfill.assets', { treeDataProvider: assets, showCollapseAll: true }) as vscode.TreeView<unknown>,
        vscode.window.createTreeView('backfill.backfills', { treeDataProvider: backfills }) as vscode.TreeView<unknown>,
      ];
      this.trees = { assets, backfills, views };
    }
    for (const v of this.trees.views) v.description = folderName;
  }

  dispose(): void {
    if (!this.trees) return;
    for (const v of this.trees.views) v.dispose();
    this.trees.assets.dispose();
    this.trees.backfills.dispose();
    this.trees = undefined;
  }
}
