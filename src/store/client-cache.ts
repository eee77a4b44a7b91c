/**
 * Client records kept in memory per store, so that a token, introspection, revocation or
 * authorization request does not read the client's row every time.
 *
 * A client changes rarely, but from anywhere (`tessera client disable` in another process,
 * against another instance), and a disabled client must stop working everywhere within a
 * bound. The cache itself is the same on both engines; what tells it that a record may have
 * changed is the engine's own (`ClientChanges`):
 *
 * - **PostgreSQL** (`PostgresClientNotices`): a dedicated connection (not from the pool)
 *   LISTENs on `tessera_client_changed`, where a trigger (migration 0012) announces the id
 *   of every client row updated or deleted; the notice arrives when the change commits
 *   (PostgreSQL documentation, NOTIFY) and drops that record. While this connection is not
 *   listening — not yet, failed, dropped — nothing is served from memory: every read goes
 *   to the database, and the connection is made again with a growing delay; once it
 *   listens again the cache starts empty (notices sent while nobody listened are lost).
 * - **SQLite** (`sqliteClientChanges`): `PRAGMA data_version`, which moves whenever another
 *   connection — another process, a CLI command, a second store — commits anything (SQLite
 *   documentation, PRAGMA data_version). A record is served only while the version it was
 *   read under is still current; this connection's own client writes drop it themselves.
 *
 * On both, every record lives at most CLIENT_CACHE_TTL_MS from the moment its read began:
 * the bound if a notice is lost anyway (a connection that died without a word). Only found
 * clients are kept: a client just added is seen at once. A read that began before a record
 * was dropped (or the cache emptied) and ended after is not kept: it may hold the row as it
 * was before the change.
 */
import type pg from 'pg';

/** The longest a cached client record is served: the bound on a change whose notice is lost. */
export const CLIENT_CACHE_TTL_MS = 5000;

/** The channel migration 0012's trigger notifies, with the changed client's id as payload. */
export const CLIENT_CHANGED_CHANNEL = 'tessera_client_changed';

/** At most this many records are kept (the oldest goes first): memory stays bounded however many clients there are. */
const MAX_ENTRIES = 10_000;

/** The delay before the first attempt to listen again, doubled on each failure up to the last. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** What a test or an operator can see of a cache. */
export interface ClientCacheState {
  /**
   * Whether records are served from memory now. PostgreSQL: while the listening connection
   * is up. SQLite: always (its signal needs no connection).
   */
  readonly listening: boolean;
  /** Records held now (some may have expired, not yet dropped). */
  readonly size: number;
}

/** What a cache is told by its signal: one record changed, or any may have. */
export interface ClientChangeListener {
  evict(id: string): void;
  clear(): void;
}

/** What tells a cache that records it holds may have changed: the engine's own signal. */
export interface ClientChanges {
  /** Whether records may be served from memory now. */
  readonly trusted: boolean;
  /**
   * A stamp of the database as of now, taken before a read: a record is served only while
   * the stamp it was read under is still the current one.
   */
  stamp(): number;
  /** Called while not trusted, on a read: begins (or goes on) trying to become trusted. */
  start(listener: ClientChangeListener): void;
  /** Stops watching; leaves no connection or timer behind. Never throws. */
  close(): Promise<void>;
}

interface Entry<T> {
  value: T;
  /** performance.now() after which the entry is not served. */
  expiresAt: number;
  /** The signal's stamp when its read began. */
  stamp: number;
}

export class ClientCache<T> implements ClientCacheState {
  /**
   * The caches open in this process. A client write drops the record from all of them at
   * once, not only from its own store's: a second store in the same process (a command
   * run in-process beside a server, as the tests do) then sees the change without waiting
   * for the database's signal. Other processes learn of it from that signal.
   */
  static readonly #open = new Set<ClientCache<unknown>>();

