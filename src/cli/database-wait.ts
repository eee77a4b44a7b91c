/**
 * `serve` start-up against a database that is not there yet (a container still starting,
 * a failover in progress): `--db-wait SECONDS` of retries with exponential backoff
 * (0.5 s doubling to 10 s) while the database cannot be reached, one warn line per
 * failed attempt, then one line and exit 2. Permanent problems — a malformed URL, an
 * impossible SQLite path, a missing database, refused credentials — are not retried.
 * Also the validation of `--db-pool-size` and `--db-wait`.
 */
import { InvalidInputError } from '../services/errors.js';
import { describeDatabaseError, redactDatabaseUrl, StoreOpenError, StoreUnavailableError } from '../store/open.js';

/** How long `serve` waits for the database at start-up by default (seconds). */
export const DEFAULT_DB_WAIT_SECONDS = 60;
export const MAX_DB_WAIT_SECONDS = 24 * 3600;
export const MAX_POOL_SIZE = 1000;
/** The first pause between attempts, and the longest (ms). */
export const FIRST_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 10_000;

function wholeNumber(value: string | number, min: number, max: number, message: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidInputError(message);
  return Number(text);
}

/** `--db-pool-size` / TESSERA_DB_POOL_SIZE: PostgreSQL connections per instance, 1 to 1000. */
export function parsePoolSize(value: string | number): number {
  return wholeNumber(
    value,
    1,
    MAX_POOL_SIZE,
    `db pool size must be a whole number from 1 to ${MAX_POOL_SIZE}, not '${value}'`,
  );
}

/** `--db-wait` / TESSERA_DB_WAIT: seconds to wait for the database at start-up, 0 (no waiting) to a day. */
export function parseDbWait(value: string | number): number {
  return wholeNumber(
    value,
    0,
    MAX_DB_WAIT_SECONDS,
    `db wait must be a whole number of seconds from 0 to ${MAX_DB_WAIT_SECONDS}, not '${value}'`,
  );
}

/** Whether a start-up failure may go away by itself, so that waiting makes sense. */
export function isWorthWaitingFor(err: unknown): boolean {
  return (err instanceof StoreOpenError && err.unavailable) || err instanceof StoreUnavailableError;
}

export interface WaitLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface WaitOptions {
  /** The database URL, for messages (shown with its password replaced). */
  url: string;
  waitSeconds: number;
  log: WaitLogger;
  /** For tests: the clock and the pause. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` (open the store, migrate, read what start-up needs) until it succeeds,
 * while it fails only because the database cannot be reached and `waitSeconds` have
 * not passed. `attempt` must clean up after itself when it fails. SIGTERM/SIGINT while
 * waiting end the process at once with exit code 0: nothing has been served yet.
 */
export async function waitForDatabase<T>(attempt: () => Promise<T>, options: WaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? pause;
  const where = redactDatabaseUrl(options.url);
  const started = now();
  const stop = () => process.exit(0);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    for (let tries = 1, delay = FIRST_RETRY_DELAY_MS; ; tries += 1, delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
      try {
        return await attempt();
      } catch (err) {
        if (!isWorthWaitingFor(err)) throw err;
        const cause = describeDatabaseError(err instanceof StoreOpenError ? err.cause : err);
        const left = options.waitSeconds * 1000 - (now() - started);
        if (left <= 0) {
          const waited = options.waitSeconds === 0 ? '' : ` after waiting ${options.waitSeconds} s (${tries} attempts)`;
          throw new StoreOpenError(`cannot reach the database at ${where}${waited}: ${cause}`, {
            cause: err,
            unavailable: true,
          });
        }
        const wait = Math.min(delay, left);
        options.log.warn(
          { attempt: tries, retryInMs: wait },
          `database at ${where} not reachable: ${cause}; retrying in ${(wait / 1000).toFixed(1)} s`,
        );
        await sleep(wait);
      }
    }
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
