import { reportError, run } from './program.ts';

// A reader that goes away (`backfill partitions x | head`) is not an error worth a stack trace.
// While a backfill runs it is a cancel, as SIGTERM is: its commands are stopped and the exit
// status says it did not finish (never 0 with jobs left running).
let readerGone = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (readerGone) return;
  if (e.code !== 'EPIPE') throw e;
  readerGone = true;
  if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  else process.exit(0);
});
// A terminal that closed under us: what cannot be said there is not worth a crash.
process.stderr.on('error', () => {});

// process.exitCode rather than process.exit(): a large JSON document on a pipe must be flushed first.
run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => (process.exitCode = reportError(e)),
);
