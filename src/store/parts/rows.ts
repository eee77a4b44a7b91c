/** Rows in, records out: what every part of the store converts alike. */
import type { Kysely, Selectable } from 'kysely';
import type { Executor } from '../executor.js';
import type { ClientsTable, Database, GrantsTable, PendingAuthorizationsTable, PeopleTable } from '../schema.js';
import type {
  AccessTokenFormat,
  AccessTokenRecord,
  ClientLifetimes,
  ClientRecord,
  GrantRecord,
  GrantType,
  PendingAuthorizationRecord,
  PersonRecord,
  RefreshTokenRecord,
} from '../store.js';

/** What each part of the store is made with: Kysely to build statements, the engine's executor to run them. */
export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly exec: Executor;
  /** For the few operations PostgreSQL runs as one statement where SQLite runs several. */
  readonly engine: 'sqlite' | 'postgres';
}

export type Time = number | string | bigint;

/**
 * Every column of table `T`, by name; the list must name them all (one left out does not
 * compile). Prepared statements select these rather than `*`: on PostgreSQL a prepared
 * `select *` fails once a migration adds a column ("cached plan must not change result
 * type"), which would break the instances still running while a new version migrates.
 */
export function allColumns<T>() {
  return <K extends keyof T & string>(...keys: [keyof T] extends [K] ? K[] : never): K[] => keys;
}

export const clientColumns = allColumns<ClientsTable>()(
  'id',
  'name',
  'secret_hash',
  'redirect_uris',
  'scopes',
  'grant_types',
  'pkce_required',
  'created_at',
  'disabled_at',
  'access_token_format',
  'resource_server',
  'id_token_alg',
  'skip_consent',
  'post_logout_redirect_uris',
  'code_lifetime',
  'access_token_lifetime',
  'refresh_lifetime',
  'previous_secret_hash',
  'previous_secret_expires_at',
  'demo',
);

export const personColumns = allColumns<PeopleTable>()(
  'id',
  'username',
  'display_name',
  'password_hash',
  'roles',
  'created_at',
  'disabled_at',
  'email',
  'username_key',
  'demo',
);

export const time = (v: Time): number => Number(v);
export const maybeTime = (v: Time | null): number | null => (v === null ? null : Number(v));

export function toClient(row: Selectable<ClientsTable>): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    scopes: JSON.parse(row.scopes) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    pkceRequired: Number(row.pkce_required) === 1,
    accessTokenFormat: row.access_token_format as AccessTokenFormat,
    resourceServer: Number(row.resource_server) === 1,
    idTokenAlg: row.id_token_alg,
    skipConsent: Number(row.skip_consent) === 1,
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    createdAt: time(row.created_at),
    disabledAt: maybeTime(row.disabled_at),
    // Only when set, like a record made in memory (ClientRecord/PersonRecord: absent is false).
    ...(Number(row.demo) === 1 && { demo: true }),
    lifetimes: {
      ...(row.code_lifetime !== null && { code: Number(row.code_lifetime) }),
      ...(row.access_token_lifetime !== null && { accessToken: Number(row.access_token_lifetime) }),
      ...(row.refresh_lifetime !== null && { grant: Number(row.refresh_lifetime) }),
    },
    previousSecret:
      row.previous_secret_hash === null || row.previous_secret_expires_at === null
        ? null
        : { hash: row.previous_secret_hash, expiresAt: time(row.previous_secret_expires_at) },
  };
}

/**
 * A client record as the client cache shares it between requests: frozen, arrays and all,
 * so that no reader can change it under the others (a change throws, ESM being strict).
 */
export function frozenClient(client: ClientRecord): ClientRecord {
  for (const list of [client.redirectUris, client.scopes, client.grantTypes, client.postLogoutRedirectUris]) {
    Object.freeze(list);
  }
  Object.freeze(client.lifetimes);
  if (client.previousSecret) Object.freeze(client.previousSecret);
  return Object.freeze(client);
}

/** The columns of a client's own lifetimes (null: the server's). */
export function clientLifetimeColumns(lifetimes: ClientLifetimes | undefined) {
  return {
    code_lifetime: lifetimes?.code ?? null,
    access_token_lifetime: lifetimes?.accessToken ?? null,
    refresh_lifetime: lifetimes?.grant ?? null,
  };
}

export function toPerson(row: Selectable<PeopleTable>): PersonRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    createdAt: time(row.created_at),
    disabledAt: maybeTime(row.disabled_at),
    email: row.email,
    // Only when set, like a record made in memory (ClientRecord/PersonRecord: absent is false).
    ...(Number(row.demo) === 1 && { demo: true }),
  };
}

export function toPending(row: Selectable<PendingAuthorizationsTable>): PendingAuthorizationRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    request: row.request,
    browserHash: row.browser_hash,
    personId: row.person_id,
    createdAt: time(row.created_at),
    expiresAt: time(row.expires_at),
  };
}

export function grantRow(g: GrantRecord): Selectable<GrantsTable> {
  return {
    id: g.id,
    person_id: g.personId,
    client_id: g.clientId,
    scope: g.scope,
    auth_time: g.authTime,
    session_id: g.sessionId,
    created_at: g.createdAt,
    expires_at: g.expiresAt,
    revoked_at: g.revokedAt,
    nonce: g.nonce,
  };
}

export function accessRow(t: AccessTokenRecord) {
  return {
    hash: t.hash,
    grant_id: t.grantId,
    scope: t.scope,
    format: t.format,
    jti: t.jti,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
  };
}

export function refreshRow(t: RefreshTokenRecord) {
  return { hash: t.hash, grant_id: t.grantId, scope: t.scope, expires_at: t.expiresAt, retired_at: t.retiredAt };
}

/** The columns of a grant joined under a `g_` prefix, for lookups that need both. */
export const grantColumns = [
  'grants.id as g_id',
  'grants.person_id as g_person_id',
  'grants.client_id as g_client_id',
  'grants.scope as g_scope',
  'grants.auth_time as g_auth_time',
  'grants.session_id as g_session_id',
  'grants.created_at as g_created_at',
  'grants.expires_at as g_expires_at',
  'grants.revoked_at as g_revoked_at',
  'grants.nonce as g_nonce',
] as const;

export function joinedGrant(row: {
  g_id: string;
  g_person_id: string | null;
  g_client_id: string;
  g_scope: string;
  g_auth_time: Time | null;
  g_session_id: string | null;
  g_created_at: Time;
  g_expires_at: Time;
  g_revoked_at: Time | null;
  g_nonce: string | null;
}): GrantRecord {
  return {
    id: row.g_id,
    personId: row.g_person_id,
    clientId: row.g_client_id,
    scope: row.g_scope,
    authTime: maybeTime(row.g_auth_time),
    sessionId: row.g_session_id,
    createdAt: time(row.g_created_at),
    expiresAt: time(row.g_expires_at),
    revokedAt: maybeTime(row.g_revoked_at),
    nonce: row.g_nonce,
  };
}
