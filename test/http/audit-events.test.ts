/**
 * The security events a real `tessera serve` writes to its log (stderr, JSON lines at the
 * default level `info`): sign-ins that fail and succeed, consent given, denied and skipped,
 * tokens issued by every grant, refresh-token reuse and code replay with the revocation
 * they cause, sign-out — each with its stable `event` name, its fields and the client's
 * address taken from X-Forwarded-For (the test is the trusted proxy). Then the whole log
 * is searched for every secret the flows handled: none may appear.
 * SQLite always; PostgreSQL too in the postgres project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENGINE, tempPostgresUrl } from '../helpers/harness.js';
import {
  addClientWithCli,
  addUserWithCli,
  basicAuth,
  startServer,
  type CliClient,
  type ServerProcess,
} from '../helpers/server-process.js';

const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'https://app.example/cb';
/** What a person might type into the username field by mistake: must never be logged. */
const TYPED_BY_MISTAKE = 'Tr0ub4dor&3-not-a-username';
/** The client's address as the proxy (this test) reports it. */
const CLIENT_IP = '203.0.113.7';

interface LogLine {
  level: number;
  msg: string;
  event?: string;
  [key: string]: unknown;
}

/** name=value pairs from Set-Cookie, sent back as a browser would; every value seen is kept. */
class Jar {
  private readonly cookies = new Map<string, string>();
  readonly seen = new Set<string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      this.cookies.set(pair.slice(0, eq).trim(), value);
      if (value !== '') this.seen.add(value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function hiddenValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden input ${name} in page`);
  return match[1] as string;
}

describe(`security events in the server log (${TEST_ENGINE})`, () => {
  let server: ServerProcess;
  let dropSchema: (() => Promise<void>) | undefined;
  let app: CliClient;
  let firstParty: CliClient;
  let alice: { id: string };
  /** Every secret the flows handled: none may appear in the log. */
  const secrets = new Set<string>([PASSWORD, TYPED_BY_MISTAKE]);
  const jar = new Jar();

  beforeAll(async () => {
    let db: string | undefined;
    if (TEST_ENGINE === 'postgres') {
      const temp = await tempPostgresUrl();
      db = temp.url;
      dropSchema = temp.drop;
    }
    server = await startServer({ ...(db && { db }), logLevel: 'info', args: ['--trust-proxy', 'loopback'] });
    app = addClientWithCli(server.db, ['--name', 'Diary', '--redirect-uri', REDIRECT_URI, '--scope', 'PATIENT']);
    firstParty = addClientWithCli(server.db, [
      '--name',
      'Portal',
      '--redirect-uri',
      REDIRECT_URI,
      '--scope',
      'PATIENT',
      '--skip-consent',
      '--grant',
      'authorization_code,refresh_token,client_credentials',
    ]);
    secrets.add(app.client_secret as string).add(firstParty.client_secret as string);
    alice = addUserWithCli(server.db, { username: 'alice', password: PASSWORD, roles: ['PATIENT'] }) as {
      id: string;
    };
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await dropSchema?.();
  });

  async function go(path: string, form?: Record<string, string>) {
    const res = await fetch(new URL(path, server.baseUrl), {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        'x-forwarded-for': CLIENT_IP,
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    jar.take(res);
    return { status: res.status, location: res.headers.get('location') ?? '', body: await res.text() };
  }

  async function token(client: CliClient, form: Record<string, string>) {
    const res = await fetch(`${server.baseUrl}/apiToken.action`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': CLIENT_IP,
        authorization: basicAuth(client.client_id, client.client_secret as string),
      },
      body: new URLSearchParams(form).toString(),
    });
    const body = (await res.json()) as Record<string, string>;
    for (const key of ['access_token', 'refresh_token', 'id_token']) if (body[key]) secrets.add(body[key]);
    return { status: res.status, body };
  }

  function authorizeUrl(client: CliClient): string {
    return `/apiAuthorize.action?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, scope: 'PATIENT' })}`;
  }

  function codeFrom(location: string): string {
    const code = new URL(location).searchParams.get('code');
    if (!code) throw new Error(`no code in ${location}`);
    secrets.add(code);
    return code;
  }

  /** The event lines of the log so far (waiting a moment for lines still on their way). */
  async function events(): Promise<LogLine[]> {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return server
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.event !== undefined);
  }

  it('logs each sign-in, consent, token and replay event with its fields, and never a secret', async () => {
    // Sign-in: a wrong password, a username that names nobody, then the right one.
    const start = await go(authorizeUrl(app));
    const login = await go(start.location);
    const request = hiddenValue(login.body, 'request');
    const csrf = hiddenValue(login.body, 'csrf');
    secrets.add(csrf);
    expect((await go('/login', { request, csrf, username: 'alice', password: 'wrong password' })).status).toBe(303);
    expect((await go('/login', { request, csrf, username: TYPED_BY_MISTAKE, password: PASSWORD })).status).toBe(303);
    const signedIn = await go('/login', { request, csrf, username: 'Alice', password: PASSWORD });
    expect(signedIn.location).toMatch(/^\/consent/);

    // Consent given; the code redeemed; the refresh token used, then used again.
    const consent = await go(signedIn.location);
    const allowed = await go('/consent', { request, csrf: hiddenValue(consent.body, 'csrf'), decision: 'allow' });
    const first = await token(app, { grant_type: 'authorization_code', code: codeFrom(allowed.location) });
    expect(first.status).toBe(200);
    const refreshed = await token(app, {
      grant_type: 'refresh_token',
      refresh_token: first.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    const reused = await token(app, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
    expect(reused.body.error).toBe('invalid_grant');

    // With the session: consent denied, then a code redeemed twice.
    const again = await go(authorizeUrl(app));
    const page = await go(again.location);
    const denyRequest = hiddenValue(page.body, 'request');
    await go('/consent', { request: denyRequest, csrf: hiddenValue(page.body, 'csrf'), decision: 'deny' });
    const third = await go(authorizeUrl(app));
    const thirdPage = await go(third.location);
    const thirdAllowed = await go('/consent', {
      request: hiddenValue(thirdPage.body, 'request'),
      csrf: hiddenValue(thirdPage.body, 'csrf'),
      decision: 'allow',
    });
    const code = codeFrom(thirdAllowed.location);
    expect((await token(app, { grant_type: 'authorization_code', code })).status).toBe(200);
    expect((await token(app, { grant_type: 'authorization_code', code })).body.error).toBe('invalid_grant');

    // A --skip-consent client: no page; and its own token (client_credentials).
    const skipped = await go(authorizeUrl(firstParty));
    expect(skipped.location.startsWith(REDIRECT_URI)).toBe(true);
    codeFrom(skipped.location);
    expect((await token(firstParty, { grant_type: 'client_credentials' })).status).toBe(200);

    // Signing out (confirmed on the page: no id_token_hint).
    const confirm = await go('/oauth2/logout');
    await go('/oauth2/logout', { csrf: hiddenValue(confirm.body, 'csrf'), confirm: 'yes' });

    const lines = await events();
    const of = (event: string) => lines.filter((l) => l.event === event);
    const at = { address: CLIENT_IP };

    expect(of('sign_in_failed')).toEqual([
      expect.objectContaining({ level: 30, username: 'alice', client: app.client_id, reason: 'credentials', ...at }),
      expect.objectContaining({ level: 30, username: null, client: app.client_id, reason: 'credentials', ...at }),
    ]);
    // The registered spelling, whatever the letter case typed.
    expect(of('signed_in')).toEqual([
      expect.objectContaining({ username: 'alice', person: alice.id, client: app.client_id, ...at }),
    ]);
    const given = of('consent_given');
    expect(given).toHaveLength(2);
    expect(given[0]).toMatchObject({ person: alice.id, client: app.client_id, scope: 'PATIENT', ...at });
    const grantOne = given[0]?.grant as string;
    const grantTwo = given[1]?.grant as string;
    expect(grantOne).toMatch(/\S/);
    expect(of('consent_denied')).toEqual([expect.objectContaining({ person: alice.id, client: app.client_id, ...at })]);
    const skippedEvents = of('consent_skipped');
    expect(skippedEvents).toEqual([
      expect.objectContaining({ person: alice.id, client: firstParty.client_id, scope: 'PATIENT', ...at }),
    ]);

    const issued = of('tokens_issued');
    expect(issued).toEqual([
      expect.objectContaining({
        grant: grantOne,
        client: app.client_id,
        person: alice.id,
        grant_type: 'authorization_code',
        scope: 'PATIENT',
        refresh_token: true,
        ...at,
      }),
      expect.objectContaining({ grant: grantOne, grant_type: 'refresh_token', refresh_token: true }),
      expect.objectContaining({ grant: grantTwo, grant_type: 'authorization_code' }),
      expect.objectContaining({
        client: firstParty.client_id,
        person: null,
        grant_type: 'client_credentials',
        refresh_token: false,
      }),
    ]);

    expect(of('refresh_reuse_detected')).toEqual([
      expect.objectContaining({ level: 40, grant: grantOne, client: app.client_id, ...at }),
    ]);
    expect(of('code_replayed')).toEqual([
      expect.objectContaining({ level: 40, grant: grantTwo, client: app.client_id, ...at }),
    ]);
    expect(of('grant_revoked')).toEqual([
      expect.objectContaining({ level: 40, grant: grantOne, reason: 'refresh_reuse_detected', ...at }),
      expect.objectContaining({ level: 40, grant: grantTwo, reason: 'code_replayed', ...at }),
    ]);
    expect(of('signed_out')).toEqual([expect.objectContaining({ person: alice.id, client: null, ...at })]);
    // Each event line carries the message that goes with it, and its request's id.
    for (const line of lines) {
      expect(line.msg).toMatch(/\S/);
      expect(line.reqId).toMatch(/\S/);
    }

    // Nothing secret anywhere in the log: tokens, codes, client secrets, passwords,
    // cookies, CSRF tokens, and what was typed into the username field by mistake.
    for (const value of jar.seen) secrets.add(value);
    const log = server.stderr();
    expect(secrets.size).toBeGreaterThan(12);
    for (const secret of secrets) {
      expect(log.includes(secret), `a secret appears in the log: ${secret.slice(0, 6)}…`).toBe(false);
    }
  });
});
