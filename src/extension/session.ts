import * as vscode from 'vscode';
import * as actions from './backfillCommands.ts';
import { BackfillTasks } from './backfillTask.ts';
import { EditorDecorations } from './editorDecorations.ts';
import { GraphPanel, registerGraphSerializer, type GraphCallbacks } from './graphPanel.ts';
import { PartitionSubset } from '../core/partitions/subset.ts';
import { COMMANDS, type CommandSpec } from './commands.ts';
import { publishDiagnostics } from './diagnostics.ts';
import type { FolderInfo } from './folders.ts';
import type { ModelViews } from './views.ts';
import { WorkspaceModel } from './workspaceModel.ts';

/**
 * Everything the extension creates for the workspace folder it shows, owned in one place and
 * disposed together: the model of the folder, the editor decorations, the diagnostics and the
 * commands. The host (host.ts) creates one per folder shown; the output channel and the tree
 * views are the host's.
 */
export class BackfillSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  readonly model: WorkspaceModel;
  readonly tasks: BackfillTasks;
  /** The backfill entry points (see backfillCommands.ts), for the command table. */
  readonly actions = actions;

  constructor(
    readonly log: vscode.LogOutputChannel,
    readonly folder: FolderInfo,
    private readonly extensionUri: vscode.Uri,
    /** Switches the folder shown (the Select Workspace Folder command). */
    readonly host: { selectFolder(path?: string): Promise<void> },
    /** The Assets and Backfills views, the host's: they outlive the session. */
    views: ModelViews,
  ) {
    this.model = this.own(new WorkspaceModel(folder.path, log));
    this.tasks = this.own(new BackfillTasks(this.model, log));
    this.own(new EditorDecorations(this.model, extensionUri));
    this.own(registerGraphSerializer(extensionUri, this.model, this.graphCallbacks));
    // With several folders open, the views say which one they show.
    views.show(this.model, (vscode.workspace.workspaceFolders?.length ?? 0) > 1 ? folder.name : undefined);
    const problems = this.own(vscode.languages.createDiagnosticCollection('backfill'));
    // Diagnostics come from the definitions: published again when they were reloaded, not at every
    // status change (a running backfill changes statuses every second).
    let published: unknown;
    this.own(
      this.model.onDidChange(() => {
        if (this.model.workspace === published) return;
        published = this.model.workspace;
        publishDiagnostics(problems, this.model.workspace?.diagnostics ?? [], this.model.workspace?.files ?? []);
      }),
    );
    for (const [id, spec] of Object.entries(COMMANDS) as Array<[string, CommandSpec]>) {
      this.own(vscode.commands.registerCommand(id, (...args: unknown[]) => this.runCommand(id, spec, args)));
    }
  }

  /** Loads definitions, state and statuses (the views fill in when ready), then offers to resume interrupted backfills. */
  async load(t0 = performance.now()): Promise<void> {
    await this.model.reload();
    this.log.info(`${this.folder.name}: first load done ${(performance.now() - t0).toFixed(0)} ms after it started`);
    await this.tasks.offerResume();
  }

  private own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  private runCommand(id: string, spec: CommandSpec, args: unknown[]): Promise<unknown> {
    return this.guard(id, spec.needsTrust ?? false, () => spec.run(this, ...args));
  }

  /**
   * Runs an entry point (a command, a request from the graph): refused with a way to manage
   * Workspace Trust when it would run the workspace's commands in an untrusted workspace;
   * errors are logged and shown.
   */
  private async guard(what: string, needsTrust: boolean, run: () => unknown): Promise<unknown> {
    if (needsTrust && !vscode.workspace.isTrusted) {
      void vscode.window
        .showWarningMessage('Backfill runs commands from this workspace only when it is trusted.', 'Manage Workspace Trust')
        .then((c) => {
          if (c) void vscode.commands.executeCommand('workbench.trust.manage');
        });
      return undefined;
    }
    try {
      return await run();
    } catch (e) {
      this.log.error(`${what}: ${(e as Error).stack ?? String(e)}`);
      void vscode.window.showErrorMessage(`Backfill: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** What the graph webview asks of the extension (it goes through the same plan preview and task runner). */
  private readonly graphCallbacks: GraphCallbacks = {
    backfill: (asset, partitions, downstream) =>
      void this.guard('graph: backfill', true, () =>
        partitions === null
          ? downstream
            ? actions.backfillDownstream(this, asset)
            : actions.runBackfillFlow(this, asset)
          : this.tasks.confirmAndRun(
              { roots: [{ asset, partitions: PartitionSubset.range(partitions.start, partitions.end) }], downstream },
              `${asset} ${this.rangeText(asset, partitions.start, partitions.end)}${downstream ? ' + downstream' : ''}`,
            ),
      ),
    backfillNeeded: (asset) => void this.guard('graph: backfill stale/missing/failed', true, () => actions.backfillStatuses(this, asset)),
    openDefinition: (asset) => void this.openDefinition(asset),
    log: (message) => this.log.warn(`graph: ${message}`),
  };

  /** `2024-01-08…2024-01-10` (or the one key) for partitions [start, end) of an asset. */
  private rangeText(asset: string, start: number, end: number): string {
    const def = this.model.workspace?.assets.get(asset)?.partitions;
    if (!def) return `(${end - start} partitions)`;
    return end - start === 1 ? def.keyAt(start) : `${def.keyAt(start)}…${def.keyAt(end - 1)}`;
  }

  /** Opens the asset graph, focused on an asset if given. */
  showGraph(focus?: string): void {
    GraphPanel.show(this.extensionUri, this.model, this.graphCallbacks, focus);
  }

  /** Opens the file defining an asset, at its name. */
  async openDefinition(name: string | undefined): Promise<void> {
    const asset = name ? this.model.workspace?.assets.get(name) : undefined;
    if (!asset) return;
    const doc = await vscode.workspace.openTextDocument(asset.location.file);
    const pos = new vscode.Position(asset.location.line - 1, asset.location.column - 1);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos.translate(0, asset.name.length)), preview: true });
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
