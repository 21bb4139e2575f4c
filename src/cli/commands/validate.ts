import type { Command } from 'commander';
import { action, type CliContext } from '../context.ts';
import { EXIT_FAILURE, EXIT_OK, plural, printJson, relativePath } from '../output.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check every *.assets.yaml file and report errors and warnings')
    .addHelpText(
      'after',
      `
Exits with status 1 when there is any error. Diagnostics print as file:line:col: severity: message.

Examples:
  $ backfill validate
  $ backfill validate --json | jq '.diagnostics[] | select(.severity == "error")'`,
    )
    .action(action(validate));
}

async function validate(ctx: CliContext): Promise<number> {
  const ws = await ctx.workspace({ announceErrors: false });
  const diagnostics = ws.diagnostics.map((d) => ({
    file: relativePath(ws.root, d.file),
    line: d.line,
    column: d.column,
    severity: d.severity,
    message: d.message,
  }));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  if (ctx.json) {
    printJson({ ok: errors === 0, diagnostics });
  } else {
    const s = ctx.style;
    const lines = diagnostics.map(
      (d) =>
        `${s.bold(`${d.file}:${d.line}:${d.column}:`)} ${d.severity === 'error' ? s.red('error:') : s.yellow('warning:')} ${d.message}`,
    );
    const counts = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
    lines.push(
      `${plural(ws.assets.size, 'asset')} in ${plural(ws.files.length, 'file')}: ${errors > 0 ? s.red(counts) : warnings > 0 ? s.yellow(counts) : s.green(counts)}`,
    );
    ctx.print(...lines);
  }
  return errors > 0 ? EXIT_FAILURE : EXIT_OK;
}
