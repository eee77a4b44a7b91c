/**
 * The one SQLite connection a store holds (better-sqlite3, which is synchronous), and the
 * three things that make it fast without giving anything up:
 *
 * - **Reads share a read transaction per event-loop turn.** A statement outside a
 *   transaction takes and drops SQLite's file locks (two `fcntl` and an `fstat`): that
 *   was most of a point lookup's cost. `read()` opens one read transaction for the reads
 *   of the current turn and ends it when the turn ends (`setImmediate`), before any write
 *   and before any write or migration. A read sees at worst the database as it was earlier in
 *   the same turn (well under a millisecond), never a snapshot older than our own writes.
 * - **Writes are committed in groups** (group-commit.ts) that begin and commit here.
 *   Every statement goes through `run` with the scope it belongs to, and a guard refuses
 *   what does not fit: a write outside a commit group's item, a statement from an item
 *   that is no longer (or not yet) the open one, a read while a write transaction is
 *   open. Only migrations, before serving, run statements directly (`direct`).
 * - **The commit's fsync runs off the event loop.** In WAL mode with `synchronous=FULL`,
 *   SQLite fsyncs the WAL inside COMMIT, and better-sqlite3 waits for the disk with the
 *   event loop stopped. Here the connection runs with `synchronous=NORMAL` (COMMIT appends
 *   to the WAL without syncing; checkpoints still sync as always) and `durable()` syncs
 *   the WAL file on libuv's thread pool. A write is answered only after a sync that began
 *   after its COMMIT — the guarantee of FULL — while the event loop serves other requests.
 *   `close()` syncs too, so a command's writes are durable before it reports them.
 *   For the millisecond between COMMIT and sync, other requests can already read what was
 *   committed. New rows (codes, tokens, sessions) are unknown to clients until their own
 *   answer; a replayed code or a reused refresh token writes (it revokes) and so waits for
 *   a sync that covers the earlier commit too. A read-only answer can reflect a revocation
 *   still being synced — a refusal, which errs on the safe side if the power fails then.
 */
import { close as closeFd, fdatasync, fstatSync, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type SQLite from 'better-sqlite3';
import { translateStoreError } from './errors.js';
import type { Statement, StatementResult } from './executor.js';
import { WalCheckpointer, type CheckpointAnswer } from './wal-checkpointer.js';

/** A read transaction older than this is ended before the next read reuses it. */
const READ_SNAPSHOT_MAX_AGE_MS = 2;
/** How often a checkpoint runs while commit groups go on (wal-checkpointer.ts). */
const CHECKPOINT_EVERY_MS = 100;
/**
 * How much the WAL may hold before a commit group waits for a checkpoint. A checkpoint
 * that runs beside the writes copies what was there when it began; the WAL can start
 * over only once one has copied everything, which needs a pause in the writes. Pausing
 * every 100 ms (a few ms each) was what made the slowest answers slow; pausing once the
 * WAL holds this much keeps it bounded with a pause every second or so under full load.
 */
const WAL_RESTART_BYTES = 16 * 2 ** 20;
/**
 * How often a connection that may not be writing at all looks at the WAL, and how large
 * it may then be before a checkpoint runs anyway: another process (a `tessera import`,
 * a CLI command) may have filled it, and readers search a WAL that was not copied back.
 */
const WAL_WATCH_EVERY_MS = 1000;
const WAL_WATCH_BYTES = 4 * 2 ** 20;

/** A statement reached the connection where it must not: a bug in the store, never a user's doing. */
export class StoreGuardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreGuardError';
  }
}

/** The item of a commit group that is running: only its statements may write. */
export class WriteScope {
  /** False once the item has ended: a statement kept from it is refused. */
  open = true;
}

/** The WAL watch's interval, timer and clock: tests drive it without waiting. */
export interface WalWatchOptions {
  /** Milliseconds between looks (default WAL_WATCH_EVERY_MS). */
  every?: number;
  /** Calls `tick` every `every` ms until the returned function is called (default: an unref'd setInterval). */
  schedule?: (tick: () => void, every: number) => () => void;
  /** The clock checkpoints are timed by (default performance.now). */
  now?: () => number;
}

