/**
 * RFC 7662 introspection and RFC 7009 revocation as protocol functions on a real store:
 * who sees which token (a client its own, a resource server every access token but no
 * other client's refresh token), what revocation ends (a refresh token its grant, an
 * access token itself, another client's token nothing), and the client_credentials scope
 * rule (RFC 6749 §4.4.2). Table-driven; the HTTP tests run the same over the wire.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientCredentialsGrant, clientCredentialsScope } from '../../src/oauth/grants/client-credentials.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { introspect, type IntrospectionResponse } from '../../src/oauth/introspection.js';
import { paramsFrom } from '../../src/oauth/params.js';
import { defaultProvider } from '../../src/oauth/provider.js';
import { revoke } from '../../src/oauth/revocation.js';
import { searchOrder } from '../../src/oauth/token-hint.js';
import { DEFAULT_LIFETIMES, hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import type { NewClient } from '../../src/services/clients.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { ClientRecord, GrantRecord, PersonRecord } from '../../src/store/store.js';
import { addClient, addTestUser, basic, tempStore } from '../helpers/harness.js';

const ISSUER = 'https://as.example';
const now = 1_800_000_000_000;

type Caller = 'app' | 'other' | 'rs' | 'pub';
type Owner = 'app' | 'other' | 'pub';
interface Issued {
  grant: GrantRecord;
  access: string;
  refresh: string;
}

let store: KyselyStore;
let cleanup: () => Promise<void>;
let alice: PersonRecord;
const secrets = new Map<Caller, string>();
const issued = new Map<Owner, Issued>();

/** A grant for alice with one access token and one refresh token, stored as the code grant stores them. */
async function issue(clientId: string): Promise<Issued> {
  const grant: GrantRecord = {
    id: newId(),
    personId: alice.id,
    clientId,
    scope: 'PATIENT',
    authTime: now,
    sessionId: null,
    createdAt: now,
    expiresAt: now + 3_600_000,
    revokedAt: null,
    nonce: null,
  };
  const code = hashSecret(newSecret());
  await store.createGrantWithCode(grant, {
    hash: code,
    grantId: grant.id,
    redirectUri: null,
    codeChallenge: null,
    expiresAt: now + 60_000,
    consumedAt: null,
  });
  const access = newSecret();
  const refresh = newSecret();
  const outcome = await store.consumeAuthorizationCode(
    code,
    now,
    {
      hash: hashSecret(access),
      grantId: grant.id,
      scope: 'PATIENT',
      format: 'opaque',
      jti: null,
      createdAt: now,
      expiresAt: now + 600_000,
    },
    { hash: hashSecret(refresh), grantId: grant.id, scope: 'PATIENT', expiresAt: grant.expiresAt, retiredAt: null },
  );
  expect(outcome).toBe('ok');
  return { grant, access, refresh };
}

async function setUp(): Promise<void> {
  ({ store, cleanup } = await tempStore());
  alice = await addTestUser(store, 'alice', ['PATIENT']);
  for (const [id, input] of [
    ['app', {}],
    ['other', {}],
    ['rs', { resourceServer: true, redirectUris: [] }],
    ['pub', { public: true }],
  ] as Array<[Caller, Partial<NewClient>]>) {
    const { secret } = await addClient(store, { id, ...input });
    if (secret) secrets.set(id, secret);
  }
  for (const owner of ['app', 'other', 'pub'] as const) issued.set(owner, await issue(owner));
}

async function tearDown(): Promise<void> {
  await cleanup();
  secrets.clear();
  issued.clear();
}

/** The caller's credentials as Basic, or its bare client_id in the body for the public client. */
function credentials(caller: Caller): { authorization: string | undefined; extra: Record<string, string> } {
  const secret = secrets.get(caller);
  return secret === undefined
    ? { authorization: undefined, extra: { client_id: caller } }
    : { authorization: basic(caller, secret), extra: {} };
}

function introspectAs(caller: Caller, token: string, hint?: string, at = now): Promise<IntrospectionResponse> {
  const { authorization, extra } = credentials(caller);
  return introspect(
    { params: paramsFrom({ token, token_type_hint: hint, ...extra }), authorization },
    { store, issuer: ISSUER, now: at },
  );
}

function revokeAs(caller: Caller, token: string, hint?: string): Promise<void> {
  const { authorization, extra } = credentials(caller);
  return revoke(
    { params: paramsFrom({ token, token_type_hint: hint, ...extra }), authorization },
    { store, now: now + 1000 },
  );
}

const tokenOf = (owner: Owner, kind: 'access' | 'refresh'): string => (issued.get(owner) as Issued)[kind];

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return err.code;
  }
}

