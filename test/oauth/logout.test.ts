/**
 * The logout decision table (oauth/logout.ts), without HTTP: the hint × client_id ×
 * post_logout_redirect_uri rules of RP-Initiated Logout 1.0 §2–§4, whether the person is
 * asked, and the parameters read.
 */
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/oauth/errors.js';
import { logoutEndpoint } from '../../src/oauth/endpoints.js';
import {
  checkLogoutRequest,
  logoutQuery,
  needsConfirmation,
  readLogoutRequest,
  type CheckedLogout,
  type LogoutRequest,
} from '../../src/oauth/logout.js';
import type { SignedIn } from '../../src/oauth/interaction.js';
import { parseParams } from '../../src/oauth/params.js';
import type { ClientRecord, PersonRecord } from '../../src/store/store.js';

const ISSUER = 'https://id.example';
const BACK = 'https://a.example/bye';
const B_BACK = 'https://b.example/bye';

function client(id: string, postLogoutRedirectUris: string[], disabledAt: number | null = null): ClientRecord {
  return {
    id,
    name: id.toUpperCase(),
    secretHash: null,
    redirectUris: [`https://${id}.example/cb`],
    scopes: ['PATIENT', 'openid'],
    grantTypes: ['authorization_code'],
    pkceRequired: true,
    accessTokenFormat: 'opaque',
    resourceServer: false,
    idTokenAlg: 'RS256',
    skipConsent: false,
    postLogoutRedirectUris,
    createdAt: 0,
    disabledAt,
  };
}

const CLIENTS = new Map([
  ['a', client('a', [BACK, `${BACK}?from=tessera`])],
  ['b', client('b', [B_BACK])],
  ['off', client('off', ['https://off.example/bye'], 1)],
]);

let jwks: JSONWebKeySet;
let sign: (claims: Record<string, unknown>) => Promise<string>;
let forge: (claims: Record<string, unknown>) => Promise<string>;

