import { reportError, run } from './program.ts';

// A reader that goes away (`backfill partitions x | head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// process.exitCode rather than process.exit(): a large JSON document on a pipe must be flushed first.
run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => (process.exitCode = reportError(e)),
);
