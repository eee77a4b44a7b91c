/**
 * Opening a store from a database URL. Engine differences live here: the dialect, the
 * connection settings, and how each driver reports a unique-key violation.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export const DEFAULT_DB_URL = 'sqlite:./.tessera/tessera.db';

/** The database could not be opened or reached: the CLI prints the message and exits 2. */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
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

function openSqlite(path: string): KyselyStore {
  const inMemory = path === ':memory:';
  let database: SQLite.Database;
  try {
    if (!inMemory) makeParentDirectories(path);
    database = new SQLite(path);
    // WAL lets readers and one writer work together; busy_timeout lets the CLI and a
    // running server share the file. synchronous stays at its durable default (FULL).
    if (!inMemory) database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
  } catch (err) {
    throw new StoreOpenError(`cannot open SQLite database '${path}': ${(err as Error).message}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const isUniqueViolation = (err: unknown) =>
    typeof err === 'object' && err !== null && String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
  return new KyselyStore(db, isUniqueViolation);
}

/** A database URL fit for messages and logs: the password replaced. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** PostgreSQL connection pool size (default 10). */
  poolSize?: number;
}

export const DEFAULT_POOL_SIZE = 10;

function openPostgres(url: string, poolSize: number): KyselyStore {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server (a restart, a failover) must not crash the
  // process: the pool discards it and the next query opens a new one.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const isUniqueViolation = (err: unknown) =>
    typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
  return new KyselyStore(db, isUniqueViolation);
}

/** Opens the store and, unless told not to, applies pending migrations. */
export async function openStore(url: string, options: OpenOptions = {}): Promise<KyselyStore> {
  const parsed = parseDatabaseUrl(url);
  const store =
    parsed.engine === 'sqlite' ? openSqlite(parsed.path) : openPostgres(parsed.url, options.poolSize ?? DEFAULT_POOL_SIZE);
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      const where = parsed.engine === 'postgres' ? ` at ${redactDatabaseUrl(parsed.url)}` : '';
      throw new StoreOpenError(`cannot open the database${where}: ${describeDatabaseError(err)}`, { cause: err });
    }
  }
  return store;
}

/** A driver error as a short phrase: connection failures by their cause, not a stack. */
export function describeDatabaseError(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e.code ?? e.errors?.[0]?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the database server running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the database host name does not resolve';
  if (code === '3D000') return 'the database does not exist';
  if (code === '28P01' || code === '28000') return 'the database refused the credentials';
  return (e.message ?? String(err)).split('\n')[0] || 'unknown database error';
}
