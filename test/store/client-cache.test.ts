/**
 * The client cache on PostgreSQL (src/store/client-cache.ts, migration 0012): two stores
 * on one database, A reading, B (or a plain SQL session) changing. A serves a client from
 * memory — shown by a change made with the trigger switched off (session_replication_role
 * = replica, PostgreSQL documentation) that A does not see until the TTL — and sees every
 * change B makes within 2 s, long before the TTL: the trigger's notice drops the record.
 * The listening connection killed (pg_terminate_backend): A reads the database until it
 * listens again, then caches again. A read that began before a notice and ended after it
 * is not kept. A miss is never kept. close() leaves nothing that keeps a process alive.
 * On SQLite the signal is data_version: another connection's change (another process, a
 * second store, the sqlite3 shell) is seen by the next read, while a change on the
 * store's own connection that bypasses the store — which nothing in Tessera makes — shows
 * that records are served from memory until the TTL. A background checkpoint drops nothing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotateClientSecret, updateClient } from '../../src/services/clients.js';
import {
  CLIENT_CACHE_TTL_MS,
  ClientCache,
  PostgresClientNotices,
  sqliteClientChanges,
} from '../../src/store/client-cache.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { SqliteConnection } from '../../src/store/sqlite-connection.js';
import { addClient, tempStore, TEST_ENGINE } from '../helpers/harness.js';
import { freePort } from '../helpers/free-port.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it is true; how long that took (ms). Throws after `withinMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, withinMs: number, everyMs = 10) {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(everyMs);
  }
}

/** A URL with one more connection parameter. */
function withParam(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

describe.skipIf(TEST_ENGINE !== 'postgres')('the client cache on PostgreSQL', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  /** The reading store; its connections carry this application_name, to find its listener. */
  let a: KyselyStore;
  let appName: string;
  let b: KyselyStore;
  /** A plain session on the same schema, for SQL the stores do not run. */
  let sql: pg.Client;

  beforeEach(async () => {
    temp = await tempStore();
    appName = `cache_a_${randomBytes(6).toString('hex')}`;
    a = await openStore(withParam(temp.url, 'application_name', appName));
    b = temp.store;
    sql = new pg.Client({ connectionString: temp.url });
    await sql.connect();
    await addClient(b, { id: 'app', name: 'Notes' });
  });
  afterEach(async () => {
    await sql?.end();
    await a?.close();
    await temp.cleanup();
  });

  /** Changes the client's name with the trigger switched off: no notice. */
  async function renameQuietly(name: string, id = 'app'): Promise<void> {
    await sql.query('begin');
    await sql.query('set local session_replication_role = replica');
    await sql.query('update clients set name = $1 where id = $2', [name, id]);
    await sql.query('commit');
  }

  /** A listens and has the client in memory. */
  async function primed(store: KyselyStore = a, id = 'app') {
    await store.getClient(id);
    await waitFor('A listens', () => store.clientCache?.listening === true, 5000);
    const client = await store.getClient(id);
    expect(client).toBeDefined();
    return client!;
  }

  /** The pid of A's listening connection, when there is one. */
  async function listenerPid(): Promise<number | undefined> {
    const { rows } = await sql.query<{ pid: number }>(
      `select pid from pg_stat_activity where application_name = $1 and query ilike 'listen %' and state = 'idle'`,
      [appName],
    );
    expect(rows.length).toBeLessThanOrEqual(1);
    return rows[0]?.pid;
  }

  it('serves from memory: a change without a notice is seen only once the record expires', async () => {
    const cachedAt = performance.now();
    await primed();
    await renameQuietly('Renamed quietly');
    // B does not listen yet: it reads the database.
    expect((await b.getClient('app'))?.name).toBe('Renamed quietly');
    for (let i = 0; i < 10; i++) {
      expect((await a.getClient('app'))?.name).toBe('Notes');
      await sleep(50);
    }
    await waitFor('A sees the quiet change', async () => (await a.getClient('app'))?.name === 'Renamed quietly', 7000);
    // Not before the record's time was up, and not long after.
    const seenAfter = performance.now() - cachedAt;
    expect(seenAfter).toBeGreaterThanOrEqual(CLIENT_CACHE_TTL_MS - 100);
    expect(seenAfter).toBeLessThan(CLIENT_CACHE_TTL_MS + 1500);
  });

  // Changes made elsewhere — another process, another machine, SQL: only the trigger's
  // notice can tell A about them.
  const changes: Array<[string, string, (c: Awaited<ReturnType<typeof primed>> | undefined) => boolean]> = [
    ['disable', `update clients set disabled_at = 1 where id = 'app'`, (c) => c?.disabledAt === 1],
    [
      'update',
      `update clients set redirect_uris = (redirect_uris::jsonb || '["https://app.example/new"]'::jsonb)::text where id = 'app'`,
      (c) => c?.redirectUris.includes('https://app.example/new') === true,
    ],
    [
      'rotate-secret',
      `update clients set secret_hash = 'rotated' where id = 'app'`,
      (c) => c?.secretHash === 'rotated',
    ],
    ['remove', `delete from clients where id = 'app'`, (c) => c === undefined],
  ];

  it.each(changes)(
    'a change made elsewhere (%s): A sees it within 2 s, having served from memory before',
    async (_, change, done) => {
      await primed();
      await renameQuietly('Renamed quietly');
      expect((await a.getClient('app'))?.name).toBe('Notes');
      await sql.query(change);
      const took = await waitFor(
        'A sees the change',
        async () => {
          const now = await a.getClient('app');
          // The whole row read again: the quiet change too.
          return done(now) && (now === undefined || now.name === 'Renamed quietly');
        },
        2000,
        5,
      );
      expect(took).toBeLessThan(2000);
    },
  );

  it('another store in this process: its writes drop the record at once, without a notice', async () => {
    await sql.query('alter table clients disable trigger tessera_client_changed');
    await primed();
    await renameQuietly('Renamed quietly');
    expect((await a.getClient('app'))?.name).toBe('Notes');
    await b.setClientDisabled('app', Date.now());
    expect(await a.getClient('app')).toMatchObject({ name: 'Renamed quietly', disabledAt: expect.any(Number) });
    await renameQuietly('Again');
    expect((await a.getClient('app'))?.name).toBe('Renamed quietly');
    await updateClient(b, 'app', { addRedirectUris: ['https://app.example/new'] }, Date.now());
    expect(await a.getClient('app')).toMatchObject({
      name: 'Again',
      redirectUris: expect.arrayContaining(['https://app.example/new']),
    });
    const before = await a.getClient('app');
    await rotateClientSecret(b, 'app');
    expect((await a.getClient('app'))?.secretHash).not.toBe(before?.secretHash);
    expect(await b.removeClient('app')).toBe(true);
    expect(await a.getClient('app')).toBeUndefined();
  });

  it("drops the record at once on the store's own writes", async () => {
    // No notices at all here: what A sees at once, it sees because it dropped the record itself.
    await sql.query('alter table clients disable trigger tessera_client_changed');
    await primed();
    await renameQuietly('Renamed quietly');
    expect((await a.getClient('app'))?.name).toBe('Notes');
    await a.setClientDisabled('app', Date.now());
    expect(await a.getClient('app')).toMatchObject({ name: 'Renamed quietly', disabledAt: expect.any(Number) });

    await renameQuietly('Again');
    expect((await a.getClient('app'))?.name).toBe('Renamed quietly');
    await a.setClientSecret('app', 'new-hash');
    expect(await a.getClient('app')).toMatchObject({ name: 'Again', secretHash: 'new-hash' });

    await renameQuietly('Once more');
    expect((await a.getClient('app'))?.name).toBe('Again');
    // Its update finds the row changed (by the quiet rename) and drops the record: the
    // caller's next read, and its retry, meet the row as it is.
    const stale = await a.getClient('app');
    expect(await a.updateClient(stale!, { ...stale!, skipConsent: true }, noEffects, Date.now())).toBe('changed');
    const fresh = await a.getClient('app');
    expect(fresh?.name).toBe('Once more');
    expect(await a.updateClient(fresh!, { ...fresh!, skipConsent: true }, noEffects, Date.now())).not.toBe('changed');
    await renameQuietly('Last');
    expect(await a.getClient('app')).toMatchObject({ name: 'Last', skipConsent: true });

    expect(await a.removeClient('app')).toBe(true);
    expect(await a.getClient('app')).toBeUndefined();
  });

  it('never keeps a miss: a client just added is seen at once', async () => {
    await primed();
    expect(await a.getClient('later')).toBeUndefined();
    expect(await a.getClient('later')).toBeUndefined();
    await addClient(b, { id: 'later', name: 'Later' });
    expect((await a.getClient('later'))?.name).toBe('Later');
  });

  it('reads the database while not listening, and caches again once it listens anew', async () => {
    await primed();
    const first = await listenerPid();
    expect(first).toBeDefined();
    await renameQuietly('One');
    expect((await a.getClient('app'))?.name).toBe('Notes');

    await sql.query('select pg_terminate_backend($1)', [first]);
    // The connection is made again after a delay (75 ms or more): meanwhile nothing is
    // served from memory, nor kept.
    await waitFor('A stops listening', () => a.clientCache?.listening === false, 2000, 1);
    expect((await a.getClient('app'))?.name).toBe('One');
    await renameQuietly('Two');
    expect((await a.getClient('app'))?.name).toBe('Two');
    // (Unless it listens again already: then it was emptied, and 'Two' read anew.)
    if (a.clientCache?.listening === false) expect(a.clientCache.size).toBe(0);

    await waitFor(
      'A listens again',
      async () => a.clientCache?.listening === true && (await listenerPid()) !== undefined,
      5000,
    );
    expect(await listenerPid()).not.toBe(first);
    await renameQuietly('Three');
    // Emptied when it listened again: read anew, then kept.
    expect((await a.getClient('app'))?.name).toBe('Three');
    await renameQuietly('Four');
    expect((await a.getClient('app'))?.name).toBe('Three');
    // And the new connection hears the notices.
    await b.setClientDisabled('app', Date.now());
    await waitFor('A sees the change', async () => (await a.getClient('app'))?.name === 'Four', 2000, 5);
  });
});

