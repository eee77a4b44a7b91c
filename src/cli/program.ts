/** The `tessera` program: every command, built without running it (main.ts runs it). */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { configureErrors, requireSubcommand } from './common.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerPurgeCommand } from './purge-command.js';
import { registerServeCommand } from './serve.js';
import { registerTransferCommands } from './transfer-commands.js';
import { registerUserCommands } from './user-commands.js';

/** The package version, read from package.json two levels up (from src/cli or dist/cli). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  // Error settings first: commands created afterwards inherit them.
  const program = configureErrors(new Command('tessera'))
    .description('Tessera, a self-hosted OAuth 2.0 authorization server')
    .version(packageVersion(), '-V, --version', 'print the version');
  requireSubcommand(program);
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerPurgeCommand(program);
  registerClientCommands(program);
  registerUserCommands(program);
  registerTransferCommands(program);
  return program;
}
