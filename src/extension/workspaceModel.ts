import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ObservedOutputs } from '../core/state/observed.ts';
import { indexStoreFor, statePath } from '../core/state/record.ts';
import { StatusEngine, type AssetStatus } from '../core/state/staleness.ts';
import { SqliteUnavailableError } from '../core/state/sqlite.ts';
import { SnapshotCache } from '../core/state/snapshotCache.ts';
import { isPostgresUrl, PostgresStore, pgUserError, redactUrl, UnreachableError } from '../core/state/postgres.ts';
import { projectKey } from '../core/state/project.ts';
import { LocalRunState, type RunState } from '../core/state/runState.ts';
import type { SnapshotSource } from '../core/state/staleness.ts';
import { TeamRunState } from '../core/state/teamRunState.ts';
import { StateStore } from '../core/state/store.ts';
import { SourceHashCache, codeVersions, sourceFiles } from '../core/state/versions.ts';
import { addUnread, findDefinitionFiles, loadWorkspaceFromSources, ParseCache, readSources, type Workspace } from '../core/workspace.ts';

/** How long edits and file events settle before the model reloads. */
const DEBOUNCE_MS = 250;
/**
 * How often statuses are recomputed while this window runs a backfill: each recompute redraws
 * the views, decorations and graph, which costs the editor more than the runner's own work.
 */
const STATUS_REFRESH_MS = 1000;
/** How soon after a team database's notification statuses are recomputed (notifications come in bursts). */
const TEAM_NOTIFY_MS = 100;
/** How often an unreachable team database is tried again. */
const TEAM_RETRY_MS = 10_000;

/**
 * The Backfill view of one workspace folder: its definitions (disk, overridden by unsaved
 * editors), the state database and the statuses. Reloads itself when definition files, source
 * files or the database change, and fires `onDidChange`.
 */
