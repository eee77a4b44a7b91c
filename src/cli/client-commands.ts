/** `tessera client add|list|show|update|disable|enable|remove|rotate-secret`: manage OAuth clients. */
import { Option, type Command } from 'commander';
import {
  describeClient,
  describeLifetime,
  getClient,
  listClients as listAllClients,
  MAX_SECRET_GRACE,
  operatorClientChoices,
  parseGrace,
  pkceWarning,
  registerClient,
  removeClient as removeOneClient,
  rotateClientSecret,
  setClientDisabled,
  updateClient,
  type ClientChanges,
  type ClientUpdate,
} from '../services/clients.js';
import { formatDuration } from '../services/durations.js';
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
  codeLifetime?: string;
  accessTokenLifetime?: string;
  refreshLifetime?: string;
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

function lifetimeText(client: ClientRecord, kind: 'code' | 'accessToken' | 'grant'): string {
  const value = describeLifetime(client.lifetimes, kind);
  return value === 'default' ? "the server's (default)" : value;
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
    ['code lifetime', lifetimeText(client, 'code')],
    ['access token lifetime', lifetimeText(client, 'accessToken')],
    ['refresh lifetime', lifetimeText(client, 'grant')],
    ['created', new Date(client.createdAt).toISOString()],
    ['status', client.disabledAt === null ? 'enabled' : `disabled since ${new Date(client.disabledAt).toISOString()}`],
  ];
  const previous = client.previousSecret;
  if (previous && previous.expiresAt > Date.now()) {
    fields.push(['previous secret', `still accepted until ${new Date(previous.expiresAt).toISOString()}`]);
  }
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
    codeLifetime: options.codeLifetime,
    accessTokenLifetime: options.accessTokenLifetime,
    refreshLifetime: options.refreshLifetime,
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

async function rotateSecret(id: string, options: DbOptions & { grace: string }, io: CliIo): Promise<void> {
  const grace = parseGrace(options.grace);
  const { secret, previousUntil } = await withStore(options.db, (store) =>
    rotateClientSecret(store, id, grace, Date.now()),
  );
  const until = previousUntil === null ? undefined : new Date(previousUntil).toISOString();
  recordChange(io, 'client_secret_rotated', { client: id });
  if (options.json) {
    printJson(io.stdout, {
      client_id: id,
      client_secret: secret,
      ...(until !== undefined && { previous_secret_valid_until: until }),
    });
    return;
  }
  printLines(
    io.stdout,
    ...formatFields([
      ['client_id', id],
      ['client_secret', secret],
    ]),
    '',
    until === undefined
      ? 'The new secret is shown only this once: store it now. The old secret no longer works.'
      : `The new secret is shown only this once: store it now. The old secret keeps working until ${until} (${formatDuration(grace)}), then never again.`,
  );
}

async function setDisabled(id: string, disable: boolean, options: DbOptions, io: CliIo): Promise<void> {
  const { client, changed } = await withStore(options.db, (store) => setClientDisabled(store, id, disable, Date.now()));
  if (changed) recordChange(io, disable ? 'client_disabled' : 'client_enabled', { client: id });
  if (options.json) {
    printJson(io.stdout, clientJson(client));
    return;
  }
  const headline = disable
    ? changed
      ? `disabled client '${id}': it is refused everywhere and its tokens are not accepted until it is enabled again (its grants are kept)`
      : `client '${id}' was already disabled`
    : changed
      ? `enabled client '${id}': its grants and unexpired tokens work again`
      : `client '${id}' was already enabled`;
  printLines(io.stdout, headline, ...formatFields(clientFields(client)));
}

interface UpdateOptions extends DbOptions {
  name?: string;
  addRedirectUri?: string[];
  removeRedirectUri?: string[];
  scope?: string[];
  addScope?: string[];
  removeScope?: string[];
  grant?: string[];
  pkce?: string;
  accessTokenFormat?: string;
  idTokenAlg?: string;
  skipConsent?: boolean;
  addPostLogoutRedirectUri?: string[];
  removePostLogoutRedirectUri?: string[];
  codeLifetime?: string;
  accessTokenLifetime?: string;
  refreshLifetime?: string;
}

/** What the update took away and ended, as lines for a person. */
function updateLines(update: ClientUpdate): string[] {
  const { client, changed, removed, ended } = update;
  if (changed.length === 0) return [`client '${client.id}' is unchanged: it has these settings already`];
  const lines = [`updated client '${client.id}': ${changed.join(', ')}`];
  const takenAway = [
    ...removed.scopes.map((s) => `scope ${s}`),
    ...removed.redirectUris.map((u) => `redirect URI ${u}`),
    ...removed.grants.map((g) => `grant ${g}`),
  ];
  if (takenAway.length === 0) {
    lines.push('nothing was taken away: every grant and token keeps working');
  } else {
    lines.push(
      `taken away: ${takenAway.join(', ')}`,
      `revoked: ${ended.grantsRevoked} grant(s) holding what was taken away, ${ended.codesEnded} grant(s) of unredeemed codes, ` +
        `${ended.pendingEnded} sign-in(s) under way, ${ended.refreshTokensDeleted} refresh token(s)`,
    );
  }
  if (changed.some((c) => c.endsWith('_lifetime'))) {
    lines.push('new lifetimes apply to what is issued from now on; what was issued keeps its end');
  }
  return [...lines, ...formatFields(clientFields(client))];
}

