/**
 * The PostgreSQL executor (executor.ts): operations driven with `await` through Kysely
 * and pg — one statement at a time on the pool, or inside one transaction when they must
 * happen together. Kysely's driver is wrapped by open.ts, so "cannot reach the database"
 * surfaces as StoreUnavailableError here too.
 */
import type { Kysely, Transaction } from 'kysely';
import { driveAsync, type Executor, type Operation, type Statement, type StatementResult } from './executor.js';
import type { Database } from './schema.js';

async function execute(db: Kysely<Database> | Transaction<Database>, statement: Statement): Promise<StatementResult> {
  const { rows, numAffectedRows } = await db.executeQuery({ ...statement.compiled, parameters: statement.parameters });
  return { rows, changes: Number(numAffectedRows ?? 0) };
}

export function postgresExecutor(db: Kysely<Database>, isUniqueViolation: (err: unknown) => boolean): Executor {
  const direct = <T>(operation: () => Operation<T>): Promise<T> => driveAsync(operation(), (s) => execute(db, s));
  return {
    read: direct,
    write: direct,
    transaction: (operation) => db.transaction().execute((tx) => driveAsync(operation(), (s) => execute(tx, s))),
    snapshot: (operation) =>
      db
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute((tx) => driveAsync(operation(), (s) => execute(tx, s))),
    isUniqueViolation,
  };
}
