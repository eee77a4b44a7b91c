/**
 * What an operator changes on a running server, on the real app and the real command line
 * against the same database (both engines): `client update` keeps every token working
 * when it takes nothing away and revokes (and says) what it does take away; `client
 * disable|enable` suspends and restores a client's tokens; `client rotate-secret --grace`
 * keeps the old secret working for the grace and never after; `user update --remove-role`
 * revokes the grants carrying the role; server and per-client lifetimes show in
 * `expires_in` and in what is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  form,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';
import { hashSecret } from '../../src/oauth/tokens.js';

let t: TestApp;
let secret: string;

async function setUp(options: Parameters<typeof testApp>[0] = {}): Promise<void> {
  t = await testApp(options);
  secret = (await addClient(t.store, { id: 'phone', name: 'Notes' })).secret as string;
  await addTestUser(t.store, 'alice', ['PATIENT', 'CLINICIAN']);
  await addTestUser(t.store, 'carol', ['CLINICIAN']);
}

afterEach(async () => {
  await t.close();
});

interface Tokens {
  access: string;
  refresh: string;
  expiresIn: number;
}

async function redeem(code: string, extra: Record<string, string> = {}, key = secret) {
  return postToken(t.app, { grant_type: 'authorization_code', code, ...extra }, { authorization: basic('phone', key) });
}

/** `username` signs in as `role` and allows the phone app; the tokens it then gets. */
async function tokensFor(username: string, role: string): Promise<Tokens> {
  const code = await codeThroughPages(t.app, {
    query: { response_type: 'code', client_id: 'phone', scope: role },
    username,
  });
  const res = await redeem(code);
  expect(res.statusCode).toBe(200);
  const body = res.json() as { access_token: string; refresh_token: string; expires_in: number };
  return { access: body.access_token, refresh: body.refresh_token, expiresIn: body.expires_in };
}

