/**
 * Usernames match without regard to case or Unicode form (store/username-key.ts), on each
 * engine: a twin is refused, every lookup by username finds the person in any spelling,
 * migration 0008 fills the key for people registered before, and refuses, naming them,
 * when two of them would become one.
 */
import { NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { admitSignInAttempt, noteSignInSuccess } from '../../src/oauth/sign-in-throttle.js';
import { newId } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore, StoreOpenError } from '../../src/store/open.js';
import { usernameKey } from '../../src/store/username-key.js';
import { addUser, tempStore, TEST_ENGINE } from '../helpers/harness.js';

describe('usernameKey', () => {
  it('folds case and Unicode form, whatever the locale, the same wherever a letter stands', () => {
    expect(usernameKey('Alice')).toBe('alice');
    expect(usernameKey('ALICE')).toBe(usernameKey('alice'));
    expect(usernameKey('Jos\u00e9')).toBe(usernameKey('JOSE\u0301'));
    expect(usernameKey('Straße')).toBe(usernameKey('STRASSE'));
    expect(usernameKey('ΟΔΟΣ')).toBe(usernameKey('οδος'));
    expect(usernameKey('ΟΔΟΣ')).toBe(usernameKey('οδοσ'));
    // Not the Turkish rule, whatever the process's locale: I is i, not dotless ı.
    expect(usernameKey('IRMA')).toBe('irma');
    expect(usernameKey('i\u0307x')).toBe(usernameKey('\u0130X'));
    for (const name of ['Eve', 'Straße', 'ΟΔΟΣ', '\u0130stanbul', 'ǅemal']) {
      expect(usernameKey(usernameKey(name))).toBe(usernameKey(name));
    }
  });
});

describe(`usernames on ${TEST_ENGINE}`, () => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void> = async () => {};
  const now = 1_800_000_000_000;

  afterEach(async () => {
    // The store a test reopened, then the database.
    await store.close().catch(() => undefined);
    await cleanup();
  });

  it('refuses a twin, in case or in Unicode form', async () => {
    ({ store, cleanup } = await tempStore());
    const eve = await addUser(store, 'Eve', ['PATIENT']);
    for (const twin of ['eve', 'EVE', 'eVe']) {
      expect(await store.createPerson({ ...eve, id: newId(), username: twin })).toBe(false);
    }
    const jose = await addUser(store, 'jos\u00e9', ['PATIENT']);
    expect(await store.createPerson({ ...jose, id: newId(), username: 'JOSE\u0301' })).toBe(false);
    expect((await store.listPeople()).map((p) => p.username).sort()).toEqual(['Eve', 'jos\u00e9']);
  });

  it('finds, changes and removes a person by any spelling, keeping the username as registered', async () => {
    ({ store, cleanup } = await tempStore());
    const alice = await addUser(store, 'Alice', ['PATIENT']);
    for (const spelling of ['alice', 'ALICE', 'Alice']) {
      expect((await store.getPersonByUsername(spelling))?.id).toBe(alice.id);
    }
    expect((await store.getPersonByUsername('alice'))?.username).toBe('Alice');
    expect(await store.setPassword('aLiCe', 'new-hash')).toBe(true);
    expect((await store.getPerson(alice.id))?.passwordHash).toBe('new-hash');
    expect(await store.setPersonDisabled('ALICE', now)).toBe(true);
    expect((await store.getPerson(alice.id))?.disabledAt).toBe(now);
    expect(await store.setPersonDisabled('alice', null)).toBe(true);
    expect(await store.getPersonByUsername('bob')).toBeUndefined();
    expect(await store.removePerson('alice')).toBe(true);
    expect(await store.getPerson(alice.id)).toBeUndefined();
    expect(await store.removePerson('Alice')).toBe(false);
  });

  it('counts sign-in attempts for Alice and alice together', async () => {
    ({ store, cleanup } = await tempStore());
    const policy = { failures: 3, windowSeconds: 60 };
    expect(await admitSignInAttempt(store, 'Alice', now, policy)).toBe(true);
    expect(await admitSignInAttempt(store, 'alice', now, policy)).toBe(true);
    expect(await admitSignInAttempt(store, 'ALICE', now, policy)).toBe(true);
    expect(await admitSignInAttempt(store, 'alice', now, policy)).toBe(false);
    expect(await admitSignInAttempt(store, 'bob', now, policy)).toBe(true);
    await noteSignInSuccess(store, 'ALICE');
    expect(await admitSignInAttempt(store, 'Alice', now, policy)).toBe(true);
  });

  /** A database at 0007 (before the key) holding `people`, reopened (and so migrated). */
  async function migratedFrom0007(people: Array<[string, string]>): Promise<KyselyStore> {
    ({ store, url, cleanup } = await tempStore());
    await store.migrations(async (m) => {
      expect((await m.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
      expect((await m.migrateTo('0007_openid_connect')).error).toBeUndefined();
    });
    for (const [id, username] of people) {
      await sql`insert into people (id, username, display_name, password_hash, roles, created_at, disabled_at, email)
        values (${id}, ${username}, ${username}, 'x', '["PATIENT"]', 1, null, null)`.execute(store.db);
    }
    await store.close();
    return openStore(url);
  }

  it('migration 0008 gives the people of a database at 0007 their key', async () => {
    store = await migratedFrom0007([
      ['p1', 'Alice'],
      ['p2', 'bob'],
      ['p3', 'Jos\u00e9'],
    ]);
    expect((await store.getPersonByUsername('alice'))?.id).toBe('p1');
    expect((await store.getPersonByUsername('BOB'))?.username).toBe('bob');
    expect((await store.getPersonByUsername('jose\u0301'))?.id).toBe('p3');
    const { rows } = await sql<{ username_key: string }>`select username_key from people order by id`.execute(store.db);
    expect(rows.map((r) => r.username_key)).toEqual(['alice', 'bob', 'jos\u00e9']);
    expect(await store.createPerson({ ...(await store.getPerson('p1'))!, id: newId(), username: 'ALICE' })).toBe(false);
  });

  it('migration 0008 refuses twins, naming them, and changes nothing', async () => {
    const opening = migratedFrom0007([
      ['p1', 'Eve'],
      ['p2', 'eve'],
      ['p3', 'bob'],
      ['p4', 'Jos\u00e9'],
      ['p5', 'jose\u0301'],
    ]);
    const err = await opening.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreOpenError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/'Eve' and 'eve'/);
    expect(message).toContain(`'Jos\u00e9' and 'jose\u0301'`);
    expect(message).not.toContain('bob');

    // Nothing was changed: once the twins are resolved, the migration runs.
    store = await openStore(url, { migrate: false });
    await sql`delete from people where id in ('p2', 'p5')`.execute(store.db);
    expect(await store.migrate()).toEqual(['0008_username_key', '0009_demo_data']);
    expect((await store.getPersonByUsername('EVE'))?.id).toBe('p1');
  });
});
