// The local executor: a task's command as a child process of the runner, in its own process
// group, so that cancel and timeout stop everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Execution, ExecutionResult, OutputLine } from './execution.ts';
import { forEachLine } from './output.ts';

export class LocalExecution implements Execution {
  readonly done: Promise<ExecutionResult>;
  readonly started = Promise.resolve();
  readonly ref: { pid?: number };
  private readonly child: ChildProcess;
  private killed: 'cancel' | 'timeout' | undefined;
  /** The group still had processes after SIGTERM and the grace period: they got SIGKILL. */
  private forced = false;
  /** Processes the command left running in its group when it exited (killed then). */
  private leftovers = 0;

  constructor(
    command: string,
    cwd: string,
    env: Record<string, string>,
    onLine: OutputLine,
    private readonly killGraceMs: number,
  ) {
    this.child = spawn('/bin/sh', ['-c', command], {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.ref = this.child.pid === undefined ? {} : { pid: this.child.pid };
    const outputs = Promise.all([
      forEachLine(this.child.stdout!, (l) => onLine('stdout', l)),
      forEachLine(this.child.stderr!, (l) => onLine('stderr', l)),
    ]);
    const exited = new Promise<ExecutionResult>((resolve) => {
      this.child.on('error', (error) => resolve({ code: null, signal: null, error }));
      this.child.on('exit', (code, signal) => {
        // Whatever it left in its process group (a background `&`, a daemon) would outlive the
        // task and may hold its output open: stop it now.
        this.reapGroup();
        resolve({ code, signal });
      });
    });
    this.done = Promise.all([exited, outputs]).then(([r]) => r);
  }

  stop(why: 'cancel' | 'timeout'): void {
    if (this.killed) return;
    this.killed = why;
    this.stopGroup();
  }

  /** A child process cannot outlive the runner's purpose: it is stopped like a cancel. */
  detach(): void {
    this.stop('cancel');
  }

  note(): string | null {
    const parts: string[] = [];
    if (this.leftovers)
      parts.push(`killed ${this.leftovers === 1 ? 'a background process' : `${this.leftovers} background processes`} it left running`);
    if (this.forced) parts.push(`its processes ignored SIGTERM and were killed with SIGKILL after ${formatGrace(this.killGraceMs)}`);
    return parts.length ? parts.join('; ') : null;
  }

  /**
   * SIGTERM to the command's whole process group, then SIGKILL to whatever of the group is still
   * there after the grace period (a command that traps TERM, a grandchild that ignores it). The
   * group's id is the command's pid, which the system does not reuse while the group has members.
   */
  private stopGroup(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (groupAlive(pid)) {
        this.forced = true;
        signalGroup(pid, 'SIGKILL');
      }
    }, this.killGraceMs);
    timer.unref();
  }

  /** After the command exited: its group's leftovers, if any, are counted and stopped. */
  private reapGroup(): void {
    const pid = this.child.pid;
    // Canceled or timed out: stopGroup is already at work on the whole group.
    if (pid === undefined || this.killed || !groupAlive(pid)) return;
    this.leftovers = groupSize(pid);
    this.stopGroup();
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** Whether any process of the group is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How many processes the group has (from /proc on Linux; at least 1 where it cannot be read). */
function groupSize(pgid: number): number {
  let n = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so read after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid) n++;
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    return 1;
  }
  return Math.max(1, n);
}

function formatGrace(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
