/**
 * One small executor per engine, and store operations written once for both.
 *
 * An operation is a generator that yields compiled statements and receives their
 * results. The SQLite executor drives it synchronously — a read in this turn's read
 * transaction, a write as one item of a commit group (group-commit.ts) — so nothing
 * else can run on the connection in between. The PostgreSQL executor drives it with
 * `await`, inside a transaction when the operation's statements must happen together.
 * A statement that fails is thrown into the generator, which may catch it (a unique
 * violation that means "taken").
 */
import type { CompiledQuery } from 'kysely';

/** A compiled statement; `Row` is what its rows look like. */
export interface Statement<Row = unknown> {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /**
   * A prepared statement's name, the same for the same SQL text: PostgreSQL keeps such a
   * statement parsed and planned per connection (postgres-executor.ts). Absent for a
   * statement built for one call, which PostgreSQL should not keep.
   */
  readonly name?: string;
  /**
   * Kysely's compiled query, for the PostgreSQL executor (its query node); its own
   * parameters may be a prepared statement's placeholders: `parameters` are the values.
   */
  readonly compiled: CompiledQuery;
  /** Only its first row is wanted (`first`): SQLite then stops stepping after it. */
  one: boolean;
  /** Phantom: never set. */
  readonly row?: Row;
}

export interface StatementResult {
  readonly rows: readonly unknown[];
  /** Rows an insert, update or delete changed. */
  readonly changes: number;
}

export type Operation<T> = Generator<Statement, T, StatementResult>;

/** What runs operations on one engine. */
export interface Executor {
  /** Reads; on SQLite in this turn's read transaction, which never sees a write in progress. */
  read<T>(operation: () => Operation<T>): Promise<T>;
  /** Writes each atomic by itself (one statement, or several independent ones). */
  write<T>(operation: () => Operation<T>): Promise<T>;
  /** Writes that must happen together: one transaction. */
  transaction<T>(operation: () => Operation<T>): Promise<T>;
  /** Reads that must see one snapshot: a read-only repeatable-read transaction on PostgreSQL. */
  snapshot<T>(operation: () => Operation<T>): Promise<T>;
  /** Whether a driver error is a unique-key violation. */
  isUniqueViolation(err: unknown): boolean;
}

/** Runs a statement; its rows. */
export function* rows<Row>(statement: Statement<Row>): Generator<Statement, Row[], StatementResult> {
  return (yield statement).rows as Row[];
}

/** Runs a statement; its first row. */
export function* first<Row>(statement: Statement<Row>): Generator<Statement, Row | undefined, StatementResult> {
  // Each bound statement is a new object (prepared.ts), so marking it changes no other use.
  statement.one = true;
  return (yield statement).rows[0] as Row | undefined;
}

/** Runs a write; how many rows it changed. */
export function* changes(statement: Statement): Generator<Statement, number, StatementResult> {
  return (yield statement).changes;
}

/** Drives an operation synchronously with `run` (SQLite). */
export function driveSync<T>(operation: Operation<T>, run: (statement: Statement) => StatementResult): T {
  let step = operation.next();
  while (!step.done) {
    let result: StatementResult;
    try {
      result = run(step.value);
    } catch (err) {
      step = operation.throw(err);
      continue;
    }
    step = operation.next(result);
  }
  return step.value;
}

/** Drives an operation with `run`, awaiting each statement (PostgreSQL). */
export async function driveAsync<T>(
  operation: Operation<T>,
  run: (statement: Statement) => Promise<StatementResult>,
): Promise<T> {
  let step = operation.next();
  while (!step.done) {
    let result: StatementResult;
    try {
      result = await run(step.value);
    } catch (err) {
      step = operation.throw(err);
      continue;
    }
    step = operation.next(result);
  }
  return step.value;
}
