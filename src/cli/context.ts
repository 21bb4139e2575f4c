import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { UserError } from '../core/diagnostics.ts';
import { ObservedOutputs } from '../core/state/observed.ts';
import { indexStoreFor, statePath } from '../core/state/record.ts';
import { LocalRunState, type RunState } from '../core/state/runState.ts';
import { TeamRunState } from '../core/state/teamRunState.ts';
import { StatusEngine, type AssetStatus } from '../core/state/staleness.ts';
import { explainStoreError } from '../core/state/database.ts';
import { sqliteErrorCode } from '../core/state/sqlite.ts';
import { StateStore } from '../core/state/store.ts';
import { snapshotsOf, type AnyStore } from '../core/state/copy.ts';
import { isPostgresUrl, PostgresStore, redactUrl } from '../core/state/postgres.ts';
import { projectKey } from '../core/state/project.ts';
import { codeVersions } from '../core/state/versions.ts';
import { loadWorkspace, type Workspace } from '../core/workspace.ts';
import { plural, relativePath, styleFor, type Style } from './output.ts';

/** The options every command accepts, before or after its name. */
export interface GlobalOptions {
  workspace?: string;
  now?: string;
  json?: boolean;
  state?: string;
  project?: string;
}

/** The status of every partition of a workspace, and what explaining one needs. */
export interface WorkspaceStatus {
  engine: StatusEngine;
  /** Per asset, in the engine (every valid asset of the workspace). */
  statuses: Map<string, AssetStatus>;
  /** Current code version per asset. */
  codeVersions: Map<string, string>;
}

/** What a command's action receives: the parsed global options and the means to act on them. */
export class CliContext {
  readonly root: string;
  readonly now: Date;
  readonly json: boolean;
  /** Colours for stdout (off when piped or with NO_COLOR). */
  readonly style: Style;
  /** Colours for stderr. */
  readonly errStyle: Style;
  /** The state database file: `--state` (relative to the workspace), else `<workspace>/.backfill/state.db`; a team database's URL without its password. */
  readonly statePath: string;
  /** `--state postgres://…`: a team's PostgreSQL state database. */
  readonly teamUrl: string | null;
  private openStore: StateStore | null = null;
  private openTeam: PostgresStore | null = null;

  constructor(
    /** The global options as given. */
    readonly options: GlobalOptions,
    cwd = process.cwd(),
  ) {
    this.root = path.resolve(cwd, options.workspace ?? '.');
    this.teamUrl = options.state !== undefined && isPostgresUrl(options.state) ? options.state : null;
    this.statePath = this.teamUrl ? redactUrl(this.teamUrl) : statePath(this.root, options.state);
    this.now = options.now === undefined ? new Date() : parseNow(options.now);
    this.json = options.json === true;
    this.style = styleFor(process.stdout);
    this.errStyle = styleFor(process.stderr);
  }

  /** Lines on stdout. */
  print(...lines: string[]): void {
    if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
  }

  /** A one-line refusal on stderr (`backfill: …`), for a command that then exits with a failure status. */
  refuse(message: string): void {
    process.stderr.write(`backfill: ${message}\n`);
  }

  /** A one-line warning on stderr. */
  warn(message: string): void {
    process.stderr.write(`${this.errStyle.yellow('warning:')} ${message}\n`);
  }

