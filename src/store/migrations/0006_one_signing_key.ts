/**
 * At most one signing key that is not retired. The first key is added by a conditional
 * insert ("when no key that is not retired exists"); on PostgreSQL two instances starting
 * at once both pass that condition under READ COMMITTED and both insert. A unique index
 * over the keys that are not retired makes the second insert a conflict, which the insert
 * ignores, so exactly one first key is stored on either engine.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('signing_keys_one_signing')
    .on('signing_keys')
    .unique()
    .expression(sql`(retired_at is null)`)
    .where(sql.ref('retired_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_signing').execute();
}
