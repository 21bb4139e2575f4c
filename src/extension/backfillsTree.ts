import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackfillRecord, StoredTask } from '../core/state/backfills.ts';
import { formatCost } from '../core/cost/units.ts';
import { ModelTreeProvider } from './modelTree.ts';

export type BackfillsNode =
  | { kind: 'backfill'; record: BackfillRecord; spent: number | null }
  | { kind: 'asset'; backfillId: string; asset: string; tasks: StoredTask[] }
  | { kind: 'task'; backfillId: string; task: StoredTask };

const ICONS: Record<string, [string, string]> = {
  running: ['sync~spin', 'charts.blue'],
  paused: ['debug-pause', 'editorWarning.foreground'],
  interrupted: ['debug-disconnect', 'editorWarning.foreground'],
  succeeded: ['pass-filled', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  canceled: ['circle-slash', 'disabledForeground'],
};

/** The Backfills view: backfills newest first with progress; per asset, the failed partitions. */
export class BackfillsTreeProvider extends ModelTreeProvider<BackfillsNode> {
  async getChildren(node?: BackfillsNode): Promise<BackfillsNode[]> {
    const state = this.model.state;
    if (!state) return [];
    if (!node) {
      await state.recoverInterrupted();
      const out: BackfillsNode[] = [];
      for (const record of await state.list(50))
        out.push({ kind: 'backfill', record, spent: (await state.hasCost(record.id)) ? (await state.spentCost(record.id)).spent : null });
      return out;
    }
    if (node.kind === 'backfill') {
      const byAsset = new Map<string, StoredTask[]>();
      for (const t of await state.tasks(node.record.id)) (byAsset.get(t.asset) ?? byAsset.set(t.asset, []).get(t.asset)!).push(t);
      return [...byAsset].map(([asset, tasks]) => ({ kind: 'asset', backfillId: node.record.id, asset, tasks }));
    }
    if (node.kind === 'asset') {
      return node.tasks.filter((t) => t.status === 'failed').map((task) => ({ kind: 'task', backfillId: node.backfillId, task }));
    }
    return [];
  }

  getTreeItem(node: BackfillsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'backfill': {
        const r = node.record;
        const total = Object.values(r.counts).reduce((a, n) => a + n, 0);
        // The status and the progress first: a narrow side bar cuts the description, not them.
        const item = new vscode.TreeItem(`${r.status} · ${r.counts.succeeded}/${total}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `backfill:${r.id}`;
        const spent = node.spent === null ? null : formatCost(node.spent, this.model.workspace?.costUnit);
        const max = typeof r.options['maxCost'] === 'number' ? ` of ${formatCost(r.options['maxCost'], undefined)}` : '';
        item.description = `${r.description || r.id}${spent ? ` · ${spent}${max}` : ''}`;
        const [icon, color] = ICONS[r.status] ?? ['circle-outline', 'foreground'];
        item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
        item.tooltip = `${r.description || r.id}\n${r.id}${r.owner ? ` (by ${r.owner})` : ''}\n${r.status}: ${r.counts.succeeded} succeeded, ${r.counts.failed} failed, ${r.counts.skipped} skipped, ${r.counts.pending} pending\ncreated ${new Date(r.createdAt).toLocaleString()}`;
        item.contextValue = `backfill.${r.status}`;
        return item;
      }
      case 'asset': {
        const failed = node.tasks.filter((t) => t.status === 'failed').length;
        const done = node.tasks.filter((t) => t.status === 'succeeded').length;
        const item = new vscode.TreeItem(
          node.asset,
          failed ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `backfill:${node.backfillId}:${node.asset}`;
        // Its tasks running as Slurm jobs: the array job ids (their elements in the tooltip).
        const elements = node.tasks.filter((t) => t.status === 'running' && t.job !== null).map((t) => t.job!);
        const arrays = [...new Set(elements.map((j) => j.split('_')[0]))];
        item.description = `${failed ? `${failed} failed · ` : ''}${done}/${node.tasks.length}${arrays.length ? ` · Slurm ${arrays.join(', ')}` : ''}`;
        item.tooltip = `${node.asset}: ${done} of ${node.tasks.length} tasks succeeded${failed ? `, ${failed} failed` : ''}${elements.length ? `\nSlurm jobs running: ${elements.join(' ')}` : ''}`;
        return item;
      }
      case 'task': {
        const t = node.task;
        const item = new vscode.TreeItem(t.partitions.join(' ') || t.asset, vscode.TreeItemCollapsibleState.None);
        item.id = `backfill:${node.backfillId}:${t.id}`;
        item.description = t.message ?? 'failed';
        item.tooltip = `${t.asset} ${t.partitions.join(' ')}\n${t.message ?? 'failed'}\nClick to show its output.`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
        item.contextValue = 'backfillTask';
        const log = path.join(
          this.model.state?.filesDir ?? path.join(this.model.root, '.backfill'),
          'logs',
          node.backfillId,
          `${t.id}.log`,
        );
        item.command = { command: 'vscode.open', title: 'Show Output', arguments: [vscode.Uri.file(log)] };
        return item;
      }
    }
  }
}
