import {
  Composer,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseDocument,
  Parser,
  YAMLParseError,
  type Alias,
  type Document,
  type DocumentOptions,
  type Node,
  type Pair,
  type ParseOptions,
  type SchemaOptions,
  type YAMLMap,
} from 'yaml';
import type { Diagnostic } from '../diagnostics.ts';
import { short } from './report.ts';

/** A YAML node as found in a parsed document (an alias is a node too). */
export type YNode = Node;

/** One key of a mapping, merge keys (`<<: *defaults`) already expanded. */
export interface Entry {
  key: string;
  keyNode: YNode;
  /** The value as written (possibly an alias); null only for odd pairs without a value node. */
  valueNode: YNode | null;
}

/** Thrown by `toPlain` for values that cannot become plain data (recursive or exploding aliases). */
export class PlainValueError extends Error {}

/** Limit on the nodes one `toPlain` call may produce, so that alias "bombs" stay cheap. */
const MAX_PLAIN_NODES = 200_000;
/** Limit on nested merges and nesting while converting (malicious or accidental recursion). */
const MAX_DEPTH = 200;
/**
 * Deeper YAML is refused before it is parsed (nothing valid is that deep). The parser needs
 * about 1 KB and 30 µs per level and overflows its stack near 900 levels: a 10 MB file of `[`
 * would take minutes and gigabytes to fail.
 */
export const MAX_NESTING = 500;
/**
 * Limit on the keys merge keys (`<<: *a`) may produce in one file, counted over every mapping:
 * merges of merges (each mapping merging the previous ones) grow quadratically.
 */
export const MAX_MERGED_KEYS = 1_000_000;

/**
 * A parsed definition file: the document, positions, and helpers that read it the same way
 * everywhere (keys as text, merge keys expanded, the first of duplicate keys wins).
 */
