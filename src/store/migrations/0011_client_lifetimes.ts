/**
 * Per client: its own lifetimes (a code's, an access token's, the authorization
 * session's; null: the server's), and the secret before the last rotation with the end of
 * its grace period (`client rotate-secret --grace`). Nullable columns added last: no table
 * rebuild on SQLite, and every existing client keeps the server's lifetimes and one secret.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('code_lifetime', 'integer').execute();
  await db.schema.alterTable('clients').addColumn('access_token_lifetime', 'integer').execute();
  await db.schema.alterTable('clients').addColumn('refresh_lifetime', 'integer').execute();
  await db.schema.alterTable('clients').addColumn('previous_secret_hash', 'text').execute();
  await db.schema.alterTable('clients').addColumn('previous_secret_expires_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [
    'previous_secret_expires_at',
    'previous_secret_hash',
    'refresh_lifetime',
    'access_token_lifetime',
    'code_lifetime',
  ]) {
    await db.schema.alterTable('clients').dropColumn(column).execute();
  }
}
