import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixtureGraph } from '../../bench/graphFixture.ts';
import { layeredLayout, type LayoutEdge, type LayoutNode } from '../../webview/layout.ts';
import { answerRequest, isWorkerReply, packLayout, packRequest, unpackLayout, type LayoutRequest } from '../../webview/layoutProtocol.ts';
import { LayoutRunner, type LayoutWorker } from '../../webview/layoutRunner.ts';

const OPTIONS = { nodeWidth: 200, nodeHeight: 50 };

function pipeline(n: number): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  const f = fixtureGraph(n, 4);
  return {
    nodes: f.map((a) => ({ id: a.name, group: a.group })),
    edges: f.flatMap((a) => a.deps.map((d) => ({ source: d.asset, target: a.name }))),
  };
}

/** A worker that answers when told to, across a real structured clone with the transfer lists. */
class FakeWorker implements LayoutWorker {
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  requests: LayoutRequest[] = [];
  terminated = false;

  postMessage(message: LayoutRequest, transfer: Transferable[]): void {
    assert.ok(!this.terminated, 'posted to an ended worker');
    this.requests.push(structuredClone(message, { transfer }));
  }

  terminate(): void {
    this.terminated = true;
  }

  /** Answers request k (the latest by default), as the real worker would. */
  answer(k = this.requests.length - 1): void {
    const [reply, transfer] = answerRequest(this.requests[k]!);
    this.onmessage?.(new MessageEvent('message', { data: structuredClone(reply, { transfer }) }));
  }

  fail(message = ''): void {
    this.onerror?.({ message, preventDefault() {} } as ErrorEvent);
  }
}

function runner(workerMinNodes = 10, createWorker?: () => LayoutWorker): { runner: LayoutRunner; workers: FakeWorker[]; logs: string[] } {
  const workers: FakeWorker[] = [];
  const logs: string[] = [];
  const r = new LayoutRunner({
    workerMinNodes,
    createWorker:
      createWorker ??
      (() => {
        const w = new FakeWorker();
        workers.push(w);
        return w;
      }),
    log: (m) => logs.push(m),
    layout: OPTIONS,
  });
  return { runner: r, workers, logs };
}

describe('layout worker messages', () => {
  it('a packed layout unpacks to the same layout, cycles and long edges included', () => {
    const { nodes, edges } = pipeline(300);
    edges.push({ source: 'asset_250', target: 'asset_20' }); // closes a cycle
    const direct = layeredLayout(nodes, edges, OPTIONS);
    assert.ok(direct.edges.some((e) => e.reversed) && direct.edges.some((e) => e.points.length > 4));
    assert.deepEqual(
      unpackLayout(
        packLayout(
          direct,
          nodes.map((n) => n.id),
        ),
        nodes.map((n) => n.id),
      ),
      direct,
    );
  });

  it('the worker lays out a request as layeredLayout does, leaving out what it leaves out', () => {
    const nodes: LayoutNode[] = [{ id: 'a', group: 'g' }, { id: 'b' }, { id: 'c', group: 'g' }];
    const edges: LayoutEdge[] = [
      { source: 'a', target: 'b' },
      { source: 'a', target: 'a' },
      { source: 'a', target: 'b' },
      { source: 'zz', target: 'c' },
      { source: 'b', target: 'c' },
    ];
    const [request, transfer] = packRequest(7, nodes, edges, OPTIONS);
    assert.deepEqual(transfer, [request.edges.buffer]);
    const [reply, replyTransfer] = answerRequest(structuredClone(request, { transfer }));
    assert.ok(isWorkerReply(reply) && reply.type === 'layout' && reply.id === 7);
    assert.equal(replyTransfer.length, 5);
    assert.deepEqual(
      unpackLayout(structuredClone(reply, { transfer: replyTransfer }).layout, request.ids),
      layeredLayout(nodes, edges, OPTIONS),
    );
  });

  it('a layout that throws comes back as an error reply', () => {
    const request = { type: 'layout', id: 3, ids: null, groups: [], edges: new Int32Array(0), options: {} } as unknown as LayoutRequest;
    const [reply] = answerRequest(request);
    assert.equal(reply.type, 'error');
    assert.ok(isWorkerReply(reply));
    assert.ok(!isWorkerReply({ type: 'layout', id: 3 }) && !isWorkerReply(null) && !isWorkerReply({ type: 'error', id: '3', message: '' }));
  });
});

