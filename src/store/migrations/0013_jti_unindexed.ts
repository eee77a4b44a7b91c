/**
 * A JWT access token's `jti` stays stored (introspection answers it, RFC 7662 §2.2) but
 * loses the unique index 0004 gave it. Nothing looks a token up by its `jti`: every
 * endpoint finds a token by the hash of the whole token. And uniqueness needs no index:
 * a `jti` is 256 random bits, which RFC 7519 §4.1.7's "negligible probability" of reuse
 * asks for. What the index did cost: each JWT's insert went to a random leaf of one more
 * B-tree, one more page written and synced per token (about 5 % of a JWT code exchange's
 * or refresh's CPU on SQLite: `node bench/ab.mjs --format jwt`).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('access_tokens_jti').ifExists().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('access_tokens_jti')
    .unique()
    .on('access_tokens')
    .column('jti')
    .where(sql.ref('jti'), 'is not', null)
    .execute();
}
