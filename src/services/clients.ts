/**
 * What an operator does with OAuth clients: registration (RFC 6749 §2: the rules a client
 * must meet before it may ask for anything), looking clients up, changing their settings
 * (and ending what a change takes away), disabling, rotating a secret and removing a
 * client. Used by `tessera client …` and by the demo's seeding; an unknown id or a broken
 * rule is an InvalidInputError.
 */
import type { AuthorizationRequest } from '../oauth/authorize.js';
import { checkRegistrableRedirectUri, redirectUriMatches } from '../oauth/redirect-uri.js';
import { codeResponseType } from '../oauth/response-types/code.js';
import { tokenResponseType } from '../oauth/response-types/token.js';
import { parseRole, ROLES } from '../oauth/role-scope.js';
import { OPENID_SCOPES } from '../oauth/scope.js';
import { hashSecret, newId, newSecret } from '../oauth/tokens.js';
import { formatDuration, parseDuration, parseLifetime } from './durations.js';
import { InvalidInputError } from './errors.js';
import type {
  AccessTokenFormat,
  ClientLifetimes,
  ClientRecord,
  ClientUpdateEffects,
  ClientUpdateResult,
  GrantType,
  Store,
} from '../store/store.js';

export const GRANT_TYPES: readonly GrantType[] = [
  'authorization_code',
  'refresh_token',
  'implicit',
  'client_credentials',
];
const DEFAULT_GRANTS: GrantType[] = ['authorization_code', 'refresh_token'];
export const ACCESS_TOKEN_FORMATS: readonly AccessTokenFormat[] = ['opaque', 'jwt'];

export interface NewClient {
  name: string;
  redirectUris: string[];
  /** Role names in any case, registered API scopes and OpenID scopes; default all roles. */
  scopes?: string[];
  /** Default authorization_code and refresh_token (none for a resource server). */
  grants?: string[];
  public?: boolean;
  /** Default `required` for public clients, `optional` for confidential ones. */
  pkce?: string;
  /** `opaque` (default) or `jwt` (RFC 9068). */
  accessTokenFormat?: string;
  /** May introspect every access token (RFC 7662 §4); confidential only. */
  resourceServer?: boolean;
  /** The JWS algorithm of its ID tokens: RS256 (default), ES256 or EdDSA. */
  idTokenAlg?: string;
  /** A first-party app: a signed-in person is not asked to consent. */
  skipConsent?: boolean;
  /** Where RP-Initiated Logout may send the browser back to (exact match). */
  postLogoutRedirectUris?: string[];
  /** Its own lifetimes (durations; absent: the server's), as `client update` takes them. */
  codeLifetime?: string;
  accessTokenLifetime?: string;
  refreshLifetime?: string;
  /** Fixed id (the demo seeds a known one); default random. */
  id?: string;
  /** The secret of a confidential client, when the caller derives it (the demo's API); default random. */
  secret?: string;
  /** The demo's own client (seeded by `serve --demo`): refused by a server without --demo. */
  demo?: boolean;
}

/**
 * The scopes a client is enabled for: roles (any case in, capitals stored) first, then
 * registered API scopes and OpenID scopes (case-sensitive) in the order given.
 */
export function parseClientScopes(values: string[] | undefined, apiScopes: readonly string[]): string[] {
  if (!values || values.length === 0) return [...ROLES];
  const roles = new Set<string>();
  const others: string[] = [];
  for (const v of values) {
    const role = parseRole(v);
    if (role) roles.add(role);
    else if (apiScopes.includes(v) || (OPENID_SCOPES as readonly string[]).includes(v)) {
      if (!others.includes(v)) others.push(v);
    } else {
      throw new InvalidInputError(
        `unknown scope '${v}': use PATIENT, CLINICIAN, TEAMCOORD, an API scope ('tessera scope list') or ${OPENID_SCOPES.join(', ')}`,
      );
    }
  }
  return [...ROLES.filter((r) => roles.has(r)), ...others];
}

