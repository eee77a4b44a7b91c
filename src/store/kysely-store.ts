/**
 * The Store, assembled from its parts (parts/): clients and people; interactions
 * (pending authorizations, sign-in sessions, the throttle's counts); grants and tokens;
 * settings; API scopes; signing keys; maintenance (purge, ping). Each part's operations are written once against
 * Kysely's portable builder and run by the engine's executor (executor.ts):
 * sqlite-executor.ts or postgres-executor.ts; open.ts picks one.
 */
import { Migrator, sql, type Kysely } from 'kysely';
import type { ClientCache, ClientCacheState } from './client-cache.js';
import type { Executor } from './executor.js';
import { migrationProvider } from './migrations/index.js';
import { apiScopes } from './parts/api-scopes.js';
import { clientsAndPeople } from './parts/clients-people.js';
import { grantsAndTokens } from './parts/grants-tokens.js';
import { interactions } from './parts/interactions.js';
import { maintenance } from './parts/maintenance.js';
import { settings } from './parts/settings.js';
import { signingKeys } from './parts/signing-keys.js';
import type { Database } from './schema.js';
import type { SqliteConnection } from './sqlite-connection.js';
import type { ClientRecord, Store } from './store.js';
import type { GroupCommit } from './group-commit.js';
import type { PoolWaits } from './postgres-executor.js';

export interface KyselyStore extends Store {
  /** Kysely over the same database (on SQLite: reads on the read path, each write a group item). */
  readonly db: Kysely<Database>;
  readonly engine: 'sqlite' | 'postgres';
  /** What runs the store's operations; export and import (transfer.ts) run theirs with it. */
  readonly exec: Executor;
  /**
   * Runs `work` with Kysely's migrator for this database. On SQLite its statements go
   * straight to the connection meanwhile (writes wait). On PostgreSQL it is pinned to the
   * current schema: left alone, Kysely takes a `kysely_migration` table in ANY schema for
   * its own, so a database holding another app's (or another Tessera's) schema would skip
   * migrations.
   */
  migrations<T>(work: (migrator: Migrator) => Promise<T>): Promise<T>;
  /** Applies pending migrations; returns the names of those applied. */
  migrate(): Promise<string[]>;
  /** PostgreSQL: how long queries waited for a pool connection (serve logs it at debug). */
  readonly poolWaits?: PoolWaits;
  /** Whether the client cache (client-cache.ts) serves from memory now, and what it holds. */
  readonly clientCache: ClientCacheState;
}

export interface EngineParts {
  db: Kysely<Database>;
  engine: 'sqlite' | 'postgres';
  exec: Executor;
  /** The SQLite connection and its commit group (absent on PostgreSQL). */
  sqlite?: { connection: SqliteConnection; group: GroupCommit };
  /** PostgreSQL's pool, counted (absent on SQLite). */
  poolWaits?: PoolWaits;
  /** Client records kept between reads, with the engine's signal of their changes. */
  clientCache: ClientCache<ClientRecord>;
}

export function kyselyStore({ db, engine, exec, sqlite, poolWaits, clientCache }: EngineParts): KyselyStore {
  const context = { db, exec, engine };

  async function migrator(): Promise<Migrator> {
    if (engine !== 'postgres') return new Migrator({ db, provider: migrationProvider });
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema;
    return new Migrator({ db, provider: migrationProvider, ...(schema && { migrationTableSchema: schema }) });
  }

  const migrations = <T>(work: (m: Migrator) => Promise<T>): Promise<T> =>
    sqlite ? sqlite.connection.direct(async () => work(await migrator())) : migrator().then(work);

  const store: KyselyStore & Partial<EngineParts['sqlite'] & { sqlite: SqliteConnection }> = {
    db,
    engine,
    exec,
    ...(poolWaits && { poolWaits }),
    clientCache,
    // The connection and its commit group, for tests that look underneath.
    ...(sqlite && { sqlite: sqlite.connection, group: sqlite.group }),
    ...clientsAndPeople(context, clientCache),
    ...interactions(context),
    ...grantsAndTokens(context),
    ...settings(context),
    ...apiScopes(context),
    ...signingKeys(context),
    ...maintenance(context),
    migrations,
    async migrate() {
      const { error, results } = await migrations((m) => m.migrateToLatest());
      if (error) throw error instanceof Error ? error : new Error(String(error));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    async close() {
      try {
        await sqlite?.connection.close();
        await clientCache.close();
      } finally {
        await db.destroy();
      }
    },
  };
  return store;
}
