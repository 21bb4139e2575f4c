import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import { UserError } from '../core/diagnostics.ts';
import { planWithHistory, type BackfillPlan, type Selection } from '../core/plan/planner.ts';
import { describeResources, describeTime } from '../core/plan/describe.ts';
import { newBackfillId, prepareResume, saveBackfill, taskLabel } from '../core/run/backfill.ts';
import { formatCost, parseMemory } from '../core/cost/units.ts';
import { describePlanCost } from '../core/cost/describe.ts';
import { formatSeconds } from '../core/run/duration.ts';
import { checkSlurm, describeRunning, describeSubmission, SlurmQueue, slurmAssets } from '../core/run/slurm.ts';
import type { ExecutorName } from '../core/model.ts';
import { BackfillRunner, machineCapacity, type BackfillReport, type Capacity, type RunnerEvent } from '../core/run/runner.ts';
import { StatusEngine } from '../core/state/staleness.ts';
import { ObservedOutputs } from '../core/state/observed.ts';
import { buildSelection, ONLY_STATUSES } from '../core/select/selection.ts';
import type { WorkspaceModel } from './workspaceModel.ts';

/** What a `backfill` task in tasks.json (or a command) asks for. Mirrors contributes.taskDefinitions. */
export interface BackfillTaskDefinition extends vscode.TaskDefinition {
  type: 'backfill';
  /** Asset names, `group:NAME`, or `NAME+` (with everything downstream). */
  assets?: string[];
  from?: string;
  to?: string;
  partitions?: string[];
  only?: Array<(typeof ONLY_STATUSES)[number]>;
  downstream?: boolean;
  /** Also the missing or failed upstream partitions that the planned tasks read. */
  withMissingUpstream?: boolean;
  concurrency?: number;
  sample?: number;
  /** Resume this backfill instead of planning a new one. */
  resume?: string;
  /** The most the backfill may cost (the workspace's cost unit); default: the backfill.maxCost setting, else the workspace's budget:. */
  maxCost?: number;
  /** Where every task runs (default: the backfill.executor setting, else each asset's `executor:`). */
  executor?: ExecutorName;
  /** Internal: a selection built by a command (tree node, editor, graph). */
  label?: string;
}

/** How long a closed terminal waits for the window's closing before it cancels its backfill's Slurm jobs. */
const CLOSE_GRACE_MS = 1500;
const ESC = '\x1b[';
const colors = { dim: '2', red: '31', green: '32', yellow: '33', blue: '34', cyan: '36', bold: '1' } as const;
const paint = (c: keyof typeof colors, s: string): string => `${ESC}${colors[c]}m${s}${ESC}0m`;

/** Runs backfills as VS Code tasks: planning, the confirmation, the terminal, progress and the outcome. */
export class BackfillTasks implements vscode.TaskProvider, vscode.Disposable {
  static readonly type = 'backfill';
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private readonly finished = new vscode.EventEmitter<BackfillReport>();
  /** Fires after every backfill run from this window. */
  readonly onDidFinish = this.finished.event;
  /** Selections planned by commands, by task label (CustomExecution callbacks only get the definition). */
  private readonly pending = new Map<string, Selection>();
  /** Backfills running in this window. */
  private readonly active = new Set<BackfillRunner>();

  constructor(
    private readonly model: WorkspaceModel,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(this.finished, vscode.tasks.registerTaskProvider(BackfillTasks.type, this));
  }

  /** How many backfills this window is running. */
  get running(): number {
    return this.active.size;
  }

  /** The window is closing: stop the commands now and leave the backfills resumable (Slurm jobs keep running). */
  dispose(): void {
    this.disposed = true;
    for (const runner of this.active) runner.interrupt();
    for (const d of this.disposables) d.dispose();
  }

