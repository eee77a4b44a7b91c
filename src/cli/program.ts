/** The `tessera` program: every command, built without running it (run.ts runs it). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkAuditLog } from './audit-log.js';
import { registerCallbackCommand } from './callback-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerGrantCommands } from './grant-commands.js';
import { configureErrors, requireSubcommand, TesseraCommand, type CliIo } from './common.js';
import { registerDemoCommands } from './demo-commands.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerPurgeCommand } from './purge-command.js';
import { registerScopeCommands } from './scope-commands.js';
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

/** A fresh program for one run: commander keeps parsed values on its Command objects. */
export function buildProgram(io: CliIo): Command {
  // Error and output settings first: commands created afterwards inherit them.
  const program = configureErrors(new TesseraCommand('tessera', io.env), io)
    .description('Tessera, a self-hosted OAuth 2.0 authorization server')
    .version(packageVersion(), '-V, --version', 'print the version');
  requireSubcommand(program);
  // A change is refused, not made unrecorded, when the audit log cannot be written (audit-log.ts).
  program.hook('preAction', (_program, command) => {
    if (command.name() !== 'serve') checkAuditLog(io.env);
  });
  registerServeCommand(program, io);
  registerMigrateCommand(program, io);
  registerPurgeCommand(program, io);
  registerClientCommands(program, io);
  registerScopeCommands(program, io);
  registerUserCommands(program, io);
  registerGrantCommands(program, io);
  registerKeysCommands(program, io);
  registerTransferCommands(program, io);
  registerCallbackCommand(program, io);
  registerDemoCommands(program, io);
  return program;
}
