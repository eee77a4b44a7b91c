/**
 * `tessera serve`: validates the configuration, opens the store (applying migrations;
 * while the database cannot be reached it retries for `--db-wait` seconds, see
 * database-wait.ts), listens, and prints exactly one line on stdout — `listening on
 * http://HOST:PORT` — once connections are accepted. Logs and the demo banner go to
 * stderr. SIGTERM/SIGINT stop accepting, finish in-flight requests, close the database
 * and exit 0.
 *
 * --demo seeds the demo's clients and people, marked as such. Without --demo they are
 * refused at every door (buildApp), and a database that holds some gets one note on
 * stderr at start saying how to remove them.
 *
 * Its output lines go to the run's streams (run.ts), but a running server owns the
 * process: its log is written to fd 2 and its signals end the process. Tests that start
 * it run it as a child process.
 */
import type { AddressInfo } from 'node:net';
import { isatty } from 'node:tty';
import { Option, type Command } from 'commander';
import {
  DEFAULT_LIMITS,
  defaultIssuer,
  LOG_LEVELS,
  resolveServerConfig,
  urlHostForListening,
  type ServerConfig,
} from '../config.js';
import { demoBanner, seedDemo } from '../demo/seed.js';
import type { AppConfig } from '../http/context.js';
import { loopbackIssuers } from '../http/issuer.js';
import { cookieSecret } from '../services/cookie-secret.js';
import { demoDataNote } from '../services/demo-data.js';
import { InvalidInputError } from '../services/errors.js';
import { parseKeyRefreshSeconds, prepareKeyStore, serverKeySealer, UNSEALED_KEYS_NOTE } from '../services/keys.js';
import type { Logger } from 'pino';
import type { KyselyStore } from '../store/kysely-store.js';
import { DEFAULT_DB_URL, DEFAULT_POOL_SIZE, openStore, redactDatabaseUrl } from '../store/open.js';
import { DEFAULT_LIFETIMES, MAX_ACCESS_TOKEN_LIFETIME } from '../oauth/tokens.js';
import { formatDuration } from '../services/durations.js';
import { dbOption, printNote, type CliIo } from './common.js';
import { DEFAULT_DB_WAIT_SECONDS, parseDbWait, parsePoolSize, waitForDatabase } from './database-wait.js';
import { chooseLogFormat, LOG_FORMATS, prettyDestination } from './log-output.js';
import { parseSweepInterval, startServeSweeper, sweepIntervalOption } from './purge-command.js';

interface ServeOptions {
  port?: string;
  host?: string;
  db: string;
  issuer?: string;
  audience?: string;
  demo?: boolean;
  logLevel?: string;
  codeLifetime?: string;
  accessTokenLifetime?: string;
  refreshLifetime?: string;
  logFormat?: string;
  sessionLifetime?: string;
  loginLifetime?: string;
  sessionIdle?: string;
  sessionMax?: string;
  trustProxy?: string | boolean;
  dbPoolSize: string;
  dbWait: string;
  sweepInterval: string;
  headerTimeout: string;
  requestTimeout: string;
  maxConnectionsPerAddress: string;
  maxConnections: string;
  rateLimit: string;
}

/** `tessera demo remove` for the database this server uses. */
function demoRemoveCommand(db: string): string {
  return db === DEFAULT_DB_URL ? 'tessera demo remove' : `tessera demo remove --db ${redactDatabaseUrl(db)}`;
}

