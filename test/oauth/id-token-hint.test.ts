/**
 * `id_token_hint` (OpenID Connect Core 1.0 §3.1.2.1): trusted only when it verifies with a
 * published key of this server and names this server as its issuer; an expired one counts.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { readIdTokenHint } from '../../src/oauth/id-token-hint.js';
import { sessionSid } from '../../src/oauth/tokens.js';

const ISSUER = 'https://id.example';

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, jwk, kid };
}

describe('readIdTokenHint', async () => {
  const ours = await keyPair('ours');
  const foreign = await keyPair('foreign');
  const jwks = { keys: [ours.jwk] };
  const sign = (
    claims: Record<string, unknown>,
    key = ours,
    times: { iat: number; exp: number } = { iat: Date.now() / 1000, exp: Date.now() / 1000 + 300 },
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuedAt(Math.floor(times.iat))
      .setExpirationTime(Math.floor(times.exp))
      .sign(key.privateKey);

  it('reads sub, aud and sid of a genuine hint', async () => {
    const hint = await sign({ iss: ISSUER, sub: 'person-1', aud: 'app', sid: 'sid-1' });
    expect(await readIdTokenHint(hint, ISSUER, jwks)).toEqual({ sub: 'person-1', audience: ['app'], sid: 'sid-1' });
    const many = await sign({ iss: ISSUER, sub: 'person-1', aud: ['app', 'other'] });
    expect(await readIdTokenHint(many, ISSUER, jwks)).toEqual({ sub: 'person-1', audience: ['app', 'other'] });
  });

  it('accepts an expired hint', async () => {
    const old = Date.now() / 1000 - 86_400;
    const hint = await sign({ iss: ISSUER, sub: 'person-1', aud: 'app' }, ours, { iat: old, exp: old + 300 });
    expect((await readIdTokenHint(hint, ISSUER, jwks))?.sub).toBe('person-1');
  });

  it.each([
    ['signed by a key that is not published', async () => sign({ iss: ISSUER, sub: 'p', aud: 'app' }, foreign)],
    ['from another issuer', async () => sign({ iss: 'https://evil.example', sub: 'p', aud: 'app' })],
    ['without a subject', async () => sign({ iss: ISSUER, aud: 'app' })],
    [
      'with its payload changed',
      async () => {
        const [h, , s] = (await sign({ iss: ISSUER, sub: 'p', aud: 'app' })).split('.');
        const payload = Buffer.from(JSON.stringify({ iss: ISSUER, sub: 'someone-else', aud: 'app' })).toString(
          'base64url',
        );
        return `${h}.${payload}.${s}`;
      },
    ],
    [
      'unsigned (alg none)',
      async () => `eyJhbGciOiJub25lIn0.${Buffer.from('{"iss":"x","sub":"p"}').toString('base64url')}.`,
    ],
    ['not a JWT at all', async () => 'not-a-jwt'],
    ['empty', async () => ''],
  ])('refuses a hint %s', async (_name, make) => {
    expect(await readIdTokenHint(await make(), ISSUER, jwks)).toBeUndefined();
  });

  it('derives a session sid that is not the stored hash and is stable', () => {
    expect(sessionSid('abc')).toBe(sessionSid('abc'));
    expect(sessionSid('abc')).not.toBe(sessionSid('abd'));
    expect(sessionSid('abc')).not.toContain('abc');
    expect(sessionSid('abc')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
