/**
 * A whole database as one JSON document, and back: `tessera export` / `tessera import`,
 * the way from one engine to the other (a SQLite deployment moving to PostgreSQL) and a
 * portable backup. Written against Kysely's portable builder only, like the store.
 *
 * The document:
 *
 *     { "format": "tessera-export", "version": 1, "migration": "<last migration applied>",
 *       "exported_at": "<ISO time>", "tables": { "<table>": [ { "<column>": value, … }, … ] } }
 *
 * Rows hold the stored values as they are: hashes stay hashes (the database holds no
 * plain secret), lists stay JSON text, and times (bigint milliseconds, which pg returns
 * as strings) are written as JSON numbers, so both engines read back the same types.
 * The document does hold password hashes, the signing keys' private parts (sealed when
 * TESSERA_SECRET is set, usable as they are otherwise) and, unless TESSERA_SECRET is set,
 * the cookie secret: whoever has it can forge sign-in cookies and try passwords offline.
 *
 * An export is one consistent snapshot (one read-only repeatable-read transaction). An
 * import goes only into an empty database: it migrates the target to the export's
 * migration, inserts every row in one transaction (all or nothing), in foreign-key order
 * and in batches, then applies the migrations that came after (so an export made by an
 * older Tessera is brought up to date like any database would be).
 */
import type { Kysely } from 'kysely';
import { changes, first, rows as allRows, type Operation } from './executor.js';
import type { KyselyStore } from './kysely-store.js';
import { migrationProvider } from './migrations/index.js';
import { statement } from './prepared.js';
import type { Database } from './schema.js';
import { TOKEN_KINDS } from './token-kinds.js';

export const EXPORT_FORMAT = 'tessera-export';
export const EXPORT_VERSION = 1;

/** A refusal or failure the operator can act on; the message is one line. */
export class TransferError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferError';
  }
}

// ---------------------------------------------------------------------------------------
// The tables
// ---------------------------------------------------------------------------------------

/** How a column's values travel: integers (times, flags, counters) as numbers, the rest as text. */
type ColumnKind = 'integer' | 'text';

/** The kind every column of a table must have, derived from schema.ts: number columns are integers. */
type ColumnsOf<T> = { [C in keyof T]-?: number extends T[C] ? 'integer' : 'text' };

interface TableSpec<T> {
  /** The primary key: rows are exported in its order, so that two exports of the same rows are equal. */
  key: keyof T & string;
  columns: ColumnsOf<T>;
}

/**
 * Every table, in foreign-key order (a table comes after the tables it references), with
 * every column. The type makes this list complete: a table or column added to schema.ts
 * and missing here (or a column of the wrong kind) does not compile, and
 * test/store/transfer.test.ts checks schema.ts against what the migrations create. When a
 * migration renames or drops a column, importing an older export needs its old name.
 */
