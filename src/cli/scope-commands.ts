/** `tessera scope add|list|show|remove`: manage API scopes. */
import type { Command } from 'commander';
import {
  addApiScope,
  describeApiScope,
  getApiScope,
  listApiScopes,
  MAX_SCOPE_DESCRIPTION,
  MAX_SCOPE_NAME,
  removeApiScope,
} from '../services/scopes.js';
import type { ApiScopeRecord } from '../store/store.js';
import {
  dbOption,
  formatFields,
  jsonOption,
  printJson,
  printList,
  printLines,
  requireSubcommand,
  withStore,
  type CliIo,
} from './common.js';
import { recordChange } from './audit-log.js';

interface DbOptions {
  db: string;
  json?: boolean;
}

interface AddOptions extends DbOptions {
  description?: string;
}

function scopeFields(scope: ApiScopeRecord): Array<[string, string]> {
  return [
    ['name', scope.name],
    ['description', scope.description],
    ['created', new Date(scope.createdAt).toISOString()],
  ];
}

async function addScope(name: string, options: AddOptions, io: CliIo): Promise<void> {
  const scope = await withStore(options.db, (store) =>
    addApiScope(store, { name, description: options.description }, Date.now()),
  );
  recordChange(io, 'scope_created', { scope: scope.name });
  if (options.json) printJson(io.stdout, describeApiScope(scope));
  else printLines(io.stdout, `registered scope '${scope.name}'`, ...formatFields(scopeFields(scope)));
}

async function listScopes(options: DbOptions, io: CliIo): Promise<void> {
  const scopes = await withStore(options.db, listApiScopes);
  printList(io.stdout, scopes, {
    json: options.json,
    empty: 'no API scopes',
    header: ['NAME', 'DESCRIPTION'],
    toJson: describeApiScope,
    row: (s) => [s.name, s.description],
  });
}

async function showScope(name: string, options: DbOptions, io: CliIo): Promise<void> {
  const scope = await withStore(options.db, (store) => getApiScope(store, name));
  if (options.json) printJson(io.stdout, describeApiScope(scope));
  else printLines(io.stdout, ...formatFields(scopeFields(scope)));
}

async function removeScope(name: string, options: DbOptions, io: CliIo): Promise<void> {
  await withStore(options.db, (store) => removeApiScope(store, name));
  recordChange(io, 'scope_removed', { scope: name });
  if (options.json) printJson(io.stdout, { name, removed: true });
  else printLines(io.stdout, `removed scope '${name}'`);
}

export function registerScopeCommands(program: Command, io: CliIo): void {
  const scope = requireSubcommand(
    program.command('scope').description('manage API scopes (what a client may ask for besides a role)'),
  );

  scope
    .command('add')
    .description('register an API scope')
    .argument('<name>', `the scope value (RFC 6749 scope-token characters, at most ${MAX_SCOPE_NAME})`)
    .option(
      '--description <text>',
      `what the consent page shows for it, in plain words (required; at most ${MAX_SCOPE_DESCRIPTION} characters)`,
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((name: string, options: AddOptions) => addScope(name, options, io));

  scope
    .command('list')
    .description('list API scopes')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: DbOptions) => listScopes(options, io));

  scope
    .command('show')
    .description('show one API scope')
    .argument('<name>', 'the scope value')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((name: string, options: DbOptions) => showScope(name, options, io));

  scope
    .command('remove')
    .description('remove an API scope that no client is enabled for')
    .argument('<name>', 'the scope value')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((name: string, options: DbOptions) => removeScope(name, options, io));
}