/** What `updateClient` ends: nothing. */
const noEffects = { revokeScopes: [], revokeClientGrants: false, deleteRefreshTokens: false };

describe.skipIf(TEST_ENGINE !== 'postgres')('ClientCache against a real PostgreSQL server', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  let notifier: pg.Client;
  const caches: Array<ClientCache<string>> = [];

  beforeEach(async () => {
    temp = await tempStore();
    notifier = new pg.Client({ connectionString: temp.url });
    await notifier.connect();
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
    await notifier.end();
    await temp.cleanup();
  });

  function cache(connect: () => pg.Client = () => new pg.Client({ connectionString: temp.url })) {
    const made = new ClientCache<string>(new PostgresClientNotices(connect));
    caches.push(made);
    return made;
  }

  async function listening(c: ClientCache<string>) {
    await c.get('warm-up', async () => undefined);
    await waitFor('the cache listens', () => c.listening, 5000);
  }

  /** Sends the notices and waits until the cache has taken them: `marker`, kept before, is dropped last. */
  async function announce(c: ClientCache<string>, ids: string[]) {
    await c.get('marker', async () => 'm');
    expect(await c.get('marker', async () => 'not kept')).toBe('m');
    await notifier.query(
      `select ${[...ids, 'marker'].map((_, i) => `pg_notify('tessera_client_changed', $${i + 1})`).join(', ')}`,
      [...ids, 'marker'],
    );
    await waitFor('the notices arrive', async () => (await c.get('marker', async () => 'again')) === 'again', 2000, 2);
  }

  it('does not keep a read that began before a notice for its id and ended after', async () => {
    const c = cache();
    await listening(c);

    // Without a notice, the read is kept.
    let release!: (v: string) => void;
    let read = c.get('x', () => new Promise<string>((resolve) => (release = resolve)));
    await sleep(10);
    release('row as read');
    expect(await read).toBe('row as read');
    expect(await c.get('x', async () => 'read again')).toBe('row as read');

    // With one while it is under way: served to its caller, not kept.
    c.evict('x');
    read = c.get('x', () => new Promise<string>((resolve) => (release = resolve)));
    await announce(c, ['x']);
    release('stale row');
    expect(await read).toBe('stale row');
    expect(await c.get('x', async () => 'fresh row')).toBe('fresh row');
    expect(await c.get('x', async () => 'not read')).toBe('fresh row');

    // Nor with the store's own drop while it is under way.
    c.evict('x');
    read = c.get('x', () => new Promise<string>((resolve) => (release = resolve)));
    c.evict('x');
    release('stale row');
    expect(await read).toBe('stale row');
    expect(await c.get('x', async () => 'fresh row')).toBe('fresh row');
  });

  it('a notice drops the record of its id', async () => {
    const c = cache();
    await listening(c);
    await c.get('x', async () => 'one');
    await c.get('y', async () => 'one');
    await announce(c, ['x']);
    expect(await c.get('x', async () => 'two')).toBe('two');
    expect(await c.get('y', async () => 'two')).toBe('one');
  });

  it('reads through while it cannot listen, without an unhandled error, and caches once it can', async () => {
    const closedPort = await freePort();
    let attempts = 0;
    // The first three attempts meet a port nobody listens on; the fourth, the server.
    const c = cache(() => {
      attempts++;
      const url = attempts <= 3 ? `postgres://postgres@127.0.0.1:${closedPort}/nowhere` : temp.url;
      return new pg.Client({ connectionString: url });
    });
    let loads = 0;
    const load = async () => `row ${++loads}`;
    expect(await c.get('x', load)).toBe('row 1');
    await sleep(150);
    expect(await c.get('x', load)).toBe('row 2');
    expect(c.listening).toBe(false);
    await waitFor('the cache listens', () => c.listening, 5000);
    expect(attempts).toBe(4);
    const loaded = loads;
    expect(await c.get('x', load)).toBe(`row ${loaded + 1}`);
    expect(await c.get('x', load)).toBe(`row ${loaded + 1}`);
  });

  it('close() while connecting or retrying ends it: no attempt after', async () => {
    const closedPort = await freePort();
    let attempts = 0;
    const retrying = cache(() => {
      attempts++;
      return new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${closedPort}/x` });
    });
    await retrying.get('x', async () => 'row');
    await waitFor('a second attempt', () => attempts >= 2, 2000, 5);
    const connecting = cache();
    await connecting.get('x', async () => 'row');
    const started = performance.now();
    await Promise.all([retrying.close(), connecting.close()]);
    expect(performance.now() - started).toBeLessThan(1000);
    const made = attempts;
    await sleep(500);
    expect(attempts).toBe(made);
    expect(connecting.listening).toBe(false);
    expect(await connecting.get('x', async () => 'read')).toBe('read');
  });
});

describe.skipIf(TEST_ENGINE !== 'postgres')('migration 0012 on PostgreSQL', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  beforeEach(async () => {
    temp = await tempStore();
  });
  afterEach(async () => {
    await temp.cleanup();
  });

  async function inSchema(): Promise<{ functions: number; triggers: number }> {
    const client = new pg.Client({ connectionString: temp.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ functions: string; triggers: string }>(`
        select
          (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where p.proname = 'tessera_client_changed' and n.nspname = current_schema()) as functions,
          (select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid
             join pg_namespace n on n.oid = c.relnamespace
             where t.tgname = 'tessera_client_changed' and c.relname = 'clients'
             and n.nspname = current_schema()) as triggers`);
      return { functions: Number(rows[0]?.functions), triggers: Number(rows[0]?.triggers) };
    } finally {
      await client.end();
    }
  }

  it('makes the function and trigger in the current schema, and down drops both', async () => {
    expect(await inSchema()).toEqual({ functions: 1, triggers: 1 });
    expect((await temp.store.migrations((m) => m.migrateTo('0011_client_lifetimes'))).error).toBeUndefined();
    expect(await inSchema()).toEqual({ functions: 0, triggers: 0 });
    expect(await temp.store.migrate()).toEqual(['0012_client_notify', '0013_jti_unindexed']);
    expect(await inSchema()).toEqual({ functions: 1, triggers: 1 });
  });
});

const BUILT_OPEN = fileURLToPath(new URL('../../dist/store/open.js', import.meta.url));

describe.skipIf(TEST_ENGINE !== 'postgres')('a process with a PostgreSQL store', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  beforeEach(async () => {
    temp = await tempStore();
    await addClient(temp.store, { id: 'app' });
  });
  afterEach(async () => {
    await temp.cleanup();
  });

  /** Runs `body` (a module's text, with `openStore` and `url` given) in a new Node.js process; its exit code, or 'hung'. */
  async function exits(body: string, url: string): Promise<number | null | 'hung'> {
    if (!existsSync(BUILT_OPEN)) throw new Error(`${BUILT_OPEN} does not exist: run 'npm run build' first`);
    const script = `import { openStore } from ${JSON.stringify(BUILT_OPEN)};\nconst url = ${JSON.stringify(url)};\n${body}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      sleep(8000).then(() => 'hung' as const),
    ]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(stderr).toBe('');
    return code;
  }

  it('exits by itself once the store is closed: listening, connecting, or retrying', async () => {
    const listening = `
      const store = await openStore(url);
      await store.getClient('app');
      while (!store.clientCache.listening) await new Promise((r) => setTimeout(r, 10));
      if (!(await store.getClient('app'))) throw new Error('no client');
      await store.close();`;
    const connecting = `
      const store = await openStore(url);
      await store.getClient('app');
      await store.close();`;
    const port = await freePort();
    const retrying = `
      const store = await openStore(url, { migrate: false });
      await store.getClient('app').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      await store.close();`;
    expect(await exits(listening, temp.url)).toBe(0);
    expect(await exits(connecting, temp.url)).toBe(0);
    expect(await exits(retrying, `postgres://postgres@127.0.0.1:${port}/nowhere`)).toBe(0);
  });
});

describe.skipIf(TEST_ENGINE !== 'sqlite')('the client cache on SQLite', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  /** A second store on the same file: a connection of its own, like a CLI command's. */
  let other: KyselyStore;
  /** A plain connection on the same file, for SQL the stores do not run. */
  let plain: SQLite.Database;

  beforeEach(async () => {
    temp = await tempStore();
    other = await openStore(temp.url);
    plain = new SQLite(temp.url.replace(/^sqlite:/, ''));
    plain.pragma('busy_timeout = 5000');
    await addClient(temp.store, { id: 'app', name: 'Notes' });
  });
  afterEach(async () => {
    plain.close();
    await other.close();
    await temp.cleanup();
  });

  /** Reads the client once: the store keeps it. */
  async function primed() {
    const client = await temp.store.getClient('app');
    expect(client?.name).toBe('Notes');
    expect(temp.store.clientCache.listening).toBe(true);
    return client;
  }

  /**
   * Renames the client on the store's own connection, past the store: SQLite's
   * data_version does not move for a connection's own commits, and nothing drops the
   * record — the one change the cache cannot see, to show that it serves from memory.
   */
  async function renameQuietly(name: string) {
    // After this turn's read transaction has ended, so that the change commits at once.
    await new Promise((resolve) => setImmediate(resolve));
    const raw = (temp.store as unknown as { sqlite: SqliteConnection }).sqlite.raw;
    raw.prepare('update clients set name = ? where id = ?').run(name, 'app');
  }

  it('serves from memory: a change it cannot see is seen only once the record expires', async () => {
    const cachedAt = performance.now();
    await primed();
    await renameQuietly('Renamed quietly');
    // Another connection reads the change.
    expect((await other.getClient('app'))?.name).toBe('Renamed quietly');
    for (let i = 0; i < 10; i++) {
      expect((await temp.store.getClient('app'))?.name).toBe('Notes');
      await sleep(50);
    }
    await waitFor(
      'the quiet change is seen',
      async () => (await temp.store.getClient('app'))?.name === 'Renamed quietly',
      7000,
    );
    const seenAfter = performance.now() - cachedAt;
    expect(seenAfter).toBeGreaterThanOrEqual(CLIENT_CACHE_TTL_MS - 100);
    expect(seenAfter).toBeLessThan(CLIENT_CACHE_TTL_MS + 1500);
  });

  it('a WAL checkpoint run elsewhere does not drop the records', async () => {
    await primed();
    await renameQuietly('Renamed quietly');
    expect(plain.pragma('wal_checkpoint(PASSIVE)')).toEqual([expect.objectContaining({ busy: 0 })]);
    expect((await temp.store.getClient('app'))?.name).toBe('Notes');
  });

  // Changes made elsewhere — another process, the sqlite3 shell: data_version tells.
  const changes: Array<[string, string, (c: Awaited<ReturnType<typeof primed>> | undefined) => boolean]> = [
    ['disable', `update clients set disabled_at = 1 where id = 'app'`, (c) => c?.disabledAt === 1],
    [
      'update',
      `update clients set redirect_uris = json_insert(redirect_uris, '$[#]', 'https://app.example/new') where id = 'app'`,
      (c) => c?.redirectUris.includes('https://app.example/new') === true,
    ],
    [
      'rotate-secret',
      `update clients set secret_hash = 'rotated' where id = 'app'`,
      (c) => c?.secretHash === 'rotated',
    ],
    ['remove', `delete from clients where id = 'app'`, (c) => c === undefined],
  ];

  it.each(changes)("a change made elsewhere (%s) is seen by the next turn's read", async (_, change, done) => {
    await primed();
    await renameQuietly('Renamed quietly');
    expect((await temp.store.getClient('app'))?.name).toBe('Notes');
    plain.exec(change);
    // From the next turn on: a read shares its turn's read transaction (sqlite-connection.ts).
    await new Promise((resolve) => setImmediate(resolve));
    const now = await temp.store.getClient('app');
    // The whole row read again: the quiet change too.
    expect(done(now)).toBe(true);
    if (now !== undefined) expect(now.name).toBe('Renamed quietly');
  });

  it("another store's writes and the store's own are seen by the next read", async () => {
    await primed();
    await other.setClientDisabled('app', 1);
    expect((await temp.store.getClient('app'))?.disabledAt).toBe(1);
    await temp.store.setClientDisabled('app', null);
    expect((await temp.store.getClient('app'))?.disabledAt).toBeNull();
    await temp.store.setClientSecret('app', 'rotated');
    expect((await temp.store.getClient('app'))?.secretHash).toBe('rotated');
    expect(await temp.store.removeClient('app')).toBe(true);
    expect(await temp.store.getClient('app')).toBeUndefined();
  });

  it('never keeps a miss: a client just added is seen at once', async () => {
    expect(await temp.store.getClient('late')).toBeUndefined();
    await addClient(other, { id: 'late' });
    expect((await temp.store.getClient('late'))?.id).toBe('late');
  });
});

