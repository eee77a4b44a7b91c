/**
 * The demo's data kept apart from real data, on each engine: one database seeded by the
 * demo, served by two apps — one with `demo` (as `serve --demo`), one without (as
 * `serve`). What the demo issued works on the first and is refused at every door of the
 * second, while real clients and people work on both; `removeDemoData` removes exactly
 * the demo's rows; migration 0009 marks what an older demo seeded.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { NO_MIGRATIONS, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_API_CLIENT_ID, DEMO_CLIENT_ID, DEMO_PASSWORD, demoApiSecret } from '../../src/demo/fixtures.js';
import { seedDemo } from '../../src/demo/seed.js';
import { buildApp } from '../../src/http/app.js';
import type { AppConfig } from '../../src/http/context.js';
import { demoDataNote } from '../../src/services/demo-data.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  CookieJar,
  form,
  openLogin,
  PASSWORD,
  pkcePair,
  postPage,
  postToken,
  tempStore,
  TEST_ENGINE,
} from '../helpers/harness.js';

const ISSUER = 'http://localhost:9000';
const DEMO_REDIRECT = `${ISSUER}/demo/callback`;
const APP_REDIRECT = 'https://app.example/cb';

interface Tokens {
  access_token: string;
  refresh_token: string;
}

describe(`demo data on a server without --demo (${TEST_ENGINE})`, () => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let demoApp: FastifyInstance;
  let plainApp: FastifyInstance;
  let app: { id: string; secret: string };
  let api: { id: string; secret: string };
  let config: AppConfig;

  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    config = {
      issuer: ISSUER,
      demo: true,
      lifetimes: DEFAULT_LIFETIMES,
      secret: randomBytes(32).toString('base64url'),
    };
    await seedDemo(store, ISSUER, config.secret, Date.now());
    // Real data beside it: an app, an API, a person.
    const added = await addClient(store, { name: 'Real App', redirectUris: [APP_REDIRECT] });
    app = { id: added.client.id, secret: added.secret as string };
    const resource = await addClient(store, { name: 'Real API', redirectUris: [], resourceServer: true });
    api = { id: resource.client.id, secret: resource.secret as string };
    await addTestUser(store, 'eve', ['PATIENT']);
    // The same database served with the demo and without it.
    demoApp = await buildApp(config, store);
    plainApp = await buildApp({ ...config, demo: false }, store);
  });

  afterEach(async () => {
    await demoApp.close();
    await plainApp.close();
    await cleanup();
  });

  /** Tokens from the code flow on `on`: the demo app (public, PKCE) or the real app. */
  async function tokens(
    on: FastifyInstance,
    client: 'demo' | 'real',
    username: string,
    password: string,
    jar = new CookieJar(),
  ): Promise<Tokens> {
    const { verifier, challenge } = pkcePair();
    const redirectUri = client === 'demo' ? DEMO_REDIRECT : APP_REDIRECT;
    const clientId = client === 'demo' ? DEMO_CLIENT_ID : app.id;
    const code = await codeThroughPages(on, {
      query: {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: 'PATIENT',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
      username,
      password,
      jar,
    });
    const res = await postToken(
      on,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: clientId,
      },
      client === 'real' ? { authorization: basic(app.id, app.secret) } : {},
    );
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Tokens>();
  }

  const me = (on: FastifyInstance, token: string) =>
    on.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });

  async function introspect(on: FastifyInstance, token: string, caller: { id: string; secret: string } = api) {
    const res = await postToken(
      on,
      { token },
      { url: '/oauth2/introspect', authorization: basic(caller.id, caller.secret) },
    );
    expect(res.statusCode).toBe(200);
    return res.json<{ active: boolean }>();
  }

  it('refuses a demo person at sign-in exactly as a wrong password, and forgets their browser session', async () => {
    const query = { response_type: 'code', client_id: app.id, redirect_uri: APP_REDIRECT, scope: 'PATIENT' };
    const attempt = async (on: FastifyInstance, username: string, password: string) => {
      const login = await openLogin(on, query);
      const res = await postPage(
        on,
        '/login',
        { request: login.request, csrf: login.csrf, username, password },
        login.jar,
      );
      return { status: res.statusCode, location: String(res.headers.location).replace(login.request, 'ID') };
    };
    const wrongPassword = await attempt(plainApp, 'eve', 'not the password');
    expect(wrongPassword.status).toBe(303);
    expect(wrongPassword.location).toMatch(/^\/login\?request=ID&error=/);
    expect(await attempt(plainApp, 'alice', DEMO_PASSWORD)).toEqual(wrongPassword);
    // The demo server lets alice in; the real person works on both.
    expect((await attempt(demoApp, 'alice', DEMO_PASSWORD)).location).toMatch(/^\/consent\?/);
    expect((await attempt(plainApp, 'eve', PASSWORD)).location).toMatch(/^\/consent\?/);

    // A browser signed in as alice on the demo server is not signed in without --demo.
    const jar = new CookieJar();
    await tokens(demoApp, 'real', 'alice', DEMO_PASSWORD, jar);
    const again = `/apiAuthorize.action?${form(query)}`;
    const withDemo = await demoApp.inject({ method: 'GET', url: again, headers: { cookie: jar.header() } });
    expect(String(withDemo.headers.location)).toMatch(/^\/consent\?/);
    const without = await plainApp.inject({ method: 'GET', url: again, headers: { cookie: jar.header() } });
    expect(String(without.headers.location)).toMatch(/^\/login\?/);
  });

  it('treats the demo clients as unknown at the authorization, token, introspection and revocation endpoints', async () => {
    const demoTokens = await tokens(demoApp, 'demo', 'alice', DEMO_PASSWORD);
    const authorize = `/apiAuthorize.action?${form({ response_type: 'code', client_id: DEMO_CLIENT_ID, redirect_uri: DEMO_REDIRECT, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' })}`;
    const page = await plainApp.inject({ method: 'GET', url: authorize, headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers.location).toBeUndefined();
    expect((await demoApp.inject({ method: 'GET', url: authorize })).statusCode).toBe(302);

    const refresh = { grant_type: 'refresh_token', refresh_token: demoTokens.refresh_token, client_id: DEMO_CLIENT_ID };
    const refused = await postToken(plainApp, refresh);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: 'invalid_client' });
    // The demo API (a resource server) cannot introspect, nor the demo app revoke.
    const demoApi = { id: DEMO_API_CLIENT_ID, secret: demoApiSecret(config.secret) };
    expect(await introspect(demoApp, demoTokens.access_token, demoApi)).toMatchObject({ active: true });
    const introspection = await postToken(
      plainApp,
      { token: demoTokens.access_token },
      { url: '/oauth2/introspect', authorization: basic(demoApi.id, demoApi.secret) },
    );
    expect(introspection.statusCode).toBe(401);
    expect(introspection.json()).toMatchObject({ error: 'invalid_client' });
    const revoke = { token: demoTokens.access_token, client_id: DEMO_CLIENT_ID };
    expect((await postToken(plainApp, revoke, { url: '/oauth2/revoke' })).statusCode).toBe(401);
    // Nothing was spent: the same refresh token still works where the demo is served.
    expect((await postToken(demoApp, refresh)).statusCode).toBe(200);
  });

  it("refuses bearer tokens and introspection of the demo's grants, with the demo client or a demo person", async () => {
    const demoClientToken = (await tokens(demoApp, 'demo', 'alice', DEMO_PASSWORD)).access_token;
    const demoPerson = await tokens(demoApp, 'real', 'alice', DEMO_PASSWORD);
    const real = await tokens(plainApp, 'real', 'eve', PASSWORD);
    for (const token of [demoClientToken, demoPerson.access_token]) {
      expect((await me(demoApp, token)).statusCode).toBe(200);
      const refused = await me(plainApp, token);
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(await introspect(demoApp, token)).toMatchObject({ active: true });
      expect(await introspect(plainApp, token)).toEqual({ active: false });
      const userinfo = await plainApp.inject({
        method: 'GET',
        url: '/oauth2/userinfo',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(userinfo.statusCode).toBe(401);
    }
    // The real app's refresh token of a demo person's grant: inactive without the demo.
    expect(await introspect(demoApp, demoPerson.refresh_token, app)).toMatchObject({ active: true });
    expect(await introspect(plainApp, demoPerson.refresh_token, app)).toEqual({ active: false });
    // Real data is untouched.
    expect((await me(plainApp, real.access_token)).statusCode).toBe(200);
    expect(await introspect(plainApp, real.access_token)).toMatchObject({ active: true });
  });

  it('removes exactly the demo data, with its grants, in one go; the note says how while there is some', async () => {
    await tokens(demoApp, 'demo', 'alice', DEMO_PASSWORD);
    await tokens(demoApp, 'real', 'alice', DEMO_PASSWORD);
    const real = await tokens(plainApp, 'real', 'eve', PASSWORD);
    expect(await store.countDemoData()).toEqual({ clients: 3, people: 4 });
    expect(await demoDataNote(store, 'tessera demo remove')).toBe(
      "note: this database holds 3 demo clients and 4 demo people (seeded by 'serve --demo'); without --demo they are refused. Remove them with: tessera demo remove",
    );

    expect(await store.removeDemoData()).toEqual({
      clients: ['tessera-demo', 'tessera-demo-api', 'tessera-demo-jwt'],
      people: ['alice', 'bob', 'carol', 'dana'],
      grants: 2,
    });
    expect(await store.countDemoData()).toEqual({ clients: 0, people: 0 });
    expect(await demoDataNote(store, 'tessera demo remove')).toBeUndefined();
    expect((await store.listClients()).map((c) => c.name).sort()).toEqual(['Real API', 'Real App']);
    expect((await store.listPeople()).map((p) => p.username)).toEqual(['eve']);
    const grants = await sql<{ n: number | string }>`select count(*) as n from grants`.execute(store.db);
    expect(Number(grants.rows[0]?.n)).toBe(1);
    expect((await me(plainApp, real.access_token)).statusCode).toBe(200);
    expect(await store.removeDemoData()).toEqual({ clients: [], people: [], grants: 0 });
  });

  it('seeds nothing over a real person who has a demo username, and does not list them on the demo page', async () => {
    const other = await tempStore();
    try {
      await addTestUser(other.store, 'alice', ['PATIENT'], 'Alice Real');
      const { taken } = await seedDemo(other.store, ISSUER, 'secret', Date.now());
      expect(taken).toEqual(['alice']);
      const alice = await other.store.getPersonByUsername('alice');
      expect(alice?.displayName).toBe('Alice Real');
      expect(alice?.demo ?? false).toBe(false);
      expect(await other.store.countDemoData()).toEqual({ clients: 3, people: 3 });
      const demo = await buildApp({ ...config, secret: 'secret' }, other.store);
      try {
        const page = await demo.inject({ method: 'GET', url: '/demo' });
        expect(page.statusCode).toBe(200);
        expect(page.body).toContain('<code>bob</code>');
        expect(page.body).not.toContain('<code>alice</code>');
        expect(page.body).not.toContain('Alice');
      } finally {
        await demo.close();
      }
    } finally {
      await other.cleanup();
    }
  });
});

