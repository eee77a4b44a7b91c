/**
 * On the real app: API scopes (registered server-wide, enabled per client) in an
 * authorization request beside the PKB role — RFC 6749 §3.3 scope, §4.1.2.1 invalid_scope,
 * §6 narrowing on refresh, RFC 8414 `scopes_supported` — through the code and implicit
 * flows, the consent page and the metadata.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRequestedScopes, findInteraction, type InteractionDeps } from '../../src/oauth/interaction.js';
import { DEFAULT_THROTTLE } from '../../src/oauth/sign-in-throttle.js';
import { addApiScope } from '../../src/services/scopes.js';
import {
  addClient,
  addTestUser,
  authorizeThroughPages,
  basic,
  ISSUER,
  openLogin,
  postToken,
  responseParams,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

const CB = 'https://app.example/cb';
const STATE = 's+t&a=t"e';
const READ = 'Read your health records';
const WRITE = 'Add notes to your health records';

let t: TestApp;
let clientId: string;
let secret: string;

beforeEach(async () => {
  t = await testApp();
  await addApiScope(t.store, { name: 'records.read', description: READ }, Date.now());
  await addApiScope(t.store, { name: 'records.write', description: WRITE }, Date.now());
  await addApiScope(t.store, { name: 'appointments', description: 'See your appointments' }, Date.now());
  const added = await addClient(t.store, {
    name: 'Health Diary',
    redirectUris: [CB],
    scopes: ['PATIENT', 'CLINICIAN', 'records.read', 'records.write'],
  });
  clientId = added.client.id;
  secret = added.secret as string;
  await addTestUser(t.store, 'alice', ['PATIENT'], 'Alice Patel');
  await addTestUser(t.store, 'robin', ['PATIENT', 'CLINICIAN'], 'Robin Many');
});

afterEach(async () => {
  await t.close();
});

/** The consent page among the steps of a page flow. */
function consentPageOf(steps: LightMyRequestResponse[]): string {
  const consent = steps.find((s) => s.statusCode === 200 && s.body.includes('name="decision" value="allow"'));
  if (!consent) throw new Error('no consent page in the flow');
  return consent.body;
}

/** Runs the code flow through the pages with `scope` and redeems the code; returns the token response. */
async function tokensFor(scope: string | undefined, options: { username?: string; pick?: string } = {}) {
  const flow = await authorizeThroughPages(t.app, {
    query: { response_type: 'code', client_id: clientId, scope, state: STATE },
    username: options.username,
    scope: options.pick,
  });
  expect(flow.status).toBe(303);
  const params = responseParams(flow.location);
  expect(params.get('state')).toBe(STATE);
  const code = params.get('code');
  expect(code).toBeTruthy();
  const token = await postToken(
    t.app,
    { grant_type: 'authorization_code', code: code as string },
    { authorization: basic(clientId, secret) },
  );
  expect(token.statusCode).toBe(200);
  return { body: token.json(), consent: consentPageOf(flow.steps) };
}

/** What the app's routes give the interaction module, over the test's store. */
function interactionDeps(): InteractionDeps {
  return { store: t.store, lifetimes: t.config.lifetimes, throttle: DEFAULT_THROTTLE, now: Date.now() };
}

async function me(token: string) {
  return t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
}

