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
  /** 'opaque' or 'jwt' (RFC 9068). */
  access_token_format: string;
  /** 1 when the client may introspect every access token (RFC 7662 §4). */
  resource_server: number;
  /** The JWS algorithm of its ID tokens (OpenID Connect Core §3.1.3.7): RS256, ES256 or EdDSA. */
  id_token_alg: string;
  /** 1 for a first-party app: a signed-in person is not asked to consent. */
  skip_consent: number;
  /** JSON list: where RP-Initiated Logout may send the browser back to (exact match). */
  post_logout_redirect_uris: string;
  /** Seconds; the client's own lifetimes, null for the server's. */
  code_lifetime: number | null;
  access_token_lifetime: number | null;
  /** The authorization session's: refresh tokens are honoured while it lasts. */
  refresh_lifetime: number | null;
  /** The secret before the last rotation, honoured until previous_secret_expires_at; null when none. */
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | string | bigint | null;
  /** 1 for the demo's own clients (seeded by `serve --demo`): a server without --demo refuses them. */
  demo: number;
}

export interface PeopleTable {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  roles: string;
  created_at: number | string | bigint;
  disabled_at: number | string | bigint | null;
  email: string | null;
  /** The username's comparison form (username-key.ts), unique: lookups by username use it. */
  username_key: string | null;
  /** 1 for the demo's people (seeded by `serve --demo`): a server without --demo refuses them. */
  demo: number;
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
  /** The OpenID Connect authentication request's nonce, repeated in its ID tokens. */
  nonce: string | null;
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
  /** When it ends unless used again: moved forward on use, never past max_expires_at. */
  expires_at: number | string | bigint;
  /** The absolute end of the session. */
  max_expires_at: number | string | bigint;
}

/**
 * The sign-in throttle's counts (oauth/sign-in-throttle.ts): a username's (`key` =
 * `user_key`) or one client address's for that username (`key` a hash of both).
 */
export interface SignInFailuresTable {
  key: string;
  /** When the count's window started: its last counted attempt (it lapses a window later). */
  window_started_at: number | string | bigint;
  failures: number;
  /** A hash of the username's comparison form: every count of one username shares it. */
  user_key: string;
  /** No attempt is checked before this time (ms); 0 when there is no wait. */
  wait_until: number | string | bigint;
}

export interface ApiScopesTable {
  name: string;
  description: string;
  created_at: number | string | bigint;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** The public JWK as JSON text. */
  public_jwk: string;
  /** The private JWK, sealed under TESSERA_SECRET when one is set (oauth/key-seal.ts). */
  private_key: string;
  created_at: number | string | bigint;
  /** When a newer key took over signing; null for the signing key. */
  retired_at: number | string | bigint | null;
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
  api_scopes: ApiScopesTable;
  signing_keys: SigningKeysTable;
}
