/**
 * The sign-in throttle counts per username *and* per client address, with a growing wait
 * (oauth/sign-in-throttle.ts). Each row of sign_in_failures is now either a username's
 * count (`key` = `user_key`, as every row was before) or the count of one address for
 * that username (`key` the hash of both). `user_key` (a hash of the username's comparison
 * form, never the username) lets `tessera user show` and `user unlock` find every count
 * of one username; `wait_until` is when the next attempt may be checked (0: no wait).
 * Both added with defaults, so SQLite needs no table rebuild; rows counted before keep
 * counting as their username's.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sign_in_failures')
    .addColumn('user_key', 'varchar(64)', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('sign_in_failures')
    .addColumn('wait_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update sign_in_failures set user_key = key`.execute(db);
  await db.schema.createIndex('sign_in_failures_user_key').on('sign_in_failures').column('user_key').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sign_in_failures_user_key').execute();
  // Only the usernames' counts mean anything to the code before this migration.
  await sql`delete from sign_in_failures where key <> user_key`.execute(db);
  await db.schema.alterTable('sign_in_failures').dropColumn('wait_until').execute();
  await db.schema.alterTable('sign_in_failures').dropColumn('user_key').execute();
}