describe('the code flow with API scopes', () => {
  it('gives a token whose scope is the role, then the API scope; /api/v1/me shows it', async () => {
    const { body } = await tokensFor('PATIENT records.read');
    expect(body.scope).toBe('PATIENT records.read');
    expect(typeof body.refresh_token).toBe('string');
    const res = await me(body.access_token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ username: 'alice', scope: 'PATIENT records.read', client_id: clientId });
  });

  it('puts the role first and keeps the order of the request for the others; a role in any case comes back in capitals', async () => {
    expect((await tokensFor('records.write patient records.read')).body.scope).toBe(
      'PATIENT records.write records.read',
    );
    expect((await tokensFor('records.read records.write Patient')).body.scope).toBe(
      'PATIENT records.read records.write',
    );
  });

  it('without a role asked for, takes the person’s only role, or the one picked on the consent page', async () => {
    expect((await tokensFor('records.read')).body.scope).toBe('PATIENT records.read');
    const picked = await tokensFor('records.write', { username: 'robin', pick: 'CLINICIAN' });
    expect(picked.body.scope).toBe('CLINICIAN records.write');
    expect(picked.consent).toContain('value="CLINICIAN"');
    expect(picked.consent).toContain(WRITE);
  });

  it('keeps a request for a role alone as before: no scopes in the stored request, the role alone in the token', async () => {
    const login = await openLogin(t.app, { response_type: 'code', client_id: clientId, scope: 'patient' });
    const interaction = await findInteraction(interactionDeps(), login.request);
    expect(interaction?.request).toBeDefined();
    expect(interaction?.request).not.toHaveProperty('scopes');
    expect(interaction?.request.role).toBe('PATIENT');
    const { body, consent } = await tokensFor('PATIENT');
    expect(body.scope).toBe('PATIENT');
    expect(consent).not.toContain('class="scopes"');
  });

  it.each([
    ['an unknown scope', 'PATIENT records.delete'],
    ['a registered scope the client is not enabled for', 'PATIENT appointments'],
    ['a registered scope alone, not enabled', 'appointments'],
    ['two roles with an API scope', 'PATIENT records.read CLINICIAN'],
    ['two roles in lower case', 'patient clinician'],
    ['an API scope in the wrong letter case', 'PATIENT Records.read'],
    ['an API scope in capitals', 'RECORDS.READ'],
    ['an OpenID scope the client is not enabled for', 'PATIENT openid'],
  ])('redirects %s (%j) with invalid_scope and state, in the query', async (_, scope) => {
    const res = await t.app.inject({
      url: `/apiAuthorize.action?${new URLSearchParams({ response_type: 'code', client_id: clientId, scope, state: STATE })}`,
    });
    expect(res.statusCode).toBe(302);
    const location = String(res.headers.location);
    expect(location.startsWith(`${CB}?`)).toBe(true);
    const params = responseParams(location);
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('code')).toBeNull();
  });
});

describe('the consent page', () => {
  it('lists each requested API scope by its description, in request order, and not the ones not asked for', async () => {
    const { consent } = await tokensFor('records.write PATIENT records.read');
    expect(consent).toContain('<ul class="scopes">');
    expect(consent).toContain(READ);
    expect(consent).toContain(WRITE);
    expect(consent.indexOf(WRITE)).toBeLessThan(consent.indexOf(READ));
    expect(consent).not.toContain('See your appointments');
    expect(consent).toContain('as a Patient');
  });

  it('escapes HTML in a description', async () => {
    await addApiScope(t.store, { name: 'notes', description: `Read <b>notes</b> & "letters" <script>x()</script>` }, 0);
    const added = await addClient(t.store, { redirectUris: [CB], scopes: ['PATIENT', 'notes'] });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'code', client_id: added.client.id, scope: 'notes' },
    });
    expect(flow.status).toBe(303);
    const consent = consentPageOf(flow.steps);
    expect(consent).toContain(
      'Read &lt;b&gt;notes&lt;/b&gt; &amp; &quot;letters&quot; &lt;script&gt;x()&lt;/script&gt;',
    );
    expect(consent).not.toContain('<b>notes</b>');
    expect(consent).not.toContain('<script>');
  });

  it('still shows the page, naming the scope, when its registration was removed meanwhile', async () => {
    const login = await openLogin(t.app, {
      response_type: 'code',
      client_id: clientId,
      scope: 'PATIENT records.read records.write',
    });
    // Straight from the store: `tessera scope remove` refuses a scope a client is enabled for.
    expect(await t.store.removeApiScope('records.write')).toBe(true);
    const deps = interactionDeps();
    const interaction = await findInteraction(deps, login.request);
    expect(await describeRequestedScopes(deps, interaction as NonNullable<typeof interaction>)).toEqual([
      { name: 'records.read', description: READ },
      { name: 'records.write' },
    ]);
    const { consent, body } = await tokensFor('PATIENT records.read records.write');
    expect(consent).toContain(READ);
    expect(consent).not.toContain(WRITE);
    expect(consent).toContain('<code class="scope-name">records.write</code>');
    expect(body.scope).toBe('PATIENT records.read records.write');
  });
});

