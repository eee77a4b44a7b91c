/**
 * Store errors that the layers above must tell apart, with no driver imports: the
 * protocol core and the HTTP layer may import this file (src/oauth/ must not import
 * open.ts, pg or better-sqlite3).
 *
 * The one test of "the database cannot be reached right now" lives here
 * (`isDatabaseUnavailable`); open.ts applies it to every query the drivers run and
 * throws `StoreUnavailableError` instead, so callers see one typed error whatever the
 * engine.
 */

/** Node socket errors: the server is down, restarting, or the network between is broken. */
const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EAI_AGAIN', // a temporary DNS failure (ENOTFOUND, a name that does not exist, is permanent)
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now": class 08 (connection exception), 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
 * recovering), 53300 too_many_connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Messages of pg and pg-pool for a connection that failed or went away (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /^Connection terminated/i, // "… unexpectedly", "… due to connection timeout"
  /is not queryable/i, // a client whose connection already failed
  /^connect ECONNREFUSED|^connect ETIMEDOUT/i,
];

/** SQLite result codes (including extended ones, e.g. SQLITE_BUSY_SNAPSHOT) that mean "not now". */
const UNAVAILABLE_SQLITE = /^SQLITE_(BUSY|CANTOPEN)(_|$)/;

function codeOf(err: object): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether `err` (from pg, pg-pool, better-sqlite3 or Node's sockets) means that the
 * database cannot be reached at the moment — as opposed to a permanent problem (bad
 * credentials, a missing database, a malformed URL) or a bug (a failed constraint, bad
 * SQL). An AggregateError (Node trying several addresses) counts when its parts do.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof StoreUnavailableError) return true;
  const code = codeOf(err);
  if (code !== undefined) {
    if (UNREACHABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    if (UNAVAILABLE_SQLITE.test(code)) return true;
  }
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
}

/** A driver error that means "unreachable" as a short phrase for logs and messages. */
export function describeUnavailable(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> };
  const code =
    typeof e.code === 'string' ? e.code : typeof e.errors?.[0]?.code === 'string' ? e.errors[0].code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the database server running?)';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection to the database was reset';
    case 'ETIMEDOUT':
      return 'connecting to the database timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'the database host is not reachable';
    case 'EAI_AGAIN':
      return 'the database host name could not be resolved (temporary DNS failure)';
    case '57P01':
    case '57P02':
      return 'the database server is shutting down';
    case '57P03':
      return 'the database server is starting up or recovering';
    case '53300':
      return 'the database server has too many connections';
    default:
      break;
  }
  if (code?.startsWith('SQLITE_BUSY')) return 'the SQLite database is locked by another process (SQLITE_BUSY)';
  if (code?.startsWith('SQLITE_CANTOPEN')) return 'the SQLite database file cannot be opened (SQLITE_CANTOPEN)';
  const message = typeof e.message === 'string' ? (e.message.split('\n')[0] ?? '') : '';
  if (/timeout exceeded when trying to connect|due to connection timeout/i.test(message))
    return 'connecting to the database timed out';
  if (/^Connection terminated/i.test(message)) return 'the connection to the database was lost';
  return message || (code ? `database error ${code}` : 'the database cannot be reached');
}

/**
 * The database cannot be reached right now (down, restarting, unreachable, or locked
 * for longer than the busy timeout). Callers answer "try again shortly" (HTTP 503
 * temporarily_unavailable) rather than "something is wrong". The message names the
 * cause in a short phrase, never a password; the driver's error is the `cause`.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${describeUnavailable(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** `err` unchanged, or a StoreUnavailableError when it means the database cannot be reached. */
export function translateStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !isDatabaseUnavailable(err)) return err;
  return new StoreUnavailableError(err);
}
