/**
 * What standard clients need beyond the happy path: CORS for browser apps on the
 * endpoints they call themselves, discovery at either loopback name, HEAD, 405s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackIssuers } from '../../src/http/issuer.js';
import {
  addClient,
  addTestUser,
  authorizeThroughPages,
  form,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('CORS for browser apps', () => {
  it.each([
    ['/apiToken.action', 'POST'],
    ['/oauth2/token', 'POST'],
    ['/api/v1/me', 'GET'],
    ['/.well-known/oauth-authorization-server', 'GET'],
  ])('%s answers the preflight and allows any origin', async (url, method) => {
    t = await testApp();
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        origin: 'https://spa.example',
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain(method);
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    const actual = await t.app.inject({
      method: method as 'GET' | 'POST',
      url,
      headers: { origin: 'https://spa.example' },
    });
    expect(actual.headers['access-control-allow-origin']).toBe('*');
    expect(actual.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('gives the pages no CORS at all', async () => {
    t = await testApp();
    const { client } = await addClient(t.store);
    const res = await t.app.inject({
      method: 'GET',
      url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: client.id })}`,
      headers: { origin: 'https://spa.example' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(
      (await t.app.inject({ method: 'OPTIONS', url: '/login', headers: { origin: 'https://spa.example' } })).statusCode,
    ).toBe(404);
  });
});

describe('a default loopback issuer answers at both names', () => {
  const aliases = loopbackIssuers('127.0.0.1', 9000);

  it('names the loopback pair', () => {
    expect(aliases).toEqual(['http://127.0.0.1:9000', 'http://localhost:9000']);
    expect(loopbackIssuers('0.0.0.0', 9000)).toEqual([]);
  });

  it.each([
    ['127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['localhost:9000', 'http://localhost:9000'],
    ['localhost:9001', 'http://127.0.0.1:9000'],
    ['evil.example', 'http://127.0.0.1:9000'],
  ])('metadata asked for at %s names issuer %s', async (host, issuer) => {
    t = await testApp({ issuer: 'http://127.0.0.1:9000', issuerAliases: aliases });
    const res = await t.app.inject({
      method: 'GET',
      url: '/.well-known/oauth-authorization-server',
      headers: { host },
    });
    expect(res.json()).toMatchObject({ issuer, token_endpoint: `${issuer}/apiToken.action` });
  });

  it('sends the iss of the address the flow ran at', async () => {
    t = await testApp({ issuer: 'http://127.0.0.1:9000', issuerAliases: aliases });
    const { client } = await addClient(t.store);
    await addTestUser(t.store, 'alice', ['PATIENT']);
    // The harness talks to inject's default host; the configured issuer is what it gets.
    const flow = await authorizeThroughPages(t.app, { query: { response_type: 'code', client_id: client.id } });
    expect(responseParams(flow.location).get('iss')).toBe('http://127.0.0.1:9000');
    const atLocalhost = await t.app.inject({
      method: 'GET',
      url: `/apiAuthorize.action?${form({ response_type: 'nonsense', client_id: client.id })}`,
      headers: { host: 'localhost:9000' },
    });
    expect(responseParams(String(atLocalhost.headers.location)).get('iss')).toBe('http://localhost:9000');
  });

  it('ignores the Host header when an issuer was configured', async () => {
    t = await testApp({ issuer: 'https://auth.example' });
    const res = await t.app.inject({
      method: 'GET',
      url: '/.well-known/oauth-authorization-server',
      headers: { host: 'localhost:9000' },
    });
    expect(res.json()).toMatchObject({ issuer: 'https://auth.example' });
  });
});

describe('methods', () => {
  it('HEAD on the authorization endpoint behaves like GET', async () => {
    t = await testApp();
    const { client } = await addClient(t.store);
    const res = await t.app.inject({
      method: 'HEAD',
      url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: client.id })}`,
    });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toMatch(/^\/login\?request=/);
  });

  it('POST /api/v1/me is 405 with Allow: GET', async () => {
    t = await testApp();
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/me' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
  });

  it('counts the 4 KiB limit in bytes', async () => {
    t = await testApp();
    const { client } = await addClient(t.store);
    const res = await t.app.inject({
      method: 'GET',
      url: `/apiAuthorize.action?${form({ response_type: 'code', client_id: client.id, state: 'é'.repeat(2100) })}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
  });
});
