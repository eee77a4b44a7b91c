/**
 * Demo data is marked as such: `demo` on clients and people (1 for the rows `serve --demo`
 * seeds, 0 for everything else), so that a server started without `--demo` refuses them
 * for sure instead of guessing by name, and `tessera demo remove` removes exactly them.
 * Partial indexes keep "is there any demo data?" at start cheap however many people there
 * are (both engines support `create index … where`).
 *
 * Rows seeded before this migration are marked here, once: the demo's clients by their
 * fixed ids (`client add` only ever makes random ones), the demo's people only where the
 * username, the display name and the e-mail (a documentation address, RFC 2606 §3, or
 * none: the oldest seeds had none) are all the seed's — a real person who happens to be
 * called alice is left alone. The values are copied, not imported: a migration must keep
 * doing what it did when it shipped, whatever the demo becomes.
 */
import { sql, type Kysely } from 'kysely';

const DEMO_CLIENT_IDS = ['tessera-demo', 'tessera-demo-jwt', 'tessera-demo-api'];

const DEMO_PEOPLE = [
  { username: 'alice', name: 'Alice Patel', email: 'alice@example.org' },
  { username: 'bob', name: 'Dr Bob Chen', email: 'bob@example.org' },
  { username: 'carol', name: 'Carol Diaz', email: 'carol@example.org' },
  { username: 'dana', name: 'Dr Dana Reyes', email: 'dana@example.org' },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['clients', 'people']) {
    await db.schema
      .alterTable(table)
      .addColumn('demo', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex(`${table}_demo`).on(table).column('demo').where(sql.ref('demo'), '=', 1).execute();
  }
  await sql`update clients set demo = 1 where id in (${sql.join(DEMO_CLIENT_IDS)})`.execute(db);
  for (const p of DEMO_PEOPLE) {
    await sql`update people set demo = 1
      where username = ${p.username} and display_name = ${p.name} and (email is null or email = ${p.email})`.execute(
      db,
    );
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['people', 'clients']) {
    await db.schema.dropIndex(`${table}_demo`).execute();
    await db.schema.alterTable(table).dropColumn('demo').execute();
  }
}
