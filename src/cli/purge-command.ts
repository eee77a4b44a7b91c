/**
 * `tessera purge`: deletes expired codes, tokens, grants, sessions and sign-in failure
 * counts now, in small batches, until nothing expired is left — what the sweep built
 * into `tessera serve` does every minute. Also the sweep's own settings for
 * `serve`: `--sweep-interval` and the logging of each sweep.
 */
import { Option, type Command } from 'commander';
import { InvalidInputError } from '../services/errors.js';
import { purgeAll, purgedTotal, SIGN_IN_FAILURE_WINDOW_MS } from '../services/purge.js';
import { startSweeper, type Sweeper } from '../store/sweeper.js';
import { PURGE_KINDS, type Store } from '../store/store.js';
import { TOKEN_KINDS } from '../store/token-kinds.js';
import { dbOption, formatFields, jsonOption, printJson, printLines, withStore, type CliIo } from './common.js';

export const DEFAULT_BATCH_SIZE = 500;
export const MAX_BATCH_SIZE = 100_000;
/** Seconds between sweeps in `serve` (on average: each wait is jittered). */
export const DEFAULT_SWEEP_INTERVAL = 60;
export const MAX_SWEEP_INTERVAL = 24 * 3600;

function wholeNumber(value: string | undefined): number | undefined {
  const text = String(value ?? '').trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

export function parseBatchSize(value: string | undefined): number {
  const n = wholeNumber(value);
  if (n === undefined || n < 1 || n > MAX_BATCH_SIZE) {
    throw new InvalidInputError(`batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}, not '${value}'`);
  }
  return n;
}

/** Seconds, 0 for no sweep; returned in milliseconds. */
export function parseSweepInterval(value: string | undefined): number {
  const n = wholeNumber(value);
  if (n === undefined || n > MAX_SWEEP_INTERVAL) {
    throw new InvalidInputError(
      `sweep interval must be a whole number of seconds from 0 (no sweep) to ${MAX_SWEEP_INTERVAL}, not '${value}'`,
    );
  }
  return n * 1000;
}

/** `--sweep-interval SECONDS` for `serve`. */
export function sweepIntervalOption(): Option {
  return new Option(
    '--sweep-interval <seconds>',
    'seconds between sweeps that delete expired data; 0 turns the sweep off',
  )
    .env('TESSERA_SWEEP_INTERVAL')
    .default(String(DEFAULT_SWEEP_INTERVAL));
}

/** The part of a pino logger the sweep uses. */
export interface SweepLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Starts `serve`'s sweep (undefined when the interval is 0): every sweep's counts and duration logged at debug. */
export function startServeSweeper(
  store: Pick<Store, 'purgeExpired' | 'removeRetiredSigningKeys'>,
  logger: SweepLogger,
  intervalMs: number,
  signingKeyRetentionMs?: number,
): Sweeper | undefined {
  if (intervalMs === 0) return undefined;
  return startSweeper(store, {
    intervalMs,
    ...(signingKeyRetentionMs !== undefined && { signingKeyRetentionMs }),
    batchSize: DEFAULT_BATCH_SIZE,
    signInFailureWindowMs: SIGN_IN_FAILURE_WINDOW_MS,
    onResult: (counts, ms) => logger.debug({ purged: counts, total: purgedTotal(counts), ms }, 'swept expired data'),
    onError: (err) => logger.warn({ err }, 'sweeping expired data failed; trying again at the next sweep'),
  });
}

interface PurgeCommandOptions {
  db: string;
  batchSize: string;
  json?: boolean;
}

async function purge(options: PurgeCommandOptions, io: CliIo): Promise<void> {
  const batchSize = parseBatchSize(options.batchSize);
  const counts = await withStore(options.db, (store) => purgeAll(store, batchSize));
  if (options.json) printJson(io.stdout, counts);
  else
    printLines(
      io.stdout,
      ...formatFields(PURGE_KINDS.map((kind) => [`${TOKEN_KINDS[kind].label} deleted`, String(counts[kind])])),
    );
}

export function registerPurgeCommand(program: Command, io: CliIo): void {
  program
    .command('purge')
    .description('delete expired codes, tokens, grants and sessions now (serve does it every minute)')
    .addOption(
      new Option('--batch-size <n>', 'rows per delete statement (smaller holds locks for less time)').default(
        String(DEFAULT_BATCH_SIZE),
      ),
    )
    .addOption(jsonOption())
    .addOption(dbOption())
    .action((options: PurgeCommandOptions) => purge(options, io));
}
