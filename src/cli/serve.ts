/** `tessera serve` — filled in by the server work. */
import type { Command } from 'commander';

export function registerServeCommand(program: Command): void {
  program.command('serve').description('run the authorization server');
}