function parseGrants(values: string[] | undefined, isPublic: boolean, resourceServer: boolean): GrantType[] {
  if (!values || values.length === 0) return resourceServer ? [] : [...DEFAULT_GRANTS];
  for (const v of values) {
    if (!(GRANT_TYPES as readonly string[]).includes(v)) {
      throw new InvalidInputError(`unknown grant '${v}': use ${GRANT_TYPES.join(', ')}`);
    }
  }
  const grants = GRANT_TYPES.filter((g) => values.includes(g));
  if (grants.includes('refresh_token') && !grants.includes('authorization_code')) {
    throw new InvalidInputError('grant refresh_token needs authorization_code too: refresh tokens come from codes');
  }
  if (isPublic && grants.includes('client_credentials')) {
    throw new InvalidInputError('grant client_credentials needs a confidential client: drop --public');
  }
  return grants;
}

function parseAccessTokenFormat(value: string | undefined): AccessTokenFormat {
  if (value === undefined) return 'opaque';
  if (!(ACCESS_TOKEN_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidInputError(`--access-token-format must be 'opaque' or 'jwt', not '${value}'`);
  }
  return value as AccessTokenFormat;
}

/** ID token algorithms (OpenID Connect Core §3.1.3.7: RS256 is the default every relying party supports). */
export const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;

function parseIdTokenAlg(value: string | undefined): string {
  if (value === undefined) return 'RS256';
  if (!(ID_TOKEN_ALGS as readonly string[]).includes(value)) {
    throw new InvalidInputError(`--id-token-alg must be one of ${ID_TOKEN_ALGS.join(', ')}, not '${value}'`);
  }
  return value;
}

/**
 * Post-logout redirect URIs (RP-Initiated Logout 1.0 §3.1): the same rules as redirect
 * URIs, since the browser is sent there just the same.
 */
function checkPostLogoutRedirectUris(uris: string[] | undefined): string[] {
  const unique = [...new Set(uris ?? [])];
  for (const uri of unique) {
    const problem = checkRegistrableRedirectUri(uri);
    if (problem) throw new InvalidInputError(`invalid post-logout redirect URI '${uri}': ${problem}`);
  }
  return unique;
}

function parsePkce(value: string | undefined, isPublic: boolean): boolean {
  if (value === undefined) return isPublic;
  if (value === 'required') return true;
  if (value === 'optional') return false;
  throw new InvalidInputError(`--pkce must be 'required' or 'optional', not '${value}'`);
}

/**
 * What `tessera client add` asks of an operator beyond what registration needs: it refuses
 * choices that would do nothing, and makes an implicit-only client public. Direct callers
 * of registerClient (the demo, tests) are not held to it.
 *
 * - A client with only the implicit grant gets no secret: the implicit grant never
 *   authenticates the client (RFC 6749 §4.2), so a secret could never be used. A resource
 *   server or a client_credentials client keeps its secret: it authenticates with it.
 * - `--pkce` needs the authorization_code grant: PKCE binds a code to its redeemer
 *   (RFC 7636 §1) and no other grant has a code.
 * - `--pkce optional` needs `--public`: a confidential client may already redeem its codes
 *   without PKCE, authenticating with its secret instead (RFC 6749 §4.1.3).
 */
export function operatorClientChoices(input: NewClient): NewClient {
  const isPublic = input.public ?? false;
  const resourceServer = input.resourceServer ?? false;
  if (isPublic && resourceServer) return input; // registerClient refuses it with its own line
  const grants = parseGrants(input.grants, isPublic, resourceServer);
  if (input.pkce !== undefined) {
    parsePkce(input.pkce, isPublic);
    if (!grants.includes('authorization_code')) {
      throw new InvalidInputError(
        '--pkce needs the authorization_code grant: PKCE protects authorization codes and no other grant has one',
      );
    }
    if (input.pkce === 'optional' && !isPublic) {
      throw new InvalidInputError(
        '--pkce optional is for public clients only (add --public): a confidential client may already skip PKCE, since its secret authenticates it',
      );
    }
  }
  const implicitOnly =
    grants.includes('implicit') && !grants.includes('authorization_code') && !grants.includes('client_credentials');
  if (implicitOnly && !resourceServer && !isPublic) return { ...input, public: true };
  return input;
}

function checkRedirectUris(uris: string[], grants: GrantType[]): string[] {
  const unique = [...new Set(uris)];
  for (const uri of unique) {
    const problem = checkRegistrableRedirectUri(uri);
    if (problem) throw new InvalidInputError(`invalid redirect URI '${uri}': ${problem}`);
  }
  if (unique.length === 0 && grants.some((g) => g === 'authorization_code' || g === 'implicit')) {
    throw new InvalidInputError('at least one --redirect-uri is required');
  }
  return unique;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw new InvalidInputError('--name must not be empty');
  if (trimmed.length > 200) throw new InvalidInputError('--name must be at most 200 characters');
  if (/\p{Cc}/u.test(trimmed)) throw new InvalidInputError('--name must not contain control characters');
  return trimmed;
}

/** Registers a client. The secret of a confidential client is returned only here. */
export async function registerClient(
  store: Pick<Store, 'createClient' | 'getClient' | 'listApiScopes'>,
  input: NewClient,
  now: number,
): Promise<{ client: ClientRecord; secret?: string }> {
  const isPublic = input.public ?? false;
  const resourceServer = input.resourceServer ?? false;
  if (isPublic && resourceServer) {
    throw new InvalidInputError('a resource server authenticates with a secret: drop --public');
  }
  const grantTypes = parseGrants(input.grants, isPublic, resourceServer);
  const needsApiScopes = input.scopes?.some((v) => !parseRole(v)) ?? false;
  const apiScopes = needsApiScopes ? (await store.listApiScopes()).map((s) => s.name) : [];
  const client: ClientRecord = {
    id: input.id ?? newId(),
    name: checkName(input.name),
    secretHash: null,
    redirectUris: checkRedirectUris(input.redirectUris, grantTypes),
    scopes: parseClientScopes(input.scopes, apiScopes),
    grantTypes,
    pkceRequired: parsePkce(input.pkce, isPublic),
    accessTokenFormat: parseAccessTokenFormat(input.accessTokenFormat),
    resourceServer,
    idTokenAlg: parseIdTokenAlg(input.idTokenAlg),
    skipConsent: input.skipConsent ?? false,
    postLogoutRedirectUris: checkPostLogoutRedirectUris(input.postLogoutRedirectUris),
    createdAt: now,
    disabledAt: null,
    lifetimes: changedLifetimes({}, input),
    previousSecret: null,
    ...(input.demo && { demo: true }),
  };
  if (input.id !== undefined && (await store.getClient(input.id))) {
    throw new InvalidInputError(`client '${input.id}' already exists`);
  }
  if (isPublic && input.secret !== undefined) throw new InvalidInputError('a public client has no secret');
  const secret = isPublic ? undefined : (input.secret ?? newSecret());
  if (secret) client.secretHash = hashSecret(secret);
  await store.createClient(client);
  return secret ? { client, secret } : { client };
}

function noClient(id: string): InvalidInputError {
  return new InvalidInputError(`no client '${id}'`);
}

/** Every client. */
export function listClients(store: Pick<Store, 'listClients'>): Promise<ClientRecord[]> {
  return store.listClients();
}

/** The client with this id, or undefined. */
export function findClient(store: Pick<Store, 'getClient'>, id: string): Promise<ClientRecord | undefined> {
  return store.getClient(id);
}

/** The client with this id; an unknown id is an InvalidInputError. */
export async function getClient(store: Pick<Store, 'getClient'>, id: string): Promise<ClientRecord> {
  const client = await store.getClient(id);
  if (!client) throw noClient(id);
  return client;
}

/** Removes a client and everything issued to it; an unknown id is an InvalidInputError. */
export async function removeClient(store: Pick<Store, 'removeClient'>, id: string): Promise<void> {
  if (!(await store.removeClient(id))) throw noClient(id);
}

/** The longest grace a rotated secret may have: long enough for a slow rollout, short enough to end. */
export const MAX_SECRET_GRACE = 30 * 24 * 3600;

/** `--grace`: a duration from 0 (the old secret stops at once) to 30 days. */
export function parseGrace(value: string | number): number {
  return parseDuration(value, '--grace', { min: 0, max: MAX_SECRET_GRACE });
}

/**
 * A new secret for a confidential client. With `graceSeconds` > 0 the secret it had keeps
 * working until the grace ends (`previousUntil`), so that every instance of the app can be
 * given the new one first; only the secret replaced now is kept: after a second rotation
 * within a grace, the first secret stops at once. Without, the old secret stops at once.
 */
export async function rotateClientSecret(
  store: Pick<Store, 'getClient' | 'setClientSecret'>,
  id: string,
  graceSeconds = 0,
  now: number = Date.now(),
): Promise<{ secret: string; previousUntil: number | null }> {
  const client = await getClient(store, id);
  if (client.secretHash === null) throw new InvalidInputError(`client '${id}' is public: it has no secret`);
  const secret = newSecret();
  const previousUntil = graceSeconds > 0 ? now + graceSeconds * 1000 : null;
  if (!(await store.setClientSecret(id, hashSecret(secret), previousUntil))) throw noClient(id);
  return { secret, previousUntil };
}

/**
 * Disables (`disable`) or enables a client; returns it as it is now and whether anything
 * changed. A disabled client is refused everywhere — authorization, token, introspection
 * and revocation requests — and its tokens are not honoured while it is disabled; its
 * grants are kept, so enabling it again brings them back.
 */
export async function setClientDisabled(
  store: Pick<Store, 'getClient' | 'setClientDisabled'>,
  id: string,
  disable: boolean,
  now: number,
): Promise<{ client: ClientRecord; changed: boolean }> {
  const before = await getClient(store, id);
  if ((before.disabledAt !== null) === disable) return { client: before, changed: false };
  if (!(await store.setClientDisabled(id, disable ? now : null))) throw noClient(id);
  return { client: await getClient(store, id), changed: true };
}

/** What `tessera client update` may change; absent: unchanged. */
export interface ClientChanges {
  name?: string;
  addRedirectUris?: string[];
  removeRedirectUris?: string[];
  /** Replaces the scopes (as `client add --scope`). Not with addScopes/removeScopes. */
  scopes?: string[];
  addScopes?: string[];
  removeScopes?: string[];
  /** Replaces the grants (as `client add --grant`). */
  grants?: string[];
  pkce?: string;
  accessTokenFormat?: string;
  idTokenAlg?: string;
  skipConsent?: boolean;
  addPostLogoutRedirectUris?: string[];
  removePostLogoutRedirectUris?: string[];
  /** A duration, or `default` for the server's. */
  codeLifetime?: string;
  accessTokenLifetime?: string;
  refreshLifetime?: string;
}

/** The value that puts a client's lifetime back to the server's. */
export const SERVER_LIFETIME = 'default';

/** How `client update` ended: the client before and after, what changed, and what was ended. */
export interface ClientUpdate {
  before: ClientRecord;
  client: ClientRecord;
  /** The describeClient fields whose value changed, in its order. */
  changed: string[];
  /** The scopes and redirect URIs taken away, and the grants. */
  removed: { scopes: string[]; redirectUris: string[]; grants: GrantType[] };
  ended: ClientUpdateResult;
}

const NOTHING_ENDED: ClientUpdateResult = { grantsRevoked: 0, codesEnded: 0, pendingEnded: 0, refreshTokensDeleted: 0 };

/** Attempts when another change to the same client lands between the read and the write. */
const UPDATE_ATTEMPTS = 5;

/**
 * Changes a client's settings with the rules of registration (`client add`), and ends,
 * in the same transaction, what the change takes away (and nothing else: a new name, an
 * added redirect URI or scope, a longer lifetime keep every grant and token working):
 *
 * - a scope taken away revokes the client's grants whose scope holds it (revoked, not
 *   narrowed: the person allowed the whole, and a grant is one decision);
 * - a redirect URI taken away ends the sign-ins under way that would return there and
 *   revokes the grants of codes sent there and not yet redeemed (RFC 6749 §4.1.3 binds a
 *   code to its redirect URI; a code sent without one — the client then had a single URI
 *   — is ended too, since where it went is not known). Grants whose code was redeemed keep
 *   their tokens: refresh and access tokens are not bound to a redirect URI, which no
 *   request using them carries;
 * - the refresh_token grant taken away deletes the client's refresh tokens;
 *   authorization_code (or implicit) ends unredeemed codes (sign-ins) of that kind; client_credentials
 *   revokes the client's own grants;
 * - PKCE made required ends the sign-ins under way without a code_challenge.
 *
 * New lifetimes apply to what is issued from then on; what was issued keeps its end.
 */
export async function updateClient(
  store: Pick<Store, 'getClient' | 'listApiScopes' | 'updateClient'>,
  id: string,
  changes: ClientChanges,
  now: number,
): Promise<ClientUpdate> {
  if (!Object.values(changes).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0))) {
    throw new InvalidInputError(`nothing to update: give at least one option (see 'tessera client update --help')`);
  }
  const apiScopes = async () => (await store.listApiScopes()).map((s) => s.name);
  for (let attempt = 1; ; attempt++) {
    const before = await getClient(store, id);
    const client = changedClient(before, changes, await apiScopes());
    const removed = {
      scopes: before.scopes.filter((s) => !client.scopes.includes(s)),
      redirectUris: before.redirectUris.filter((u) => !client.redirectUris.includes(u)),
      grants: before.grantTypes.filter((g) => !client.grantTypes.includes(g)),
    };
    const changed = changedFields(before, client);
    if (changed.length === 0) return { before, client, changed, removed, ended: NOTHING_ENDED };
    const ended = await store.updateClient(before, client, updateEffects(before, client, removed), now);
    if (ended === 'missing') throw noClient(id);
    if (ended !== 'changed') return { before, client, changed, removed, ended };
    if (attempt === UPDATE_ATTEMPTS) {
      throw new InvalidInputError(`client '${id}' kept being changed by someone else meanwhile: try again`);
    }
  }
}

