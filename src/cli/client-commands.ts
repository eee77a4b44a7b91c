/** `tessera client add|list|show|remove|rotate-secret`: manage OAuth clients. */
import type { Command } from 'commander';
import {
  describeClient,
  getClient,
  listClients as listAllClients,
  operatorClientChoices,
  pkceWarning,
  registerClient,
  removeClient as removeOneClient,
  rotateClientSecret,
} from '../services/clients.js';
import type { ClientRecord } from '../store/store.js';
import {
  collect,
  collectList,
  dbOption,
  formatFields,
  jsonOption,
  printJson,
  printList,
  printLines,
  printNote,
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
  name: string;
  redirectUri?: string[];
  scope?: string[];
  grant?: string[];
  public?: boolean;
  pkce?: string;
  accessTokenFormat?: string;
  resourceServer?: boolean;
  idTokenAlg?: string;
  skipConsent?: boolean;
  postLogoutRedirectUri?: string[];
}

/** describeClient, plus `warning` when the client is a public one admitted without PKCE. */
function clientJson(client: ClientRecord): Record<string, unknown> {
  const warning = pkceWarning(client);
  return warning ? { ...describeClient(client), warning } : describeClient(client);
}

/** PKCE concerns only authorization codes (RFC 7636 §1): a client without that grant has nothing to say about it. */
function usesCodes(client: ClientRecord): boolean {
  return client.grantTypes.includes('authorization_code');
}

function clientType(client: ClientRecord): string {
  if (client.secretHash !== null) return 'confidential (client_secret_basic or client_secret_post)';
  if (!usesCodes(client)) return 'public (no secret: the implicit grant never uses one)';
  return client.pkceRequired
    ? 'public (no secret; PKCE required)'
    : 'public (no secret; PKCE optional: weaker, legacy PKB mode)';
}

function clientFields(client: ClientRecord): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ['client_id', client.id],
    ['name', client.name],
    ['type', clientType(client)],
    ['redirect URIs', client.redirectUris.join(' ') || '(none)'],
    ['scopes', client.scopes.join(' ')],
    ['grants', client.grantTypes.join(' ')],
    ['PKCE', client.pkceRequired ? 'required' : 'optional'],
    ['access tokens', client.accessTokenFormat === 'jwt' ? 'jwt (RFC 9068, verifiable with the JWKS)' : 'opaque'],
    ['resource server', client.resourceServer ? 'yes (may introspect every access token)' : 'no'],
    ['ID tokens', client.idTokenAlg],
    ['consent', client.skipConsent ? 'skipped (first-party app)' : 'asked'],
    ['post-logout URIs', client.postLogoutRedirectUris.join(' ') || '(none)'],
    ['created', new Date(client.createdAt).toISOString()],
    ['status', client.disabledAt === null ? 'enabled' : 'disabled'],
  ];
  return usesCodes(client) ? fields : fields.filter(([label]) => label !== 'PKCE');
}

/** The PKCE-optional warning goes to stderr, so it is seen even when stdout is piped or JSON. */
function warnIfWeak(client: ClientRecord, io: CliIo): void {
  const warning = pkceWarning(client);
  if (warning) printNote(io.stderr, warning);
}

async function addClient(options: AddOptions, io: CliIo): Promise<void> {
  const input = operatorClientChoices({
    name: options.name,
    redirectUris: options.redirectUri ?? [],
    scopes: options.scope,
    grants: options.grant,
    public: options.public ?? false,
    pkce: options.pkce,
    accessTokenFormat: options.accessTokenFormat,
    resourceServer: options.resourceServer ?? false,
    idTokenAlg: options.idTokenAlg,
    skipConsent: options.skipConsent ?? false,
    postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
  });
  const { client, secret } = await withStore(options.db, (store) => registerClient(store, input, Date.now()));
  recordChange(io, 'client_created', {
    client: client.id,
    name: client.name,
    grant_types: client.grantTypes,
    scopes: client.scopes,
  });
  if (options.json) {
    printJson(io.stdout, secret === undefined ? clientJson(client) : { ...clientJson(client), client_secret: secret });
  } else {
    const fields = clientFields(client);
    const lines = [`registered client '${client.name}'`];
    if (secret !== undefined) {
      fields.splice(1, 0, ['client_secret', secret]);
      lines.push(...formatFields(fields));
      lines.push(
        '',
        'The client secret is shown only this once: store it now. Tessera keeps only its hash;',
        `'tessera client rotate-secret ${client.id}' makes a new one.`,
      );
    } else {
      lines.push(...formatFields(fields));
    }
    printLines(io.stdout, ...lines);
  }
  warnIfWeak(client, io);
}