describe(`migration 0009 (demo data) on ${TEST_ENGINE}`, () => {
  it('marks the rows an older demo seeded, and only those', async () => {
    const { store: before, url, cleanup } = await tempStore();
    try {
      await before.migrations(async (m) => {
        expect((await m.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
        expect((await m.migrateTo('0008_username_key')).error).toBeUndefined();
      });
      const db = before.db;
      const client = (id: string, name: string) =>
        sql`insert into clients (id, name, secret_hash, redirect_uris, scopes, grant_types, pkce_required, created_at, disabled_at)
          values (${id}, ${name}, null, '[]', '["PATIENT"]', '[]', 1, 1, null)`.execute(db);
      await client('tessera-demo', 'Tessera Demo App');
      await client('tessera-demo-jwt', 'Tessera Demo App (JWT)');
      await client('tessera-demo-api', 'Tessera Demo API');
      await client('c-real', 'Real App');
      const person = (id: string, username: string, name: string, email: string | null) =>
        sql`insert into people (id, username, display_name, password_hash, roles, created_at, disabled_at, email, username_key)
          values (${id}, ${username}, ${name}, 'x', '["PATIENT"]', 1, null, ${email}, ${username})`.execute(db);
      await person('p1', 'alice', 'Alice Patel', 'alice@example.org'); // seeded with e-mail
      await person('p2', 'bob', 'Dr Bob Chen', null); // seeded before e-mail addresses
      await person('p3', 'carol', 'Carol Diaz', 'carol@hospital.example'); // a real carol
      await person('p4', 'dana', 'Dana Reyes', null); // a real dana
      await person('p5', 'eve', 'Eve', null);
      await before.close();

      const after = await openStore(url);
      try {
        expect(
          (await after.listClients())
            .filter((c) => c.demo)
            .map((c) => c.id)
            .sort(),
        ).toEqual(['tessera-demo', 'tessera-demo-api', 'tessera-demo-jwt']);
        expect((await after.listPeople()).filter((p) => p.demo).map((p) => p.username)).toEqual(['alice', 'bob']);
        expect(await after.countDemoData()).toEqual({ clients: 3, people: 2 });
      } finally {
        await after.close();
      }
    } finally {
      await cleanup();
    }
  });
});