  /**
   * Backfills of this workspace that a closed window or a crash left unfinished: those with Slurm
   * jobs still queued or running are re-attached to at once (resumed: the jobs are followed, not
   * run again); for the others, offers to resume.
   */
  async offerResume(): Promise<void> {
    const state = this.model.state;
    if (!state || !vscode.workspace.isTrusted) return;
    await state.recoverInterrupted();
    let left = (await state.list(20)).filter((b) => b.status === 'interrupted' && b.workspace === this.model.root);
    const jobsOf = new Map<string, number>();
    for (const b of left) jobsOf.set(b.id, (await state.runningJobs(b.id)).length);
    const onSlurm = left.filter((b) => jobsOf.get(b.id)! > 0);
    for (const b of onSlurm) {
      const jobs = jobsOf.get(b.id)!;
      this.log.info(`backfill ${b.id} left ${jobs} Slurm job(s) queued or running: re-attaching`);
      await this.resume(b.id);
      void vscode.window.showInformationMessage(
        `Backfill "${b.description}" had ${jobs === 1 ? '1 Slurm job' : `${jobs} Slurm jobs`} still queued or running: re-attached to follow ${jobs === 1 ? 'it' : 'them'} (cancel it in the Backfills view).`,
      );
    }
    left = left.filter((b) => !onSlurm.includes(b));
    const latest = left[0];
    if (!latest) return;
    const total = Object.values(latest.counts).reduce((a, n) => a + n, 0);
    const more = left.length > 1 ? ` (and ${left.length - 1} more)` : '';
    const choice = await vscode.window.showInformationMessage(
      `Backfill "${latest.description}" was interrupted at ${latest.counts.succeeded}/${total} tasks${more}. Resume it?`,
      'Resume',
      'Later',
    );
    if (choice === 'Resume') await this.resume(latest.id);
  }

  /** "stale partitions of X" for every asset that needs a backfill (nothing in an untrusted workspace). */
  provideTasks(): vscode.Task[] {
    if (!vscode.workspace.isTrusted || !this.model.workspace) return [];
    const out: vscode.Task[] = [];
    for (const asset of this.model.workspace.graph.order) {
      const c = this.model.statuses.get(asset.name)?.counts();
      if (!c || c.stale + c.missing + c.failed === 0 || !asset.run) continue;
      out.push(
        this.task({ type: 'backfill', assets: [asset.name], only: ['stale', 'missing', 'failed'] }, `stale partitions of ${asset.name}`),
      );
    }
    return out;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as BackfillTaskDefinition;
    const scope = task.scope;
    if (typeof scope === 'object' && scope.uri.fsPath !== this.model.root) {
      // A tasks.json of another folder of a multi-root workspace: its assets are not the ones loaded.
      const shown = path.basename(this.model.root);
      const explain = (): vscode.Pseudoterminal => {
        const write = new vscode.EventEmitter<string>();
        const close = new vscode.EventEmitter<number>();
        return {
          onDidWrite: write.event,
          onDidClose: close.event,
          open: () => {
            write.fire(
              paint(
                'red',
                `This task belongs to the folder ${scope.name}, but Backfill shows ${shown}: run "Backfill: Select Workspace Folder…", pick ${scope.name}, then run the task again.`,
              ) + '\r\n',
            );
            close.fire(1);
          },
          close: () => {},
        };
      };
      return new vscode.Task(def, scope, task.name, 'backfill', new vscode.CustomExecution(async () => explain()));
    }
    return this.task(def, task.name);
  }

