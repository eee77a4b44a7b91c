/**
 * examples/resource-server/server.mjs, run as its README says (a real process), against
 * Tessera on a real port: a JWT access token verified locally with the JWKS (RFC 9068),
 * an opaque one by introspection (RFC 7662), and the RFC 6750 answers for everything else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  form,
  pkcePair,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/resource-server/server.mjs', import.meta.url));
const SCOPE = 'records.read';

let t: TestApp;
let api: ChildProcess;
let apiUrl: string;
let personId: string;
let app: { id: string; secret: string };
let jwtApp: { id: string; secret: string };
let service: { id: string; secret: string };

/** Starts the example with `env` and resolves with its address once it listens. */
async function startExample(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start: ${err}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited with ${code}: ${err}`));
    });
  });
  return { child, url };
}

async function tokensFor(client: { id: string; secret: string }, scope: string) {
  const { verifier, challenge } = pkcePair();
  const code = await codeThroughPages(t.app, {
    query: {
      response_type: 'code',
      client_id: client.id,
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    },
  });
  const res = await postToken(
    t.app,
    { grant_type: 'authorization_code', code, code_verifier: verifier },
    { authorization: basic(client.id, client.secret) },
  );
  expect(res.statusCode).toBe(200);
  return res.json() as { access_token: string; refresh_token: string; scope: string };
}

function call(token?: string): Promise<Response> {
  return fetch(`${apiUrl}/records`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  t = await testApp();
  // The issuer is where the server really listens: the example discovers it there.
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  t.config.issuer = address;
  expect(await t.store.createApiScope({ name: SCOPE, description: 'Read your records', createdAt: Date.now() })).toBe(
    true,
  );
  const scopes = ['PATIENT', SCOPE];
  const registered = async (input: Parameters<typeof addClient>[1]) => {
    const { client, secret } = await addClient(t.store, input);
    return { id: client.id, secret: secret as string };
  };
  app = await registered({ name: 'Opaque App', scopes });
  jwtApp = await registered({ name: 'JWT App', scopes, accessTokenFormat: 'jwt' });
  service = await registered({ name: 'Nightly export', redirectUris: [], scopes, grants: ['client_credentials'] });
  const apiClient = await registered({ name: 'Records API', redirectUris: [], resourceServer: true });
  personId = (await addTestUser(t.store, 'alice', ['PATIENT'])).id;
  const started = await startExample({
    TESSERA_ISSUER: address,
    API_CLIENT_ID: apiClient.id,
    API_CLIENT_SECRET: apiClient.secret,
  });
  api = started.child;
  apiUrl = started.url;
});

afterAll(async () => {
  api?.kill('SIGTERM');
  await t?.close();
});

describe('the example resource server', () => {
  it('accepts an opaque access token by introspection', async () => {
    const { access_token } = await tokensFor(app, `PATIENT ${SCOPE}`);
    const res = await call(access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      for: personId,
      client_id: app.id,
      scope: `PATIENT ${SCOPE}`,
      checked_by: 'introspection',
    });
  });

  it('accepts a JWT access token by verifying it against the JWKS', async () => {
    const { access_token } = await tokensFor(jwtApp, `PATIENT ${SCOPE}`);
    expect(access_token.split('.')).toHaveLength(3);
    const res = await call(access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ for: personId, client_id: jwtApp.id, checked_by: 'jwt' });
  });

  it('accepts a service token of the client_credentials grant, whose subject is the client', async () => {
    const res = await postToken(
      t.app,
      { grant_type: 'client_credentials', scope: SCOPE },
      { authorization: basic(service.id, service.secret) },
    );
    expect(res.statusCode).toBe(200);
    const answer = await call((res.json() as { access_token: string }).access_token);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ for: service.id, client_id: service.id });
  });

  it('refuses a token without the scope the call needs: 403 insufficient_scope', async () => {
    const { access_token } = await tokensFor(app, 'PATIENT');
    const res = await call(access_token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="insufficient_scope"/);
  });

  it('refuses no token, a made-up one, a forged JWT and a refresh token: 401 with a Bearer challenge', async () => {
    const { refresh_token, access_token } = await tokensFor(jwtApp, `PATIENT ${SCOPE}`);
    const [header, payload] = access_token.split('.') as [string, string];
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    const none = await call();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    for (const token of ['not-a-real-token', forged, refresh_token]) {
      const res = await call(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    }
  });

  it('stops accepting an opaque token the moment it is revoked', async () => {
    const { access_token } = await tokensFor(app, `PATIENT ${SCOPE}`);
    expect((await call(access_token)).status).toBe(200);
    const revoked = await t.app.inject({
      method: 'POST',
      url: '/oauth2/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.id, app.secret) },
      payload: form({ token: access_token }),
    });
    expect(revoked.statusCode).toBe(200);
    expect((await call(access_token)).status).toBe(401);
  });
});
