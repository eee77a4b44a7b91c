/**
 * The Store over Kysely. Written against Kysely's portable query builder only, so the
 * same code serves SQLite (better-sqlite3) and PostgreSQL (pg); what differs between
 * engines lives in open.ts. Conditional updates (`… where consumed_at is null`) make
 * every use-once operation single-winner on both engines.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Migrator, sql, type DeleteResult, type Kysely, type Selectable, type Transaction } from 'kysely';
import { GroupCommit } from './group-commit.js';
import { param, params, PreparedQuery } from './prepared.js';
import type { SqliteConnection } from './sqlite-connection.js';
import { migrationProvider } from './migrations/index.js';
import type {
  AccessTokenLookup,
  AccessTokenRecord,
  AuthorizationCodeLookup,
  AuthorizationCodeRecord,
  ClientRecord,
  GrantRecord,
  GrantType,
  PendingAuthorizationRecord,
  PersonRecord,
  PurgeCounts,
  PurgeOptions,
  RefreshTokenLookup,
  RefreshTokenRecord,
  SignInSessionRecord,
  Store,
  UseOnceResult,
} from './store.js';
import type { ClientsTable, Database, GrantsTable, PendingAuthorizationsTable, PeopleTable } from './schema.js';
import type { Role } from '../oauth/role-scope.js';

type Db = Kysely<Database> | Transaction<Database>;

const time = (v: number | string | bigint): number => Number(v);
const maybeTime = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

function toClient(row: Selectable<ClientsTable>): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    scopes: JSON.parse(row.scopes) as Role[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
    pkceRequired: Number(row.pkce_required) === 1,
    createdAt: time(row.created_at),
    disabledAt: maybeTime(row.disabled_at),
  };
}

function toPerson(row: Selectable<PeopleTable>): PersonRecord {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as Role[],
    createdAt: time(row.created_at),
    disabledAt: maybeTime(row.disabled_at),
  };
}

function toGrant(row: Selectable<GrantsTable>): GrantRecord {
  return {
    id: row.id,
    personId: row.person_id,
    clientId: row.client_id,
    scope: row.scope as Role,
    createdAt: time(row.created_at),
    expiresAt: time(row.expires_at),
    revokedAt: maybeTime(row.revoked_at),
  };
}

function toPending(row: Selectable<PendingAuthorizationsTable>): PendingAuthorizationRecord {
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

function accessRow(t: AccessTokenRecord) {
  return { hash: t.hash, grant_id: t.grantId, scope: t.scope, expires_at: t.expiresAt };
}

function refreshRow(t: RefreshTokenRecord) {
  return { hash: t.hash, grant_id: t.grantId, scope: t.scope, expires_at: t.expiresAt, retired_at: t.retiredAt };
}

function grantRow(g: GrantRecord) {
  return {
    id: g.id,
    person_id: g.personId,
    client_id: g.clientId,
    scope: g.scope,
    created_at: g.createdAt,
    expires_at: g.expiresAt,
    revoked_at: g.revokedAt,
  };
}

/** Column names of a grant joined under a `g_` prefix, for lookups that need both. */
const grantColumns = [
  'grants.id as g_id',
  'grants.person_id as g_person_id',
  'grants.client_id as g_client_id',
  'grants.scope as g_scope',
  'grants.created_at as g_created_at',
  'grants.expires_at as g_expires_at',
  'grants.revoked_at as g_revoked_at',
] as const;

function joinedGrant(row: {
  g_id: string;
  g_person_id: string;
  g_client_id: string;
  g_scope: string;
  g_created_at: number | string | bigint;
  g_expires_at: number | string | bigint;
  g_revoked_at: number | string | bigint | null;
}): GrantRecord {
  return toGrant({
    id: row.g_id,
    person_id: row.g_person_id,
    client_id: row.g_client_id,
    scope: row.g_scope,
    created_at: row.g_created_at,
    expires_at: row.g_expires_at,
    revoked_at: row.g_revoked_at,
  });
}