/** What one background checkpoint did (for `serve --log-level debug`), and how long it took (ms). */
export type CheckpointReport = CheckpointAnswer & { ms: number };

/** Whom a statement comes from: a read, the open group item, or a migration. */
export type Scope = 'read' | 'direct' | WriteScope;

interface Prepared {
  statement: SQLite.Statement;
  readonly: boolean;
  reader: boolean;
}

interface WalStamp {
  size: number;
  mtimeMs: number;
}

export class SqliteConnection {
  /** Prepared statements by SQL text, with what the guard asks of them (read once: they are getters into C++). */
  private readonly statements = new Map<string, Prepared>();
  private readonly control: Record<'begin' | 'beginWrite' | 'commit' | 'rollback', SQLite.Statement>;
  /** Whether the open transaction is one of ours for reads only. */
  private reading = false;
  private readStartedAt = 0;
  private endReadScheduled = false;
  /** The WAL file when the connection defers its fsync to `durable()`; null for :memory: or no WAL. */
  private readonly walPath: string | null;
  private walFd: number | undefined;
  /** The sync that has not started yet: later callers share it (it covers their commits too). */
  private nextSync: Promise<void> | undefined;
  private lastSync: Promise<void> = Promise.resolve();
  private readonly checkpointer: WalCheckpointer | undefined;
  /** The first checkpoint is due a while after opening: short-lived commands never need one. */
  private lastCheckpointAt: number;
  private checkpointsStarted = false;
  /** Bytes the WAL held at the last checkpoint (frames and their headers). */
  private walBytes = 0;
  private readonly frameBytes: number;
  private readonly walRestartBytes: number;
  private readonly walWatchEvery: number;
  private readonly clock: () => number;
  private stopWalWatch: (() => void) | undefined;
  private readonly onCheckpoint: ((report: CheckpointReport) => void) | undefined;
  /** The WAL file as the watch saw it before a checkpoint that then copied all of it. */
  private copiedWal: WalStamp | undefined;
  /** Whether a commit group's write transaction is open. */
  private writing = false;
  /** The group item running now, if any. */
  private item: WriteScope | undefined;
  /** How many `read` calls are running (they nest). */
  private reads = 0;
  /** Migrations running (`direct`). */
  private directs = 0;

  constructor(
    readonly raw: SQLite.Database,
    /**
     * `walDatabase`: the database file in WAL mode, whose sync this connection takes over;
     * null otherwise. `walRestartBytes`: see WAL_RESTART_BYTES.
     */
    options: {
      walDatabase: string | null;
      walRestartBytes?: number;
      /** The WAL watch's timer (tests pass their own). */
      walWatch?: WalWatchOptions;
      /** Told after every background checkpoint (a logger at debug). */
      onCheckpoint?: (report: CheckpointReport) => void;
    },
    /** Bounds the statement cache: the shapes that vary (an import's batches) are few. */
    private readonly statementLimit = 500,
  ) {
    const database = options.walDatabase;
    this.walRestartBytes = options.walRestartBytes ?? WAL_RESTART_BYTES;
    this.onCheckpoint = options.onCheckpoint;
    // A WAL frame is a page and a 24-byte header.
    this.frameBytes = Number(raw.pragma('page_size', { simple: true })) + 24;
    this.walPath = database === null ? null : `${database}-wal`;
    this.checkpointer = database === null ? undefined : new WalCheckpointer(database);
    this.walWatchEvery = options.walWatch?.every ?? WAL_WATCH_EVERY_MS;
    this.clock = options.walWatch?.now ?? (() => performance.now());
    this.lastCheckpointAt = this.clock();
    if (this.checkpointer) {
      const schedule = options.walWatch?.schedule ?? everyUnref;
      this.stopWalWatch = schedule(() => this.checkpointLargeWal(), this.walWatchEvery);
    }
    this.control = {
      begin: raw.prepare('begin'),
      beginWrite: raw.prepare('begin immediate'),
      commit: raw.prepare('commit'),
      rollback: raw.prepare('rollback'),
    };
  }