export class YamlFile {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();
  private readonly entriesCache = new Map<YNode, Entry[]>();
  /** The mappings whose entries are being collected (to stop merge cycles). */
  private readonly collecting = new Set<YNode>();
  /** Each alias's target (the last node with its anchor before it); undefined for an unknown anchor. */
  private readonly aliasTargets = new Map<Alias, YNode | undefined>();
  /** Every mapping of the document, in document order. */
  private readonly maps: YAMLMap[] = [];
  /** Where the text nests deeper than MAX_NESTING, if it does (the file is refused). */
  private tooDeep: YNode | readonly [number, number] | undefined;
  /** Keys merge keys may still produce (see MAX_MERGED_KEYS); below 0, merges are no longer expanded. */
  private mergeBudget = MAX_MERGED_KEYS;
  /** The merge key at which the budget ran out. */
  private mergeOverflow: YNode | undefined;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    const options = {
      prettyErrors: false,
      // Duplicate keys are reported by the loader, with the position of the first one.
      uniqueKeys: false,
      merge: true,
    };
    let doc = parseBounded(text, this.lines, options);
    // Nested by indentation rather than brackets, the parser may overflow its stack first.
    const overflow = typeof doc === 'number' ? undefined : doc.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
    if (overflow) doc = overflow.pos[0];
    if (typeof doc === 'number') {
      // Too deep: refused (reported by structuralProblems), as an empty document.
      this.tooDeep = [doc, doc + 1];
      this.doc = parseDocument('', options);
    } else {
      this.doc = doc;
    }
    this.index(this.doc.contents as YNode | null, new Map(), 0);
  }

  /**
   * One pre-order walk: anchors and aliases (the library's Alias.resolve walks the whole document
   * on every call), and the list of mappings for `structuralProblems`.
   */
  private index(node: unknown, anchors: Map<string, YNode>, depth: number): void {
    if (!isNode(node)) return;
    if (depth > MAX_NESTING) {
      this.tooDeep ??= node as YNode;
      return;
    }
    if (isAlias(node)) {
      this.aliasTargets.set(node, anchors.get(node.source));
      return;
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.set(anchor, node as YNode);
    if (isMap(node)) {
      this.maps.push(node);
      for (const item of node.items) {
        this.index(item.key, anchors, depth + 1);
        this.index(item.value, anchors, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) this.index(isPair(item) ? item.value : item, anchors, depth + 1);
    }
  }

  /** The diagnostic fields for a node (or an explicit [start, end) offset range). */
  position(
    node: YNode | readonly [number, number] | null | undefined,
  ): Pick<Diagnostic, 'file' | 'line' | 'column' | 'endLine' | 'endColumn'> {
    let start = 0;
    let end = 0;
    if (node && 'range' in node) {
      const r = (node as YNode).range;
      if (r) {
        start = r[0];
        end = r[1];
      }
    } else if (node) {
      [start, end] = node as readonly [number, number];
    }
    start = clamp(start, 0, this.text.length);
    end = clamp(end, start, this.text.length);
    if (end === start && end < this.text.length && this.text[end] !== '\n') end++;
    const s = this.lines.linePos(start);
    const e = this.lines.linePos(end);
    return { file: this.path, line: s.line, column: s.col, endLine: e.line, endColumn: e.col };
  }

  /** The node an alias points at (the node itself otherwise); undefined for an unknown anchor. */
  resolve(node: YNode | null | undefined): YNode | undefined {
    let n: YNode | undefined = node ?? undefined;
    for (let i = 0; i < MAX_DEPTH && isAlias(n); i++) n = this.aliasTargets.get(n);
    return isAlias(n) ? undefined : n;
  }

  /** The plain value of a scalar, undefined for other nodes. */
  scalar(node: YNode | null | undefined): { value: unknown; source: string } | undefined {
    const n = this.resolve(node);
    if (!isScalar(n)) return undefined;
    return { value: n.value, source: this.sourceOf(n) };
  }

  /** A scalar as written (for numbers where `3.10` must not become `3.1`). */
  sourceOf(node: YNode): string {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    const r = node.range;
    return r ? this.text.slice(r[0], r[1]) : '';
  }

  /**
   * The keys of a mapping with `<<` merges expanded: explicit keys first, then merged keys not
   * given explicitly (earlier merge sources win). With `all`, duplicate explicit keys are kept
   * (for the sections where the loader reports them itself); otherwise the first one wins.
   */
  entries(mapNode: YNode | null | undefined, all = false): Entry[] {
    const map = this.resolve(mapNode);
    if (!isMap(map)) return [];
    if (!all) {
      const cached = this.entriesCache.get(map);
      if (cached) return cached;
    }
    // A mapping that merges itself (`&a {<<: *a}`): the inner occurrence adds nothing.
    if (this.collecting.has(map)) return [];
    this.collecting.add(map);
    let out: Entry[];
    try {
      out = this.collect(map, all);
    } finally {
      this.collecting.delete(map);
    }
    // Cached, so that merges of merges (`<<: [*a, *a]` on every level) stay linear.
    if (!all) this.entriesCache.set(map, out);
    return out;
  }

  private collect(map: YAMLMap, all: boolean): Entry[] {
    const explicit: Entry[] = [];
    const merged: Entry[] = [];
    const seen = new Set<string>();
    for (const item of map.items as unknown[]) {
      if (!isPair(item)) continue;
      const pair = item as Pair<unknown, unknown>;
      if (isMergeKey(pair.key)) {
        if (this.mergeBudget < 0) continue;
        const source = this.resolve(pair.value as YNode);
        // The same mapping merged twice adds nothing the second time (`<<: [*a, *a, ...]`).
        const sources = new Set(isSeq(source) ? (source.items as YNode[]).map((s) => this.resolve(s)) : [source]);
        for (const s of sources) {
          if (!isMap(s)) continue;
          const from = this.entries(s);
          if (!all) this.mergeBudget -= from.length;
          if (this.mergeBudget < 0) {
            this.mergeOverflow ??= pair.key as YNode;
            break;
          }
          for (const e of from) merged.push(e);
        }
        continue;
      }
      const keyNode = (isNode(pair.key) ? pair.key : null) as YNode | null;
      if (!keyNode) continue;
      const key = this.sourceOf(this.resolve(keyNode) ?? keyNode);
      if (!all && seen.has(key)) continue;
      seen.add(key);
      explicit.push({ key, keyNode, valueNode: isNode(pair.value) ? (pair.value as YNode) : null });
    }
    for (const e of merged) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      explicit.push(e);
    }
    return explicit;
  }

  /** The entry of a key in a mapping, if any. */
  get(mapNode: YNode | null | undefined, key: string): Entry | undefined {
    return this.entries(mapNode).find((e) => e.key === key);
  }

  /**
   * The node at `path` (keys and indexes) inside `root`, or the deepest node that exists on the
   * way. An empty value (`key:` with nothing after it) gives its key node; so does `atKey` when
   * the path ends at a key of a mapping (for "unknown key" warnings).
   */
  nodeAt(root: YNode | null, path: ReadonlyArray<string | number>, atKey = false): YNode | null {
    let current: YNode | null = root;
    for (const [i, segment] of path.entries()) {
      const n = this.resolve(current);
      let next: YNode | null | undefined;
      if (isMap(n)) {
        const entry = this.get(n, String(segment));
        if (entry) next = isEmpty(entry.valueNode) || (atKey && i === path.length - 1) ? entry.keyNode : entry.valueNode;
      } else if (isSeq(n) && typeof segment === 'number') {
        const item = n.items[segment];
        next = isNode(item) ? (item as YNode) : undefined;
      }
      if (!next) break;
      current = next;
    }
    return current;
  }

  /** The node as plain data (objects, arrays, scalars), aliases and merges resolved. */
  toPlain(node: YNode | null | undefined): unknown {
    const budget = { left: MAX_PLAIN_NODES };
    return this.plain(node ?? null, new Set(), budget, 0);
  }

  private plain(node: YNode | null, stack: Set<YNode>, budget: { left: number }, depth: number): unknown {
    if (node === null) return null;
    if (--budget.left < 0)
      throw new PlainValueError(
        `this value is too large: more than ${MAX_PLAIN_NODES.toLocaleString('en-US')} values (an alias counts its value each time it is used)`,
      );
    if (depth > MAX_DEPTH) throw new PlainValueError(`this value is nested too deeply: more than ${MAX_DEPTH} levels`);
    if (isAlias(node)) {
      const target = this.resolve(node);
      if (target === undefined) throw new PlainValueError(`unknown alias *${node.source}`);
      if (stack.has(target)) throw new PlainValueError(`alias *${node.source} refers to a value that contains it`);
      return this.plain(target, stack, budget, depth + 1);
    }
    if (isScalar(node)) return typeof node.value === 'symbol' ? node.value.description : node.value;
    stack.add(node);
    try {
      if (isSeq(node)) {
        return (node.items as unknown[]).map((item) => (isNode(item) ? this.plain(item as YNode, stack, budget, depth + 1) : null));
      }
      if (isMap(node)) {
        const out: Record<string, unknown> = {};
        for (const e of this.entries(node)) {
          // defineProperty: a key named "__proto__" must stay an ordinary key.
          Object.defineProperty(out, e.key, {
            value: this.plain(e.valueNode, stack, budget, depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
      return null;
    } finally {
      stack.delete(node);
    }
  }

  /**
   * Problems the YAML library accepts but the loader cannot: unknown anchors (fatal, like a syntax
   * error), merge keys whose value is not a mapping, and duplicate keys (except in the maps the
   * loader checks itself, given in `own`).
   */
  structuralProblems(own: ReadonlySet<YNode>): { fatal: Diagnostic[]; other: Diagnostic[] } {
    const fatal: Diagnostic[] = [];
    const other: Diagnostic[] = [];
    if (this.tooDeep) {
      fatal.push({
        ...this.position(this.tooDeep),
        severity: 'error',
        code: 'yaml-syntax',
        message: `values nested more than ${MAX_NESTING} levels deep: a definition needs a few levels at most`,
      });
    }
    // Expand every merge now, so that merges too large to expand are reported here, once.
    for (const map of this.maps) if (map.items.some((item) => isMergeKey(item.key))) this.entries(map);
    if (this.mergeOverflow) {
      fatal.push({
        ...this.position(this.mergeOverflow),
        severity: 'error',
        code: 'invalid-merge',
        message: `merge keys (<<) in this file expand to more than ${MAX_MERGED_KEYS.toLocaleString('en-US')} keys (merges of merges grow fast): merge fewer or smaller mappings`,
      });
    }
    for (const [alias, target] of this.aliasTargets) {
      if (target !== undefined) continue;
      fatal.push({
        ...this.position(alias),
        severity: 'error',
        code: 'yaml-syntax',
        message: `unknown alias *${alias.source}: the anchor &${alias.source} must be defined before it is used`,
      });
    }
    for (const map of this.maps) {
      const check = !own.has(map);
      const firstAt = check ? new Map<string, YNode>() : undefined;
      for (const item of map.items) {
        if (isMergeKey(item.key)) {
          const source = this.resolve(item.value as YNode);
          const ok = isMap(source) || (isSeq(source) && source.items.every((s) => isMap(this.resolve(s as YNode))));
          if (!ok && source !== undefined) {
            other.push({
              ...this.position((item.value as YNode | null) ?? (item.key as YNode)),
              severity: 'error',
              code: 'invalid-merge',
              message: 'a merge key (<<) takes a mapping or a list of mappings, e.g. <<: *defaults',
            });
          }
          continue;
        }
        if (!firstAt || !isNode(item.key)) continue;
        const keyNode = item.key as YNode;
        const key = this.sourceOf(this.resolve(keyNode) ?? keyNode);
        const first = firstAt.get(key);
        if (first === undefined) {
          firstAt.set(key, keyNode);
          continue;
        }
        other.push({
          ...this.position(keyNode),
          severity: 'error',
          code: 'duplicate-key',
          message: `duplicate key "${short(key)}" (first at line ${this.position(first).line}); this one is ignored`,
        });
      }
    }
    return { fatal, other };
  }
}

/**
 * parseDocument, except that the lexemes are counted on their way to the parser: nesting deeper
 * than MAX_NESTING (flow collections, plus `- `/`? ` indicators on one line) stops the parse
 * there, and the offset where it stopped is returned instead of a document.
 */
function parseBounded(text: string, lines: LineCounter, options: ParseOptions & DocumentOptions & SchemaOptions): Document.Parsed | number {
  const parser = new Parser(lines.addNewLine);
  let stoppedAt = -1;
  function* tokens(): Generator<ReturnType<Parser['next']> extends Generator<infer T> ? T : never> {
    lines.addNewLine(0);
    let flow = 0;
    let onLine = 0;
    let offset = 0;
    for (const lexeme of new Lexer().lex(text)) {
      if (lexeme === '[' || lexeme === '{') flow++;
      else if (lexeme === ']' || lexeme === '}') flow = Math.max(0, flow - 1);
      else if (lexeme === '-' || lexeme === '?') onLine++;
      else if (lexeme === '\n' || lexeme === '\r\n') onLine = 0;
      if (flow + onLine > MAX_NESTING) {
        stoppedAt = offset;
        return;
      }
      // The lexer's control tokens (document start, scalar and flow-error markers) are not text.
      if (lexeme !== '\x02' && lexeme !== '\x1f' && lexeme !== '\x18') offset += lexeme.length;
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }
  const composer = new Composer(options);
  let doc: Document.Parsed | null = null;
  for (const d of composer.compose(tokens(), true, text.length)) {
    if (stoppedAt >= 0) break;
    if (!doc) doc = d;
    else {
      doc.errors.push(
        new YAMLParseError(
          [d.range[0], d.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  return stoppedAt >= 0 ? stoppedAt : doc!;
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return (typeof v === 'symbol' && v.description === '<<') || (v === '<<' && key.type === 'PLAIN');
}

function isEmpty(node: YNode | null): boolean {
  if (node === null) return true;
  if (!isScalar(node) || node.value !== null) return false;
  const r = node.range;
  return !r || r[0] === r[1];
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(Math.max(n, lo), hi);
}
