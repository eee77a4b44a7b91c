/**
 * A real client library against a real port: oauth4webapi (panva) discovers the server
 * (RFC 8414), gets a client_credentials token (RFC 6749 §4.4), introspects (RFC 7662)
 * and revokes (RFC 7009) with each client authentication method it supports here, and
 * checks every response as strictly as it does against any server.
 */
import * as oauth from 'oauth4webapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewClient } from '../../src/services/clients.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  pkcePair,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
/** Plain http on loopback: oauth4webapi refuses it unless told. */
const insecure = { [oauth.allowInsecureRequests]: true };

let t: TestApp;
let as: oauth.AuthorizationServer;
const secrets = new Map<string, string>();

beforeEach(async () => {
  t = await testApp();
  await t.store.createApiScope({ name: 'records.read', description: 'Read records', createdAt: Date.now() });
  for (const [id, input] of [
    ['app', { redirectUris: [CB] }],
    ['rs', { resourceServer: true, redirectUris: [] }],
    ['pub', { public: true, redirectUris: [CB] }],
    ['svc', { redirectUris: [], grants: ['client_credentials'], scopes: ['records.read'] }],
  ] as Array<[string, Partial<NewClient>]>) {
    const { secret } = await addClient(t.store, { id, ...input });
    if (secret) secrets.set(id, secret);
  }
  await addTestUser(t.store, 'alice', ['PATIENT']);
  const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  // The issuer is the address the library reaches: it checks the metadata's issuer against it (RFC 8414 §3.3).
  t.config.issuer = base;
  const issuer = new URL(base);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }),
  );
});
afterEach(async () => {
  await t.close();
  secrets.clear();
});

const client = (id: string): oauth.Client => ({ client_id: id });
const secretBasic = (id: string) => oauth.ClientSecretBasic(secrets.get(id) as string);
const secretPost = (id: string) => oauth.ClientSecretPost(secrets.get(id) as string);

async function clientCredentials(scope?: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client('svc'),
    secretBasic('svc'),
    new URLSearchParams(scope === undefined ? {} : { scope }),
    insecure,
  );
  return oauth.processClientCredentialsResponse(as, client('svc'), response);
}

async function introspect(
  caller: string,
  auth: oauth.ClientAuth,
  token: string,
  hint?: string,
): Promise<oauth.IntrospectionResponse> {
  const response = await oauth.introspectionRequest(as, client(caller), auth, token, {
    ...insecure,
    ...(hint && { additionalParameters: { token_type_hint: hint } }),
  });
  return oauth.processIntrospectionResponse(as, client(caller), response);
}

async function revoke(caller: string, auth: oauth.ClientAuth, token: string, hint?: string): Promise<void> {
  const response = await oauth.revocationRequest(as, client(caller), auth, token, {
    ...insecure,
    ...(hint && { additionalParameters: { token_type_hint: hint } }),
  });
  await oauth.processRevocationResponse(response);
}

describe('oauth4webapi against Tessera', () => {
  it('discovers the introspection and revocation endpoints, their auth methods and the client_credentials grant', () => {
    expect(as.introspection_endpoint).toBe(`${as.issuer}/oauth2/introspect`);
    expect(as.revocation_endpoint).toBe(`${as.issuer}/oauth2/revoke`);
    expect(as.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(as.revocation_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'none',
    ]);
    expect(as.grant_types_supported).toContain('client_credentials');
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('gets a client_credentials token, introspects it as a resource server, revokes it', async () => {
    const tokens = await clientCredentials();
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 600, scope: 'records.read' });
    expect(tokens.refresh_token).toBeUndefined();
    expect((await clientCredentials('records.read')).scope).toBe('records.read');

    const seen = await introspect('rs', secretPost('rs'), tokens.access_token);
    expect(seen).toMatchObject({
      active: true,
      client_id: 'svc',
      sub: 'svc',
      scope: 'records.read',
      token_type: 'Bearer',
      iss: as.issuer,
    });
    expect(seen.username).toBeUndefined();
    expect(await introspect('svc', secretBasic('svc'), tokens.access_token)).toMatchObject({ active: true });

    await revoke('svc', secretBasic('svc'), tokens.access_token);
    expect(await introspect('rs', secretBasic('rs'), tokens.access_token)).toEqual({ active: false });
  });

  it('introspects and revokes a person’s refresh token: its grant ends', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'app', code_challenge: challenge, code_challenge_method: 'S256' },
    });
    const exchanged = await postToken(
      t.app,
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { authorization: basic('app', secrets.get('app') as string) },
    );
    const { access_token, refresh_token } = exchanged.json() as { access_token: string; refresh_token: string };

    expect(await introspect('app', secretBasic('app'), refresh_token, 'refresh_token')).toMatchObject({
      active: true,
      token_type: 'refresh_token',
      username: 'alice',
    });
    expect(await introspect('rs', secretBasic('rs'), refresh_token)).toEqual({ active: false });
    await revoke('app', secretPost('app'), refresh_token, 'refresh_token');
    expect(await introspect('app', secretBasic('app'), refresh_token)).toEqual({ active: false });
    expect(await introspect('app', secretBasic('app'), access_token)).toEqual({ active: false });
  });

  it('revokes as a public client (auth method none)', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'pub', code_challenge: challenge, code_challenge_method: 'S256' },
    });
    const exchanged = await postToken(t.app, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: 'pub',
    });
    const { access_token } = exchanged.json() as { access_token: string };
    expect((await introspect('rs', secretBasic('rs'), access_token)).active).toBe(true);
    await revoke('pub', oauth.None(), access_token);
    expect((await introspect('rs', secretBasic('rs'), access_token)).active).toBe(false);
  });

  it('sees a refused client as the library does: a 401 with a Basic challenge', async () => {
    const { access_token } = await clientCredentials();
    const wrong = oauth.introspectionRequest(
      as,
      client('rs'),
      oauth.ClientSecretBasic('wrong'),
      access_token,
      insecure,
    );
    const error = await oauth.processIntrospectionResponse(as, client('rs'), await wrong).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect((error as oauth.WWWAuthenticateChallengeError).status).toBe(401);
    expect((error as oauth.WWWAuthenticateChallengeError).cause[0]?.scheme).toBe('basic');

    const publicCaller = await oauth.introspectionRequest(as, client('pub'), oauth.None(), access_token, insecure);
    expect(publicCaller.status).toBe(401);
  });
});