describe('introspection: who sees which token (RFC 7662 §4)', () => {
  beforeEach(setUp);
  afterEach(tearDown);

  it.each([
    ['app', 'app', 'access', true],
    ['app', 'app', 'refresh', true],
    ['app', 'other', 'access', false],
    ['app', 'other', 'refresh', false],
    ['other', 'app', 'access', false],
    ['rs', 'app', 'access', true],
    ['rs', 'other', 'access', true],
    ['rs', 'pub', 'access', true],
    ['rs', 'app', 'refresh', false],
    ['rs', 'pub', 'refresh', false],
  ] as const)('%s introspecting the %s client’s %s token: active %s', async (caller, owner, kind, active) => {
    for (const hint of [undefined, 'access_token', 'refresh_token', 'something_else']) {
      const answer = await introspectAs(caller, tokenOf(owner, kind), hint);
      if (active) expect(answer).toMatchObject({ active: true, client_id: owner, sub: alice.id });
      else expect(answer).toStrictEqual({ active: false });
    }
  });

  it('answers an active access token with every RFC 7662 §2.2 field, in seconds, and a refresh token alike', async () => {
    expect(await introspectAs('app', tokenOf('app', 'access'))).toStrictEqual({
      active: true,
      scope: 'PATIENT',
      client_id: 'app',
      sub: alice.id,
      username: 'alice',
      token_type: 'Bearer',
      exp: (now + 600_000) / 1000,
      iat: now / 1000,
      iss: ISSUER,
    });
    expect(await introspectAs('app', tokenOf('app', 'refresh'))).toStrictEqual({
      active: true,
      scope: 'PATIENT',
      client_id: 'app',
      sub: alice.id,
      username: 'alice',
      token_type: 'refresh_token',
      exp: (now + 3_600_000) / 1000,
      iat: now / 1000,
      iss: ISSUER,
    });
  });

  it('adds a JWT access token’s own aud and its jti (RFC 9068 §2.2), for its client and a resource server', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const jti = newId();
    const aud = ['https://api.example', 'https://other.example'];
    // Shaped as the JWT strategy issues it; introspection reads the claims of a token it found by hash.
    const jwt = `${part({ typ: 'at+jwt', alg: 'ES256' })}.${part({ aud, jti, sub: alice.id })}.c2lnbmF0dXJl`;
    const { grant } = issued.get('app') as Issued;
    const jwtGrant = { ...grant, id: newId() };
    await store.createGrantWithAccessToken(jwtGrant, {
      hash: hashSecret(jwt),
      grantId: jwtGrant.id,
      scope: 'PATIENT',
      format: 'jwt',
      jti,
      createdAt: now,
      expiresAt: now + 600_000,
    });
    for (const caller of ['app', 'rs'] as const) {
      expect(await introspectAs(caller, jwt)).toStrictEqual({
        active: true,
        scope: 'PATIENT',
        client_id: 'app',
        sub: alice.id,
        username: 'alice',
        token_type: 'Bearer',
        exp: (now + 600_000) / 1000,
        iat: now / 1000,
        iss: ISSUER,
        aud,
        jti,
      });
    }
    expect(await introspectAs('other', jwt)).toStrictEqual({ active: false });
  });

  it.each([
    ['the access token past its expiry', 'access', now + 600_000],
    ['the refresh token past the grant’s end', 'refresh', now + 3_600_000],
  ] as const)('answers %s inactive', async (_name, kind, at) => {
    expect(await introspectAs('app', tokenOf('app', kind), undefined, at - 1)).toMatchObject({ active: true });
    expect(await introspectAs('app', tokenOf('app', kind), undefined, at)).toStrictEqual({ active: false });
  });

  it.each([
    ['an unknown token', newSecret()],
    ['a malformed token', 'not a token at all \u00e9'],
    ['a token of another kind of thing (a client secret)', 'secret'],
  ])('answers %s inactive', async (_name, token) => {
    expect(await introspectAs('app', token === 'secret' ? (secrets.get('app') as string) : token)).toStrictEqual({
      active: false,
    });
  });

  it('refuses a public client as the caller, even for its own token', async () => {
    expect(await errorCode(introspectAs('pub', tokenOf('pub', 'access')))).toBe('invalid_client');
  });

  it.each([
    ['no credentials', undefined, {}, 'invalid_client'],
    ['a wrong secret', basic('app', 'wrong'), {}, 'invalid_client'],
    ['an unknown client', basic('nobody', 'x'), {}, 'invalid_client'],
    ['two methods at once', 'basic', { client_secret: 'x' }, 'invalid_request'],
    ['no token', 'basic', { token: undefined }, 'invalid_request'],
  ] as const)('refuses a request with %s', async (_name, authorization, extra, expected) => {
    const auth = authorization === 'basic' ? basic('app', secrets.get('app') as string) : authorization;
    const params = paramsFrom({ token: tokenOf('app', 'access'), ...extra });
    expect(await errorCode(introspect({ params, authorization: auth }, { store, issuer: ISSUER, now }))).toBe(expected);
    expect(await errorCode(revoke({ params, authorization: auth }, { store, now }))).toBe(expected);
  });
});

