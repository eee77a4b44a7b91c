/**
 * `tessera demo remove`: deletes what `serve --demo` seeded into a database — the demo's
 * clients and people (marked `demo`), with their grants, codes and tokens — in one
 * transaction, and says what went. A server without --demo refuses that data already,
 * and tells at start when a database holds some; this removes it for good. Nothing to
 * remove is not an error: it says so and exits 0.
 */
import type { Command } from 'commander';
import { plural, removeDemoData } from '../services/demo-data.js';
import { dbOption, jsonOption, printJson, printLines, requireSubcommand, withStore, type CliIo } from './common.js';

interface RemoveOptions {
  db: string;
  json?: boolean;
}

async function removeCommand(options: RemoveOptions, io: CliIo): Promise<void> {
  const removed = await withStore(options.db, removeDemoData);
  if (options.json) {
    printJson(io.stdout, removed);
    return;
  }
  if (removed.clients.length === 0 && removed.people.length === 0) {
    printLines(io.stdout, 'no demo data in this database: nothing removed');
    return;
  }
  const list = (items: string[]) => (items.length > 0 ? ` (${items.join(', ')})` : '');
  printLines(
    io.stdout,
    `removed ${plural(removed.clients.length, 'demo client')}${list(removed.clients)}, ` +
      `${plural(removed.people.length, 'demo person', 'demo people')}${list(removed.people)} ` +
      `and ${plural(removed.grants, 'grant')} with their codes and tokens`,
  );
}

export function registerDemoCommands(program: Command, io: CliIo): void {
  const demo = requireSubcommand(program.command('demo').description("manage the data 'serve --demo' seeds"));

  demo
    .command('remove')
    .description(
      "remove the demo's clients and people (seeded by 'serve --demo') and everything issued to them, in one transaction",
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: RemoveOptions) => removeCommand(options, io));
}
