/**
 * The built-in demo client (/demo): the whole walk through the real pages, as a browser
 * without JavaScript would do it, plus its CSRF and state checks.
 */
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, seedDemo } from '../../src/demo/seed.js';
import { CookieJar, form, hiddenValue, testApp, type TestApp } from '../helpers/harness.js';

/** Undoes the escaping of the `html` template, for reading values back out of a page. */
function unescape(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function expectNoActiveContent(body: string): void {
  expect(body.toLowerCase()).not.toContain('<script');
  expect(body.toLowerCase()).not.toContain('style=');
}

/** The JSON body of the last response shown on a demo page. */
function shownResponseJson(body: string): Record<string, unknown> {
  const m = /<pre class="demo-response"><code>([\s\S]*?)<\/code><\/pre>/.exec(body);
  if (!m) throw new Error('no response shown on the page');
  const text = unescape(m[1] as string);
  return JSON.parse(text.slice(text.indexOf('\n\n') + 2)) as Record<string, unknown>;
}

function shownRequest(body: string): string {
  const m = /<pre class="demo-request"><code>([\s\S]*?)<\/code><\/pre>/.exec(body);
  if (!m) throw new Error('no request shown on the page');
  return unescape(m[1] as string);
}

/** The authorization URL the "Go to Tessera" link points to. */
function authorizationLink(body: string): URL {
  const m = /<a class="button button-primary" href="([^"]*)">Go to Tessera to sign in<\/a>/.exec(body);
  if (!m) throw new Error('no authorization link on the page');
  return new URL(unescape(m[1] as string));
}

