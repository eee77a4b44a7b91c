/**
 * PostgreSQL: every change to a client row is announced on the channel
 * `tessera_client_changed`, its payload the client's id, so that each instance's client
 * cache (client-cache.ts) drops the record at once, whichever process or instance made
 * the change. NOTIFY is delivered when the transaction commits, and only if it commits
 * (PostgreSQL documentation, NOTIFY); a row-level AFTER trigger sees every UPDATE and
 * DELETE, whatever ran it — `tessera client …`, another instance, psql. An insert needs
 * no notice: the cache never keeps a miss.
 *
 * The function is made unqualified, so in the current schema (the first of search_path
 * that exists), next to the table whose trigger calls it; it names pg_notify by its
 * schema so that no search_path can replace it. SQLite has no cache and no NOTIFY: a no-op there.
 */
import { sql, SqliteAdapter, type Kysely } from 'kysely';

function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isSqlite(db)) return;
  await sql`
    create function tessera_client_changed() returns trigger language plpgsql as $$
    begin
      perform pg_catalog.pg_notify('tessera_client_changed', old.id);
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger tessera_client_changed after update or delete on clients
    for each row execute function tessera_client_changed()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isSqlite(db)) return;
  await sql`drop trigger tessera_client_changed on clients`.execute(db);
  await sql`drop function tessera_client_changed()`.execute(db);
}
