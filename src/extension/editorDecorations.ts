import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AssetDefinition } from '../core/model.ts';
import { sourceFiles } from '../core/state/versions.ts';
import type { PartitionStatus } from '../core/state/staleness.ts';
import { STATUS_COLORS } from './assetsTree.ts';
import { attentionRanges, describeAttention, describeCauses, describeCounts, partitionStripHtml, STRIP_LEGEND_HTML } from './labels.ts';
import type { WorkspaceModel } from './workspaceModel.ts';

const SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.assets.{yaml,yml}' }];

/**
 * Staleness in the editor: after each asset's name line its counts (coloured by worst status),
 * a gutter mark, a CodeLens row (`Backfill 16 partitions · Backfill downstream`), a hover with
 * the details, and in source files named by `source:` a CodeLens naming the assets they feed.
 */
export class EditorDecorations implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly types: Record<PartitionStatus, vscode.TextEditorDecorationType>;
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;
  /** Source file → assets whose `source:` globs match it. */
  private feeds = new Map<string, AssetDefinition[]>();

  constructor(
    private readonly model: WorkspaceModel,
    extensionUri: vscode.Uri,
  ) {
    const make = (status: PartitionStatus): vscode.TextEditorDecorationType =>
      vscode.window.createTextEditorDecorationType({
        after: { margin: '0 0 0 2em', color: new vscode.ThemeColor(STATUS_COLORS[status]), fontStyle: 'italic' },
        gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', `status-${status}.svg`),
        gutterIconSize: '70%',
        overviewRulerColor: new vscode.ThemeColor(STATUS_COLORS[status]),
        overviewRulerLane: vscode.OverviewRulerLane.Left,
      });
    this.types = { fresh: make('fresh'), stale: make('stale'), missing: make('missing'), failed: make('failed'), running: make('running') };
    this.disposables.push(
      ...Object.values(this.types),
      this.lensChanged,
      vscode.languages.registerCodeLensProvider(SELECTOR, this),
      vscode.languages.registerHoverProvider(SELECTOR, this),
      vscode.languages.registerCodeLensProvider(
        { scheme: 'file' },
        { provideCodeLenses: (doc) => this.sourceLenses(doc), onDidChangeCodeLenses: this.onDidChangeCodeLenses },
      ),
      model.onDidChange(() => void this.refresh()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorateAll()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('backfill')) void this.refresh();
      }),
    );
  }

  private setting(name: 'decorations' | 'codeLens'): boolean {
    return vscode.workspace.getConfiguration('backfill').get<boolean>(`${name}.enabled`) ?? true;
  }

  /** The definitions the source-file map was built from: statuses change often, definitions seldom. */
  private feedsOf: unknown;

  private async refresh(): Promise<void> {
    const ws = this.model.workspace;
    if (ws !== this.feedsOf) {
      this.feedsOf = ws;
      const feeds = new Map<string, AssetDefinition[]>();
      for (const asset of ws?.assets.values() ?? []) {
        for (const f of await sourceFiles(asset)) (feeds.get(f) ?? feeds.set(f, []).get(f)!).push(asset);
      }
      if (this.feedsOf !== ws) return; // a newer refresh took over while the globs were listed
      this.feeds = feeds;
    }
    this.decorateAll();
    this.lensChanged.fire();
  }

  private decorateAll(): void {
    for (const editor of vscode.window.visibleTextEditors) this.decorate(editor);
  }

  private assetsIn(file: string): AssetDefinition[] {
    return [...(this.model.workspace?.assets.values() ?? [])].filter((a) => a.location.file === file);
  }

  private decorate(editor: vscode.TextEditor): void {
    const file = editor.document.uri.fsPath;
    if (!/\.assets\.ya?ml$/.test(file)) return;
    const byStatus: Record<PartitionStatus, vscode.DecorationOptions[]> = { fresh: [], stale: [], missing: [], failed: [], running: [] };
    if (this.setting('decorations')) {
      for (const asset of this.assetsIn(file)) {
        const st = this.model.statuses.get(asset.name);
        if (!st) continue;
        const line = asset.location.line - 1;
        if (line >= editor.document.lineCount) continue;
        const end = editor.document.lineAt(line).range.end;
        byStatus[st.worst()].push({
          range: new vscode.Range(end, end),
          renderOptions: { after: { contentText: describeCounts(st.counts(), asset.partitions.kind === 'unpartitioned') } },
        });
      }
    }
    for (const status of Object.keys(byStatus) as PartitionStatus[]) editor.setDecorations(this.types[status], byStatus[status]);
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.setting('codeLens')) return [];
    const other = this.otherFolder(doc);
    if (other) {
      // A definitions file of a folder Backfill does not show (multi-root): say so, offer to switch.
      const title = `Backfill shows ${path.basename(this.model.root)}: show ${other.name} instead`;
      return [
        new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title, command: 'backfill.selectFolder', arguments: [other.uri.fsPath] }),
      ];
    }
    if (!vscode.workspace.isTrusted) return [];
    const out: vscode.CodeLens[] = [];
    for (const asset of this.assetsIn(doc.uri.fsPath)) {
      const st = this.model.statuses.get(asset.name);
      if (!st || !asset.run) continue;
      const c = st.counts();
      const need = c.stale + c.missing + c.failed;
      const range = new vscode.Range(asset.location.line - 1, 0, asset.location.line - 1, 0);
      if (need > 0) {
        // An unpartitioned asset has no partitions to count: say what it is.
        const title =
          asset.partitions.kind === 'unpartitioned' ? `Backfill (${st.worst()})` : `Backfill ${need} partition${need === 1 ? '' : 's'}`;
        out.push(new vscode.CodeLens(range, { title, command: 'backfill.backfillNeeded', arguments: [asset.name] }));
      }
      out.push(
        new vscode.CodeLens(range, { title: 'Backfill downstream', command: 'backfill.backfillDownstream', arguments: [asset.name] }),
      );
      out.push(new vscode.CodeLens(range, { title: 'Show in graph', command: 'backfill.showInGraph', arguments: [asset.name] }));
    }
    return out;
  }

  /** The workspace folder of a file outside the folder shown, if any. */
  private otherFolder(doc: vscode.TextDocument): vscode.WorkspaceFolder | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    return folder && folder.uri.fsPath !== this.model.root ? folder : undefined;
  }

  private sourceLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const assets = this.feeds.get(doc.uri.fsPath);
    if (!assets || !this.setting('codeLens')) return [];
    const parts = assets.map((a) => {
      const c = this.model.statuses.get(a.name)?.counts();
      return c && c.stale ? `${a.name} (${c.stale} stale)` : a.name;
    });
    const title = `Feeds ${parts.join(', ')} — editing it makes their partitions stale (code)`;
    return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title, command: 'backfill.openDefinition', arguments: [assets[0]!.name] })];
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const asset = this.assetsIn(doc.uri.fsPath).find((a) => a.location.line - 1 === pos.line);
    const st = asset && this.model.statuses.get(asset.name);
    if (!asset || !st) return undefined;
    const md = new vscode.MarkdownString();
    const c = st.counts();
    md.appendMarkdown(`**${asset.name}** — ${describeCounts(c, asset.partitions.kind === 'unpartitioned')}\n\n`);
    // Colored spans (VS Code's hover keeps a span's color style), and shapes for who cannot tell the colors apart.
    md.supportHtml = true;
    md.appendMarkdown(`<code>${partitionStripHtml(st.status)}</code><br>${STRIP_LEGEND_HTML}\n\n`);
    for (const r of attentionRanges(st).slice(0, 8)) {
      md.appendText(`• ${describeAttention(asset.partitions, r)}${r.status === 'stale' ? ` — ${describeCauses(r.causes)}` : ''}\n`);
    }
    const runs = this.model.store
      ? this.model.store.history({ asset: asset.name, limit: 5 })
      : ((await this.model.team?.history({ asset: asset.name, limit: 5 }).catch(() => [])) ?? []);
    if (runs.length) {
      md.appendMarkdown('\n\n**Last runs**\n\n');
      for (const a of runs)
        md.appendText(
          `${a.status.padEnd(8)} ${a.partition || '(all)'}  ${new Date(a.startedAt).toISOString().slice(0, 16).replace('T', ' ')}${a.durationMs !== null ? `  ${(a.durationMs / 1000).toFixed(1)}s` : ''}\n`,
        );
    }
    md.appendMarkdown(
      `\n\nCode version \`${this.model.codeVersions.get(asset.name) ?? '?'}\` · ${path.basename(doc.uri.fsPath)}:${asset.location.line}`,
    );
    return new vscode.Hover(md);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
