#!/usr/bin/env node
/**
 * `tessera` — the command line (SPEC §2). Parses arguments and calls the same functions
 * the HTTP layer calls; every failure is one `tessera: …` line on stderr, exit code 2
 * for input the operator can fix and 1 for anything unexpected.
 */
import { exitWithError } from './common.js';
import { buildProgram } from './program.js';

// `tessera client list | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  exitWithError(err);
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  exitWithError(err);
}
