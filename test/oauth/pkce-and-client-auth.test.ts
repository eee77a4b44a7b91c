import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticateClient, parseBasic } from '../../src/oauth/client-auth.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { paramsFrom, parseParams } from '../../src/oauth/params.js';
import { hashPassword, verifyPassword } from '../../src/oauth/passwords.js';
import { checkChallenge, verifyVerifier } from '../../src/oauth/pkce.js';
import { eligibleRoles, requestedScope } from '../../src/oauth/role-scope.js';
import { hashesMatch, hashSecret } from '../../src/oauth/tokens.js';
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
    accessTokenFormat: 'opaque',
    resourceServer: false,
    idTokenAlg: 'RS256',
    skipConsent: false,
    postLogoutRedirectUris: [],
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
      return `${e.code}/${e.status}`;
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
    ['wrong Basic secret', {}, basic('app id:1', 'nope'), 'invalid_client/401'],
    ['unknown client by Basic', {}, basic('who', secret), 'invalid_client/401'],
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
      result = requestedScope(scope, ['PATIENT', 'CLINICIAN']).role;
    } catch (err) {
      result = (err as OAuthError).code;
    }
    expect(result).toBe(expected);
  });

  it('finds the roles a person may use with a client', () => {
    expect(eligibleRoles(['CLINICIAN', 'PATIENT'], ['PATIENT', 'CLINICIAN', 'TEAMCOORD'])).toEqual([
      'PATIENT',
      'CLINICIAN',
    ]);
    expect(eligibleRoles(['CLINICIAN', 'PATIENT'], ['PATIENT', 'CLINICIAN'], 'CLINICIAN')).toEqual(['CLINICIAN']);
    expect(eligibleRoles(['TEAMCOORD'], ['PATIENT'])).toEqual([]);
  });
});

describe('secrets and passwords', () => {
  it('compares secret hashes', () => {
    expect(hashesMatch(hashSecret('abc'), hashSecret('abc'))).toBe(true);
    expect(hashesMatch(hashSecret('abd'), hashSecret('abc'))).toBe(false);
    expect(hashesMatch(hashSecret('abc'), 'short')).toBe(false);
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
    for (let i = 0; i < 5000; i++) expect(newId()).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{8}$/);
  });
});

describe('secrets', () => {
  it('are 256-bit base64url values, all different, across many blocks of the random pool', async () => {
    const { newSecret, newId } = await import('../../src/oauth/tokens.js');
    const seen = new Set<string>();
    // 4096-byte blocks: 20 000 secrets (and ids drawn between them) cross ~200 block boundaries.
    for (let i = 0; i < 20_000; i++) {
      const secret = newSecret();
      expect(secret).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
      seen.add(secret);
      if (i % 7 === 0) newId();
    }
    expect(seen.size).toBe(20_000);
  });

  it('use every bit: each of the 256 bit positions is set in about half of them', async () => {
    const { newSecret } = await import('../../src/oauth/tokens.js');
    const ones = new Array<number>(256).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(newSecret().slice(12), 'base64url');
      for (let bit = 0; bit < 256; bit++)
        ones[bit] = (ones[bit] as number) + (((bytes[bit >> 3] as number) >> (bit & 7)) & 1);
    }
    // Binomial(4000, 0.5): mean 2000, sd ≈ 32; 2000 ± 250 is ~8 sd.
    for (const count of ones) expect(Math.abs(count - n / 2)).toBeLessThan(250);
  });
});

describe('what the store keeps of a secret', () => {
  it('is 64 characters that keep the order in which secrets were made', async () => {
    const { newSecret } = await import('../../src/oauth/tokens.js');
    const secrets = [newSecret()];
    await new Promise((resolve) => setTimeout(resolve, 3));
    secrets.push(newSecret());
    const kept = secrets.map(hashSecret);
    for (const [i, hash] of kept.entries()) {
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hash.slice(0, 12)).toBe(secrets[i]?.slice(0, 12));
      expect(hash).not.toContain(secrets[i]?.slice(12, 20));
    }
    expect((kept[0] as string) < (kept[1] as string)).toBe(true);
  });

  it('is the whole SHA-256 for anything else (secrets issued before, and guesses)', async () => {
    const legacy = 'Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE';
    const sha = createHash('sha256').update(legacy).digest('hex');
    expect(hashSecret(legacy)).toBe(sha);
    expect(hashesMatch(hashSecret(legacy), sha)).toBe(true);
    expect(hashesMatch(hashSecret(`${legacy}x`), sha)).toBe(false);
  });
});
