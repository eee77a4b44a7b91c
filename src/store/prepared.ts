/**
 * Statements built and compiled once. Kysely builds and compiles a query on every call,
 * and on the hot paths (every token request, every API call) that cost more than running
 * the query. A prepared statement is built once over typed placeholders and then bound to
 * new values; the SQL text stays the same, so SQLite reuses the connection's prepared
 * statement (sqlite-connection.ts), and on PostgreSQL it goes out as a named statement,
 * parsed and planned once per connection (postgres-executor.ts).
 *
 * `prepare<{ hash: string }>()((p) => db.selectFrom('t').where('hash', '=', p.hash))` —
 * the builder sees each placeholder with its parameter's type, and `bind` takes exactly
 * those parameters.
 */
import { createHash } from 'node:crypto';
import type { CompiledQuery } from 'kysely';
import type { Statement } from './executor.js';

/** A value given at binding; stands in the builder for a parameter of type T. */
class Placeholder {
  constructor(readonly name: string) {}
}

export type Placeholders<P> = { readonly [K in keyof P]: P[K] };

interface Compilable<Row> {
  compile(): CompiledQuery<Row>;
}

export class Prepared<P extends object, Row> {
  private compiled: CompiledQuery<Row> | undefined;
  private name = '';
  /** For each compiled parameter: the name of the parameter it takes, or undefined for a constant. */
  private slots: Array<keyof P | undefined> = [];

  constructor(private readonly build: (p: Placeholders<P>) => Compilable<Row>) {}

  bind(values: P): Statement<Row> {
    const compiled = this.compiled ?? this.compile();
    const parameters = compiled.parameters.map((constant, i) => {
      const name = this.slots[i];
      return name === undefined ? constant : values[name];
    });
    return { sql: compiled.sql, parameters, compiled, name: this.name, one: false };
  }

  private compile(): CompiledQuery<Row> {
    const placeholders = new Proxy({} as Placeholders<P>, {
      get: (_target, name) => new Placeholder(String(name)),
    });
    const compiled = this.build(placeholders).compile();
    this.slots = compiled.parameters.map((v) => (v instanceof Placeholder ? (v.name as keyof P) : undefined));
    // Named after the text: two Prepared with the same SQL share one server-side statement,
    // and a name never stands for two texts (pg refuses that).
    this.name = `tessera_${createHash('sha256').update(compiled.sql).digest('base64url').slice(0, 24)}`;
    this.compiled = compiled;
    return compiled;
  }
}

/**
 * The placeholders of every column of `P`, for a prepared insert: the list must name
 * them all (a column left out does not compile).
 */
export function columns<P, K extends keyof P>(
  p: Placeholders<P>,
  ...keys: [keyof P] extends [K] ? K[] : never
): Pick<P, K> {
  return Object.fromEntries(keys.map((k) => [k, p[k]])) as Pick<P, K>;
}

/** A prepared statement with parameters `P` (given as a type argument; the row type is inferred). */
export function prepare<P extends object>() {
  return <Row>(build: (p: Placeholders<P>) => Compilable<Row>) => new Prepared<P, Row>(build);
}

/** A statement built anew each call: for what runs rarely. */
export function statement<Row>(query: Compilable<Row>): Statement<Row> {
  const compiled = query.compile();
  return { sql: compiled.sql, parameters: compiled.parameters, compiled, one: false };
}
