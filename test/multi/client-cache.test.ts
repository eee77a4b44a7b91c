/**
 * Each `tessera serve` keeps client records in memory (src/store/client-cache.ts); a change
 * made by `tessera client …` — another process — must still reach every instance at once.
 * On SQLite, the command's commit moves the file's data_version: the request after the
 * command has returned is already answered as the change says.
 *
 * On PostgreSQL, two instances on one database, both holding the client: after
 * `tessera client disable` each refuses its token requests within 1 s (never with a 5xx),
 * after `enable` each serves it again, and after `rotate-secret` the old secret is refused.
 * That they serve from memory at all is shown first: a change made with the trigger
 * switched off (session_replication_role = replica) goes unseen. Runs only when
 * TESSERA_TEST_POSTGRES_URL is set.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempPostgresUrl } from '../helpers/harness.js';
import {
  addClientWithCli,
  basicAuth,
  runCli,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const POSTGRES_URL = process.env.TESSERA_TEST_POSTGRES_URL;
const ISSUER = 'http://tessera.test';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The client the CLI registers: a service of its own (client_credentials). */
const SERVICE_ARGS = ['--name', 'Records sync', '--grant', 'client_credentials', '--scope', 'PATIENT'];

/** A client_credentials token request at `base`: its status and error code. */
async function clientToken(base: string, client: CliClient, secret: string) {
  const res = await fetch(`${base}/apiToken.action`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuth(client.client_id, secret),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, error: body.error };
}

describe.skipIf(!POSTGRES_URL)('a client changed by the CLI, with two instances caching it', () => {
  let database: Awaited<ReturnType<typeof tempPostgresUrl>>;
  let sql: pg.Client;
  /** Each instance's connections carry an application_name of its own (PGAPPNAME), to find its listener. */
  const names = [`cache_a_${randomBytes(4).toString('hex')}`, `cache_b_${randomBytes(4).toString('hex')}`];
  let instances: ServerProcess[] = [];
  let service: CliClient;

  beforeAll(async () => {
    database = await tempPostgresUrl();
    const secret = randomBytes(32).toString('base64url');
    // One after the other: the first applies the migrations.
    for (const name of names) {
      instances.push(
        await startServer({
          db: database.url,
          args: ['--issuer', ISSUER],
          env: { TESSERA_SECRET: secret, PGAPPNAME: name },
        }),
      );
    }
    service = addClientWithCli(database.url, SERVICE_ARGS);
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    await Promise.all(instances.map((i) => i.stop()));
    instances = [];
    await database?.drop();
  });

  const token = (base: string, secret = service.client_secret as string) => clientToken(base, service, secret);

  /**
   * Asks every instance every 20 ms until each answers as `wanted` says; how long that
   * took (ms) and every status seen. Gives up after 3 s.
   */
  async function untilAll(wanted: (answer: { status: number; error?: string }) => boolean, secret?: string) {
    const start = Date.now();
    const statuses = new Set<number>();
    const done = new Set<number>();
    while (done.size < instances.length && Date.now() - start < 3000) {
      await Promise.all(
        instances.map(async (instance, i) => {
          const answer = await token(instance.baseUrl, secret);
          statuses.add(answer.status);
          if (wanted(answer)) done.add(i);
        }),
      );
      if (done.size < instances.length) await sleep(20);
    }
    expect(done.size).toBe(instances.length);
    return { took: Date.now() - start, statuses: [...statuses].sort() };
  }

  async function listeners(): Promise<number> {
    const { rows } = await sql.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity where application_name = any($1) and query ilike 'listen %'`,
      [names],
    );
    return Number(rows[0]?.n);
  }

  it('disable, enable and rotate-secret reach both instances within 1 s, never as a 5xx', async () => {
    // Both instances read the client, start listening, and then keep it.
    for (const instance of instances) expect((await token(instance.baseUrl)).status).toBe(200);
    const start = Date.now();
    while ((await listeners()) < 2 && Date.now() - start < 5000) await sleep(20);
    expect(await listeners()).toBe(2);
    for (const instance of instances) expect((await token(instance.baseUrl)).status).toBe(200);

    // Disabled behind their back, without a notice: both still serve the client from memory.
    await sql.query('begin');
    await sql.query('set local session_replication_role = replica');
    await sql.query('update clients set disabled_at = $1 where id = $2', [Date.now(), service.client_id]);
    await sql.query('commit');
    for (const instance of instances) expect((await token(instance.baseUrl)).status).toBe(200);
    await sql.query('begin');
    await sql.query('set local session_replication_role = replica');
    await sql.query('update clients set disabled_at = null where id = $1', [service.client_id]);
    await sql.query('commit');

    const disabled = runCli(['client', 'disable', service.client_id], { db: database.url });
    expect(disabled).toMatchObject({ status: 0, stderr: '' });
    const refused = await untilAll((a) => a.status === 401 && a.error === 'invalid_client');
    expect(refused.took).toBeLessThanOrEqual(1000);
    expect(refused.statuses.every((s) => s === 200 || s === 401)).toBe(true);

    const enabled = runCli(['client', 'enable', service.client_id], { db: database.url });
    expect(enabled).toMatchObject({ status: 0, stderr: '' });
    const served = await untilAll((a) => a.status === 200);
    expect(served.took).toBeLessThanOrEqual(1000);
    expect(served.statuses.every((s) => s === 200 || s === 401)).toBe(true);

    const rotated = runCli(['client', 'rotate-secret', service.client_id, '--json'], { db: database.url });
    expect(rotated).toMatchObject({ status: 0, stderr: '' });
    const newSecret = (JSON.parse(rotated.stdout) as { client_secret: string }).client_secret;
    const oldRefused = await untilAll((a) => a.status === 401 && a.error === 'invalid_client');
    expect(oldRefused.took).toBeLessThanOrEqual(1000);
    expect(oldRefused.statuses.every((s) => s === 200 || s === 401)).toBe(true);
    for (const instance of instances) expect((await token(instance.baseUrl, newSecret)).status).toBe(200);
  });
});

describe('a client changed by the CLI while serve on SQLite holds it', () => {
  let server: ServerProcess;
  let service: CliClient;

  beforeAll(async () => {
    server = await startServer({ args: ['--issuer', ISSUER] });
    service = addClientWithCli(server.db, SERVICE_ARGS);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const token = (secret = service.client_secret as string) => clientToken(server.baseUrl, service, secret);

  it('disable, enable and rotate-secret are answered by the very next request', async () => {
    // Read twice: the second from memory.
    expect((await token()).status).toBe(200);
    expect((await token()).status).toBe(200);

    expect(runCli(['client', 'disable', service.client_id], { db: server.db })).toMatchObject({ status: 0 });
    expect(await token()).toEqual({ status: 401, error: 'invalid_client' });

    expect(runCli(['client', 'enable', service.client_id], { db: server.db })).toMatchObject({ status: 0 });
    expect((await token()).status).toBe(200);
    expect((await token()).status).toBe(200);

    const rotated = runCli(['client', 'rotate-secret', service.client_id, '--json'], { db: server.db });
    expect(rotated).toMatchObject({ status: 0 });
    const newSecret = (JSON.parse(rotated.stdout) as { client_secret: string }).client_secret;
    expect(await token()).toEqual({ status: 401, error: 'invalid_client' });
    expect((await token(newSecret)).status).toBe(200);
  });
});
