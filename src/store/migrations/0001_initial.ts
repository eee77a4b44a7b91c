/** The first schema. Portable DDL only: it runs the same on SQLite and PostgreSQL. */
import type { Kysely } from 'kysely';

const cascade = 'cascade' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('clients')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)')
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('grant_types', 'text', (c) => c.notNull())
    .addColumn('pkce_required', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .execute();

  await db.schema
    .createTable('people')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('username', 'varchar(100)', (c) => c.notNull().unique())
    .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .execute();

  await db.schema
    .createTable('grants')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('person_id', 'varchar(64)', (c) => c.notNull().references('people.id').onDelete(cascade))
    .addColumn('client_id', 'varchar(64)', (c) => c.notNull().references('clients.id').onDelete(cascade))
    .addColumn('scope', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('grants_person_id').on('grants').column('person_id').execute();
  await db.schema.createIndex('grants_client_id').on('grants').column('client_id').execute();

  await db.schema
    .createTable('authorization_codes')
    .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('grant_id', 'varchar(64)', (c) => c.notNull().references('grants.id').onDelete(cascade))
    .addColumn('redirect_uri', 'text')
    .addColumn('code_challenge', 'varchar(128)')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('authorization_codes_grant_id').on('authorization_codes').column('grant_id').execute();

  for (const table of ['access_tokens', 'refresh_tokens'] as const) {
    let builder = db.schema
      .createTable(table)
      .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('grant_id', 'varchar(64)', (c) => c.notNull().references('grants.id').onDelete(cascade))
      .addColumn('scope', 'varchar(32)', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull());
    if (table === 'refresh_tokens') builder = builder.addColumn('retired_at', 'bigint');
    await builder.execute();
    await db.schema.createIndex(`${table}_grant_id`).on(table).column('grant_id').execute();
  }

  await db.schema
    .createTable('pending_authorizations')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('client_id', 'varchar(64)', (c) => c.notNull().references('clients.id').onDelete(cascade))
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('browser_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('person_id', 'varchar(64)', (c) => c.references('people.id').onDelete(cascade))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sign_in_sessions')
    .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('person_id', 'varchar(64)', (c) => c.notNull().references('people.id').onDelete(cascade))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_sessions_person_id').on('sign_in_sessions').column('person_id').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'settings',
    'sign_in_sessions',
    'pending_authorizations',
    'refresh_tokens',
    'access_tokens',
    'authorization_codes',
    'grants',
    'people',
    'clients',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
