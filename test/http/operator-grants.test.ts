/**
 * What an operator does about a stolen phone, on the real app and the real command line
 * against the same database (both engines): `tessera grant list` shows what the person
 * allowed, `tessera grant revoke` ends one app's grant — its access token is refused at
 * the API and its refresh token at the token endpoint — and `user set-password
 * --revoke-grants` ends all of them, where a plain set-password keeps them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import {
  addClient,
  addTestUser,
  basic,
  codeThroughPages,
  postToken,
  testApp,
  type TestApp,
} from '../helpers/harness.js';

let t: TestApp;
const secrets = new Map<string, string>();

beforeEach(async () => {
  t = await testApp();
  for (const id of ['phone', 'laptop']) {
    const { secret } = await addClient(t.store, { id, name: `Notes on the ${id}` });
    secrets.set(id, secret as string);
  }
  await addTestUser(t.store, 'alice', ['PATIENT']);
  await addTestUser(t.store, 'bob', ['PATIENT']);
});
afterEach(async () => {
  await t.close();
  secrets.clear();
});

interface Tokens {
  access: string;
  refresh: string;
}

/** `username` signs in and allows `client`; the tokens the client then gets. */
async function tokensFor(client: string, username: string): Promise<Tokens> {
  const code = await codeThroughPages(t.app, { query: { response_type: 'code', client_id: client }, username });
  const res = await postToken(
    t.app,
    { grant_type: 'authorization_code', code },
    { authorization: basic(client, secrets.get(client) as string) },
  );
  expect(res.statusCode).toBe(200);
  const body = res.json() as { access_token: string; refresh_token: string };
  return { access: body.access_token, refresh: body.refresh_token };
}

async function meStatus(access: string): Promise<number> {
  return (await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${access}` } })).statusCode;
}

/** Uses the refresh token; on success returns the new tokens (the old refresh token is retired). */
async function refreshWith(client: string, tokens: Tokens): Promise<{ status: number; error?: string; next?: Tokens }> {
  const res = await postToken(
    t.app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh },
    { authorization: basic(client, secrets.get(client) as string) },
  );
  const body = res.json() as { access_token?: string; refresh_token?: string; error?: string };
  return res.statusCode === 200
    ? { status: 200, next: { access: body.access_token as string, refresh: body.refresh_token as string } }
    : { status: res.statusCode, error: body.error };
}

function cli(...args: string[]) {
  return runCliInProcess(args, { db: t.url });
}

async function cliJson<T>(...args: string[]): Promise<T> {
  const r = await cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as T;
}

function expectRefused(r: { status: number | null; stdout: string; stderr: string }, message: string): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`tessera: ${message}\n`);
}

type Listed = Array<{ id: string; username: string | null; client_id: string; client_name: string; scope: string }>;

describe('tessera grant list and revoke', () => {
  it("revoking the stolen phone's grant stops its tokens and leaves the laptop's working", async () => {
    const phone = await tokensFor('phone', 'alice');
    const laptop = await tokensFor('laptop', 'alice');
    await tokensFor('phone', 'bob');

    const all = await cliJson<Listed>('grant', 'list');
    expect(all.map((g) => [g.username, g.client_id])).toEqual([
      ['bob', 'phone'],
      ['alice', 'laptop'],
      ['alice', 'phone'],
    ]);
    const alices = await cliJson<Listed>('grant', 'list', '--user', 'alice');
    expect(alices.map((g) => g.client_id)).toEqual(['laptop', 'phone']);
    const [stolen] = await cliJson<Listed>('grant', 'list', '--user', 'alice', '--client', 'phone');
    expect(stolen).toMatchObject({
      username: 'alice',
      client_id: 'phone',
      client_name: 'Notes on the phone',
      scope: 'PATIENT',
    });

    const text = await cli('grant', 'list', '--client', 'phone');
    expect(text.status).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID +USER +CLIENT +CLIENT NAME +SCOPE +CREATED +EXPIRES$/);
    expect(text.stdout).toContain(stolen!.id);

    const revoked = await cli('grant', 'revoke', stolen!.id);
    expect(revoked).toMatchObject({ status: 0, stderr: '' });
    expect(revoked.stdout).toContain(`revoked grant '${stolen!.id}'`);

    expect(await meStatus(phone.access)).toBe(401);
    expect(await refreshWith('phone', phone)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await meStatus(laptop.access)).toBe(200);
    expect((await refreshWith('laptop', laptop)).status).toBe(200);

    expect((await cliJson<Listed>('grant', 'list', '--user', 'alice')).map((g) => g.client_id)).toEqual(['laptop']);
    expectRefused(await cli('grant', 'revoke', stolen!.id), `grant '${stolen!.id}' is already revoked`);
  });

  it('revoke --json; unknown grants, users and clients are one line and exit 2', async () => {
    await tokensFor('phone', 'alice');
    const [grant] = await cliJson<Listed>('grant', 'list');
    expect(await cliJson('grant', 'revoke', grant!.id)).toEqual({ id: grant!.id, revoked: true });
    expect(await cliJson('grant', 'list')).toEqual([]);
    expectRefused(await cli('grant', 'revoke', 'no-such-grant'), "no grant 'no-such-grant'");
    expectRefused(await cli('grant', 'list', '--user', 'mallory'), "no user 'mallory'");
    expectRefused(await cli('grant', 'list', '--client', 'nope'), "no client 'nope'");
  });
});

describe('tessera user set-password and grants', () => {
  it('keeps the grants by default; --revoke-grants ends every one of them, and no one else’s', async () => {
    const phone = await tokensFor('phone', 'alice');
    const laptop = await tokensFor('laptop', 'alice');
    const bobs = await tokensFor('phone', 'bob');

    const kept = await cli('user', 'set-password', 'alice', '--password', 'a new password 1');
    expect(kept.status).toBe(0);
    expect(kept.stdout).toContain('their grants are kept');
    expect(await meStatus(phone.access)).toBe(200);
    const phoneNext = (await refreshWith('phone', phone)).next as Tokens;
    expect(phoneNext).toBeDefined();

    const ended = await cliJson<Record<string, unknown>>(
      'user',
      'set-password',
      'alice',
      '--password',
      'a new password 2',
      '--revoke-grants',
    );
    expect(ended).toMatchObject({ username: 'alice', grants_revoked: true });
    for (const access of [phoneNext.access, laptop.access]) expect(await meStatus(access)).toBe(401);
    expect(await refreshWith('phone', phoneNext)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await refreshWith('laptop', laptop)).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(await cliJson('grant', 'list', '--user', 'alice')).toEqual([]);

    expect(await meStatus(bobs.access)).toBe(200);
    expect((await cliJson<Listed>('grant', 'list')).map((g) => g.username)).toEqual(['bob']);
  });
});