  /** A task for a definition; the name is what the terminal tab and the task list show. */
  task(def: BackfillTaskDefinition, name = describe(def)): vscode.Task {
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === this.model.root) ?? vscode.TaskScope.Workspace;
    // VS Code keeps only the properties declared in contributes.taskDefinitions in the definition
    // it hands back (`label` is internal, not declared): take `label` from this closure.
    const execution = new vscode.CustomExecution(async (resolved) => this.terminal({ ...def, ...(resolved as BackfillTaskDefinition) }));
    const task = new vscode.Task(def, folder, name, 'backfill', execution);
    // No "Terminal will be reused by tasks" line under the summary: the summary stays last.
    task.presentationOptions = {
      reveal: vscode.TaskRevealKind.Always,
      panel: vscode.TaskPanelKind.Dedicated,
      clear: true,
      showReuseMessage: false,
    };
    return task;
  }

  /** Plans a selection against the current model (statuses included, for `only`). */
  async plan(selection: Selection, concurrency: number): Promise<BackfillPlan> {
    const ws = this.model.workspace;
    const state = this.model.state;
    if (!ws || !state) throw new UserError(this.model.storeError ?? 'the workspace is not loaded yet');
    const statuses = new StatusEngine({
      graph: ws.graph,
      store: await state.snapshots([...ws.assets.keys()]),
      codeVersions: this.model.codeVersions,
      observed: new ObservedOutputs(),
    });
    statuses.computeAll();
    return planWithHistory(ws, state, selection, { runId: newBackfillId(), concurrency, capacity: this.capacity(), statuses });
  }

  /**
   * Shows the plan (partitions per asset, what "downstream" added, the estimate, warnings) and
   * runs it as a task when confirmed. Large plans offer to start with a sample.
   */
  async confirmAndRun(selection: Selection, label: string, maxCost?: number, executor?: ExecutorName): Promise<void> {
    if (!vscode.workspace.isTrusted) throw new UserError('Backfill runs commands from this workspace only when it is trusted');
    const concurrency = this.concurrency();
    const plan = await this.plan(selection, concurrency);
    const ws = this.model.workspace!;
    const lines = plan.assets.map((a) => {
      const def = ws.assets.get(a.asset)!.partitions;
      const extent =
        def.kind === 'unpartitioned'
          ? ''
          : a.partitions.size === 1
            ? ` ${def.keyAt(a.partitions.first)}`
            : ` ${def.keyAt(a.partitions.first)}…${def.keyAt(a.partitions.last)}`;
      return `• ${a.asset}: ${def.kind === 'unpartitioned' ? 'unpartitioned' : `${a.partitions.size} partition${a.partitions.size === 1 ? '' : 's'}`}${extent}${a.reason === 'selected' ? '' : ` (${a.reason})`}`;
    });
    const s = plan.summary;
    const estimate = `time ${describeTime(s.time, concurrency)}`;
    const where = executor ?? this.executor();
    const onSlurm = slurmAssets(
      ws.assets,
      plan.assets.map((a) => a.asset),
      where,
    );
    // Where it runs can be switched for this backfill: back here when some of it would go to
    // Slurm, to Slurm when an asset of the plan has Slurm settings but would run here.
    const slurmReady = plan.assets.some((a) => {
      const def = ws.assets.get(a.asset);
      return def?.slurm !== undefined || def?.executor === 'slurm';
    });
    const SWITCH = onSlurm.length > 0 ? 'Run Here Instead' : slurmReady ? 'Run on Slurm' : undefined;
    // Cost: said once costs are in use (a rate declared, a cost recorded, a unit or a budget).
    const cost = s.cost;
    const budget = maxCost ?? this.maxCost();
    const costsInUse = cost.assets.some((e) => e.source !== 'unknown') || ws.costUnit !== undefined || budget !== undefined;
    const over = budget !== undefined && cost.expected > budget + 1e-9;
    const costLines = costsInUse
      ? [
          `Cost: ${describePlanCost(cost)}${budget !== undefined ? ` — budget ${formatCost(budget, cost.unit ?? undefined)}` : ''}`,
          ...(over ? [`⚠ The estimate is more than the budget: start small, run until the budget is spent, or raise it.`] : []),
        ]
      : [];
    const detail = [
      ...lines,
      '',
      `${s.tasks} tasks, ${s.partitions} partitions — ${estimate}`,
      ...costLines,
      ...(s.resources ? [`Resources: ${describeResources(s.resources)}`] : []),
      ...(onSlurm.length > 0
        ? [
            `On Slurm: ${onSlurm.length === plan.assets.length ? 'every task' : onSlurm.map((a) => a.name).join(', ')} (job arrays; they keep running if this window closes)`,
          ]
        : []),
      ...plan.warnings.map((w) => `⚠ ${w}`),
    ].join('\n');
    const large = s.partitions >= 50;
    const INCLUDE = 'Include Missing Upstream';
    const BUDGET = budget === undefined ? 'Set Budget…' : 'Change Budget…';
    const SMALL = 'Start Small (sample 3)';
    // Over budget: a sample, or a run that stops starting tasks once the budget would be exceeded (paused, to resume with more).
    const WITHIN = 'Run Within Budget';
    const choices = [
      ...(over ? [SMALL, WITHIN] : large ? ['Run All', SMALL] : ['Run']),
      ...(costsInUse ? [BUDGET] : []),
      ...(plan.missingUpstream.length > 0 && !selection.withMissingUpstream ? [INCLUDE] : []),
      ...(SWITCH ? [SWITCH] : []),
    ];
    const title = `Backfill ${label}: ${s.partitions} partitions of ${s.assets} asset${s.assets === 1 ? '' : 's'}${over ? ' — over budget' : ''}`;
    // A plan with warnings asks with the warning icon, not the info one.
    const ask = plan.warnings.length > 0 || over ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const choice = await ask(title, { modal: true, detail }, ...choices);
    if (!choice) return;
    if (choice === INCLUDE) return this.confirmAndRun({ ...selection, withMissingUpstream: true }, label, maxCost, executor);
    if (choice === BUDGET) {
      const asked = await askBudget(budget, cost.unit ?? undefined, cost.expected);
      return this.confirmAndRun(selection, label, asked ?? maxCost, executor);
    }
    if (choice === SWITCH) return this.confirmAndRun(selection, label, maxCost, onSlurm.length > 0 ? 'local' : 'slurm');
    this.pending.set(label, selection);
    const sample = choice === SMALL ? 3 : undefined;
    await vscode.tasks.executeTask(
      this.task(
        {
          type: 'backfill',
          label,
          ...(sample ? { sample } : {}),
          ...(budget !== undefined ? { maxCost: budget } : {}),
          ...(executor !== undefined ? { executor } : {}),
        },
        `Backfill ${label}`,
      ),
    );
  }

  /** The budget of a backfill started here: the backfill.maxCost setting, else the workspace's budget:. */
  maxCost(): number | undefined {
    const setting = vscode.workspace.getConfiguration('backfill').get<number>('maxCost') ?? 0;
    return setting > 0 ? setting : this.model.workspace?.budget;
  }

  /** Resumes a stored backfill as a task (with a new budget, when given). */
  async resume(id: string, maxCost?: number): Promise<void> {
    if (!vscode.workspace.isTrusted) throw new UserError('Backfill runs commands from this workspace only when it is trusted');
    await vscode.tasks.executeTask(
      this.task({ type: 'backfill', resume: id, ...(maxCost !== undefined ? { maxCost } : {}) }, `Backfill resume ${id}`),
    );
  }

  /**
   * What the running tasks' declared resources may add up to: the backfill.maxCpus and
   * backfill.maxMemory settings, else this machine's cores and memory.
   */
  capacity(): Capacity {
    const config = vscode.workspace.getConfiguration('backfill');
    const capacity = machineCapacity();
    const cpus = config.get<number>('maxCpus') ?? 0;
    if (cpus > 0) capacity.cpus = cpus;
    const memory = (config.get<string>('maxMemory') ?? '').trim();
    if (memory) {
      const bytes = parseMemory(memory);
      if (bytes === null)
        throw new UserError(`the backfill.maxMemory setting "${memory}" is not a size: use one such as 12GiB or 8000MB, or leave it empty`);
      capacity.memory = bytes;
    }
    return capacity;
  }

  /** The backfill.executor setting: where every task runs, or undefined for each asset's `executor:`. */
  executor(): ExecutorName | undefined {
    const setting = vscode.workspace.getConfiguration('backfill').get<string>('executor') ?? '';
    return setting === 'local' || setting === 'slurm' ? setting : undefined;
  }

  concurrency(): number {
    const setting = vscode.workspace.getConfiguration('backfill').get<number>('concurrency') ?? 0;
    return setting > 0 ? setting : availableParallelism();
  }

  /** The pseudoterminal that plans (or resumes), runs, and streams the backfill. */
  private terminal(def: BackfillTaskDefinition): vscode.Pseudoterminal {
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<number>();
    const abort = new AbortController();
    let running: BackfillRunner | undefined;
    // Lines go to the terminal in batches (one message per FLUSH_MS, not one per line): a backfill
    // whose jobs print thousands of lines would otherwise spend its time in the editor's rendering.
    let buffered: string[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      if (buffered.length === 0) return;
      const text = buffered.join('');
      buffered = [];
      write.fire(text);
    };
    const line = (s = ''): void => {
      buffered.push(s.replace(/\n/g, '\r\n') + '\r\n');
      if (buffered.length >= FLUSH_LINES) flush();
      else flushTimer ??= setTimeout(flush, FLUSH_MS);
    };
    const finish = (code: number): void => {
      flush();
      close.fire(code);
    };
    /** The terminal's width, for a summary whose lines do not wrap. */
    let columns = 100;
    const start = async (): Promise<void> => {
      if (!vscode.workspace.isTrusted) {
        line(paint('red', 'Backfill runs commands from this workspace only when it is trusted.'));
        return finish(1);
      }
      const ws = this.model.workspace;
      const store = this.model.state;
      if (!ws || !store) {
        line(paint('red', this.model.storeError ?? 'The workspace is not loaded yet.'));
        return finish(1);
      }
      const concurrency = def.concurrency ?? this.concurrency();
      let maxCost = def.maxCost ?? this.maxCost();
      let id: string;
      let capacity: Capacity;
      let executor = def.executor ?? this.executor();
      try {
        capacity = this.capacity();
        if (def.resume) {
          id = await prepareResume(store, def.resume);
          if (def.maxCost !== undefined) await store.setOption(id, 'maxCost', def.maxCost);
          const record = await store.get(id);
          const stored = record?.options['maxCost'];
          maxCost = def.maxCost ?? (typeof stored === 'number' ? stored : this.maxCost());
          // The backfill keeps where it ran, unless this task says otherwise.
          const storedExecutor = record?.options['executor'];
          executor = def.executor ?? (storedExecutor === 'local' || storedExecutor === 'slurm' ? storedExecutor : undefined);
          const running = record?.counts.running ?? 0;
          line(paint('bold', `Resuming ${id}${running ? ` (re-attaching to ${running} Slurm job${running === 1 ? '' : 's'})` : ''}`));
        } else {
          const selection =
            def.label && this.pending.has(def.label)
              ? this.pending.get(def.label)!
              : buildSelection(
                  ws,
                  def.assets ?? [],
                  {
                    from: def.from,
                    to: def.to,
                    partition: def.partitions ?? [],
                    only: def.only?.join(','),
                    downstream: def.downstream,
                    withMissingUpstream: def.withMissingUpstream,
                  },
                  new Date(),
                );
          this.pending.delete(def.label ?? '');
          const plan = await this.plan(selection, concurrency);
          // Slurm answers and accepts each asset's settings, or nothing is stored or submitted.
          const onSlurm = slurmAssets(
            ws.assets,
            plan.assets.map((a) => a.asset),
            executor,
          );
          if (onSlurm.length > 0) await checkSlurm(onSlurm, ws.root);
          id = await saveBackfill(store, plan, {
            description: def.label ?? describe(def),
            workspace: ws.root,
            options: {
              concurrency,
              sample: def.sample ?? null,
              ...(maxCost !== undefined ? { maxCost } : {}),
              ...(executor !== undefined ? { executor } : {}),
            },
          });
          line(
            paint(
              'bold',
              `Backfill ${id}: ${plan.summary.tasks} tasks, ${plan.summary.partitions} partitions of ${plan.summary.assets} asset${plan.summary.assets === 1 ? '' : 's'}`,
            ),
          );
          for (const w of plan.warnings) line(paint('yellow', `warning: ${w}`));
        }
      } catch (e) {
        line(paint('red', (e as Error).message));
        return finish(2);
      }
      const total = (await store.tasks(id)).length;
      let done = 0;
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Backfill ${def.label ?? id}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          /** Tasks waiting in the Slurm queue (PENDING), counted apart from those running. */
          const queued = new SlurmQueue();
          const showProgress = (): void => {
            const spent = runner.spentSoFar;
            const money =
              spent === null
                ? ''
                : ` · ${formatCost(spent, ws.costUnit)}${maxCost !== undefined ? ` of ${formatCost(maxCost, undefined)}` : ''}`;
            progress.report({ message: `${done}/${total}${queued.size ? ` · ${queued.describe()}` : ''}${money}` });
          };
          const onEvent = (e: RunnerEvent): void => {
            if (e.type === 'submitted') return line(paint('dim', describeSubmission(e.tasks, e.job, e.throttle)));
            if (e.type === 'notice') return line(paint('yellow', `⚠ ${e.message}`));
            if (e.type === 'slurm') {
              queued.update(e.task.id, e.state, e.reason);
              if (e.state === 'RUNNING') line(paint('dim', `▸ ${taskLabel(e.task)} ${describeRunning(e.job, e.node)}`));
              return showProgress();
            }
            const who = taskLabel(e.task);
            if (e.type === 'output') line(`${paint('dim', `${who} │`)} ${e.line}`);
            else if (e.type === 'warning') line(paint('yellow', `⚠ ${who}: ${e.message}`));
            else if (e.status === 'succeeded') line(paint('green', `✓ ${who}${e.message ? `: ${e.message}` : ''}`));
            else if (e.status === 'failed' && e.retryInMs !== undefined)
              line(paint('yellow', `↻ ${who}: ${e.message ?? 'failed'} — retry in ${Math.round(e.retryInMs / 1000)}s`));
            else if (e.status === 'failed') line(paint('red', `✗ ${who}: ${e.message ?? 'failed'}`));
            else if (e.status === 'skipped' || e.status === 'canceled') line(paint('dim', `– ${who} ${e.status}`));
            if (e.type === 'task') this.model.refreshStatusesSoon();
            if (e.type === 'task' && e.status !== 'running' && e.retryInMs === undefined) {
              done++;
              queued.delete(e.task.id);
              progress.report({ increment: 100 / Math.max(1, total) });
              showProgress();
            }
          };
          const runner = new BackfillRunner(ws, store, id, {
            concurrency,
            capacity,
            ...(executor !== undefined ? { executor } : {}),
            ...(def.sample ? { sample: def.sample } : {}),
            ...(maxCost !== undefined ? { maxCost } : {}),
            onEvent,
            signal: abort.signal,
          });
          this.active.add(runner);
          running = runner;
          try {
            return await runner.run();
          } finally {
            this.active.delete(runner);
          }
        },
      );
      for (const l of summaryLines(report, this.model.root, columns, ws.costUnit)) line(l);
      this.finished.fire(report);
      void this.model.reload();
      void this.announce(report);
      finish(report.status === 'succeeded' ? 0 : 1);
    };
    return {
      onDidWrite: write.event,
      onDidClose: close.event,
      open: (dimensions) => {
        if (dimensions) columns = dimensions.columns;
        void start().catch((e: Error) => {
          this.log.error(e.stack ?? String(e));
          line(paint('red', `internal error: ${e.message}`));
          finish(1);
        });
      },
      setDimensions: (dimensions) => (columns = dimensions.columns),
      close: () => {
        // A closing window closes its terminals before it disposes the extension: with Slurm jobs
        // in flight, wait for that a moment, so that closing the window leaves them running (to be
        // re-attached to) while closing this terminal cancels them.
        if (running && running.slurmJobsInFlight > 0)
          setTimeout(() => {
            if (!this.disposed) abort.abort();
          }, CLOSE_GRACE_MS);
        else abort.abort();
      },
    };
  }

  /** The completion notification, with its actions. */
  private async announce(report: BackfillReport): Promise<void> {
    const c = report.counts;
    const text = `Backfill ${report.status}: ${c.succeeded} succeeded${c.failed ? `, ${c.failed} failed` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}${c.canceled ? `, ${c.canceled} canceled` : ''}${c.pending ? `, ${c.pending} left` : ''}.`;
    // Canceled or interrupted: nothing failed, so no Retry Failed / Show Failed; Resume runs what is left.
    const actions =
      report.status === 'succeeded'
        ? ['Open Terminal']
        : report.status === 'paused' && report.budget
          ? ['Raise Budget…', 'Open Terminal']
          : report.status === 'paused'
            ? ['Continue', 'Open Terminal']
            : report.status === 'canceled' || report.status === 'interrupted'
              ? ['Resume', 'Open Terminal']
              : ['Retry Failed', ...(report.failed.length ? ['Show Failed'] : []), 'Open Terminal'];
    const show = report.status === 'succeeded' ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    const unit = this.model.workspace?.costUnit;
    const budgetText = report.budget
      ? ` Paused at the budget: ${formatCost(report.spentCost ?? 0, unit)} spent of ${formatCost(report.budget.maxCost, unit)}.`
      : '';
    const choice = await show(text + budgetText, ...actions);
    if (choice === 'Raise Budget…' && report.budget) {
      const raised = await askBudget(
        report.budget.maxCost,
        this.model.workspace?.costUnit,
        (report.spentCost ?? 0) + report.budget.estimatedLeft,
      );
      if (raised !== undefined) await this.resume(report.id, raised);
      return;
    }
    if (choice === 'Retry Failed' || choice === 'Continue' || choice === 'Resume') await this.resume(report.id);
    else if (choice === 'Show Failed' && report.failed[0]) await vscode.window.showTextDocument(vscode.Uri.file(report.failed[0].log));
    else if (choice === 'Open Terminal') await vscode.commands.executeCommand('workbench.action.terminal.focus');
  }
}

