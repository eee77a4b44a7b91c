/**
 * Opening a store from a database URL. Engine differences live here: the dialect, the
 * connection settings, and how each driver reports a unique-key violation. Every query
 * either driver runs goes through `translatingDialect`, so that "the database cannot be
 * reached" surfaces as one typed StoreUnavailableError (errors.ts) on both engines.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  PostgresDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { ClientCache, PostgresClientNotices, sqliteClientChanges } from './client-cache.js';
import { describeUnavailable, isDatabaseUnavailable, StoreUnavailableError, translateStoreError } from './errors.js';
import { kyselyStore, type KyselyStore } from './kysely-store.js';
import { GroupCommit } from './group-commit.js';
import { PoolWaits, postgresExecutor } from './postgres-executor.js';
import { guardedSqliteDialect, sqliteExecutor } from './sqlite-executor.js';
import { sqliteConnection, type CheckpointReport, type SqliteConnection } from './sqlite-connection.js';
import type { Database } from './schema.js';

export { isDatabaseUnavailable, StoreUnavailableError } from './errors.js';

export const DEFAULT_DB_URL = 'sqlite:./.tessera/tessera.db';

/**
 * The database is not there, or Tessera never migrated it (`OpenOptions.mustExist`).
 */
export class MissingDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingDatabaseError';
  }
}

/**
 * The database could not be opened or reached: the CLI prints the message and exits 2.
 * `unavailable` is true when the cause may go away by itself (the server is down or
 * unreachable, not a wrong URL, password or database name): `serve` waits and retries.
 */
export class StoreOpenError extends Error {
  readonly unavailable: boolean;

  constructor(message: string, options?: { cause?: unknown; unavailable?: boolean }) {
    super(message, options);
    this.name = 'StoreOpenError';
    this.unavailable = options?.unavailable ?? false;
  }
}

// ---------------------------------------------------------------------------------------
// Driver errors in, StoreUnavailableError out
// ---------------------------------------------------------------------------------------

async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw translateStoreError(err);
  }
}

/**
 * A Kysely driver that runs `inner` and turns its "cannot reach the database" errors —
 * while acquiring a connection, running a query, or beginning, committing or rolling
 * back a transaction — into StoreUnavailableError. Other errors (a unique violation, a
 * bug) pass through unchanged. The inner driver always gets its own connection objects
 * back: it keeps private state on them (pg's release and discard marks).
 */
