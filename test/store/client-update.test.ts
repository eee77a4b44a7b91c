/**
 * `client update` and `user update` racing on the same record (both engines): each
 * update is a conditional write of what it read, retried when another landed first, so
 * parallel changes all land and none undoes another. A client's own lifetimes and its
 * previous secret travel through export and import.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotateClientSecret, updateClient } from '../../src/services/clients.js';
import { exportDatabase, importDatabase } from '../../src/store/transfer.js';
import { updatePerson } from '../../src/services/people.js';
import { addClient, addTestUser, tempStore } from '../helpers/harness.js';

let temp: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  temp = await tempStore();
});
afterEach(async () => {
  await temp.cleanup();
});

describe('updates racing on one record', () => {
  it('parallel client updates adding different redirect URIs all land', async () => {
    await addClient(temp.store, { id: 'app' });
    const uris = Array.from({ length: 4 }, (_, i) => `https://app.example/cb${i}`);
    const results = await Promise.all(
      uris.map((uri) => updateClient(temp.store, 'app', { addRedirectUris: [uri] }, Date.now())),
    );
    expect(results.every((r) => r.changed.includes('redirect_uris'))).toBe(true);
    const client = await temp.store.getClient('app');
    expect([...(client?.redirectUris ?? [])].sort()).toEqual(['https://app.example/cb', ...uris].sort());
  });

  it('parallel user updates of roles and e-mail all land', async () => {
    await addTestUser(temp.store, 'alice', ['PATIENT']);
    await Promise.all([
      updatePerson(temp.store, 'alice', { addRoles: ['CLINICIAN'] }, Date.now()),
      updatePerson(temp.store, 'alice', { addRoles: ['TEAMCOORD'] }, Date.now()),
      updatePerson(temp.store, 'alice', { email: 'alice@example.org' }, Date.now()),
    ]);
    const person = await temp.store.getPersonByUsername('alice');
    expect(person).toMatchObject({ roles: ['PATIENT', 'CLINICIAN', 'TEAMCOORD'], email: 'alice@example.org' });
  });
});

describe('export and import', () => {
  it("carry a client's own lifetimes and its previous secret", async () => {
    await addClient(temp.store, { id: 'app' });
    await updateClient(
      temp.store,
      'app',
      { accessTokenLifetime: '20m', codeLifetime: '30s', refreshLifetime: '7d' },
      Date.now(),
    );
    await rotateClientSecret(temp.store, 'app', 3600, Date.now());
    const before = await temp.store.getClient('app');
    expect(before?.lifetimes).toEqual({ accessToken: 1200, code: 30, grant: 7 * 24 * 3600 });

    const target = await tempStore();
    try {
      await importDatabase(target.store, await exportDatabase(temp.store));
      expect(await target.store.getClient('app')).toEqual(before);
    } finally {
      await target.cleanup();
    }
  });
});
