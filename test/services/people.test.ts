/** The people services against a real store: what `tessera user …` (and an admin API) relies on. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticatePerson } from '../../src/oauth/authenticate.js';
import { verifyPassword } from '../../src/oauth/passwords.js';
import { InvalidInputError } from '../../src/services/errors.js';
import {
  addPerson,
  findPerson,
  getPerson,
  listPeople,
  removePerson,
  setPassword,
  setPersonDisabled,
} from '../../src/services/people.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { tempStore } from '../helpers/harness.js';

describe('people services', () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  const now = 1_800_000_000_000;
  const alice = { username: 'alice', password: 'correct horse battery', roles: ['patient'] };

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('adds, finds, lists and removes a person', async () => {
    const person = await addPerson(store, alice, now);
    expect(person).toMatchObject({ username: 'alice', displayName: 'alice', roles: ['PATIENT'], disabledAt: null });
    expect(await findPerson(store, 'alice')).toEqual(person);
    expect(await getPerson(store, 'alice')).toEqual(person);
    expect((await listPeople(store)).map((p) => p.username)).toEqual(['alice']);
    await expect(addPerson(store, alice, now)).rejects.toThrow("user 'alice' already exists");
    await removePerson(store, 'alice');
    expect(await findPerson(store, 'alice')).toBeUndefined();
  });

  it('an unknown username is an InvalidInputError for every operation that names one', async () => {
    const none = new InvalidInputError("no user 'nobody'");
    await expect(getPerson(store, 'nobody')).rejects.toThrow(none);
    await expect(removePerson(store, 'nobody')).rejects.toThrow(none);
    await expect(setPassword(store, 'nobody', 'long enough pw')).rejects.toThrow(none);
    await expect(setPersonDisabled(store, 'nobody', true, now)).rejects.toThrow(none);
    expect(await findPerson(store, 'nobody')).toBeUndefined();
  });

  it('sets a password only when it meets the rules', async () => {
    await addPerson(store, alice, now);
    await expect(setPassword(store, 'alice', 'short')).rejects.toThrow(/at least 8 characters/);
    const person = await setPassword(store, 'alice', 'brand new password');
    expect(await verifyPassword('brand new password', person.passwordHash)).toBe(true);
    expect(await authenticatePerson(store, 'alice', 'correct horse battery')).toBeUndefined();
    expect((await authenticatePerson(store, 'alice', 'brand new password'))?.id).toBe(person.id);
  });

  it('disables once (keeping the first time), enables, and says whether anything changed', async () => {
    await addPerson(store, alice, now);
    expect(await setPersonDisabled(store, 'alice', true, now + 1)).toMatchObject({
      changed: true,
      person: { disabledAt: now + 1 },
    });
    expect(await authenticatePerson(store, 'alice', alice.password)).toBeUndefined();
    expect(await setPersonDisabled(store, 'alice', true, now + 2)).toMatchObject({
      changed: false,
      person: { disabledAt: now + 1 },
    });
    expect(await setPersonDisabled(store, 'alice', false, now + 3)).toMatchObject({
      changed: true,
      person: { disabledAt: null },
    });
    expect(await setPersonDisabled(store, 'alice', false, now + 4)).toMatchObject({ changed: false });
    expect((await authenticatePerson(store, 'alice', alice.password))?.username).toBe('alice');
  });
});
