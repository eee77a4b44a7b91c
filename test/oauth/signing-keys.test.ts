/**
 * The key store (oauth/signing-keys.ts) on a real store: which key signs during a
 * rotation and when each instance switches (an injected clock), which keys the JWK Set
 * (RFC 7517 §5) holds and until when, and that it never holds a private part.
 */
import { decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keySealer } from '../../src/oauth/key-seal.js';
import {
  activeKey,
  keyStore,
  newSigningKey,
  publicJwk,
  publishedKeys,
  SIGNING_ALGS,
  type KeyStore,
} from '../../src/oauth/signing-keys.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { tempStore } from '../helpers/harness.js';

const LIFETIME = 600;
const REFRESH = 30;
const sealer = keySealer(undefined);

let store: KyselyStore;
let cleanup: () => Promise<void>;
let clock: number;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  clock = 1_800_000_000_000;
});
afterEach(async () => {
  await cleanup();
});

const instance = (): KeyStore =>
  keyStore(store, { sealer, tokenLifetime: LIFETIME, refreshSeconds: REFRESH, now: () => clock });

const kids = async (keys: KeyStore) => (await keys.jwks()).keys.map((k) => k.kid);

describe('the key store', () => {
  it('makes one ES256 first key when there is none, and every instance signs with it', async () => {
    const [a, b] = [instance(), instance()];
    const [ka, kb] = await Promise.all([a.signingKey(), b.signingKey()]);
    expect(ka.kid).toBe(kb.kid);
    expect(ka.alg).toBe('ES256');
    expect(await store.listSigningKeys()).toHaveLength(1);
    expect(await kids(a)).toEqual([ka.kid]);
  });

  it('publishes a rotated key at once and signs with it once the refresh interval has passed', async () => {
    const keys = instance();
    const first = await keys.signingKey();
    clock += 5_000; // read at t0; rotate at t0 + 5 s
    const next = await newSigningKey('RS256', sealer, clock);
    await store.rotateSigningKey(next);
    expect(await kids(keys)).toEqual([next.kid, first.kid]);
    expect((await keys.signingKey()).kid).toBe(first.kid);
    clock += REFRESH * 1000 - 5_000 - 1;
    expect((await keys.signingKey()).kid).toBe(first.kid);
    clock += 1;
    const switched = await keys.signingKey();
    expect(switched.kid).toBe(next.kid);
    expect(switched.alg).toBe('RS256');
    // A new instance signs with the new key from the start.
    expect((await instance().signingKey()).kid).toBe(next.kid);
  });

  it('keeps a retired key published for the token lifetime plus one refresh interval, not a millisecond more', async () => {
    const keys = instance();
    const first = await keys.signingKey();
    const retiredAt = clock + 1_000;
    await store.rotateSigningKey(await newSigningKey('ES256', sealer, retiredAt));
    expect(keys.retentionMs).toBe((LIFETIME + REFRESH) * 1000);
    clock = retiredAt + keys.retentionMs - 1;
    expect(await kids(keys)).toContain(first.kid);
    clock = retiredAt + keys.retentionMs;
    expect(await kids(keys)).not.toContain(first.kid);
    expect(await kids(keys)).toHaveLength(1);
  });

  it('signs what its JWK Set verifies, for every algorithm, and publishes no private part', async () => {
    const keys = instance();
    for (const alg of SIGNING_ALGS) {
      clock += REFRESH * 1000;
      await store.rotateSigningKey(await newSigningKey(alg, sealer, clock));
      const signing = await keys.signingKey();
      expect(signing.alg).toBe(alg);
      const jwt = await new SignJWT({ n: 1 }).setProtectedHeader({ alg, kid: signing.kid }).sign(signing.key);
      const jwk = (await keys.jwks()).keys.find((k) => k.kid === decodeProtectedHeader(jwt).kid) as JWK;
      expect(jwk).toMatchObject({ alg, use: 'sig', kid: signing.kid });
      expect((await jwtVerify(jwt, await importJWK(jwk, alg))).payload.n).toBe(1);
    }
    const published = (await keys.jwks()).keys;
    expect(published.map((k) => k.alg).sort()).toEqual([...SIGNING_ALGS].sort());
    for (const jwk of published) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(jwk).not.toHaveProperty(member);
    }
    // An RSA key has a 2048-bit modulus (RFC 7518 §3.3).
    const rsa = published.find((k) => k.alg === 'RS256') as JWK;
    expect(Buffer.from(rsa.n as string, 'base64url')).toHaveLength(256);
    expect(published.find((k) => k.alg === 'EdDSA')).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  });
});

describe('key selection', () => {
  const record = (kid: string, createdAt: number, retiredAt: number | null) => ({
    kid,
    alg: 'ES256',
    publicJwk: JSON.stringify({ kty: 'EC', kid, d: 'private', x: 'x', y: 'y' }),
    privateKey: 'plain.{}',
    createdAt,
    retiredAt,
  });

  it('signs with the newest key not retired, and publishes it and the keys retired within the retention', () => {
    const keys = [record('old', 1, 100), record('previous', 100, 200), record('active', 200, null)];
    expect(activeKey(keys)?.kid).toBe('active');
    expect(activeKey(keys.slice(0, 1))).toBeUndefined();
    expect(publishedKeys(keys, 250, 100).map((k) => k.kid)).toEqual(['previous', 'active']);
    expect(publishedKeys(keys, 299, 100).map((k) => k.kid)).toEqual(['previous', 'active']);
    expect(publishedKeys(keys, 300, 100).map((k) => k.kid)).toEqual(['active']);
  });

  it('never publishes a private member, even one the stored public JWK should not have had', () => {
    expect(publicJwk(record('k', 1, null))).toEqual({ kty: 'EC', kid: 'k', x: 'x', y: 'y' });
  });
});
