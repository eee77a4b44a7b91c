/**
 * The token service picks the access-token strategy by the client's format: opaque stays
 * as it was, a JWT (RFC 9068) carries the §2.2 claims — with the client as `sub` when the
 * grant has no person — and a format the server does not issue is refused. Secrets
 * chosen before the grant is read (`preIssue`, opaque only) are the ones `mint` issues.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jwtAccessTokens } from '../../src/oauth/jwt-access-token.js';
import { keySealer } from '../../src/oauth/key-seal.js';
import { keyStore, type KeyStore } from '../../src/oauth/signing-keys.js';
import { opaqueAccessTokens, tokenService } from '../../src/oauth/token-service.js';
import { hashSecret } from '../../src/oauth/tokens.js';
import type { ClientRecord, GrantRecord } from '../../src/store/store.js';
import { tempStore } from '../helpers/harness.js';

const ISSUER = 'https://as.example';
const now = Date.now();
const client = (accessTokenFormat: 'opaque' | 'jwt') =>
  ({ id: 'svc-client', grantTypes: ['authorization_code', 'refresh_token'], accessTokenFormat }) as ClientRecord;
const grant = (personId: string | null): GrantRecord => ({
  id: 'g',
  personId,
  clientId: 'svc-client',
  scope: 'records:read',
  authTime: null,
  sessionId: null,
  createdAt: now,
  expiresAt: now + 3_600_000,
  revokedAt: null,
  nonce: null,
});

let keys: KeyStore;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const temp = await tempStore();
  cleanup = temp.cleanup;
  keys = keyStore(temp.store, { sealer: keySealer(undefined), tokenLifetime: 600 });
});
afterEach(async () => {
  await cleanup();
});

describe('access-token strategies per client', () => {
  it('opaque clients get an opaque token; JWT clients a JWT with the client as sub when there is no person', async () => {
    const service = tokenService({ accessToken: 600 }, [
      opaqueAccessTokens,
      jwtAccessTokens(keys, 'https://api.example'),
    ]);
    const mint = (format: 'opaque' | 'jwt', personId: string | null) =>
      service.mint({
        grant: grant(personId),
        scope: 'records:read',
        client: client(format),
        issuer: ISSUER,
        now,
        refresh: false,
      });

    const opaque = await mint('opaque', 'person-1');
    expect(opaque.response.access_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(opaque.access).toMatchObject({
      format: 'opaque',
      jti: null,
      hash: hashSecret(opaque.response.access_token),
    });

    const jwt = await mint('jwt', null);
    expect(jwt.access).toMatchObject({ format: 'jwt', hash: hashSecret(jwt.response.access_token) });
    const { payload } = await jwtVerify(jwt.response.access_token, createLocalJWKSet(await keys.jwks()), {
      issuer: ISSUER,
      audience: 'https://api.example',
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({
      sub: 'svc-client',
      client_id: 'svc-client',
      scope: 'records:read',
      jti: jwt.access.jti,
    });
    expect(payload.exp).toBe(Math.floor(now / 1000) + 600);
    expect((await mint('jwt', 'person-1')).response.access_token).not.toBe(jwt.response.access_token);
  });

  it('refuses to mint for a format the server does not issue', async () => {
    const service = tokenService({ accessToken: 600 }, [opaqueAccessTokens]);
    await expect(
      service.mint({ grant: grant('p'), scope: 'PATIENT', client: client('jwt'), issuer: ISSUER, now, refresh: false }),
    ).rejects.toThrow(/no jwt access tokens/);
  });
});

describe('secrets chosen before the grant is read (preIssue)', () => {
  const service = () =>
    tokenService({ accessToken: 600 }, [opaqueAccessTokens, jwtAccessTokens(keys, 'https://api.example')]);

  it('mint issues exactly the pre-issued secrets, and the records the store was asked to keep', async () => {
    const s = service();
    const pre = s.preIssue(client('opaque'), now, true)!;
    expect(pre.accessHash).toBe(hashSecret(pre.access));
    expect(pre.refreshHash).toBe(hashSecret(pre.refresh!));
    expect(pre.accessExpiresAt).toBe(now + 600_000);
    const minted = await s.mint({
      grant: grant('p'),
      scope: 'records:read',
      client: client('opaque'),
      issuer: ISSUER,
      now,
      refresh: true,
      preIssued: pre,
    });
    expect(minted.response.access_token).toBe(pre.access);
    expect(minted.response.refresh_token).toBe(pre.refresh);
    expect(minted.access).toMatchObject({ hash: pre.accessHash, expiresAt: pre.accessExpiresAt, format: 'opaque' });
    expect(minted.refresh?.hash).toBe(pre.refreshHash);
  });

  it('gives no refresh secret to a client that may not refresh, and none at all for JWT access tokens', () => {
    const s = service();
    const noRefresh = { ...client('opaque'), grantTypes: ['authorization_code'] } as ClientRecord;
    expect(s.preIssue(noRefresh, now, true)).toMatchObject({ refresh: null, refreshHash: null });
    expect(s.preIssue(client('opaque'), now, false)).toMatchObject({ refresh: null, refreshHash: null });
    expect(s.preIssue(client('jwt'), now, true)).toBeUndefined();
  });
});
