/**
 * PostgreSQL's one-statement forms of the writes on every token request. Each is a
 * data-modifying CTE (PostgreSQL documentation, "WITH Queries", §7.8.4): one round trip
 * and its own transaction, instead of BEGIN, three or four statements and COMMIT. SQLite
 * has no data-modifying CTEs; it runs the same operations as a few statements inside one
 * commit-group item (grants-tokens.ts), which costs it no round trip.
 *
 * Use-once stays single-winner across instances: the claim is `UPDATE … WHERE hash = q.hash
 * AND <used> IS NULL`; a second statement claiming the same row waits for the first's
 * row lock, re-reads the row after it commits, finds it used and claims nothing — so
 * its inserts, which select FROM the claim, insert nothing. The use-once statements take
 * the requests of one turn (turn-batch.ts) as one array per parameter.
 */
import { sql, type Compilable, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import { prepare, type Placeholders, type Prepared } from '../prepared.js';
import type { AuthorizationCodesTable, Database } from '../schema.js';
import type { CodeClaim, EagerClaim } from '../store.js';
import { grantColumns, type accessRow, type grantRow, type refreshRow } from './rows.js';

/** What a use-once statement takes: the row it claims, and the tokens issued if it wins. */
export interface ClaimAndIssue {
  hash: string;
  now: number;
  access: ReturnType<typeof accessRow>;
  /** Null: no refresh token is issued. */
  refresh: ReturnType<typeof refreshRow> | null;
}

/**
 * One row per request: `q_a_hash` (its new access token's hash) names it; `claimed` 1
 * when it won; `present` whether the row exists at all, read from the statement's own
 * snapshot — as it was before this statement, so a row another request used counts as
 * present.
 */
export interface ClaimOutcome {
  q_a_hash: string;
  claimed: number;
  present: boolean;
}

type Flat = {
  hash: string;
  now: number;
  a_hash: string;
  a_grant_id: string;
  a_scope: string;
  a_format: string;
  a_jti: string | null;
  a_created_at: number;
  a_expires_at: number;
  r_hash: string | null;
  r_grant_id: string | null;
  r_scope: string | null;
  r_expires_at: number | null;
};
type FlatColumns = Columns<Flat>;

/** Requests as one array per parameter: the form `unnest` takes. */
type Columns<T> = { [K in keyof T]: Array<T[K]> };

/**
 * The requests of one statement as one array per parameter. Every request has every key
 * (a value or null, never left out), so the first one's keys are all of them.
 */
function columnsOf<T extends object>(requests: readonly T[]): Columns<T> {
  const keys = Object.keys(requests[0] ?? {}) as Array<keyof T>;
  return Object.fromEntries(keys.map((key) => [key, requests.map((r) => r[key])])) as Columns<T>;
}

function flatten({ hash, now, access, refresh }: ClaimAndIssue): Flat {
  return {
    hash,
    now,
    a_hash: access.hash,
    a_grant_id: access.grant_id,
    a_scope: access.scope,
    a_format: access.format,
    a_jti: access.jti,
    a_created_at: access.created_at,
    a_expires_at: access.expires_at,
    r_hash: refresh?.hash ?? null,
    r_grant_id: refresh?.grant_id ?? null,
    r_scope: refresh?.scope ?? null,
    r_expires_at: refresh?.expires_at ?? null,
  };
}

const compiled = <Row>(db: Kysely<Database>, raw: RawBuilder<Row>): Compilable<Row> => ({
  compile: () => raw.compile(db),
});

/**
 * Claims codes (`consumed_at`) or refresh tokens (`retired_at`), one per request of a
 * turn (turn-batch.ts), and for each request that claimed its row stores the new access
 * token and refresh token. Two requests of one statement for the same row: the row is
 * updated once, for one of them (PostgreSQL documentation, UPDATE: "only one of the join
 * rows will be used to update the target row"), and RETURNING names that one; the other
 * finds it used, as it would in a statement of its own. The values selected FROM the
 * claim carry their types from the arrays: PostgreSQL infers a parameter's type from an
 * INSERT's VALUES, not from a SELECT feeding it.
 */
function claimAndIssue(
  db: Kysely<Database>,
  table: 'authorization_codes' | 'refresh_tokens',
  used: 'consumed_at' | 'retired_at',
): Prepared<FlatColumns, ClaimOutcome> {
  return prepare<FlatColumns>()((p) =>
    compiled(
      db,
      sql<ClaimOutcome>`with q as (
  select * from unnest(${p.hash}::text[], ${p.now}::bigint[], ${p.a_hash}::text[], ${p.a_grant_id}::text[],
    ${p.a_scope}::text[], ${p.a_format}::text[], ${p.a_jti}::text[], ${p.a_created_at}::bigint[],
    ${p.a_expires_at}::bigint[], ${p.r_hash}::text[], ${p.r_grant_id}::text[], ${p.r_scope}::text[],
    ${p.r_expires_at}::bigint[])
    as q(q_hash, q_now, q_a_hash, q_a_grant_id, q_a_scope, q_a_format, q_a_jti, q_a_created_at,
      q_a_expires_at, q_r_hash, q_r_grant_id, q_r_scope, q_r_expires_at)
), claimed as (
  update ${sql.table(table)} t set ${sql.ref(used)} = q.q_now
  from q
  where t.hash = q.q_hash and t.${sql.ref(used)} is null
  returning q.*
), access as (
  insert into access_tokens (hash, grant_id, scope, format, jti, created_at, expires_at)
  select q_a_hash, q_a_grant_id, q_a_scope, q_a_format, q_a_jti, q_a_created_at, q_a_expires_at
  from claimed
), refresh as (
  insert into refresh_tokens (hash, grant_id, scope, expires_at, retired_at)
  select q_r_hash, q_r_grant_id, q_r_scope, q_r_expires_at, null
  from claimed where q_r_hash is not null
)
select q.q_a_hash,
  (exists (select 1 from claimed c where c.q_a_hash = q.q_a_hash))::int as claimed,
  exists (select 1 from ${sql.table(table)} t where t.hash = q.q_hash) as present
from q`,
    ),
  );
}

/**
 * What an eager claim binds (store.ts `CodeClaim`, `EagerClaim`), one request's worth; a
 * statement takes the requests of one turn (turn-batch.ts) as one array per column.
 */
export type EagerRequest = {
  hash: string;
  now: number;
  client_id: string;
  /** The new access token's hash: unique to the request, it names the request's row. */
  a_hash: string;
  a_expires_at: number;
  r_hash: string | null;
  redirect_uri: string | null;
  code_challenge: string | null;
};
type EagerColumns = Columns<EagerRequest>;

/** The grant's columns as the lookups name them (rows.ts `grantColumns`, read by `joinedGrant`), from `grants g`. */
const grantSelection = sql.raw(grantColumns.map((column) => column.replace(/^grants\./, 'g.')).join(', '));

/** A grant with a person may be used only while that person may sign in (id-token.ts, bearer checks). */
const personMaySignIn = sql.raw(
  `(f.g_person_id is null or exists (select 1 from people p where p.id = f.g_person_id and p.disabled_at is null))`,
);

/**
 * Looks credentials up and, in the same statement, claims each and stores the tokens
 * issued for it when `eligible` holds for its request: every condition under which the
 * grant handler would answer with tokens, or stricter. Each lookup (`found`) is the
 * credential as it was before the statement, whatever the claim did, so the caller checks
 * it as it checks any lookup; `q_a_hash` (the request's new access-token hash) names
 * the request, and `claimed` is 1 when this statement claimed the credential for it. A racer that claimed
 * first holds the row's lock, and this UPDATE, re-reading the row after it commits, finds
 * it used and claims nothing (PostgreSQL documentation, "Read Committed Isolation
 * Level"). Two requests of one statement for the same credential update its row once,
 * for one of them (PostgreSQL documentation, UPDATE: "only one of the join rows will be
 * used to update the target row"), and RETURNING names that one. The tokens' grant id and
 * scope are the credential's; a refresh token is stored only while the grant has time
 * left, as the token service issues one.
 */
function lookUpAndClaim(
  db: Kysely<Database>,
  p: Placeholders<EagerColumns>,
  table: 'authorization_codes' | 'refresh_tokens',
  used: 'consumed_at' | 'retired_at',
  credential: RawBuilder<unknown>,
  tokenScope: RawBuilder<unknown>,
  eligible: RawBuilder<unknown>,
): Compilable<Record<string, unknown>> {
  return compiled(
    db,
    sql<Record<string, unknown>>`with q as (
  select * from unnest(${p.hash}::text[], ${p.now}::bigint[], ${p.client_id}::text[], ${p.a_hash}::text[],
    ${p.a_expires_at}::bigint[], ${p.r_hash}::text[], ${p.redirect_uri}::text[], ${p.code_challenge}::text[])
    as q(q_hash, q_now, q_client_id, q_a_hash, q_a_expires_at, q_r_hash, q_redirect_uri, q_code_challenge)
), found as (
  select q.*, ${credential}, ${grantSelection}
  from q join ${sql.table(table)} t on t.hash = q.q_hash join grants g on g.id = t.grant_id
), claimed as (
  update ${sql.table(table)} t set ${sql.ref(used)} = f.q_now
  from found f
  where t.hash = f.hash and t.${sql.ref(used)} is null and ${eligible} and ${personMaySignIn}
  returning f.q_a_hash, f.q_a_expires_at, f.q_r_hash, f.q_now, f.grant_id, ${tokenScope} as scope, f.g_expires_at
), access as (
  insert into access_tokens (hash, grant_id, scope, format, jti, created_at, expires_at)
  select q_a_hash, grant_id, scope, 'opaque', null, q_now, q_a_expires_at
  from claimed
), refresh as (
  insert into refresh_tokens (hash, grant_id, scope, expires_at, retired_at)
  select q_r_hash, grant_id, scope, g_expires_at, null
  from claimed where q_r_hash is not null and g_expires_at > q_now
)
select found.*,
  (exists (select 1 from claimed c where c.q_a_hash = found.q_a_hash))::int as claimed
from found`,
  );
}

function claimCodesEagerly(db: Kysely<Database>) {
  return prepare<EagerColumns>()((p) =>
    lookUpAndClaim(
      db,
      p,
      'authorization_codes',
      'consumed_at',
      sql.raw('t.hash, t.grant_id, t.redirect_uri, t.code_challenge, t.expires_at, t.consumed_at'),
      sql.raw('f.g_scope'),
      sql.raw(`f.expires_at > f.q_now and f.g_client_id = f.q_client_id and f.g_revoked_at is null
    and f.redirect_uri is not distinct from f.q_redirect_uri
    and f.code_challenge is not distinct from f.q_code_challenge`),
    ),
  );
}

function claimRefreshTokensEagerly(db: Kysely<Database>) {
  return prepare<EagerColumns>()((p) =>
    lookUpAndClaim(
      db,
      p,
      'refresh_tokens',
      'retired_at',
      sql.raw('t.hash, t.grant_id, t.scope, t.expires_at, t.retired_at'),
      sql.raw('f.scope'),
      sql.raw(`f.expires_at > f.q_now and f.g_client_id = f.q_client_id and f.g_revoked_at is null
    and f.g_expires_at > f.q_now`),
    ),
  );
}

type GrantRow = ReturnType<typeof grantRow>;
type CodeRow = Required<Insertable<AuthorizationCodesTable>>;
type AccessRow = ReturnType<typeof accessRow>;
/** A grant's columns and its first credential's, each under its own prefix. */
type Prefixed<T, P extends string> = { [K in keyof T & string as `${P}${K}`]: T[K] };

const prefixed = <T extends object, P extends string>(row: T, prefix: P): Prefixed<T, P> =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [prefix + k, v])) as Prefixed<T, P>;

