// Lays out the drawn graph: small graphs on the page's thread (no worker start-up to pay), large
// ones in a worker, so that the page keeps painting and answering while it runs. Only the latest
// request is answered: an older one still in flight resolves to null (its caller gives way to the
// newer one), and the worker busy with it is ended rather than left to finish stale work.
// If the worker cannot start (a CSP without `worker-src blob:`, a browser without workers) or
// fails, layouts run on the page from then on, and that is logged once.
import { layeredLayout, type LayoutEdge, type LayoutNode, type LayoutOptions, type LayoutResult } from './layout.ts';
import { isWorkerReply, packRequest, unpackLayout, type LayoutRequest } from './layoutProtocol.ts';

/**
 * Graphs with at least this many nodes are laid out in the worker. Measured in headless Chromium
 * (`npm run bench:graph -- --layout-sizes …`, docs/benchmarks.md): below ~300 nodes the first layout blocks
 * the page for less than a frame or two, less than starting a worker costs; from ~300 nodes it
 * blocks for 50 ms and more (a long task), growing to seconds at 5,000.
 */
export const WORKER_MIN_NODES = 300;

/** The part of a Worker the runner uses (a fake one in tests). */
export interface LayoutWorker {
  postMessage(message: LayoutRequest, transfer: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
}

export interface LayoutRunnerOptions {
  /** Graphs with at least this many nodes go to the worker. */
  workerMinNodes: number;
  /** Starts a worker running webview/layoutWorker.ts; may throw. */
  createWorker(): LayoutWorker;
  /** Why layouts no longer use the worker. */
  log(message: string): void;
  layout: Partial<LayoutOptions>;
}

export interface LaidOut {
  result: LayoutResult;
  inWorker: boolean;
}

interface InFlight {
  id: number;
  ids: string[];
  nodes: readonly LayoutNode[];
  edges: readonly LayoutEdge[];
  resolve(r: LaidOut | null): void;
  reject(e: Error): void;
}

export class LayoutRunner {
  private latest = 0;
  private worker: LayoutWorker | undefined;
  private workerBroken = false;
  private inFlight: InFlight | undefined;

  constructor(private readonly o: LayoutRunnerOptions) {}

  /** Whether a graph of `nodes` nodes would be laid out in the worker. */
  usesWorker(nodes: number): boolean {
    return !this.workerBroken && nodes >= this.o.workerMinNodes;
  }

  /** The layout, or null when a newer request (or cancel) came before it was ready. */
  layout(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Promise<LaidOut | null> {
    this.cancel();
    const id = this.latest;
    const worker = this.usesWorker(nodes.length) ? this.startedWorker() : undefined;
    if (!worker) {
      const result = layeredLayout(nodes, edges, this.o.layout);
      // A request made before this promise settles (in the same task) supersedes it too.
      return Promise.resolve().then(() => (id === this.latest ? { result, inWorker: false } : null));
    }
    return new Promise((resolve, reject) => {
      const [request, transfer] = packRequest(id, nodes, edges, this.o.layout);
      this.inFlight = { id, ids: request.ids, nodes, edges, resolve, reject };
      worker.postMessage(request, transfer);
    });
  }

  /** Drops the request in flight, if any: it resolves to null. */
  cancel(): void {
    this.latest++;
    const f = this.inFlight;
    if (!f) return;
    this.inFlight = undefined;
    f.resolve(null);
    // Busy with a layout nobody wants: end it; the next request starts a fresh one.
    this.worker?.terminate();
    this.worker = undefined;
  }

  private startedWorker(): LayoutWorker | undefined {
    if (this.worker) return this.worker;
    let worker: LayoutWorker;
    try {
      worker = this.o.createWorker();
    } catch (e) {
      this.giveUpWorker(`could not start the layout worker (${e instanceof Error ? e.message : String(e)})`);
      return undefined;
    }
    worker.onmessage = (e) => this.receive(worker, e.data);
    worker.onerror = (e) => {
      e.preventDefault?.();
      if (worker !== this.worker) return;
      this.giveUpWorker(`the layout worker failed (${e.message || 'it did not start'})`);
      // The request it had: laid out here instead.
      const f = this.inFlight;
      if (!f) return;
      this.inFlight = undefined;
      try {
        f.resolve({ result: layeredLayout(f.nodes, f.edges, this.o.layout), inWorker: false });
      } catch (err) {
        f.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    return (this.worker = worker);
  }

  private receive(worker: LayoutWorker, reply: unknown): void {
    const f = this.inFlight;
    // Replies of an ended worker, or to a dropped request, are stale.
    if (worker !== this.worker || !f || !isWorkerReply(reply) || reply.id !== f.id) return;
    this.inFlight = undefined;
    if (reply.type === 'error') f.reject(new Error(`layout worker: ${reply.message}`));
    else f.resolve({ result: unpackLayout(reply.layout, f.ids), inWorker: true });
  }

  private giveUpWorker(why: string): void {
    this.workerBroken = true;
    this.worker?.terminate();
    this.worker = undefined;
    this.o.log(`${why}; laying out graphs on the page instead`);
  }
}
