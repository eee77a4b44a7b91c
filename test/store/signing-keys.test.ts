/**
 * The signing-key operations of the Store (RFC 7517 keys), on each engine: listing newest
 * first, the first key made once however many instances race to make it, rotation
 * retiring the signing key and adding the next together, and removing retired keys.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import type { SigningKeyRecord } from '../../src/store/store.js';
import { tempStore, TEST_ENGINE } from '../helpers/harness.js';

const engine = TEST_ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite';
const t0 = 1_800_000_000_000;

function key(kid: string, createdAt: number, alg = 'ES256'): SigningKeyRecord {
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: kid, y: kid, kid }),
    privateKey: `plain.{"kid":"${kid}"}`,
    createdAt,
    retiredAt: null,
  };
}

describe(`signing keys in the store on ${engine}`, () => {
  let store: KyselyStore;
  let url: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, url, cleanup } = await tempStore());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stores the first key once, and no other first key while it is not retired', async () => {
    expect(await store.listSigningKeys()).toEqual([]);
    expect(await store.addFirstSigningKey(key('k1', t0))).toBe(true);
    expect(await store.addFirstSigningKey(key('k2', t0 + 1))).toBe(false);
    expect(await store.listSigningKeys()).toEqual([key('k1', t0)]);
  });

  it('of 20 first keys added at once by two instances, exactly one is stored', async () => {
    // Two stores on one database, as two servers starting together (each with its own pool).
    const other = await openStore(url);
    try {
      const stores = [store, other];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 2]?.addFirstSigningKey(key(`racer-${i}`, t0 + i))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const stored = await store.listSigningKeys();
      expect(stored).toHaveLength(1);
      expect(stored[0]?.kid).toBe(`racer-${results.indexOf(true)}`);
    } finally {
      await other.close();
    }
  });

  it('rotates: the signing key is retired at the new key’s creation and the new one signs; newest first', async () => {
    await store.addFirstSigningKey(key('k1', t0));
    await store.rotateSigningKey(key('k2', t0 + 1000));
    await store.rotateSigningKey(key('k3', t0 + 2000));
    expect(await store.listSigningKeys()).toEqual([
      key('k3', t0 + 2000),
      { ...key('k2', t0 + 1000), retiredAt: t0 + 2000 },
      { ...key('k1', t0), retiredAt: t0 + 1000 },
    ]);
    // With a key that is not retired, no first key is added.
    expect(await store.addFirstSigningKey(key('k4', t0 + 3000))).toBe(false);
  });

  it('rotates when there is no key yet: the new key is the first', async () => {
    await store.rotateSigningKey(key('k1', t0));
    expect(await store.listSigningKeys()).toEqual([key('k1', t0)]);
  });

  it('removes keys retired at or before the given time, never the signing key', async () => {
    await store.addFirstSigningKey(key('k1', t0));
    await store.rotateSigningKey(key('k2', t0 + 1000));
    await store.rotateSigningKey(key('k3', t0 + 2000));
    expect(await store.removeRetiredSigningKeys(t0 + 999)).toBe(0);
    expect(await store.removeRetiredSigningKeys(t0 + 1000)).toBe(1);
    expect((await store.listSigningKeys()).map((k) => k.kid)).toEqual(['k3', 'k2']);
    expect(await store.removeRetiredSigningKeys(t0 + 10_000_000)).toBe(1);
    expect((await store.listSigningKeys()).map((k) => k.kid)).toEqual(['k3']);
  });

  it('adds a key of another algorithm on demand: one per algorithm, only beside an older active key', async () => {
    // No active key at all: an ID token key would become the access-token key, so none is added.
    expect(await store.addSigningKeyForAlg(key('rs0', t0, 'RS256'))).toBe(false);
    await store.addFirstSigningKey(key('k1', t0));
    expect(await store.addSigningKeyForAlg(key('es', t0 + 1, 'ES256'))).toBe(false);
    // A key generated before the access-token key was made is refused (a rotation came in between).
    expect(await store.addSigningKeyForAlg(key('rs-old', t0 - 1, 'RS256'))).toBe(false);
    expect(await store.addSigningKeyForAlg(key('rs1', t0 + 1, 'RS256'))).toBe(true);
    expect(await store.addSigningKeyForAlg(key('rs2', t0 + 2, 'RS256'))).toBe(false);
    expect(await store.addSigningKeyForAlg(key('ed1', t0 + 2, 'EdDSA'))).toBe(true);
    expect((await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt])).toEqual([
      ['ed1', null],
      ['rs1', null],
      ['k1', null],
    ]);
    // A rotation retires every active key, of every algorithm.
    await store.rotateSigningKey(key('k2', t0 + 10));
    expect((await store.listSigningKeys()).filter((k) => k.retiredAt === null).map((k) => k.kid)).toEqual(['k2']);
    expect(await store.addSigningKeyForAlg(key('rs3', t0 + 11, 'RS256'))).toBe(true);
  });

  it('of 20 keys of one algorithm added at once by two instances, exactly one is stored', async () => {
    await store.addFirstSigningKey(key('k1', t0));
    const other = await openStore(url);
    try {
      const stores = [store, other];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          stores[i % 2]?.addSigningKeyForAlg(key(`racer-${i}`, t0 + 1 + i, 'RS256')),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const rsa = (await store.listSigningKeys()).filter((k) => k.alg === 'RS256');
      expect(rsa.map((k) => k.kid)).toEqual([`racer-${results.indexOf(true)}`]);
    } finally {
      await other.close();
    }
  });
});
