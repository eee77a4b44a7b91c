/** SQLite's group commit: writes share a transaction and a sync, but fail alone. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupCommit } from '../../src/store/group-commit.js';
import { openStore } from '../../src/store/open.js';
import { sqliteConnection, type SqliteConnection, type WriteScope } from '../../src/store/sqlite-connection.js';
import { WalCheckpointer } from '../../src/store/wal-checkpointer.js';

describe('GroupCommit', () => {
  let dir: string;
  let raw: SQLite.Database;
  let connection: SqliteConnection;
  let commits: () => number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-group-'));
    const file = join(dir, 'g.db');
    raw = new SQLite(file);
    connection = sqliteConnection(raw, file);
    raw.exec('create table t (k text primary key, v integer not null)');
    const spy = vi.spyOn(connection, 'commit');
    commits = () => spy.mock.calls.length;
  });
  afterEach(async () => {
    await connection.close();
    raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Grouped writes are synchronous: each runs its statements with the scope the group gives it.
  const run = (scope: WriteScope, sql: string, ...parameters: unknown[]) =>
    connection.run({ sql, parameters }, scope).changes;
  const insert = (k: string, v: number) => (scope: WriteScope) => run(scope, 'insert into t values (?, ?)', k, v);

  it('commits writes queued in one turn together, and each answers only after the commit', async () => {
    const group = new GroupCommit(connection);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => group.run((scope) => (insert(`k${i}`, i)(scope), i))),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(commits()).toBe(1);
    expect(raw.prepare('select count(*) as n from t').get()).toEqual({ n: 20 });
  });

  it('answers a group only once its sync has finished', async () => {
    let finishSync!: () => void;
    const durable = vi
      .spyOn(connection, 'durable')
      .mockReturnValue(new Promise<void>((resolve) => (finishSync = resolve)));
    const group = new GroupCommit(connection);
    let answered = false;
    const write = group.run(insert('a', 1)).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Committed (another connection sees it) but not yet durable: not answered.
    expect(new SQLite(join(dir, 'g.db')).prepare('select v from t where k = ?').get('a')).toEqual({ v: 1 });
    expect(durable).toHaveBeenCalledTimes(1);
    expect(answered).toBe(false);
    finishSync();
    await write;
    expect(answered).toBe(true);
  });

  it('fails every write of a group whose sync fails', async () => {
    vi.spyOn(connection, 'durable').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const group = new GroupCommit(connection);
    const outcomes = await Promise.allSettled([group.run(insert('a', 1)), group.run(insert('b', 2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('rolls back a failing write alone; the others in its group stay', async () => {
    const group = new GroupCommit(connection);
    const outcomes = await Promise.allSettled([
      group.run(insert('a', 1)),
      group.run((scope) => {
        insert('b', 2)(scope);
        insert('a', 3)(scope); // duplicate key: fails
      }),
      group.run(insert('c', 4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(raw.prepare('select k, v from t order by k').all()).toEqual([
      { k: 'a', v: 1 },
      { k: 'c', v: 4 },
    ]);
  });

  it('keeps conditional updates single-winner inside a group', async () => {
    const group = new GroupCommit(connection);
    await group.run(insert('code', 0));
    const wins = await Promise.all(
      Array.from({ length: 10 }, () =>
        group.run((scope) => run(scope, "update t set v = 1 where k = 'code' and v = 0")),
      ),
    );
    expect(wins.filter((n) => n === 1)).toHaveLength(1);
  });

  it('splits large queues into bounded groups', async () => {
    const group = new GroupCommit(connection, 8);
    await Promise.all(Array.from({ length: 20 }, (_, i) => group.run(insert(`k${i}`, i))));
    expect(commits()).toBe(3);
  });
});

describe('SqliteConnection', () => {
  let dir: string;
  let file: string;
  let connection: SqliteConnection;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-connection-'));
    file = join(dir, 'c.db');
    connection = sqliteConnection(new SQLite(file), file);
    connection.raw.exec('create table t (k text primary key, v integer not null)');
  });
  afterEach(async () => {
    await connection.close();
    connection.raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const value = (k: string) => connection.read(() => connection.statement('select v from t where k = ?').get(k));

  it('runs in WAL mode and leaves the commit sync to durable() (synchronous=NORMAL)', () => {
    expect(connection.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(connection.raw.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('keeps SQLite’s own durable sync (FULL) where WAL cannot be used', async () => {
    const memory = sqliteConnection(new SQLite(':memory:'), ':memory:');
    expect(memory.raw.pragma('synchronous', { simple: true })).toBe(2);
    await memory.close();
    memory.raw.close();
  });

  it('reads of one turn share a read transaction, ended when the turn ends', async () => {
    const other = new SQLite(file);
    other.prepare('insert into t values (?, ?)').run('a', 1);
    expect(value('a')).toEqual({ v: 1 });
    expect(connection.raw.inTransaction).toBe(true);
    await turn();
    expect(connection.raw.inTransaction).toBe(false);
    // The next turn sees what another process wrote meanwhile.
    other.prepare('update t set v = 2 where k = ?').run('a');
    expect(value('a')).toEqual({ v: 2 });
    other.close();
  });

  it('ends the read transaction before a write, so a write never runs inside it', async () => {
    expect(value('a')).toBeUndefined();
    connection.beginWrite();
    connection.statement('insert into t values (?, ?)').run('a', 1);
    connection.commit();
    await connection.durable();
    const other = new SQLite(file, { readonly: true });
    expect(other.prepare('select v from t where k = ?').get('a')).toEqual({ v: 1 });
    other.close();
  });

  it('shares one sync among the callers that arrive while it waits to start', async () => {
    const first = connection.durable();
    const second = connection.durable();
    expect(second).toBe(first);
    await first;
    const third = connection.durable();
    expect(third).not.toBe(first);
    await third;
  });

  /**
   * Writes 4 000-byte rows for `ms` from `writers` loops of ten rows at a time, each
   * pausing `pauseMs` between its batches; returns the bytes written.
   */
  /** Writes for `ms`, and on a slow or busy machine on until `minBytes` are written (at most 20 s). */
  async function writeFor(
    on: SqliteConnection,
    ms: number,
    { writers = 1, pauseMs = 5, minBytes = 0 } = {},
  ): Promise<number> {
    on.raw.exec('create table blobs (k integer primary key, v blob not null)');
    const group = new GroupCommit(on);
    const insert = on.statement('insert into blobs (v) values (?)');
    const payload = Buffer.alloc(4000, 7);
    let written = 0;
    const start = performance.now();
    const going = () => {
      const elapsed = performance.now() - start;
      return elapsed < ms || (written < minBytes && elapsed < 20_000);
    };
    const writer = async () => {
      while (going()) {
        await Promise.all(Array.from({ length: 10 }, () => group.run(() => insert.run(payload))));
        written += 10 * payload.length;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    expect(on.raw.prepare('select count(*) as n from blobs').get()).toMatchObject({ n: written / payload.length });
    return written;
  }

  it('checkpoints in a worker while the writes go on, copying the pages back into the database', async () => {
    const before = statSync(file).size;
    const written = await writeFor(connection, 700);
    // SQLite's own in-COMMIT checkpoints are off: the worker took over.
    expect(connection.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(before + written / 4);
  });

  it('lets the WAL start over once it holds more than its bound, instead of growing', async () => {
    await connection.close();
    connection.raw.close();
    connection = sqliteConnection(new SQLite(file), file, { walRestartBytes: 2 ** 20 });
    // Writers that never pause: a checkpoint beside them never finds the WAL fully copied.
    const written = await writeFor(connection, 1000, { writers: 4, pauseMs: 0, minBytes: 4 * 2 ** 20 + 1 });
    // Without the pause for a full checkpoint the WAL would hold every page written.
    expect(written).toBeGreaterThan(4 * 2 ** 20);
    expect(statSync(`${file}-wal`).size).toBeLessThan(written / 2);
  });

  it('has one checkpoint running at a time, shared by callers, and reports what it copied', async () => {
    connection.raw.prepare('insert into t values (?, ?)').run('a', 1);
    const checkpointer = new WalCheckpointer(file);
    try {
      expect(checkpointer.running).toBe(false);
      const first = checkpointer.checkpoint();
      expect(checkpointer.running).toBe(true);
      expect(checkpointer.checkpoint()).toBe(first);
      const answer = await first;
      expect(checkpointer.running).toBe(false);
      expect(answer).toMatchObject({ ok: true, busy: false });
      expect(answer.frames).toBeGreaterThan(0);
      expect(answer.copied).toBe(answer.frames);
    } finally {
      await checkpointer.close();
    }
  });

  it('copies back a WAL that another process filled while this connection only read', async () => {
    const other = new SQLite(file);
    other.pragma('wal_autocheckpoint = 0');
    other.exec('create table filler (v blob not null)');
    const fill = other.prepare('insert into filler values (?)');
    other.transaction(() => {
      for (let i = 0; i < 1500; i++) fill.run(Buffer.alloc(4000, i % 251));
    })();
    other.close();
    const before = statSync(file).size;
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(5_000_000);
    // The watch looks once a second; the pages reach the database file within a few.
    const deadline = Date.now() + 5000;
    while (statSync(file).size < before + 5_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(statSync(file).size).toBeGreaterThan(before + 5_000_000);
  });

  /** Fills the WAL with about 6 MB from another connection, as another process would. */
  const fillWal = (table: string) => {
    const other = new SQLite(file);
    other.pragma('wal_autocheckpoint = 0');
    other.exec(`create table ${table} (v blob not null)`);
    const fill = other.prepare(`insert into ${table} values (?)`);
    other.transaction(() => {
      for (let i = 0; i < 1500; i++) fill.run(Buffer.alloc(4000, i % 251));
    })();
    other.close();
  };

  it('leaves alone a large WAL that a checkpoint has copied, until it is written again', async () => {
    const checkpoints = vi.spyOn(WalCheckpointer.prototype, 'checkpoint');
    const fillFromAnotherProcess = fillWal;
    const copiedBack = async (size: number) => {
      const deadline = Date.now() + 5000;
      while (statSync(file).size < size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(statSync(file).size).toBeGreaterThanOrEqual(size);
    };
    fillFromAnotherProcess('filler');
    const walSize = statSync(`${file}-wal`).size;
    expect(walSize).toBeGreaterThan(5_000_000);
    await copiedBack(statSync(file).size + 5_000_000);
    // Idle: the WAL file is as large as before, but everything in it is copied.
    await new Promise((r) => setTimeout(r, 300));
    const afterCopy = checkpoints.mock.calls.length;
    expect(afterCopy).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2500));
    expect(checkpoints.mock.calls.length).toBe(afterCopy);
    // Written again, from the start of the file (its size stays the same): copied again.
    fillFromAnotherProcess('filler2');
    expect(statSync(`${file}-wal`).size).toBe(walSize);
    await copiedBack(statSync(file).size + 5_000_000);
    expect(checkpoints.mock.calls.length).toBeGreaterThan(afterCopy);
  });

  it('has a WAL watch that runs on the timer and clock it is given', async () => {
    await connection.close();
    connection.raw.close();
    let tick: () => void = () => undefined;
    let clock = 0;
    connection = sqliteConnection(new SQLite(file), file, {
      walWatch: {
        every: 1000,
        schedule: (run) => {
          tick = run;
          return () => undefined;
        },
        now: () => clock,
      },
    });
    const checkpoints = vi.spyOn(WalCheckpointer.prototype, 'checkpoint');
    // Counted from here (an earlier test may have spied on it already).
    checkpoints.mockClear();
    const fill = fillWal;
    const looked = async () => {
      tick();
      await Promise.all(checkpoints.mock.results.map((r) => r.value));
      await new Promise((resolve) => setImmediate(resolve));
    };
    fill('filler');
    await looked();
    // Not yet a whole interval since the connection opened.
    expect(checkpoints).toHaveBeenCalledTimes(0);
    clock = 1000;
    await looked();
    expect(checkpoints).toHaveBeenCalledTimes(1);
    // Copied, and not written since: left alone.
    clock = 2000;
    await looked();
    expect(checkpoints).toHaveBeenCalledTimes(1);
    fill('filler2');
    clock = 3000;
    await looked();
    expect(checkpoints).toHaveBeenCalledTimes(2);
  });

  it('is opened by the store with foreign keys on, a busy timeout and a 32 MiB page cache', async () => {
    const store = await openStore(`sqlite:${join(dir, 'store.db')}`);
    const raw = (store as unknown as { sqlite: SqliteConnection }).sqlite.raw;
    expect(raw.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(raw.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(raw.pragma('cache_size', { simple: true })).toBe(-32 * 1024);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    await store.close();
  });
});
