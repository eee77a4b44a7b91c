/**
 * Queries built and compiled once. Kysely builds and compiles a query on every call, and
 * on the hot paths (every token request, every API call) that cost more than running the
 * query. A prepared query is built once with named placeholders and then executed with
 * new values; the SQL text stays the same, so better-sqlite3's statement cache and
 * PostgreSQL's plans are reused too.
 */
import type { CompiledQuery, Kysely } from 'kysely';

const MARK = '\u0000tessera-param:';

/** A named placeholder for a value given at execution. */
export function param(name: string): string {
  return `${MARK}${name}`;
}

export class PreparedQuery<Row> {
  private compiled: CompiledQuery<Row> | undefined;

  constructor(private readonly build: () => { compile(): CompiledQuery<Row> }) {}

  async first<DB>(db: Kysely<DB>, values: Record<string, unknown>): Promise<Row | undefined> {
    this.compiled ??= this.build().compile();
    const parameters = this.compiled.parameters.map((v) =>
      typeof v === 'string' && v.startsWith(MARK) ? values[v.slice(MARK.length)] : v,
    );
    const { rows } = await db.executeQuery<Row>({ ...this.compiled, parameters });
    return rows[0];
  }
}