/** The describeClient fields that differ between the two. */
function changedFields(before: ClientRecord, after: ClientRecord): string[] {
  const was = describeClient(before);
  const now = describeClient(after);
  return Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
}

/** Values from a list, each once, in the order given. */
const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** The client as `changes` would make it, by the rules of registration; any broken rule is an InvalidInputError. */
function changedClient(before: ClientRecord, changes: ClientChanges, apiScopes: readonly string[]): ClientRecord {
  const isPublic = before.secretHash === null;
  const grantTypes =
    changes.grants === undefined ? before.grantTypes : parseGrants(changes.grants, isPublic, before.resourceServer);
  const pkceRequired = changes.pkce === undefined ? before.pkceRequired : parsePkce(changes.pkce, isPublic);
  if (changes.pkce !== undefined) {
    if (!grantTypes.includes('authorization_code')) {
      throw new InvalidInputError(
        '--pkce needs the authorization_code grant: PKCE protects authorization codes and no other grant has one',
      );
    }
    if (changes.pkce === 'optional' && !isPublic) {
      throw new InvalidInputError(
        '--pkce optional is for public clients only: a confidential client may already skip PKCE, since its secret authenticates it',
      );
    }
  }
  const redirectUris = checkRedirectUris(
    editList(before.redirectUris, changes.addRedirectUris, changes.removeRedirectUris, 'redirect URI'),
    grantTypes,
  );
  const postLogoutRedirectUris = checkPostLogoutRedirectUris(
    editList(
      before.postLogoutRedirectUris,
      changes.addPostLogoutRedirectUris,
      changes.removePostLogoutRedirectUris,
      'post-logout redirect URI',
    ),
  );
  return {
    ...before,
    name: changes.name === undefined ? before.name : checkName(changes.name),
    redirectUris,
    scopes: changedScopes(before.scopes, changes, apiScopes),
    grantTypes,
    pkceRequired,
    accessTokenFormat:
      changes.accessTokenFormat === undefined
        ? before.accessTokenFormat
        : parseAccessTokenFormat(changes.accessTokenFormat),
    idTokenAlg: changes.idTokenAlg === undefined ? before.idTokenAlg : parseIdTokenAlg(changes.idTokenAlg),
    skipConsent: changes.skipConsent ?? before.skipConsent,
    postLogoutRedirectUris,
    lifetimes: changedLifetimes(before.lifetimes ?? {}, changes),
  };
}