async function meStatus(access: string): Promise<number> {
  return (await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${access}` } })).statusCode;
}

async function refresh(tokens: Tokens, key = secret): Promise<{ status: number; error?: string; next?: Tokens }> {
  const res = await postToken(
    t.app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh },
    { authorization: basic('phone', key) },
  );
  const body = res.json() as { access_token?: string; refresh_token?: string; expires_in?: number; error?: string };
  return res.statusCode === 200
    ? {
        status: 200,
        next: {
          access: body.access_token as string,
          refresh: body.refresh_token as string,
          expiresIn: body.expires_in as number,
        },
      }
    : { status: res.statusCode, error: body.error };
}

function cli(...args: string[]) {
  return runCliInProcess(args, { db: t.url });
}

async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('tessera client update', () => {
  beforeEach(() => setUp());

  it('taking nothing away keeps every grant and token working', async () => {
    const before = await tokensFor('alice', 'PATIENT');
    const r = await cli(
      'client',
      'update',
      'phone',
      '--name',
      'Notes 2',
      '--add-redirect-uri',
      'https://app.example/other',
      '--add-scope',
      'openid',
      '--access-token-lifetime',
      '20m',
      '--skip-consent',
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('nothing was taken away: every grant and token keeps working');
    expect(r.stdout).toMatch(/^access token lifetime: +20m$/m);

    expect(await meStatus(before.access)).toBe(200);
    const next = await refresh(before);
    expect(next.status).toBe(200);
    // The new lifetime applies to what is issued from now on.
    expect(next.next?.expiresIn).toBe(1200);
    expect(await meStatus(next.next!.access)).toBe(200);
    expect(await cliJson('client', 'show', 'phone')).toMatchObject({
      client_name: 'Notes 2',
      access_token_lifetime: 1200,
      skip_consent: true,
      redirect_uris: ['https://app.example/cb', 'https://app.example/other'],
    });
  });

  it('taking a scope away revokes the grants holding it, says so, and leaves the others', async () => {
    const patient = await tokensFor('alice', 'PATIENT');
    const clinician = await tokensFor('carol', 'CLINICIAN');

    const text = await cli('client', 'update', 'phone', '--remove-scope', 'patient');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('taken away: scope PATIENT');
    expect(text.stdout).toMatch(/revoked: 1 grant\(s\) holding what was taken away/);

    expect(await meStatus(patient.access)).toBe(401);
    expect(await refresh(patient)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await meStatus(clinician.access)).toBe(200);
    expect((await refresh(clinician)).status).toBe(200);

    // Asking for it now is invalid_scope; adding it back revives nothing.
    const json = await cliJson('client', 'update', 'phone', '--add-scope', 'PATIENT');
    expect(json).toMatchObject({ changed: ['scope'], revoked: { grants: 0 } });
    expect(await meStatus(patient.access)).toBe(401);
  });

  it('taking the refresh_token grant away deletes the refresh tokens; access tokens last until they expire', async () => {
    const tokens = await tokensFor('alice', 'PATIENT');
    const json = await cliJson('client', 'update', 'phone', '--grant', 'authorization_code');
    expect(json).toMatchObject({
      taken_away: { grant_types: ['refresh_token'] },
      revoked: { refresh_tokens: 1 },
    });
    expect(await meStatus(tokens.access)).toBe(200);
    expect(await refresh(tokens)).toMatchObject({ status: 400, error: 'unauthorized_client' });
    // Given back, the grant type does not bring the deleted refresh tokens back.
    await cliJson('client', 'update', 'phone', '--grant', 'authorization_code', '--grant', 'refresh_token');
    expect(await refresh(tokens)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await meStatus(tokens.access)).toBe(200);
  });

  it('taking a redirect URI away ends the codes sent there; a redeemed grant keeps its tokens', async () => {
    const redeemed = await tokensFor('alice', 'PATIENT');
    await cliJson('client', 'update', 'phone', '--add-redirect-uri', 'https://app.example/old');
    const pending = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'phone', scope: 'PATIENT', redirect_uri: 'https://app.example/old' },
      username: 'alice',
    });

    const json = await cliJson('client', 'update', 'phone', '--remove-redirect-uri', 'https://app.example/old');
    expect(json).toMatchObject({
      taken_away: { redirect_uris: ['https://app.example/old'] },
      revoked: { unredeemed_codes: 1 },
    });
    const res = await redeem(pending, { redirect_uri: 'https://app.example/old' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_grant' });
    expect(await meStatus(redeemed.access)).toBe(200);
    expect((await refresh(redeemed)).status).toBe(200);
  });

  it('refuses what client add refuses, and an update that names nothing, with one line and exit 2', async () => {
    for (const [args, message] of [
      [[], /^tessera: nothing to update/],
      [['--remove-scope', 'nope'], /^tessera: the client has no scope 'nope'\n$/],
      [['--remove-redirect-uri', 'https://x.example/cb'], /no redirect URI 'https:\/\/x.example\/cb'/],
      [['--add-redirect-uri', 'http://evil.example/cb'], /invalid redirect URI/],
      [['--add-scope', 'unknown'], /unknown scope 'unknown'/],
      [['--scope', 'PATIENT', '--add-scope', 'CLINICIAN'], /not both/],
      [['--grant', 'refresh_token'], /refresh_token needs authorization_code/],
      [['--pkce', 'optional'], /public clients only/],
      [['--access-token-lifetime', '30s'], /access-token-lifetime must be a duration from 1m to 1d/],
      [['--code-lifetime', '11m'], /code-lifetime must be a duration from 10s to 10m/],
      [['--refresh-lifetime', 'soon'], /refresh-lifetime must be a duration/],
      [['--id-token-alg', 'HS256'], /id-token-alg/],
      [['--name', ' '], /--name must not be empty/],
    ] as const) {
      const r = await cli('client', 'update', 'phone', ...args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    const unknown = await cli('client', 'update', 'nope', '--name', 'X');
    expect(unknown).toMatchObject({ status: 2, stderr: "tessera: no client 'nope'\n" });
  });
});

describe('tessera client disable and enable', () => {
  beforeEach(() => setUp());

  it('a disabled client is refused and its tokens are not accepted; enabling restores them', async () => {
    const tokens = await tokensFor('alice', 'PATIENT');
    const disabled = await cli('client', 'disable', 'phone');
    expect(disabled.status).toBe(0);
    expect(disabled.stdout).toMatch(/^disabled client 'phone'/);
    expect(await cliJson('client', 'show', 'phone')).toMatchObject({ disabled: true });

    expect(await meStatus(tokens.access)).toBe(401);
    expect(await refresh(tokens)).toMatchObject({ status: 401, error: 'invalid_client' });
    const introspected = await t.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('phone', secret) },
      payload: form({ token: tokens.access }),
    });
    expect(introspected.statusCode).toBe(401);
    const authorize = await t.app.inject({ url: '/apiAuthorize.action?response_type=code&client_id=phone' });
    expect(authorize.statusCode).toBe(400);
    expect((await cli('client', 'disable', 'phone')).stdout).toMatch(/^client 'phone' was already disabled/);

    expect((await cliJson('client', 'enable', 'phone')).disabled).toBe(false);
    expect(await meStatus(tokens.access)).toBe(200);
    expect((await refresh(tokens)).status).toBe(200);
    expect((await cli('client', 'enable', 'nope')).stderr).toBe("tessera: no client 'nope'\n");
  });
});

describe('tessera client rotate-secret --grace', () => {
  beforeEach(() => setUp());

  /** Whether the phone app authenticates with `key` (introspection: 200 when it does, 401 when not). */
  async function authenticates(key: string): Promise<boolean> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('phone', key) },
      payload: form({ token: 'unknown' }),
    });
    expect([200, 401]).toContain(res.statusCode);
    return res.statusCode === 200;
  }

  it('keeps the old secret working during the grace, and never after', async () => {
    const rotated = await cliJson<{ client_secret: string; previous_secret_valid_until: string }>(
      'client',
      'rotate-secret',
      'phone',
      '--grace',
      '2s',
    );
    expect(Date.parse(rotated.previous_secret_valid_until)).toBeGreaterThan(Date.now());
    expect(await authenticates(secret)).toBe(true);
    expect(await authenticates(rotated.client_secret)).toBe(true);
    // At the token endpoint too.
    const tokens = await tokensFor('alice', 'PATIENT');
    expect((await refresh(tokens, rotated.client_secret)).status).toBe(200);
    // Both hashes at rest, neither secret.
    const stored = await t.store.getClient('phone');
    expect(stored?.secretHash).toBe(hashSecret(rotated.client_secret));
    expect(stored?.previousSecret?.hash).toBe(hashSecret(secret));

    t.advance(2001);
    expect(await authenticates(secret)).toBe(false);
    expect(await authenticates(rotated.client_secret)).toBe(true);
  });

  it('a second rotation within the grace ends the first secret at once; no grace ends it at once', async () => {
    const first = await cliJson<{ client_secret: string }>('client', 'rotate-secret', 'phone', '--grace', '1h');
    const second = await cliJson<{ client_secret: string }>('client', 'rotate-secret', 'phone', '--grace', '1h');
    expect(await authenticates(secret)).toBe(false);
    expect(await authenticates(first.client_secret)).toBe(true);
    expect(await authenticates(second.client_secret)).toBe(true);

    const third = await cliJson<Record<string, string>>('client', 'rotate-secret', 'phone');
    expect(Object.keys(third).sort()).toEqual(['client_id', 'client_secret']);
    expect(await authenticates(second.client_secret)).toBe(false);
    expect(await authenticates(third.client_secret as string)).toBe(true);

    for (const grace of ['-1', '31d', 'tomorrow']) {
      const r = await cli('client', 'rotate-secret', 'phone', '--grace', grace);
      expect(r).toMatchObject({ status: 2, stdout: '' });
      expect(r.stderr).toMatch(/^tessera: --grace must be a duration from 0s to 30d/);
    }
  });
});

describe('tessera user update', () => {
  beforeEach(() => setUp());

  it('taking a role away revokes the grants carrying it; other changes keep every token', async () => {
    const patient = await tokensFor('alice', 'PATIENT');
    const clinician = await tokensFor('alice', 'CLINICIAN');

    const kept = await cliJson('user', 'update', 'alice', '--name', 'Alice P', '--email', 'alice@example.org');
    expect(kept).toMatchObject({ name: 'Alice P', email: 'alice@example.org', grants_revoked: 0 });
    expect(await meStatus(patient.access)).toBe(200);

    const text = await cli('user', 'update', 'alice', '--remove-role', 'patient');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('roles taken away: PATIENT; revoked 1 grant(s) carrying them');
    expect(await meStatus(patient.access)).toBe(401);
    expect(await refresh(patient)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await meStatus(clinician.access)).toBe(200);

    expect(await cliJson('user', 'update', 'alice', '--no-email', '--add-role', 'TEAMCOORD')).toMatchObject({
      email: null,
      roles: ['CLINICIAN', 'TEAMCOORD'],
    });
    for (const [args, message] of [
      [[], /nothing to update/],
      [['--remove-role', 'PATIENT'], /does not hold the role PATIENT/],
      [['--role', 'CLINICIAN', '--add-role', 'PATIENT'], /not both/],
      [['--role', 'ADMIN'], /unknown role 'ADMIN'/],
      [['--email', 'not-an-address'], /--email must be an e-mail address/],
      [['--remove-role', 'CLINICIAN', '--remove-role', 'TEAMCOORD'], /at least one role/],
    ] as const) {
      const r = await cli('user', 'update', 'alice', ...args);
      expect(r).toMatchObject({ status: 2, stdout: '' });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli('user', 'update', 'mallory', '--name', 'M')).stderr).toBe("tessera: no user 'mallory'\n");
  });
});

describe('lifetimes', () => {
  it("the server's show in expires_in and in the code's and the grant's expiry; a client's own override them", async () => {
    await setUp({ lifetimes: { accessToken: 900, code: 30, grant: 7200 } });
    const code = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'phone' },
      username: 'carol',
    });
    const found = await t.store.findAuthorizationCode(hashSecret(code));
    expect(found!.code.expiresAt - found!.grant.createdAt).toBe(30_000);
    expect(found!.grant.expiresAt - found!.grant.createdAt).toBe(7_200_000);
    const res = await redeem(code);
    expect(res.json()).toMatchObject({ expires_in: 900 });

    await cliJson(
      'client',
      'update',
      'phone',
      '--access-token-lifetime',
      '2m',
      '--code-lifetime',
      '20s',
      '--refresh-lifetime',
      '1h',
    );
    const own = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'phone' },
      username: 'carol',
    });
    const ownFound = await t.store.findAuthorizationCode(hashSecret(own));
    expect(ownFound!.code.expiresAt - ownFound!.grant.createdAt).toBe(20_000);
    expect(ownFound!.grant.expiresAt - ownFound!.grant.createdAt).toBe(3_600_000);
    const ownRes = await redeem(own);
    expect(ownRes.json()).toMatchObject({ expires_in: 120 });
    const stored = await t.store.findAccessToken(hashSecret((ownRes.json() as { access_token: string }).access_token));
    expect(stored!.token.expiresAt - stored!.token.createdAt).toBe(120_000);

    // Back to the server's.
    const json = await cliJson('client', 'update', 'phone', '--access-token-lifetime', 'default');
    expect(json).toMatchObject({ access_token_lifetime: null, code_lifetime: 20 });
    const again = await codeThroughPages(t.app, {
      query: { response_type: 'code', client_id: 'phone' },
      username: 'carol',
    });
    expect((await redeem(again)).json()).toMatchObject({ expires_in: 900 });
  });

  it("PKB's expires_in: 600 stays the default", async () => {
    await setUp();
    const tokens = await tokensFor('carol', 'CLINICIAN');
    expect(tokens.expiresIn).toBe(600);
  });
});