async function listClients(options: DbOptions, io: CliIo): Promise<void> {
  const clients = await withStore(options.db, listAllClients);
  printList(io.stdout, clients, {
    json: options.json,
    empty: 'no clients',
    header: ['CLIENT_ID', 'NAME', 'TYPE', 'SCOPES', 'GRANTS'],
    toJson: clientJson,
    row: (c) => [
      c.id,
      c.name,
      c.secretHash !== null ? 'confidential' : c.pkceRequired ? 'public' : 'public (PKCE optional)',
      c.scopes.join(','),
      c.grantTypes.join(','),
    ],
  });
}

async function showClient(id: string, options: DbOptions, io: CliIo): Promise<void> {
  const client = await withStore(options.db, (store) => getClient(store, id));
  if (options.json) printJson(io.stdout, clientJson(client));
  else printLines(io.stdout, ...formatFields(clientFields(client)));
  warnIfWeak(client, io);
}

async function removeClient(id: string, options: DbOptions, io: CliIo): Promise<void> {
  await withStore(options.db, (store) => removeOneClient(store, id));
  recordChange(io, 'client_removed', { client: id });
  if (options.json) printJson(io.stdout, { client_id: id, removed: true });
  else printLines(io.stdout, `removed client '${id}' and every token issued to it`);
}

async function rotateSecret(id: string, options: DbOptions, io: CliIo): Promise<void> {
  const secret = await withStore(options.db, (store) => rotateClientSecret(store, id));
  recordChange(io, 'client_secret_rotated', { client: id });
  if (options.json) {
    printJson(io.stdout, { client_id: id, client_secret: secret });
    return;
  }
  printLines(
    io.stdout,
    ...formatFields([
      ['client_id', id],
      ['client_secret', secret],
    ]),
    '',
    'The new secret is shown only this once: store it now. The old secret no longer works.',
  );
}

export function registerClientCommands(program: Command, io: CliIo): void {
  const client = requireSubcommand(program.command('client').description('manage OAuth clients'));

  client
    .command('add')
    .description('register a client')
    .requiredOption('--name <name>', 'the name people see on the consent page')
    .option('--redirect-uri <uri>', 'a redirect URI (repeatable; at least one for grants that redirect)', collect)
    .option(
      '--scope <scope>',
      'a scope the client may ask for: a role (PATIENT, CLINICIAN, TEAMCOORD), a registered API scope, or openid, profile, email (repeatable; default all roles)',
      collectList,
    )
    .option(
      '--grant <grant>',
      'authorization_code, refresh_token, implicit or client_credentials. Repeatable; the grants given REPLACE the defaults (authorization_code and refresh_token; none for --resource-server), so list every grant the client needs. implicit alone makes a public client (it never uses a secret)',
      collectList,
    )
    .option('--public', 'a public client (no secret; PKCE required unless --pkce optional)')
    .option(
      '--pkce <mode>',
      "'required' or 'optional', with the authorization_code grant (optional only with --public: PKB's weaker legacy mode; a confidential client may skip PKCE already)",
    )
    .option(
      '--access-token-format <format>',
      "'opaque' (default) or 'jwt' (RFC 9068: verifiable by an API with the JWKS)",
    )
    .option('--resource-server', 'an API that may introspect every access token (confidential; no redirect URI needed)')
    .option('--id-token-alg <alg>', 'how its OpenID Connect ID tokens are signed: RS256 (default), ES256 or EdDSA')
    .option('--skip-consent', 'a first-party app: a signed-in person is not asked to consent')
    .option(
      '--post-logout-redirect-uri <uri>',
      'where logout may send the browser back to (repeatable; exact match)',
      collect,
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: AddOptions) => addClient(options, io));

  client
    .command('list')
    .description('list clients')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: DbOptions) => listClients(options, io));

  client
    .command('show')
    .description('show one client')
    .argument('<id>', 'client_id')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => showClient(id, options, io));

  client
    .command('remove')
    .description('remove a client and everything issued to it')
    .argument('<id>', 'client_id')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => removeClient(id, options, io));

  client
    .command('rotate-secret')
    .description('give a confidential client a new secret (the old one stops working at once)')
    .argument('<id>', 'client_id')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => rotateSecret(id, options, io));
}