/**
 * A new grant and its first credential (a code, or an implicit or client_credentials
 * access token) in one statement. The credential's foreign key is checked at the end of
 * the statement, when the grant inserted beside it is there.
 */
function grantWithCode(db: Kysely<Database>) {
  return prepare<Prefixed<GrantRow, 'g_'> & Prefixed<CodeRow, 'c_'>>()((p) =>
    db
      .with('grant', (w) => w.insertInto('grants').values(grantValues(p)).returning('id'))
      .insertInto('authorization_codes')
      .values({
        hash: p.c_hash,
        grant_id: p.c_grant_id,
        redirect_uri: p.c_redirect_uri,
        code_challenge: p.c_code_challenge,
        expires_at: p.c_expires_at,
        consumed_at: p.c_consumed_at,
      }),
  );
}

function grantWithAccessToken(db: Kysely<Database>) {
  return prepare<Prefixed<GrantRow, 'g_'> & Prefixed<AccessRow, 'a_'>>()((p) =>
    db
      .with('grant', (w) => w.insertInto('grants').values(grantValues(p)).returning('id'))
      .insertInto('access_tokens')
      .values({
        hash: p.a_hash,
        grant_id: p.a_grant_id,
        scope: p.a_scope,
        format: p.a_format,
        jti: p.a_jti,
        created_at: p.a_created_at,
        expires_at: p.a_expires_at,
      }),
  );
}