/** `list` with `add` appended and `remove` taken out; removing what is not there is refused (a typo would pass unseen). */
function editList(list: readonly string[], add: string[] = [], remove: string[] = [], what: string): string[] {
  const both = add.find((v) => remove.includes(v));
  if (both !== undefined) throw new InvalidInputError(`'${both}' is both added and removed`);
  const missing = remove.find((v) => !list.includes(v));
  if (missing !== undefined) throw new InvalidInputError(`the client has no ${what} '${missing}'`);
  return unique([...list.filter((v) => !remove.includes(v)), ...add]);
}

function changedScopes(before: readonly string[], changes: ClientChanges, apiScopes: readonly string[]): string[] {
  const { scopes, addScopes = [], removeScopes = [] } = changes;
  if (scopes !== undefined && (addScopes.length > 0 || removeScopes.length > 0)) {
    throw new InvalidInputError('use --scope (replaces every scope) or --add-scope/--remove-scope, not both');
  }
  if (scopes !== undefined) return parseClientScopes(scopes, apiScopes);
  if (addScopes.length === 0 && removeScopes.length === 0) return [...before];
  // Role names in any case, as `client add` takes them; everything else exactly.
  const normal = (v: string) => parseRole(v) ?? v;
  // (Not parseClientScopes([]): no values there means the default, every role.)
  const added = addScopes.length > 0 ? parseClientScopes(addScopes, apiScopes) : [];
  const kept = editList(before, [], removeScopes.map(normal), 'scope');
  const both = added.find((v) => removeScopes.map(normal).includes(v));
  if (both !== undefined) throw new InvalidInputError(`'${both}' is both added and removed`);
  const result = [...kept, ...added.filter((v) => !kept.includes(v))];
  if (result.length === 0) {
    throw new InvalidInputError('the client would have no scope left: keep one, or remove the client');
  }
  // Roles first, in their usual order, then the others as registered.
  return [...ROLES.filter((r) => result.includes(r)), ...result.filter((v) => !parseRole(v))];
}

