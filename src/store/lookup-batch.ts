/**
 * Lookups by key asked in one event-loop turn, answered by one query (PostgreSQL).
 *
 * On PostgreSQL every query is a round trip, and sending one — a socket write that wakes a
 * backend — costs the server more CPU than the lookup it carries (measured with
 * `bench/profile.mjs --db postgres --flows bearer`: the write was about half the
 * instance's CPU). Under load many API calls arrive in the same turn; their token lookups
 * then go out together as one `… where hash = any($1)`, and each is answered from its row.
 *
 * Nothing is cached: the query is sent at the end of the turn in which every lookup in it
 * was asked, so each sees every write committed before it was asked, as a query of its
 * own would. A lookup asked while a batch is in flight goes out with the next one.
 */
interface Waiting<Row> {
  resolve: (row: Row | undefined) => void;
  reject: (error: unknown) => void;
}

export class LookupBatch<Row> {
  private waiting = new Map<string, Array<Waiting<Row>>>();
  private scheduled = false;

  constructor(
    /** Runs one query for these distinct keys; the rows of those that exist. */
    private readonly query: (keys: string[]) => Promise<readonly Row[]>,
    private readonly keyOf: (row: Row) => string,
    /** Keys per query: a bigger batch is split (each part its own query, in parallel). */
    private readonly maxKeys = 100,
  ) {}

  /** The row for `key`, or undefined when there is none. */
  get(key: string): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      const same = this.waiting.get(key);
      if (same) same.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        // After the poll phase: every request read in this turn has asked by then.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = new Map();
    const keys = [...waiting.keys()];
    for (let i = 0; i < keys.length; i += this.maxKeys) {
      void this.answer(keys.slice(i, i + this.maxKeys), waiting);
    }
  }

  private async answer(keys: string[], waiting: Map<string, Array<Waiting<Row>>>): Promise<void> {
    let found: Map<string, Row>;
    try {
      const rows = await this.query(keys);
      found = new Map(rows.map((row) => [this.keyOf(row), row]));
    } catch (err) {
      for (const key of keys) for (const w of waiting.get(key)!) w.reject(err);
      return;
    }
    for (const key of keys) for (const w of waiting.get(key)!) w.resolve(found.get(key));
  }
}