async function serve(options: ServeOptions, io: CliIo): Promise<void> {
  const config: ServerConfig = resolveServerConfig({
    host: options.host,
    port: options.port,
    issuer: options.issuer,
    audience: options.audience,
    demo: options.demo,
    logLevel: options.logLevel,
    codeLifetime: options.codeLifetime,
    accessTokenLifetime: options.accessTokenLifetime,
    refreshLifetime: options.refreshLifetime,
    sessionLifetime: options.sessionLifetime,
    loginLifetime: options.loginLifetime,
    sessionIdle: options.sessionIdle,
    sessionMax: options.sessionMax,
    trustProxy: options.trustProxy,
    headerTimeout: options.headerTimeout,
    requestTimeout: options.requestTimeout,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    maxConnections: options.maxConnections,
    rateLimit: options.rateLimit,
  });
  const poolSize = parsePoolSize(options.dbPoolSize);
  const waitSeconds = parseDbWait(options.dbWait);
  const sweepIntervalMs = parseSweepInterval(options.sweepInterval);
  const sealer = serverKeySealer(io.env.TESSERA_SECRET);
  const keyRefreshSeconds = parseKeyRefreshSeconds(io.env.TESSERA_KEY_REFRESH_SECONDS);
  // Loaded here, not at the top: every other command starts faster without the web stack.
  const [{ pino }, { buildApp }] = await Promise.all([import('pino'), import('../http/app.js')]);
  // The log is written to fd 2 (see above): pretty when that is a terminal, unless told.
  const terminal = isatty(2);
  const logger = pino(
    { level: config.logLevel, base: undefined },
    chooseLogFormat(options.logFormat, terminal) === 'pretty'
      ? prettyDestination(2, terminal && !io.env.NO_COLOR)
      : pino.destination({ fd: 2, sync: false }),
  );
  if (config.trustProxy === true) {
    logger.warn(
      '--trust-proxy true believes X-Forwarded-* from anyone: make sure only the proxy can reach this server, or list the proxy addresses',
    );
  }
  // Nothing listens until the database is reached and migrated (--db-wait: retries).
  const { store, secret, keys } = await waitForDatabase(
    async () => {
      const opened = await openStore(options.db, {
        poolSize,
        onCheckpoint: (report) => {
          if (report.ok) {
            const { frames, copied, busy, ms } = report;
            logger.debug({ frames, copied, busy, ms }, 'WAL checkpoint');
          } else {
            logger.warn({ cause: report.message }, "WAL checkpoint failed: SQLite's own checkpoints take over");
          }
        },
      });
      try {
        return {
          store: opened,
          secret: await cookieSecret(opened, io.env.TESSERA_SECRET),
          // The first signing key is made now when there is none; a key that cannot be
          // unsealed stops the start here.
          // A retired key stays published as long as the longest access token any client
          // may be given (per-client lifetimes change without a restart) could live.
          keys: await prepareKeyStore(opened, {
            sealer,
            tokenLifetime: MAX_ACCESS_TOKEN_LIFETIME,
            refreshSeconds: keyRefreshSeconds,
            onRead: (read) =>
              logger.debug(read, read.changed ? 'signing key changed (rotated)' : 'signing key read again'),
          }),
        };
      } catch (err) {
        await opened.close().catch(() => undefined);
        throw err;
      }
    },
    { url: options.db, waitSeconds, log: logger },
  );
  const appConfig: AppConfig = {
    issuer: config.issuer,
    demo: config.demo,
    lifetimes: config.lifetimes,
    secret,
    ...(config.audience !== undefined && { audience: config.audience }),
  };
  const app = await buildApp(appConfig, store, {
    logger,
    trustProxy: config.trustProxy,
    keys,
    limits: config.limits,
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await store.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? 'the port is in use'
        : code === 'EADDRNOTAVAIL'
          ? 'the address is not on this machine'
          : (err as Error).message;
    throw new InvalidInputError(`cannot listen on ${config.host}:${config.port}: ${reason}`);
  }
  const port = (app.server.address() as AddressInfo).port;
  // With --port 0 the issuer is known only now; no request has been served yet.
  if (options.issuer === undefined) {
    appConfig.issuer = defaultIssuer(config.host, port);
    appConfig.issuerAliases = loopbackIssuers(config.host, port);
  }
  // After listening: a start that fails says only why.
  if (!sealer.sealing) printNote(io.stderr, UNSEALED_KEYS_NOTE);
  if (config.demo) {
    const { taken } = await seedDemo(store, appConfig.issuer, appConfig.secret, Date.now());
    io.stderr.write(demoBanner(appConfig.issuer, taken).join('\n'));
  } else {
    const note = await demoDataNote(store, demoRemoveCommand(options.db));
    if (note) printNote(io.stderr, note);
  }

  // Deletes expired data now and then; stopped before the store closes.
  const sweeper = startServeSweeper(store, logger, sweepIntervalMs, keys.retentionMs);
  const poolReport = reportPoolWaits(store, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app
      .close()
      .then(() => {
        if (poolReport) clearInterval(poolReport);
        return sweeper?.stop();
      })
      .then(() => store.close())
      .then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  io.stdout.write(`listening on http://${urlHostForListening(config.host)}:${port}\n`);
}

/**
 * PostgreSQL: every 10 s with traffic, at debug, how many queries waited for a pool
 * connection and how long. Waits under load mean the pool is smaller than the
 * concurrency this instance sees (README: sizing the pool).
 */
function reportPoolWaits(store: KyselyStore, logger: Logger): NodeJS.Timeout | undefined {
  const waits = store.poolWaits;
  if (!waits || !logger.isLevelEnabled('debug')) return undefined;
  const timer = setInterval(() => {
    const report = waits.take();
    if (report) logger.debug(report, 'PostgreSQL pool');
  }, 10_000);
  timer.unref();
  return timer;
}

export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the authorization server')
    .addOption(new Option('--port <n>', 'port to listen on; 0 picks a free port').env('TESSERA_PORT').default('9000'))
    .addOption(new Option('--host <h>', 'address to listen on').env('TESSERA_HOST').default('127.0.0.1'))
    .addOption(dbOption())
    .addOption(sweepIntervalOption())
    .addOption(
      new Option(
        '--issuer <url>',
        'public base URL (default http://HOST:PORT on a loopback host; required for any other --host)',
      ).env('TESSERA_ISSUER'),
    )
    .addOption(
      new Option('--audience <uri>', 'the aud of JWT access tokens: the API they are for (default the issuer)').env(
        'TESSERA_AUDIENCE',
      ),
    )
    .option(
      '--demo',
      'seed and serve the demo client at /demo (its rows are marked: a server without --demo refuses them)',
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices([...LOG_LEVELS])
        .env('TESSERA_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option(
        '--code-lifetime <duration>',
        `how long an authorization code may be redeemed: 10s to 10m (default ${formatDuration(DEFAULT_LIFETIMES.code)}); a client's own overrides it`,
      ).env('TESSERA_CODE_LIFETIME'),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'json (one object per line) or pretty (readable lines); default pretty when stderr is a terminal, else json',
      )
        .choices([...LOG_FORMATS])
        .env('TESSERA_LOG_FORMAT'),
    )
    .addOption(
      new Option(
        '--access-token-lifetime <duration>',
        `expires_in of access tokens: 1m to 1d (default ${formatDuration(DEFAULT_LIFETIMES.accessToken)}, PKB's 600 seconds); a client's own overrides it`,
      ).env('TESSERA_ACCESS_TOKEN_LIFETIME'),
    )
    .addOption(
      new Option(
        '--refresh-lifetime <duration>',
        `absolute lifetime of an authorization session: refresh tokens end with it; 1m to 3650d (default ${formatDuration(DEFAULT_LIFETIMES.grant)}); a client's own overrides it`,
      ).env('TESSERA_REFRESH_LIFETIME'),
    )
    .addOption(
      new Option('--session-lifetime <duration>', 'the old name of --refresh-lifetime').env('TESSERA_SESSION_LIFETIME'),
    )
    .addOption(
      new Option(
        '--login-lifetime <duration>',
        `how long a person has to sign in and consent: 1m to 1d (default ${formatDuration(DEFAULT_LIFETIMES.pendingAuthorization)})`,
      ).env('TESSERA_LOGIN_LIFETIME'),
    )
    .addOption(
      new Option(
        '--session-idle <duration>',
        'a browser session at Tessera ends after this long unused (signing in again is then needed)',
      )
        .env('TESSERA_SESSION_IDLE')
        .default(String(30 * 60)),
    )
    .addOption(
      new Option(
        '--session-max <duration>',
        'a browser session at Tessera ends this long after signing in, at the latest',
      )
        .env('TESSERA_SESSION_MAX')
        .default(String(12 * 3600)),
    )
    .addOption(
      new Option('--db-pool-size <n>', 'PostgreSQL connections per instance (1-1000)')
        .env('TESSERA_DB_POOL_SIZE')
        .default(String(DEFAULT_POOL_SIZE)),
    )
    .addOption(
      new Option(
        '--db-wait <seconds>',
        'at start, how long to keep retrying while the database cannot be reached (0: no retry)',
      )
        .env('TESSERA_DB_WAIT')
        .default(String(DEFAULT_DB_WAIT_SECONDS)),
    )
    .addOption(
      new Option(
        '--trust-proxy [proxies]',
        'behind a reverse proxy: take the client address, scheme and host from X-Forwarded-For/-Proto/-Host ' +
          'sent by these proxies: true (any; a bare flag), false, a hop count, or a comma-separated list of addresses/CIDR ranges',
      ).env('TESSERA_TRUST_PROXY'),
    )
    .addOption(
      new Option(
        '--header-timeout <duration>',
        "a request's line and headers must arrive within this (else 408): 1s to 1h",
      )
        .env('TESSERA_HEADER_TIMEOUT')
        .default(String(DEFAULT_LIMITS.headerTimeout)),
    )
    .addOption(
      new Option(
        '--request-timeout <duration>',
        'a whole request, body included, must arrive within this (else 408): 1s to 1h',
      )
        .env('TESSERA_REQUEST_TIMEOUT')
        .default(String(DEFAULT_LIMITS.requestTimeout)),
    )
    .addOption(
      new Option(
        '--max-connections-per-address <n>',
        'open connections from one client address, trusted proxies not counted (0: no cap)',
      )
        .env('TESSERA_MAX_CONNECTIONS_PER_ADDRESS')
        .default(String(DEFAULT_LIMITS.connectionsPerAddress)),
    )
    .addOption(
      new Option('--max-connections <n>', 'open connections in all (0: no cap)')
        .env('TESSERA_MAX_CONNECTIONS')
        .default(String(DEFAULT_LIMITS.maxConnections)),
    )
    .addOption(
      new Option(
        '--rate-limit <n>',
        'requests a minute from one client address at each sign-in endpoint (authorization, login, consent, logout); 0: no limit',
      )
        .env('TESSERA_RATE_LIMIT')
        .default(String(DEFAULT_LIMITS.rateLimit)),
    )
    .action((options: ServeOptions) => serve(options, io));
}
