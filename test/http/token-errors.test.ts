/**
 * The token endpoint on the real app: every RFC 6749 §5.2 error of the token endpoint with its
 * status and headers, client authentication (Basic with §2.3.1 form-encoding, body,
 * public), PKCE, code replay, refresh rotation and family revocation, session lifetime.
 */
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  addUser,
  authorizeThroughPages,
  basic,
  codeThroughPages,
  form,
  PASSWORD,
  pkcePair,
  postToken,
  testApp,
  type TestApp,
  type TokenCallOptions,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const CB2 = 'https://app.example/cb2';

let t: TestApp;
let conf: { id: string; secret: string };

async function setUp(options: Parameters<typeof testApp>[0] = {}): Promise<void> {
  t = await testApp(options);
  const { client, secret } = await addClient(t.store, { id: 'conf', redirectUris: [CB] });
  conf = { id: client.id, secret: secret as string };
  await addTestUser(t.store, 'alice', ['PATIENT', 'CLINICIAN'], 'Alice Patel');
}

afterEach(async () => {
  await t.close();
});

const confBasic = (): TokenCallOptions => ({ authorization: basic(conf.id, conf.secret) });

/** Every token endpoint answer, success or error (RFC 6749 §5.1). */
function expectTokenHeaders(res: LightMyRequestResponse): void {
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
}

