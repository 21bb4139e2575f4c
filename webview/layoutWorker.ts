// The layout worker: lays out large graphs off the page's thread (started by
// webview/layoutRunner.ts). A webview cannot start a worker from its own script URL (another
// origin), so esbuild.mjs bundles this file on its own and embeds the text in graph.js, which
// starts it from a Blob.
import { answerRequest, type LayoutRequest, type WorkerReply } from './layoutProtocol.ts';

// tsconfig has the DOM library, not WebWorker's: the worker's global, as far as it is used here.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<LayoutRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const [reply, transfer] = answerRequest(e.data);
  scope.postMessage(reply, transfer);
};
