/** `tessera migrate`: applies pending database migrations and exits. */
import type { Command } from 'commander';
import { StoreOpenError } from '../store/open.js';
import { dbOption, jsonOption, printJson, printLines, withStore, type CliIo } from './common.js';

interface MigrateOptions {
  db: string;
  json?: boolean;
}

async function migrate(options: MigrateOptions, io: CliIo): Promise<void> {
  const applied = await withStore(
    options.db,
    async (store) => {
      try {
        return await store.migrate();
      } catch (err) {
        throw new StoreOpenError(`cannot migrate database: ${(err as Error).message}`, { cause: err });
      }
    },
    { migrate: false, create: true },
  );
  if (options.json) printJson(io.stdout, { applied });
  else if (applied.length === 0) printLines(io.stdout, 'database is up to date');
  else printLines(io.stdout, ...applied.map((name) => `applied migration ${name}`));
}

export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: MigrateOptions) => migrate(options, io));
}
