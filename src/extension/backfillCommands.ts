import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AssetDefinition } from '../core/model.ts';
import { PartitionSubset } from '../core/partitions/subset.ts';
import type { Selection } from '../core/plan/planner.ts';
import { requestCancel } from '../core/run/backfill.ts';
import type { PartitionStatus } from '../core/state/staleness.ts';
import { resolvePartitions } from '../core/select/resolve.ts';
import type { AssetsNode } from './assetsTree.ts';
import { describeCounts } from './labels.ts';
import type { BackfillSession } from './session.ts';

// The backfill entry points: tree context menus, the editor, and the command palette flow.

const ATTENTION: PartitionStatus[] = ['missing', 'failed', 'stale'];

/** The asset a command was invoked on: a tree node, an asset name, or the definition under the cursor. */
export function targetAsset(s: BackfillSession, target: unknown): AssetDefinition | undefined {
  const ws = s.model.workspace;
  if (!ws) return undefined;
  if (typeof target === 'string') return ws.assets.get(target);
  const node = target as AssetsNode | undefined;
  if (node && (node.kind === 'asset' || node.kind === 'range' || node.kind === 'partition')) return ws.assets.get(node.asset.name);
  return assetAtCursor(s);
}

/** The asset whose definition contains the cursor of the active `*.assets.yaml` editor. */
export function assetAtCursor(s: BackfillSession): AssetDefinition | undefined {
  const editor = vscode.window.activeTextEditor;
  const ws = s.model.workspace;
  if (!editor || !ws) return undefined;
  const file = editor.document.uri.fsPath;
  const line = editor.selection.active.line + 1;
  const inFile = [...ws.assets.values()].filter((a) => a.location.file === file).sort((a, b) => a.location.line - b.location.line);
  let found: AssetDefinition | undefined;
  for (const a of inFile) if (a.location.line <= line) found = a;
  return found;
}

function attention(s: BackfillSession, asset: AssetDefinition, statuses: PartitionStatus[] = ATTENTION): PartitionSubset {
  const st = s.model.statuses.get(asset.name);
  if (!st) return PartitionSubset.EMPTY;
  return statuses.reduce((acc, status) => acc.union(st.subset(status)), PartitionSubset.EMPTY);
}

/** This asset's partitions that need it (missing, failed, stale) and everything downstream of them. */
export async function backfillDownstream(s: BackfillSession, target: unknown): Promise<void> {
  const asset = targetAsset(s, target);
  if (!asset)
    return void vscode.window.showInformationMessage(
      'Backfill: put the cursor in an asset definition, or pick an asset in the Assets view.',
    );
  let partitions = attention(s, asset);
  if (partitions.isEmpty) {
    const choice = await vscode.window.showInformationMessage(
      `Every partition of ${asset.name} is fresh. Rebuild all of them and everything downstream?`,
      { modal: true },
      'Rebuild All',
    );
    if (!choice) return;
    partitions = PartitionSubset.all(asset.partitions.size);
  }
  await s.tasks.confirmAndRun({ roots: [{ asset: asset.name, partitions }], downstream: true }, `${asset.name} + downstream`);
}

/** Only this asset's partitions with the given statuses (default: all that need a backfill). */
export async function backfillStatuses(s: BackfillSession, target: unknown, statuses: PartitionStatus[] = ATTENTION): Promise<void> {
  const asset = targetAsset(s, target);
  if (!asset) return;
  await s.tasks.confirmAndRun(
    { roots: [{ asset: asset.name, partitions: attention(s, asset, statuses) }], downstream: false, only: new Set(statuses) },
    `${statuses.join('/')} of ${asset.name}`,
  );
}

/** The partitions of a range node of the Assets view. */
export async function backfillRange(s: BackfillSession, node: AssetsNode | undefined): Promise<void> {
  if (!node || node.kind !== 'range') return;
  const def = node.asset.partitions;
  const label = `${node.asset.name} ${def.keyAt(node.range.start)}${node.range.end - node.range.start > 1 ? `…${def.keyAt(node.range.end - 1)}` : ''}`;
  await s.tasks.confirmAndRun(
    { roots: [{ asset: node.asset.name, partitions: PartitionSubset.range(node.range.start, node.range.end) }], downstream: false },
    label,
  );
}