const TABLES = {
  clients: {
    key: 'id',
    columns: {
      id: 'text',
      name: 'text',
      secret_hash: 'text',
      redirect_uris: 'text',
      scopes: 'text',
      grant_types: 'text',
      pkce_required: 'integer',
      created_at: 'integer',
      disabled_at: 'integer',
      access_token_format: 'text',
      resource_server: 'integer',
      id_token_alg: 'text',
      skip_consent: 'integer',
      post_logout_redirect_uris: 'text',
      code_lifetime: 'integer',
      access_token_lifetime: 'integer',
      refresh_lifetime: 'integer',
      previous_secret_hash: 'text',
      previous_secret_expires_at: 'integer',
      demo: 'integer',
    },
  },
  people: {
    key: 'id',
    columns: {
      id: 'text',
      username: 'text',
      display_name: 'text',
      password_hash: 'text',
      roles: 'text',
      created_at: 'integer',
      disabled_at: 'integer',
      email: 'text',
      username_key: 'text',
      demo: 'integer',
    },
  },
  grants: {
    key: TOKEN_KINDS.grants.key,
    columns: {
      id: 'text',
      person_id: 'text',
      client_id: 'text',
      scope: 'text',
      created_at: 'integer',
      expires_at: 'integer',
      revoked_at: 'integer',
      auth_time: 'integer',
      session_id: 'text',
      nonce: 'text',
    },
  },
  authorization_codes: {
    key: TOKEN_KINDS.authorization_codes.key,
    columns: {
      hash: 'text',
      grant_id: 'text',
      redirect_uri: 'text',
      code_challenge: 'text',
      expires_at: 'integer',
      consumed_at: 'integer',
    },
  },
  access_tokens: {
    key: TOKEN_KINDS.access_tokens.key,
    columns: {
      hash: 'text',
      grant_id: 'text',
      scope: 'text',
      expires_at: 'integer',
      created_at: 'integer',
      jti: 'text',
      format: 'text',
    },
  },
  refresh_tokens: {
    key: TOKEN_KINDS.refresh_tokens.key,
    columns: { hash: 'text', grant_id: 'text', scope: 'text', expires_at: 'integer', retired_at: 'integer' },
  },
  pending_authorizations: {
    key: TOKEN_KINDS.pending_authorizations.key,
    columns: {
      id: 'text',
      client_id: 'text',
      request: 'text',
      browser_hash: 'text',
      person_id: 'text',
      created_at: 'integer',
      expires_at: 'integer',
    },
  },
  sign_in_sessions: {
    key: TOKEN_KINDS.sign_in_sessions.key,
    columns: {
      hash: 'text',
      person_id: 'text',
      created_at: 'integer',
      expires_at: 'integer',
      max_expires_at: 'integer',
    },
  },
  sign_in_failures: {
    key: TOKEN_KINDS.sign_in_failures.key,
    columns: {
      key: 'text',
      window_started_at: 'integer',
      failures: 'integer',
      user_key: 'text',
      wait_until: 'integer',
    },
  },
  settings: {
    key: 'key',
    columns: { key: 'text', value: 'text' },
  },
  api_scopes: {
    key: 'name',
    columns: { name: 'text', description: 'text', created_at: 'integer' },
  },
  signing_keys: {
    key: 'kid',
    columns: {
      kid: 'text',
      alg: 'text',
      public_jwk: 'text',
      private_key: 'text',
      created_at: 'integer',
      retired_at: 'integer',
    },
  },
} as const satisfies { [T in keyof Database]: TableSpec<Database[T]> };

export type TableName = keyof typeof TABLES;

/**
 * Columns added after the first migration, with the migration that added them: an
 * export made at an earlier migration has none of them, and rows imported at that
 * migration leave them out (the later migration fills them in).
 */
const ADDED_COLUMNS: Partial<Record<TableName, Record<string, string>>> = {
  clients: {
    access_token_format: '0005_resource_servers',
    resource_server: '0005_resource_servers',
    id_token_alg: '0007_openid_connect',
    skip_consent: '0007_openid_connect',
    post_logout_redirect_uris: '0007_openid_connect',
    code_lifetime: '0011_client_lifetimes',
    access_token_lifetime: '0011_client_lifetimes',
    refresh_lifetime: '0011_client_lifetimes',
    previous_secret_hash: '0011_client_lifetimes',
    previous_secret_expires_at: '0011_client_lifetimes',
    demo: '0009_demo_data',
  },
  people: { email: '0007_openid_connect', username_key: '0008_username_key', demo: '0009_demo_data' },
  grants: { auth_time: '0004_grant_subjects', session_id: '0004_grant_subjects', nonce: '0007_openid_connect' },
  sign_in_sessions: { max_expires_at: '0007_openid_connect' },
  sign_in_failures: { user_key: '0010_sign_in_throttle', wait_until: '0010_sign_in_throttle' },
  access_tokens: { format: '0004_grant_subjects', jti: '0004_grant_subjects', created_at: '0004_grant_subjects' },
};

/** The tables in foreign-key order. */
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** The columns of `table`, by name. */
export function tableColumns(table: TableName): Readonly<Record<string, ColumnKind>> {
  return TABLES[table].columns;
}

/** The tables whose rows make a database "not empty" for an import. */
const OWNER_TABLES = ['clients', 'people', 'grants'] as const;

/** Bind parameters per INSERT statement: well under SQLite's 32766 and PostgreSQL's 65535. */
const PARAMETERS_PER_STATEMENT = 4000;

// ---------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------

