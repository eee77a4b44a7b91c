// The servers under test. Each target knows how to start fresh (pinned to the server
// core), where its endpoints are, how to get one-time credentials issued through its own
// code path, and how to stop. See bench/README.md for what each one is.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { firstMessage, order, pinned, pinning, postgresCpuSampler, startProcess, stopProcess } from './proc.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
const SERVERS = join(ROOT, 'bench', 'servers');

/** What every target shares with the load generators (also passed to servers as BENCH_*). */
export function benchEnv(shared) {
  return {
    BENCH_CLIENT_ID: shared.clientId,
    BENCH_CLIENT_SECRET: shared.clientSecret,
    BENCH_REDIRECT_URI: shared.redirectUri,
    BENCH_USERS: shared.users.join(','),
    BENCH_PASSWORD: shared.password,
  };
}

/** A target whose server is one of bench/servers/*.mjs and issues its own credentials. */
function peer({ id, label, script, args = [], paths, fullFlow, markers }) {
  return {
    id,
    label,
    kind: id === 'ceiling' ? 'ceiling' : 'peer',
    // A peer without an introspection endpoint is left out of that flow.
    flows: paths.introspect ? undefined : ['code', 'refresh', 'bearer', 'full'],
    paths,
    fullFlow,
    markers,
    async start(ctx) {
      const [command, argv] = pinned(pinning.server, ['node', join(SERVERS, script), ...args]);
      this.proc = await startProcess({
        command,
        args: argv,
        env: benchEnv(ctx.shared),
        logFile: join(ctx.dir, `${id}.log`),
        ipc: true,
        readyLine: 'listening on',
        cwd: ROOT,
      });
      this.url = this.proc.url;
      this.pid = this.proc.pid;
      this.clientSecret = ctx.shared.clientSecret;
    },
    async issue(flow, n, file) {
      await order(this.proc.child, { type: 'issue', flow, n, file });
    },
    async stop() {
      await stopProcess(this.proc?.child);
      this.proc = undefined;
    },
  };
}

const TOKEN_MARKERS = ['"access_token":"', '"refresh_token":"'];
const ACTIVE_MARKERS = ['"active":true', '"client_id":"'];

/** Tessera's endpoints for the flows, and what each flow's answers must contain. */
export const TESSERA_PATHS = { token: '/apiToken.action', bearer: '/api/v1/me', introspect: '/oauth2/introspect' };
export const TESSERA_MARKERS = {
  code: TOKEN_MARKERS,
  refresh: TOKEN_MARKERS,
  bearer: ['"sub":"', '"client_id":"'],
  introspect: ACTIVE_MARKERS,
};

export function peerTargets() {
  return [
    peer({
      id: 'oidc-provider',
      label: 'node-oidc-provider 9 (memory)',
      script: 'oidc-provider.mjs',
      paths: { token: '/token', bearer: '/me', introspect: '/token/introspection' },
      fullFlow: 'oidc-provider',
      markers: { code: TOKEN_MARKERS, refresh: TOKEN_MARKERS, bearer: ['"sub":"'], introspect: ACTIVE_MARKERS },
    }),
    peer({
      id: 'oauth2-server-http',
      label: '@node-oauth/oauth2-server 5 on node:http (memory)',
      script: 'oauth2-server.mjs',
      paths: { token: '/token', bearer: '/api/me' },
      fullFlow: 'oauth2-server',
      markers: { code: TOKEN_MARKERS, refresh: TOKEN_MARKERS, bearer: ['"sub":"'] },
    }),
    peer({
      id: 'oauth2-server-express',
      label: '@node-oauth/oauth2-server 5 on Express 5 (memory)',
      script: 'oauth2-server.mjs',
      args: ['--express'],
      paths: { token: '/token', bearer: '/api/me' },
      fullFlow: 'oauth2-server',
      markers: { code: TOKEN_MARKERS, refresh: TOKEN_MARKERS, bearer: ['"sub":"'] },
    }),
    peer({
      id: 'ceiling',
      label: 'ceiling: bare node:http, stores nothing',
      script: 'ceiling.mjs',
      paths: { token: '/token', bearer: '/api/me' },
      fullFlow: 'ceiling',
      markers: { code: TOKEN_MARKERS, refresh: TOKEN_MARKERS, bearer: ['"sub":"'] },
    }),
  ];
}

/**
 * Tessera: `node dist/cli/main.js serve` on a fresh database, with the seeder
 * (servers/tessera-seeder.mjs) beside it for the client, the people and the credentials.
 * `database()` makes the fresh database and returns { url, drop }. `accessTokenFormat`
 * registers the bench client for opaque (default) or JWT access tokens; `flows` limits the
 * flows the target is measured in (default all).
 */
