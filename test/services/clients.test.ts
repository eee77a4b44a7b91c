/** The client services against a real store: what `tessera client …` (and an admin API) relies on. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findClient,
  getClient,
  listClients,
  registerClient,
  removeClient,
  rotateClientSecret,
} from '../../src/services/clients.js';
import { InvalidInputError } from '../../src/services/errors.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { tempStore } from '../helpers/harness.js';

describe('client services', () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  const now = 1_800_000_000_000;
  const app = { name: 'App', redirectUris: ['https://app.example/cb'] };

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('registers, finds, lists and removes a client', async () => {
    const { client, secret } = await registerClient(store, app, now);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(await findClient(store, client.id)).toEqual(client);
    expect(await getClient(store, client.id)).toEqual(client);
    expect((await listClients(store)).map((c) => c.id)).toEqual([client.id]);
    await removeClient(store, client.id);
    expect(await findClient(store, client.id)).toBeUndefined();
    expect(await listClients(store)).toEqual([]);
  });

  it('an unknown id is an InvalidInputError for every operation that names one', async () => {
    await expect(getClient(store, 'nope')).rejects.toThrow(new InvalidInputError("no client 'nope'"));
    await expect(removeClient(store, 'nope')).rejects.toThrow(new InvalidInputError("no client 'nope'"));
    await expect(rotateClientSecret(store, 'nope')).rejects.toThrow(new InvalidInputError("no client 'nope'"));
    expect(await findClient(store, 'nope')).toBeUndefined();
  });

  it('rotates a confidential secret and refuses a public client', async () => {
    const { client, secret } = await registerClient(store, app, now);
    const rotated = await rotateClientSecret(store, client.id);
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.previousUntil).toBeNull();
    expect((await getClient(store, client.id)).secretHash).not.toBe(client.secretHash);
    const { client: pub } = await registerClient(store, { ...app, public: true }, now);
    await expect(rotateClientSecret(store, pub.id)).rejects.toThrow(/is public/);
  });

  it('refuses a fixed id that is taken', async () => {
    await registerClient(store, { ...app, id: 'fixed' }, now);
    await expect(registerClient(store, { ...app, id: 'fixed' }, now)).rejects.toThrow("client 'fixed' already exists");
  });
});