async function update(id: string, options: UpdateOptions, io: CliIo): Promise<void> {
  const changes: ClientChanges = {
    name: options.name,
    addRedirectUris: options.addRedirectUri,
    removeRedirectUris: options.removeRedirectUri,
    scopes: options.scope,
    addScopes: options.addScope,
    removeScopes: options.removeScope,
    grants: options.grant,
    pkce: options.pkce,
    accessTokenFormat: options.accessTokenFormat,
    idTokenAlg: options.idTokenAlg,
    skipConsent: options.skipConsent,
    addPostLogoutRedirectUris: options.addPostLogoutRedirectUri,
    removePostLogoutRedirectUris: options.removePostLogoutRedirectUri,
    codeLifetime: options.codeLifetime,
    accessTokenLifetime: options.accessTokenLifetime,
    refreshLifetime: options.refreshLifetime,
  };
  const result = await withStore(options.db, (store) => updateClient(store, id, changes, Date.now()));
  if (result.changed.length > 0) recordChange(io, 'client_updated', { client: id, changes: result.changed });
  if (options.json) {
    printJson(io.stdout, {
      ...clientJson(result.client),
      changed: result.changed,
      taken_away: {
        scopes: result.removed.scopes,
        redirect_uris: result.removed.redirectUris,
        grant_types: result.removed.grants,
      },
      revoked: {
        grants: result.ended.grantsRevoked,
        unredeemed_codes: result.ended.codesEnded,
        pending_authorizations: result.ended.pendingEnded,
        refresh_tokens: result.ended.refreshTokensDeleted,
      },
    });
  } else {
    printLines(io.stdout, ...updateLines(result));
  }
  warnIfWeak(result.client, io);
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
    .option('--code-lifetime <duration>', "its codes' lifetime: 10s to 10m (default: the server's)")
    .option('--access-token-lifetime <duration>', "its access tokens' expires_in: 1m to 1d (default: the server's)")
    .option(
      '--refresh-lifetime <duration>',
      "its authorization sessions' lifetime (refresh tokens end with it): 1m to 3650d (default: the server's)",
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
    .description('give a confidential client a new secret, shown once')
    .argument('<id>', 'client_id')
    .addOption(
      new Option(
        '--grace <duration>',
        `how long the old secret keeps working beside the new one: 0 (default: it stops at once) to ${formatDuration(MAX_SECRET_GRACE)}, as 30s, 15m, 24h, 7d. Only the secret replaced now is kept: rotating again within a grace ends the older one at once`,
      ).default('0'),
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions & { grace: string }) => rotateSecret(id, options, io));

  client
    .command('update')
    .description('change a client: what is taken away (a scope, a redirect URI, a grant) is revoked at once and said')
    .argument('<id>', 'client_id')
    .option('--name <name>', 'the name people see on the consent page')
    .option('--add-redirect-uri <uri>', 'register another redirect URI (repeatable)', collect)
    .option(
      '--remove-redirect-uri <uri>',
      'unregister a redirect URI (repeatable): sign-ins under way and unredeemed codes for it end',
      collect,
    )
    .option(
      '--scope <scope>',
      'replace the scopes the client may ask for, as client add --scope (repeatable)',
      collectList,
    )
    .option('--add-scope <scope>', 'enable another scope (repeatable)', collectList)
    .option('--remove-scope <scope>', 'disable a scope (repeatable): grants holding it are revoked', collectList)
    .option(
      '--grant <grant>',
      'replace the grants, as client add --grant (repeatable): taking refresh_token away deletes refresh tokens',
      collectList,
    )
    .option('--pkce <mode>', "'required' or 'optional' (public clients only: PKB's weaker legacy mode)")
    .option('--access-token-format <format>', "'opaque' or 'jwt' (RFC 9068)")
    .option('--id-token-alg <alg>', 'RS256, ES256 or EdDSA')
    .option('--skip-consent', 'a first-party app: a signed-in person is not asked to consent')
    .option('--no-skip-consent', 'ask for consent again')
    .option('--add-post-logout-redirect-uri <uri>', 'where logout may send the browser back to (repeatable)', collect)
    .option('--remove-post-logout-redirect-uri <uri>', 'unregister a post-logout redirect URI (repeatable)', collect)
    .option('--code-lifetime <duration>', "its codes' lifetime: 10s to 10m, or 'default' for the server's")
    .option('--access-token-lifetime <duration>', "its access tokens' expires_in: 1m to 1d, or 'default'")
    .option(
      '--refresh-lifetime <duration>',
      "its authorization sessions' lifetime (refresh tokens end with it): 1m to 3650d, or 'default'",
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: UpdateOptions) => update(id, options, io));

  client
    .command('disable')
    .description('refuse a client everywhere; its tokens are not accepted while it is disabled (its grants are kept)')
    .argument('<id>', 'client_id')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => setDisabled(id, true, options, io));

  client
    .command('enable')
    .description('let a disabled client in again: its grants and unexpired tokens work again')
    .argument('<id>', 'client_id')
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((id: string, options: DbOptions) => setDisabled(id, false, options, io));
}
