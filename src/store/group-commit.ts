/**
 * Group commit for SQLite. With `synchronous=FULL` every COMMIT waits for an fsync, and
 * better-sqlite3 waits synchronously — one fsync per token request would cap the server
 * at the disk's fsync rate and stall the event loop each time. Instead, a write waits
 * for the end of the current event-loop turn and then runs, with every other write queued
 * meanwhile, inside ONE transaction, each in its own savepoint (a write that fails rolls
 * back alone). One COMMIT — one fsync — makes the whole group durable, and only then is
 * any of them answered. Durability is unchanged; only the fsync is shared.
 *
 * Writes in a group run one after another on one connection, so conditional updates
 * (`… where consumed_at is null`) keep their single-winner meaning.
 */
import { sql, type Kysely, type Transaction } from 'kysely';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Queued<DB> {
  work: (tx: Transaction<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<DB> {
  private queue: Queued<DB>[] = [];
  private flushing = false;

  constructor(
    private readonly db: Kysely<DB>,
    /** Bounds the time one write may wait behind others. */
    private readonly maxGroup = 64,
  ) {}

  run<T>(work: (tx: Transaction<DB>) => Promise<T>): Promise<T> {
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
      const outcomes: Outcome[] = [];
      try {
        await this.db.transaction().execute(async (tx) => {
          for (const item of group) outcomes.push(await inSavepoint(tx, item.work));
        });
      } catch (error) {
        // The COMMIT failed: nothing of this group is durable, so none of it succeeded.
        for (const item of group) item.reject(error);
        continue;
      }
      group.forEach((item, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    }
    this.flushing = false;
  }
}

async function inSavepoint<DB>(tx: Transaction<DB>, work: Queued<DB>['work']): Promise<Outcome> {
  await sql`savepoint tessera_write`.execute(tx);
  try {
    const value = await work(tx);
    await sql`release savepoint tessera_write`.execute(tx);
    return { ok: true, value };
  } catch (error) {
    await sql`rollback to savepoint tessera_write`.execute(tx);
    await sql`release savepoint tessera_write`.execute(tx);
    return { ok: false, error };
  }
}
