/**
 * What resource servers and service clients need: API scopes registered server-wide
 * (RFC 6749 §3.3 scope values beside PKB's roles), signing keys for JWT access tokens
 * (RFC 9068) and their JWKS (RFC 7517), and per client the access-token format and
 * whether it is a resource server (one that may introspect every access token, RFC 7662
 * §4). Added columns go last on both engines; existing clients keep opaque tokens.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_scopes')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('alg', 'varchar(16)', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  await db.schema.createIndex('signing_keys_retired_at').on('signing_keys').column('retired_at').execute();

  await db.schema
    .alterTable('clients')
    .addColumn('access_token_format', 'varchar(16)', (c) => c.notNull().defaultTo('opaque'))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('resource_server', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('resource_server').execute();
  await db.schema.alterTable('clients').dropColumn('access_token_format').execute();
  await db.schema.dropTable('signing_keys').execute();
  await db.schema.dropTable('api_scopes').execute();
}
