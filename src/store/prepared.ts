/**
 * Queries built and compiled once. Kysely builds and compiles a query on every call, and
 * on the hot paths (every token request, every API call) that cost more than running the
 * query. A prepared query is built once with named placeholders and then executed with
 * new values; the SQL text stays the same, so PostgreSQL's plans are reused. On SQLite it
 * runs straight on the connection's prepared statement (sqlite-connection.ts), without
 * Kysely's asynchronous driver in between: better-sqlite3 answers synchronously anyway.
 */
import type { CompiledQuery, QueryResult } from 'kysely';
import type { SqliteConnection } from './sqlite-connection.js';

/** What runs a compiled query: a Kysely instance or transaction. */
interface Executor {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

const MARK = '\u0000tessera-param:';

/** A named placeholder for a value given at execution. */
export function param(name: string): string {
  return `${MARK}${name}`;
}

/** Placeholders named after their columns: the values of a prepared insert. */
export function params<Column extends string>(...columns: Column[]): Record<Column, string> {
  return Object.fromEntries(columns.map((column) => [column, param(column)])) as Record<Column, string>;
}

export class PreparedQuery<Row> {
  private compiled: CompiledQuery<Row> | undefined;

  constructor(private readonly build: () => { compile(): CompiledQuery<Row> }) {}

  private query(values: Record<string, unknown>): { sql: string; parameters: unknown[]; compiled: CompiledQuery<Row> } {
    const compiled = (this.compiled ??= this.build().compile());
    const parameters = compiled.parameters.map((v) =>
      typeof v === 'string' && v.startsWith(MARK) ? values[v.slice(MARK.length)] : v,
    );
    return { sql: compiled.sql, parameters, compiled };
  }

  /** The first row, through Kysely (PostgreSQL, or SQLite inside a Kysely transaction). */
  async first(db: Executor, values: Record<string, unknown>): Promise<Row | undefined> {
    const { parameters, compiled } = this.query(values);
    const { rows } = await db.executeQuery<Row>({ ...compiled, parameters });
    return rows[0];
  }

  /** How many rows a write changed, through Kysely. */
  async changes(db: Executor, values: Record<string, unknown>): Promise<number> {
    const { parameters, compiled } = this.query(values);
    const { numAffectedRows } = await db.executeQuery<Row>({ ...compiled, parameters });
    return Number(numAffectedRows ?? 0);
  }

  /** The first row, on SQLite: in this turn's read transaction (or the open write one). */
  firstOn(connection: SqliteConnection, values: Record<string, unknown>): Row | undefined {
    const { sql, parameters } = this.query(values);
    return connection.read(() => connection.statement(sql).get(...parameters) as Row | undefined);
  }

  /** How many rows a write changed, on SQLite: run inside a commit group's transaction. */
  changesOn(connection: SqliteConnection, values: Record<string, unknown>): number {
    const { sql, parameters } = this.query(values);
    return connection.statement(sql).run(...parameters).changes;
  }
}
