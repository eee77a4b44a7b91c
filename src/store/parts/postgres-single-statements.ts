/**
 * PostgreSQL's one-statement forms of the writes on every token request. Each is a
 * data-modifying CTE (PostgreSQL documentation, "WITH Queries", §7.8.4): one round trip
 * and its own transaction, instead of BEGIN, three or four statements and COMMIT. SQLite
 * has no data-modifying CTEs; it runs the same operations as a few statements inside one
 * commit-group item (grants-tokens.ts), which costs it no round trip.
 *
 * Use-once stays single-winner across instances: the claim is `UPDATE … WHERE hash = $1
 * AND <used> IS NULL`; a second statement claiming the same row waits for the first's
 * row lock, re-reads the row after it commits, finds it used and claims nothing — so
 * its inserts, which select FROM the claim, insert nothing.
 */
import { sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { prepare, type Prepared } from '../prepared.js';
import type { Database } from '../schema.js';
import type { accessRow, refreshRow } from './rows.js';

/** What a use-once statement takes: the row it claims, and the tokens issued if it wins. */
export interface ClaimAndIssue {
  hash: string;
  now: number;
  access: ReturnType<typeof accessRow>;
  /** Null: no refresh token is issued. */
  refresh: ReturnType<typeof refreshRow> | null;
}

/**
 * One row: `claimed` 1 when this statement won; `present` whether the row exists at all,
 * read from the statement's own snapshot — as it was before this statement, so a row
 * another request used counts as present.
 */
export interface ClaimOutcome {
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
 * Claims a code (`consumed_at`) or a refresh token (`retired_at`) and, only if this
 * statement claimed it, stores the new access token and refresh token. The values
 * selected FROM the claim carry explicit types: PostgreSQL infers a parameter's type from
 * an INSERT's VALUES, not from a SELECT feeding it.
 */
function claimAndIssue(
  db: Kysely<Database>,
  table: 'authorization_codes' | 'refresh_tokens',
  used: 'consumed_at' | 'retired_at',
): Prepared<Flat, ClaimOutcome> {
  return prepare<Flat>()((p) =>
    compiled(
      db,
      sql<ClaimOutcome>`with claimed as (
  update ${sql.table(table)} set ${sql.ref(used)} = ${p.now}::bigint
  where hash = ${p.hash}::text and ${sql.ref(used)} is null
  returning hash
), access as (
  insert into access_tokens (hash, grant_id, scope, format, jti, created_at, expires_at)
  select ${p.a_hash}::text, ${p.a_grant_id}::text, ${p.a_scope}::text, ${p.a_format}::text, ${p.a_jti}::text,
    ${p.a_created_at}::bigint, ${p.a_expires_at}::bigint
  from claimed
), refresh as (
  insert into refresh_tokens (hash, grant_id, scope, expires_at, retired_at)
  select ${p.r_hash}::text, ${p.r_grant_id}::text, ${p.r_scope}::text, ${p.r_expires_at}::bigint, null
  from claimed where ${p.r_hash}::text is not null
)
select (select count(*) from claimed)::int as claimed,
  exists (select 1 from ${sql.table(table)} where hash = ${p.hash}::text) as present`,
    ),
  );
}

/** The use-once statements of the code and refresh grants. */
export function postgresUseOnce(db: Kysely<Database>) {
  const consumeCode = claimAndIssue(db, 'authorization_codes', 'consumed_at');
  const retireRefresh = claimAndIssue(db, 'refresh_tokens', 'retired_at');
  return {
    consumeCode: (input: ClaimAndIssue) => consumeCode.bind(flatten(input)),
    retireRefresh: (input: ClaimAndIssue) => retireRefresh.bind(flatten(input)),
  };
}
