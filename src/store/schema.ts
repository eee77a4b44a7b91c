/** The tables as Kysely sees them. Times are bigint milliseconds; lists are JSON text. */
export interface ClientsTable {
  id: string;
  name: string;
  secret_hash: string | null;
  redirect_uris: string;
  scopes: string;
  grant_types: string;
  pkce_required: number;
  created_at: number | string | bigint;
  disabled_at: number | string | bigint | null;
}

export interface PeopleTable {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  roles: string;
  created_at: number | string | bigint;
  disabled_at: number | string | bigint | null;
}

export interface GrantsTable {
  id: string;
  person_id: string | null;
  client_id: string;
  scope: string;
  auth_time: number | string | bigint | null;
  session_id: string | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
  revoked_at: number | string | bigint | null;
}

export interface AuthorizationCodesTable {
  hash: string;
  grant_id: string;
  redirect_uri: string | null;
  code_challenge: string | null;
  expires_at: number | string | bigint;
  consumed_at: number | string | bigint | null;
}

export interface AccessTokensTable {
  hash: string;
  grant_id: string;
  scope: string;
  format: string;
  jti: string | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
}

export interface RefreshTokensTable {
  hash: string;
  grant_id: string;
  scope: string;
  expires_at: number | string | bigint;
  retired_at: number | string | bigint | null;
}

export interface PendingAuthorizationsTable {
  id: string;
  client_id: string;
  request: string;
  browser_hash: string;
  person_id: string | null;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
}

export interface SignInSessionsTable {
  hash: string;
  person_id: string;
  created_at: number | string | bigint;
  expires_at: number | string | bigint;
}

export interface SignInFailuresTable {
  key: string;
  window_started_at: number | string | bigint;
  failures: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  clients: ClientsTable;
  people: PeopleTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  pending_authorizations: PendingAuthorizationsTable;
  sign_in_sessions: SignInSessionsTable;
  sign_in_failures: SignInFailuresTable;
  settings: SettingsTable;
}
