// The text of the layout worker's bundle, made by a plugin in esbuild.mjs (see webview/layoutWorker.ts).
declare module 'layout-worker:source' {
  const source: string;
  export default source;
}
