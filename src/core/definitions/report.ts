import * as path from 'node:path';
import type { Diagnostic } from '../diagnostics.ts';
import type { YamlFile, YNode } from './yaml.ts';

/** Stable codes of the problems the loader reports. */
export type DiagnosticCode =
  | 'yaml-syntax'
  | 'yaml-warning'
  | 'read-error'
  | 'invalid-file'
  | 'unknown-key'
  | 'duplicate-key'
  | 'invalid-merge'
  | 'invalid-value'
  | 'invalid-name'
  | 'duplicate-asset'
  | 'duplicate-partition-set'
  | 'duplicate-pool'
  | 'duplicate-profile'
  | 'unknown-partition-set'
  | 'invalid-partitions'
  | 'partitions-warning'
  | 'unknown-dependency'
  | 'invalid-mapping'
  | 'mapping-warning'
  | 'self-dependency'
  | 'cycle'
  | 'unknown-pool'
  | 'unknown-profile'
  | 'internal-error';

/** Collects diagnostics; every one points at a node of a definition file. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly root: string) {}

  error(file: YamlFile, node: YNode | readonly [number, number] | null | undefined, code: DiagnosticCode, message: string): void {
    this.diagnostics.push({ ...file.position(node), severity: 'error', code, message });
  }

  warning(file: YamlFile, node: YNode | readonly [number, number] | null | undefined, code: DiagnosticCode, message: string): void {
    this.diagnostics.push({ ...file.position(node), severity: 'warning', code, message });
  }

  /** `dir/file.assets.yaml:12`, relative to the workspace root, for messages. */
  where(file: YamlFile, node: YNode): string {
    return `${this.relative(file.path)}:${file.position(node).line}`;
  }

  relative(file: string): string {
    const rel = path.relative(this.root, file);
    return (rel === '' || rel.startsWith('..') ? file : rel).split(path.sep).join('/');
  }

  /** Sorted by file, line, column (stable otherwise). */
  sorted(): Diagnostic[] {
    return [...this.diagnostics].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  }
}

/** How a value is described in "expected X, got Y" messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return 'a date';
  if (v instanceof Uint8Array) return 'binary data';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

/** A name or key as quoted in a message: very long ones (garbage keys) are cut. */
export function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
