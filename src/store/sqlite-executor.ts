/**
 * The SQLite executor (executor.ts): operations driven synchronously on the one
 * connection — reads in this turn's read transaction, writes as items of a commit group.
 * Also the Kysely driver over the same connection, for migrations (statements straight
 * to the connection while they run) and for whoever holds `store.db`: its reads take the
 * read path and each write is a group item of its own; a Kysely transaction is refused
 * (it would stay open across turns).
 */
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from 'kysely';
import { driveSync, type Executor, type Operation, type StatementResult } from './executor.js';
import type { GroupCommit } from './group-commit.js';
import { StoreGuardError, type SqliteConnection } from './sqlite-connection.js';

export function sqliteExecutor(
  connection: SqliteConnection,
  group: GroupCommit,
  isUniqueViolation: (err: unknown) => boolean,
): Executor {
  const read = <T>(operation: () => Operation<T>): Promise<T> => {
    try {
      return Promise.resolve(connection.read(() => driveSync(operation(), (s) => connection.run(s, 'read'))));
    } catch (err) {
      return Promise.reject(err);
    }
  };
  // An operation's value is never a promise (a generator's return value is not awaited);
  // the group checks it at run time all the same.
  const write = <T>(operation: () => Operation<T>): Promise<T> =>
    group.run((scope) => driveSync(operation(), (s) => connection.run(s, scope)) as never) as Promise<T>;
  return { read, write, transaction: write, snapshot: read, isUniqueViolation };
}

function kyselyResult<R>(result: StatementResult): QueryResult<R> {
  return { rows: result.rows as R[], numAffectedRows: BigInt(result.changes) };
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    private readonly connection: SqliteConnection,
    private readonly group: GroupCommit,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { connection } = this;
    if (connection.migrating) return kyselyResult(connection.run(query, 'direct'));
    if (connection.readsOnly(query.sql)) return kyselyResult(connection.read(() => connection.run(query, 'read')));
    return kyselyResult(await this.group.run((scope) => connection.run(query, scope)));
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite here');
  }
}

class GuardedDriver implements Driver {
  private readonly db: GuardedConnection;

  constructor(
    private readonly connection: SqliteConnection,
    group: GroupCommit,
  ) {
    this.db = new GuardedConnection(connection, group);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.db;
  }

  private transactions(): never {
    throw new StoreGuardError('Kysely transactions are not run on SQLite: a store operation runs in a commit group');
  }

  async beginTransaction(): Promise<void> {
    this.transactions();
  }

  async commitTransaction(): Promise<void> {
    this.transactions();
  }

  async rollbackTransaction(): Promise<void> {
    this.transactions();
  }

  async releaseConnection(): Promise<void> {}

  /** Closes the database (store.close() has made it durable first). */
  async destroy(): Promise<void> {
    if (this.connection.raw.open) this.connection.raw.close();
  }
}

export function guardedSqliteDialect(connection: SqliteConnection, group: GroupCommit): Dialect {
  return {
    createDriver: () => new GuardedDriver(connection, group),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}