/**
 * Runs one purge batch, twice more after a short random pause if it fails: two
 * instances' batches can deadlock on rows both are deleting, and the database then
 * aborts one of them. Deleting is idempotent, so trying again is always safe.
 */
async function retried<T>(batch: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await batch();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
    }
  }
}

/**
 * What a write runs its statements with: Kysely for the rest, and prepared queries
 * (prepared.ts) for the hot ones — on SQLite straight on the connection, inside the
 * commit group's transaction; on PostgreSQL inside the write's own transaction.
 */
interface Writer {
  changes(query: PreparedQuery<unknown>, values: Record<string, unknown>): Promise<number>;
  first<Row>(query: PreparedQuery<Row>, values: Record<string, unknown>): Promise<Row | undefined>;
}

function kyselyWriter(db: Db): Writer {
  return {
    changes: (query, values) => query.changes(db, values),
    first: (query, values) => query.first(db, values),
  };
}

export class KyselyStore implements Store {
  /** SQLite's writes share their commit and sync (group-commit.ts); PostgreSQL groups commits itself. */
  private readonly group: GroupCommit | undefined;
  private readonly sqliteWriter: Writer | undefined;

  constructor(
    readonly db: Kysely<Database>,
    private readonly isUniqueViolation: (err: unknown) => boolean,
    readonly engine: 'sqlite' | 'postgres' = 'sqlite',
    /** The SQLite connection under `db` (absent on PostgreSQL). */
    private readonly sqlite?: SqliteConnection,
  ) {
    if (sqlite) {
      this.group = new GroupCommit(sqlite);
      // Inside a group's transaction, on the one connection: Kysely and the prepared statements alike.
      this.sqliteWriter = {
        changes: async (query, values) => query.changesOn(sqlite, values),
        first: async (query, values) => query.firstOn(sqlite, values),
      };
    }
  }

  /** The lookups every token request and API call makes, compiled once (prepared.ts). */
  private readonly hot = {
    client: new PreparedQuery(() => this.db.selectFrom('clients').selectAll().where('id', '=', param('id'))),
    person: new PreparedQuery(() => this.db.selectFrom('people').selectAll().where('id', '=', param('id'))),
    code: new PreparedQuery(() =>
      this.db
        .selectFrom('authorization_codes')
        .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
        .selectAll('authorization_codes')
        .select(grantColumns)
        .where('authorization_codes.hash', '=', param('hash')),
    ),
    refresh: new PreparedQuery(() =>
      this.db
        .selectFrom('refresh_tokens')
        .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
        .selectAll('refresh_tokens')
        .select(grantColumns)
        .where('refresh_tokens.hash', '=', param('hash')),
    ),
    access: new PreparedQuery(() =>
      this.db
        .selectFrom('access_tokens')
        .innerJoin('grants', 'grants.id', 'access_tokens.grant_id')
        .innerJoin('people', 'people.id', 'grants.person_id')
        .innerJoin('clients', 'clients.id', 'grants.client_id')
        .select([
          'access_tokens.hash',
          'access_tokens.grant_id',
          'access_tokens.scope',
          'access_tokens.expires_at',
          ...grantColumns,
          'people.username as p_username',
          'people.display_name as p_display_name',
          'people.disabled_at as p_disabled_at',
          'clients.disabled_at as c_disabled_at',
        ])
        .where('access_tokens.hash', '=', param('hash')),
    ),
    consumeCode: new PreparedQuery(() =>
      this.db
        .updateTable('authorization_codes')
        .set({ consumed_at: param('now') })
        .where('hash', '=', param('hash'))
        .where('consumed_at', 'is', null),
    ),
    retireRefresh: new PreparedQuery(() =>
      this.db
        .updateTable('refresh_tokens')
        .set({ retired_at: param('now') })
        .where('hash', '=', param('hash'))
        .where('retired_at', 'is', null),
    ),
    codeExists: new PreparedQuery(() =>
      this.db.selectFrom('authorization_codes').select('hash').where('hash', '=', param('hash')),
    ),
    refreshExists: new PreparedQuery(() =>
      this.db.selectFrom('refresh_tokens').select('hash').where('hash', '=', param('hash')),
    ),
    revokeGrant: new PreparedQuery(() =>
      this.db
        .updateTable('grants')
        .set({ revoked_at: param('now') })
        .where('id', '=', param('id'))
        .where('revoked_at', 'is', null),
    ),
    insertGrant: new PreparedQuery(() =>
      this.db
        .insertInto('grants')
        .values(params('id', 'person_id', 'client_id', 'scope', 'created_at', 'expires_at', 'revoked_at')),
    ),
    insertCode: new PreparedQuery(() =>
      this.db
        .insertInto('authorization_codes')
        .values(params('hash', 'grant_id', 'redirect_uri', 'code_challenge', 'expires_at', 'consumed_at')),
    ),
    insertAccess: new PreparedQuery(() =>
      this.db.insertInto('access_tokens').values(params('hash', 'grant_id', 'scope', 'expires_at')),
    ),
    insertRefresh: new PreparedQuery(() =>
      this.db.insertInto('refresh_tokens').values(params('hash', 'grant_id', 'scope', 'expires_at', 'retired_at')),
    ),
  };