export class WorkspaceModel implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly parseCache = new ParseCache();
  private readonly hashes = new SourceHashCache();
  private dbWatcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sourceFileSet = new Set<string>();
  private storeVersion = -1;

  workspace: Workspace | undefined;
  statuses = new Map<string, AssetStatus>();
  /** The workspace's SQLite state file (undefined on a team database). */
  store: StateStore | undefined;
  /** A team's PostgreSQL state database (`backfill.stateDatabase: postgres://…`). */
  team: PostgresStore | undefined;
  /** Backfills and running them, on whichever of the two is in use. */
  state: RunState | undefined;
  /** Why the state database could not be used, when it could not. */
  storeError: string | undefined;
  codeVersions = new Map<string, string>();
  /** Duration of the last reload's own work (ms). */
  lastLoadMs = 0;

  constructor(
    readonly root: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const reload = (): void => this.schedule();
    const defs = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(root, '**/*.assets.{yaml,yml}'));
    this.disposables.push(
      defs,
      defs.onDidCreate(reload),
      defs.onDidChange(reload),
      defs.onDidDelete(reload),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isDefinition(e.document.uri.fsPath) && this.inRoot(e.document.uri.fsPath)) reload();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (isDefinition(d.uri.fsPath) && d.isDirty) reload(); // closed without saving: back to the disk version
      }),
      // Source files named by `source:` globs change code versions.
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (this.sourceFileSet.has(d.uri.fsPath)) reload();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('backfill')) {
          this.closeStore();
          reload();
        }
      }),
    );
    const sources = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(root, '**/*'), true, false, true);
    this.disposables.push(
      sources,
      sources.onDidChange((uri) => {
        if (this.sourceFileSet.has(uri.fsPath)) reload();
      }),
    );
  }

  private inRoot(file: string): boolean {
    return !path.relative(this.root, file).startsWith('..');
  }

  /** Reloads soon (edits come in bursts). */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), DEBOUNCE_MS);
  }

  /** The reload running now, and the one queued behind it (one is enough for any number of requests). */
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /**
   * Reads definitions and state now. Reloads run one at a time, in order: one that started
   * before an edit (an undo, say) can never finish after the one that read the edit and
   * replace its result with older text. Resolves once a reload that started after this call ended.
   */
  reload(): Promise<void> {
    this.timer = undefined;
    if (this.queued) return this.queued;
    const next: Promise<void> = (this.running ?? Promise.resolve()).then(() => {
      this.queued = undefined;
      this.running = next;
      return this.load().finally(() => {
        if (this.running === next) this.running = undefined;
      });
    });
    if (this.running) this.queued = next;
    else this.running = next;
    return next;
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    try {
      const now = new Date();
      const files = await findDefinitionFiles(this.root);
      const open = new Map(
        vscode.workspace.textDocuments.filter((d) => isDefinition(d.uri.fsPath)).map((d) => [d.uri.fsPath, d.getText()] as const),
      );
      // Read as the CLI reads them (invalid UTF-8, oversized files and FIFOs become diagnostics).
      const { sources, unread } = await readSources(files, open);
      for (const [p, text] of open)
        if (!files.includes(p) && this.inRoot(p) && !p.includes(`${path.sep}node_modules${path.sep}`)) sources.push({ path: p, text });
      const ws = loadWorkspaceFromSources(this.root, sources, { now, cache: this.parseCache });
      addUnread(ws, unread);
      this.workspace = ws;
      this.codeVersions = await codeVersions(ws.assets.values(), this.hashes);
      const lists = await Promise.all([...ws.assets.values()].map((a) => sourceFiles(a)));
      this.sourceFileSet = new Set(lists.flat());
      await this.computeStatuses();
    } catch (e) {
      this.log.error(`reload failed: ${(e as Error).stack ?? String(e)}`);
    }
    this.lastLoadMs = performance.now() - t0;
    this.log.info(
      `loaded ${this.workspace?.assets.size ?? 0} assets from ${this.workspace?.files.length ?? 0} files in ${this.lastLoadMs.toFixed(0)} ms`,
    );
    this.changed.fire();
  }

  /** Opens the state database (once) and recomputes every status. */
  private async computeStatuses(): Promise<void> {
    const ws = this.workspace;
    if (!ws) return;
    // Also after a failure: the user may have moved a corrupt file aside or closed the locker.
    if (!this.state) await this.openStore(ws);
    let source: SnapshotSource;
    if (this.store) {
      indexStoreFor(ws, this.store);
      this.storeVersion = this.store.dataVersion;
      source = this.store;
    } else if (this.teamSnapshots) {
      try {
        await this.teamSnapshots.refresh([...ws.assets.keys()]);
        source = this.teamSnapshots;
        this.setTeamError(undefined);
      } catch (e) {
        this.setTeamError(pgUserError(e, this.team!.location).message);
        return; // the statuses last read stay, marked unavailable
      }
    } else {
      this.statuses = new Map();
      return;
    }
    const engine = new StatusEngine({ graph: ws.graph, store: source, codeVersions: this.codeVersions, observed: new ObservedOutputs() });
    this.statuses = engine.computeAll();
  }

  private async openStore(ws: Workspace): Promise<void> {
    const setting = vscode.workspace.getConfiguration('backfill', vscode.Uri.file(this.root)).get<string>('stateDatabase') ?? '';
    if (isPostgresUrl(setting)) return this.openTeam(setting);
    const file = statePath(ws.root, setting || undefined);
    try {
      this.store = StateStore.open(file);
      this.state = new LocalRunState(this.store);
      // The e2e tests read this line to know which driver the extension host used.
      this.log.info(`state database ${file} opened with ${this.store.driverDescription}`);
      this.storeError = undefined;
      this.watchStore(file);
    } catch (e) {
      if (e instanceof SqliteUnavailableError) {
        this.storeError = sqliteUnavailableMessage(e);
        announceSqliteUnavailable(this.storeError, e, this.log);
        return;
      }
      const message = (e as Error).message;
      // Said once per problem: the next reloads (and changes in the database's folder) retry quietly.
      const known = message === this.storeError;
      this.storeError = message;
      this.watchStore(file);
      if (known) return;
      this.log.error(message);
      void vscode.window.showErrorMessage(`Backfill: ${message}`, 'Retry').then((choice) => {
        if (choice === 'Retry' && !this.disposed) void this.reload(); // not after a switch to another folder
      });
    }
  }

  /**
   * Connects to the team database and listens to it: another machine's result reaches the views
   * as its transaction commits (LISTEN/NOTIFY), without polling. Unreachable, it says so (the URL
   * without its password) and tries again.
   */
  private async openTeam(url: string): Promise<void> {
    const where = redactUrl(url);
    try {
      const override = vscode.workspace.getConfiguration('backfill', vscode.Uri.file(this.root)).get<string>('project') || undefined;
      const project = projectKey(this.root, override).key;
      this.team = await PostgresStore.open(url, { project, connectTimeoutMs: 5000 });
      this.state = new TeamRunState(this.team, this.root);
      this.teamSnapshots = new SnapshotCache(this.team);
      this.log.info(`team state database ${where} opened (project ${project})`);
      this.setTeamError(undefined);
      this.stopListening = this.team.listen(
        (assets) => {
          this.log.info(`team state changed${assets ? `: ${assets.join(', ')}` : ' (reconnected)'}`);
          // Only the assets another machine changed are read again.
          this.teamSnapshots?.invalidate(assets);
          this.ownWrites = true;
          this.recomputeStatusesIn(TEAM_NOTIFY_MS);
        },
        (message) => this.setTeamError(message ?? undefined),
      );
    } catch (e) {
      this.setTeamError(pgUserError(e, url).message);
      // Tried again while unreachable; a refusal (password, permission) waits for a settings change.
      if (e instanceof UnreachableError && !this.disposed) {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.reload(), TEAM_RETRY_MS);
      }
    }
  }

  private stopListening: (() => void) | undefined;
  private teamSnapshots: SnapshotCache | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  /** A team database's problem shown in the views (and once as a notification), or cleared. */
  private setTeamError(message: string | undefined): void {
    if (message === this.storeError) return;
    this.storeError = message;
    if (message) {
      this.log.error(message);
      void vscode.window.showWarningMessage(`Backfill: ${message}`);
    }
    this.changed.fire();
  }

  /** Another process (the CLI, another window) writing the database: recompute when it commits. */
  private watchStore(file: string): void {
    this.dbWatcher?.close();
    try {
      this.dbWatcher = watch(path.dirname(file), (_event, name) => {
        if (name && name.startsWith(path.basename(file))) this.onStoreTouched();
      });
    } catch (e) {
      this.log.warn(`cannot watch ${path.dirname(file)}: ${(e as Error).message}`);
    }
  }

  /** After this window wrote the store (a backfill running here): recompute statuses soon. */
  refreshStatusesSoon(): void {
    // This window's own writes do not change the connection's data_version: remember them, so
    // that a recompute already scheduled by the file watcher does not skip them.
    this.ownWrites = true;
    this.recomputeStatusesIn(STATUS_REFRESH_MS);
  }

  private storeTimer: NodeJS.Timeout | undefined;
  private ownWrites = false;
  /** Another process (or this one) touched the database file. */
  private onStoreTouched(): void {
    // The database could not be opened: a change in its folder (the file moved aside, restored) is worth a retry.
    if (!this.state) this.schedule();
    else this.recomputeStatusesIn(DEBOUNCE_MS);
  }

  /** Recomputes statuses after `ms` (once for any number of calls) if the store changed. */
  private recomputeStatusesIn(ms: number): void {
    if (this.storeTimer) return;
    this.storeTimer = setTimeout(() => {
      this.storeTimer = undefined;
      if (!this.state || (this.store && !this.ownWrites && this.store.dataVersion === this.storeVersion)) return;
      this.ownWrites = false;
      const t0 = performance.now();
      void this.computeStatuses().then(() => {
        this.log.info(`state changed: statuses recomputed in ${(performance.now() - t0).toFixed(0)} ms`);
        this.changed.fire();
      });
    }, ms);
  }

  private closeStore(): void {
    this.dbWatcher?.close();
    this.dbWatcher = undefined;
    this.store?.close();
    this.store = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.team?.close().catch(() => {});
    this.team = undefined;
    this.teamSnapshots = undefined;
    this.state = undefined;
    this.storeError = undefined;
  }

  private disposed = false;

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.storeTimer) clearTimeout(this.storeTimer);
    this.closeStore();
    for (const d of this.disposables) d.dispose();
  }
}