export function tesseraTarget({ id, label, database, logLevel, nodeArgs = [], accessTokenFormat, flows }) {
  return {
    id,
    label,
    kind: 'tessera',
    flows,
    paths: TESSERA_PATHS,
    fullFlow: 'tessera',
    markers: TESSERA_MARKERS,
    async start(ctx, { live = 0, onSeed } = {}) {
      this.db = await database(ctx);
      // The seeder first: it applies the migrations and registers the client and people
      // before the server opens the database.
      this.seeder = await startTesseraSeeder(ctx, { id, dbUrl: this.db.url, accessTokenFormat });
      this.clientSecret = this.seeder.clientSecret;
      if (live > 0) {
        const t0 = performance.now();
        const chunk = 100_000;
        for (let done = 0; done < live; done += chunk) {
          await order(this.seeder.child, {
            type: 'issue',
            flow: 'live',
            n: Math.min(chunk, live - done),
            file: join(ctx.dir, 'live.txt'),
          });
          onSeed?.(Math.min(done + chunk, live));
        }
        this.seedSeconds = (performance.now() - t0) / 1000;
      }
      this.proc = await startTesseraServe(ctx, { id, dbUrl: this.db.url, logLevel, nodeArgs });
      this.url = this.proc.url;
      this.pid = this.proc.pid;
      // On PostgreSQL, every measured run also samples PostgreSQL's own CPU (it is not pinned).
      const pgDatabase = postgresDatabaseName(this.db.url);
      this.watch = pgDatabase === undefined ? undefined : postgresWatch(pgDatabase);
    },
    async issue(flow, n, file) {
      await order(this.seeder.child, { type: 'issue', flow, n, file });
    },
    async stop() {
      await stopProcess(this.proc?.child);
      await stopProcess(this.seeder?.child);
      this.proc = undefined;
      this.seeder = undefined;
      this.watch = undefined;
      await this.db?.drop();
      this.db = undefined;
    },
  };
}

/**
 * The seeder (servers/tessera-seeder.mjs) on `dbUrl`: migrations, the bench client and
 * people, then credentials on request over IPC. Resolves with the process and the client's
 * secret.
 */
export async function startTesseraSeeder(ctx, { id, dbUrl, accessTokenFormat }) {
  const seeder = await startProcess({
    command: 'node',
    args: [join(SERVERS, 'tessera-seeder.mjs')],
    env: {
      ...benchEnv(ctx.shared),
      BENCH_DB: dbUrl,
      ...(accessTokenFormat && { BENCH_ACCESS_TOKEN_FORMAT: accessTokenFormat }),
    },
    logFile: join(ctx.dir, `${id}-seeder.log`),
    ipc: true,
    cwd: ROOT,
  });
  try {
    const ready = await firstMessage(seeder.child, 'ready');
    return { ...seeder, clientSecret: ready.clientSecret };
  } catch (err) {
    await stopProcess(seeder.child);
    throw err;
  }
}

/** `tessera serve` on `dbUrl`, pinned to the server core, port 0; resolves once it listens. */
export function startTesseraServe(ctx, { id, dbUrl, logLevel, nodeArgs = [] }) {
  const [command, argv] = pinned(pinning.server, [
    'node',
    ...nodeArgs,
    join(ROOT, 'dist', 'cli', 'main.js'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--db',
    dbUrl,
    '--log-level',
    logLevel,
    // One load generator on one address stands for many people: the per-address limit
    // on sign-in endpoints (a defence, not a cost of the flow) would measure itself.
    '--rate-limit',
    '0',
  ]);
  return startProcess({
    command,
    args: argv,
    env: {},
    logFile: join(ctx.dir, `${id}.log`),
    readyLine: 'listening on',
    cwd: ROOT,
  });
}

/** The database a postgres:// URL names, or undefined for any other URL. */
export function postgresDatabaseName(url) {
  if (!/^postgres(ql)?:/.test(url)) return undefined;
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}

/** A run's watch (see lib/wrk.mjs) that reports PostgreSQL's CPU seconds during the run. */
export function postgresWatch(database) {
  return () => {
    const sampler = postgresCpuSampler(database);
    return () => {
      const { seconds, processes } = sampler.stop();
      return {
        postgresSeconds: seconds.ours ?? 0,
        postgresProcesses: processes.ours ?? 0,
        postgresOtherSeconds: seconds.other ?? 0,
      };
    };
  };
}

/** Numbers the SQLite directories of a run: targets may be alive at the same time. */
let sqliteDirectories = 0;

/** A fresh SQLite file per start, in its own directory. */
export function sqliteDatabase() {
  return async (ctx) => {
    const dir = join(ctx.dir, `sqlite-${++sqliteDirectories}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'tessera.db');
    return { url: `sqlite:${path}`, path, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  };
}

/** Databases made and not yet dropped: dropped by dropDatabases() if the bench stops early. */
const undropped = new Set();

export async function dropDatabases() {
  for (const drop of [...undropped]) await drop().catch(() => undefined);
}

function tracked(db) {
  const drop = async () => {
    undropped.delete(drop);
    await db.drop();
  };
  undropped.add(drop);
  return { ...db, drop };
}

/**
 * A fresh PostgreSQL database per start on the server at `adminUrl` (created and
 * dropped); where creating databases is not allowed, a fresh schema in the given one.
 */
export function postgresDatabase(adminUrl, pg) {
  let n = 0;
  return async () => {
    const name = `tessera_bench_${process.pid}_${++n}`;
    const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return tracked({
        url: url.toString(),
        drop: async () => {
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          await c.query(`drop database if exists ${name} with (force)`);
          await c.end();
        },
      });
    } catch {
      await admin.query(`create schema ${name}`);
      const sep = adminUrl.includes('?') ? '&' : '?';
      return tracked({
        url: `${adminUrl}${sep}options=${encodeURIComponent(`-c search_path=${name}`)}`,
        drop: async () => {
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          await c.query(`drop schema if exists ${name} cascade`);
          await c.end();
        },
      });
    } finally {
      await admin.end();
    }
  };
}
