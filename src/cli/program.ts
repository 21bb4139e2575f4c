import { Command, CommanderError } from 'commander';
import { SpecError, UserError } from '../core/diagnostics.ts';
import pkg from '../../package.json';
import { connect } from '../core/state/sqlite.ts';
import { COMMANDS } from './commands/index.ts';
import { EXIT_FAILURE, EXIT_USAGE } from './output.ts';

/** The `backfill` program: global options, then every command of the table. */
export function createProgram(): Command {
  const program = new Command('backfill')
    .description(
      'Partitioned data assets: validate definitions, list partitions, trace dependencies and impact, track what is fresh, stale, missing or failed, and backfill exactly those.',
    )
    .version(pkg.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // Global options are recognised before and after the command name (commander's default).
    .option('-w, --workspace <dir>', 'workspace folder (default: the current folder)')
    .option('--now <iso>', 'fix the clock: ISO-8601 date or date-time, UTC unless an offset is given (default: now)')
    .option('--json', 'print one JSON document on stdout')
    .option(
      '--state <path|url>',
      'state database: a file, relative to the workspace (default: <workspace>/.backfill/state.db), or a team database postgres://user@host/db',
    )
    .option('--project <key>', "the project's key in a team state database (default: from the repository's origin remote and folder)")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // commander's "error: ...\n(Did you mean ...?)" becomes one "backfill: ..." line, like every other error.
      outputError: (message, write) => write(`backfill: ${usageMessage(message)}\n`),
    });
  program.addHelpText(
    'after',
    `
Examples:
  $ backfill validate
  $ backfill partitions raw_events --now 2024-04-01
  $ backfill deps weekly_report 2024-01-07 --json
  $ backfill impact raw_events 2024-03-01
  $ backfill record raw_events 2024-03-01...2024-03-07
  $ backfill status --now 2024-04-01
  $ backfill why clean_events 2024-03-02
  $ backfill plan raw_events+ --from 2024-03-01 --to 2024-03-07
  $ backfill run group:clean --only missing,failed
  $ backfill resume bf-20240301

Run "backfill <command> --help" for a command's arguments and output.`,
  );
  for (const command of COMMANDS) command.register(program);
  return program;
}

/** commander's `error: unknown command 'x'\n(Did you mean y?)` as one line in our style. */
function usageMessage(message: string): string {
  const text = message.trim().replace(/^error: /, '');
  const suggestion = /\n\(Did you mean (.*)\?\)$/.exec(text);
  if (suggestion) return `${text.slice(0, suggestion.index)} — did you mean ${suggestion[1]}?`;
  return `${text.replace(/\s*\n\s*/g, ' ')} (see --help)`;
}

/** `backfill --version`: the version, the runtime and the SQLite driver this runtime uses (or why it has none). */
function versionText(): string {
  let sqlite: string;
  try {
    const c = connect(':memory:', { timeoutMs: 0 });
    sqlite = `${c.driver} (SQLite ${c.sqliteVersion})`;
    c.close();
  } catch (e) {
    sqlite = `none: ${(e as Error).message}`;
  }
  return `backfill ${pkg.version}\nNode ${process.versions.node}; state database through ${sqlite}`;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${versionText()}\n`);
    return 0;
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return reportError(e);
  }
}

/** One line on stderr for any error (the stack too with BACKFILL_DEBUG=1), and its exit code. */
export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // Already printed by commander (help, version, usage errors).
    return e.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  const debug = process.env['BACKFILL_DEBUG'] === '1';
  const message = e instanceof Error ? e.message : String(e);
  const expected = e instanceof UserError || e instanceof SpecError;
  // Anything else is a bug: say so, and how to get the stack for a report.
  const line = expected ? message : `internal error: ${message}${debug ? '' : ' (BACKFILL_DEBUG=1 shows the stack)'}`;
  process.stderr.write(`backfill: ${line}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return expected ? EXIT_USAGE : EXIT_FAILURE;
}
