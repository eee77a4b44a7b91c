/**
 * `tessera grant list|revoke`: what people allowed which apps, and ending one of them —
 * a stolen phone: revoke that app's grant and its tokens stop, the person's other apps
 * go on. Prints no token: only hashes of them are stored.
 */
import type { Command } from 'commander';
import { describeGrant, listGrants, revokeGrant } from '../services/grants.js';
import {
  dbOption,
  jsonOption,
  printJson,
  printLines,
  printList,
  requireSubcommand,
  withStore,
  type CliIo,
} from './common.js';
import { recordChange } from './audit-log.js';

interface DbOptions {
  db: string;
  json?: boolean;
}

interface ListOptions extends DbOptions {
  user?: string;
  client?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

async function listCommand(options: ListOptions, io: CliIo): Promise<void> {
  const grants = await withStore(options.db, (store) =>
    listGrants(store, { user: options.user, client: options.client }, Date.now()),
  );
  printList(io.stdout, grants, {
    json: options.json,
    empty: 'no live grants',
    header: ['ID', 'USER', 'CLIENT', 'CLIENT NAME', 'SCOPE', 'CREATED', 'EXPIRES'],
    toJson: describeGrant,
    row: (g) => [
      g.grant.id,
      g.username ?? '-',
      g.grant.clientId,
      g.clientName,
      g.grant.scope,
      iso(g.grant.createdAt),
      iso(g.grant.expiresAt),
    ],
  });
}

async function revokeCommand(id: string, options: DbOptions, io: CliIo): Promise<void> {
  await withStore(options.db, (store) => revokeGrant(store, id, Date.now()));
  recordChange(io, 'grant_revoked', { grant: id, reason: 'operator' });
  if (options.json) printJson(io.stdout, { id, revoked: true });
  else printLines(io.stdout, `revoked grant '${id}': its codes, access tokens and refresh tokens no longer work`);
}

export function registerGrantCommands(program: Command, io: CliIo): void {
  const grant = requireSubcommand(
    program.command('grant').description('list and revoke what people allowed apps (their tokens)'),
  );

  grant
    .command('list')
    .description('list live grants (not revoked, not past their absolute end), newest first')
    .option('--user <username>', "only this person's grants")
    .option('--client <id>', "only this client's grants")
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: ListOptions) => listCommand(options, io));

  grant
    .command('revoke')
    .description(
      "revoke a grant: every code, access token and refresh token of it stops working (e.g. a stolen phone's app)",
    )
    .argument('<id>', 'the grant id (from grant list)')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => revokeCommand(id, options, io));
}
