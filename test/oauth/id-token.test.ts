/**
 * ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.3, §12.2) and the signing keys behind them:
 * the claims for each combination of scope, nonce, session and address; `at_hash`
 * (§3.1.3.6) against values computed by hand; signatures that jose verifies with the
 * published JWK Set for every algorithm, with the key of the client's algorithm made on
 * demand while access tokens keep the rotated key; and the ID token of a refresh.
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atHash, idTokenClaims, idTokens } from '../../src/oauth/id-token.js';
import { keySealer } from '../../src/oauth/key-seal.js';
import { keyStore, newSigningKey, SIGNING_ALGS, type KeyStore } from '../../src/oauth/signing-keys.js';
import { sessionSid } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { ClientRecord, GrantRecord, PersonRecord } from '../../src/store/store.js';
import { tempStore, testApp, type TestApp } from '../helpers/harness.js';
import { addOpenIdClient, addOpenIdPerson, openIdTokens, refresh } from '../helpers/openid.js';

const ISSUER = 'https://as.example';
const NOW = 1_800_000_000_000;
const sealer = keySealer(undefined);

const person: PersonRecord = {
  id: 'person-1',
  username: 'alice',
  displayName: 'Alice Example',
  passwordHash: 'x',
  roles: ['PATIENT'],
  createdAt: 0,
  disabledAt: null,
  email: 'alice@example.org',
};
const grant = (overrides: Partial<GrantRecord> = {}): GrantRecord => ({
  id: 'g',
  personId: person.id,
  clientId: 'app',
  scope: 'PATIENT openid',
  authTime: NOW - 61_500,
  sessionId: 'session-hash',
  createdAt: NOW - 60_000,
  expiresAt: NOW + 3_600_000,
  revokedAt: null,
  nonce: 'n-0S6_WzA2Mj',
  ...overrides,
});
const client = (idTokenAlg = 'RS256') => ({ id: 'app', idTokenAlg }) as ClientRecord;

describe('the claims of an ID token', () => {
  const base = {
    iss: ISSUER,
    sub: 'person-1',
    aud: 'app',
    exp: (NOW + 600_000) / 1000,
    iat: NOW / 1000,
    auth_time: Math.floor((NOW - 61_500) / 1000),
  };
  const sid = sessionSid('session-hash');
  const cases: Array<
    [string, { scope: string; nonce: string | null; g?: Partial<GrantRecord>; p?: Partial<PersonRecord> }, object]
  > = [
    [
      'openid only, with nonce and session',
      { scope: 'PATIENT openid', nonce: 'n-0S6_WzA2Mj' },
      { ...base, nonce: 'n-0S6_WzA2Mj', sid },
    ],
    ['no nonce (a refresh, or none sent)', { scope: 'PATIENT openid', nonce: null }, { ...base, sid }],
    ['no session', { scope: 'PATIENT openid', nonce: null, g: { sessionId: null } }, base],
    [
      'profile',
      { scope: 'PATIENT openid profile', nonce: null },
      { ...base, sid, name: 'Alice Example', preferred_username: 'alice' },
    ],
    [
      'email, with an address',
      { scope: 'PATIENT openid email', nonce: null },
      { ...base, sid, email: 'alice@example.org', email_verified: false },
    ],
    ['email, without an address', { scope: 'PATIENT openid email', nonce: null, p: { email: null } }, { ...base, sid }],
    [
      'profile and email',
      { scope: 'PATIENT openid profile email', nonce: 'abc' },
      {
        ...base,
        nonce: 'abc',
        sid,
        name: 'Alice Example',
        preferred_username: 'alice',
        email: 'alice@example.org',
        email_verified: false,
      },
    ],
  ];
  it.each(cases)('%s', (_name, { scope, nonce, g, p }, expected) => {
    expect(
      idTokenClaims({
        grant: grant(g),
        scope,
        client: client(),
        subject: { person: { ...person, ...p }, nonce },
        issuer: ISSUER,
        now: NOW,
        expiresAt: NOW + 600_000,
      }),
    ).toEqual(expected);
  });
});

describe('at_hash', () => {
  // The access token of OpenID Connect Core 1.0 Appendix A.3, whose RS256 at_hash the
  // spec gives; the SHA-512 value computed with `openssl dgst -sha512`, left 32 bytes.
  const token = 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y';
  it.each([
    ['RS256', '77QmUPtjPfzWtF2AnpK9RQ'],
    ['ES256', '77QmUPtjPfzWtF2AnpK9RQ'],
    ['EdDSA', 'q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM'],
  ] as const)('%s: %s', (alg, expected) => {
    expect(atHash(token, alg)).toBe(expected);
  });
});

describe('signing ID tokens', () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let clock: number;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    clock = NOW;
  });
  afterEach(async () => {
    await cleanup();
  });
  const instance = (): KeyStore =>
    keyStore(store, { sealer, tokenLifetime: 600, refreshSeconds: 30, now: () => clock });
  const sign = (keys: KeyStore, alg: string, accessToken = 'access-token') =>
    idTokens(keys).issue({
      grant: grant(),
      scope: 'PATIENT openid',
      client: client(alg),
      subject: { person, nonce: 'abc' },
      issuer: ISSUER,
      now: clock,
      expiresAt: clock + 600_000,
      accessToken,
    });

  it('signs with the key of the client’s algorithm, made on demand and published at once; jose verifies it', async () => {
    const keys = instance();
    const accessKey = await keys.signingKey();
    expect(accessKey.alg).toBe('ES256');
    for (const alg of SIGNING_ALGS) {
      const jwt = await sign(keys, alg, `token-for-${alg}`);
      const header = decodeProtectedHeader(jwt);
      expect(header).toMatchObject({ alg, typ: 'JWT' });
      const { payload } = await jwtVerify(jwt, createLocalJWKSet(await keys.jwks()), {
        issuer: ISSUER,
        audience: 'app',
        algorithms: [alg],
        typ: 'JWT',
        currentDate: new Date(clock),
      });
      expect(payload).toMatchObject({ sub: 'person-1', nonce: 'abc', at_hash: atHash(`token-for-${alg}`, alg) });
    }
    // ES256 ID tokens share the first key; RS256 and EdDSA got one each; access tokens keep the first.
    const stored = await store.listSigningKeys();
    expect(
      stored
        .filter((k) => k.retiredAt === null)
        .map((k) => k.alg)
        .sort(),
    ).toEqual(['ES256', 'EdDSA', 'RS256']);
    expect(decodeProtectedHeader(await sign(keys, 'ES256')).kid).toBe(accessKey.kid);
    clock += 31_000;
    expect((await instance().signingKey()).kid).toBe(accessKey.kid);
    expect((await keys.signingKey()).kid).toBe(accessKey.kid);
  });

  it('of instances asking at once, one makes the key and all sign with it', async () => {
    const instances = Array.from({ length: 6 }, instance);
    const made = await Promise.all(instances.map((keys) => keys.signingKeyFor('RS256')));
    expect(new Set(made.map((k) => k.kid)).size).toBe(1);
    expect((await store.listSigningKeys()).filter((k) => k.alg === 'RS256')).toHaveLength(1);
  });

  it('after a rotation, access tokens take the rotated key and ID tokens a new key of their algorithm; the old stays published', async () => {
    const keys = instance();
    await keys.signingKey();
    const before = decodeProtectedHeader(await sign(keys, 'RS256')).kid;
    clock += 1_000;
    const rotated = await newSigningKey('EdDSA', sealer, clock);
    await store.rotateSigningKey(rotated);
    clock += 30_000;
    expect((await keys.signingKey()).kid).toBe(rotated.kid);
    const after = await sign(keys, 'RS256');
    const kid = decodeProtectedHeader(after).kid;
    expect(kid).not.toBe(before);
    const published = (await keys.jwks()).keys.map((k) => k.kid);
    expect(published).toEqual(expect.arrayContaining([before, kid, rotated.kid]));
    // The key made on demand is newer than the rotated one, so access tokens stay with the rotated key.
    clock += 30_000;
    expect((await instance().signingKey()).kid).toBe(rotated.kid);
    // A retired ID token key stays published as long as what it signed may live.
    clock += keys.retentionMs;
    expect((await keys.jwks()).keys.map((k) => k.kid)).not.toContain(before);
  });
});

describe('ID tokens at the token endpoint', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('a refresh gives a new ID token: same sub, auth_time and sid, a new iat and at_hash, no nonce', async () => {
    const rp = await addOpenIdClient(t.store);
    const alice = await addOpenIdPerson(t.store);
    const first = await openIdTokens(t.app, rp, { nonce: 'n-123' });
    const original = decodeJwt(first.id_token as string);
    expect(original).toMatchObject({ sub: alice.id, nonce: 'n-123', aud: rp.client.id, email: 'alice@example.org' });

    t.advance(5_000);
    const res = await refresh(t.app, rp, first.refresh_token as string);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { id_token: string; access_token: string };
    const jwks = createLocalJWKSet((await t.app.inject({ url: '/.well-known/jwks.json' })).json());
    const { payload } = await jwtVerify(body.id_token, jwks, { issuer: t.config.issuer, audience: rp.client.id });
    expect(payload.sub).toBe(original.sub);
    expect(payload.auth_time).toBe(original.auth_time);
    expect(payload.sid).toBe(original.sid);
    expect(payload.iat).toBeGreaterThanOrEqual((original.iat as number) + 4);
    expect(payload).not.toHaveProperty('nonce');
    expect(payload.at_hash).toBe(atHash(body.access_token, 'RS256'));
    expect(payload.at_hash).not.toBe(original.at_hash);
  });

  it('a refresh that drops openid gives no ID token', async () => {
    const rp = await addOpenIdClient(t.store);
    await addOpenIdPerson(t.store);
    const first = await openIdTokens(t.app, rp);
    const res = await refresh(t.app, rp, first.refresh_token as string, 'PATIENT');
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('id_token');
    expect(res.json()).toMatchObject({ scope: 'PATIENT' });
  });
});
