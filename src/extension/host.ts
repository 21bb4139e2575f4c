import * as vscode from 'vscode';
import { findDefinitionFiles } from '../core/workspace.ts';
import { chooseFolder, type FolderInfo } from './folders.ts';
import { GraphPanel } from './graphPanel.ts';
import { BackfillSession } from './session.ts';
import { ModelViews } from './views.ts';

/** Where the folder the user picked is remembered, per workspace. */
const FOLDER_KEY = 'backfill.folder';

/**
 * Owns the output channel, the tree views and the session of the workspace folder Backfill
 * shows: in a multi-root workspace the folder picked last, else the first one with asset
 * definitions (folders.ts). Switching folders replaces the session (the views stay and show the
 * new folder's model); folders added or removed are followed.
 */
export class SessionHost implements vscode.Disposable {
  private readonly log = vscode.window.createOutputChannel('Backfill', { log: true });
  private readonly views = new ModelViews();
  private readonly disposables: vscode.Disposable[] = [this.log, this.views];
  private session: BackfillSession | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.disposables.push(vscode.workspace.onDidChangeWorkspaceFolders(() => void this.foldersChanged()));
  }

  /** Shows the folder to show; resolves once its views and commands are registered (not loaded). */
  async start(): Promise<void> {
    const t0 = performance.now();
    const folder = await this.choose();
    if (!folder) {
      this.log.info('no workspace folder: nothing to show');
      return;
    }
    this.open(folder, t0);
    this.log.info(`activated in ${(performance.now() - t0).toFixed(0)} ms (views and commands registered)`);
  }

  /** Backfill: Select Workspace Folder: the folder at `path` (a CodeLens's argument), else one picked. */
  async selectFolder(path?: string): Promise<void> {
    const folders = workspaceFolders();
    const given = folders.find((f) => f.path === path);
    if (given) return this.switchTo(given);
    if (folders.length < 2) {
      void vscode.window.showInformationMessage(`Backfill shows the workspace's only folder${folders[0] ? `, ${folders[0].name}` : ''}.`);
      return;
    }
    const current = this.session?.folder.path;
    const items = await Promise.all(
      folders.map(async (folder) => {
        const files = (await findDefinitionFiles(folder.path)).length;
        const what = files === 0 ? 'no asset definitions' : `${files} definition file${files === 1 ? '' : 's'}`;
        return { label: folder.name, description: folder.path === current ? `shown · ${what}` : what, detail: folder.path, folder };
      }),
    );
    const pick = await vscode.window.showQuickPick(items, {
      title: 'Backfill: Select Workspace Folder',
      placeHolder: 'The folder whose assets Backfill shows',
    });
    if (pick) await this.switchTo(pick.folder);
  }

  /** Shows another folder (remembered for this workspace) unless it is shown or a backfill runs. */
  private async switchTo(folder: FolderInfo): Promise<void> {
    if (folder.path === this.session?.folder.path || this.busy()) return;
    await this.context.workspaceState.update(FOLDER_KEY, folder.path);
    this.open(folder);
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
    for (const d of this.disposables.reverse()) d.dispose();
  }

  private async choose(): Promise<FolderInfo | undefined> {
    return chooseFolder(
      workspaceFolders(),
      this.context.workspaceState.get<string>(FOLDER_KEY),
      async (f) => (await findDefinitionFiles(f.path)).length > 0,
    );
  }

  private open(folder: FolderInfo, t0 = performance.now()): void {
    GraphPanel.close();
    this.session?.dispose();
    this.session = new BackfillSession(this.log, folder, this.context.extensionUri, this, this.views);
    this.log.info(`showing ${folder.path}`);
    void this.session.load(t0);
  }

  /** A folder was added or removed: keep the one shown if it is still open and has assets. */
  private async foldersChanged(): Promise<void> {
    const current = this.session;
    const open = workspaceFolders();
    if (current && open.some((f) => f.path === current.folder.path) && (current.model.workspace?.assets.size ?? 0) > 0) {
      // Still shown; the views name it only while there are several folders.
      this.views.show(current.model, open.length > 1 ? current.folder.name : undefined);
      return;
    }
    const next = await this.choose();
    if (next?.path === current?.folder.path || this.session !== current) return;
    if (!next) {
      current?.dispose();
      this.session = undefined;
      return;
    }
    if (current && open.some((f) => f.path === current.folder.path) && this.busy()) return;
    this.open(next);
  }

  /** True (and says so) while this window runs a backfill: switching would interrupt it. */
  private busy(): boolean {
    const running = this.session?.tasks.running ?? 0;
    if (running === 0) return false;
    void vscode.window.showWarningMessage(
      `Backfill is running ${running === 1 ? 'a backfill' : `${running} backfills`} in ${this.session!.folder.name}: wait for ${running === 1 ? 'it' : 'them'} or cancel before switching folders.`,
    );
    return true;
  }
}

function workspaceFolders(): FolderInfo[] {
  return (vscode.workspace.workspaceFolders ?? [])
    .filter((f) => f.uri.scheme === 'file')
    .map((f) => ({ path: f.uri.fsPath, name: f.name }));
}
