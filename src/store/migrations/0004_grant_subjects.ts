/**
 * Grants whose subject is the client itself (no person), when the person signed in and in
 * which browser session; access tokens that say when they were issued, in which format,
 * and (a JWT's) `jti`. Scopes become space-delimited sets (RFC 6749 §3.3), so `text`.
 *
 * SQLite cannot drop NOT NULL: `grants` is rebuilt (a new table, the rows copied, the old
 * one dropped, the new one renamed, its indexes made again) with foreign keys off — which
 * cannot change inside a transaction, so it happens around it — and checked afterwards.
 * The tables that reference `grants` keep their foreign keys: they name the table.
 */
import { sql, SqliteAdapter, type Kysely } from 'kysely';

const cascade = 'cascade' as const;

function engineOf(db: Kysely<unknown>): 'sqlite' | 'postgres' {
  return db.getExecutor().adapter instanceof SqliteAdapter ? 'sqlite' : 'postgres';
}

const GRANT_INDEXES = [
  ['grants_person_id', 'person_id'],
  ['grants_client_id', 'client_id'],
  ['grants_expires_at', 'expires_at'],
  ['grants_revoked_at', 'revoked_at'],
] as const;

async function rebuildSqliteGrants(db: Kysely<unknown>): Promise<void> {
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await db.schema
        .createTable('grants_new')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(64)', (c) => c.references('people.id').onDelete(cascade))
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull().references('clients.id').onDelete(cascade))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        // Last, where PostgreSQL's ADD COLUMN puts them: both engines list the same order.
        .addColumn('auth_time', 'bigint')
        .addColumn('session_id', 'text')
        .execute();
      await sql`insert into grants_new (id, person_id, client_id, scope, created_at, expires_at, revoked_at)
        select id, person_id, client_id, scope, created_at, expires_at, revoked_at from grants`.execute(db);
      await db.schema.dropTable('grants').execute();
      await db.schema.alterTable('grants_new').renameTo('grants').execute();
      for (const [name, column] of GRANT_INDEXES) {
        await db.schema.createIndex(name).on('grants').column(column).execute();
      }
      const { rows } = await sql<Record<string, unknown>>`pragma foreign_key_check`.execute(db);
      if (rows.length > 0) throw new Error(`foreign keys broken after rebuilding grants: ${JSON.stringify(rows[0])}`);
      await sql`commit`.execute(db);
    } catch (err) {
      await sql`rollback`.execute(db);
      throw err;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const engine = engineOf(db);
  if (engine === 'sqlite') {
    await rebuildSqliteGrants(db);
  } else {
    await db.schema
      .alterTable('grants')
      .alterColumn('person_id', (c) => c.dropNotNull())
      .alterColumn('scope', (c) => c.setDataType('text'))
      .addColumn('auth_time', 'bigint')
      .addColumn('session_id', 'text')
      .execute();
    for (const table of ['access_tokens', 'refresh_tokens']) {
      await db.schema
        .alterTable(table)
        .alterColumn('scope', (c) => c.setDataType('text'))
        .execute();
    }
  }
  await db.schema
    .alterTable('access_tokens')
    .addColumn('created_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('access_tokens').addColumn('jti', 'text').execute();
  await db.schema
    .alterTable('access_tokens')
    .addColumn('format', 'text', (c) => c.notNull().defaultTo('opaque'))
    .execute();
  // Issued ten minutes before expiry: the access token lifetime Tessera has always used.
  await sql`update access_tokens set created_at = expires_at - 600000`.execute(db);
  // Only JWTs have a jti: a partial index costs opaque tokens (all of them today) nothing.
  await db.schema
    .createIndex('access_tokens_jti')
    .unique()
    .on('access_tokens')
    .column('jti')
    .where(sql.ref('jti'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('access_tokens_jti').execute();
  for (const column of ['format', 'jti', 'created_at']) {
    await db.schema.alterTable('access_tokens').dropColumn(column).execute();
  }
  for (const column of ['session_id', 'auth_time']) {
    await db.schema.alterTable('grants').dropColumn(column).execute();
  }
  // A grant without a person cannot be kept under the old schema.
  await sql`delete from grants where person_id is null`.execute(db);
  if (engineOf(db) === 'postgres') {
    await db.schema
      .alterTable('grants')
      .alterColumn('person_id', (c) => c.setNotNull())
      .execute();
  }
}
