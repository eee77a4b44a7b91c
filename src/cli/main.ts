#!/usr/bin/env node
/**
 * `tessera` — the command line: runs the program (run.ts) on this process's
 * streams and environment and exits with its code. Every failure is one `tessera: …`
 * line on stderr, exit code 2 for input the operator can fix and 1 for anything unexpected.
 */
import { exitWithError } from './common.js';
import { runCli } from './run.js';

// `tessera client list | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  exitWithError(err);
});

const { code } = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = code;