class TranslatingDriver implements Driver {
  readonly #inner: Driver;
  readonly #innerOf = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#innerOf.get(connection) ?? connection;
  }

  init(): Promise<void> {
    return translated(() => this.#inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await translated(() => this.#inner.acquireConnection());
    const outer: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        translated(() => inner.executeQuery<R>(query)),
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(query, chunkSize),
    };
    this.#innerOf.set(outer, inner);
    return outer;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return translated(() => this.#inner.beginTransaction(this.#unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return translated(() => this.#inner.commitTransaction(this.#unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return translated(() => this.#inner.rollbackTransaction(this.#unwrap(connection)));
  }

  savepoint: Driver['savepoint'] = (connection, name, compile) =>
    translated(() => this.#optional('savepoint')(this.#unwrap(connection), name, compile));

  rollbackToSavepoint: Driver['rollbackToSavepoint'] = (connection, name, compile) =>
    translated(() => this.#optional('rollbackToSavepoint')(this.#unwrap(connection), name, compile));

  releaseSavepoint: Driver['releaseSavepoint'] = (connection, name, compile) =>
    translated(() => this.#optional('releaseSavepoint')(this.#unwrap(connection), name, compile));

  #optional(method: 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint') {
    const fn = this.#inner[method];
    if (!fn) throw new Error(`the ${method} method is not supported by this driver`);
    return fn.bind(this.#inner);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

function translatingDialect(inner: Dialect): Dialect {
  return {
    createDriver: () => new TranslatingDriver(inner.createDriver()),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
  };
}

export type DatabaseUrl = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/** Parses `sqlite:PATH`, `sqlite::memory:` or `postgres://…`; throws a one-line error otherwise. */
export function parseDatabaseUrl(url: string): DatabaseUrl {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new StoreOpenError(`database URL '${url}' names no file: use sqlite:PATH`);
    return { engine: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { engine: 'postgres', url };
  throw new StoreOpenError(`database URL '${url}' is not understood: use sqlite:PATH or postgres://…`);
}

/** Whether `url` is a SQLite file named relative to the working folder (sqlite:./x.db, sqlite:x.db). */
export function isRelativeSqliteUrl(url: string): boolean {
  const parsed = parseDatabaseUrl(url);
  return parsed.engine === 'sqlite' && parsed.path !== ':memory:' && !isAbsolute(parsed.path);
}

/**
 * Creates the missing directories above `file`, one level at a time. Node's
 * `mkdirSync(dir, { recursive: true })` never returns for a directory under /proc (the
 * kernel answers ENOENT, which it reads as "parent missing" and retries forever).
 */
function makeParentDirectories(file: string): void {
  const missing: string[] = [];
  for (let dir = dirname(resolve(file)); !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      // Another process (a second CLI, a starting server) may have made it meanwhile.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Whether the SQLite file has Kysely's migration table: one read, on a connection of its own. */
function hasMigrationTable(path: string): boolean {
  const probe = new SQLite(path, { fileMustExist: true });
  try {
    return (
      probe.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get() !==
      undefined
    );
  } finally {
    probe.close();
  }
}

function openSqlite(path: string, mustExist: boolean, onCheckpoint?: (report: CheckpointReport) => void): KyselyStore {
  const inMemory = path === ':memory:';
  let database: SQLite.Database;
  let connection: SqliteConnection;
  if (mustExist && !inMemory && !existsSync(path))
    throw new MissingDatabaseError(`there is no database at ${resolve(path)}`);
  try {
    // Before the connection is set up (WAL, which writes to the file): a file Tessera did
    // not make, even an empty one, is left exactly as it was.
    if (mustExist && !inMemory && !hasMigrationTable(path)) {
      throw new MissingDatabaseError(`the database ${resolve(path)} has no Tessera tables`);
    }
    if (!inMemory && !mustExist) makeParentDirectories(path);
    // fileMustExist: a file removed since the check above is not made anew, empty.
    database = new SQLite(path, { fileMustExist: mustExist && !inMemory });
    // busy_timeout lets the CLI and a running server share the file; WAL (set by
    // sqliteConnection, with its durable sync) lets readers and one writer work together.
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    // A 32 MiB page cache (SQLite's default is 2 MiB): with a million tokens the inner pages
    // of the token and grant indexes alone outgrow 2 MiB, and every miss is a read from
    // the file (a lookup went from 8 to 23 µs). It fills only as pages are used.
    database.pragma(`cache_size = ${-32 * 1024}`);
    connection = sqliteConnection(database, path, onCheckpoint ? { onCheckpoint } : {});
  } catch (err) {
    if (err instanceof MissingDatabaseError) throw err;
    throw new StoreOpenError(`cannot open SQLite database '${path}': ${(err as Error).message}`, { cause: err });
  }
  const group = new GroupCommit(connection);
  const db = new Kysely<Database>({ dialect: translatingDialect(guardedSqliteDialect(connection, group)) });
  const isUniqueViolation = (err: unknown) =>
    typeof err === 'object' && err !== null && String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
  return kyselyStore({
    db,
    engine: 'sqlite',
    exec: sqliteExecutor(connection, group, isUniqueViolation),
    sqlite: { connection, group },
    clientCache: new ClientCache(sqliteClientChanges(() => connection.dataVersion())),
  });
}

/** A database URL fit for messages and logs: the password replaced. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /**
   * Refuse, with a MissingDatabaseError, a database Tessera has never migrated: a SQLite
   * file that is not there (nothing is created, not even its folder), or a database
   * without Tessera's tables. Default false: the database is created and migrated.
   */
  mustExist?: boolean;
  /** PostgreSQL connection pool size (default 10). */
  poolSize?: number;
  /** SQLite: told after every background WAL checkpoint (sqlite-connection.ts), e.g. to log it at debug. */
  onCheckpoint?: (report: CheckpointReport) => void;
}

export const DEFAULT_POOL_SIZE = 10;

function openPostgres(url: string, poolSize: number): KyselyStore {
  // The pool's connections and the client cache's listening one alike: the URL's host,
  // password, TLS settings and options.
  const connection: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: 5000,
    // Dead peers (a failover, a cut network) are noticed on idle connections too.
    keepAlive: true,
  };
  const pool = new pg.Pool({ ...connection, max: poolSize, idleTimeoutMillis: 30_000 });
  // A connection dropped by the server or the network (a restart, a failover) must not
  // crash the process. An idle one reports through the pool; one checked out reports on
  // its client, which has no listener of its own while in use — an 'error' event without
  // a listener would throw. The query in flight fails (StoreUnavailableError), the pool
  // discards the client on release (it is no longer queryable), and the next query opens
  // a new connection: nothing keeps a broken state.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: translatingDialect(new PostgresDialect({ pool })) });
  const isUniqueViolation = (err: unknown) =>
    typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
  const waits = new PoolWaits(pool);
  return kyselyStore({
    db,
    engine: 'postgres',
    exec: postgresExecutor(waits, isUniqueViolation),
    poolWaits: waits,
    clientCache: new ClientCache(new PostgresClientNotices(() => new pg.Client(connection))),
  });
}

/** Opens the store and, unless told not to, applies pending migrations. */
export async function openStore(url: string, options: OpenOptions = {}): Promise<KyselyStore> {
  const parsed = parseDatabaseUrl(url);
  const mustExist = options.mustExist ?? false;
  const store =
    parsed.engine === 'sqlite'
      ? openSqlite(parsed.path, mustExist, options.onCheckpoint)
      : openPostgres(parsed.url, options.poolSize ?? DEFAULT_POOL_SIZE);
  const where = parsed.engine === 'postgres' ? ` at ${redactDatabaseUrl(parsed.url)}` : '';
  let migrated = true;
  try {
    // Kysely's migrator reads its table without creating it when there is none.
    if (mustExist) migrated = (await store.migrations((m) => m.getMigrations())).some((m) => m.executedAt);
    if (migrated && (options.migrate ?? true)) await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw new StoreOpenError(`cannot open the database${where}: ${describeDatabaseError(err)}`, {
      cause: err,
      unavailable: isDatabaseUnavailable(err),
    });
  }
  if (!migrated) {
    await store.close().catch(() => undefined);
    const what = parsed.engine === 'sqlite' ? `the database ${resolveSqlitePath(parsed.path)}` : `the database${where}`;
    throw new MissingDatabaseError(`${what} has no Tessera tables`);
  }
  return store;
}

function resolveSqlitePath(path: string): string {
  return path === ':memory:' ? path : resolve(path);
}

/** A driver error as a short phrase: connection failures by their cause, not a stack. */
export function describeDatabaseError(err: unknown): string {
  if (err instanceof StoreUnavailableError) return describeUnavailable(err.cause);
  if (isDatabaseUnavailable(err)) return describeUnavailable(err);
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e.code ?? e.errors?.[0]?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the database host name does not resolve';
  if (code === '3D000') return 'the database does not exist';
  if (code === '28P01' || code === '28000') return 'the database refused the credentials';
  return (e.message ?? String(err)).split('\n')[0] || 'unknown database error';
}
