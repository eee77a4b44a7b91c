/**
 * What an operator does with OAuth clients: registration (RFC 6749 §2: the rules a client
 * must meet before it may ask for anything), looking clients up, rotating a secret and
 * removing a client. Used by `tessera client …` and by the demo's seeding; an unknown id
 * or a broken rule is an InvalidInputError.
 */
import { checkRegistrableRedirectUri } from '../oauth/redirect-uri.js';
import { parseRole, ROLES } from '../oauth/role-scope.js';
import { OPENID_SCOPES } from '../oauth/scope.js';
import { hashSecret, newId, newSecret } from '../oauth/tokens.js';
import { InvalidInputError } from './errors.js';
import type { AccessTokenFormat, ClientRecord, GrantType, Store } from '../store/store.js';

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

/** A new secret for a confidential client; the old one stops working at once. */
export async function rotateClientSecret(
  store: Pick<Store, 'getClient' | 'setClientSecret'>,
  id: string,
): Promise<string> {
  const client = await getClient(store, id);
  if (client.secretHash === null) throw new InvalidInputError(`client '${id}' is public: it has no secret`);
  const secret = newSecret();
  await store.setClientSecret(id, hashSecret(secret));
  return secret;
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
    created_at: new Date(client.createdAt).toISOString(),
    disabled: client.disabledAt !== null,
    ...(client.demo && { demo: true }),
  };
}

/** A plain warning for a public client admitted without PKCE (PKB's documented flow has none; the operator is told plainly that it is weaker). */
export function pkceWarning(client: ClientRecord): string | undefined {
  if (client.secretHash !== null || client.pkceRequired) return undefined;
  return 'warning: this public client may redeem codes without PKCE (legacy PKB mode); a stolen code can then be used by anyone. Prefer PKCE.';
}