  /**
   * A statement prepared once per SQL text, as better-sqlite3 has it: past the guard, so
   * the store's code runs its statements with `run`.
   */
  statement(sql: string): SQLite.Statement {
    return this.prepared(sql).statement;
  }

  private prepared(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      if (this.statements.size >= this.statementLimit) this.statements.clear();
      const statement = this.raw.prepare(sql);
      prepared = { statement, readonly: statement.readonly, reader: statement.reader };
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * Runs one statement for `scope`, after the guard: a read only inside `read` and while
   * no write transaction is open, a write only from the group item now running, a
   * migration's statement only while `direct` runs and no group does.
   */
  run(statement: Pick<Statement, 'sql' | 'parameters'> & { one?: boolean }, scope: Scope): StatementResult {
    const prepared = this.prepared(statement.sql);
    if (scope === 'read') {
      if (this.writing)
        throw new StoreGuardError('a read reached the SQLite connection while a write transaction was open');
      if (this.reads === 0) throw new StoreGuardError('a read reached the SQLite connection outside read()');
      if (!prepared.readonly) {
        throw new StoreGuardError(`a write reached the SQLite connection outside a commit group: ${statement.sql}`);
      }
    } else if (scope === 'direct') {
      if (this.directs === 0 || this.writing) {
        throw new StoreGuardError('a direct statement reached the SQLite connection outside a migration');
      }
      // A migration's transaction never runs inside this turn's read transaction.
      this.endRead();
    } else if (scope !== this.item || !scope.open) {
      throw new StoreGuardError('a statement reached the SQLite connection from outside the open commit group');
    }
    if (prepared.reader) {
      if (!statement.one) return { rows: prepared.statement.all(...statement.parameters), changes: 0 };
      const row: unknown = prepared.statement.get(...statement.parameters);
      return { rows: row === undefined ? [] : [row], changes: 0 };
    }
    return { rows: [], changes: prepared.statement.run(...statement.parameters).changes };
  }

  /** Whether `sql` only reads. */
  readsOnly(sql: string): boolean {
    return this.prepared(sql).readonly;
  }

  /** Whether a migration runs now (`direct`). */
  get migrating(): boolean {
    return this.directs > 0;
  }

  /** Runs migrations: their statements go straight to the connection (scope 'direct'). */
  async direct<T>(work: () => Promise<T>): Promise<T> {
    this.endRead();
    this.directs += 1;
    try {
      return await work();
    } finally {
      this.directs -= 1;
    }
  }

  /** Runs a read, in this turn's read transaction. */
  read<T>(run: () => T): T {
    if (this.writing)
      throw new StoreGuardError('a read reached the SQLite connection while a write transaction was open');
    try {
      if (this.reads === 0 && this.reading && performance.now() - this.readStartedAt > READ_SNAPSHOT_MAX_AGE_MS) {
        this.endRead();
      }
      if (!this.raw.inTransaction) {
        this.control.begin.run();
        this.reading = true;
        this.readStartedAt = performance.now();
        if (!this.endReadScheduled) {
          this.endReadScheduled = true;
          setImmediate(() => {
            this.endReadScheduled = false;
            this.endRead();
          });
        }
      }
      this.reads += 1;
      try {
        return run();
      } finally {
        this.reads -= 1;
      }
    } catch (err) {
      throw translateStoreError(err);
    }
  }

  /**
   * `PRAGMA data_version`, in this turn's read transaction: it moves when another
   * connection commits (another process, a CLI command, a second store), never with this
   * connection's own commits (SQLite documentation, PRAGMA data_version).
   */
  dataVersion(): number {
    return this.read(() => {
      const [row] = this.run({ sql: 'pragma data_version', parameters: [], one: true }, 'read').rows;
      return Number((row as { data_version: number | bigint }).data_version);
    });
  }

  /** Ends this turn's read transaction, if one is open. */
  endRead(): void {
    if (!this.reading) return;
    this.reading = false;
    if (this.raw.inTransaction) this.control.commit.run();
  }

  /** Begins a write transaction (taking the write lock now, not at the first write). */
  beginWrite(): void {
    if (this.writing || this.reads > 0 || this.directs > 0) {
      throw new StoreGuardError('a write transaction cannot begin inside a read, a migration or another write');
    }
    this.endRead();
    this.control.beginWrite.run();
    this.writing = true;
  }

  /** Opens the scope of one group item; `endItem` closes it. */
  beginItem(): WriteScope {
    if (!this.writing || this.item) throw new StoreGuardError('a group item began outside its group');
    this.item = new WriteScope();
    return this.item;
  }

  endItem(scope: WriteScope): void {
    scope.open = false;
    if (this.item === scope) this.item = undefined;
  }

  /** Runs a savepoint statement of the group's own (group-commit.ts). */
  savepoint(
    sql: 'savepoint tessera_write' | 'release savepoint tessera_write' | 'rollback to savepoint tessera_write',
  ): void {
    if (!this.writing) throw new StoreGuardError('a savepoint outside a write transaction');
    this.statement(sql).run();
  }

  commit(): void {
    this.control.commit.run();
    this.writing = false;
  }

  /** Rolls back the open transaction, if SQLite has not already done so. */
  rollback(): void {
    this.writing = false;
    if (this.item) this.endItem(this.item);
    if (this.raw.inTransaction) this.control.rollback.run();
  }

  /**
   * Starts a checkpoint when one is due. Returns a promise for the commit group to wait
   * for only when the WAL has grown past its bound: then nothing is committed until a
   * checkpoint has copied the whole WAL, so that the next group starts it over. The first
   * checkpoint turns SQLite's own in-COMMIT checkpoints off; should the worker fail, they
   * are turned back on.
   */
  checkpointIfDue(): Promise<void> | undefined {
    const checkpointer = this.checkpointer;
    if (!checkpointer?.working) return undefined;
    const now = this.clock();
    if (now - this.lastCheckpointAt < CHECKPOINT_EVERY_MS) return undefined;
    if (!this.checkpointsStarted) {
      this.checkpointsStarted = true;
      this.raw.pragma('wal_autocheckpoint = 0');
    }
    this.lastCheckpointAt = now;
    if (this.walBytes < this.walRestartBytes) {
      void this.recordedCheckpoint(checkpointer);
      return undefined;
    }
    // Nothing is committed until this settles, so a checkpoint that begins now sees the
    // whole WAL; one already running began before the latest commits, and goes first.
    const whole = checkpointer.running
      ? checkpointer.checkpoint().then(() => this.recordedCheckpoint(checkpointer))
      : this.recordedCheckpoint(checkpointer);
    return whole.then((allCopied) => {
      // The next group's first write starts the WAL over.
      if (allCopied) this.walBytes = 0;
    });
  }

  /**
   * Runs a checkpoint and reads what every answer tells: how full the WAL is, and whether
   * the worker still works. Resolves with whether it copied all the WAL held when it began.
   */
  private async recordedCheckpoint(checkpointer: WalCheckpointer): Promise<boolean> {
    const started = performance.now();
    const answer: CheckpointAnswer = await checkpointer.checkpoint();
    try {
      this.onCheckpoint?.({ ...answer, ms: Math.round(performance.now() - started) });
    } catch {
      // A failing logger must not stop the checkpoints.
    }
    // The worker failed: SQLite's own checkpoints take over again.
    if (!checkpointer.working) this.raw.pragma('wal_autocheckpoint = 1000');
    if (answer.ok && answer.frames !== undefined) this.walBytes = answer.frames * this.frameBytes;
    return answer.ok && answer.copied === answer.frames;
  }

  /**
   * The WAL watch (see WAL_WATCH_BYTES): a checkpoint when the WAL has grown large meanwhile.
   * The file keeps its size after a checkpoint (SQLite writes it over from the start), so
   * its size alone would have an idle server checkpoint every second: a WAL not written
   * since a checkpoint copied all of it is left alone. (File times move in clock ticks: a
   * write in the tick of a checkpoint's start may go unseen here until the next write. It
   * stays readable in the WAL, and the next checkpoint, or close(), copies it.)
   */
  private checkpointLargeWal(): void {
    if (!this.checkpointer?.working || this.clock() - this.lastCheckpointAt < this.walWatchEvery) return;
    const now = this.walStamp();
    if (now === undefined || now.size < WAL_WATCH_BYTES) return;
    const copied = this.copiedWal;
    if (copied !== undefined && copied.size === now.size && copied.mtimeMs === now.mtimeMs) return;
    this.lastCheckpointAt = this.clock();
    void this.recordedCheckpoint(this.checkpointer).then((allCopied) => {
      if (allCopied) this.copiedWal = now;
    });
  }

  /** The WAL file, opened on first use: SQLite creates it with its first transaction. */
  private walFile(): number {
    // SQLite keeps the file (and its inode) while any connection, ours included, is open.
    this.walFd ??= openSync(this.walPath as string, 'r');
    return this.walFd;
  }

  /** The WAL file's size and last change; undefined while there is none. */
  private walStamp(): WalStamp | undefined {
    if (this.walPath === null) return undefined;
    try {
      const { size, mtimeMs } = fstatSync(this.walFile());
      return { size, mtimeMs };
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves once everything committed before the call is on disk. Calls made while a
   * sync waits to start share it; at most one sync runs at a time.
   */
  durable(): Promise<void> {
    if (this.walPath === null) return Promise.resolve();
    if (this.nextSync) return this.nextSync;
    const sync: Promise<void> = this.lastSync.then(() => {
      this.nextSync = undefined;
      return this.syncWal();
    });
    this.nextSync = sync;
    this.lastSync = sync.catch(() => undefined);
    return sync;
  }

  private syncWal(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        fd = this.walFile();
      } catch (err) {
        // No WAL file yet: nothing has been committed through one.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve();
        else reject(translateStoreError(err));
        return;
      }
      fdatasync(fd, (err) => (err ? reject(translateStoreError(err)) : resolve()));
    });
  }