describe('layout runner', () => {
  const small = pipeline(5);
  const large = pipeline(60);

  it('lays out small graphs on the page, without starting a worker', async () => {
    const { runner: r, workers } = runner(10);
    const out = await r.layout(small.nodes, small.edges);
    assert.deepEqual(out, { result: layeredLayout(small.nodes, small.edges, OPTIONS), inWorker: false });
    assert.equal(workers.length, 0);
    assert.ok(!r.usesWorker(9) && r.usesWorker(10));
  });

  it('lays out large graphs in the worker, and keeps an idle worker for the next one', async () => {
    const { runner: r, workers } = runner(10);
    for (let k = 0; k < 2; k++) {
      const p = r.layout(large.nodes, large.edges);
      workers[0]!.answer();
      assert.deepEqual(await p, { result: layeredLayout(large.nodes, large.edges, OPTIONS), inWorker: true });
    }
    assert.equal(workers.length, 1);
    assert.equal(workers[0]!.requests.length, 2);
    assert.ok(!workers[0]!.terminated);
  });

  it('a newer request supersedes one in flight: it resolves to null, its busy worker is ended, a late answer is dropped', async () => {
    const { runner: r, workers } = runner(10);
    const first = r.layout(large.nodes, large.edges);
    const other = pipeline(40);
    const second = r.layout(other.nodes, other.edges);
    assert.equal(await first, null);
    assert.equal(workers.length, 2);
    assert.ok(workers[0]!.terminated && !workers[1]!.terminated);
    workers[0]!.answer(); // an answer already on its way when the worker was ended
    workers[1]!.answer();
    const out = await second;
    assert.equal(out?.result.positions.size, 40);
  });

  it('a small graph after a large one in flight: the large one is dropped', async () => {
    const { runner: r, workers } = runner(10);
    const first = r.layout(large.nodes, large.edges);
    const second = r.layout(small.nodes, small.edges);
    workers[0]!.answer();
    assert.equal(await first, null);
    assert.equal((await second)?.inWorker, false);
  });

  it('on the page too, only the latest request of a task is answered', async () => {
    const { runner: r } = runner(10);
    const first = r.layout(small.nodes, small.edges);
    const second = r.layout(small.nodes, small.edges);
    assert.deepEqual([await first, (await second)?.inWorker], [null, false]);
  });

  it('cancel drops the request in flight', async () => {
    const { runner: r, workers } = runner(10);
    const p = r.layout(large.nodes, large.edges);
    r.cancel();
    workers[0]!.answer();
    assert.equal(await p, null);
    assert.ok(workers[0]!.terminated);
    r.cancel(); // nothing in flight: nothing to do
  });

  it('a worker that cannot be created: layouts on the page, logged once, not tried again', async () => {
    let tries = 0;
    const { runner: r, logs } = runner(10, () => {
      tries++;
      throw new Error("Creating a worker violates the document's Content Security Policy");
    });
    for (let k = 0; k < 2; k++) assert.equal((await r.layout(large.nodes, large.edges))?.inWorker, false);
    assert.equal(tries, 1);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /Content Security Policy.*laying out graphs on the page instead/);
    assert.ok(!r.usesWorker(1000));
  });

  it('a worker that fails to start (the CSP blocks it asynchronously): its request is laid out on the page', async () => {
    const { runner: r, workers, logs } = runner(10);
    const p = r.layout(large.nodes, large.edges);
    workers[0]!.fail();
    assert.deepEqual(await p, { result: layeredLayout(large.nodes, large.edges, OPTIONS), inWorker: false });
    assert.ok(workers[0]!.terminated);
    assert.deepEqual(logs, ['the layout worker failed (it did not start); laying out graphs on the page instead']);
    assert.equal((await r.layout(large.nodes, large.edges))?.inWorker, false);
    assert.equal(workers.length, 1);
  });

  it('a layout that throws in the worker rejects', async () => {
    const { runner: r, workers } = runner(10);
    const p = r.layout(large.nodes, large.edges);
    workers[0]!.onmessage?.(new MessageEvent('message', { data: { type: 'error', id: workers[0]!.requests[0]!.id, message: 'boom' } }));
    await assert.rejects(p, /layout worker: boom/);
  });
});
