/**
 * Indexes for the purge (Store.purgeExpired): each kind of expiring row is found by its
 * expiry, oldest first, without scanning the table; revoked grants by their revocation.
 */
import type { Kysely } from 'kysely';

const indexes = [
  ['pending_authorizations_expires_at', 'pending_authorizations', 'expires_at'],
  ['sign_in_sessions_expires_at', 'sign_in_sessions', 'expires_at'],
  ['sign_in_failures_window_started_at', 'sign_in_failures', 'window_started_at'],
  ['authorization_codes_expires_at', 'authorization_codes', 'expires_at'],
  ['access_tokens_expires_at', 'access_tokens', 'expires_at'],
  ['refresh_tokens_expires_at', 'refresh_tokens', 'expires_at'],
  ['grants_expires_at', 'grants', 'expires_at'],
  ['grants_revoked_at', 'grants', 'revoked_at'],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [name, table, column] of indexes) {
    await db.schema.createIndex(name).on(table).column(column).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name] of [...indexes].reverse()) {
    await db.schema.dropIndex(name).execute();
  }
}