describe('refreshing with API scopes', () => {
  it('may drop an API scope, never add one, never change the role; the refresh token keeps what was granted', async () => {
    const { body } = await tokensFor('PATIENT records.read records.write');
    const refresh = (scope: string | undefined, token: string) =>
      postToken(
        t.app,
        { grant_type: 'refresh_token', refresh_token: token, scope },
        { authorization: basic(clientId, secret) },
      );

    const narrowed = await refresh('records.write', body.refresh_token);
    expect(narrowed.statusCode).toBe(200);
    expect(narrowed.json().scope).toBe('PATIENT records.write');
    expect((await me(narrowed.json().access_token)).json().scope).toBe('PATIENT records.write');

    // The new refresh token still carries the whole grant (RFC 6749 §6), so the next refresh may ask for it all.
    const whole = await refresh(undefined, narrowed.json().refresh_token);
    expect(whole.statusCode).toBe(200);
    expect(whole.json().scope).toBe('PATIENT records.read records.write');

    for (const widening of ['records.read appointments', 'CLINICIAN records.read', 'Records.read', 'openid']) {
      const refused = await refresh(widening, whole.json().refresh_token);
      expect(refused.statusCode, widening).toBe(400);
      expect(refused.json().error, widening).toBe('invalid_scope');
    }
    // A refused refresh uses nothing up: the refresh token still works.
    const after = await refresh('patient', whole.json().refresh_token);
    expect(after.statusCode).toBe(200);
    expect(after.json().scope).toBe('PATIENT');
  });

  it('refuses to add an API scope the client is enabled for but was not granted', async () => {
    const { body } = await tokensFor('PATIENT records.read');
    const res = await postToken(
      t.app,
      { grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: 'records.read records.write' },
      { authorization: basic(clientId, secret) },
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_scope');
  });
});

describe('the implicit grant with API scopes', () => {
  it('follows the same grammar: the role first, then the API scopes, in the fragment', async () => {
    const { client } = await addClient(t.store, {
      name: 'Legacy SPA',
      redirectUris: [CB],
      grants: ['implicit'],
      scopes: ['PATIENT', 'records.read', 'records.write'],
    });
    const flow = await authorizeThroughPages(t.app, {
      query: { response_type: 'token', client_id: client.id, scope: 'records.read patient', state: STATE },
    });
    expect(flow.status).toBe(303);
    const params = responseParams(flow.location, 'fragment');
    expect(params.get('scope')).toBe('PATIENT records.read');
    expect(params.get('state')).toBe(STATE);
    expect((await me(params.get('access_token') as string)).json().scope).toBe('PATIENT records.read');
    expect(consentPageOf(flow.steps)).toContain(READ);

    const refused = await t.app.inject({
      url: `/apiAuthorize.action?${new URLSearchParams({ response_type: 'token', client_id: client.id, scope: 'PATIENT appointments', state: STATE })}`,
    });
    expect(refused.statusCode).toBe(302);
    const fragment = responseParams(String(refused.headers.location), 'fragment');
    expect(fragment.get('error')).toBe('invalid_scope');
    expect(fragment.get('state')).toBe(STATE);
  });
});

describe('metadata', () => {
  it('lists the roles, then the registered API scopes, including one registered while the server runs', async () => {
    const get = async () => (await t.app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
    expect((await get()).scopes_supported).toEqual([
      'PATIENT',
      'CLINICIAN',
      'TEAMCOORD',
      'appointments',
      'records.read',
      'records.write',
    ]);
    await addApiScope(t.store, { name: 'billing', description: 'See your bills' }, Date.now());
    expect((await get()).scopes_supported).toEqual([
      'PATIENT',
      'CLINICIAN',
      'TEAMCOORD',
      'appointments',
      'billing',
      'records.read',
      'records.write',
    ]);
    await t.store.removeApiScope('billing');
    expect((await get()).scopes_supported).not.toContain('billing');
  });
});
