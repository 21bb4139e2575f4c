import { constants, promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';

/** `orders.assets.yaml`, `orders.assets.yml`. */
export function isDefinitionFile(name: string): boolean {
  return name.endsWith('.assets.yaml') || name.endsWith('.assets.yml');
}

/** Folders never searched: dependencies, and dot-folders (.git, the .backfill state folder...). */
export function isSkippedFolder(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/**
 * The largest definition file read (bytes). The YAML parser reads about 1 MB/s and needs ~70 MB
 * of memory per MB of YAML, so a 50 MB file would take a minute and gigabytes; 10 MB is still
 * 100,000 static keys with room to spare.
 */
export const MAX_DEFINITION_FILE_BYTES = 10_000_000;

/** A path named like a definition file that is not read as one, and why. */
export interface ScanProblem {
  /** Absolute. */
  path: string;
  severity: 'error' | 'warning';
  message: string;
}

/**
 * The definition files under `root` (absolute paths, sorted): regular files, and symbolic links
 * to regular files. Symbolic links to folders are not followed (no loops). Unreadable folders are
 * skipped. Paths named like a definition file that cannot be one (a folder, a FIFO, a link
 * that loops or points nowhere) are returned as problems, and never opened.
 */
export async function scanDefinitionFiles(root: string): Promise<{ files: string[]; problems: ScanProblem[] }> {
  const files: string[] = [];
  const problems: ScanProblem[] = [];
  async function walk(dir: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const sub: Array<Promise<void>> = [];
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const named = isDefinitionFile(e.name);
      if (e.isDirectory()) {
        if (named)
          problems.push({
            path: full,
            severity: 'warning',
            message: 'this is a folder, not a definition file: its files are searched like any folder’s',
          });
        if (!isSkippedFolder(e.name)) sub.push(walk(full));
      } else if (!named) {
        continue;
      } else if (e.isFile()) {
        files.push(full);
      } else if (e.isSymbolicLink()) {
        sub.push(
          fs.stat(full).then(
            (s) => {
              if (s.isFile()) files.push(full);
              else
                problems.push(
                  notAFile(full, s.isDirectory() ? 'a symbolic link to a folder (not followed)' : `a symbolic link to ${kindOfEntry(s)}`),
                );
            },
            (err: NodeJS.ErrnoException) => void problems.push(brokenLink(full, err)),
          ),
        );
      } else {
        problems.push(notAFile(full, kindOfEntry(e)));
      }
    }
    await Promise.all(sub);
  }
  await walk(path.resolve(root));
  return { files: files.sort(), problems: problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/** The definition files under `root` (see scanDefinitionFiles), without the problems. */
export async function findDefinitionFiles(root: string): Promise<string[]> {
  return (await scanDefinitionFiles(root)).files;
}

function notAFile(file: string, what: string): ScanProblem {
  return { path: file, severity: 'error', message: `not read: this is ${what}, not a regular file` };
}

function brokenLink(file: string, err: NodeJS.ErrnoException): ScanProblem {
  const why =
    err.code === 'ELOOP'
      ? 'a symbolic link that loops (it leads back to itself)'
      : err.code === 'ENOENT' || err.code === 'ENOTDIR'
        ? 'a symbolic link to a file that does not exist'
        : `a symbolic link that cannot be followed (${err.code ?? err.message})`;
  return { path: file, severity: 'error', message: `not read: this is ${why}` };
}

function kindOfEntry(e: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (e.isFIFO()) return 'a named pipe (FIFO)';
  if (e.isSocket()) return 'a socket';
  if (e.isBlockDevice() || e.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/** A definition file's text, or why it cannot be read (with the line and column of a bad byte). */
export type ReadResult = { text: string } | { problem: { message: string; line: number; column: number } } | { gone: true };

/**
 * Reads a definition file as UTF-8, refusing what would hang or exhaust memory: anything but a
 * regular file (opened without blocking, so a FIFO swapped in after the scan cannot hang the
 * read), a file over MAX_DEFINITION_FILE_BYTES (never read), and invalid UTF-8 (instead of
 * replacing the bad bytes silently). A file deleted meanwhile is `gone`, not an error.
 */
export async function readDefinitionFile(file: string): Promise<ReadResult> {
  const at1 = (message: string): ReadResult => ({ problem: { message, line: 1, column: 1 } });
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return { gone: true };
    if (err.code === 'ELOOP') return at1(brokenLink(file, err).message);
    return at1(`cannot read this file: ${describeErrno(err)}`);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) return at1('not read: this is a folder, not a regular file');
    if (!stat.isFile()) return at1(notAFile(file, kindOfEntry(stat)).message);
    if (stat.size > MAX_DEFINITION_FILE_BYTES) return at1(tooLargeMessage(stat.size));
    const bytes = await handle.readFile();
    if (bytes.length > MAX_DEFINITION_FILE_BYTES) return at1(tooLargeMessage(bytes.length));
    return decodeUtf8(bytes);
  } catch (e) {
    return at1(`cannot read this file: ${describeErrno(e as NodeJS.ErrnoException)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** `this file is 52.4 MB; ...`: the message for a definition file over the limit. */
export function tooLargeMessage(bytes: number): string {
  const mb = (n: number): string => `${(n / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
  return `not read: this file is ${mb(bytes)}, over the ${mb(MAX_DEFINITION_FILE_BYTES)} a definition file may have; split it into several *.assets.yaml files`;
}

function describeErrno(err: NodeJS.ErrnoException): string {
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied (check its permissions and owner)';
  if (err.code === 'EISDIR') return 'this is a folder';
  return err.code ? `${err.code}: ${err.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')}` : err.message;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of UTF-8 bytes (a BOM dropped), or where the first invalid byte is. */
export function decodeUtf8(bytes: Uint8Array): ReadResult {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      return { problem: { message: 'not read: this file is UTF-16; save it as UTF-8', line: 1, column: 1 } };
    }
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    // The column counts characters, as editors do: the valid text before the bad byte on its line.
    const column = strictUtf8.decode(bytes.subarray(lineStart, at)).length + 1;
    const hex = (bytes[at] ?? 0).toString(16).padStart(2, '0');
    return {
      problem: {
        message: `not read: invalid UTF-8 (byte 0x${hex} at offset ${at.toLocaleString('en-US')}); save the file as UTF-8`,
        line,
        column,
      },
    };
  }
}

/** The offset of the first byte that makes `bytes` invalid UTF-8 (bytes.length if none). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