  /** A hot lookup: on SQLite in this turn's read transaction, on PostgreSQL through Kysely. */
  private async lookup<Row>(query: PreparedQuery<Row>, values: Record<string, unknown>): Promise<Row | undefined> {
    return this.sqlite ? query.firstOn(this.sqlite, values) : query.first(this.db, values);
  }

  /** A write of several statements: one transaction (in a commit group on SQLite). */
  private writeTx<T>(work: (tx: Db, writer: Writer) => Promise<T>): Promise<T> {
    const { group, sqliteWriter } = this;
    if (group && sqliteWriter) return group.run(() => work(this.db, sqliteWriter));
    return this.db.transaction().execute((tx) => work(tx, kyselyWriter(tx)));
  }

  /** A write of one statement: atomic by itself (in a commit group on SQLite). */
  private writeOne<T>(work: (db: Db, writer: Writer) => Promise<T>): Promise<T> {
    const { group, sqliteWriter } = this;
    if (group && sqliteWriter) return group.run(() => work(this.db, sqliteWriter));
    return work(this.db, kyselyWriter(this.db));
  }

  /**
   * Kysely's migrator for this database. On PostgreSQL it is pinned to the current schema:
   * left alone, Kysely takes a `kysely_migration` table in ANY schema for its own, so a
   * database holding another app's (or another Tessera's) schema would skip migrations.
   */
  async migrator(): Promise<Migrator> {
    if (this.engine !== 'postgres') return new Migrator({ db: this.db, provider: migrationProvider });
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db);
    const schema = rows[0]?.schema;
    return new Migrator({ db: this.db, provider: migrationProvider, ...(schema && { migrationTableSchema: schema }) });
  }

  /** Applies pending migrations; returns the names of those applied. */
  async migrate(): Promise<string[]> {
    const migrator = await this.migrator();
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  // clients

  async createClient(c: ClientRecord): Promise<void> {
    await this.db
      .insertInto('clients')
      .values({
        id: c.id,
        name: c.name,
        secret_hash: c.secretHash,
        redirect_uris: JSON.stringify(c.redirectUris),
        scopes: JSON.stringify(c.scopes),
        grant_types: JSON.stringify(c.grantTypes),
        pkce_required: c.pkceRequired ? 1 : 0,
        created_at: c.createdAt,
        disabled_at: c.disabledAt,
      })
      .execute();
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    const row = await this.lookup(this.hot.client, { id });
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = await this.db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toClient);
  }

  async removeClient(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('clients').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async setClientSecret(id: string, secretHash: string): Promise<boolean> {
    const result = await this.db
      .updateTable('clients')
      .set({ secret_hash: secretHash })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  // people

  async createPerson(p: PersonRecord): Promise<boolean> {
    try {
      await this.db
        .insertInto('people')
        .values({
          id: p.id,
          username: p.username,
          display_name: p.displayName,
          password_hash: p.passwordHash,
          roles: JSON.stringify(p.roles),
          created_at: p.createdAt,
          disabled_at: p.disabledAt,
        })
        .execute();
      return true;
    } catch (err) {
      if (this.isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async getPerson(id: string): Promise<PersonRecord | undefined> {
    const row = await this.lookup(this.hot.person, { id });
    return row && toPerson(row);
  }

  async getPersonByUsername(username: string): Promise<PersonRecord | undefined> {
    const row = await this.db.selectFrom('people').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toPerson(row);
  }

  async listPeople(): Promise<PersonRecord[]> {
    const rows = await this.db.selectFrom('people').selectAll().orderBy('username').execute();
    return rows.map(toPerson);
  }

  async removePerson(username: string): Promise<boolean> {
    const result = await this.db.deleteFrom('people').where('username', '=', username).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async setPassword(username: string, passwordHash: string): Promise<boolean> {
    return this.writeTx(async (tx) => {
      const person = await tx.selectFrom('people').select('id').where('username', '=', username).executeTakeFirst();
      if (!person) return false;
      await tx.updateTable('people').set({ password_hash: passwordHash }).where('id', '=', person.id).execute();
      await tx.deleteFrom('sign_in_sessions').where('person_id', '=', person.id).execute();
      return true;
    });
  }

  async setPersonDisabled(username: string, disabledAt: number | null): Promise<boolean> {
    return this.writeTx(async (tx) => {
      const person = await tx.selectFrom('people').select('id').where('username', '=', username).executeTakeFirst();
      if (!person) return false;
      await tx.updateTable('people').set({ disabled_at: disabledAt }).where('id', '=', person.id).execute();
      if (disabledAt !== null) {
        await tx.deleteFrom('sign_in_sessions').where('person_id', '=', person.id).execute();
        await tx.deleteFrom('pending_authorizations').where('person_id', '=', person.id).execute();
        await tx
          .updateTable('grants')
          .set({ revoked_at: disabledAt })
          .where('person_id', '=', person.id)
          .where('revoked_at', 'is', null)
          .execute();
      }
      return true;
    });
  }

  // sign-in and consent

  async createPendingAuthorization(p: PendingAuthorizationRecord): Promise<void> {
    await this.writeOne((db) =>
      db
        .insertInto('pending_authorizations')
        .values({
          id: p.id,
          client_id: p.clientId,
          request: p.request,
          browser_hash: p.browserHash,
          person_id: p.personId,
          created_at: p.createdAt,
          expires_at: p.expiresAt,
        })
        .execute(),
    );
  }

  async getPendingAuthorization(id: string, now: number): Promise<PendingAuthorizationRecord | undefined> {
    const row = await this.db
      .selectFrom('pending_authorizations')
      .selectAll()
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && toPending(row);
  }

  async setPendingAuthorizationPerson(id: string, personId: string): Promise<boolean> {
    const result = await this.writeOne((db) =>
      db.updateTable('pending_authorizations').set({ person_id: personId }).where('id', '=', id).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async takePendingAuthorization(id: string, now: number): Promise<PendingAuthorizationRecord | undefined> {
    return this.writeTx(async (tx) => {
      const row = await tx
        .selectFrom('pending_authorizations')
        .selectAll()
        .where('id', '=', id)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (!row) return undefined;
      // The delete is the claim: of two racing submissions only one deletes the row.
      const result = await tx.deleteFrom('pending_authorizations').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1 ? toPending(row) : undefined;
    });
  }

  async createSignInSession(s: SignInSessionRecord): Promise<void> {
    await this.writeOne((db) =>
      db
        .insertInto('sign_in_sessions')
        .values({ hash: s.hash, person_id: s.personId, created_at: s.createdAt, expires_at: s.expiresAt })
        .execute(),
    );
  }

  async getSignInSession(hash: string, now: number): Promise<SignInSessionRecord | undefined> {
    const row = await this.db
      .selectFrom('sign_in_sessions')
      .selectAll()
      .where('hash', '=', hash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return (
      row && {
        hash: row.hash,
        personId: row.person_id,
        createdAt: time(row.created_at),
        expiresAt: time(row.expires_at),
      }
    );
  }

  async deleteSignInSession(hash: string): Promise<void> {
    await this.writeOne((db) => db.deleteFrom('sign_in_sessions').where('hash', '=', hash).execute());
  }

  async recordSignInFailure(key: string, now: number, windowMs: number): Promise<number> {
    const since = now - windowMs;
    await this.writeOne((db) =>
      db
        .insertInto('sign_in_failures')
        .values({ key, window_started_at: now, failures: 1 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => {
            const live = eb('sign_in_failures.window_started_at', '>', since);
            return {
              failures: eb
                .case()
                .when(live)
                .then(eb('sign_in_failures.failures', '+', 1))
                .else(1)
                .end(),
              window_started_at: eb
                .case()
                .when(live)
                .then(eb.ref('sign_in_failures.window_started_at'))
                .else(now)
                .end(),
            };
          }),
        )
        .execute(),
    );
    return this.countSignInFailures(key, now, windowMs);
  }

  async recordSignInAttempt(key: string, now: number, windowMs: number): Promise<number> {
    return this.recordSignInFailure(key, now, windowMs);
  }

  async countSignInFailures(key: string, now: number, windowMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('sign_in_failures')
      .select('failures')
      .where('key', '=', key)
      .where('window_started_at', '>', now - windowMs)
      .executeTakeFirst();
    return row ? Number(row.failures) : 0;
  }

  async clearSignInFailures(key: string): Promise<void> {
    await this.writeOne((db) => db.deleteFrom('sign_in_failures').where('key', '=', key).execute());
  }

  // issuing

  async createGrantWithCode(grant: GrantRecord, code: AuthorizationCodeRecord): Promise<void> {
    await this.writeTx(async (_tx, writer) => {
      await writer.changes(this.hot.insertGrant, grantRow(grant));
      await writer.changes(this.hot.insertCode, {
        hash: code.hash,
        grant_id: code.grantId,
        redirect_uri: code.redirectUri,
        code_challenge: code.codeChallenge,
        expires_at: code.expiresAt,
        consumed_at: code.consumedAt,
      });
    });
  }

  async createGrantWithAccessToken(grant: GrantRecord, token: AccessTokenRecord): Promise<void> {
    await this.writeTx(async (_tx, writer) => {
      await writer.changes(this.hot.insertGrant, grantRow(grant));
      await writer.changes(this.hot.insertAccess, accessRow(token));
    });
  }

  async findAuthorizationCode(hash: string): Promise<AuthorizationCodeLookup | undefined> {
    const row = await this.lookup(this.hot.code, { hash });
    if (!row) return undefined;
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

  async consumeAuthorizationCode(
    hash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<UseOnceResult> {
    return this.useOnce(this.hot.consumeCode, this.hot.codeExists, hash, now, access, refresh);
  }

  async findRefreshToken(hash: string): Promise<RefreshTokenLookup | undefined> {
    const row = await this.lookup(this.hot.refresh, { hash });
    if (!row) return undefined;
    return {
      token: {
        hash: row.hash,
        grantId: row.grant_id,
        scope: row.scope as Role,
        expiresAt: time(row.expires_at),
        retiredAt: maybeTime(row.retired_at),
      },
      grant: joinedGrant(row),
    };
  }

  async rotateRefreshToken(
    oldHash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<UseOnceResult> {
    return this.useOnce(this.hot.retireRefresh, this.hot.refreshExists, oldHash, now, access, refresh);
  }

  async findAccessToken(hash: string): Promise<AccessTokenLookup | undefined> {
    // One query for the hot path of every API call: the token, its grant, person and client.
    const row = await this.lookup(this.hot.access, { hash });
    if (!row) return undefined;
    return {
      token: { hash: row.hash, grantId: row.grant_id, scope: row.scope as Role, expiresAt: time(row.expires_at) },
      grant: joinedGrant(row),
      person: {
        id: row.g_person_id,
        username: row.p_username,
        displayName: row.p_display_name,
        disabledAt: maybeTime(row.p_disabled_at),
      },
      client: { id: row.g_client_id, disabledAt: maybeTime(row.c_disabled_at) },
    };
  }

  async revokeGrant(grantId: string, now: number): Promise<void> {
    await this.writeOne((_db, writer) => writer.changes(this.hot.revokeGrant, { id: grantId, now }));
  }

  // operations

  async purgeExpired(now: number, options: PurgeOptions): Promise<PurgeCounts> {
    const size = options.batchSize;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`batchSize must be a positive integer, not ${size}`);
    const maxBatches = options.maxBatches ?? Infinity;
    const failuresBefore = now - options.signInFailureWindowMs;
    const db = this.db;

    // Each step deletes one batch — `delete … where key in (select key … limit N)`, one
    // statement that commits on its own (foreign keys cascade inside it) — and returns
    // how many rows it deleted. Oldest first, so racing instances pick the same rows and
    // one of them simply finds them gone.
    const steps: Record<keyof PurgeCounts, Array<() => Promise<DeleteResult>>> = {
      pending_authorizations: [
        () =>
          db
            .deleteFrom('pending_authorizations')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('pending_authorizations')
                .select('id')
                .where('expires_at', '<=', now)
                .orderBy('expires_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      sign_in_sessions: [
        () =>
          db
            .deleteFrom('sign_in_sessions')
            .where('hash', 'in', (eb) =>
              eb
                .selectFrom('sign_in_sessions')
                .select('hash')
                .where('expires_at', '<=', now)
                .orderBy('expires_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      sign_in_failures: [
        () =>
          db
            .deleteFrom('sign_in_failures')
            .where('key', 'in', (eb) =>
              eb
                .selectFrom('sign_in_failures')
                .select('key')
                .where('window_started_at', '<=', failuresBefore)
                .orderBy('window_started_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      // A consumed code's row is what detects a replay, but only until the code expires:
      // after that a replay fails as an unknown code anyway.
      authorization_codes: [
        () =>
          db
            .deleteFrom('authorization_codes')
            .where('hash', 'in', (eb) =>
              eb
                .selectFrom('authorization_codes')
                .select('hash')
                .where('expires_at', '<=', now)
                .orderBy('expires_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      access_tokens: [
        () =>
          db
            .deleteFrom('access_tokens')
            .where('hash', 'in', (eb) =>
              eb
                .selectFrom('access_tokens')
                .select('hash')
                .where('expires_at', '<=', now)
                .orderBy('expires_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      refresh_tokens: [
        // Expired ones; a retired one is what detects reuse (and revokes the family), so
        // it stays while its grant lives.
        () =>
          db
            .deleteFrom('refresh_tokens')
            .where('hash', 'in', (eb) =>
              eb
                .selectFrom('refresh_tokens as rt')
                .innerJoin('grants as g', 'g.id', 'rt.grant_id')
                .select('rt.hash')
                .where('rt.expires_at', '<=', now)
                .where((w) => w.or([w('rt.retired_at', 'is', null), w('g.expires_at', '<=', now)]))
                .orderBy('rt.expires_at')
                .limit(size),
            )
            .executeTakeFirst(),
        // Those of a revoked grant: none of them can be used any more.
        () =>
          db
            .deleteFrom('refresh_tokens')
            .where('hash', 'in', (eb) =>
              eb
                .selectFrom('refresh_tokens as rt')
                .innerJoin('grants as g', 'g.id', 'rt.grant_id')
                .select('rt.hash')
                .where('g.revoked_at', 'is not', null)
                .orderBy('rt.hash')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
      grants: [
        () =>
          db
            .deleteFrom('grants')
            .where('id', 'in', (eb) =>
              eb.selectFrom('grants').select('id').where('expires_at', '<=', now).orderBy('expires_at').limit(size),
            )
            .executeTakeFirst(),
        // Revoked grants once no code or access token of theirs is unexpired.
        () =>
          db
            .deleteFrom('grants')
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('grants as g')
                .select('g.id')
                .where('g.revoked_at', 'is not', null)
                .where((w) =>
                  w.not(
                    w.exists(
                      w
                        .selectFrom('authorization_codes as c')
                        .select('c.hash')
                        .whereRef('c.grant_id', '=', 'g.id')
                        .where('c.expires_at', '>', now),
                    ),
                  ),
                )
                .where((w) =>
                  w.not(
                    w.exists(
                      w
                        .selectFrom('access_tokens as a')
                        .select('a.hash')
                        .whereRef('a.grant_id', '=', 'g.id')
                        .where('a.expires_at', '>', now),
                    ),
                  ),
                )
                .orderBy('g.revoked_at')
                .limit(size),
            )
            .executeTakeFirst(),
      ],
    };

    const counts: PurgeCounts = {
      pending_authorizations: 0,
      sign_in_sessions: 0,
      sign_in_failures: 0,
      authorization_codes: 0,
      access_tokens: 0,
      refresh_tokens: 0,
      grants: 0,
    };
    // Children before grants, so that what a grant takes with it has been counted (by
    // this call; when instances race, one's grants may take another's children along).
    for (const kind of Object.keys(steps) as Array<keyof PurgeCounts>) {
      let batches = 0;
      for (const step of steps[kind]) {
        // Only a batch that deleted nothing ends the step (not one that deleted fewer
        // than asked, which may mean another instance took some of the same rows), so
        // of instances racing, the last to find rows drains them all.
        while (batches < maxBatches) {
          if (options.signal?.aborted) return counts;
          const deleted = Number((await retried(step)).numDeletedRows);
          batches += 1;
          counts[kind] += deleted;
          // Let requests in between batches: better-sqlite3 is synchronous, and a
          // chain of promises alone would keep the event loop from them.
          await nextTurn();
          if (deleted === 0) break;
        }
      }
    }
    return counts;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async putSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.getSetting(key)) ?? value;
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('settings').select('key').limit(1).execute();
  }

  async close(): Promise<void> {
    try {
      await this.sqlite?.close();
    } finally {
      await this.db.destroy();
    }
  }

  /**
   * The use-once pattern: a conditional update claims the row; only the transaction that
   * changed it stores the new tokens. Zero rows changed means someone used it first, or
   * it does not exist.
   */
  private async useOnce(
    claim: PreparedQuery<unknown>,
    exists: PreparedQuery<{ hash: string }>,
    hash: string,
    now: number,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<UseOnceResult> {
    return this.writeTx(async (_tx, writer) => {
      if ((await writer.changes(claim, { hash, now })) !== 1) {
        return (await writer.first(exists, { hash })) ? 'replayed' : 'missing';
      }
      await writer.changes(this.hot.insertAccess, accessRow(access));
      if (refresh) await writer.changes(this.hot.insertRefresh, refreshRow(refresh));
      return 'ok';
    });
  }
}
