/// <reference types="mocha" />
// Extension-host tests (@vscode/test-cli + @vscode/test-electron). They need a VS Code that
// test-electron can download, so they are not part of `npm test` here (see CONTRIBUTING.md, "Tests").
// Run: npm run test:host.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'backfill.backfill';

suite('Backfill in the extension host', () => {
  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    await ext.activate();
  });

  test('every contributed command is registered', async () => {
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: Array<{ command: string }> } };
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const { command } of manifest.contributes.commands) assert.ok(registered.has(command), `${command} is registered`);
  });

  test('a bad dependency typed into a definition file shows up in the Problems panel', async () => {
    const [file] = await vscode.workspace.findFiles('**/pipeline.assets.yaml');
    assert.ok(file, 'the demo workspace is open');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    const offset = doc.getText().indexOf('deps: [raw_events]');
    const range = new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + 'deps: [raw_events]'.length));
    await editor.edit((e) => e.replace(range, 'deps: [raw_event]'));
    const found = await waitFor(() => vscode.languages.getDiagnostics(file).find((d) => /unknown asset "raw_event"/.test(d.message)));
    assert.match(found.message, /did you mean "raw_events"/);
    await vscode.commands.executeCommand('undo');
    await waitFor(() => (vscode.languages.getDiagnostics(file).some((d) => /raw_event"/.test(d.message)) ? undefined : true));
  });
});

async function waitFor<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
