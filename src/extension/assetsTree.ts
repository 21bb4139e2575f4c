import * as vscode from 'vscode';
import type { AssetDefinition } from '../core/model.ts';
import { F } from '../core/state/snapshot.ts';
import type { AssetStatus, PartitionStatus } from '../core/state/staleness.ts';
import { attentionRanges, describeAttention, describeCauses, describeCounts, describePartitions, type PartitionRange } from './labels.ts';
import { ModelTreeProvider } from './modelTree.ts';

/** Theme colours of statuses (also used by decorations): stale yellow, missing gray, failed red, fresh green, running blue. */
export const STATUS_COLORS: Record<PartitionStatus, string> = {
  fresh: 'testing.iconPassed',
  stale: 'editorWarning.foreground',
  missing: 'disabledForeground',
  failed: 'testing.iconFailed',
  running: 'charts.blue',
};

const STATUS_ICONS: Record<PartitionStatus, string> = {
  fresh: 'pass-filled',
  stale: 'warning',
  missing: 'circle-large-outline',
  failed: 'error',
  running: 'sync~spin',
};

const MAX_RANGES = 200;
const MAX_PARTITIONS = 500;

export type AssetsNode =
  | { kind: 'group'; name: string }
  | { kind: 'asset'; asset: AssetDefinition }
  | { kind: 'range'; asset: AssetDefinition; range: PartitionRange }
  | { kind: 'partition'; asset: AssetDefinition; index: number }
  | { kind: 'more'; text: string };

/** The Assets view: groups → assets (with status roll-ups) → partition ranges needing attention → partitions. */
export class AssetsTreeProvider extends ModelTreeProvider<AssetsNode> {
  getChildren(node?: AssetsNode): AssetsNode[] {
    const ws = this.model.workspace;
    if (!ws) return [];
    if (!node) {
      const groups = [...new Set(ws.graph.order.map((a) => a.group))];
      return groups.map((name) => ({ kind: 'group', name }));
    }
    switch (node.kind) {
      case 'group':
        return ws.graph.order.filter((a) => a.group === node.name).map((asset) => ({ kind: 'asset', asset }));
      case 'asset': {
        const st = this.model.statuses.get(node.asset.name);
        if (!st || node.asset.partitions.kind === 'unpartitioned') return [];
        const ranges = attentionRanges(st);
        const shown: AssetsNode[] = ranges.slice(0, MAX_RANGES).map((range) => ({ kind: 'range', asset: node.asset, range }));
        if (ranges.length > MAX_RANGES) shown.push({ kind: 'more', text: `… ${ranges.length - MAX_RANGES} more ranges` });
        return shown;
      }
      case 'range': {
        const { start, end } = node.range;
        const out: AssetsNode[] = [];
        for (let i = start; i < Math.min(end, start + MAX_PARTITIONS); i++) out.push({ kind: 'partition', asset: node.asset, index: i });
        if (end - start > MAX_PARTITIONS) out.push({ kind: 'more', text: `… ${end - start - MAX_PARTITIONS} more partitions` });
        return out;
      }
      default:
        return [];
    }
  }

  getTreeItem(node: AssetsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.name}`;
        item.iconPath = new vscode.ThemeIcon('folder');
        item.contextValue = 'group';
        return item;
      }
      case 'asset':
        return this.assetItem(node.asset);
      case 'range': {
        const def = node.asset.partitions;
        const r = node.range;
        const single = r.end - r.start === 1;
        const item = new vscode.TreeItem(
          describeAttention(def, r),
          single ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `range:${node.asset.name}:${r.status}:${r.causes.join(',')}:${r.start}`;
        item.iconPath = new vscode.ThemeIcon(STATUS_ICONS[r.status], new vscode.ThemeColor(STATUS_COLORS[r.status]));
        item.tooltip = r.status === 'stale' ? `Stale: ${describeCauses(r.causes)}` : `${r.end - r.start} ${r.status}`;
        item.contextValue = `range.${r.status}`;
        return item;
      }
      case 'partition':
        return this.partitionItem(node.asset, node.index);
      case 'more':
        return new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    }
  }

  private assetItem(asset: AssetDefinition): vscode.TreeItem {
    const st = this.model.statuses.get(asset.name);
    const unpartitioned = asset.partitions.kind === 'unpartitioned';
    const hasAttention = st && !unpartitioned && st.counts().fresh < asset.partitions.size;
    const item = new vscode.TreeItem(
      asset.name,
      hasAttention ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `asset:${asset.name}`;
    item.contextValue = 'asset';
    item.command = { command: 'backfill.openDefinition', title: 'Open Definition', arguments: [asset.name] };
    if (!st) {
      item.description = this.model.storeError ? 'state unavailable' : describePartitions(asset);
      item.iconPath = new vscode.ThemeIcon('circle-large-outline');
      item.tooltip = this.model.storeError ?? describePartitions(asset);
      return item;
    }
    const worst = st.worst();
    // A team database that cannot be reached now: the statuses last read, marked as such.
    item.description = describeCounts(st.counts(), unpartitioned) + (this.model.storeError ? ' · state unavailable' : '');
    item.iconPath = new vscode.ThemeIcon(
      worst === 'fresh' ? 'pass-filled' : STATUS_ICONS[worst],
      new vscode.ThemeColor(STATUS_COLORS[worst]),
    );
    // The tooltip is built when hovered (resolveTreeItem), not at every refresh.
    item.accessibilityInformation = { label: `${asset.name}, ${item.description}` };
    return item;
  }

  resolveTreeItem(item: vscode.TreeItem, node: AssetsNode): vscode.TreeItem {
    if (node.kind === 'asset' && item.tooltip === undefined) {
      const st = this.model.statuses.get(node.asset.name);
      if (st) item.tooltip = this.assetTooltip(node.asset, st);
    }
    return item;
  }

  private assetTooltip(asset: AssetDefinition, st: AssetStatus): vscode.MarkdownString {
    const c = st.counts();
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${asset.name}** — ${describePartitions(asset)}\n\n`);
    if (asset.description) md.appendText(`${asset.description}\n\n`);
    md.appendMarkdown(
      `| fresh | stale | missing | failed | running |\n|---:|---:|---:|---:|---:|\n| ${c.fresh} | ${c.stale} | ${c.missing} | ${c.failed} | ${c.running} |\n\n`,
    );
    let last = -Infinity;
    for (let r = 0; r < st.snapshot.size; r++) last = Math.max(last, st.snapshot.get(r, F.successEndedAt) || -Infinity);
    md.appendMarkdown(
      `Last materialization: ${Number.isFinite(last) ? new Date(last).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : 'never'}  \n`,
    );
    md.appendMarkdown(`Code version: \`${this.model.codeVersions.get(asset.name) ?? '?'}\``);
    return md;
  }

  private partitionItem(asset: AssetDefinition, index: number): vscode.TreeItem {
    const st = this.model.statuses.get(asset.name)!;
    const status = st.statusAt(index);
    const item = new vscode.TreeItem(asset.partitions.keyAt(index), vscode.TreeItemCollapsibleState.None);
    item.id = `partition:${asset.name}:${index}`;
    item.description = status;
    item.iconPath = new vscode.ThemeIcon(STATUS_ICONS[status], new vscode.ThemeColor(STATUS_COLORS[status]));
    const causes = st.causesAt(index);
    item.tooltip = causes.length ? `${status}: ${describeCauses(causes)}` : status === 'missing' ? 'never materialized' : status;
    item.contextValue = `partition.${status}`;
    return item;
  }
}