/** Asks for a budget (a number > 0); undefined when dismissed. */
async function askBudget(current: number | undefined, unit: string | undefined, estimate: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: `Budget for this backfill${unit ? ` (${unit})` : ''}`,
    prompt: `The most it may cost: it stops starting tasks there. The estimate is ~${formatCost(estimate, unit)}.`,
    value: current !== undefined ? String(current) : '',
    validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) > 0 && v.trim() !== '' ? null : 'A number greater than 0'),
  });
  return text === undefined ? undefined : Number(text);
}

function describe(def: BackfillTaskDefinition): string {
  if (def.label) return def.label;
  if (def.resume) return `resume ${def.resume}`;
  const parts = [...(def.assets ?? [])];
  if (def.from || def.to) parts.push(`${def.from ?? '…'}..${def.to ?? '…'}`);
  if (def.only) parts.push(`(${def.only.join(', ')})`);
  return parts.join(' ') || 'backfill';
}

/** Terminal output is written at most this often (ms), or when this many lines are waiting. */
const FLUSH_MS = 50;
const FLUSH_LINES = 500;

/** Failed tasks listed in the terminal's summary (the Backfills view lists them all). */
const SUMMARY_FAILED = 10;

/**
 * The end of a backfill's terminal, kept short so that it stays in view: the counts, each failed
 * task on one line (cut to the terminal's width) and its log as a path relative to the workspace
 * (the terminal makes it a link), and, when something is left to do, where to resume in the editor.
 */
