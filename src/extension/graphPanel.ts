import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { isWebviewMessage, type HostMessage, type WebviewMessage } from '../shared/graphProtocol.ts';
import { describeIndexes, graphAssets, graphHtml, gridSpec, StatusTracker, structureKey } from './graphData.ts';
import type { WorkspaceModel } from './workspaceModel.ts';

/** What the graph asks of the rest of the extension. */
export interface GraphCallbacks {
  /** Backfill an asset: a partition index range [start, end), or null for the usual pickers; with everything downstream. */
  backfill(asset: string, partitions: { start: number; end: number } | null, downstream: boolean): void;
  /** Backfill an asset's stale, missing and failed partitions. */
  backfillNeeded(asset: string): void;
  openDefinition(asset: string): void;
  /** Errors the page reports (optional: the extension's log). */
  log?(message: string): void;
}

const VIEW_TYPE = 'backfill.graph';

/**
 * The asset graph: one webview panel (revealed if open). The page is rebuilt whenever it is
 * shown again (no retained context), so it keeps its viewport in the webview state and asks
 * for the graph with `ready`. Definitions that change send a new graph; statuses that change
 * send only the assets whose statuses differ from what the page has.
 */
export class GraphPanel implements vscode.Disposable {
  private static current: GraphPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private revision = 0;
  private lastKey = '';
  private readonly tracker = new StatusTracker();
  private pendingFocus: string | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly model: WorkspaceModel,
    private readonly callbacks: GraphCallbacks,
    focus: string | undefined,
  ) {
    this.pendingFocus = focus;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'backfill.svg');
    panel.webview.options = GraphPanel.webviewOptions(extensionUri);
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      // A hidden page is gone: it says `ready` again when shown.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      model.onDidChange(() => this.update()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendGraph()),
    );
  }

  /** Opens the graph (or reveals it), optionally centred on an asset. */
  static show(extensionUri: vscode.Uri, model: WorkspaceModel, callbacks: GraphCallbacks, focus?: string): GraphPanel {
    const open = GraphPanel.current;
    if (open) {
      open.panel.reveal(undefined, false);
      if (focus) open.focus(focus);
      return open;
    }
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'Asset Graph',
      vscode.ViewColumn.Active,
      GraphPanel.webviewOptions(extensionUri),
    );
    return (GraphPanel.current = new GraphPanel(panel, extensionUri, model, callbacks, focus));
  }

  private static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    };
  }

  /** Closes the graph, if open (the folder it shows is being closed). */
  static close(): void {
    GraphPanel.current?.dispose();
  }

  /** Restores a graph panel left open when the window reloaded. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, model: WorkspaceModel, callbacks: GraphCallbacks): GraphPanel {
    GraphPanel.current?.dispose();
    // The page restores its own viewport and selection from its webview state: no focus to send.
    return (GraphPanel.current = new GraphPanel(panel, extensionUri, model, callbacks, undefined));
  }

  private focus(asset: string): void {
    if (this.ready) this.post({ type: 'focus', asset });
    else this.pendingFocus = asset;
  }

  private receive(m: unknown): void {
    if (!isWebviewMessage(m)) {
      this.callbacks.log?.(`graph: ignored a malformed message from the webview`);
      return;
    }
    this.handle(m);
  }

  private handle(m: WebviewMessage): void {
    const ws = this.model.workspace;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.sendGraph();
        return;
      case 'backfill': {
        const asset = ws?.assets.get(m.asset);
        if (!asset || (m.range && m.range.end > asset.partitions.size)) return;
        this.callbacks.backfill(m.asset, m.range, m.downstream);
        return;
      }
      case 'backfillNeeded':
        if (ws?.assets.has(m.asset)) this.callbacks.backfillNeeded(m.asset);
        return;
      case 'openDefinition':
        if (ws?.assets.has(m.asset)) this.callbacks.openDefinition(m.asset);
        return;
      case 'gridRequest': {
        const asset = ws?.assets.get(m.asset);
        this.post({ type: 'grid', id: m.id, asset: m.asset, grid: asset ? gridSpec(asset.partitions) : null });
        return;
      }
      case 'describeRequest': {
        const asset = ws?.assets.get(m.asset);
        const d = asset
          ? describeIndexes(asset.partitions, this.model.statuses.get(m.asset), m.indexes)
          : { keys: m.indexes.map(() => ''), causes: m.indexes.map(() => []) };
        this.post({ type: 'describe', id: m.id, asset: m.asset, ...d });
        return;
      }
      case 'log':
        this.callbacks.log?.(`graph webview: ${m.message}`);
        return;
    }
  }

  /** The whole graph (after `ready`, and when definitions change). */
  private sendGraph(): void {
    if (!this.ready) return;
    const ws = this.model.workspace;
    const assets = ws ? graphAssets(ws.graph) : [];
    this.lastKey = structureKey(assets);
    const message: HostMessage = {
      type: 'graph',
      revision: ++this.revision,
      assets,
      statuses: this.tracker.all(assets, this.model.statuses),
      canBackfill: vscode.workspace.isTrusted,
    };
    if (this.pendingFocus) message.focus = this.pendingFocus;
    this.pendingFocus = undefined;
    this.post(message);
  }

  /** After a reload of the model: a new graph if the definitions changed, else the changed statuses. */
  private update(): void {
    if (!this.ready) return; // the next `ready` gets everything
    const ws = this.model.workspace;
    const assets = ws ? graphAssets(ws.graph) : [];
    if (structureKey(assets) !== this.lastKey) {
      this.sendGraph();
      return;
    }
    const changed = this.tracker.changes(assets, this.model.statuses);
    if (changed.length) this.post({ type: 'statuses', revision: this.revision, assets: changed });
  }

  private post(m: HostMessage): void {
    void this.panel.webview.postMessage(m);
  }

  private html(): string {
    const webview = this.panel.webview;
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'graph.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'graph.css'));
    return graphHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(18).toString('base64url'),
      script: script.toString(),
      style: style.toString(),
    });
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (GraphPanel.current === this) GraphPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Registers the restorer of a graph panel left open across a window reload. */
export function registerGraphSerializer(extensionUri: vscode.Uri, model: WorkspaceModel, callbacks: GraphCallbacks): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
      GraphPanel.revive(panel, extensionUri, model, callbacks);
    },
  });
}