export type ExportValue = string | number | null;
export type ExportRow = Record<string, ExportValue>;

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** The last migration applied to the exported database. */
  migration: string;
  /** When the snapshot was taken (ISO 8601). */
  exported_at: string;
  /** Rows per table, tables in foreign-key order. */
  tables: Partial<Record<TableName, ExportRow[]>>;
}

/** Rows per table and in all. */
export interface TransferCounts {
  migration: string;
  tables: Partial<Record<TableName, number>>;
  rows: number;
}

export interface ImportSummary extends TransferCounts {
  exported_at: string;
  /** Migrations applied after the rows were in (when the export came from an older Tessera). */
  applied: string[];
}

/** Rows per table of a document. */
export function countRows(doc: ExportDocument): TransferCounts {
  const tables: Partial<Record<TableName, number>> = {};
  let rows = 0;
  for (const table of TABLE_NAMES) {
    const list = doc.tables[table];
    if (list === undefined) continue;
    tables[table] = list.length;
    rows += list.length;
  }
  return { migration: doc.migration, tables, rows };
}

/** The migrations this build knows, in the order Kysely applies them (by name). */
async function knownMigrations(): Promise<string[]> {
  return Object.keys(await migrationProvider.getMigrations()).sort();
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks that `value` is an export this build can import and returns it typed: the format
 * and version, a migration this build knows, known tables and columns, and values of the
 * right kind. Throws a TransferError naming the first problem.
 */
export async function checkExport(value: unknown): Promise<ExportDocument> {
  if (!isRecord(value) || value.format !== EXPORT_FORMAT) {
    throw new TransferError(`the input is not a Tessera export (no "format": "${EXPORT_FORMAT}")`);
  }
  if (value.version !== EXPORT_VERSION) {
    throw new TransferError(
      `the export has format version ${JSON.stringify(value.version)}; this build of Tessera reads version ${EXPORT_VERSION}`,
    );
  }
  const { migration, exported_at: exportedAt, tables } = value;
  if (typeof migration !== 'string' || migration === '') throw new TransferError('the export names no "migration"');
  const known = await knownMigrations();
  if (!known.includes(migration)) {
    throw new TransferError(
      `the export was made at migration '${migration}', which this build of Tessera does not know ` +
        `(it knows up to '${known[known.length - 1] ?? 'none'}'): import it with the version that made it, or a newer one`,
    );
  }
  if (typeof exportedAt !== 'string') throw new TransferError('the export has no "exported_at" time');
  if (!isRecord(tables)) throw new TransferError('the export has no "tables" object');
  for (const [table, rows] of Object.entries(tables)) {
    if (!Object.hasOwn(TABLES, table))
      throw new TransferError(`the export has a table this build does not know: '${table}'`);
    if (!Array.isArray(rows)) throw new TransferError(`table '${table}' in the export is not a list of rows`);
    const columns = tableColumns(table as TableName);
    rows.forEach((row: unknown, index) => {
      const where = `table '${table}', row ${index + 1}`;
      if (!isRecord(row)) throw new TransferError(`${where} is not an object`);
      for (const [column, v] of Object.entries(row)) {
        const kind = columns[column];
        if (kind === undefined) throw new TransferError(`${where} has a column this build does not know: '${column}'`);
        const fits = v === null || (kind === 'integer' ? Number.isSafeInteger(v) : typeof v === 'string');
        if (!fits)
          throw new TransferError(
            `${where}: '${column}' must be ${kind === 'integer' ? 'an integer' : 'text'} or null`,
          );
      }
    });
  }
  return value as unknown as ExportDocument;
}

/** Parses and checks an export (the text of a file or of stdin). */
export async function parseExport(text: string): Promise<ExportDocument> {
  if (text.trim() === '') throw new TransferError('the input is empty: expected a Tessera export (JSON)');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TransferError(`the input is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return checkExport(value);
}

/**
 * The document as text, in chunks to write one after the other (a large database never
 * becomes one huge string): valid JSON, one row per line, so that a person can read it
 * and two exports can be compared with diff.
 */
export function* serializeExport(doc: ExportDocument): Generator<string> {
  let chunk =
    '{\n' +
    `  "format": ${JSON.stringify(doc.format)},\n` +
    `  "version": ${JSON.stringify(doc.version)},\n` +
    `  "migration": ${JSON.stringify(doc.migration)},\n` +
    `  "exported_at": ${JSON.stringify(doc.exported_at)},\n` +
    '  "tables": {';
  const tables = Object.entries(doc.tables);
  for (const [t, [table, rows]] of tables.entries()) {
    chunk += `${t === 0 ? '' : ','}\n    ${JSON.stringify(table)}: [`;
    for (const [r, row] of (rows ?? []).entries()) {
      chunk += `${r === 0 ? '' : ','}\n      ${JSON.stringify(row)}`;
      if (chunk.length >= 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    chunk += (rows ?? []).length === 0 ? ']' : '\n    ]';
  }
  chunk += `${tables.length === 0 ? '' : '\n  '}}\n}\n`;
  yield chunk;
}

// ---------------------------------------------------------------------------------------
// Export and import
// ---------------------------------------------------------------------------------------

/** What the transfer needs of a store (KyselyStore has it): Kysely to build statements, its executor, its migrator. */
export type TransferStore = Pick<KyselyStore, 'db' | 'exec' | 'migrations'>;

/** Any table, for the queries that go over every table by name. */
type AnyDatabase = Record<string, Record<string, unknown>>;

function anyDb(db: Kysely<Database>): Kysely<AnyDatabase> {
  return db as unknown as Kysely<AnyDatabase>;
}

/** The names of the migrations applied to the database, in order. */
async function appliedMigrations(store: TransferStore): Promise<{ applied: string[]; pending: string[] }> {
  const all = await store.migrations((m) => m.getMigrations());
  return {
    applied: all.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: all.filter((m) => m.executedAt === undefined).map((m) => m.name),
  };
}

function compareKeys(a: ExportValue | undefined, b: ExportValue | undefined): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A stored value as it goes into the document. */
function exportValue(table: string, column: string, kind: ColumnKind | undefined, v: unknown): ExportValue {
  if (kind === undefined) {
    throw new TransferError(
      `table '${table}' has a column this build does not know: '${column}' (is the database newer than Tessera?)`,
    );
  }
  if (v === null || v === undefined) return null;
  if (kind === 'integer') {
    // pg returns bigint as a string, better-sqlite3 as a number: both become a number.
    const n = Number(v);
    if (!Number.isSafeInteger(n))
      throw new TransferError(`table '${table}': '${column}' holds ${String(v)}, not an integer`);
    return n;
  }
  if (typeof v === 'string') return v;
  throw new TransferError(`table '${table}': '${column}' holds a ${typeof v}, not text`);
}

/**
 * Reads every table of a fully migrated database inside one read-only transaction
 * (repeatable read on PostgreSQL; one read snapshot on SQLite), so that the rows fit
 * together even while servers keep writing.
 */
export async function exportDatabase(store: TransferStore, now: Date = new Date()): Promise<ExportDocument> {
  const { applied, pending } = await appliedMigrations(store);
  const migration = applied[applied.length - 1];
  if (migration === undefined || pending.length > 0) {
    throw new TransferError(`the database has pending migrations (${pending.join(', ')}): run 'tessera migrate' first`);
  }
  const db = anyDb(store.db);
  const tables = await store.exec.snapshot(function* () {
    const tables: Partial<Record<TableName, ExportRow[]>> = {};
    for (const table of TABLE_NAMES) {
      const columns = tableColumns(table);
      const found = yield* allRows(statement(db.selectFrom(table).selectAll()));
      const key = TABLES[table].key;
      tables[table] = found
        .map((row) => {
          const out: ExportRow = {};
          for (const [column, v] of Object.entries(row)) out[column] = exportValue(table, column, columns[column], v);
          // In the order of TABLES, not of the table: the engines may differ (a rebuilt table).
          return Object.fromEntries(Object.keys(columns).map((column) => [column, out[column] ?? null]));
        })
        // By key, in code unit order (not the database's collation): both engines write the same file.
        .sort((a, b) => compareKeys(a[key], b[key]));
    }
    return tables;
  });
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, migration, exported_at: now.toISOString(), tables };
}

/** The first of clients, people and grants that holds a row, or undefined when all are empty. */
function* firstNonEmpty(db: Kysely<AnyDatabase>): Operation<string | undefined> {
  for (const table of OWNER_TABLES) {
    if (yield* first(statement(db.selectFrom(table).select(TABLES[table].key).limit(1)))) return table;
  }
  return undefined;
}

function notEmpty(table: string): TransferError {
  return new TransferError(
    `the target database is not empty (it holds ${table}): import only into a new, empty database`,
  );
}

/** One line of a driver or migration error. */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] || 'unknown error';
}

async function migrateTo(store: TransferStore, target: string | 'latest'): Promise<string[]> {
  const { error, results } = await store.migrations((m) =>
    target === 'latest' ? m.migrateToLatest() : m.migrateTo(target),
  );
  if (error) throw new TransferError(`cannot migrate the target database: ${firstLine(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Loads `doc` into the store's database, which must be empty (no client, person or
 * grant; rows that an unused server may leave — settings, sign-in failure counters — are
 * replaced). Migrates the target to the export's migration first, inserts every row in one
 * transaction in foreign-key order and batches, then applies the later migrations.
 * Refuses (TransferError) anything else and then changes nothing.
 */
export async function importDatabase(store: TransferStore, input: ExportDocument): Promise<ImportSummary> {
  const doc = await checkExport(input);
  const known = await knownMigrations();

  // A database with tables: refuse it when it holds anything, or when it is already past
  // the export's migration (its tables may no longer fit the rows).
  let applied: string[];
  let nonEmpty: string | undefined;
  try {
    ({ applied } = await appliedMigrations(store));
    nonEmpty = applied.length > 0 ? await store.exec.read(() => firstNonEmpty(anyDb(store.db))) : undefined;
  } catch (err) {
    throw new TransferError(`cannot read the target database: ${firstLine(err)}`, { cause: err });
  }
  if (nonEmpty !== undefined) throw notEmpty(nonEmpty);
  const ahead = applied.filter((name) => known.indexOf(name) > known.indexOf(doc.migration));
  if (ahead.length > 0) {
    throw new TransferError(
      `the target database is at migration '${ahead[ahead.length - 1]}', past the export's '${doc.migration}': ` +
        'import into a new database that has not been migrated, or export again with this version of Tessera',
    );
  }
  await migrateTo(store, doc.migration);

  const present = TABLE_NAMES.filter((table) => doc.tables[table] !== undefined);
  try {
    const db = anyDb(store.db);
    const later = laterColumns(known, doc.migration);
    await store.exec.transaction(function* () {
      // Checked again inside the transaction: another import may have run meanwhile.
      const table = yield* firstNonEmpty(db);
      if (table !== undefined) throw notEmpty(table);
      for (const name of [...present].reverse()) yield* changes(statement(db.deleteFrom(name)));
      for (const name of present) yield* insertRows(db, name, doc.tables[name] ?? [], later);
    });
  } catch (err) {
    if (err instanceof TransferError) throw err;
    throw new TransferError(`the import failed and nothing was imported: ${firstLine(err)}`, { cause: err });
  }

  const later = await migrateTo(store, 'latest');
  return { ...countRows(doc), exported_at: doc.exported_at, applied: later };
}

/** The columns each table gained after `migration` (ADDED_COLUMNS). */
function laterColumns(known: string[], migration: string): (table: TableName, column: string) => boolean {
  return (table, column) => {
    const since = ADDED_COLUMNS[table]?.[column];
    return since !== undefined && known.indexOf(since) > known.indexOf(migration);
  };
}

/** Inserts the rows of one table, a batch per statement; every row names every column used. */
function* insertRows(
  db: Kysely<AnyDatabase>,
  table: TableName,
  rows: ExportRow[],
  later: (table: TableName, column: string) => boolean,
): Operation<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(tableColumns(table)).filter(
    (c) => !later(table, c) && rows.some((row) => Object.hasOwn(row, c)),
  );
  const perStatement = Math.max(1, Math.floor(PARAMETERS_PER_STATEMENT / Math.max(1, columns.length)));
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement).map((row) => {
      const values: ExportRow = {};
      for (const column of columns) values[column] = row[column] ?? null;
      return values;
    });
    yield* changes(statement(db.insertInto(table).values(batch)));
  }
}