  /** Makes what was committed durable, then closes the connection. */
  async close(): Promise<void> {
    this.endRead();
    this.stopWalWatch?.();
    try {
      await this.checkpointer?.close();
      // SQLite's own checkpoints were off: leave the WAL copied back, as they would have.
      if (this.checkpointsStarted && !this.raw.inTransaction) this.raw.pragma('wal_checkpoint(PASSIVE)');
      await this.durable();
    } finally {
      if (this.walFd !== undefined) closeFd(this.walFd, () => undefined);
      this.walFd = undefined;
    }
  }
}

function everyUnref(tick: () => void, every: number): () => void {
  const timer = setInterval(tick, every);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Opens the WAL journal: `synchronous=NORMAL` with our own sync when WAL is in force (the
 * answer of `journal_mode` says), SQLite's durable default FULL when it is not.
 */
export function sqliteConnection(
  raw: SQLite.Database,
  path: string,
  options: Pick<
    ConstructorParameters<typeof SqliteConnection>[1],
    'walRestartBytes' | 'walWatch' | 'onCheckpoint'
  > = {},
): SqliteConnection {
  if (path === ':memory:') return new SqliteConnection(raw, { walDatabase: null });
  const mode = String(raw.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
  if (mode !== 'wal') {
    raw.pragma('synchronous = FULL');
    return new SqliteConnection(raw, { walDatabase: null });
  }
  raw.pragma('synchronous = NORMAL');
  // A WAL that once grew large (a bulk import) is cut back when it starts over.
  raw.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
  return new SqliteConnection(raw, { ...options, walDatabase: resolvePath(path) });
}