function expectError(res: LightMyRequestResponse, status: number, error: string): void {
  expectTokenHeaders(res);
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(body.error).toBe(error);
  expect(body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
  expect(body.access_token).toBeUndefined();
  expect(body.refresh_token).toBeUndefined();
}

interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

function expectTokens(res: LightMyRequestResponse, scope = 'PATIENT'): Tokens {
  expectTokenHeaders(res);
  expect(res.statusCode).toBe(200);
  const body = res.json() as Tokens;
  expect(body.access_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBe(600);
  expect(body.scope).toBe(scope);
  return body;
}

/** A code for `clientId`, through the real pages. */
async function codeFor(clientId: string, query: Record<string, string | undefined> = {}): Promise<string> {
  return codeThroughPages(t.app, { query: { response_type: 'code', client_id: clientId, scope: 'PATIENT', ...query } });
}

async function exchange(
  code: string,
  extra: Record<string, string | string[] | undefined> = {},
  options: TokenCallOptions = confBasic(),
): Promise<LightMyRequestResponse> {
  return postToken(t.app, { grant_type: 'authorization_code', code, ...extra }, options);
}

async function me(accessToken: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${accessToken}` } });
}

async function refresh(
  refreshToken: string,
  extra: Record<string, string | undefined> = {},
  options: TokenCallOptions = confBasic(),
): Promise<LightMyRequestResponse> {
  return postToken(t.app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, options);
}

describe('success', () => {
  beforeEach(async () => setUp());

  it('client_secret_basic: the RFC 6749 §5.1 response in PKB field order', async () => {
    const res = await exchange(await codeFor('conf'), {}, confBasic());
    const body = expectTokens(res);
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope']);
    expect(body.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(body.refresh_token).not.toBe(body.access_token);
  });

  it('client_secret_post works', async () => {
    const res = await exchange(await codeFor('conf'), { client_id: conf.id, client_secret: conf.secret }, {});
    expectTokens(res);
  });

  it('Basic with a matching client_id in the body works', async () => {
    expectTokens(await exchange(await codeFor('conf'), { client_id: conf.id }, confBasic()));
  });

  it('a form Content-Type with a charset parameter is accepted', async () => {
    const res = await exchange(
      await codeFor('conf'),
      {},
      { ...confBasic(), contentType: 'application/x-www-form-urlencoded; charset=UTF-8' },
    );
    expectTokens(res);
  });

  it('the /oauth2/token alias works for both grants', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, { ...confBasic(), url: '/oauth2/token' }));
    const second = expectTokens(
      await refresh(first.refresh_token as string, {}, { ...confBasic(), url: '/oauth2/token' }),
    );
    expect(second.refresh_token).not.toBe(first.refresh_token);
  });

  it('a code obtained through /oauth2/authorize is redeemed at /apiToken.action', async () => {
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'conf', scope: 'PATIENT' },
      authorizePath: '/oauth2/authorize',
    });
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('redirect_uri equal to the one sent in the authorization request works', async () => {
    const code = await codeFor('conf', { redirect_uri: CB });
    expectTokens(await exchange(code, { redirect_uri: CB }, confBasic()));
  });

  it('with several registered URIs, the one that was sent is the one to repeat', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB, CB2] });
    const code = await codeFor(client.id, { redirect_uri: CB2 });
    const auth = { authorization: basic(client.id, secret as string) };
    expectError(await exchange(code, { redirect_uri: CB }, auth), 400, 'invalid_grant');
    expectTokens(await exchange(code, { redirect_uri: CB2 }, auth));
  });

  it('a public client with PKCE sends only client_id and code_verifier', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], public: true });
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(client.id, { code_challenge: challenge, code_challenge_method: 'S256' });
    const body = expectTokens(await exchange(code, { client_id: client.id, code_verifier: verifier }, {}));
    expect(body.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    // And refreshes with only its client_id.
    expectTokens(await refresh(body.refresh_token as string, { client_id: client.id }, {}));
  });

  it('a public client may send Basic with an empty password', async () => {
    const { client } = await addClient(t.store, { id: 'public-basic', redirectUris: [CB], public: true });
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(client.id, { code_challenge: challenge, code_challenge_method: 'S256' });
    expectTokens(await exchange(code, { code_verifier: verifier }, { authorization: basic(client.id, '') }));
  });

  it('a confidential client may use PKCE too', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeFor('conf', { code_challenge: challenge, code_challenge_method: 'S256' });
    expectTokens(await exchange(code, { code_verifier: verifier }, confBasic()));
  });

  it('a public client registered with pkce optional works without PKCE (PKB’s documented request)', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], public: true, pkce: 'optional' });
    const code = await codeFor(client.id);
    const body = expectTokens(await exchange(code, { client_id: client.id, redirect_uri: undefined }, {}));
    expect(body.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  });

  it('a public client registered with pkce optional that sent a code_challenge must send the verifier', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], public: true, pkce: 'optional' });
    const { verifier, challenge } = pkcePair();
    const code = await codeFor(client.id, { code_challenge: challenge, code_challenge_method: 'S256' });
    expectError(await exchange(code, { client_id: client.id }, {}), 400, 'invalid_grant');
    const code2 = await codeFor(client.id, { code_challenge: challenge, code_challenge_method: 'S256' });
    expectTokens(await exchange(code2, { client_id: client.id, code_verifier: verifier }, {}));
  });

  it('refresh tokens rotate: each use returns a new one, and the tokens work', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    const seen = new Set([first.refresh_token]);
    let current = first;
    for (let i = 0; i < 3; i += 1) {
      const next = expectTokens(await refresh(current.refresh_token as string));
      expect(Object.keys(next)).toEqual(['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope']);
      expect(seen.has(next.refresh_token)).toBe(false);
      expect(next.access_token).not.toBe(current.access_token);
      seen.add(next.refresh_token);
      current = next;
    }
    const res = await me(current.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ username: 'alice', scope: 'PATIENT', client_id: 'conf' });
  });

  it.each(['PATIENT', 'patient', ' PATIENT ', 'PATIENT PATIENT'])(
    'refresh with the same scope (%j) works',
    async (scope) => {
      const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
      expectTokens(await refresh(first.refresh_token as string, { scope }));
    },
  );

  it('refresh with client_secret_post works', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    expectTokens(await refresh(first.refresh_token as string, { client_id: conf.id, client_secret: conf.secret }, {}));
  });
});

describe('invalid_request (400)', () => {
  beforeEach(async () => setUp());

  it('grant_type missing', async () => {
    expectError(await postToken(t.app, { code: 'x' }, confBasic()), 400, 'invalid_request');
  });

  it('grant_type empty', async () => {
    expectError(await postToken(t.app, { grant_type: '', code: 'x' }, confBasic()), 400, 'invalid_request');
  });

  it('code missing', async () => {
    expectError(await postToken(t.app, { grant_type: 'authorization_code' }, confBasic()), 400, 'invalid_request');
  });

  it('refresh_token missing', async () => {
    expectError(await postToken(t.app, { grant_type: 'refresh_token' }, confBasic()), 400, 'invalid_request');
  });

  it.each([
    ['code', { grant_type: 'authorization_code', code: ['a', 'a'] }],
    ['grant_type', { grant_type: ['authorization_code', 'authorization_code'], code: 'a' }],
    ['redirect_uri', { grant_type: 'authorization_code', code: 'a', redirect_uri: [CB, CB] }],
    ['code_verifier', { grant_type: 'authorization_code', code: 'a', code_verifier: ['v', 'w'] }],
    ['refresh_token', { grant_type: 'refresh_token', refresh_token: ['r', 's'] }],
    ['scope', { grant_type: 'refresh_token', refresh_token: 'r', scope: ['PATIENT', 'PATIENT'] }],
  ])('a repeated %s parameter', async (_name, body) => {
    expectError(await postToken(t.app, body, confBasic()), 400, 'invalid_request');
  });

  it('a repeated parameter is refused even with a valid code, and the code stays unused', async () => {
    const code = await codeFor('conf');
    expectError(await exchange(code, { redirect_uri: [CB, CB2] }, confBasic()), 400, 'invalid_request');
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('repeated client_id or client_secret', async () => {
    expectError(
      await postToken(t.app, {
        grant_type: 'authorization_code',
        code: 'a',
        client_id: [conf.id, conf.id],
        client_secret: conf.secret,
      }),
      400,
      'invalid_request',
    );
    expectError(
      await postToken(t.app, {
        grant_type: 'authorization_code',
        code: 'a',
        client_id: conf.id,
        client_secret: [conf.secret, conf.secret],
      }),
      400,
      'invalid_request',
    );
  });

  it('a parameter over 4 KiB', async () => {
    expectError(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'c'.repeat(4097) }, confBasic()),
      400,
      'invalid_request',
    );
  });

  it('a body over 64 KiB is a 4xx with the token headers, not a 5xx', async () => {
    const res = await postToken(
      t.app,
      { grant_type: 'authorization_code', code: 'a', pad: 'p'.repeat(70 * 1024) },
      confBasic(),
    );
    expectError(res, 413, 'invalid_request');
  });

  it.each([
    ['application/json', JSON.stringify({ grant_type: 'authorization_code', code: 'a' })],
    ['text/plain', 'grant_type=authorization_code&code=a'],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nauthorization_code\r\n--x--\r\n',
    ],
  ])('Content-Type %s', async (contentType, payload) => {
    const code = await codeFor('conf');
    const res = await postToken(
      t.app,
      {},
      { ...confBasic(), contentType, payload: payload.replace('"a"', `"${code}"`).replace('code=a', `code=${code}`) },
    );
    expectError(res, 400, 'invalid_request');
    // Nothing was redeemed.
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('malformed JSON under application/json is invalid_request, not a 5xx', async () => {
    expectError(
      await postToken(t.app, {}, { ...confBasic(), contentType: 'application/json', payload: '{"grant_type":' }),
      400,
      'invalid_request',
    );
  });

  it('no body at all', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/apiToken.action',
      headers: { authorization: basic(conf.id, conf.secret) },
    });
    expectError(res, 400, 'invalid_request');
  });

  it('Basic and client_secret at once', async () => {
    const code = await codeFor('conf');
    expectError(await exchange(code, { client_secret: conf.secret }, confBasic()), 400, 'invalid_request');
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('client_id in the body differs from the Basic credentials', async () => {
    await addClient(t.store, { id: 'other', redirectUris: [CB] });
    expectError(await exchange(await codeFor('conf'), { client_id: 'other' }, confBasic()), 400, 'invalid_request');
  });
});

describe('invalid_client (401)', () => {
  beforeEach(async () => setUp());

  function expectBasicChallenge(res: LightMyRequestResponse): void {
    expectError(res, 401, 'invalid_client');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Basic realm="tessera"/);
  }

  it('unknown client in the body', async () => {
    expectBasicChallenge(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a', client_id: 'nobody', client_secret: 'x' }),
    );
  });

  it('unknown client via Basic: 401 with WWW-Authenticate Basic', async () => {
    expectBasicChallenge(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }, { authorization: basic('nobody', 'x') }),
    );
  });

  it('wrong secret via Basic: 401 with WWW-Authenticate Basic', async () => {
    const code = await codeFor('conf');
    expectBasicChallenge(await exchange(code, {}, { authorization: basic(conf.id, `${conf.secret}x`) }));
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('an empty secret via Basic for a confidential client', async () => {
    expectBasicChallenge(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }, { authorization: basic(conf.id, '') }),
    );
  });

  it('malformed Basic credentials', async () => {
    expectBasicChallenge(
      await postToken(
        t.app,
        { grant_type: 'authorization_code', code: 'a' },
        { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
      ),
    );
    expectBasicChallenge(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }, { authorization: 'Basic !!!' }),
    );
  });

  // RFC 9110 §15.5.2: a 401 always carries a challenge, however the client authenticated.
  it('wrong secret in the body: 401 with a challenge', async () => {
    const res = await postToken(t.app, {
      grant_type: 'authorization_code',
      code: 'a',
      client_id: conf.id,
      client_secret: 'wrong',
    });
    expectBasicChallenge(res);
  });

  it('a confidential client without its secret: 401 with a challenge', async () => {
    const code = await codeFor('conf');
    expectBasicChallenge(await exchange(code, { client_id: conf.id }, {}));
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('no client identification at all: 401 with a challenge', async () => {
    expectBasicChallenge(await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }));
  });

  it('a public client that sends a secret: 401', async () => {
    const { client } = await addClient(t.store, { redirectUris: [CB], public: true });
    expectError(
      await postToken(t.app, {
        grant_type: 'authorization_code',
        code: 'a',
        client_id: client.id,
        client_secret: 'made-up',
      }),
      401,
      'invalid_client',
    );
  });

  it('an unknown grant type is refused before the client is checked (password is unsupported_grant_type)', async () => {
    expectError(
      await postToken(t.app, { grant_type: 'password', client_id: conf.id, client_secret: 'wrong' }),
      400,
      'unsupported_grant_type',
    );
    expectError(
      await postToken(t.app, { grant_type: 'password', username: 'alice', password: 'x' }),
      400,
      'unsupported_grant_type',
    );
    expectError(
      await postToken(t.app, {
        grant_type: 'authorization_code',
        code: 'x',
        client_id: conf.id,
        client_secret: 'wrong',
      }),
      401,
      'invalid_client',
    );
  });
});

describe('Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)', () => {
  beforeEach(async () => setUp());

  it('a client_id with a space and a colon, encoded as a+b%3Ac', async () => {
    const { client, secret } = await addClient(t.store, { id: 'a b:c', redirectUris: [CB] });
    const code = await codeFor(client.id);
    const raw = `Basic ${Buffer.from(`a+b%3Ac:${secret}`).toString('base64')}`;
    expect(raw).toBe(basic('a b:c', secret as string));
    const body = expectTokens(await exchange(code, {}, { authorization: raw }));
    expect((await me(body.access_token)).json().client_id).toBe('a b:c');
  });

  it('percent-encoded characters of the id and the secret are decoded (%41 is A)', async () => {
    const { client, secret } = await addClient(t.store, { id: 'Abc+1', redirectUris: [CB] });
    const code = await codeFor(client.id);
    const everyCharEncoded = [...(secret as string)]
      .map((ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
      .join('');
    const raw = `Basic ${Buffer.from(`%41bc%2B1:${everyCharEncoded}`).toString('base64')}`;
    expectTokens(await exchange(code, {}, { authorization: raw }));
  });

  it('an unencoded + in the id is read as a space, so it names another client', async () => {
    const { client, secret } = await addClient(t.store, { id: 'x+y', redirectUris: [CB] });
    const unencoded = `Basic ${Buffer.from(`x+y:${secret}`).toString('base64')}`;
    expectError(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }, { authorization: unencoded }),
      401,
      'invalid_client',
    );
    const code = await codeFor(client.id);
    expectTokens(await exchange(code, {}, { authorization: basic('x+y', secret as string) }));
  });

  it('an unencoded colon in the id splits it at the wrong place; encoded it works', async () => {
    const { secret } = await addClient(t.store, { id: 'p:q', redirectUris: [CB] });
    const unencoded = `Basic ${Buffer.from(`p:q:${secret}`).toString('base64')}`;
    expectError(
      await postToken(t.app, { grant_type: 'authorization_code', code: 'a' }, { authorization: unencoded }),
      401,
      'invalid_client',
    );
    const code = await codeFor('p:q');
    expectTokens(await exchange(code, {}, { authorization: basic('p:q', secret as string) }));
  });

  it('invalid percent-encoding is invalid_client with a Basic challenge, not a 5xx', async () => {
    const res = await postToken(
      t.app,
      { grant_type: 'authorization_code', code: 'a' },
      {
        authorization: `Basic ${Buffer.from('%zz:secret').toString('base64')}`,
      },
    );
    expectError(res, 401, 'invalid_client');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Basic /);
  });

  it('the scheme name is case-insensitive', async () => {
    const code = await codeFor('conf');
    const header = basic(conf.id, conf.secret).replace(/^Basic/, 'bAsIc');
    expectTokens(await exchange(code, {}, { authorization: header }));
  });
});

describe('invalid_grant (400): codes', () => {
  beforeEach(async () => setUp());

  it('an unknown code', async () => {
    expectError(await exchange('A'.repeat(43), {}, confBasic()), 400, 'invalid_grant');
  });

  it('an expired code (after 60 s)', async () => {
    const code = await codeFor('conf');
    t.advance(61_000);
    expectError(await exchange(code, {}, confBasic()), 400, 'invalid_grant');
  });

  it('a code still works just before it expires', async () => {
    const code = await codeFor('conf');
    t.advance(50_000);
    expectTokens(await exchange(code, {}, confBasic()));
  });

  it('the code of another client', async () => {
    const { client: other, secret } = await addClient(t.store, { redirectUris: [CB] });
    const code = await codeFor('conf');
    expectError(await exchange(code, {}, { authorization: basic(other.id, secret as string) }), 400, 'invalid_grant');
  });

  it('redirect_uri missing when one was sent in the authorization request', async () => {
    const code = await codeFor('conf', { redirect_uri: CB });
    expectError(await exchange(code, {}, confBasic()), 400, 'invalid_grant');
  });

  it('redirect_uri different from the one sent in the authorization request', async () => {
    const code = await codeFor('conf', { redirect_uri: CB });
    expectError(await exchange(code, { redirect_uri: CB2 }, confBasic()), 400, 'invalid_grant');
  });

  it('redirect_uri that differs only by an added query parameter', async () => {
    const code = await codeFor('conf', { redirect_uri: `${CB}?x=1` });
    expectError(await exchange(code, { redirect_uri: CB }, confBasic()), 400, 'invalid_grant');
  });

  it('redirect_uri at the token endpoint that is not registered, when none was sent before', async () => {
    const code = await codeFor('conf');
    expectError(await exchange(code, { redirect_uri: 'https://evil.example/cb' }, confBasic()), 400, 'invalid_grant');
  });

  describe('PKCE', () => {
    let pair: { verifier: string; challenge: string };
    let code: string;
    beforeEach(async () => {
      pair = pkcePair();
      code = await codeFor('conf', { code_challenge: pair.challenge, code_challenge_method: 'S256' });
    });

    it('missing code_verifier', async () => {
      expectError(await exchange(code, {}, confBasic()), 400, 'invalid_grant');
    });

    it('wrong code_verifier', async () => {
      expectError(await exchange(code, { code_verifier: pkcePair().verifier }, confBasic()), 400, 'invalid_grant');
    });

    it.each([
      ['too short', 'a'.repeat(42)],
      ['too long', 'a'.repeat(129)],
      ['bad characters', `${'a'.repeat(42)}+/`],
    ])('malformed code_verifier (%s)', async (_what, verifier) => {
      expectError(await exchange(code, { code_verifier: verifier }, confBasic()), 400, 'invalid_grant');
    });

    it('the challenge itself instead of the verifier', async () => {
      expectError(await exchange(code, { code_verifier: pair.challenge }, confBasic()), 400, 'invalid_grant');
    });

    it('a failed verifier does not consume the code: the right one then works', async () => {
      expectError(await exchange(code, { code_verifier: pkcePair().verifier }, confBasic()), 400, 'invalid_grant');
      expectTokens(await exchange(code, { code_verifier: pair.verifier }, confBasic()));
    });
  });

  it('a code_verifier sent for a code issued without a challenge', async () => {
    const code = await codeFor('conf');
    expectError(await exchange(code, { code_verifier: pkcePair().verifier }, confBasic()), 400, 'invalid_grant');
  });

  it('a code presented twice fails, and every token issued from it is revoked', async () => {
    const code = await codeFor('conf');
    const first = expectTokens(await exchange(code, {}, confBasic()));
    expect((await me(first.access_token)).statusCode).toBe(200);
    expectError(await exchange(code, {}, confBasic()), 400, 'invalid_grant');
    const after = await me(first.access_token);
    expect(after.statusCode).toBe(401);
    expect(String(after.headers['www-authenticate'])).toContain('error="invalid_token"');
    expectError(await refresh(first.refresh_token as string), 400, 'invalid_grant');
  });

  it('a replayed code also revokes tokens already refreshed from it', async () => {
    const code = await codeFor('conf');
    const first = expectTokens(await exchange(code, {}, confBasic()));
    const second = expectTokens(await refresh(first.refresh_token as string));
    expectError(await exchange(code, {}, confBasic()), 400, 'invalid_grant');
    expect((await me(second.access_token)).statusCode).toBe(401);
    expectError(await refresh(second.refresh_token as string), 400, 'invalid_grant');
  });

  it('a refresh token is not a code, and a code is not a refresh token', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    expectError(await exchange(first.refresh_token as string, {}, confBasic()), 400, 'invalid_grant');
    expectError(await exchange(first.access_token, {}, confBasic()), 400, 'invalid_grant');
    const code = await codeFor('conf');
    expectError(await refresh(code), 400, 'invalid_grant');
    expectTokens(await exchange(code, {}, confBasic()));
  });
});

describe('invalid_grant (400): refresh tokens', () => {
  beforeEach(async () => setUp());

  it('an unknown refresh token', async () => {
    expectError(await refresh('B'.repeat(43)), 400, 'invalid_grant');
  });

  it('the refresh token of another client', async () => {
    const { client: other, secret } = await addClient(t.store, { redirectUris: [CB] });
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    expectError(
      await refresh(first.refresh_token as string, {}, { authorization: basic(other.id, secret as string) }),
      400,
      'invalid_grant',
    );
    // Not a reuse by the owner: the owner's family is untouched.
    expectTokens(await refresh(first.refresh_token as string));
  });

  it('a retired refresh token revokes the whole family', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    const second = expectTokens(await refresh(first.refresh_token as string));
    const third = expectTokens(await refresh(second.refresh_token as string));
    expect((await me(third.access_token)).statusCode).toBe(200);

    expectError(await refresh(first.refresh_token as string), 400, 'invalid_grant');

    expectError(await refresh(third.refresh_token as string), 400, 'invalid_grant');
    for (const token of [first.access_token, second.access_token, third.access_token]) {
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(String(res.headers['www-authenticate'])).toContain('error="invalid_token"');
    }
  });

  it('reuse of the just-rotated token also revokes', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    const second = expectTokens(await refresh(first.refresh_token as string));
    expectError(await refresh(first.refresh_token as string), 400, 'invalid_grant');
    expectError(await refresh(second.refresh_token as string), 400, 'invalid_grant');
  });

  it('revocation stays within the family: another authorization of the same person and client keeps working', async () => {
    const a = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    const b = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    expectTokens(await refresh(a.refresh_token as string));
    expectError(await refresh(a.refresh_token as string), 400, 'invalid_grant');
    expect((await me(b.access_token)).statusCode).toBe(200);
    expectTokens(await refresh(b.refresh_token as string));
  });
});

describe('the authorization session lifetime', () => {
  beforeEach(async () => setUp({ lifetimes: { grant: 120 } }));

  it('refresh works inside the session and fails with invalid_grant after it', async () => {
    const first = await exchange(await codeFor('conf'), {}, confBasic());
    expect(first.statusCode).toBe(200);
    const body = first.json() as Tokens;
    expect(body.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    t.advance(60_000);
    const second = await refresh(body.refresh_token as string);
    expect(second.statusCode).toBe(200);
    t.advance(61_000);
    expectError(await refresh((second.json() as Tokens).refresh_token as string), 400, 'invalid_grant');
  });

  it('access tokens keep their full lifetime near the end of the session; refreshing stops with it', async () => {
    const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
    t.advance(100_000);
    const second = expectTokens(await refresh(first.refresh_token as string));
    expect(second.expires_in).toBe(600);
    t.advance(21_000);
    expect((await me(second.access_token)).statusCode).toBe(200);
    expectError(await refresh(second.refresh_token as string), 400, 'invalid_grant');
    t.advance(600_000);
    expect((await me(second.access_token)).statusCode).toBe(401);
  });
});

describe('unauthorized_client (400)', () => {
  beforeEach(async () => setUp());

  it('refresh_token for a client registered without it', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB], grants: ['authorization_code'] });
    const res = await exchange(await codeFor(client.id), {}, { authorization: basic(client.id, secret as string) });
    const body = expectTokens(res);
    expect(body.refresh_token).toBeUndefined();
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expectError(
      await refresh('C'.repeat(43), {}, { authorization: basic(client.id, secret as string) }),
      400,
      'unauthorized_client',
    );
  });

  it('client_credentials for a client registered without it (RFC 6749 §4.4)', async () => {
    expectError(await postToken(t.app, { grant_type: 'client_credentials' }, confBasic()), 400, 'unauthorized_client');
  });

  it('authorization_code for an implicit-only client', async () => {
    const { client, secret } = await addClient(t.store, { redirectUris: [CB], grants: ['implicit'] });
    expectError(
      await postToken(
        t.app,
        { grant_type: 'authorization_code', code: 'a' },
        { authorization: basic(client.id, secret as string) },
      ),
      400,
      'unauthorized_client',
    );
  });
});

describe('unsupported_grant_type (400)', () => {
  beforeEach(async () => setUp());

  it.each(['password', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code', 'AUTHORIZATION_CODE', 'made-up'])(
    'grant_type=%s',
    async (grantType) => {
      const res = await postToken(
        t.app,
        { grant_type: grantType, username: 'alice', password: 'x', code: 'a' },
        confBasic(),
      );
      expectError(res, 400, 'unsupported_grant_type');
    },
  );
});

describe('invalid_scope (400)', () => {
  beforeEach(async () => setUp());

  it.each(['CLINICIAN', 'clinician', 'PATIENT CLINICIAN', 'ADMIN', 'PATIENT openid'])(
    'refresh with scope %j (wider or different) is refused',
    async (scope) => {
      const first = expectTokens(await exchange(await codeFor('conf'), {}, confBasic()));
      expectError(await refresh(first.refresh_token as string, { scope }), 400, 'invalid_scope');
      // The refused request did not use the refresh token up.
      expectTokens(await refresh(first.refresh_token as string));
    },
  );
});

describe('methods', () => {
  beforeEach(async () => setUp());

  it.each(['/apiToken.action', '/oauth2/token'])(
    'GET %s is 405 with Allow: POST and the token headers',
    async (url) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `${url}?${form({ grant_type: 'authorization_code', code: 'a' })}`,
      });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expectTokenHeaders(res);
      expect(res.json().error).toBe('invalid_request');
    },
  );
});

describe('tokens and secrets at rest', () => {
  beforeEach(async () => setUp());

  /** Every value of every row of every table, as one string. */
  async function everythingStored(): Promise<string> {
    const tables = await t.store.db.introspection.getTables();
    const dumps: string[] = [];
    for (const { name } of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(t.store.db);
      dumps.push(JSON.stringify(rows.rows));
    }
    return dumps.join('\n');
  }

  const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
  /** What the store keeps of a secret: its time prefix, then (the first 208 bits of) its SHA-256. */
  const kept = (secret: string) => secret.slice(0, 12) + sha256(secret).slice(0, 52);

  it('codes, access tokens, refresh tokens, client secrets and session cookies are stored only as hashes', async () => {
    await addUser(t.store, 'dana', ['PATIENT'], 'Dana Real');
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: conf.id, scope: 'PATIENT' },
      username: 'dana',
    });
    const code = new URL(flow.location).searchParams.get('code') as string;
    const sessionCookie = flow.steps.flatMap((s) => s.cookies).find((c) => c.name === 'tessera_session')
      ?.value as string;
    expect(sessionCookie).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);

    let stored = await everythingStored();
    expect(stored).not.toContain(code.slice(12));
    expect(stored).toContain(kept(code));
    expect(stored).not.toContain(sessionCookie.slice(12));
    expect(stored).toContain(kept(sessionCookie));

    const first = expectTokens(await exchange(code, {}, confBasic()));
    const second = expectTokens(await refresh(first.refresh_token as string));
    stored = await everythingStored();
    for (const secret of [
      conf.secret,
      first.access_token,
      first.refresh_token,
      second.access_token,
      second.refresh_token,
    ]) {
      // Not even the random part after the (public) time prefix.
      expect(stored).not.toContain((secret as string).slice(12));
      expect(stored).toContain(kept(secret as string));
    }
    // The password is kept with scrypt (memory-hard), never as itself.
    expect(stored).not.toContain(PASSWORD);
    const person = await t.store.getPersonByUsername('dana');
    expect(person?.passwordHash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  });

  it('every issued credential is a distinct 256-bit random value', async () => {
    const values = new Set<string>();
    for (let i = 0; i < 3; i += 1) {
      const code = await codeFor('conf');
      const tokens = expectTokens(await exchange(code, {}, confBasic()));
      for (const v of [code, tokens.access_token, tokens.refresh_token as string]) {
        expect(v.slice(0, 12)).toMatch(/^[0-9a-f]{12}$/);
        expect(Buffer.from(v.slice(12), 'base64url')).toHaveLength(32);
        values.add(v);
      }
    }
    expect(values.size).toBe(9);
  });
});