function isDefinition(file: string): boolean {
  return /\.assets\.ya?ml$/.test(file);
}

/** Whether this extension host has already said that it has no SQLite (once, whatever the folder). */
let sqliteUnavailableAnnounced = false;

/**
 * Neither node:sqlite nor the bundled better-sqlite3 loads in this extension host: what it lacks
 * and which VS Code has it, in a user's words (the details go to the log).
 */
export function sqliteUnavailableMessage(e: SqliteUnavailableError): string {
  const electron = process.versions['electron'] ? `, Electron ${process.versions['electron']}` : '';
  return (
    `partition state is unavailable: this VS Code (${vscode.version}) runs extensions on Node ${process.versions.node}${electron}, which has no built-in SQLite, ` +
    `and the better-sqlite3 fallback in this extension does not load there (${e.reasons['better-sqlite3'] ?? 'not tried'}). ` +
    `Backfill needs VS Code 1.101 or newer (its extension host has SQLite built in). Definitions, diagnostics and the graph still work.`
  );
}

function announceSqliteUnavailable(message: string, e: SqliteUnavailableError, log: vscode.LogOutputChannel): void {
  if (sqliteUnavailableAnnounced) return;
  sqliteUnavailableAnnounced = true;
  log.error(`${message}\n${e.message}`);
  void vscode.window.showErrorMessage(`Backfill: ${message}`, 'Supported Versions').then((choice) => {
    if (choice) void vscode.env.openExternal(vscode.Uri.parse('https://github.com/backfill/backfill#supported-vs-code-versions'));
  });
}