  /**
   * Loads the workspace as of `now`. Definition errors are announced with one line on stderr
   * (unless the command reports them itself): the command goes on with the valid assets.
   */
  async workspace(options: { announceErrors?: boolean } = {}): Promise<Workspace> {
    let isDir = false;
    try {
      isDir = statSync(this.root).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new UserError(`workspace ${this.root} is not a directory`);
    const ws = await loadWorkspace(this.root, { now: this.now });
    if (options.announceErrors !== false) {
      const errors = ws.diagnostics.filter((d) => d.severity === 'error').length;
      if (errors > 0) this.warn(`${plural(errors, 'definition error')} (run backfill validate)`);
    }
    if (ws.files.length === 0) this.warn(`no *.assets.yaml files in ${this.root}`);
    return ws;
  }

  /**
   * The state database, opened on first use (created empty when it does not exist yet) and
   * closed when the command ends. Its errors (corrupt, locked, newer schema) are UserErrors
   * that name the file and the fix.
   */
  store(): StateStore {
    if (this.teamUrl) throw new Error(`internal: the local state database asked for with --state ${this.statePath}`);
    this.openStore ??= StateStore.open(this.statePath);
    return this.openStore;
  }

  /** Backfills and what running them needs, on either kind of state database (closed with the command). */
  async runState(ws: Workspace): Promise<RunState> {
    if (this.teamUrl) return new TeamRunState(await this.team(), this.root);
    const store = this.store();
    // Snapshots written keep the partition indexes of these definitions: readers skip parsing keys.
    indexStoreFor(ws, store);
    return new LocalRunState(store);
  }

  /** The team's PostgreSQL state database (`--state postgres://…`), connected on first use; rows of this workspace's project (`--project`, else from its repository). */
  async team(): Promise<PostgresStore> {
    if (!this.teamUrl) throw new Error('internal: no team state database');
    this.openTeam ??= await PostgresStore.open(this.teamUrl, { project: projectKey(this.root, this.options.project).key });
    return this.openTeam;
  }

  /** The state database, for the commands that work on both kinds: the local file, or the team's. */
  async state(): Promise<AnyStore> {
    return this.teamUrl ? this.team() : this.store();
  }

  /** The status of every partition of the workspace's assets, from the state database. */
  async status(ws: Workspace): Promise<WorkspaceStatus> {
    const store = this.teamUrl ? await snapshotsOf(await this.team(), [...ws.assets.keys()]) : this.store();
    const versions = await codeVersions(ws.assets.values());
    const observed = new ObservedOutputs();
    const engine = new StatusEngine({ graph: ws.graph, store, codeVersions: versions, observed });
    const statuses = engine.computeAll();
    for (const r of observed.refused) {
      this.warn(
        `the output folder ${relativePath(this.root, r.dir)} of ${r.asset} leads outside the workspace (to ${r.real}), so it is not looked at; set output_outside_workspace: true on the asset to look there`,
      );
    }
    return { engine, statuses, codeVersions: versions };
  }

  /** Closes the state database if the command opened it. */
  async close(): Promise<void> {
    this.openStore?.close();
    this.openStore = null;
    const team = this.openTeam;
    this.openTeam = null;
    await team?.close();
  }

  /**
   * An SQLite error thrown while the command used the state database (a page found corrupt
   * while reading, a lock held too long) as a UserError naming the file; other errors as they are.
   */
  storeError(e: unknown): unknown {
    return this.openStore !== null && sqliteErrorCode(e) ? explainStoreError(e, this.statePath) : e;
  }
}

/**
 * `--now`: an ISO-8601 date or date-time, with or without an offset. Without one it is UTC,
 * so that a fixed `--now` means the same instant on every machine.
 */
export function parseNow(text: string): Date {
  const trimmed = text.trim();
  // Also accept a space between date and time, as people type it.
  const iso = /^\d{4}-\d{2}-\d{2} \d/.test(trimmed) ? trimmed.replace(' ', 'T') : trimmed;
  const dt = DateTime.fromISO(iso, { zone: 'utc', setZone: true });
  if (!dt.isValid || !/^\d{4}/.test(iso)) {
    const why = dt.invalidExplanation ? ` (${dt.invalidExplanation})` : '';
    throw new UserError(`invalid --now "${text}"${why}: expected an ISO-8601 date or date-time such as 2024-06-01 or 2024-06-01T12:00:00Z`);
  }
  return dt.toJSDate();
}

/** The exit code a command's action returns (undefined: success). */
export type ActionResult = number | void;

/**
 * Wraps a command's handler: builds the context from the global options (wherever they were
 * written), calls the handler with the command's arguments and then its own options, closes the
 * state database if the handler opened it, and records the exit code. Errors propagate to `run`
 * in main.ts, which prints them.
 */
export function action<A extends unknown[]>(
  handler: (ctx: CliContext, ...args: A) => Promise<ActionResult> | ActionResult,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // commander calls the action with (...arguments, options, command).
    const command = args[args.length - 1] as Command;
    const ctx = new CliContext(command.optsWithGlobals<GlobalOptions>());
    let code: ActionResult;
    try {
      // The command's arguments, then its own options (commands without options ignore them).
      code = await handler(ctx, ...([...args.slice(0, command.registeredArguments.length), command.opts()] as A));
    } catch (e) {
      throw ctx.storeError(e);
    } finally {
      await ctx.close();
    }
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  };
}
