/**
 * The project key of a workspace on a team state database: the rows of one project are shared
 * by every clone of its repository on every machine, and never mix with another project's.
 * Derived from the repository (its `origin` remote, normalized: two clones over https and ssh
 * agree) and the definitions' folder within it; a repository without a remote falls back to the
 * folder's name. Overridable (`--project`, `backfill.project`) for anything else.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface ProjectKey {
  key: string;
  /** How it was derived, for messages: `git remote origin`, `folder name` … */
  source: string;
}

/** `git@github.com:org/repo.git`, `https://user@github.com/org/repo` … → `github.com/org/repo`. */
export function normalizeRemote(url: string): string {
  let u = url.trim();
  const scp = /^([^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(u); // user@host:path (scp-like)
  if (scp && !/^[a-z]+:\/\//i.test(u)) u = `${scp[2]}/${scp[3]}`;
  else u = u.replace(/^[a-z+]+:\/\//i, '').replace(/^[^@/]*@/, '');
  return u
    .replace(/:\d+\//, '/') // ssh://host:22/path
    .replace(/\.git\/?$/, '')
    .replace(/\/+$/, '')
    .toLowerCase();
}

/** The folder holding `.git` (a folder or a worktree's file) at or above `dir`, or null. */
function repositoryRoot(dir: string): { root: string; gitDir: string } | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const dotGit = path.join(d, '.git');
    if (existsSync(dotGit)) {
      if (statSync(dotGit).isDirectory()) return { root: d, gitDir: dotGit };
      const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
      if (m) {
        let gitDir = path.resolve(d, m[1]!.trim());
        // A worktree's gitdir points into the main repository's .git/worktrees/NAME: its config is two up.
        const common = path.join(gitDir, 'commondir');
        if (existsSync(common)) gitDir = path.resolve(gitDir, readFileSync(common, 'utf8').trim());
        return { root: d, gitDir };
      }
    }
    if (path.dirname(d) === d) return null;
  }
}

/** The `origin` remote's URL (else the first remote's) from a repository's config, or null. */
function remoteUrl(gitDir: string): string | null {
  let text: string;
  try {
    text = readFileSync(path.join(gitDir, 'config'), 'utf8');
  } catch {
    return null;
  }
  const remotes = new Map<string, string>();
  let current: string | null = null;
  for (const line of text.split('\n')) {
    const section = /^\s*\[\s*remote\s+"([^"]+)"\s*\]/.exec(line);
    if (section) current = section[1]!;
    else if (/^\s*\[/.test(line)) current = null;
    else if (current) {
      const url = /^\s*url\s*=\s*(.+?)\s*$/.exec(line);
      if (url && !remotes.has(current)) remotes.set(current, url[1]!);
    }
  }
  return remotes.get('origin') ?? [...remotes.values()][0] ?? null;
}

/** The project key of a workspace root (where its definitions are), or the override. */
export function projectKey(root: string, override?: string): ProjectKey {
  if (override?.trim()) return { key: override.trim(), source: 'set explicitly' };
  const repo = repositoryRoot(root);
  const remote = repo ? remoteUrl(repo.gitDir) : null;
  if (repo && remote) {
    const sub = path.relative(repo.root, path.resolve(root)).split(path.sep).join('/');
    return { key: sub ? `${normalizeRemote(remote)}/${sub}` : normalizeRemote(remote), source: 'git remote origin' };
  }
  return { key: path.basename(path.resolve(root)), source: repo ? 'folder name (the repository has no remote)' : 'folder name' };
}