/** A browser without JavaScript: keeps cookies, records every page it saw. */
class Browser {
  readonly jar = new CookieJar();
  readonly seen: LightMyRequestResponse[] = [];
  constructor(private readonly t: TestApp) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    const target = url.startsWith('http') ? new URL(url) : undefined;
    const path = target ? `${target.pathname}${target.search}` : url;
    const res = await this.t.app.inject({
      method: 'GET',
      url: path,
      headers: { cookie: this.jar.header(), accept: 'text/html' },
    });
    this.jar.store(res);
    this.seen.push(res);
    return res;
  }

  async post(url: string, body: Record<string, string | undefined>): Promise<LightMyRequestResponse> {
    const res = await this.t.app.inject({
      method: 'POST',
      url,
      headers: { cookie: this.jar.header(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: form(body),
    });
    this.jar.store(res);
    this.seen.push(res);
    return res;
  }
}

/** As `npm start` runs it: registration accepts http: only for loopback redirect URIs. */
const ISSUER = 'http://localhost:9000';

describe('the demo client', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp({ demo: true, issuer: ISSUER });
    await seedDemo(t.store, t.config.issuer, t.config.secret, Date.now());
  });
  afterEach(async () => {
    await t.close();
  });

  /** Steps through /demo/start and the sign-in and consent pages; returns the callback Location. */
  async function signInThrough(
    b: Browser,
    options: { scope?: string; username?: string; decision?: 'allow' | 'deny'; format?: 'jwt'; oidc?: true } = {},
  ): Promise<{ location: string; authUrl: URL }> {
    const format = options.format ? `&format=${options.format}` : '';
    const oidc = options.oidc ? '&oidc=on' : '';
    const start = await b.get(`/demo/start?scope=${options.scope ?? 'PATIENT'}${format}${oidc}`);
    expect(start.statusCode).toBe(200);
    const authUrl = authorizationLink(start.body);
    const toLogin = await b.get(authUrl.toString());
    expect(toLogin.statusCode).toBe(302);
    const login = await b.get(String(toLogin.headers.location));
    expect(login.statusCode).toBe(200);
    const request = hiddenValue(login.body, 'request');
    const signedIn = await b.post('/login', {
      request,
      csrf: hiddenValue(login.body, 'csrf'),
      username: options.username ?? 'alice',
      password: DEMO_PASSWORD,
    });
    expect(signedIn.statusCode).toBe(303);
    const consent = await b.get(String(signedIn.headers.location));
    expect(consent.statusCode).toBe(200);
    const decided = await b.post('/consent', {
      request,
      csrf: hiddenValue(consent.body, 'csrf'),
      decision: options.decision ?? 'allow',
      scope: options.scope ?? 'PATIENT',
    });
    expect(decided.statusCode).toBe(303);
    return { location: String(decided.headers.location), authUrl };
  }

  it('walks a newcomer through the whole flow with real requests', async () => {
    const b = new Browser(t);
    const issuer = t.config.issuer;

    // The introduction: what happens, who can sign in, a scope to choose.
    const intro = await b.get('/demo');
    expect(intro.statusCode).toBe(200);
    expect(intro.body).toContain('tessera-demo');
    expect(intro.body).toContain(`${issuer}/demo/callback`);
    for (const username of ['alice', 'bob', 'carol', 'dana']) expect(intro.body).toContain(`<code>${username}</code>`);
    expect(intro.body).toContain('Dr Bob Chen');
    expect(intro.body).toContain(`<code>${DEMO_PASSWORD}</code>`);
    expect(intro.body).toContain('<form method="get" action="/demo/start"');
    for (const scope of ['', 'PATIENT', 'CLINICIAN', 'TEAMCOORD'])
      expect(intro.body).toContain(`name="scope" id="scope-${scope || 'none'}" value="${scope}"`);

    // Step 1: the authorization URL, with state and an S256 challenge, and the demo cookie.
    const start = await b.get('/demo/start?scope=PATIENT');
    expect(start.statusCode).toBe(200);
    const setCookie = String(start.headers['set-cookie']);
    expect(setCookie).toMatch(/^tessera_demo=/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/demo');
    const authUrl = authorizationLink(start.body);
    expect(`${authUrl.origin}${authUrl.pathname}`).toBe(`${issuer}/apiAuthorize.action`);
    expect([...authUrl.searchParams.keys()]).toEqual([
      'response_type',
      'client_id',
      'redirect_uri',
      'scope',
      'state',
      'code_challenge',
      'code_challenge_method',
    ]);
    expect(authUrl.searchParams.get('response_type')).toBe('code');
    expect(authUrl.searchParams.get('client_id')).toBe('tessera-demo');
    expect(authUrl.searchParams.get('redirect_uri')).toBe(`${issuer}/demo/callback`);
    expect(authUrl.searchParams.get('scope')).toBe('PATIENT');
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const state = authUrl.searchParams.get('state') as string;
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(start.body).toContain('<table class="demo-params">');
    // The verifier is not revealed before the exchange.
    expect(start.body).not.toContain('code_verifier=');

    // Sign in and allow at Tessera, as a person would.
    const toLogin = await b.get(authUrl.toString());
    expect(toLogin.statusCode).toBe(302);
    const login = await b.get(String(toLogin.headers.location));
    const request = hiddenValue(login.body, 'request');
    const signedIn = await b.post('/login', {
      request,
      csrf: hiddenValue(login.body, 'csrf'),
      username: 'alice',
      password: DEMO_PASSWORD,
    });
    expect(signedIn.statusCode).toBe(303);
    const consent = await b.get(String(signedIn.headers.location));
    expect(consent.body).toContain('Tessera Demo App');
    const decided = await b.post('/consent', { request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' });
    expect(decided.statusCode).toBe(303);
    const location = new URL(String(decided.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(`${issuer}/demo/callback`);
    expect(location.searchParams.get('state')).toBe(state);
    const code = location.searchParams.get('code') as string;
    expect(code).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);

    // Step 2: the callback, state checked, the code carried into the exchange form.
    const callback = await b.get(location.toString());
    expect(callback.statusCode).toBe(200);
    expect(unescape(callback.body)).toContain(location.toString());
    expect(callback.body).toContain('<form method="post" action="/demo/exchange"');
    expect(hiddenValue(callback.body, 'code')).toBe(code);
    const csrf = hiddenValue(callback.body, 'csrf');

    // Step 3: a real token request; the raw request and response are shown.
    const exchange = await b.post('/demo/exchange', { csrf, code });
    expect(exchange.statusCode).toBe(200);
    const exchangeRequest = shownRequest(exchange.body);
    expect(exchangeRequest).toMatch(/^POST \/apiToken\.action HTTP\/1\.1\n/);
    expect(exchangeRequest).toContain('Content-Type: application/x-www-form-urlencoded');
    const exchangeForm = new URLSearchParams(exchangeRequest.slice(exchangeRequest.indexOf('\n\n') + 2));
    expect(Object.fromEntries(exchangeForm)).toMatchObject({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${issuer}/demo/callback`,
      client_id: 'tessera-demo',
    });
    expect(exchangeForm.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(exchange.body).toContain('HTTP/1.1 200 OK');
    expect(exchange.body).toContain('cache-control: no-store');
    expect(exchange.body).toContain('pragma: no-cache');
    const tokens = shownResponseJson(exchange.body);
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'PATIENT' });
    expect(tokens.access_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(tokens.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(exchange.body).toContain('class="demo-secret"');
    expect(exchange.body).toContain('action="/demo/call"');
    expect(exchange.body).toContain('action="/demo/refresh"');
    expect(hiddenValue(exchange.body, 'csrf')).toBe(csrf);

    // Step 4: the API, with the bearer token.
    const call = await b.post('/demo/call', { csrf });
    expect(call.statusCode).toBe(200);
    const callRequest = shownRequest(call.body);
    expect(callRequest).toMatch(/^GET \/api\/v1\/me HTTP\/1\.1\n/);
    expect(callRequest).toContain(`Authorization: Bearer ${tokens.access_token as string}`);
    expect(shownResponseJson(call.body)).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      scope: 'PATIENT',
      client_id: 'tessera-demo',
    });

    // Step 5: refresh; the rotated refresh token is new and kept for the next call.
    const refresh = await b.post('/demo/refresh', { csrf });
    expect(refresh.statusCode).toBe(200);
    const refreshRequest = shownRequest(refresh.body);
    const refreshForm = new URLSearchParams(refreshRequest.slice(refreshRequest.indexOf('\n\n') + 2));
    expect(Object.fromEntries(refreshForm)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: 'tessera-demo',
    });
    const refreshed = shownResponseJson(refresh.body);
    expect(refresh.body).toContain('HTTP/1.1 200 OK');
    expect(refreshed.refresh_token).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refresh.body).toContain('retired');

    // The demo now uses the rotated tokens.
    const again = await b.post('/demo/call', { csrf });
    expect(shownRequest(again.body)).toContain(`Authorization: Bearer ${refreshed.access_token as string}`);
    expect(shownResponseJson(again.body)).toMatchObject({ username: 'alice' });
    const refreshAgain = await b.post('/demo/refresh', { csrf });
    expect(shownRequest(refreshAgain.body)).toContain(`refresh_token=${refreshed.refresh_token as string}`);
    expect(refreshAgain.body).toContain('HTTP/1.1 200 OK');

    // Every page: a progress list, no scripts, no inline styles.
    for (const res of b.seen) expectNoActiveContent(res.body);
    for (const res of [start, callback, exchange, call, refresh]) {
      expect(res.body).toContain('<ol class="demo-progress">');
      expect(res.body).toContain('aria-current="step"');
      expect(res.body).toContain('<a href="/demo">Start over</a>');
    }
  });

  /** Signs in through the demo with `format` and exchanges the code; returns the exchange page and its CSRF token. */
  async function exchangeThrough(b: Browser, format?: 'jwt') {
    const { location } = await signInThrough(b, format ? { format } : {});
    const callback = await b.get(location);
    const csrf = hiddenValue(callback.body, 'csrf');
    const exchange = await b.post('/demo/exchange', { csrf, code: hiddenValue(callback.body, 'code') });
    expect(exchange.statusCode).toBe(200);
    return { exchange, csrf };
  }

  it('offers both token formats and, for a JWT, shows its header and claims as jose decodes them', async () => {
    const b = new Browser(t);
    const intro = await b.get('/demo');
    expect(intro.body).toContain('name="format" id="format-opaque" value="opaque" checked');
    expect(intro.body).toContain('name="format" id="format-jwt" value="jwt"');
    const { authUrl } = await signInThrough(new Browser(t), { format: 'jwt' });
    expect(authUrl.searchParams.get('client_id')).toBe('tessera-demo-jwt');

    const { exchange, csrf } = await exchangeThrough(b, 'jwt');
    const tokens = shownResponseJson(exchange.body);
    const token = tokens.access_token as string;
    expect(token.split('.')).toHaveLength(3);
    expect(shownRequest(exchange.body)).toContain('client_id=tessera-demo-jwt');
    const blocks = [
      ...exchange.body.matchAll(/<pre class="demo-response demo-jwt"><code>([\s\S]*?)<\/code><\/pre>/g),
    ].map((m) => JSON.parse(unescape(m[1] as string)) as Record<string, unknown>);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toEqual(decodeProtectedHeader(token));
    expect(blocks[0]).toMatchObject({ typ: 'at+jwt' });
    expect(blocks[1]).toEqual(decodeJwt(token));
    expect(blocks[1]).toMatchObject({ client_id: 'tessera-demo-jwt', scope: 'PATIENT', iss: ISSUER });

    // The API accepts it, and the refresh gives a new JWT, shown decoded too.
    const call = await b.post('/demo/call', { csrf });
    expect(shownResponseJson(call.body)).toMatchObject({ username: 'alice', client_id: 'tessera-demo-jwt' });
    const refresh = await b.post('/demo/refresh', { csrf });
    expect(shownRequest(refresh.body)).toContain('client_id=tessera-demo-jwt');
    expect(refresh.body).toContain('class="demo-response demo-jwt"');
    expectNoActiveContent(exchange.body);
  });

  it('shows an opaque token without a decoded JWT, and refuses an unknown format', async () => {
    const b = new Browser(t);
    const { exchange } = await exchangeThrough(b);
    expect(exchange.body).not.toContain('demo-jwt');
    const bad = await b.get('/demo/start?scope=PATIENT&format=saml');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('opaque or jwt');
  });

  it.each([[undefined], ['jwt' as const]])(
    'shows the introspection of the token (format %s) by the demo API, with its credentials masked',
    async (format) => {
      const b = new Browser(t);
      const { exchange, csrf } = await exchangeThrough(b, format);
      expect(exchange.body).toContain('action="/demo/introspect"');
      const token = shownResponseJson(exchange.body).access_token as string;
      const person = await t.store.getPersonByUsername('alice');

      const page = await b.post('/demo/introspect', { csrf });
      expect(page.statusCode).toBe(200);
      const request = shownRequest(page.body);
      expect(request).toMatch(/^POST \/oauth2\/introspect HTTP\/1\.1\n/);
      expect(request).toContain('Authorization: Basic ••••••••');
      expect(request).not.toContain(Buffer.from('tessera-demo-api:').toString('base64').slice(0, 16));
      expect(request).toContain(`token=${token}`);
      const answer = shownResponseJson(page.body);
      expect(answer).toMatchObject({
        active: true,
        sub: person?.id,
        username: 'alice',
        client_id: format ? 'tessera-demo-jwt' : 'tessera-demo',
        scope: 'PATIENT',
        token_type: 'Bearer',
      });
      expect(page.body).toContain('<strong>Active.</strong>');

      // Once the grant is revoked (the refresh token used twice), the answer is exactly inactive.
      const first = await b.post('/demo/refresh', { csrf });
      const rotated = shownRequest(first.body);
      const old = new URLSearchParams(rotated.slice(rotated.indexOf('\n\n') + 2)).get('refresh_token') as string;
      const replay = await t.app.inject({
        method: 'POST',
        url: '/apiToken.action',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({
          grant_type: 'refresh_token',
          refresh_token: old,
          client_id: format ? 'tessera-demo-jwt' : 'tessera-demo',
        }),
      });
      expect(replay.statusCode).toBe(400);
      const after = await b.post('/demo/introspect', { csrf });
      expect(shownResponseJson(after.body)).toEqual({ active: false });
      expect(after.body).toContain('<strong>Not active.</strong>');
    },
  );

  it('reports a state mismatch as a CSRF failure and offers no exchange', async () => {
    const b = new Browser(t);
    const { location } = await signInThrough(b);
    const url = new URL(location);
    url.searchParams.set('state', 'forged-state');
    const callback = await b.get(url.toString());
    expect(callback.statusCode).toBe(400);
    expect(callback.body).toContain('CSRF check failed');
    expect(callback.body).not.toContain('action="/demo/exchange"');
    expectNoActiveContent(callback.body);

    const missing = new URL(location);
    missing.searchParams.delete('state');
    const noState = await b.get(missing.toString());
    expect(noState.statusCode).toBe(400);
    expect(noState.body).toContain('CSRF check failed');
  });

  it('explains a Deny as access_denied', async () => {
    const b = new Browser(t);
    const { location, authUrl } = await signInThrough(b, { decision: 'deny' });
    expect(new URL(location).searchParams.get('error')).toBe('access_denied');
    expect(new URL(location).searchParams.get('state')).toBe(authUrl.searchParams.get('state'));
    const callback = await b.get(location);
    expect(callback.statusCode).toBe(200);
    expect(callback.body).toContain('<code>access_denied</code>');
    expect(callback.body).toContain('pressed Deny');
    expect(callback.body).not.toContain('action="/demo/exchange"');
  });

  it('refuses a forged POST without the demo CSRF token', async () => {
    const b = new Browser(t);
    const { location } = await signInThrough(b);
    const code = new URL(location).searchParams.get('code') as string;
    const callback = await b.get(location);
    const csrf = hiddenValue(callback.body, 'csrf');

    for (const forged of [{ code }, { code, csrf: 'x'.repeat(43) }, { code, csrf: `${csrf}x` }]) {
      const res = await b.post('/demo/exchange', forged);
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('This form was refused');
      expect(res.body).not.toContain('/apiToken.action HTTP/1.1');
      expectNoActiveContent(res.body);
    }
    for (const path of ['/demo/call', '/demo/refresh']) {
      const res = await b.post(path, {});
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('This form was refused');
    }
    // The code was never sent: the real exchange still works.
    const exchange = await b.post('/demo/exchange', { csrf, code });
    expect(exchange.body).toContain('HTTP/1.1 200 OK');
  });

  it('asks to start over, never a 500, when the demo cookie is missing or tampered with', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/demo/exchange',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ csrf: 'x', code: 'y' }),
    });
    expect(anonymous.statusCode).toBe(400);
    expect(anonymous.body).toContain('Please start over');
    expect(anonymous.body).toContain('href="/demo"');

    const noBody = await t.app.inject({ method: 'POST', url: '/demo/call' });
    expect(noBody.statusCode).toBe(400);

    const callback = await t.app.inject({ method: 'GET', url: '/demo/callback?code=abc&state=def' });
    expect(callback.statusCode).toBe(400);
    expect(callback.body).toContain('Please start over');

    const b = new Browser(t);
    await b.get('/demo/start');
    const tampered = b.jar.header().replace(/tessera_demo=([^;]*)/, (_m, v: string) => `tessera_demo=x${v}`);
    const res = await t.app.inject({
      method: 'POST',
      url: '/demo/call',
      headers: { cookie: tampered, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ csrf: 'anything' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Please start over');

    // A valid session but no tokens yet: calling the API is out of order.
    const start = await b.get('/demo/start');
    const { location } = await signInThrough(b);
    const csrf = hiddenValue((await b.get(location)).body, 'csrf');
    expect(start.statusCode).toBe(200);
    const early = await b.post('/demo/call', { csrf });
    expect(early.statusCode).toBe(400);
    expect(early.body).toContain('no access token yet');
  });

  it('asks without a scope when none is chosen, and refuses an unknown one', async () => {
    const b = new Browser(t);
    const none = await b.get('/demo/start?scope=');
    expect(authorizationLink(none.body).searchParams.has('scope')).toBe(false);
    const bad = await b.get('/demo/start?scope=ADMIN');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Choose one scope');
  });

  describe('Sign in with Tessera', () => {
    /** The exchange page's "Sign out" link. */
    function signOutLink(body: string): URL {
      const m = /<a class="button button-secondary" href="([^"]*)">Sign out<\/a>/.exec(body);
      if (!m) throw new Error('no Sign out link on the page');
      return new URL(unescape(m[1] as string));
    }

    it('offers it on the introduction and asks for openid profile email with a nonce', async () => {
      const b = new Browser(t);
      const intro = await b.get('/demo');
      expect(intro.body).toContain('<input type="checkbox" name="oidc" id="oidc" value="on">');
      const start = await b.get('/demo/start?scope=PATIENT&oidc=on');
      const authUrl = authorizationLink(start.body);
      expect(authUrl.searchParams.get('scope')).toBe('PATIENT openid profile email');
      expect(authUrl.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(start.body).toContain('<code>nonce</code>');
      const noRole = await b.get('/demo/start?scope=&oidc=on');
      expect(authorizationLink(noRole.body).searchParams.get('scope')).toBe('openid profile email');
      const plain = await b.get('/demo/start?scope=PATIENT');
      expect(authorizationLink(plain.body).searchParams.has('nonce')).toBe(false);
      const bad = await b.get('/demo/start?oidc=yes');
      expect(bad.statusCode).toBe(400);
    });

    it('seeds apps enabled for it, with a post-logout URI back to the demo, and people with e-mail addresses', async () => {
      for (const id of ['tessera-demo', 'tessera-demo-jwt']) {
        const client = await t.store.getClient(id);
        expect(client?.scopes).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
        expect(client?.postLogoutRedirectUris).toEqual([
          `${ISSUER}/demo/signed-out`,
          'http://127.0.0.1:9000/demo/signed-out',
        ]);
      }
      expect((await t.store.getPersonByUsername('alice'))?.email).toBe('alice@example.org');
    });

    it('registers anew a demo app seeded before it', async () => {
      const old = (await t.store.getClient('tessera-demo')) as NonNullable<
        Awaited<ReturnType<TestApp['store']['getClient']>>
      >;
      await t.store.removeClient('tessera-demo');
      await t.store.createClient({ ...old, scopes: ['PATIENT', 'CLINICIAN', 'TEAMCOORD'], postLogoutRedirectUris: [] });
      await seedDemo(t.store, t.config.issuer, t.config.secret, Date.now());
      const client = await t.store.getClient('tessera-demo');
      expect(client?.scopes).toContain('openid');
      expect(client?.postLogoutRedirectUris).toContain(`${ISSUER}/demo/signed-out`);
    });

    it('signs in, shows the ID token when the response has one, asks UserInfo, and signs out of Tessera back to the demo', async () => {
      const b = new Browser(t);
      const { location, authUrl } = await signInThrough(b, { oidc: true });
      const callback = await b.get(location);
      const csrf = hiddenValue(callback.body, 'csrf');
      const exchange = await b.post('/demo/exchange', { csrf, code: hiddenValue(callback.body, 'code') });
      expect(exchange.statusCode).toBe(200);
      const tokens = shownResponseJson(exchange.body);
      expect(tokens.scope).toBe('PATIENT openid profile email');

      // The ID token comes with the tokens branch; when it is there, it is shown decoded and its nonce checked.
      const idToken = typeof tokens.id_token === 'string' ? tokens.id_token : undefined;
      if (idToken) {
        expect(exchange.body).toContain('Who signed in: the ID token');
        expect(exchange.body).toContain('this ID token was made for this sign-in');
        expect(decodeJwt(idToken).nonce).toBe(authUrl.searchParams.get('nonce'));
      } else {
        expect(exchange.body).not.toContain('Who signed in: the ID token');
      }

      // UserInfo: the request is the app's bearer call; the answer is whatever Tessera says.
      const userinfo = await b.post('/demo/userinfo', { csrf });
      expect(userinfo.statusCode).toBe(200);
      const userinfoRequest = shownRequest(userinfo.body);
      expect(userinfoRequest).toMatch(/^GET \/oauth2\/userinfo HTTP\/1\.1\n/);
      expect(userinfoRequest).toContain(`Authorization: Bearer ${tokens.access_token as string}`);
      if (userinfo.body.includes('HTTP/1.1 200 OK')) {
        expect(shownResponseJson(userinfo.body)).toMatchObject({ email: 'alice@example.org' });
      }

      // Sign out: Tessera's logout with the hint (or client_id) and the demo's registered URI.
      const link = signOutLink(exchange.body);
      expect(`${link.origin}${link.pathname}`).toBe(`${ISSUER}/oauth2/logout`);
      const state = authUrl.searchParams.get('state') as string;
      expect(link.searchParams.get('post_logout_redirect_uri')).toBe(`${ISSUER}/demo/signed-out`);
      expect(link.searchParams.get('state')).toBe(state);
      expect(link.searchParams.get(idToken ? 'id_token_hint' : 'client_id')).toBe(idToken ?? 'tessera-demo');

      let answer = await b.get(link.toString());
      if (!idToken) {
        // Without a hint Tessera asks first.
        expect(answer.body).toContain('Sign out of Tessera?');
        answer = await b.post('/oauth2/logout', {
          csrf: hiddenValue(answer.body, 'csrf'),
          client_id: hiddenValue(answer.body, 'client_id'),
          post_logout_redirect_uri: hiddenValue(answer.body, 'post_logout_redirect_uri'),
          state: hiddenValue(answer.body, 'state'),
          confirm: 'yes',
        });
      }
      expect(answer.statusCode).toBe(303);
      expect(answer.headers.location).toBe(`${ISSUER}/demo/signed-out?state=${state}`);
      expect(b.jar.get('tessera_session')).toBeUndefined();

      const signedOut = await b.get(String(answer.headers.location));
      expect(signedOut.statusCode).toBe(200);
      expect(signedOut.body).toContain('Signed out of Tessera');
      expect(b.jar.get('tessera_demo')).toBeUndefined();
      for (const res of b.seen) expectNoActiveContent(res.body);
    });

    it('ignores a sign-out answer whose state is not its own', async () => {
      const b = new Browser(t);
      await b.get('/demo/start?oidc=on');
      const res = await b.get('/demo/signed-out?state=someone-elses');
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('Not the answer');
      expect(b.jar.get('tessera_demo')).toBeDefined();
    });
  });

  it('says plainly when the demo app is not registered', async () => {
    await t.store.removeClient('tessera-demo');
    const res = await t.app.inject({ method: 'GET', url: '/demo' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('tessera serve --demo');
    expectNoActiveContent(res.body);
  });
});

describe('without --demo', () => {
  it('has no demo routes', async () => {
    const t = await testApp({ issuer: ISSUER });
    try {
      await seedDemo(t.store, t.config.issuer, t.config.secret, Date.now());
      for (const url of ['/demo', '/demo/start', '/demo/callback?code=a&state=b']) {
        expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(404);
      }
      for (const url of ['/demo/exchange', '/demo/call', '/demo/refresh']) {
        expect((await t.app.inject({ method: 'POST', url })).statusCode).toBe(404);
      }
    } finally {
      await t.close();
    }
  });
});

describe('the demo at either loopback name', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp({ demo: true, issuer: 'http://127.0.0.1:9000' });
    await seedDemo(t.store, 'http://127.0.0.1:9000', t.config.secret, Date.now());
  });
  afterEach(async () => {
    await t.close();
  });

  it.each([
    ['localhost:9000', 'http://localhost:9000'],
    ['127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['evil.example', 'http://127.0.0.1:9000'],
  ])('opened as %s, stays on %s', async (host, origin) => {
    const res = await t.app.inject({ method: 'GET', url: '/demo/start', headers: { host, accept: 'text/html' } });
    expect(res.statusCode).toBe(200);
    const link = authorizationLink(res.body);
    expect(link.origin).toBe(origin);
    expect(link.searchParams.get('redirect_uri')).toBe(`${origin}/demo/callback`);
  });
});