export function summaryLines(report: BackfillReport, root: string, columns: number, costUnit?: string): string[] {
  const c = report.counts;
  const out = [
    '',
    paint(
      'bold',
      `${report.status}: ${c.succeeded} succeeded, ${c.failed} failed, ${c.skipped} skipped, ${c.canceled} canceled, ${c.pending} pending (${formatSeconds(report.durationMs / 1000)})`,
    ),
  ];
  // A failure's line is cut to the terminal's width (at least 60 columns): its log has it whole.
  const width = Math.max(60, columns - 1);
  const cut = (text: string): string => (text.length > width ? `${text.slice(0, width - 1)}…` : text);
  for (const f of report.failed.slice(0, SUMMARY_FAILED)) {
    out.push(paint('red', cut(`  ✗ ${f.asset} ${f.partitions.join(' ')}: ${f.message ?? 'failed'}`)), `    log: ${shortPath(root, f.log)}`);
  }
  if (report.failed.length > SUMMARY_FAILED) out.push(`  … and ${report.failed.length - SUMMARY_FAILED} more in the Backfills view`);
  for (const k of report.killed) out.push(paint('yellow', `  ! ${k.asset} ${k.partitions.join(' ')}: ${k.message}`));
  if (report.spentCost !== null)
    out.push(
      `Cost: ${formatCost(report.spentCost, costUnit)} spent${report.budget ? ` of a budget of ${formatCost(report.budget.maxCost, costUnit)}` : ''}`,
    );
  if (report.budget)
    out.push(
      paint('yellow', `Paused at the budget: what is left is estimated at ~${formatCost(report.budget.estimatedLeft, costUnit)}.`),
      'To go on: Raise Budget… on the notification, or Backfill: Resume Backfill…',
    );
  else if (report.status !== 'succeeded') out.push('To resume: Backfills view → Resume, or Backfill: Resume Backfill…');
  return out;
}

/** A path inside the workspace as a relative one (what the terminal turns into a link); others as they are. */
function shortPath(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}
