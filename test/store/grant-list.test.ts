/**
 * The operator's grant operations of the Store, on the engine of this vitest project:
 * listGrants shows only live grants (not revoked, not past their absolute end), newest
 * first, filtered by person and client; revokeGrantOnce tells a first revocation from a
 * repeated one and an unknown id; setPassword with revokeGrantsAt revokes the person's
 * grants and only theirs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { GrantRecord } from '../../src/store/store.js';
import { addClient, addTestUser, tempStore, TEST_ENGINE } from '../helpers/harness.js';

describe(`listGrants, revokeGrantOnce and setPassword on ${TEST_ENGINE}`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  const now = 1_800_000_000_000;
  const ids: Record<string, string> = {};

  /** A grant of `person` (null: the client's own) to `client`, made `age` ms before now. */
  async function grant(person: string | null, client: string, age: number, extra: Partial<GrantRecord> = {}) {
    const g: GrantRecord = {
      id: newId(),
      personId: person === null ? null : (ids[person] as string),
      clientId: ids[client] as string,
      scope: person === null ? 'records.read' : 'PATIENT',
      authTime: null,
      sessionId: null,
      createdAt: now - age,
      expiresAt: now - age + 3_600_000,
      revokedAt: null,
      nonce: null,
      ...extra,
    };
    await store.createGrantWithAccessToken(g, {
      hash: newId(),
      grantId: g.id,
      scope: g.scope,
      format: 'opaque',
      jti: null,
      createdAt: g.createdAt,
      expiresAt: g.createdAt + 600_000,
    });
    return g;
  }

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    for (const name of ['phone', 'laptop']) ids[name] = (await addClient(store, { name: `App ${name}` })).client.id;
    for (const name of ['alice', 'bob']) ids[name] = (await addTestUser(store, name, ['PATIENT'])).id;
  });
  afterEach(async () => {
    await cleanup();
  });

  it('lists live grants newest first, by person, by client, or both', async () => {
    const alicePhone = await grant('alice', 'phone', 3000);
    const aliceLaptop = await grant('alice', 'laptop', 2000);
    const bobPhone = await grant('bob', 'phone', 1000);
    const own = await grant(null, 'laptop', 500);
    await grant('alice', 'phone', 100, { revokedAt: now - 50 });
    await grant('alice', 'phone', 4_000_000); // past its absolute end
    await grant('bob', 'laptop', 10, { expiresAt: now }); // ends exactly now: over

    const list = await store.listGrants({}, now);
    expect(list.map((l) => l.grant.id)).toEqual([own.id, bobPhone.id, aliceLaptop.id, alicePhone.id]);
    expect(list[0]).toEqual({ grant: own, username: null, clientName: 'App laptop' });
    expect(list[1]).toEqual({ grant: bobPhone, username: 'bob', clientName: 'App phone' });

    const listed = async (filter: { personId?: string; clientId?: string }) =>
      (await store.listGrants(filter, now)).map((l) => l.grant.id);
    expect(await listed({ personId: ids.alice })).toEqual([aliceLaptop.id, alicePhone.id]);
    expect(await listed({ clientId: ids.phone })).toEqual([bobPhone.id, alicePhone.id]);
    expect(await listed({ personId: ids.alice, clientId: ids.phone })).toEqual([alicePhone.id]);
    expect(await listed({ personId: newId() })).toEqual([]);
  });

  it('revokeGrantOnce: revoked, then already-revoked; missing for an unknown id', async () => {
    const g = await grant('alice', 'phone', 0);
    expect(await store.revokeGrantOnce(g.id, now + 5)).toBe('revoked');
    expect(await store.revokeGrantOnce(g.id, now + 9)).toBe('already-revoked');
    expect(await store.revokeGrantOnce(newId(), now)).toBe('missing');
    expect(await store.listGrants({}, now)).toEqual([]);
  });

  it("setPassword with revokeGrantsAt revokes the person's grants only; without it keeps them", async () => {
    const a1 = await grant('alice', 'phone', 2);
    const a2 = await grant('alice', 'laptop', 1);
    const b = await grant('bob', 'phone', 0);
    expect(await store.setPassword('alice', 'scrypt$x', null)).toBe(true);
    expect((await store.listGrants({}, now)).map((l) => l.grant.id)).toEqual([b.id, a2.id, a1.id]);
    expect(await store.setPassword('alice', 'scrypt$y', now + 7)).toBe(true);
    expect((await store.listGrants({}, now)).map((l) => l.grant.id)).toEqual([b.id]);
    expect(await store.revokeGrantOnce(a1.id, now + 9)).toBe('already-revoked');
    expect(await store.setPassword('nobody', 'scrypt$z', now)).toBe(false);
  });
});