describe('ClientCache with a stamp (SQLite data_version)', () => {
  it('serves a record only while the stamp it was read under is current', async () => {
    let version = 1;
    const c = new ClientCache<string>(sqliteClientChanges(() => version));
    try {
      expect(await c.get('x', async () => 'one')).toBe('one');
      expect(await c.get('x', async () => 'not read')).toBe('one');
      version = 2;
      expect(await c.get('x', async () => 'two')).toBe('two');
      expect(await c.get('x', async () => 'not read')).toBe('two');
    } finally {
      await c.close();
    }
  });

  it('labels a record with the stamp from before its read: a change during the read is not missed', async () => {
    let version = 1;
    const c = new ClientCache<string>(sqliteClientChanges(() => version));
    try {
      // The row is read as the change commits: it may be either; it is kept under stamp 1.
      const read = c.get('x', async () => {
        version = 2;
        return 'row read during a change';
      });
      expect(await read).toBe('row read during a change');
      expect(await c.get('x', async () => 'read again')).toBe('read again');
    } finally {
      await c.close();
    }
  });
});

describe('client records shared by the cache', () => {
  it('are frozen, lists and all: a reader cannot change one for the others', async () => {
    const temp = await tempStore();
    try {
      await addClient(temp.store, { id: 'app' });
      const client = await temp.store.getClient('app');
      if (!client) throw new Error('the client was not found');
      expect(Object.isFrozen(client)).toBe(true);
      for (const list of [client.redirectUris, client.scopes, client.grantTypes, client.postLogoutRedirectUris]) {
        expect(Object.isFrozen(list)).toBe(true);
      }
      expect(Object.isFrozen(client.lifetimes)).toBe(true);
      expect(() => client.redirectUris.push('https://evil.example/cb')).toThrow(TypeError);
      expect((await temp.store.getClient('app'))?.redirectUris).not.toContain('https://evil.example/cb');
    } finally {
      await temp.cleanup();
    }
  });
});
