/**
 * Grants and what is issued under them: codes, access tokens, refresh tokens. The hot
 * paths (every token request, every API call) use statements compiled once, naming their
 * columns: on PostgreSQL a prepared `select *` fails once a migration adds a column
 * ("cached plan must not change result type"), which would stop the instances still
 * running while a new version migrates. Conditional
 * updates (`… where consumed_at is null`) make every use-once operation single-winner on
 * both engines.
 */
import { sql } from 'kysely';
import { changes, first, rows, type Operation, type Statement } from '../executor.js';
import { TurnBatch } from '../turn-batch.js';
import {
  postgresSingleStatements,
  type ClaimAndIssue,
  type ClaimOutcome,
  type EagerRequest,
} from './postgres-single-statements.js';
import { columns, prepare, statement, type Prepared } from '../prepared.js';
import type {
  AccessTokenFormat,
  AccessTokenRecord,
  AuthorizationCodeLookup,
  AuthorizationCodeRecord,
  GrantRecord,
  GrantListing,
  RefreshTokenLookup,
  RefreshTokenRecord,
  Store,
  UseOnceResult,
} from '../store.js';
import {
  accessRow,
  grantColumns,
  grantRow,
  joinedGrant,
  maybeTime,
  refreshRow,
  time,
  type StoreContext,
} from './rows.js';

export type GrantsAndTokens = Pick<
  Store,
  | 'createGrantWithCode'
  | 'createGrantWithAccessToken'
  | 'findAuthorizationCode'
  | 'consumeAuthorizationCode'
  | 'findRefreshToken'
  | 'rotateRefreshToken'
  | 'claimAuthorizationCode'
  | 'claimRefreshToken'
  | 'claimsEagerly'
  | 'findAccessToken'
  | 'revokeGrant'
  | 'revokeGrantOnce'
  | 'listGrants'
  | 'revokeAccessToken'
>;

type ByHash = { hash: string };
type RowOf<S> = S extends Prepared<ByHash, infer Row> ? Row : never;
type Claim = { hash: string; now: number };

