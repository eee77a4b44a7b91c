import { describe, expect, it } from 'vitest';
import { authenticateClient, BasicAuthFailure, parseBasic } from '../../src/oauth/client-auth.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { paramsFrom, parseParams } from '../../src/oauth/params.js';
import { hashPassword, verifyPassword } from '../../src/oauth/passwords.js';
import { checkChallenge, verifyVerifier } from '../../src/oauth/pkce.js';
import { eligibleRoles, requestedRole } from '../../src/oauth/scope.js';
import { hashSecret, secretMatches } from '../../src/oauth/tokens.js';
import type { ClientRecord } from '../../src/store/store.js';

// RFC 7636 Appendix B.
const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as OAuthError).code;
  }
}

describe('PKCE (RFC 7636, S256 only)', () => {
  it.each([
    [challenge, 'S256', undefined],
    [undefined, undefined, undefined],
    [challenge, undefined, 'invalid_request'],
    [challenge, 'plain', 'invalid_request'],
    [challenge, 's256', 'invalid_request'],
    [undefined, 'S256', 'invalid_request'],
    ['tooshort', 'S256', 'invalid_request'],
    [`${challenge}A`, 'S256', 'invalid_request'],
    [challenge.replace('-', '+'), 'S256', 'invalid_request'],
  ])('challenge %s method %s → %s', (c, m, expected) => {
    expect(code(() => checkChallenge(c, m))).toBe(expected);
  });

  it.each([
    [verifier, challenge, undefined],
    [undefined, null, undefined],
    [verifier, null, 'invalid_grant'],
    [undefined, challenge, 'invalid_grant'],
    ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK', challenge, 'invalid_grant'],
    ['short', challenge, 'invalid_grant'],
    [`${verifier}!`, challenge, 'invalid_grant'],
    ['a'.repeat(129), challenge, 'invalid_grant'],
  ])('verifier %s against %s → %s', (v, c, expected) => {
    expect(code(() => verifyVerifier(v, c))).toBe(expected);
  });
});

describe('client authentication (RFC 6749 §2.3)', () => {
  const secret = 'the secret';
  const confidential: ClientRecord = {
    id: 'app id:1',
    name: 'App',
    secretHash: hashSecret(secret),
    redirectUris: [],
    scopes: ['PATIENT'],
    grantTypes: ['authorization_code'],
    pkceRequired: false,
    createdAt: 0,
    disabledAt: null,
  };
  const publicClient: ClientRecord = { ...confidential, id: 'pub', secretHash: null, pkceRequired: true };
  const store = { getClient: async (id: string) => ({ [confidential.id]: confidential, pub: publicClient })[id] };
  const basic = (id: string, s: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id).replace(/%20/g, '+')}:${encodeURIComponent(s).replace(/%20/g, '+')}`).toString('base64')}`;

  async function attempt(body: Record<string, string>, header?: string) {
    try {
      return (await authenticateClient(paramsFrom(body), header, store)).method;
    } catch (err) {
      const e = err as OAuthError;
      return `${e.code}/${e.status}${e instanceof BasicAuthFailure ? '/basic' : ''}`;
    }
  }

  it('decodes form-urlencoded Basic credentials', () => {
    expect(parseBasic(basic('app id:1', 'a+b%c'))).toEqual({ clientId: 'app id:1', secret: 'a+b%c' });
    expect(parseBasic('Bearer x')).toBeUndefined();
    expect(code(() => parseBasic('Basic !!!'))).toBe('invalid_client');
  });

  it.each([
    ['Basic', {}, basic('app id:1', secret), 'client_secret_basic'],
    ['basic in lower case', {}, basic('app id:1', secret).replace('Basic', 'basic'), 'client_secret_basic'],
    ['post', { client_id: 'app id:1', client_secret: secret }, undefined, 'client_secret_post'],
    ['public', { client_id: 'pub' }, undefined, 'none'],
    ['public with empty Basic password', {}, basic('pub', ''), 'none'],
    ['wrong Basic secret', {}, basic('app id:1', 'nope'), 'invalid_client/401/basic'],
    ['unknown client by Basic', {}, basic('who', secret), 'invalid_client/401/basic'],
    ['wrong post secret', { client_id: 'app id:1', client_secret: 'nope' }, undefined, 'invalid_client/401'],
    ['no secret for a confidential client', { client_id: 'app id:1' }, undefined, 'invalid_client/401'],
    ['nothing at all', {}, undefined, 'invalid_client/401'],
    ['a secret for a public client', { client_id: 'pub', client_secret: 'x' }, undefined, 'invalid_client/401'],
    ['two methods at once', { client_secret: secret }, basic('app id:1', secret), 'invalid_request/400'],
    ['client_id disagreeing with Basic', { client_id: 'pub' }, basic('app id:1', secret), 'invalid_request/400'],
    ['another scheme', { client_id: 'pub' }, 'Digest x', 'invalid_request/400'],
  ])('%s', async (_name, body, header, expected) => {
    expect(await attempt(body, header)).toBe(expected);
  });
});

describe('role scopes', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['patient', 'PATIENT'],
    ['Clinician', 'CLINICIAN'],
    ['PATIENT PATIENT', 'PATIENT'],
    ['ADMIN', 'invalid_scope'],
    ['PATIENT CLINICIAN', 'invalid_scope'],
    ['TEAMCOORD', 'invalid_scope'],
  ])('scope %s → %s', (scope, expected) => {
    let result: string | undefined;
    try {
      result = requestedRole(scope, ['PATIENT', 'CLINICIAN']);
    } catch (err) {
      result = (err as OAuthError).code;
    }
    expect(result).toBe(expected);
  });

  it('finds the roles a person may use with a client', () => {
    expect(eligibleRoles(['CLINICIAN', 'PATIENT'], ['PATIENT', 'CLINICIAN', 'TEAMCOORD'])).toEqual(['PATIENT', 'CLINICIAN']);
    expect(eligibleRoles(['CLINICIAN', 'PATIENT'], ['PATIENT', 'CLINICIAN'], 'CLINICIAN')).toEqual(['CLINICIAN']);
    expect(eligibleRoles(['TEAMCOORD'], ['PATIENT'])).toEqual([]);
  });
});

describe('secrets and passwords', () => {
  it('compares secret hashes', () => {
    expect(secretMatches('abc', hashSecret('abc'))).toBe(true);
    expect(secretMatches('abd', hashSecret('abc'))).toBe(false);
    expect(secretMatches('abc', 'short')).toBe(false);
  });

  it('hashes passwords with scrypt and verifies them', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
    expect(await verifyPassword('correct horse', 'garbage')).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(hash);
  });

  it('keeps every value of a repeated parameter', () => {
    expect(parseParams('a=1&a=2&b=x+y%2B')).toEqual(
      new Map([
        ['a', ['1', '2']],
        ['b', ['x y+']],
      ]),
    );
  });
});

describe('identifiers', () => {
  it('never start with - or _ (they are typed as command arguments)', async () => {
    const { newId } = await import('../../src/oauth/tokens.js');
    for (let i = 0; i < 5000; i++) expect(newId()).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{15}$/);
  });
});
