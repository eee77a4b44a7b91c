/**
 * Group commit for SQLite. A durable commit waits for the disk, and one per token request
 * would cap the server at the disk's sync rate. Instead, a write waits for the end of the
 * current event-loop turn and then runs, with every other write queued meanwhile, inside
 * ONE transaction, each in its own savepoint (a write that fails rolls back alone). One
 * COMMIT and one sync make the whole group durable, and only then is any of them
 * answered. The sync runs off the event loop (sqlite-connection.ts): while one group's
 * sync is in flight, the next group is already being served and committed.
 *
 * Writes in a group run one after another on one connection, so conditional updates
 * (`… where consumed_at is null`) keep their single-winner meaning.
 */
import type { SqliteConnection } from './sqlite-connection.js';
import { translateStoreError } from './errors.js';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Queued {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private queue: Queued[] = [];
  private flushing = false;
  private readonly savepoint: Record<'open' | 'release' | 'undo', { run(): unknown }>;

  constructor(
    private readonly connection: SqliteConnection,
    /** Bounds the time one write may wait behind others. */
    private readonly maxGroup = 64,
  ) {
    this.savepoint = {
      open: connection.statement('savepoint tessera_write'),
      release: connection.statement('release savepoint tessera_write'),
      undo: connection.statement('rollback to savepoint tessera_write'),
    };
  }

  /** Runs `work` in the next group; resolves with its value once the group is durable. */
  run<T>(work: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxGroup);
      let outcomes: Outcome[];
      try {
        outcomes = await this.commit(group);
      } catch (error) {
        // BEGIN or COMMIT failed: nothing of this group is durable, so none of it succeeded.
        const failure = translateStoreError(error);
        for (const item of group) item.reject(failure);
        continue;
      }
      this.connection.durable().then(
        () => outcomes.forEach((outcome, i) => settle(group[i] as Queued, outcome)),
        (error: unknown) => group.forEach((item) => item.reject(error)),
      );
      // Writes queue meanwhile; the event loop goes on serving everything else.
      const checkpoint = this.connection.checkpointIfDue();
      if (checkpoint) await checkpoint;
    }
    this.flushing = false;
  }

  private async commit(group: Queued[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    this.connection.beginWrite();
    try {
      for (const item of group) outcomes.push(await this.inSavepoint(item.work));
      this.connection.commit();
    } catch (error) {
      this.connection.rollback();
      throw error;
    }
    return outcomes;
  }

  private async inSavepoint(work: Queued['work']): Promise<Outcome> {
    this.savepoint.open.run();
    try {
      const value = await work();
      this.savepoint.release.run();
      return { ok: true, value };
    } catch (error) {
      this.savepoint.undo.run();
      this.savepoint.release.run();
      return { ok: false, error: translateStoreError(error) };
    }
  }
}

function settle(item: Queued, outcome: Outcome): void {
  if (outcome.ok) item.resolve(outcome.value);
  else item.reject(outcome.error);
}