export function grantsAndTokens({ db, exec, engine }: StoreContext): GrantsAndTokens {
  // PostgreSQL: the lookups asked in one turn go out as one `… where hash = any($1)`
  // (turn-batch.ts), each answered from its row. On SQLite a lookup is a synchronous call
  // in this process: nothing to share.
  const lookupBatch = <Row extends ByHash>(many: Prepared<{ hashes: string[] }, Row>) =>
    engine === 'postgres'
      ? new TurnBatch(
          (hashes: string[]) => exec.read(() => rows(many.bind({ hashes }))),
          (hash: string) => hash,
          (row: Row) => row.hash,
        )
      : undefined;
  const anyOf = (hashes: string[]) => sql<string>`any(${hashes})`;

  const codeQuery = () =>
    db
      .selectFrom('authorization_codes')
      .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
      .select([
        'authorization_codes.hash',
        'authorization_codes.grant_id',
        'authorization_codes.redirect_uri',
        'authorization_codes.code_challenge',
        'authorization_codes.expires_at',
        'authorization_codes.consumed_at',
      ])
      .select(grantColumns);
  const codeLookup = prepare<ByHash>()((p) => codeQuery().where('authorization_codes.hash', '=', p.hash));
  const codeBatch = lookupBatch(
    prepare<{ hashes: string[] }>()((p) => codeQuery().where('authorization_codes.hash', '=', anyOf(p.hashes))),
  );
  const refreshQuery = () =>
    db
      .selectFrom('refresh_tokens')
      .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
      .select([
        'refresh_tokens.hash',
        'refresh_tokens.grant_id',
        'refresh_tokens.scope',
        'refresh_tokens.expires_at',
        'refresh_tokens.retired_at',
      ])
      .select(grantColumns);
  const refreshLookup = prepare<ByHash>()((p) => refreshQuery().where('refresh_tokens.hash', '=', p.hash));
  const refreshBatch = lookupBatch(
    prepare<{ hashes: string[] }>()((p) => refreshQuery().where('refresh_tokens.hash', '=', anyOf(p.hashes))),
  );
  // The token with its grant, person and client, read on every API call, so it reads only
  // what a resource needs (each column costs a property on the row): the grant id is there
  // as the grant's, and the hash names the row among a batch's. A grant without a person
  // (the client itself) has its token found too: LEFT JOIN; people's username is never
  // null, so a null one means no person.
  const accessQuery = () =>
    db
      .selectFrom('access_tokens')
      .innerJoin('grants', 'grants.id', 'access_tokens.grant_id')
      .leftJoin('people', 'people.id', 'grants.person_id')
      .innerJoin('clients', 'clients.id', 'grants.client_id')
      .select([
        'access_tokens.hash',
        'access_tokens.scope',
        'access_tokens.format',
        'access_tokens.jti',
        'access_tokens.created_at',
        'access_tokens.expires_at',
        'grants.id as g_id',
        'grants.person_id as g_person_id',
        'grants.client_id as g_client_id',
        'grants.revoked_at as g_revoked_at',
        'people.username as p_username',
        'people.display_name as p_display_name',
        'people.disabled_at as p_disabled_at',
        'people.demo as p_demo',
        'clients.disabled_at as c_disabled_at',
        'clients.demo as c_demo',
      ]);
  const accessLookup = prepare<ByHash>()((p) => accessQuery().where('access_tokens.hash', '=', p.hash));
  const accessBatch = lookupBatch(
    prepare<{ hashes: string[] }>()((p) => accessQuery().where('access_tokens.hash', '=', anyOf(p.hashes))),
  );
  const consumeCode = prepare<Claim>()((p) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: p.now })
      .where('hash', '=', p.hash)
      .where('consumed_at', 'is', null),
  );
  const retireRefresh = prepare<Claim>()((p) =>
    db
      .updateTable('refresh_tokens')
      .set({ retired_at: p.now })
      .where('hash', '=', p.hash)
      .where('retired_at', 'is', null),
  );
  const codeExists = prepare<ByHash>()((p) =>
    db.selectFrom('authorization_codes').select('hash').where('hash', '=', p.hash),
  );
  const refreshExists = prepare<ByHash>()((p) =>
    db.selectFrom('refresh_tokens').select('hash').where('hash', '=', p.hash),
  );
  const revoke = prepare<{ id: string; now: number }>()((p) =>
    db.updateTable('grants').set({ revoked_at: p.now }).where('id', '=', p.id).where('revoked_at', 'is', null),
  );
  const insertGrant = prepare<ReturnType<typeof grantRow>>()((p) =>
    db
      .insertInto('grants')
      .values(
        columns(
          p,
          'id',
          'person_id',
          'client_id',
          'scope',
          'auth_time',
          'session_id',
          'created_at',
          'expires_at',
          'nonce',
          'revoked_at',
        ),
      ),
  );
  const insertCode = prepare<{
    hash: string;
    grant_id: string;
    redirect_uri: string | null;
    code_challenge: string | null;
    expires_at: number;
    consumed_at: number | null;
  }>()((p) =>
    db
      .insertInto('authorization_codes')
      .values(columns(p, 'hash', 'grant_id', 'redirect_uri', 'code_challenge', 'expires_at', 'consumed_at')),
  );
  const insertAccess = prepare<ReturnType<typeof accessRow>>()((p) =>
    db
      .insertInto('access_tokens')
      .values(columns(p, 'hash', 'grant_id', 'scope', 'format', 'jti', 'created_at', 'expires_at')),
  );
  const insertRefresh = prepare<ReturnType<typeof refreshRow>>()((p) =>
    db.insertInto('refresh_tokens').values(columns(p, 'hash', 'grant_id', 'scope', 'expires_at', 'retired_at')),
  );

  const postgres = engine === 'postgres' ? postgresSingleStatements(db) : undefined;
  // PostgreSQL: the writes of one turn's token requests go out as one statement each
  // (turn-batch.ts), one row back per request, named by the request's new access-token
  // hash — unique to it.
  const writeBatch = <Item, Row extends { q_a_hash: string }>(
    statement: (items: Item[]) => Statement<Row>,
    accessHash: (item: Item) => string,
  ) =>
    new TurnBatch<Item, Row>(
      (items) => exec.write(() => rows(statement(items))),
      accessHash,
      (row) => row.q_a_hash,
    );
  // The eager claims: a lookup that also claims and stores pre-issued tokens.
  type ClaimedRow = Record<string, unknown> & { q_a_hash: string; claimed: number };
  const claimBatch = (statement: (requests: EagerRequest[]) => Statement<Record<string, unknown>>) =>
    writeBatch(statement as (requests: EagerRequest[]) => Statement<ClaimedRow>, (request) => request.a_hash);
  const codeClaims = postgres && claimBatch(postgres.claimCodes);
  const refreshClaims = postgres && claimBatch(postgres.claimRefreshTokens);
  // The use-once writes after a lookup (a JWT's tokens are made of the grant read first).
  const useOnceBatch = (statement: (inputs: ClaimAndIssue[]) => Statement<ClaimOutcome>) =>
    writeBatch(statement, (input) => input.access.hash);
  const codeConsumes = postgres && useOnceBatch(postgres.consumeCodes);
  const refreshRetires = postgres && useOnceBatch(postgres.retireRefreshTokens);

  type CodeRow = RowOf<typeof codeLookup>;
  type RefreshRow = RowOf<typeof refreshLookup>;

  function codeLookupOf(row: CodeRow): AuthorizationCodeLookup {
    return {
      code: {
        hash: row.hash,
        grantId: row.grant_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        expiresAt: time(row.expires_at),
        consumedAt: maybeTime(row.consumed_at),
      },
      grant: joinedGrant(row),
    };
  }

  function refreshLookupOf(row: RefreshRow): RefreshTokenLookup {
    return {
      token: {
        hash: row.hash,
        grantId: row.grant_id,
        scope: row.scope,
        expiresAt: time(row.expires_at),
        retiredAt: maybeTime(row.retired_at),
      },
      grant: joinedGrant(row),
    };
  }

  async function findCode(hash: string): Promise<AuthorizationCodeLookup | undefined> {
    const row = codeBatch ? await codeBatch.get(hash) : await exec.read(() => first(codeLookup.bind({ hash })));
    return row && codeLookupOf(row);
  }

  async function findRefresh(hash: string): Promise<RefreshTokenLookup | undefined> {
    const row = refreshBatch
      ? await refreshBatch.get(hash)
      : await exec.read(() => first(refreshLookup.bind({ hash })));
    return row && refreshLookupOf(row);
  }

  /** PostgreSQL: the use-once pattern below as one statement for a turn's requests (postgres-single-statements.ts). */
  async function useOnceBatched(
    batch: TurnBatch<ClaimAndIssue, ClaimOutcome>,
    input: ClaimAndIssue,
  ): Promise<UseOnceResult> {
    const outcome = await batch.get(input);
    if (outcome?.claimed === 1) return 'ok';
    return outcome?.present ? 'replayed' : 'missing';
  }

  /**
   * The use-once pattern: a conditional update claims the row; only the transaction that
   * changed it stores the new tokens. Zero rows changed means someone used it first, or
   * it does not exist.
   */
  function* useOnce(
    claim: Prepared<Claim, unknown>,
    exists: Prepared<ByHash, { hash: string }>,
    hash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Operation<UseOnceResult> {
    if ((yield* changes(claim.bind({ hash, now }))) !== 1) {
      return (yield* first(exists.bind({ hash }))) ? 'replayed' : 'missing';
    }
    yield* changes(insertAccess.bind(accessRow(access)));
    if (refresh) yield* changes(insertRefresh.bind(refreshRow(refresh)));
    return 'ok';
  }

  return {
    async createGrantWithCode(grant: GrantRecord, code: AuthorizationCodeRecord) {
      const codeRow = {
        hash: code.hash,
        grant_id: code.grantId,
        redirect_uri: code.redirectUri,
        code_challenge: code.codeChallenge,
        expires_at: code.expiresAt,
        consumed_at: code.consumedAt,
      };
      if (postgres) {
        await exec.write(() => changes(postgres.grantWithCode(grantRow(grant), codeRow)));
        return;
      }
      await exec.transaction(function* () {
        yield* changes(insertGrant.bind(grantRow(grant)));
        yield* changes(insertCode.bind(codeRow));
      });
    },

    async createGrantWithAccessToken(grant, token) {
      if (postgres) {
        await exec.write(() => changes(postgres.grantWithAccessToken(grantRow(grant), accessRow(token))));
        return;
      }
      await exec.transaction(function* () {
        yield* changes(insertGrant.bind(grantRow(grant)));
        yield* changes(insertAccess.bind(accessRow(token)));
      });
    },

    claimsEagerly: postgres !== undefined,

    findAuthorizationCode: findCode,

    async claimAuthorizationCode(hash, claim) {
      if (postgres && codeClaims && claim) {
        const row = await codeClaims.get(postgres.codeRequest(hash, claim));
        return { found: row && codeLookupOf(row as unknown as CodeRow), claimed: row?.claimed === 1 };
      }
      return { found: await findCode(hash), claimed: false };
    },

    consumeAuthorizationCode(hash, now, access, refresh) {
      if (codeConsumes) {
        return useOnceBatched(codeConsumes, {
          hash,
          now,
          access: accessRow(access),
          refresh: refresh && refreshRow(refresh),
        });
      }
      return exec.transaction(() => useOnce(consumeCode, codeExists, hash, now, access, refresh));
    },

    findRefreshToken: findRefresh,

    async claimRefreshToken(hash, claim) {
      if (postgres && refreshClaims && claim) {
        const row = await refreshClaims.get(postgres.refreshRequest(hash, claim));
        return { found: row && refreshLookupOf(row as unknown as RefreshRow), claimed: row?.claimed === 1 };
      }
      return { found: await findRefresh(hash), claimed: false };
    },

    rotateRefreshToken(oldHash, now, access, refresh) {
      if (refreshRetires) {
        return useOnceBatched(refreshRetires, {
          hash: oldHash,
          now,
          access: accessRow(access),
          refresh: refresh && refreshRow(refresh),
        });
      }
      return exec.transaction(() => useOnce(retireRefresh, refreshExists, oldHash, now, access, refresh));
    },

    async findAccessToken(hash) {
      const row = accessBatch ? await accessBatch.get(hash) : await exec.read(() => first(accessLookup.bind({ hash })));
      if (!row) return undefined;
      return {
        token: {
          hash,
          grantId: row.g_id,
          scope: row.scope,
          format: row.format as AccessTokenFormat,
          jti: row.jti,
          createdAt: time(row.created_at),
          expiresAt: time(row.expires_at),
        },
        grant: {
          id: row.g_id,
          personId: row.g_person_id,
          clientId: row.g_client_id,
          revokedAt: maybeTime(row.g_revoked_at),
        },
        person:
          row.g_person_id === null || row.p_username === null
            ? null
            : {
                id: row.g_person_id,
                username: row.p_username,
                displayName: row.p_display_name as string,
                disabledAt: maybeTime(row.p_disabled_at),
                ...(Number(row.p_demo) === 1 && { demo: true }),
              },
        client: {
          id: row.g_client_id,
          disabledAt: maybeTime(row.c_disabled_at),
          ...(Number(row.c_demo) === 1 && { demo: true }),
        },
      };
    },

    async revokeGrant(grantId, now) {
      return (await exec.write(() => changes(revoke.bind({ id: grantId, now })))) === 1;
    },

    revokeGrantOnce(grantId, now) {
      return exec.transaction(function* () {
        if ((yield* changes(revoke.bind({ id: grantId, now }))) === 1) return 'revoked';
        const found = yield* first(statement(db.selectFrom('grants').select('id').where('id', '=', grantId)));
        return found ? 'already-revoked' : 'missing';
      });
    },

    async listGrants(filter, now) {
      // An operator's look-up, not a hot path: built per call. LEFT JOIN people: a client's
      // own grant (client_credentials) has no person.
      let query = db
        .selectFrom('grants')
        .leftJoin('people', 'people.id', 'grants.person_id')
        .innerJoin('clients', 'clients.id', 'grants.client_id')
        .select(grantColumns)
        .select(['people.username as p_username', 'clients.name as c_name'])
        .where('grants.revoked_at', 'is', null)
        .where('grants.expires_at', '>', now);
      if (filter.personId !== undefined) query = query.where('grants.person_id', '=', filter.personId);
      if (filter.clientId !== undefined) query = query.where('grants.client_id', '=', filter.clientId);
      const list = await exec.read(() =>
        rows(statement(query.orderBy('grants.created_at', 'desc').orderBy('grants.id', 'desc'))),
      );
      return list.map((row): GrantListing => ({
        grant: joinedGrant(row),
        username: row.p_username,
        clientName: row.c_name,
      }));
    },

    async revokeAccessToken(hash) {
      // Deleted, not marked: a revoked access token is then simply unknown everywhere.
      const n = await exec.write(() => changes(statement(db.deleteFrom('access_tokens').where('hash', '=', hash))));
      return n > 0;
    },
  };
}