const LIFETIME_OPTIONS = [
  ['codeLifetime', 'code', '--code-lifetime'],
  ['accessTokenLifetime', 'accessToken', '--access-token-lifetime'],
  ['refreshLifetime', 'grant', '--refresh-lifetime'],
] as const;

function changedLifetimes(
  before: ClientLifetimes,
  changes: Pick<ClientChanges, (typeof LIFETIME_OPTIONS)[number][0]>,
): ClientLifetimes {
  const lifetimes: ClientLifetimes = { ...before };
  for (const [option, kind, flag] of LIFETIME_OPTIONS) {
    const value = changes[option];
    if (value === undefined) continue;
    if (value.trim() === SERVER_LIFETIME) delete lifetimes[kind];
    else lifetimes[kind] = parseLifetime(kind, value, flag);
  }
  return lifetimes;
}

/** Which grant type a stored request's response type issues under. */
function grantTypeOf(request: AuthorizationRequest): GrantType | undefined {
  return [codeResponseType, tokenResponseType].find((h) => h.responseType === request.responseType)?.grantType;
}

/** What taking `removed` away (and requiring PKCE) ends: see updateClient. */
function updateEffects(
  before: ClientRecord,
  after: ClientRecord,
  removed: ClientUpdate['removed'],
): ClientUpdateEffects {
  const registered = (uri: string) => after.redirectUris.some((r) => redirectUriMatches(uri, r));
  const grantRemoved = (g: GrantType | undefined) => g !== undefined && removed.grants.includes(g);
  const pkceNow = after.pkceRequired && !before.pkceRequired;
  const effects: ClientUpdateEffects = {
    revokeScopes: removed.scopes,
    revokeClientGrants: removed.grants.includes('client_credentials'),
    deleteRefreshTokens: removed.grants.includes('refresh_token'),
  };
  if (removed.redirectUris.length > 0 || removed.grants.includes('authorization_code')) {
    effects.endsCode = (uri) => removed.grants.includes('authorization_code') || uri === null || !registered(uri);
  }
  if (removed.redirectUris.length > 0 || removed.scopes.length > 0 || removed.grants.length > 0 || pkceNow) {
    effects.endsPending = (text) => {
      const request = JSON.parse(text) as AuthorizationRequest;
      return (
        !registered(request.redirectUri) ||
        (request.role !== undefined && removed.scopes.includes(request.role)) ||
        (request.scopes ?? []).some((s) => removed.scopes.includes(s)) ||
        grantRemoved(grantTypeOf(request)) ||
        (pkceNow && request.responseType === 'code' && request.codeChallenge === undefined)
      );
    };
  }
  return effects;
}