beforeAll(async () => {
  const ours = await generateKeyPair('RS256', { extractable: true });
  const theirs = await generateKeyPair('RS256');
  jwks = { keys: [{ ...(await exportJWK(ours.publicKey)), kid: 'k1', alg: 'RS256' }] };
  const make = (key: CryptoKey) => (claims: Record<string, unknown>) =>
    new SignJWT({ iss: ISSUER, sub: 'person-1', aud: 'a', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt(1_000)
      .setExpirationTime(2_000) // long expired: a hint still counts
      .sign(key);
  sign = make(ours.privateKey);
  forge = make(theirs.privateKey);
});

const deps = () => ({
  store: { getClient: async (id: string) => CLIENTS.get(id) },
  issuer: ISSUER,
  jwks: async () => jwks,
});

const check = (request: LogoutRequest) => checkLogoutRequest(deps(), request);

type Hint = 'none' | 'valid' | 'valid, aud b' | 'valid, aud a and b' | 'forged' | 'other issuer' | 'garbage';

async function hint(kind: Hint): Promise<string | undefined> {
  switch (kind) {
    case 'none':
      return undefined;
    case 'valid':
      return sign({});
    case 'valid, aud b':
      return sign({ aud: 'b' });
    case 'valid, aud a and b':
      return sign({ aud: ['a', 'b'] });
    case 'forged':
      return forge({});
    case 'other issuer':
      return sign({ iss: 'https://evil.example' });
    case 'garbage':
      return 'eyJhbGciOiJub25lIn0.e30.';
  }
}

describe('checkLogoutRequest: which client, and whether post_logout_redirect_uri is followed', () => {
  // hint, client_id, post_logout_redirect_uri, state → client, location or why not
  const table: [
    Hint,
    string | undefined,
    string | undefined,
    string | undefined,
    Partial<CheckedLogout> & { clientId?: string },
  ][] = [
    ['valid', undefined, BACK, undefined, { clientId: 'a', location: BACK }],
    ['valid', undefined, BACK, 'x y', { clientId: 'a', location: `${BACK}?state=x%20y` }],
    ['valid', undefined, `${BACK}?from=tessera`, 's', { clientId: 'a', location: `${BACK}?from=tessera&state=s` }],
    ['valid', 'a', BACK, undefined, { clientId: 'a', location: BACK }],
    ['valid', undefined, B_BACK, undefined, { clientId: 'a', notFollowed: 'unregistered' }],
    ['valid', undefined, `${BACK}/`, undefined, { clientId: 'a', notFollowed: 'unregistered' }],
    ['valid', undefined, `${BACK}?from=elsewhere`, undefined, { clientId: 'a', notFollowed: 'unregistered' }],
    ['valid', undefined, undefined, 's', { clientId: 'a' }],
    ['valid, aud b', undefined, B_BACK, undefined, { clientId: 'b', location: B_BACK }],
    ['valid, aud a and b', undefined, BACK, undefined, { notFollowed: 'no-client' }],
    ['valid, aud a and b', 'b', B_BACK, undefined, { clientId: 'b', location: B_BACK }],
    ['none', 'a', BACK, 'st', { clientId: 'a', location: `${BACK}?state=st` }],
    ['none', 'b', BACK, undefined, { clientId: 'b', notFollowed: 'unregistered' }],
    ['none', undefined, BACK, undefined, { notFollowed: 'no-client' }],
    ['none', undefined, undefined, undefined, {}],
    ['forged', undefined, BACK, undefined, { notFollowed: 'invalid-hint' }],
    ['forged', 'a', BACK, undefined, { clientId: 'a', notFollowed: 'invalid-hint' }],
    ['other issuer', 'a', BACK, undefined, { clientId: 'a', notFollowed: 'invalid-hint' }],
    ['garbage', 'a', BACK, undefined, { clientId: 'a', notFollowed: 'invalid-hint' }],
    ['garbage', undefined, undefined, undefined, {}],
  ];

  it.each(table)('hint %s, client_id %s, uri %s, state %s', async (kind, clientId, uri, state, expected) => {
    const idTokenHint = await hint(kind);
    const checked = await check({
      ...(idTokenHint !== undefined && { idTokenHint }),
      ...(clientId !== undefined && { clientId }),
      ...(uri !== undefined && { postLogoutRedirectUri: uri }),
      ...(state !== undefined && { state }),
    });
    expect(checked.client?.id).toBe(expected.clientId);
    expect(checked.location).toBe(expected.location);
    expect(checked.notFollowed).toBe(expected.notFollowed);
    expect(checked.hint !== undefined).toBe(kind.startsWith('valid'));
  });

  it.each([
    ['valid', 'b', 'is not the client the id_token_hint was issued to'],
    ['valid, aud b', 'a', 'is not the client the id_token_hint was issued to'],
    ['none', 'nope', 'is not a registered client'],
    ['none', 'off', 'is not a registered client'],
    ['forged', 'nope', 'is not a registered client'],
  ] as const)('hint %s with client_id %s is invalid_request, shown on a page', async (kind, clientId, words) => {
    const idTokenHint = await hint(kind);
    const error = await check({ ...(idTokenHint !== undefined && { idTokenHint }), clientId }).catch((e) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.code).toBe('invalid_request');
    expect(error.redirectable).toBe(false);
    expect(error.description).toContain(words);
  });

  it('a valid hint whose client is disabled names no client: nothing is followed', async () => {
    const checked = await check({
      idTokenHint: await sign({ aud: 'off' }),
      postLogoutRedirectUri: 'https://off.example/bye',
    });
    expect(checked.client).toBeUndefined();
    expect(checked.notFollowed).toBe('no-client');
  });
});

describe('needsConfirmation', () => {
  const person = (id: string) => ({ id }) as PersonRecord;
  const who = (id: string) => ({ person: person(id), session: {} }) as SignedIn;
  const valid = (sub: string): CheckedLogout => ({ hint: { sub, audience: ['a'] } });

  it.each([
    ['no one signed in, no hint', {}, undefined, false],
    ['no one signed in, a hint', valid('person-1'), undefined, false],
    ['signed in, the hint names them', valid('person-1'), who('person-1'), false],
    ['signed in, the hint names someone else', valid('person-2'), who('person-1'), true],
    ['signed in, no valid hint', {}, who('person-1'), true],
  ] as [string, CheckedLogout, SignedIn | undefined, boolean][])('%s → %s', (_name, checked, signedIn, asks) => {
    expect(needsConfirmation(checked, signedIn)).toBe(asks);
  });
});

describe('readLogoutRequest', () => {
  it('reads the four parameters, empty ones as absent, and ignores the rest', () => {
    expect(
      readLogoutRequest(
        parseParams(
          'id_token_hint=h&client_id=c&post_logout_redirect_uri=https%3A%2F%2Fa.example%2Fbye&state=&ui_locales=de&x=1',
        ),
      ),
    ).toEqual({ idTokenHint: 'h', clientId: 'c', postLogoutRedirectUri: BACK });
  });

  it.each([
    'client_id=a&client_id=b',
    'state=1&state=2',
    'ui_locales=de&ui_locales=fr',
    'state=%00',
    'id_token_hint=%C3',
    `post_logout_redirect_uri=${'a'.repeat(4097)}`,
  ])('%s is invalid_request, shown on a page', (query) => {
    let error: unknown;
    try {
      readLogoutRequest(parseParams(query));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).code).toBe('invalid_request');
    expect((error as OAuthError).redirectable).toBe(false);
  });

  it('logoutQuery writes back exactly what was read', () => {
    const request = { idTokenHint: 'h.h.h', clientId: 'c', postLogoutRedirectUri: BACK, state: 'a b&c' };
    expect(readLogoutRequest(parseParams(logoutQuery(request)))).toEqual(request);
    expect(logoutQuery({})).toBe('');
  });
});

it('the endpoint advertises end_session_endpoint in the OpenID document only', () => {
  expect(logoutEndpoint.paths).toEqual(['/oauth2/logout']);
  expect(logoutEndpoint.openidMetadata?.(ISSUER)).toEqual({ end_session_endpoint: `${ISSUER}/oauth2/logout` });
  expect(logoutEndpoint.metadata).toBeUndefined();
});