  /** Drops the record of `id` in every cache of this process. */
  static evictInProcess(id: string): void {
    for (const cache of ClientCache.#open) cache.evict(id);
  }

  /** Drops every record of every cache of this process. */
  static clearInProcess(): void {
    for (const cache of ClientCache.#open) cache.clear();
  }

  readonly #changes: ClientChanges;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry<T>>();
  /** Moves on with every record dropped and every emptying: a read that saw it move is not kept. */
  #generation = 0;

  constructor(changes: ClientChanges, ttlMs = CLIENT_CACHE_TTL_MS) {
    this.#changes = changes;
    this.#ttlMs = ttlMs;
    ClientCache.#open.add(this as ClientCache<unknown>);
  }

  get listening(): boolean {
    return this.#changes.trusted;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The record for `id`: from memory when it may be, otherwise `load`ed (and kept when found). */
  async get(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.#changes.trusted) {
      this.#changes.start(this);
      return load();
    }
    const started = performance.now();
    const stamp = this.#changes.stamp();
    const entry = this.#entries.get(id);
    if (entry) {
      if (entry.expiresAt > started && entry.stamp === stamp) return entry.value;
      this.#entries.delete(id);
    }
    const generation = this.#generation;
    const value = await load();
    // Not when anything was dropped meanwhile, or the signal was lost (that empties the
    // cache, moving the generation too): the row read may be older than the change.
    if (value !== undefined && generation === this.#generation && this.#changes.trusted) {
      if (this.#entries.size >= MAX_ENTRIES) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      this.#entries.set(id, { value, expiresAt: started + this.#ttlMs, stamp });
    }
    return value;
  }

  /** Drops the record of `id`: it changed, or may have. */
  evict(id: string): void {
    this.#generation++;
    this.#entries.delete(id);
  }

  /** Drops every record. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** Stops watching and drops everything; leaves no connection or timer behind. Never throws. */
  async close(): Promise<void> {
    ClientCache.#open.delete(this as ClientCache<unknown>);
    this.clear();
    await this.#changes.close();
  }
}

/**
 * SQLite's signal: `dataVersion` reads `PRAGMA data_version` on the store's connection
 * (sqlite-connection.ts). It moves with any other connection's commit, so a record read
 * before one is read again; a WAL checkpoint does not move it.
 */
export function sqliteClientChanges(dataVersion: () => number): ClientChanges {
  return {
    trusted: true,
    stamp: dataVersion,
    start: () => undefined,
    close: async () => undefined,
  };
}

/** PostgreSQL's signal: the trigger's notices, heard on a connection of its own. */
export class PostgresClientNotices implements ClientChanges {
  readonly #connect: () => pg.Client;
  #listener: pg.Client | undefined;
  #listening = false;
  #started = false;
  #closed = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #cache: ClientChangeListener | undefined;

  /**
   * `connect` makes an unconnected pg.Client with the pool's connection settings; it is
   * called only once something is read (a command that never reads a client opens no
   * connection for it).
   */
  constructor(connect: () => pg.Client) {
    this.#connect = connect;
  }

  get trusted(): boolean {
    return this.#listening;
  }

  /** Notices drop records themselves: the stamp never moves. */
  stamp(): number {
    return 0;
  }

  start(cache: ClientChangeListener): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#cache = cache;
    this.#listen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const listener = this.#listener;
    this.#listener = undefined;
    // Also while connecting: the connection attempt then ends, and nothing tries again.
    await listener?.end().catch(() => undefined);
  }

  #listen(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const client = this.#connect();
    this.#listener = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (this.#listener === client) this.#listener = undefined;
      this.#listening = false;
      this.#cache?.clear();
      client.removeAllListeners('notification');
      // A dead connection is closed for good; its 'error' listener stays, so a late error
      // never goes unhandled.
      void client.end().catch(() => undefined);
      this.#retry();
    };
    // Any 'error' without a listener would throw: the connection failing is expected.
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === CLIENT_CHANGED_CHANNEL && message.payload !== undefined) {
        this.#cache?.evict(message.payload);
      }
    });
    void (async () => {
      try {
        await client.connect();
        await client.query(`listen ${CLIENT_CHANGED_CHANNEL}`);
      } catch {
        onLost();
        return;
      }
      if (lost || this.#closed) return;
      this.#failures = 0;
      // Changes made while nobody listened were announced to no one.
      this.#cache?.clear();
      this.#listening = true;
    })();
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** this.#failures);
    this.#failures++;
    // Jitter: instances that lost the database together do not all come back at once.
    this.#timer = setTimeout(() => this.#listen(), delay * (0.75 + Math.random() * 0.5));
    // The process may exit meanwhile: close() is not needed for that.
    this.#timer.unref();
  }
}