/** A client's own lifetime, or the server's (`default`), as operators read it. */
export function describeLifetime(lifetimes: ClientLifetimes | undefined, kind: keyof ClientLifetimes): string {
  const own = lifetimes?.[kind];
  return own === undefined ? SERVER_LIFETIME : formatDuration(own);
}

/** What a client looks like to its operator (RFC 7591 metadata names). */
export function describeClient(client: ClientRecord): Record<string, unknown> {
  const isPublic = client.secretHash === null;
  return {
    client_id: client.id,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    scope: client.scopes.join(' '),
    grant_types: client.grantTypes,
    token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
    pkce_required: client.pkceRequired,
    access_token_format: client.accessTokenFormat,
    resource_server: client.resourceServer,
    id_token_signed_response_alg: client.idTokenAlg,
    skip_consent: client.skipConsent,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    // Seconds; null: the server's (`serve --code-lifetime …`).
    code_lifetime: client.lifetimes?.code ?? null,
    access_token_lifetime: client.lifetimes?.accessToken ?? null,
    refresh_lifetime: client.lifetimes?.grant ?? null,
    created_at: new Date(client.createdAt).toISOString(),
    disabled: client.disabledAt !== null,
    ...(client.previousSecret &&
      client.previousSecret.expiresAt > Date.now() && {
        previous_secret_valid_until: new Date(client.previousSecret.expiresAt).toISOString(),
      }),
    ...(client.demo && { demo: true }),
  };
}

/** A plain warning for a public client admitted without PKCE (PKB's documented flow has none; the operator is told plainly that it is weaker). */
export function pkceWarning(client: ClientRecord): string | undefined {
  if (client.secretHash !== null || client.pkceRequired) return undefined;
  return 'warning: this public client may redeem codes without PKCE (legacy PKB mode); a stolen code can then be used by anyone. Prefer PKCE.';
}
