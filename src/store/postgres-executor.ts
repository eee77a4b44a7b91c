/**
 * The PostgreSQL executor (executor.ts): operations driven with `await` straight on pg's
 * pool — one statement at a time, or inside one transaction when they must happen
 * together. Kysely builds and compiles the statements; running them here rather than
 * through Kysely's driver saves its per-query connection and transaction machinery, and
 * lets a prepared statement (prepared.ts) go out as a *named* one: PostgreSQL parses and
 * plans it once per connection, and every later call sends only Bind and Execute
 * (PostgreSQL documentation, "Extended Query" protocol flow).
 *
 * Driver errors that mean "the database cannot be reached" surface as
 * StoreUnavailableError (errors.ts), as they do through Kysely (open.ts).
 */
import type pg from 'pg';
import { translateStoreError } from './errors.js';
import { driveAsync, type Executor, type Operation, type Statement, type StatementResult } from './executor.js';

/** What the pool reports about waiting for a connection (see `PoolWaits`). */
export interface PoolWaitReport {
  /** Connections handed out since the last report. */
  readonly acquired: number;
  /** Of those, how many had to wait for one to be free. */
  readonly waited: number;
  /** Total and longest wait, in milliseconds. */
  readonly totalWaitMs: number;
  readonly maxWaitMs: number;
  /** The pool now: connections open, idle, and requests queued for one. */
  readonly open: number;
  readonly idle: number;
  readonly queued: number;
}

/**
 * Counts how long queries wait for a pool connection. A wait means the pool is smaller
 * than the concurrency the instance sees: the operator's signal to size it (README,
 * "Running on PostgreSQL").
 */
export class PoolWaits {
  #acquired = 0;
  #waited = 0;
  #total = 0;
  #max = 0;

  constructor(private readonly pool: pg.Pool) {}

  /** A connection from the pool, counting the wait. */
  async connect(): Promise<pg.PoolClient> {
    // Waits when the requests already queued take every idle connection and every one the
    // pool may still open (pg-pool hands even an idle one out on the next tick, in order).
    const { idleCount, totalCount, waitingCount, options } = this.pool;
    const mustWait = idleCount + (options.max - totalCount) - waitingCount <= 0;
    const started = mustWait ? performance.now() : 0;
    const client = await this.pool.connect();
    this.#acquired++;
    if (mustWait) {
      const ms = performance.now() - started;
      this.#waited++;
      this.#total += ms;
      if (ms > this.#max) this.#max = ms;
    }
    return client;
  }

  /** What happened since the last call; undefined when nothing did. */
  take(): PoolWaitReport | undefined {
    if (this.#acquired === 0) return undefined;
    const report: PoolWaitReport = {
      acquired: this.#acquired,
      waited: this.#waited,
      totalWaitMs: Math.round(this.#total * 10) / 10,
      maxWaitMs: Math.round(this.#max * 10) / 10,
      open: this.pool.totalCount,
      idle: this.pool.idleCount,
      queued: this.pool.waitingCount,
    };
    this.#acquired = this.#waited = this.#total = this.#max = 0;
    return report;
  }
}

async function execute(client: pg.PoolClient, statement: Statement): Promise<StatementResult> {
  const config: pg.QueryConfig = { text: statement.sql, values: statement.parameters as unknown[] };
  if (statement.name !== undefined) config.name = statement.name;
  const result = await client.query(config);
  return { rows: result.rows, changes: result.rowCount ?? 0 };
}

/**
 * A named statement whose result columns changed under it (a migration while this instance
 * ran): PostgreSQL refuses to run it on this connection again, so the connection is
 * replaced and the next one prepares it anew (PostgreSQL documentation, PREPARE: "cached
 * plan must not change result type").
 */
function planChanged(err: unknown): boolean {
  return (err as { code?: unknown }).code === '0A000';
}

/** A connection whose state is unknown (it failed under us, or a rollback failed): never reused. */
class Broken {
  error: Error | undefined;
}

async function withClient<T>(
  waits: PoolWaits,
  work: (client: pg.PoolClient, broken: Broken) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await waits.connect();
  } catch (err) {
    throw translateStoreError(err);
  }
  const broken = new Broken();
  try {
    return await work(client, broken);
  } catch (err) {
    const translated = translateStoreError(err);
    if (translated !== err || planChanged(err)) broken.error ??= err as Error;
    throw translated;
  } finally {
    // release(error) closes the connection instead of handing it out again.
    client.release(broken.error);
  }
}

async function inTransaction<T>(
  client: pg.PoolClient,
  broken: Broken,
  begin: string,
  operation: Operation<T>,
): Promise<T> {
  await client.query(begin);
  let result: T;
  try {
    result = await driveAsync(operation, (s) => execute(client, s));
  } catch (err) {
    await client.query('rollback').catch((rollbackError: Error) => {
      broken.error = rollbackError;
    });
    throw err;
  }
  await client.query('commit');
  return result;
}

export function postgresExecutor(waits: PoolWaits, isUniqueViolation: (err: unknown) => boolean): Executor {
  const direct = <T>(operation: () => Operation<T>): Promise<T> =>
    withClient(waits, (client) => driveAsync(operation(), (s) => execute(client, s)));
  return {
    read: direct,
    write: direct,
    transaction: (operation) =>
      withClient(waits, (client, broken) => inTransaction(client, broken, 'begin', operation())),
    snapshot: (operation) =>
      withClient(waits, (client, broken) =>
        inTransaction(client, broken, 'begin isolation level repeatable read read only', operation()),
      ),
    isUniqueViolation,
  };
}
