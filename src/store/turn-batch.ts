/**
 * Statements asked in one event-loop turn, sent as one (PostgreSQL).
 *
 * On PostgreSQL every statement is a round trip, and sending one — a socket write that
 * wakes a backend — costs the server more CPU than a token lookup itself (measured with
 * `bench/profile.mjs --db postgres --flows bearer`: the write was about half the
 * instance's CPU), and every write commits and flushes the WAL on its own. Under load
 * many requests arrive in the same turn: their lookups go out together as one
 * `… where hash = any($1)`, their use-once claims as one statement over `unnest` of
 * their parameters, and each is answered from its own row.
 *
 * Nothing is cached and nothing is answered early: a batch is sent at the end of the turn
 * in which every one of its requests was asked, so each sees every write committed before
 * it was asked, as a statement of its own would, and each is answered after the batch's
 * statement — and so its commit — is done. A request asked while a batch is in flight goes
 * out with the next one.
 */
import { StoreUnavailableError } from './errors.js';

interface Waiting<Row> {
  resolve: (row: Row | undefined) => void;
  reject: (error: unknown) => void;
}

export class TurnBatch<Item, Row> {
  private waiting = new Map<string, { item: Item; waiting: Array<Waiting<Row>> }>();
  private scheduled = false;

  constructor(
    /** One statement for these items (distinct keys); the rows of those it has one for. */
    private readonly run: (items: Item[]) => Promise<readonly Row[]>,
    /** Items with the same key are sent once and share its row. */
    private readonly keyOfItem: (item: Item) => string,
    private readonly keyOfRow: (row: Row) => string,
    /** Items per statement: a bigger batch is split (each part its own statement, in parallel). */
    private readonly maxItems = 100,
  ) {}

  /** The row for `item`, or undefined when the statement returned none for it. */
  get(item: Item): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      const key = this.keyOfItem(item);
      const same = this.waiting.get(key);
      if (same) same.waiting.push({ resolve, reject });
      else this.waiting.set(key, { item, waiting: [{ resolve, reject }] });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the poll phase: every request read in this turn has asked by then.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const entries = [...this.waiting.values()];
    this.waiting = new Map();
    for (let i = 0; i < entries.length; i += this.maxItems) {
      void this.answer(entries.slice(i, i + this.maxItems));
    }
  }

  private async answer(entries: Array<{ item: Item; waiting: Array<Waiting<Row>> }>): Promise<void> {
    let rows: readonly Row[];
    try {
      rows = await this.run(entries.map((e) => e.item));
    } catch (err) {
      // The statement is atomic: nothing of it was committed. Unless the database is out of
      // reach, one item may be the cause (a deadlock with another instance's batch, a grant
      // deleted meanwhile): each is sent again alone, so it fails only its own request.
      if (entries.length > 1 && !(err instanceof StoreUnavailableError)) {
        for (const entry of entries) void this.answer([entry]);
        return;
      }
      for (const entry of entries) for (const w of entry.waiting) w.reject(err);
      return;
    }
    const found = new Map(rows.map((row) => [this.keyOfRow(row), row]));
    for (const entry of entries) {
      const row = found.get(this.keyOfItem(entry.item));
      for (const w of entry.waiting) w.resolve(row);
    }
  }
}
