/**
 * What OpenID Connect needs (OpenID Connect Core 1.0, RP-Initiated Logout 1.0): a person's
 * e-mail address (the `email` claim, §5.1); per client the ID token's signing algorithm
 * (§3.1.3.7), whether consent is skipped (a first-party app) and the URIs it may be sent
 * back to after logout; the `nonce` of the authentication request on its grant (§3.1.2.1:
 * every ID token of the grant repeats it); a browser session's idle end beside its
 * absolute end. Signing keys become one active key per algorithm: access tokens are
 * signed with the oldest active key (the one `keys rotate` made), ID tokens with the
 * active key of their client's algorithm, made when first needed. Added columns go last
 * on both engines.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('people').addColumn('email', 'text').execute();
  await db.schema
    .alterTable('clients')
    .addColumn('id_token_alg', 'varchar(16)', (c) => c.notNull().defaultTo('RS256'))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('skip_consent', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema.alterTable('grants').addColumn('nonce', 'text').execute();
  await db.schema
    .alterTable('sign_in_sessions')
    .addColumn('max_expires_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  // Sessions made before this migration end when they always would have.
  await sql`update sign_in_sessions set max_expires_at = expires_at`.execute(db);

  await db.schema.dropIndex('signing_keys_one_signing').execute();
  await db.schema
    .createIndex('signing_keys_one_per_alg')
    .on('signing_keys')
    .unique()
    .column('alg')
    .where(sql.ref('retired_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_per_alg').execute();
  await db.schema
    .createIndex('signing_keys_one_signing')
    .on('signing_keys')
    .unique()
    .expression(sql`(retired_at is null)`)
    .where(sql.ref('retired_at'), 'is', null)
    .execute();
  await db.schema.alterTable('sign_in_sessions').dropColumn('max_expires_at').execute();
  await db.schema.alterTable('grants').dropColumn('nonce').execute();
  await db.schema.alterTable('clients').dropColumn('post_logout_redirect_uris').execute();
  await db.schema.alterTable('clients').dropColumn('skip_consent').execute();
  await db.schema.alterTable('clients').dropColumn('id_token_alg').execute();
  await db.schema.alterTable('people').dropColumn('email').execute();
}
