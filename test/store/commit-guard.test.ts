/**
 * A commit group takes in no write that is not its own: grouped writes are synchronous,
 * every SQLite write goes through the group, and the connection refuses a statement from
 * anywhere else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/store/group-commit.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import {
  sqliteConnection,
  StoreGuardError,
  type SqliteConnection,
  type WriteScope,
} from '../../src/store/sqlite-connection.js';
import type { ClientRecord } from '../../src/store/store.js';

const client = (id: string): ClientRecord => ({
  id,
  name: id,
  secretHash: null,
  redirectUris: ['https://app.example/cb'],
  scopes: ['PATIENT'],
  grantTypes: ['authorization_code'],
  pkceRequired: true,
  accessTokenFormat: 'opaque',
  resourceServer: false,
  idTokenAlg: 'RS256',
  skipConsent: false,
  postLogoutRedirectUris: [],
  createdAt: 1,
  disabledAt: null,
});

describe('a store on SQLite', () => {
  let dir: string;
  let store: KyselyStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-guard-'));
    store = await openStore(`sqlite:${join(dir, 'guard.db')}`);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The store's own group, under the name it has always had.
  const groupOf = (s: KyselyStore) => (s as unknown as { group: GroupCommit }).group;

  it('keeps a write made while a grouped write waits out of that group', async () => {
    // A grouped write that waits for a timer while its transaction would stay open, and
    // then fails (typed away: the type refuses it).
    const waiting = groupOf(store).run((async () => {
      await sleep(30);
      throw new Error('the grouped write fails');
    }) as unknown as () => void);
    const outcome = waiting.then(
      () => 'ok',
      () => 'failed',
    );
    await sleep(5);
    // Meanwhile, a write of another request: it must not join (and fall with) that group.
    await store.createClient(client('other-request'));
    expect(await outcome).toBe('failed');
    expect((await store.getClient('other-request'))?.id).toBe('other-request');
    const other = new SQLite(join(dir, 'guard.db'), { readonly: true });
    expect(other.prepare('select id from clients').all()).toEqual([{ id: 'other-request' }]);
    other.close();
  });

  it('refuses a grouped write that returns a promise, and rolls back what it did', async () => {
    const connection = (store as unknown as { sqlite: SqliteConnection }).sqlite;
    const work = (scope: WriteScope) => {
      connection.run({ sql: "insert into settings values ('k', 'v')", parameters: [] }, scope);
      return Promise.resolve('late');
    };
    await expect(groupOf(store).run(work as unknown as () => void)).rejects.toThrow(/must be synchronous/);
    expect(await store.getSetting('k')).toBeUndefined();
  });

  it('sends writes made through Kysely (store.db) through the group', async () => {
    const commit = groupOf(store);
    let grouped = 0;
    const run = commit.run.bind(commit);
    commit.run = ((work) => {
      grouped += 1;
      return run(work);
    }) as GroupCommit['run'];
    await store.db.insertInto('settings').values({ key: 'a', value: '1' }).execute();
    await store.putSettingIfAbsent('b', '2');
    await store.purgeExpired(Date.now(), { batchSize: 10, signInFailureWindowMs: 1000 });
    expect(grouped).toBeGreaterThanOrEqual(3);
    expect(await store.getSetting('a')).toBe('1');
  });

  it('refuses a Kysely transaction: it would hold the connection across turns', async () => {
    await expect(store.db.transaction().execute(async () => undefined)).rejects.toThrow(StoreGuardError);
  });
});

describe('the guard on the SQLite connection', () => {
  let dir: string;
  let raw: SQLite.Database;
  let connection: SqliteConnection;
  let group: GroupCommit;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-guard-'));
    const file = join(dir, 'g.db');
    raw = new SQLite(file);
    connection = sqliteConnection(raw, file);
    raw.exec('create table t (k text primary key, v integer not null)');
    group = new GroupCommit(connection);
  });
  afterEach(async () => {
    await connection.close();
    raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = { sql: 'insert into t values (?, ?)', parameters: ['a', 1] };
  const select = { sql: 'select * from t', parameters: [] };

  it('refuses a write outside a group, even inside a read', () => {
    expect(() => connection.read(() => connection.run(insert, 'read'))).toThrow(/outside a commit group/);
    expect(() => connection.run(select, 'read')).toThrow(StoreGuardError);
    expect(raw.prepare('select count(*) as n from t').get()).toEqual({ n: 0 });
  });

  it('refuses a statement from a group item that has ended', async () => {
    let kept: WriteScope | undefined;
    await group.run((scope) => {
      kept = scope;
      return connection.run(insert, scope).changes;
    });
    expect(() => connection.run({ ...insert, parameters: ['b', 2] }, kept as WriteScope)).toThrow(
      /from outside the open commit group/,
    );
    // And one from an ended item while another group's item is open.
    await expect(
      group.run(() => connection.run({ ...insert, parameters: ['c', 3] }, kept as WriteScope)),
    ).rejects.toThrow(StoreGuardError);
    expect(raw.prepare('select k from t order by k').all()).toEqual([{ k: 'a' }]);
  });

  it('refuses a read while a write transaction is open', async () => {
    await expect(group.run(() => connection.read(() => connection.run(select, 'read')))).rejects.toThrow(
      /while a write transaction was open/,
    );
    // The group goes on: the next write commits.
    await group.run((scope) => connection.run(insert, scope).changes);
    expect(connection.read(() => connection.run(select, 'read').rows)).toEqual([{ k: 'a', v: 1 }]);
  });

  it('refuses a direct statement outside a migration', () => {
    expect(() => connection.run(insert, 'direct')).toThrow(/outside a migration/);
  });
});
