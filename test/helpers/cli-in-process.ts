/**
 * The CLI run in this process through runCli (src/cli/run.ts, the function main.ts
 * runs), with the arguments and result of server-process.ts's `runCli`, which spawns the
 * built command: a command that needs no process of its own (not `serve`) is spared a
 * Node.js start.
 */
import { runCli } from '../../src/cli/run.js';
import type { CliResult } from './server-process.js';

/** Runs `tessera ARGS --db DB` in process and returns what it printed. Asserts nothing. */
export async function runCliInProcess(
  args: string[],
  options: { db: string; input?: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const result = await runCli([...args, '--db', options.db], {
    stdin: options.input ?? '',
    env: { ...process.env, ...options.env },
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.code };
}
