/**
 * Persistence, as one interface with small intention-named methods. Every method is
 * atomic: what must happen together happens in one transaction or one conditional
 * statement, so two instances racing on the same code or refresh token cannot both win.
 *
 * Times are milliseconds since the epoch. Secrets (codes, tokens, client secrets,
 * session ids) are stored only as hashes; callers pass hashes in.
 */
export type GrantType = 'authorization_code' | 'refresh_token' | 'implicit' | 'client_credentials';

export interface ClientRecord {
  id: string;
  name: string;
  /** SHA-256 of the client secret (hex); null for a public client. */
  secretHash: string | null;
  redirectUris: string[];
  /** Scope names as stored (roles in capitals). */
  scopes: string[];
  grantTypes: GrantType[];
  /** A public client registered with `--pkce optional` (PKB's legacy flow) has false. */
  pkceRequired: boolean;
  /** The format of the access tokens it is issued: opaque, or an RFC 9068 JWT. */
  accessTokenFormat: AccessTokenFormat;
  /** A resource server may introspect every access token (RFC 7662 §4), not only its own. */
  resourceServer: boolean;
  /** The JWS algorithm of its ID tokens (OpenID Connect Core §3.1.3.7): RS256, ES256 or EdDSA. */
  idTokenAlg: string;
  /** A first-party app: a signed-in person is not asked to consent. */
  skipConsent: boolean;
  /** Where RP-Initiated Logout 1.0 may send the browser back to (exact match). */
  postLogoutRedirectUris: string[];
  createdAt: number;
  disabledAt: number | null;
  /** Seeded by `serve --demo`: a server without --demo treats it as unknown. Absent: false. */
  demo?: boolean;
  /** Lifetimes of its own, overriding the server's for what is issued to it; absent: the server's. */
  lifetimes?: ClientLifetimes;
  /**
   * The secret before the last rotation, which still authenticates the client until
   * `expiresAt` (a rotation's grace period); absent or null: none.
   */
  previousSecret?: { hash: string; expiresAt: number } | null;
}

/**
 * The lifetimes (seconds) a client has of its own: a code's, an access token's and the
 * authorization session's (how long refresh tokens are honoured). A missing one is the server's.
 */
export interface ClientLifetimes {
  code?: number;
  accessToken?: number;
  grant?: number;
}

/** An API scope, registered server-wide; a client is enabled for it like for a role. */
export interface ApiScopeRecord {
  /** An RFC 6749 §3.3 scope-token, case-sensitive. */
  name: string;
  /** What the consent page shows for it, in plain words. */
  description: string;
  createdAt: number;
}

/**
 * A key that signs JWTs (RFC 7515). At most one key per algorithm is active (not
 * retired); access tokens are signed with the oldest active key, ID tokens with the active
 * key of their client's algorithm. A retired key stays published (JWKS) while tokens it
 * signed may still be alive.
 */
export interface SigningKeyRecord {
  kid: string;
  /** JWS algorithm: ES256, RS256 or EdDSA. */
  alg: string;
  /** The public JWK (RFC 7517), JSON text. */
  publicJwk: string;
  /** The private JWK, sealed when the server has a secret (never readable from a copy of the database then). */
  privateKey: string;
  createdAt: number;
  retiredAt: number | null;
}

export interface PersonRecord {
  id: string;
  username: string;
  displayName: string;
  passwordHash: string;
  roles: string[];
  createdAt: number;
  disabledAt: number | null;
  /** The `email` claim (OpenID Connect Core §5.1); null when none was given. */
  email: string | null;
  /** Seeded by `serve --demo` with the published password: a server without --demo treats them as unknown. Absent: false. */
  demo?: boolean;
}

/** The authorization session: what codes, access tokens and refresh tokens belong to. */
export interface GrantRecord {
  id: string;
  /** The person the grant speaks for; null when the subject is the client itself (no person). */
  personId: string | null;
  clientId: string;
  /** Space-delimited scope (RFC 6749 §3.3), as granted. */
  scope: string;
  /** When the person authenticated (ms); null without a person. */
  authTime: number | null;
  /** The browser session the grant was made in; null when none. */
  sessionId: string | null;
  createdAt: number;
  /** Absolute end of the session: no refresh token is honoured after it. */
  expiresAt: number;
  revokedAt: number | null;
  /** The OpenID Connect authentication request's nonce (Core §3.1.2.1), repeated in the grant's ID tokens. */
  nonce: string | null;
}