function grantValues(p: Prefixed<GrantRow, 'g_'>): GrantRow {
  return {
    id: p.g_id,
    person_id: p.g_person_id,
    client_id: p.g_client_id,
    scope: p.g_scope,
    auth_time: p.g_auth_time,
    session_id: p.g_session_id,
    created_at: p.g_created_at,
    expires_at: p.g_expires_at,
    revoked_at: p.g_revoked_at,
    nonce: p.g_nonce,
  };
}

/** The statements PostgreSQL runs in one round trip where SQLite runs several. */
function eager(
  hash: string,
  claim: EagerClaim,
  binding: Pick<CodeClaim, 'redirectUri' | 'codeChallenge'>,
): EagerRequest {
  return {
    hash,
    now: claim.now,
    client_id: claim.clientId,
    a_hash: claim.accessHash,
    a_expires_at: claim.accessExpiresAt,
    r_hash: claim.refreshHash,
    redirect_uri: binding.redirectUri,
    code_challenge: binding.codeChallenge,
  };
}

export function postgresSingleStatements(db: Kysely<Database>) {
  const consumeCode = claimAndIssue(db, 'authorization_codes', 'consumed_at');
  const retireRefresh = claimAndIssue(db, 'refresh_tokens', 'retired_at');
  const newGrantWithCode = grantWithCode(db);
  const newGrantWithAccessToken = grantWithAccessToken(db);
  const eagerCodes = claimCodesEagerly(db);
  const eagerRefreshTokens = claimRefreshTokensEagerly(db);
  return {
    /** The request of an eager code claim. */
    codeRequest: (hash: string, claim: CodeClaim): EagerRequest => eager(hash, claim, claim),
    /** The request of an eager refresh token claim. */
    refreshRequest: (hash: string, claim: EagerClaim): EagerRequest =>
      eager(hash, claim, { redirectUri: null, codeChallenge: null }),
    /** Rows named like the code lookup's, with `q_a_hash` and `claimed`: one per request whose code exists. */
    claimCodes: (requests: EagerRequest[]) => eagerCodes.bind(columnsOf(requests)),
    /** Rows named like the refresh token lookup's, with `q_a_hash` and `claimed`. */
    claimRefreshTokens: (requests: EagerRequest[]) => eagerRefreshTokens.bind(columnsOf(requests)),
    /** One row per request (`ClaimOutcome`), named by its new access token's hash. */
    consumeCodes: (inputs: ClaimAndIssue[]) => consumeCode.bind(columnsOf(inputs.map(flatten))),
    /** One row per request (`ClaimOutcome`), named by its new access token's hash. */
    retireRefreshTokens: (inputs: ClaimAndIssue[]) => retireRefresh.bind(columnsOf(inputs.map(flatten))),
    grantWithCode: (grant: GrantRow, code: CodeRow) =>
      newGrantWithCode.bind({ ...prefixed(grant, 'g_'), ...prefixed(code, 'c_') }),
    grantWithAccessToken: (grant: GrantRow, access: AccessRow) =>
      newGrantWithAccessToken.bind({ ...prefixed(grant, 'g_'), ...prefixed(access, 'a_') }),
  };
}