describe('revocation: what a revocation ends (RFC 7009 §2.1)', () => {
  beforeEach(setUp);
  afterEach(tearDown);

  it.each([
    // caller, owner, kind revoked, then: [access active, refresh active] of the owner's grant
    ['app', 'app', 'refresh', [false, false]],
    ['app', 'app', 'access', [false, true]],
    ['pub', 'pub', 'refresh', [false, false]],
    ['pub', 'pub', 'access', [false, true]],
    ['app', 'other', 'refresh', [true, true]],
    ['app', 'other', 'access', [true, true]],
    ['rs', 'app', 'access', [true, true]],
    ['pub', 'app', 'refresh', [true, true]],
  ] as const)('%s revoking the %s client’s %s token', async (caller, owner, kind, [accessAfter, refreshAfter]) => {
    const viewer = owner === 'pub' ? 'rs' : owner;
    // Every hint, and the wrong one, finds the token; revoking twice is as good as once.
    for (const hint of ['access_token', 'refresh_token', undefined]) {
      await expect(revokeAs(caller, tokenOf(owner, kind), hint)).resolves.toBeUndefined();
    }
    expect((await introspectAs(viewer, tokenOf(owner, 'access'))).active).toBe(accessAfter);
    if (viewer !== 'rs') expect((await introspectAs(viewer, tokenOf(owner, 'refresh'))).active).toBe(refreshAfter);
    const grant = (await store.findRefreshToken(hashSecret(tokenOf(owner, 'refresh'))))?.grant;
    expect(grant?.revokedAt).toBe(refreshAfter ? null : now + 1000);
  });

  it('answers an unknown or already revoked token without error', async () => {
    await expect(revokeAs('app', newSecret())).resolves.toBeUndefined();
    await revokeAs('app', tokenOf('app', 'access'));
    await expect(revokeAs('app', tokenOf('app', 'access'))).resolves.toBeUndefined();
  });
});

describe('token_type_hint orders the search (RFC 7009 §2.1, RFC 7662 §2.1)', () => {
  it.each([
    [undefined, ['access_token', 'refresh_token']],
    ['access_token', ['access_token', 'refresh_token']],
    ['refresh_token', ['refresh_token', 'access_token']],
    ['id_token', ['access_token', 'refresh_token']],
  ])('hint %s → %j', (hint, order) => {
    expect(searchOrder(hint)).toEqual(order);
  });
});

describe('the client_credentials scope (RFC 6749 §4.4.2)', () => {
  const client = { scopes: ['PATIENT', 'records.read', 'openid', 'records.write'] };
  it.each([
    [undefined, 'records.read records.write', undefined],
    ['', 'records.read records.write', undefined],
    ['records.write', 'records.write', undefined],
    ['records.write records.read records.write', 'records.write records.read', undefined],
    ['PATIENT', undefined, 'invalid_scope'],
    ['patient records.read', undefined, 'invalid_scope'],
    ['openid', undefined, 'invalid_scope'],
    ['records.delete', undefined, 'invalid_scope'],
    ['Records.read', undefined, 'invalid_scope'],
  ])('scope %j → %j %s', (requested, scope, error) => {
    let outcome: { scope?: string; error?: string };
    try {
      outcome = { scope: clientCredentialsScope(requested, client) };
    } catch (err) {
      outcome = { error: (err as OAuthError).code };
    }
    expect(outcome).toStrictEqual(error === undefined ? { scope } : { error });
  });

  it('gives a client enabled for no API scope an empty scope', () => {
    expect(clientCredentialsScope(undefined, { scopes: ['PATIENT', 'openid'] })).toBe('');
  });
});

describe('the client_credentials grant refuses a client without a secret (RFC 6749 §4.4)', () => {
  beforeEach(setUp);
  afterEach(tearDown);

  it('is unauthorized_client before anything is written, even if registered for the grant', async () => {
    const pub = { ...((await store.getClient('pub')) as ClientRecord), grantTypes: ['client_credentials' as const] };
    const deps = { store, tokens: defaultProvider(DEFAULT_LIFETIMES).tokens, issuer: ISSUER, now };
    expect(await errorCode(clientCredentialsGrant.handle(new Map(), pub, deps))).toBe('unauthorized_client');
    const confidential = { ...pub, secretHash: hashSecret('s') };
    const { response: issuedNow } = await clientCredentialsGrant.handle(new Map(), confidential, deps);
    expect(issuedNow).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: '' });
    expect((await store.findAccessToken(hashSecret(issuedNow.access_token)))?.grant.personId).toBeNull();
  });
});