/** The command palette flow: asset → partitions → downstream? → preview → run. */
export async function runBackfillFlow(s: BackfillSession, target: unknown): Promise<void> {
  const ws = s.model.workspace;
  if (!ws) return;
  let asset = typeof target === 'string' || (target && typeof target === 'object') ? targetAsset(s, target) : undefined;
  if (!asset) {
    const picked = await vscode.window.showQuickPick(
      ws.graph.order
        .filter((a) => a.run)
        .map((a) => {
          const c = s.model.statuses.get(a.name)?.counts();
          return {
            label: a.name,
            description: c ? describeCounts(c, a.partitions.kind === 'unpartitioned') : '',
            detail: a.description,
            asset: a,
          };
        }),
      { title: 'Backfill: which asset?', placeHolder: 'Pick the asset to backfill', matchOnDescription: true },
    );
    if (!picked) return;
    asset = picked.asset;
  }
  const chosen = asset;
  const def = chosen.partitions;
  let partitions: PartitionSubset;
  let only: Set<PartitionStatus> | undefined;
  if (def.kind === 'unpartitioned') {
    partitions = PartitionSubset.of([0]);
  } else {
    const need = attention(s, chosen);
    const kind = await vscode.window.showQuickPick(
      [
        { label: 'Missing, failed and stale', description: `${need.size} partitions`, value: 'attention' },
        { label: 'All partitions', description: `${def.size}`, value: 'all' },
        { label: 'A range…', description: `e.g. ${def.keyAt(0)}..${def.keyAt(Math.min(def.size - 1, 30))}`, value: 'range' },
      ],
      { title: `Backfill ${chosen.name}: which partitions?` },
    );
    if (!kind) return;
    if (kind.value === 'attention') {
      partitions = need;
      only = new Set(ATTENTION);
    } else if (kind.value === 'all') {
      partitions = PartitionSubset.all(def.size);
    } else {
      const text = await vscode.window.showInputBox({
        title: `Backfill ${chosen.name}: range`,
        prompt: `First and last partition, inclusive: FIRST..LAST (keys of ${chosen.name})`,
        value: `${def.keyAt(0)}..${def.keyAt(def.size - 1)}`,
        validateInput: (v) => {
          try {
            parseRange(chosen, v);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      });
      if (text === undefined) return;
      partitions = parseRange(chosen, text);
    }
  }
  const downstream = await vscode.window.showQuickPick(
    [
      { label: 'Include downstream', description: 'every partition that depends on these', value: true },
      { label: 'Only this asset', value: false },
    ],
    { title: `Backfill ${chosen.name}: downstream?` },
  );
  if (!downstream) return;
  const selection: Selection = { roots: [{ asset: chosen.name, partitions }], downstream: downstream.value, ...(only ? { only } : {}) };
  // The label names what was chosen (as the graph's and the CodeLens' do), so that backfills of one asset are told apart in the Backfills view.
  const what =
    only !== undefined
      ? `missing/failed/stale of ${chosen.name}`
      : partitions.size === def.size || def.kind === 'unpartitioned'
        ? chosen.name
        : partitions.size === 1
          ? `${chosen.name} ${def.keyAt(partitions.first)}`
          : `${chosen.name} ${def.keyAt(partitions.first)}…${def.keyAt(partitions.last)}`;
  await s.tasks.confirmAndRun(selection, `${what}${downstream.value ? ' + downstream' : ''}`);
}

/** `2024-01-01..2024-02-01` (inclusive), one key, or FIRST...LAST; nearest keys in the error. */
function parseRange(asset: AssetDefinition, text: string): PartitionSubset {
  const t = text.trim().replace(/\s*\.\.\.?\s*/, '...');
  return resolvePartitions(asset, [t], new Date());
}

/** A quick pick of stored backfills (newest first), filtered. */
async function pickBackfill(s: BackfillSession, title: string, keep: (status: string) => boolean): Promise<string | undefined> {
  const state = s.model.state;
  if (!state) return undefined;
  await state.recoverInterrupted();
  const items = (await state.list())
    .filter((b) => keep(b.status))
    .map((b) => {
      const total = Object.values(b.counts).reduce((a, n) => a + n, 0);
      return {
        label: b.id,
        description: `${b.status} · ${b.counts.succeeded}/${total}`,
        detail: `${b.description} — ${new Date(b.createdAt).toLocaleString()}`,
      };
    });
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Backfill: no backfill to ${title.toLowerCase()}.`);
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: `Backfill: ${title}` }))?.label;
}

export async function resumeBackfill(s: BackfillSession, id?: unknown): Promise<void> {
  const chosen = typeof id === 'string' ? id : await pickBackfill(s, 'Resume', (st) => st !== 'succeeded' && st !== 'running');
  if (chosen) await s.tasks.resume(chosen);
}

export async function retryFailed(s: BackfillSession, id?: unknown): Promise<void> {
  const chosen = typeof id === 'string' ? id : await pickBackfill(s, 'Retry Failed', (st) => st === 'failed');
  if (chosen) await s.tasks.resume(chosen);
}

export async function cancelBackfill(s: BackfillSession, id?: unknown): Promise<void> {
  const chosen =
    typeof id === 'string' ? id : await pickBackfill(s, 'Cancel', (st) => st === 'running' || st === 'paused' || st === 'interrupted');
  if (!chosen || !s.model.state) return;
  const { jobs } = await requestCancel(s.model.state, chosen);
  void vscode.window.showInformationMessage(
    `Backfill: cancel requested for ${chosen}.${jobs.length ? ` Its Slurm jobs were canceled (${jobs.join(' ')}).` : ''}`,
  );
}

/** Opens the logs of a backfill's tasks (the first failed one, else its log folder). */
export async function showBackfillOutput(s: BackfillSession, id?: string): Promise<void> {
  const state = s.model.state;
  if (!state || !id) return;
  const tasks = await state.tasks(id);
  const pick = tasks.find((t) => t.status === 'failed') ?? tasks.find((t) => t.status !== 'pending');
  if (!pick) return void vscode.window.showInformationMessage('Backfill: this backfill has not run any task yet.');
  const log = path.join(state.filesDir, 'logs', id, `${pick.id}.log`);
  await vscode.window.showTextDocument(vscode.Uri.file(log));
}

export async function deleteBackfill(s: BackfillSession, id?: string): Promise<void> {
  const state = s.model.state;
  if (!state || !id) return;
  const logs = path.join(state.filesDir, 'logs', id);
  const ok = await vscode.window.showWarningMessage(
    `Delete backfill ${id} from the history?`,
    { modal: true, detail: `Materialization records stay, and so do its logs (${logs}).` },
    'Delete',
  );
  if (!ok) return;
  await state.delete(id);
  s.model.refreshStatusesSoon();
}
