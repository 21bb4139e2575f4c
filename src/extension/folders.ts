// Which workspace folder Backfill shows in a multi-root workspace. Pure (no `vscode` import):
// test/unit/folders.test.ts checks it.

export interface FolderInfo {
  /** The folder's path on disk. */
  path: string;
  name: string;
}

/**
 * The folder to show: the one the user chose last in this workspace while it is still open,
 * else the first (in the workspace's order) that holds asset definitions, else the first.
 * `hasDefinitions` is asked lazily, in order, and only as far as needed.
 */
export async function chooseFolder(
  folders: readonly FolderInfo[],
  remembered: string | undefined,
  hasDefinitions: (folder: FolderInfo) => Promise<boolean>,
): Promise<FolderInfo | undefined> {
  if (folders.length <= 1) return folders[0]; // nothing to choose: no need to look into it
  const kept = folders.find((f) => f.path === remembered);
  if (kept) return kept;
  for (const f of folders) if (await hasDefinitions(f)) return f;
  return folders[0];
}