export interface AuthorizationCodeRecord {
  hash: string;
  grantId: string;
  /** The redirect_uri parameter exactly as sent, or null when the request had none. */
  redirectUri: string | null;
  codeChallenge: string | null;
  expiresAt: number;
  consumedAt: number | null;
}

export type AccessTokenFormat = 'opaque' | 'jwt';

export interface AccessTokenRecord {
  hash: string;
  grantId: string;
  /** Space-delimited scope. */
  scope: string;
  format: AccessTokenFormat;
  /** A JWT access token's `jti`; null for opaque tokens. */
  jti: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface RefreshTokenRecord {
  hash: string;
  grantId: string;
  /** Space-delimited scope. */
  scope: string;
  expiresAt: number;
  retiredAt: number | null;
}

/** The validated authorization request a person is signing in and consenting for. */
export interface PendingAuthorizationRecord {
  id: string;
  clientId: string;
  /** JSON of the validated request (oauth/authorize.ts AuthorizationRequest). */
  request: string;
  /** SHA-256 of the browser-binding cookie that started it; only that browser continues it. */
  browserHash: string;
  personId: string | null;
  createdAt: number;
  expiresAt: number;
}

/** A browser's session at Tessera: who signed in, and when (the ID token's `auth_time`). */
export interface SignInSessionRecord {
  hash: string;
  personId: string;
  /** When the person entered their password: the session's start. */
  createdAt: number;
  /** When it ends unless used again (its idle end); never past `maxExpiresAt`. */
  expiresAt: number;
  /** Its absolute end. */
  maxExpiresAt: number;
}

/** A live grant as an operator sees it: with its person's username and its client's name. */
export interface GrantListing {
  grant: GrantRecord;
  /** Null for a client's own grant (no person). */
  username: string | null;
  clientName: string;
}

/** Which grants to list: every live one, or only a person's, a client's, or both. */
export interface GrantFilter {
  personId?: string;
  clientId?: string;
}

/** What an operator's change to a client takes away: ended in the same transaction as the change. */
export interface ClientUpdateEffects {
  /** The client's grants (not revoked) whose scope holds any of these are revoked. */
  revokeScopes: readonly string[];
  /** The client's own grants (no person: client_credentials) are revoked. */
  revokeClientGrants: boolean;
  /** Every refresh token of the client's grants is deleted: none can be used again. */
  deleteRefreshTokens: boolean;
  /**
   * Grants with an unredeemed, unexpired code whose `redirect_uri` (as sent; null when
   * none was) this answers true for are revoked.
   */
  endsCode?: (redirectUri: string | null) => boolean;
  /** Pending authorizations whose stored request (JSON) this answers true for are deleted. */
  endsPending?: (request: string) => boolean;
}

/** What a change to a client ended. */
export interface ClientUpdateResult {
  /** Grants revoked for a scope taken away, or because the client lost client_credentials. */
  grantsRevoked: number;
  /** Grants revoked because their code was sent to a redirect URI taken away (or the code grant was). */
  codesEnded: number;
  pendingEnded: number;
  /** Refresh tokens that could still have been used. */
  refreshTokensDeleted: number;
}

/** What `removeDemoData` deleted. */
export interface DemoDataRemoval {
  /** The demo clients' ids. */
  clients: string[];
  /** The demo people's usernames. */
  people: string[];
  /** Grants of demo clients or demo people, deleted with their codes and tokens. */
  grants: number;
}

/** How an operator's revocation of one grant ended. */
export type RevokeGrantResult = 'revoked' | 'already-revoked' | 'missing';

/** How a conditional "use it once" write ended: won, lost to an earlier use, or nothing there. */
export type UseOnceResult = 'ok' | 'replayed' | 'missing';

export interface AuthorizationCodeLookup {
  code: AuthorizationCodeRecord;
  grant: GrantRecord;
}

/**
 * What a protected resource needs to know of an access token — only that, since it is
 * read on every API call: the token, its grant, and who it speaks for and to.
 */
export interface AccessTokenLookup {
  token: AccessTokenRecord;
  grant: Pick<GrantRecord, 'id' | 'personId' | 'clientId' | 'revokedAt'>;
  /** Null when the grant has no person (LEFT JOIN). */
  person: Pick<PersonRecord, 'id' | 'username' | 'displayName' | 'disabledAt' | 'demo'> | null;
  client: Pick<ClientRecord, 'id' | 'disabledAt' | 'demo'>;
}

export interface RefreshTokenLookup {
  token: RefreshTokenRecord;
  grant: GrantRecord;
}

/**
 * Tokens a store may keep in the statement that reads the code or refresh token they are
 * issued for (`claimAuthorizationCode`, `claimRefreshToken`). Their grant id and scope are
 * the credential's; the refresh token, when there is one, is kept only while the grant
 * has time left and ends with it — as the token service issues them.
 */
export interface EagerClaim {
  now: number;
  /** Claimed only for this client. */
  clientId: string;
  accessHash: string;
  accessExpiresAt: number;
  refreshHash: string | null;
}

/** A code is claimed only for a token request that repeats its binding exactly. */
export interface CodeClaim extends EagerClaim {
  /** The request's `redirect_uri`, null when it sent none: equal to the code's. */
  redirectUri: string | null;
  /** The S256 challenge of the request's `code_verifier`, null when it sent none: equal to the code's. */
  codeChallenge: string | null;
}

/** A lookup, and whether the same statement claimed the credential and stored the tokens. */
export interface ClaimedLookup<L> {
  /** The credential as it was before the statement; undefined when there is none. */
  found: L | undefined;
  claimed: boolean;
}

import type { PurgeCounts } from './token-kinds.js';

export { PURGE_KINDS, type PurgeCounts } from './token-kinds.js';

export interface PurgeOptions {
  /** Rows per delete statement: each batch is one short statement of its own. */
  batchSize: number;
  /** At most this many batches of each kind (default: until a batch finds nothing). */
  maxBatches?: number;
  /**
   * The sign-in throttle's window (oauth/sign-in-throttle.ts DEFAULT_THROTTLE): failure
   * counts whose window started this long ago or more no longer count, and go.
   */
  signInFailureWindowMs: number;
  /** Stops between batches once aborted (a shutting-down sweeper); the counts so far are returned. */
  signal?: AbortSignal;
}

/** A sign-in throttle count: failures counted in its window, and when the next attempt may be checked. */
export interface SignInCount {
  failures: number;
  /** 0 when there is no wait. */
  waitUntil: number;
}

/** The two counts one sign-in attempt is measured by. */
export interface SignInCounts {
  address: SignInCount;
  username: SignInCount;
}

/** The keys (hashes) of those counts: the username's, and one address's for that username. */
export interface SignInCountKeys {
  address: string;
  username: string;
}

export interface SignInCountRecord extends SignInCount {
  /** True for an address's count, false for the username's own. */
  address: boolean;
  lastAttemptAt: number;
}

export interface Store {
  // clients
  createClient(client: ClientRecord): Promise<void>;
  getClient(id: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** Deletes the client and everything issued to it; false when there was none. */
  removeClient(id: string): Promise<boolean>;
  /**
   * Gives the client a new secret, in one statement. With `previousUntil`, the secret it
   * had until now keeps authenticating it until then (a rotation's grace period); only
   * that one: a secret kept from an earlier rotation ends at once. Without, no previous
   * secret is kept.
   */
  setClientSecret(id: string, secretHash: string, previousUntil?: number | null): Promise<boolean>;
  /** Disables (at `disabledAt`) or enables (null) a client; its grants are kept. False when there is none. */
  setClientDisabled(id: string, disabledAt: number | null): Promise<boolean>;
  /**
   * Stores `after` (every setting but the secret and the disabled state) if the client is
   * still as in `before` — `changed` when someone else changed it meanwhile (read it again
   * and retry), `missing` when it is gone — and ends what `effects` names, in the same
   * transaction.
   */
  updateClient(
    before: ClientRecord,
    after: ClientRecord,
    effects: ClientUpdateEffects,
    now: number,
  ): Promise<ClientUpdateResult | 'changed' | 'missing'>;

  // people: every `username` argument matches without regard to case or Unicode form (username-key.ts)
  /** False when the username is taken, or a twin of it (`Eve` beside `eve`). */
  createPerson(person: PersonRecord): Promise<boolean>;
  getPerson(id: string): Promise<PersonRecord | undefined>;
  getPersonByUsername(username: string): Promise<PersonRecord | undefined>;
  listPeople(): Promise<PersonRecord[]>;
  /** Deletes the person, their sessions and everything issued to them. */
  removePerson(username: string): Promise<boolean>;
  /**
   * Sets the password and ends the person's sign-in sessions; with `revokeGrantsAt`, also
   * revokes every grant of theirs at that time, in the same transaction.
   */
  setPassword(username: string, passwordHash: string, revokeGrantsAt?: number | null): Promise<boolean>;
  /** Disabling also ends sign-in sessions and revokes the person's grants. */
  setPersonDisabled(username: string, disabledAt: number | null): Promise<boolean>;
  /**
   * Stores `after`'s name, roles and e-mail address if the person is still as in `before`
   * (`changed` otherwise, `missing` when gone), and revokes, in the same transaction, their
   * grants whose scope holds one of `revokeRoles`; returns how many.
   */
  updatePerson(
    before: PersonRecord,
    after: PersonRecord,
    revokeRoles: readonly string[],
    now: number,
  ): Promise<number | 'changed' | 'missing'>;

  // demo data: the clients and people `serve --demo` seeds (marked `demo`)
  /** How many clients and people are the demo's. */
  countDemoData(): Promise<{ clients: number; people: number }>;
  /**
   * Deletes the demo's clients and people with everything that belongs to them (grants,
   * codes, tokens, pending authorizations, sign-in sessions), in one transaction.
   */
  removeDemoData(): Promise<DemoDataRemoval>;

  // the browser's way through sign-in and consent
  createPendingAuthorization(pending: PendingAuthorizationRecord): Promise<void>;
  getPendingAuthorization(id: string, now: number): Promise<PendingAuthorizationRecord | undefined>;
  setPendingAuthorizationPerson(id: string, personId: string): Promise<boolean>;
  /** Deletes and returns it, once: a consent form posted twice completes once. */
  takePendingAuthorization(id: string, now: number): Promise<PendingAuthorizationRecord | undefined>;

  createSignInSession(session: SignInSessionRecord): Promise<void>;
  getSignInSession(hash: string, now: number): Promise<SignInSessionRecord | undefined>;
  /**
   * Moves a live session's idle end to `idleUntil`, never past its absolute end; false when
   * the session is gone or over.
   */
  touchSignInSession(hash: string, now: number, idleUntil: number): Promise<boolean>;
  deleteSignInSession(hash: string): Promise<void>;

  /**
   * The sign-in throttle's read-decide-write, atomic: reads the count of `keys.address`
   * and of `keys.username` (a count whose last attempt is `windowMs` old or more reads as
   * fresh: 0 failures, no wait), hands both to `decide`, and writes the counts it returns
   * (stamped `now`), all in one transaction holding both rows, so of attempts racing on
   * any number of instances each decides on the counts the one before it wrote.
   */
  updateSignInCounts<T>(
    keys: SignInCountKeys,
    now: number,
    windowMs: number,
    decide: (counts: SignInCounts) => { write?: SignInCounts; result: T },
  ): Promise<T>;
  /** Failures counted under `key` in its current window (0 when it has lapsed). */
  countSignInFailures(key: string, now: number, windowMs: number): Promise<number>;
  /**
   * Forgets the count under `key` (an address's, after the right password came from it);
   * with `username`, also takes the attempt that succeeded back from that count.
   */
  clearSignInFailures(key: string, username?: string): Promise<void>;
  /** Every count of one username (`keys.username`) still in its window: its own and its addresses'. */
  listSignInCounts(username: string, now: number, windowMs: number): Promise<SignInCountRecord[]>;
  /** Forgets every count of one username, its addresses' included; how many there were. */
  clearSignInCounts(username: string): Promise<number>;

  // issuing
  /** Creates the grant and its code together. */
  createGrantWithCode(grant: GrantRecord, code: AuthorizationCodeRecord): Promise<void>;
  /** Creates the grant and its (implicit) access token together. */
  createGrantWithAccessToken(grant: GrantRecord, token: AccessTokenRecord): Promise<void>;
  findAuthorizationCode(hash: string): Promise<AuthorizationCodeLookup | undefined>;
  /**
   * Marks the code consumed if nobody has and stores the tokens issued for it, in one
   * transaction with a conditional update: of any number of racing redemptions exactly
   * one gets `ok`. `replayed` when it was consumed already (the caller revokes the grant).
   */
  consumeAuthorizationCode(
    hash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<UseOnceResult>;
  findRefreshToken(hash: string): Promise<RefreshTokenLookup | undefined>;
  /**
   * Looks a code up and, where the engine does both in one round trip (PostgreSQL, one
   * statement), claims it and stores `claim`'s tokens when nothing could refuse the
   * request: the code is unused, unexpired and the client's, its grant is live and has no
   * disabled person, and the request repeats its redirect_uri and PKCE challenge. The
   * caller checks the code it gets back either way; `claimed` false leaves the code to
   * `consumeAuthorizationCode`. A claim the caller would have refused is a defect, never
   * a path: it would spend a code on a bad request.
   */
  claimAuthorizationCode(hash: string, claim: CodeClaim | undefined): Promise<ClaimedLookup<AuthorizationCodeLookup>>;
  /**
   * Whether `claimAuthorizationCode` and `claimRefreshToken` ever claim (PostgreSQL): where
   * they only look up (SQLite, no round trips to save), a caller need not build a claim.
   */
  readonly claimsEagerly: boolean;
  /**
   * The same for a refresh token: claimed (retired) with `claim`'s tokens, of the token's
   * own scope, when it is live, the client's, and its grant live, unexpired and without a
   * disabled person; otherwise left to `rotateRefreshToken`.
   */
  claimRefreshToken(hash: string, claim: EagerClaim | undefined): Promise<ClaimedLookup<RefreshTokenLookup>>;
  /**
   * Retires the old refresh token if it is still live and stores the new tokens, in one
   * transaction. `replayed` when it was already retired (the caller revokes the grant).
   */
  rotateRefreshToken(
    oldHash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<UseOnceResult>;
  findAccessToken(hash: string): Promise<AccessTokenLookup | undefined>;
  /** Revokes the grant: every code, access token and refresh token of it stops working. */
  /** Whether this call revoked it: false when it was revoked already (or is unknown). */
  revokeGrant(grantId: string, now: number): Promise<boolean>;
  /**
   * Revokes the grant unless it is revoked already (one conditional update), telling which;
   * for an operator, who is told when the id is wrong.
   */
  revokeGrantOnce(grantId: string, now: number): Promise<RevokeGrantResult>;
  /** The live grants (not revoked, not past their absolute end) matching `filter`, newest first. */
  listGrants(filter: GrantFilter, now: number): Promise<GrantListing[]>;
  /** Ends one access token (RFC 7009 §2.1); false when there was none. */
  revokeAccessToken(hash: string): Promise<boolean>;

  // API scopes
  /** False when a scope of that name exists. */
  createApiScope(scope: ApiScopeRecord): Promise<boolean>;
  listApiScopes(): Promise<ApiScopeRecord[]>;
  removeApiScope(name: string): Promise<boolean>;

  // signing keys
  /** Every key, newest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Stores `key` as the signing key unless a key that is not retired exists already: of
   * instances starting at once, one makes the first key. True when `key` was stored.
   */
  addFirstSigningKey(key: SigningKeyRecord): Promise<boolean>;
  /**
   * Stores `key` as the active key of its algorithm (an ID token key made on demand) unless
   * that algorithm has one, and only while an older active key exists (the access-token
   * key), so that it never becomes the oldest: one conditional insert, of instances racing
   * one wins. True when `key` was stored.
   */
  addSigningKeyForAlg(key: SigningKeyRecord): Promise<boolean>;
  /**
   * Retires every key not yet retired, of every algorithm (at `key.createdAt`), and stores
   * `key` as the signing key, together.
   */
  rotateSigningKey(key: SigningKeyRecord): Promise<void>;
  /** Deletes keys retired at or before `retiredBefore` (nothing they signed is still alive); returns how many. */
  removeRetiredSigningKeys(retiredBefore: number): Promise<number>;

  // operations
  /**
   * Deletes what has expired, in batches of `batchSize` rows, each its own statement (no
   * long locks; several instances may run it at once — a row deleted by another is just
   * not counted twice): pending authorizations, sign-in sessions and sign-in failure
   * windows past their end; codes and access tokens past expiry; refresh tokens past
   * expiry — but a retired one (what detects reuse) only once its grant has expired —
   * and every refresh token of a revoked grant (none of them can be used); grants past
   * their absolute expiry, and revoked grants once no code or access token of theirs is
   * unexpired, with whatever still belongs to them.
   */
  purgeExpired(now: number, options: PurgeOptions): Promise<PurgeCounts>;
  getSetting(key: string): Promise<string | undefined>;
  /** Stores the value unless the key is set; returns the value that is stored. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
