// The fake VS Code host of the graph benchmark (bench/graph.ts), loaded before the webview's
// bundle with the page's nonce: acquireVsCodeApi hands messages to the benchmark (exposed
// function __hostReceive) and keeps the state; CSP violations are collected. `?layout=worker`
// or `?layout=sync` forces that layout path whatever the graph's size.
(() => {
  let state;
  const layout = new URLSearchParams(location.search).get('layout');
  if (layout === 'worker') window.backfillLayoutWorkerMinNodes = 0;
  else if (layout === 'sync') window.backfillLayoutWorkerMinNodes = Infinity;
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__hostReceive(m),
    getState: () => state,
    setState: (s) => (state = s),
  });
})();
