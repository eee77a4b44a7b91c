/**
 * The `tessera` command line, black-box against a fresh SQLite file: each case
 * checks what an operator sees — stdout, stderr and the exit code. The cases run the
 * program in process through runCli, the very function main.ts runs (a Node.js start per
 * command made this file slow); a few smoke tests at the end spawn the REAL built
 * command, `node dist/cli/main.js …` (`npm test` builds it first), to check that
 * main.ts wires it to the process: exit codes, streams, a closed stdout.
 *
 * Refusals are one `tessera: …` line on stderr, nothing on stdout, exit code 2, and
 * never a stack trace.
 */
import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedDb } from '../helpers/migrated-db.js';
import { describeError, readPassword } from '../../src/cli/common.js';
import { runCli } from '../../src/cli/run.js';
import { buildApp } from '../../src/http/app.js';
import { admitSignInAttempt, DEFAULT_THROTTLE } from '../../src/oauth/sign-in-throttle.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import { InvalidInputError } from '../../src/services/errors.js';
import { verifyPassword } from '../../src/oauth/passwords.js';
import { openStore, StoreOpenError } from '../../src/store/open.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any TESSERA_* variable, so that only what a test sets counts. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TESSERA_')) env[key] = value;
  return { ...env, ...extra };
}

/** Each case spawns the CLI several times; a loaded CI machine needs room. */
const SLOW = { timeout: 120_000 };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  dirs.push(dir);
  return dir;
}

/** A path where no database is yet: its folder, its file and its `--db` arguments. */
function newDbPath(): { dir: string; file: string; url: string; db: string[] } {
  const dir = tempDir();
  const file = join(dir, 'tessera.db');
  return { dir, file, url: `sqlite:${file}`, db: ['--db', `sqlite:${file}`] };
}

/** A fresh, migrated, empty database (commands other than migrate refuse one that is not there). */
function freshDb(): { dir: string; file: string; url: string; db: string[] } {
  const fresh = newDbPath();
  migratedDb(fresh.file);
  return fresh;
}

/** Runs `node dist/cli/main.js ARGS` to completion (killed after 20 s); `input` goes to its stdin. */
function spawnTessera(
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? tempDir(),
      env: cleanEnv(options.env),
      timeout: 20_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `tessera ARGS` in process (runCli) with the same clean environment; `input` goes
 * to its stdin. A run in another working directory (`cwd`) spawns the built command.
 */
async function tessera(
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  if (options.cwd !== undefined) return spawnTessera(args, options);
  const r = await runCli(args, { stdin: options.input ?? '', env: cleanEnv(options.env) });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed with `--json` and returns its one JSON value. */
async function tesseraJson<T = Record<string, unknown>>(args: string[], options: { input?: string } = {}): Promise<T> {
  const r = await tessera([...args, '--json'], options);
  expect(r.stderr, `stderr of tessera ${args.join(' ')}`).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout.endsWith('\n')).toBe(true);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as T;
}

/** A refusal: exit 2, nothing on stdout, exactly one `tessera: …` line on stderr, no stack trace. */
function expectRefused(r: Run, message?: RegExp | string): void {
  expect(r.status, `stderr: ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines, `stderr: ${JSON.stringify(r.stderr)}`).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^tessera: \S/);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
  if (typeof message === 'string') expect(lines[0]).toBe(message);
  else if (message) expect(lines[0]).toMatch(message);
}

async function addClient(db: string[], ...extra: string[]): Promise<Record<string, unknown>> {
  return tesseraJson(['client', 'add', ...db, '--name', 'App', '--redirect-uri', 'https://app.example/cb', ...extra]);
}

async function addUser(db: string[], username: string, ...extra: string[]): Promise<Record<string, unknown>> {
  return tesseraJson([
    'user',
    'add',
    ...db,
    '--username',
    username,
    '--password',
    'correct horse battery',
    '--role',
    'PATIENT',
    ...extra,
  ]);
}

/** The stored password hash of a person, read straight from the database. */
async function storedPasswordHash(url: string, username: string): Promise<string | undefined> {
  const store = await openStore(url);
  try {
    return (await store.getPersonByUsername(username))?.passwordHash;
  } finally {
    await store.close();
  }
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} does not exist: run 'npm run build' first ('npm test' does)`);
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('tessera --help and --version', SLOW, () => {
  const commands = [
    [],
    ['serve'],
    ['migrate'],
    ['client'],
    ['client', 'add'],
    ['client', 'list'],
    ['client', 'show'],
    ['client', 'remove'],
    ['client', 'rotate-secret'],
    ['user'],
    ['user', 'add'],
    ['user', 'list'],
    ['user', 'show'],
    ['user', 'remove'],
    ['user', 'set-password'],
    ['user', 'disable'],
    ['user', 'enable'],
  ];

  it.each(commands.map((c) => [c.join(' ') || '(program)', c] as const))(
    '%s --help exits 0 with usage on stdout',
    async (_, command) => {
      const r = await tessera([...command, '--help']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`Usage: ${['tessera', ...command].join(' ')}`);
      if (command.length === 2 || command[0] === 'migrate') expect(r.stdout).toContain('--db <url>');
      if (command[0] === 'client' || command[0] === 'user') {
        if (command.length === 2) expect(r.stdout).toContain('--json');
      }
    },
  );

  it('help COMMAND works like COMMAND --help', async () => {
    const r = await tessera(['help', 'client']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: tessera client');
    expect(r.stdout).toContain('rotate-secret');
  });

  it('--version prints the package version', async () => {
    const r = await tessera(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(PACKAGE_VERSION);
  });

  it('--help documents the --db default and TESSERA_DB', async () => {
    const r = await tessera(['client', 'list', '--help']);
    expect(r.stdout).toContain('sqlite:./.tessera/tessera.db');
    expect(r.stdout).toContain('TESSERA_DB');
  });

  it('a missing or unknown command is one line and exit 2', async () => {
    expectRefused(await tessera([]), /needs a command/);
    expectRefused(
      await tessera(['client']),
      /'tessera client' needs a command: add, list, show, remove, rotate-secret/,
    );
    expectRefused(await tessera(['user']), /'tessera user' needs a command/);
    expectRefused(await tessera(['client', 'frobnicate']), /unknown command 'tessera client frobnicate'/);
    expectRefused(await tessera(['frobnicate']), /unknown command/);
  });
});

describe.concurrent('tessera client add', SLOW, () => {
  it('prints a confidential client with its secret once, and stores only a hash of it', async () => {
    const { db, file } = freshDb();
    const r = await tessera(['client', 'add', ...db, '--name', 'My App', '--redirect-uri', 'https://app.example/cb']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const id = /^client_id:\s+(\S+)$/m.exec(r.stdout)?.[1];
    const secret = /^client_secret:\s+(\S+)$/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(r.stdout.split(secret as string)).toHaveLength(2); // printed exactly once
    expect(r.stdout).toMatch(/only this once/);
    expect(r.stdout).toContain('https://app.example/cb');
    expect(r.stdout).toMatch(/PATIENT CLINICIAN TEAMCOORD/);
    expect(r.stdout).toMatch(/authorization_code refresh_token/);

    // Never again: not in show or list, and not in the database.
    for (const args of [
      ['client', 'show', id as string],
      ['client', 'list'],
      ['client', 'list', '--json'],
      ['client', 'show', id as string, '--json'],
    ]) {
      const again = await tessera([...args, ...db]);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain(id);
      expect(again.stdout).not.toContain(secret);
      expect(again.stdout).not.toMatch(/client_secret["\s]*:/);
    }
    for (const f of [file, `${file}-wal`]) {
      if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret as string))).toBe(false);
    }
  });

  it('--json prints exactly one object with the registration fields and the secret', async () => {
    const { db } = freshDb();
    const client = await addClient(db);
    expect(client).toMatchObject({
      client_name: 'App',
      redirect_uris: ['https://app.example/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'PATIENT CLINICIAN TEAMCOORD',
      token_endpoint_auth_method: 'client_secret_basic',
      disabled: false,
    });
    expect(client.client_id).toMatch(/^\S{8,}$/);
    expect(client.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(client).not.toHaveProperty('warning');
  });

  it('registers a public client: no secret, PKCE required, no warning', async () => {
    const { db } = freshDb();
    const r = await tessera([
      'client',
      'add',
      ...db,
      '--name',
      'Mobile',
      '--public',
      '--redirect-uri',
      'com.example.app:/cb',
      '--json',
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const client = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(client).toMatchObject({
      token_endpoint_auth_method: 'none',
      pkce_required: true,
      redirect_uris: ['com.example.app:/cb'],
    });
    expect(client).not.toHaveProperty('client_secret');
    expect(client).not.toHaveProperty('warning');

    const human = await tessera([
      'client',
      'add',
      ...db,
      '--name',
      'Mobile 2',
      '--public',
      '--redirect-uri',
      'http://127.0.0.1/cb',
    ]);
    expect(human.status).toBe(0);
    expect(human.stdout).not.toMatch(/client_secret:/);
    expect(human.stdout).toMatch(/public/);
  });

  it('warns plainly about a public client with --pkce optional, in add and in show', async () => {
    const { db } = freshDb();
    const args = [
      'client',
      'add',
      ...db,
      '--name',
      'Legacy',
      '--public',
      '--pkce',
      'optional',
      '--redirect-uri',
      'https://legacy.example/cb',
    ];
    const json = await tessera([...args, '--json']);
    expect(json.status).toBe(0);
    const client = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(client).toMatchObject({ token_endpoint_auth_method: 'none', pkce_required: false });
    expect(client.warning).toMatch(/without PKCE/);
    expect(json.stderr).toMatch(/warning: .*without PKCE/);

    const human = await tessera(args);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/PKCE optional: weaker/);
    expect(human.stderr).toMatch(/warning: .*without PKCE/);

    const shown = await tesseraJsonAllowingWarning(['client', 'show', client.client_id as string, ...db]);
    expect(shown.warning).toMatch(/without PKCE/);
    const shownHuman = await tessera(['client', 'show', client.client_id as string, ...db]);
    expect(shownHuman.status).toBe(0);
    expect(shownHuman.stderr).toMatch(/warning: .*without PKCE/);
  });

  it('takes repeated and case-insensitive --scope and --grant values', async () => {
    const { db } = freshDb();
    const client = await addClient(
      db,
      '--scope',
      'clinician',
      '--scope',
      'PATIENT',
      '--grant',
      'authorization_code',
      '--grant',
      'implicit',
    );
    expect(client.scope).toBe('PATIENT CLINICIAN');
    expect(client.grant_types).toEqual(['authorization_code', 'implicit']);
    const two = await addClient(db, '--redirect-uri', 'http://localhost:8080/cb', '--scope', 'TEAMCOORD');
    expect(two.redirect_uris).toEqual(['https://app.example/cb', 'http://localhost:8080/cb']);
    expect(two.scope).toBe('TEAMCOORD');
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['missing --name', ['--redirect-uri', 'https://a.example/cb'], /required option '--name <name>'/],
    ['empty --name', ['--name', ' ', '--redirect-uri', 'https://a.example/cb'], /--name must not be empty/],
    ['no redirect URI', ['--name', 'X'], /at least one --redirect-uri/],
    ['a fragment', ['--name', 'X', '--redirect-uri', 'https://a.example/cb#frag'], /fragment/],
    ['javascript:', ['--name', 'X', '--redirect-uri', 'javascript:alert(1)'], /javascript/],
    ['data:', ['--name', 'X', '--redirect-uri', 'data:text/html,hi'], /data/],
    ['http: on a public host', ['--name', 'X', '--redirect-uri', 'http://example.com/cb'], /https/],
    ['a wildcard', ['--name', 'X', '--redirect-uri', 'https://*.example.com/cb'], /wildcard/],
    ['a relative URI', ['--name', 'X', '--redirect-uri', '/cb'], /absolute/],
    [
      'an unknown scope',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--scope', 'ADMIN'],
      /unknown scope 'ADMIN'/,
    ],
    [
      'an unknown grant',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--grant', 'password'],
      /unknown grant 'password'/,
    ],
    [
      'a bad --pkce',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--public', '--pkce', 'maybe'],
      /--pkce/,
    ],
    [
      'an unknown option',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--colour', 'blue'],
      /unknown option '--colour'/,
    ],
    [
      'a misspelt option (with a suggestion, still one line)',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--publik'],
      /unknown option '--publik'.*--public/,
    ],
    ['an option without its value', ['--name'], /argument missing/],
    [
      'a newline in a value',
      ['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--scope', 'PAT\nIENT'],
      /unknown scope/,
    ],
  ];

  it.each(refusals)('refuses %s with one line and exit 2, creating nothing', async (_, args, message) => {
    const { db } = freshDb();
    expectRefused(await tessera(['client', 'add', ...db, ...args]), message);
    const list = await tessera(['client', 'list', ...db, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});

describe.concurrent('tessera client add and user add for OpenID Connect', SLOW, () => {
  it('--id-token-alg, --skip-consent and --post-logout-redirect-uri are stored and shown; defaults RS256, asked, none', async () => {
    const { db } = freshDb();
    const plain = await addClient(db);
    expect(plain).toMatchObject({
      id_token_signed_response_alg: 'RS256',
      skip_consent: false,
      post_logout_redirect_uris: [],
    });
    const app = await addClient(
      db,
      '--scope',
      'openid',
      '--scope',
      'profile',
      '--id-token-alg',
      'EdDSA',
      '--skip-consent',
      '--post-logout-redirect-uri',
      'https://app.example/bye',
      '--post-logout-redirect-uri',
      'https://app.example/bye',
      '--post-logout-redirect-uri',
      'http://localhost:3000/signed-out',
    );
    expect(app).toMatchObject({
      scope: 'openid profile',
      id_token_signed_response_alg: 'EdDSA',
      skip_consent: true,
      post_logout_redirect_uris: ['https://app.example/bye', 'http://localhost:3000/signed-out'],
    });
    const shown = await tesseraJson(['client', 'show', app.client_id as string, ...db]);
    expect(shown).toMatchObject({ id_token_signed_response_alg: 'EdDSA', skip_consent: true });
    const human = await tessera(['client', 'show', app.client_id as string, ...db]);
    expect(human.stdout).toMatch(/ID tokens:\s+EdDSA/);
    expect(human.stdout).toMatch(/consent:\s+skipped/);
    expect(human.stdout).toMatch(/post-logout URIs:\s+https:\/\/app\.example\/bye http:\/\/localhost:3000\/signed-out/);
  });

  it('refuses an ID token algorithm or a post-logout redirect URI it would not accept, with one line and exit 2', async () => {
    const { db } = freshDb();
    const base = ['client', 'add', ...db, '--name', 'App', '--redirect-uri', 'https://app.example/cb'];
    for (const alg of ['HS256', 'none', 'rs256', 'PS256']) {
      expectRefused(
        await tessera([...base, '--id-token-alg', alg]),
        `tessera: --id-token-alg must be one of RS256, ES256, EdDSA, not '${alg}'`,
      );
    }
    for (const uri of ['https://app.example/bye#x', 'javascript:alert(1)', 'http://app.example/bye', 'not a uri']) {
      expectRefused(
        await tessera([...base, '--post-logout-redirect-uri', uri]),
        /^tessera: invalid post-logout redirect URI '.*': /,
      );
    }
    expect(JSON.parse((await tessera(['client', 'list', ...db, '--json'])).stdout)).toEqual([]);
  });

  it('user add --email stores the address, user show prints it; a malformed address is exit 2', async () => {
    const { db } = freshDb();
    const alice = await addUser(db, 'alice', '--email', 'alice@example.org');
    expect(alice.email).toBe('alice@example.org');
    expect((await tesseraJson(['user', 'show', 'alice', ...db])).email).toBe('alice@example.org');
    expect((await tessera(['user', 'show', 'alice', ...db])).stdout).toMatch(/email:\s+alice@example\.org/);
    expect((await tessera(['user', 'show', (await addUser(db, 'bob')).username as string, ...db])).stdout).toMatch(
      /email:\s+-/,
    );
    for (const email of [
      'alice',
      'alice@',
      '@example.org',
      'a b@example.org',
      'alice@example',
      `${'a'.repeat(250)}@example.org`,
    ]) {
      expectRefused(
        await tessera([
          'user',
          'add',
          ...db,
          '--username',
          'carol',
          '--password',
          'correct horse battery',
          '--role',
          'PATIENT',
          '--email',
          email,
        ]),
        /^tessera: --email must be an e-mail address like name@example\.org, not '/,
      );
    }
    expect((await tessera(['user', 'show', 'carol', ...db])).status).toBe(2);
  });
});

describe.concurrent('tessera client add for resource servers and service clients', SLOW, () => {
  it('--resource-server makes a confidential client with no grants or redirect URI, which may introspect any access token', async () => {
    const { db, url } = freshDb();
    const rs = await tesseraJson(['client', 'add', ...db, '--name', 'Records API', '--resource-server']);
    expect(rs).toMatchObject({
      client_name: 'Records API',
      redirect_uris: [],
      grant_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      resource_server: true,
    });
    expect(rs.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const human = await tessera(['client', 'show', rs.client_id as string, ...db]);
    expect(human.stdout).toMatch(/resource server:\s+yes/);

    // A service client for an API scope registered beforehand.
    const store = await openStore(url);
    await store.createApiScope({ name: 'records.read', description: 'Read records', createdAt: Date.now() });
    await store.close();
    const svc = await tesseraJson([
      'client',
      'add',
      ...db,
      '--name',
      'Nightly export',
      '--grant',
      'client_credentials',
      '--scope',
      'records.read',
    ]);
    expect(svc).toMatchObject({
      redirect_uris: [],
      grant_types: ['client_credentials'],
      scope: 'records.read',
      resource_server: false,
    });

    // What the CLI printed works: the service client gets a token, the resource server sees it.
    const served = await openStore(url);
    const app = await buildApp(
      { issuer: 'http://tessera.test', demo: false, lifetimes: DEFAULT_LIFETIMES, secret: 'x'.repeat(43) },
      served,
    );
    try {
      const basicOf = (c: Record<string, unknown>) =>
        `Basic ${Buffer.from(`${c.client_id as string}:${c.client_secret as string}`).toString('base64')}`;
      const token = await app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicOf(svc) },
        payload: 'grant_type=client_credentials',
      });
      expect(token.statusCode).toBe(200);
      expect(token.json().scope).toBe('records.read');
      const seen = await app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicOf(rs) },
        payload: `token=${token.json().access_token as string}`,
      });
      expect(seen.json()).toMatchObject({ active: true, client_id: svc.client_id, sub: svc.client_id });
    } finally {
      await app.close();
      await served.close();
    }
  });

  it.each([
    ['--public --resource-server', ['--name', 'X', '--public', '--resource-server'], /resource server .*--public/],
    [
      '--public --grant client_credentials',
      ['--name', 'X', '--public', '--redirect-uri', 'https://a.example/cb', '--grant', 'client_credentials'],
      /client_credentials .*confidential/,
    ],
  ])('refuses %s with one line and exit 2, creating nothing', async (_, args, message) => {
    const { db } = freshDb();
    expectRefused(await tessera(['client', 'add', ...db, ...args]), message);
    const list = await tessera(['client', 'list', ...db, '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});

/** --json output of a command that may also warn on stderr (client show of a pkce-optional client). */
async function tesseraJsonAllowingWarning(args: string[]): Promise<Record<string, unknown>> {
  const r = await tessera([...args, '--json']);
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe.concurrent('tessera client list, show, remove, rotate-secret', SLOW, () => {
  it('lists, shows, rotates and removes clients', async () => {
    const { db } = freshDb();
    expect(await tesseraJson<unknown[]>(['client', 'list', ...db])).toEqual([]);
    expect((await tessera(['client', 'list', ...db])).stdout).toMatch(/no clients/);

    const one = await addClient(db);
    const two = await tesseraJson([
      'client',
      'add',
      ...db,
      '--name',
      'Other',
      '--public',
      '--redirect-uri',
      'https://other.example/cb',
    ]);
    const { client_secret: secret, ...described } = one;

    const list = await tesseraJson<Array<Record<string, unknown>>>(['client', 'list', ...db]);
    expect(list.map((c) => c.client_id).sort()).toEqual([one.client_id, two.client_id].sort());
    const table = await tessera(['client', 'list', ...db]);
    expect(table.stdout).toContain(one.client_id as string);
    expect(table.stdout).toContain('Other');

    expect(await tesseraJson(['client', 'show', one.client_id as string, ...db])).toEqual(described);
    const shown = await tessera(['client', 'show', one.client_id as string, ...db]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('https://app.example/cb');

    const rotated = await tesseraJson(['client', 'rotate-secret', one.client_id as string, ...db]);
    expect(Object.keys(rotated).sort()).toEqual(['client_id', 'client_secret']);
    expect(rotated.client_id).toBe(one.client_id);
    expect(rotated.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(rotated.client_secret).not.toBe(secret);
    const rotatedHuman = await tessera(['client', 'rotate-secret', one.client_id as string, ...db]);
    expect(rotatedHuman.status).toBe(0);
    const newSecret = /^client_secret:\s+(\S+)$/m.exec(rotatedHuman.stdout)?.[1];
    expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(newSecret).not.toBe(rotated.client_secret);

    // A public client has no secret to rotate.
    expectRefused(await tessera(['client', 'rotate-secret', two.client_id as string, ...db]), /public/);

    const removed = await tessera(['client', 'remove', one.client_id as string, ...db]);
    expect(removed.status).toBe(0);
    expect(removed.stderr).toBe('');
    expectRefused(
      await tessera(['client', 'show', one.client_id as string, ...db]),
      `tessera: no client '${one.client_id as string}'`,
    );
    expect((await tesseraJson<unknown[]>(['client', 'list', ...db])).length).toBe(1);
    expect(await tesseraJson(['client', 'remove', two.client_id as string, ...db])).toEqual({
      client_id: two.client_id,
      removed: true,
    });
  });

  it.each([['show'], ['remove'], ['rotate-secret']])('client %s of an unknown id is exit 2', async (command) => {
    const { db } = freshDb();
    expectRefused(await tessera(['client', command, 'nope', ...db]), "tessera: no client 'nope'");
    expectJsonRefused(await tessera(['client', command, 'nope', ...db, '--json']), /^no client 'nope'$/);
  });

  it('client show without an id is exit 2', async () => {
    const { db } = freshDb();
    expectRefused(await tessera(['client', 'show', ...db]), /missing required argument 'id'/);
  });
});

describe.concurrent('tessera user', SLOW, () => {
  it('adds a person with --password, showing them without any password or hash', async () => {
    const { db, url } = freshDb();
    const person = await addUser(db, 'alice', '--name', 'Alice Patel', '--role', 'clinician');
    expect(person).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      roles: ['PATIENT', 'CLINICIAN'],
      disabled: false,
    });
    expect(Object.keys(person).sort()).toEqual(['created_at', 'disabled', 'email', 'id', 'name', 'roles', 'username']);
    expect(person.email).toBeNull();

    const hash = await storedPasswordHash(url, 'alice');
    expect(await verifyPassword('correct horse battery', hash as string)).toBe(true);
    for (const args of [
      ['user', 'list'],
      ['user', 'list', '--json'],
      ['user', 'show', 'alice'],
      ['user', 'show', 'alice', '--json'],
    ]) {
      const r = await tessera([...args, ...db]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('alice');
      expect(r.stdout).not.toContain('correct horse battery');
      expect(r.stdout).not.toContain(hash);
      expect(r.stdout).not.toMatch(/scrypt|password/i);
    }
    // user show adds the sign-in throttle's state.
    expect(await tesseraJson(['user', 'show', 'alice', ...db])).toEqual({
      ...person,
      sign_in: expect.objectContaining({ throttled: false }) as unknown,
    });
    const human = await tessera([
      'user',
      'add',
      ...db,
      '--username',
      'bob',
      '--password',
      'another password',
      '--role',
      'TEAMCOORD',
    ]);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('bob');
    expect(human.stdout).not.toContain('another password');
    const list = await tesseraJson<Array<Record<string, unknown>>>(['user', 'list', ...db]);
    expect(list.map((p) => p.username).sort()).toEqual(['alice', 'bob']);
  });

  it('adds a person with --password-stdin, removing exactly one trailing newline', async () => {
    const { db, url } = freshDb();
    await tesseraJson(['user', 'add', ...db, '--username', 'carol', '--password-stdin', '--role', 'TEAMCOORD'], {
      input: 'stdin password \n\n',
    });
    const hash = (await storedPasswordHash(url, 'carol')) as string;
    expect(await verifyPassword('stdin password \n', hash)).toBe(true);
    expect(await verifyPassword('stdin password ', hash)).toBe(false);

    await tesseraJson(['user', 'add', ...db, '--username', 'dave', '--password-stdin', '--role', 'PATIENT'], {
      input: 'crlf password\r\n',
    });
    expect(await verifyPassword('crlf password', (await storedPasswordHash(url, 'dave')) as string)).toBe(true);

    await tesseraJson(['user', 'add', ...db, '--username', 'erin', '--password-stdin', '--role', 'PATIENT'], {
      input: 'no newline at all',
    });
    expect(await verifyPassword('no newline at all', (await storedPasswordHash(url, 'erin')) as string)).toBe(true);
  });

  const refusals: Array<[string, string[], RegExp, string?]> = [
    ['a short password', ['--username', 'x', '--password', 'short', '--role', 'PATIENT'], /at least 8 characters/],
    ['no role', ['--username', 'x', '--password', 'long enough pw'], /at least one --role/],
    [
      'an unknown role',
      ['--username', 'x', '--password', 'long enough pw', '--role', 'DOCTOR'],
      /unknown role 'DOCTOR'/,
    ],
    ['no password', ['--username', 'x', '--role', 'PATIENT'], /--password/],
    [
      'both password options',
      ['--username', 'x', '--password', 'long enough pw', '--password-stdin', '--role', 'PATIENT'],
      /not both/,
      'long enough pw\n',
    ],
    ['an empty stdin', ['--username', 'x', '--password-stdin', '--role', 'PATIENT'], /no password/, ''],
    [
      'a short stdin password',
      ['--username', 'x', '--password-stdin', '--role', 'PATIENT'],
      /at least 8 characters/,
      'short\n',
    ],
    ['no --username', ['--password', 'long enough pw', '--role', 'PATIENT'], /required option '--username/],
    ['a username with a space', ['--username', 'a b', '--password', 'long enough pw', '--role', 'PATIENT'], /username/],
    [
      'a username starting with -',
      ['--username=-x', '--password', 'long enough pw', '--role', 'PATIENT'],
      /starting with a letter or digit/,
    ],
  ];

  it.each(refusals)('user add refuses %s with exit 2, creating nobody', async (_, args, message, input) => {
    const { db } = freshDb();
    expectRefused(await tessera(['user', 'add', ...db, ...args], { input }), message);
    expect(await tesseraJson<unknown[]>(['user', 'list', ...db])).toEqual([]);
  });

  it('refuses a username that is taken', async () => {
    const { db, url } = freshDb();
    await addUser(db, 'alice');
    const before = await storedPasswordHash(url, 'alice');
    expectRefused(
      await tessera([
        'user',
        'add',
        ...db,
        '--username',
        'alice',
        '--password',
        'a different one',
        '--role',
        'CLINICIAN',
      ]),
      "tessera: user 'alice' already exists",
    );
    expect(await storedPasswordHash(url, 'alice')).toBe(before);
  });

  it('matches usernames without regard to case: a twin is refused, every command finds the person', async () => {
    const { db } = freshDb();
    await addUser(db, 'Eve');
    expectRefused(
      await tessera(['user', 'add', ...db, '--username', 'eve', '--password', 'long enough pw', '--role', 'PATIENT']),
      "tessera: user 'eve' already exists as 'Eve' (usernames match without regard to case)",
    );
    expect(await tesseraJson(['user', 'show', 'EVE', ...db])).toMatchObject({ username: 'Eve' });
    expect(await tesseraJson(['user', 'disable', 'eve', ...db])).toMatchObject({ username: 'Eve', disabled: true });
    expect(await tesseraJson(['user', 'enable', 'eVE', ...db])).toMatchObject({ username: 'Eve', disabled: false });
    const r = await tessera(['user', 'set-password', 'eve', ...db, '--password', 'brand new password']);
    expect(r.status, r.stderr).toBe(0);
    expect((await tessera(['user', 'remove', 'EVE', ...db])).status).toBe(0);
    expect(await tesseraJson<unknown[]>(['user', 'list', ...db])).toEqual([]);
  });

  it('migrate refuses a database whose people would become twins, naming them, in one line', async () => {
    const { db, url } = freshDb();
    const store = await openStore(url, { migrate: false });
    await store.migrations((m) => m.migrateTo('0007_openid_connect'));
    await sql`insert into people (id, username, display_name, password_hash, roles, created_at, disabled_at, email)
      values ('p1', 'Eve', 'Eve', 'x', '["PATIENT"]', 1, null, null), ('p2', 'eve', 'eve', 'x', '["PATIENT"]', 1, null, null)`.execute(
      store.db,
    );
    await store.close();
    expectRefused(await tessera(['migrate', ...db]), /^tessera: cannot migrate database: .*'Eve' and 'eve'/);
    expectRefused(await tessera(['user', 'list', ...db]), /^tessera: cannot open the database: .*'Eve' and 'eve'/);
  });

  it('set-password changes the password (from --password or stdin) and never prints it', async () => {
    const { db, url } = freshDb();
    await addUser(db, 'alice');
    const r = await tessera(['user', 'set-password', 'alice', ...db, '--password', 'brand new password']);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('brand new password');
    const hash = (await storedPasswordHash(url, 'alice')) as string;
    expect(await verifyPassword('brand new password', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery', hash)).toBe(false);

    const viaStdin = await tessera(['user', 'set-password', 'alice', ...db, '--password-stdin', '--json'], {
      input: 'from stdin pw\n',
    });
    expect(viaStdin.status).toBe(0);
    expect(JSON.parse(viaStdin.stdout)).toMatchObject({ username: 'alice' });
    expect(await verifyPassword('from stdin pw', (await storedPasswordHash(url, 'alice')) as string)).toBe(true);

    expectRefused(
      await tessera(['user', 'set-password', 'alice', ...db, '--password', 'short']),
      /at least 8 characters/,
    );
    expectRefused(await tessera(['user', 'set-password', 'alice', ...db]), /--password/);
    expect(await verifyPassword('from stdin pw', (await storedPasswordHash(url, 'alice')) as string)).toBe(true);
  });

  it('disable and enable show in user show and list', async () => {
    const { db } = freshDb();
    await addUser(db, 'alice');
    const disabled = await tessera(['user', 'disable', 'alice', ...db]);
    expect(disabled.status).toBe(0);
    expect(disabled.stdout).toMatch(/disabled/);
    expect(await tesseraJson(['user', 'show', 'alice', ...db])).toMatchObject({ disabled: true });
    expect((await tessera(['user', 'show', 'alice', ...db])).stdout).toMatch(/disabled since/);
    expect((await tessera(['user', 'list', ...db])).stdout).toMatch(/alice.*disabled/);
    // Disabling twice is not an error.
    expect(await tesseraJson(['user', 'disable', 'alice', ...db])).toMatchObject({ disabled: true });

    expect(await tesseraJson(['user', 'enable', 'alice', ...db])).toMatchObject({ username: 'alice', disabled: false });
    expect(await tesseraJson(['user', 'show', 'alice', ...db])).toMatchObject({ disabled: false });
    expect((await tessera(['user', 'list', ...db])).stdout).toMatch(/alice.*enabled/);
  });

  it('user show tells the sign-in throttle state; user unlock forgets every count of the username', async () => {
    const { db, url } = freshDb();
    await addUser(db, 'alice');
    await addUser(db, 'bob');
    expect((await tessera(['user', 'show', 'alice', ...db])).stdout).toMatch(/^sign-in: +not throttled$/m);
    expect(await tesseraJson(['user', 'show', 'alice', ...db])).toMatchObject({
      sign_in: { throttled: false, throttled_addresses: 0, throttled_until: null, failures: 0 },
    });
    // Failed sign-ins as the server counts them: two addresses over their allowance, and bob once.
    const store = await openStore(url);
    const now = Date.now();
    try {
      for (const address of ['192.0.2.1', '192.0.2.2']) {
        for (let i = 0; i < DEFAULT_THROTTLE.perAddress; i++) {
          expect((await admitSignInAttempt(store, i % 2 ? 'ALICE' : 'alice', address, now)).admitted).toBe(true);
        }
      }
      await admitSignInAttempt(store, 'bob', '192.0.2.1', now);
    } finally {
      await store.close();
    }
    const failures = 2 * DEFAULT_THROTTLE.perAddress;
    expect((await tessera(['user', 'show', 'alice', ...db])).stdout).toMatch(
      new RegExp(
        `^sign-in: +throttled from 2 addresses until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(${failures} recent failures from 2 addresses\\)$`,
        'm',
      ),
    );
    const shown = await tesseraJson<{ sign_in: Record<string, unknown> }>(['user', 'show', 'alice', ...db]);
    expect(shown.sign_in).toMatchObject({
      throttled: true,
      throttled_addresses: 2,
      username_throttled_until: null,
      failures,
      addresses_with_failures: 2,
    });
    expect(Date.parse(String(shown.sign_in.throttled_until))).toBeGreaterThan(now);

    const unlocked = await tessera(['user', 'unlock', 'Alice', ...db]);
    expect(unlocked.status).toBe(0);
    expect(unlocked.stderr).toBe('');
    expect(unlocked.stdout).toBe(
      "unlocked user 'alice': forgot every failed sign-in counted for the username, from every address (3 counts)\n",
    );
    expect((await tessera(['user', 'show', 'alice', ...db])).stdout).toMatch(/^sign-in: +not throttled$/m);
    expect(await tesseraJson(['user', 'unlock', 'alice', ...db])).toEqual({
      username: 'alice',
      unlocked: true,
      counts_cleared: 0,
    });
    expect((await tessera(['user', 'unlock', 'alice', ...db])).stdout).toBe(
      "user 'alice' had no failed sign-ins counted: nothing to unlock\n",
    );
    // Bob's count is his own.
    expect(await tesseraJson(['user', 'show', 'bob', ...db])).toMatchObject({
      sign_in: { throttled: false, failures: 1, addresses_with_failures: 1 },
    });
    expectRefused(await tessera(['user', 'unlock', ...db]), /missing required argument 'username'/);
  });

  it('remove deletes the person', async () => {
    const { db } = freshDb();
    await addUser(db, 'alice');
    await addUser(db, 'bob');
    const r = await tessera(['user', 'remove', 'alice', ...db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('alice');
    expectRefused(await tessera(['user', 'show', 'alice', ...db]), "tessera: no user 'alice'");
    expectRefused(await tessera(['user', 'remove', 'alice', ...db]), "tessera: no user 'alice'");
    expect((await tesseraJson<Array<Record<string, unknown>>>(['user', 'list', ...db])).map((p) => p.username)).toEqual(
      ['bob'],
    );
    // The username is free again.
    await addUser(db, 'alice');
  });

  it.each([['show'], ['remove'], ['disable'], ['enable'], ['set-password'], ['unlock']])(
    'user %s of an unknown username is exit 2',
    async (command) => {
      const { db } = freshDb();
      const extra = command === 'set-password' ? ['--password', 'long enough pw'] : [];
      expectRefused(await tessera(['user', command, 'nobody', ...db, ...extra]), "tessera: no user 'nobody'");
    },
  );
});

describe.concurrent('tessera grant, and user set-password --revoke-grants', SLOW, () => {
  /** A grant of `personId` (null: the client's own) to `clientId`, written straight into the database. */
  async function storeGrant(
    url: string,
    personId: string | null,
    clientId: string,
    createdAt: number,
  ): Promise<string> {
    const store = await openStore(url);
    try {
      const id = `grant-${createdAt}`;
      await store.createGrantWithAccessToken(
        {
          id,
          personId,
          clientId,
          scope: personId === null ? 'records.read' : 'PATIENT',
          authTime: null,
          sessionId: null,
          createdAt,
          expiresAt: createdAt + 3_600_000,
          revokedAt: null,
          nonce: null,
        },
        {
          hash: `hash-${createdAt}`,
          grantId: id,
          scope: 'PATIENT',
          format: 'opaque',
          jti: null,
          createdAt,
          expiresAt: createdAt + 600_000,
        },
      );
      return id;
    } finally {
      await store.close();
    }
  }

  it.each([['grant'], ['grant', 'list'], ['grant', 'revoke']])(
    '%s --help exits 0 with usage on stdout',
    async (...command) => {
      const r = await tessera([...command, '--help']);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`Usage: tessera ${command.join(' ')}`);
      if (command.length === 2) expect(r.stdout).toContain('--json');
    },
  );

  it('user set-password --help says that grants are kept unless --revoke-grants, and why', async () => {
    const r = await tessera(['user', 'set-password', '--help']);
    expect(r.status).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--revoke-grants');
    expect(help).toContain('a new password does not end the apps the person allowed');
    expect(help).toContain('when the old password may have been stolen');
  });

  it('lists live grants as a table and as JSON, newest first; a client’s own grant has user -', async () => {
    const { db, url } = freshDb();
    const client = await addClient(db);
    const alice = await addUser(db, 'alice');
    expect((await tessera(['grant', 'list', ...db])).stdout).toBe('no live grants\n');
    expect(await tesseraJson(['grant', 'list', ...db])).toEqual([]);

    const now = Date.now();
    const older = await storeGrant(url, alice.id as string, client.client_id as string, now - 1000);
    const own = await storeGrant(url, null, client.client_id as string, now);
    const r = await tessera(['grant', 'list', ...db]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +USER +CLIENT +CLIENT NAME +SCOPE +CREATED +EXPIRES$/);
    expect(lines[1]!.split(/ {2,}/)).toEqual([
      own,
      '-',
      client.client_id,
      'App',
      'records.read',
      new Date(now).toISOString(),
      new Date(now + 3_600_000).toISOString(),
    ]);
    expect(lines[2]).toMatch(new RegExp(`^${older} +alice `));
    expect(await tesseraJson(['grant', 'list', ...db, '--user', 'alice'])).toEqual([
      {
        id: older,
        username: 'alice',
        client_id: client.client_id,
        client_name: 'App',
        scope: 'PATIENT',
        created_at: new Date(now - 1000).toISOString(),
        expires_at: new Date(now - 1000 + 3_600_000).toISOString(),
      },
    ]);
    const byClient = await tesseraJson<Array<{ id: string }>>([
      'grant',
      'list',
      ...db,
      '--client',
      client.client_id as string,
    ]);
    expect(byClient.map((g) => g.id)).toEqual([own, older]);

    const revoked = await tessera(['grant', 'revoke', older, ...db]);
    expect(revoked).toEqual({
      status: 0,
      stdout: `revoked grant '${older}': its codes, access tokens and refresh tokens no longer work\n`,
      stderr: '',
    });
    expect(await tesseraJson(['grant', 'list', ...db, '--user', 'alice'])).toEqual([]);
  });

  it('refuses an unknown or revoked grant, an unknown user or client, a missing id: one line, exit 2', async () => {
    const { db, url } = freshDb();
    const client = await addClient(db);
    const alice = await addUser(db, 'alice');
    const id = await storeGrant(url, alice.id as string, client.client_id as string, Date.now());
    expect(await tesseraJson(['grant', 'revoke', id, ...db])).toEqual({ id, revoked: true });
    expectRefused(await tessera(['grant', 'revoke', id, ...db]), `tessera: grant '${id}' is already revoked`);
    expectRefused(await tessera(['grant', 'revoke', 'nope', ...db]), "tessera: no grant 'nope'");
    expectRefused(await tessera(['grant', 'revoke', ...db]), /missing required argument 'id'/);
    expectRefused(await tessera(['grant', 'list', ...db, '--user', 'bob']), "tessera: no user 'bob'");
    expectRefused(await tessera(['grant', 'list', ...db, '--client', 'nope']), "tessera: no client 'nope'");
    expectRefused(await tessera(['grant', 'list', ...db, '--user']), /--user/);
    expectRefused(await tessera(['grant']), /'tessera grant' needs a command: list, revoke/);
    expectRefused(await tessera(['grant', 'frobnicate']), /unknown command 'tessera grant frobnicate'/);
  });

  it('set-password keeps grants by default and says so; --revoke-grants revokes them all', async () => {
    const { db, url } = freshDb();
    const client = await addClient(db);
    const alice = await addUser(db, 'alice');
    const now = Date.now();
    await storeGrant(url, alice.id as string, client.client_id as string, now - 1);
    await storeGrant(url, alice.id as string, client.client_id as string, now);

    const kept = await tessera(['user', 'set-password', 'alice', ...db, '--password', 'brand new password']);
    expect(kept.status).toBe(0);
    expect(kept.stdout.split('\n')[0]).toBe(
      "changed the password of user 'alice' and ended their sign-in sessions (their grants are kept)",
    );
    expect(await tesseraJson(['grant', 'list', ...db, '--user', 'alice'])).toHaveLength(2);

    const ended = await tessera([
      'user',
      'set-password',
      'alice',
      ...db,
      '--password',
      'another new pw',
      '--revoke-grants',
    ]);
    expect(ended.status).toBe(0);
    expect(ended.stdout.split('\n')[0]).toMatch(/revoked their grants/);
    expect(await tesseraJson(['grant', 'list', ...db, '--user', 'alice'])).toEqual([]);
    expect(await verifyPassword('another new pw', (await storedPasswordHash(url, 'alice')) as string)).toBe(true);

    expect(
      await tesseraJson(['user', 'set-password', 'alice', ...db, '--password', 'third new pw', '--revoke-grants']),
    ).toMatchObject({ username: 'alice', grants_revoked: true });
    expectRefused(
      await tessera(['user', 'set-password', 'nobody', ...db, '--password', 'long enough pw', '--revoke-grants']),
      "tessera: no user 'nobody'",
    );
  });
});

/** A refusal asked for --json: exit 2, nothing on stdout, one `{"error":"…"}` line on stderr. */
function expectJsonRefused(r: Run, message: RegExp): void {
  expect(r.status, `stderr: ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines, `stderr: ${JSON.stringify(r.stderr)}`).toHaveLength(2);
  expect(lines[1]).toBe('');
  const body = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatch(message);
  expect(body.error).not.toMatch(/^tessera:/);
}

describe.concurrent('tessera client add: choices that make no sense, and --json errors', SLOW, () => {
  const cb = ['--name', 'X', '--redirect-uri', 'https://a.example/cb'];

  it('makes a client with the implicit grant alone public: it could never use a secret', async () => {
    const { db } = freshDb();
    const client = await tesseraJson(['client', 'add', ...db, ...cb, '--grant', 'implicit']);
    expect(client).toMatchObject({ grant_types: ['implicit'], token_endpoint_auth_method: 'none' });
    expect(client).not.toHaveProperty('client_secret');
    expect(client).not.toHaveProperty('warning');

    const human = await tessera(['client', 'add', ...db, ...cb, '--grant', 'implicit']);
    expect(human.status).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/^type: +public \(no secret: the implicit grant never uses one\)$/m);
    expect(human.stdout).not.toMatch(/client_secret|PKCE/);
    const shown = await tessera(['client', 'show', client.client_id as string, ...db]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).not.toMatch(/PKCE/);
  });

  it('keeps the secret of a client that can use it, and the PKCE line of one with codes', async () => {
    const { db } = freshDb();
    const both = await tesseraJson(['client', 'add', ...db, ...cb, '--grant', 'authorization_code,implicit']);
    expect(both).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic', pkce_required: false });
    expect(both.client_secret).toEqual(expect.any(String));
    const service = await tesseraJson(['client', 'add', ...db, '--name', 'S', '--grant', 'client_credentials']);
    expect(service.client_secret).toEqual(expect.any(String));
    const shown = await tessera(['client', 'show', service.client_id as string, ...db]);
    expect(shown.stdout).not.toMatch(/PKCE/);
    const api = await tesseraJson(['client', 'add', ...db, ...cb, '--resource-server', '--grant', 'implicit']);
    expect(api.client_secret).toEqual(expect.any(String));
    const strict = await tessera(['client', 'add', ...db, ...cb, '--pkce', 'required']);
    expect(strict.status).toBe(0);
    expect(strict.stdout).toMatch(/^type: +confidential/m);
    expect(strict.stdout).toMatch(/^PKCE: +required$/m);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    [
      '--pkce optional on a confidential client',
      [...cb, '--pkce', 'optional'],
      /--pkce optional is for public clients only/,
    ],
    [
      '--pkce optional on a confidential client with its grants spelt out',
      [...cb, '--grant', 'authorization_code', '--pkce', 'optional'],
      /--pkce optional is for public clients only/,
    ],
    [
      '--pkce without the code grant',
      [...cb, '--grant', 'implicit', '--pkce', 'required'],
      /--pkce needs the authorization_code grant/,
    ],
    [
      '--pkce on a public implicit client',
      [...cb, '--grant', 'implicit', '--public', '--pkce', 'optional'],
      /--pkce needs the authorization_code grant/,
    ],
    [
      '--pkce on a service client',
      ['--name', 'S', '--grant', 'client_credentials', '--pkce', 'required'],
      /--pkce needs the authorization_code grant/,
    ],
    [
      '--pkce on a resource server',
      ['--name', 'R', '--resource-server', '--pkce', 'required'],
      /--pkce needs the authorization_code grant/,
    ],
  ];

  it.each(refusals)('refuses %s with one line and exit 2, creating nothing', async (_, args, message) => {
    const { db } = freshDb();
    expectRefused(await tessera(['client', 'add', ...db, ...args]), message);
    expectJsonRefused(await tessera(['client', 'add', ...db, ...args, '--json']), message);
    expect(JSON.parse((await tessera(['client', 'list', ...db, '--json'])).stdout)).toEqual([]);
  });

  it('--grant help says that the grants replace the defaults and that it is repeatable', async () => {
    const help = await tessera(['client', 'add', '--help']);
    expect(help.status).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/Repeatable; the grants given REPLACE the defaults \(authorization_code and refresh_token/);
  });

  it('with --json, errors are one JSON line on stderr, exit 2 and nothing on stdout', async () => {
    const { db } = freshDb();
    expectJsonRefused(await tessera(['client', 'add', ...db, '--name', 'X', '--json']), /at least one --redirect-uri/);
    expectJsonRefused(
      await tessera(['client', 'add', ...db, '--name', 'X', '--json', '--colour', 'blue']),
      /unknown option '--colour'/,
    );
    expectJsonRefused(await tessera(['client', 'add', ...db, '--json']), /required option '--name <name>'/);
    expectJsonRefused(await tessera(['client', 'show', 'nope', ...db, '--json']), /no client 'nope'/);
    expectJsonRefused(await tessera(['user', 'show', 'nobody', ...db, '--json']), /no user 'nobody'/);
    expectJsonRefused(await tessera(['scope', 'add', ...db, '--json']), /missing required argument/);
    expectJsonRefused(
      await tessera(['scope', 'add', 'records.read', '--description', 'Read', '--db', 'bogus:x', '--json']),
      /./,
    );
  });

  it('without --json, or with --json as another option value or to a command without it, errors stay plain', async () => {
    const { db } = freshDb();
    expectRefused(await tessera(['user', 'show', 'nobody', ...db]), "tessera: no user 'nobody'");
    expectRefused(
      await tessera(['client', 'add', ...db, '--name', '--json']),
      'tessera: at least one --redirect-uri is required',
    );
    expectRefused(
      await tessera([
        'client',
        'add',
        ...db,
        '--grant',
        '--json',
        '--name',
        'X',
        '--redirect-uri',
        'https://a.example/cb',
      ]),
      /unknown grant '--json'/,
    );
    expectRefused(await tessera(['export', ...db, '--json']), /unknown option '--json'/);
  });
});

describe.concurrent('the database', SLOW, () => {
  // An absolute path is created as migrate would create it: here it cannot be.
  it.each([
    ['sqlite:/proc/nope/x.db', /cannot open SQLite database/, /cannot open SQLite database/],
    ['sqlite:/proc/nope/deeper/x.db', /cannot open SQLite database/, /cannot open SQLite database/],
    ['mysql://localhost/tessera', /not understood/, /not understood/],
    ['sqlite:', /names no file/, /names no file/],
  ])('--db %s is one line and exit 2 for every command', async (url, message, managed) => {
    expectRefused(await tessera(['client', 'list', '--db', url]), managed);
    expectRefused(
      await tessera([
        'user',
        'add',
        '--db',
        url,
        '--username',
        'x',
        '--password',
        'long enough pw',
        '--role',
        'PATIENT',
      ]),
      managed,
    );
    expectRefused(await tessera(['migrate', '--db', url]), message);
  });

  it('a file that is not a database is one line and exit 2', async () => {
    const dir = tempDir();
    expectRefused(await tessera(['client', 'list', '--db', `sqlite:${dir}`]), /cannot open SQLite database/);
    expectRefused(
      await tessera(['client', 'list', '--db', `sqlite:${CLI}`]),
      /cannot open SQLite database|not a database/,
    );
  });

  it('TESSERA_DB is honoured, and --db wins over it', async () => {
    const env = freshDb();
    const flag = freshDb();
    const client = await (async () => {
      const r = await tessera(
        ['client', 'add', '--name', 'Env', '--redirect-uri', 'https://env.example/cb', '--json'],
        { env: { TESSERA_DB: env.url } },
      );
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    })();
    expect(existsSync(env.file)).toBe(true);
    expect(
      (await tesseraJson<Array<Record<string, unknown>>>(['client', 'list', ...env.db])).map((c) => c.client_id),
    ).toEqual([client.client_id]);
    const overridden = await tessera(['client', 'list', ...flag.db, '--json'], { env: { TESSERA_DB: env.url } });
    expect(JSON.parse(overridden.stdout)).toEqual([]);
    expectRefused(
      await tessera(['client', 'list'], { env: { TESSERA_DB: 'sqlite:/proc/nope/x.db' } }),
      /cannot open SQLite database/,
    );
  });

  it('without --db or TESSERA_DB uses ./.tessera/tessera.db', async () => {
    const cwd = tempDir();
    expect((await tessera(['migrate'], { cwd })).status).toBe(0);
    expect(existsSync(join(cwd, '.tessera', 'tessera.db'))).toBe(true);
    const r = await tessera(
      ['user', 'add', '--username', 'alice', '--password', 'long enough pw', '--role', 'PATIENT'],
      { cwd },
    );
    expect(r.status).toBe(0);
    expect((await tessera(['user', 'show', 'alice'], { cwd })).status).toBe(0);
  });

  it('migrate applies the migrations once, then says the database is up to date', async () => {
    const { db, file } = newDbPath();
    const first = await tessera(['migrate', ...db]);
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/applied migration 0001_initial/);
    expect(existsSync(file)).toBe(true);
    const second = await tessera(['migrate', ...db]);
    expect(second.status).toBe(0);
    expect(second.stdout.trim()).toBe('database is up to date');
    expect(await tesseraJson(['migrate', ...db])).toEqual({ applied: [] });
    // The migrated database is usable.
    await addUser(db, 'alice');
  });

  it('migrate --json lists what it applied', async () => {
    const { db } = newDbPath();
    const result = await tesseraJson<{ applied: string[] }>(['migrate', ...db]);
    expect(result.applied).toContain('0001_initial');
  });
});

describe('the error handler and password reading (in process)', () => {
  it('maps errors to one line and an exit code', () => {
    expect(describeError(new InvalidInputError("no client 'x'"))).toEqual({ exitCode: 2, message: "no client 'x'" });
    expect(describeError(new StoreOpenError('cannot open\nthe file'))).toEqual({
      exitCode: 2,
      message: 'cannot open the file',
    });
    expect(
      describeError(
        new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'\n(Did you mean --y?)"),
      ),
    ).toEqual({
      exitCode: 2,
      message: "unknown option '--x' (Did you mean --y?)",
    });
    expect(describeError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({
      exitCode: 0,
      message: undefined,
    });
    expect(describeError(new CommanderError(0, 'commander.version', '0.1.0'))).toEqual({
      exitCode: 0,
      message: undefined,
    });
    const unexpected = describeError(new TypeError('boom\n    at somewhere (file.js:1:1)'));
    expect(unexpected.exitCode).toBe(1);
    expect(unexpected.message).toBe('unexpected error: boom at somewhere (file.js:1:1)');
    expect(describeError('a string')).toEqual({ exitCode: 1, message: 'unexpected error: a string' });
  });

  it('reads exactly one of --password and --password-stdin', async () => {
    const stdin = (text: string) => Readable.from([Buffer.from(text)]);
    expect(await readPassword({ password: 'given' })).toBe('given');
    expect(await readPassword({ passwordStdin: true }, stdin('a b\n\n'))).toBe('a b\n');
    expect(await readPassword({ passwordStdin: true }, stdin('crlf\r\n'))).toBe('crlf');
    expect(await readPassword({ passwordStdin: true }, stdin('none'))).toBe('none');
    await expect(readPassword({})).rejects.toThrow(InvalidInputError);
    await expect(readPassword({ password: 'x', passwordStdin: true }, stdin('y'))).rejects.toThrow(/not both/);
    await expect(readPassword({ passwordStdin: true }, stdin('\n'))).rejects.toThrow(/no password/);
  });
});

describe('runCli (in process)', () => {
  it('writes to the streams it is given and returns the exit code', async () => {
    const chunks: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const r = await runCli(['--version'], { stdout, env: cleanEnv() });
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(chunks.join('')).toBe(`${PACKAGE_VERSION}\n`);
    expect(await runCli(['frobnicate'], { env: cleanEnv() })).toMatchObject({ code: 2, stdout: '' });
  });

  it('reads the environment it is given, not process.env', async () => {
    const { db, url } = freshDb();
    await addClient(db);
    const saved = process.env.TESSERA_DB;
    process.env.TESSERA_DB = 'sqlite:/proc/nope/x.db';
    try {
      const r = await runCli(['client', 'list', '--json'], { env: cleanEnv({ TESSERA_DB: url }) });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.TESSERA_DB;
      else process.env.TESSERA_DB = saved;
    }
  });

  it('builds a fresh program for each run: nothing parsed before carries over', async () => {
    const { db } = freshDb();
    expect((await runCli(['client', 'list', '--json', ...db], { env: cleanEnv() })).stdout).toBe('[]\n');
    expect((await runCli(['client', 'list', ...db], { env: cleanEnv() })).stdout).toBe('no clients\n');
  });
});

describe.concurrent('the built command, as a process (smoke tests)', SLOW, () => {
  it('--help exits 0 with usage on stdout', async () => {
    const r = await spawnTessera(['--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Usage: tessera');
  });

  it('client add --json prints one JSON object and exits 0', async () => {
    const { db } = freshDb();
    const r = await spawnTessera([
      'client',
      'add',
      ...db,
      '--name',
      'App',
      '--redirect-uri',
      'https://app.example/cb',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ client_name: 'App', redirect_uris: ['https://app.example/cb'] });
  });

  it('a refusal is one line on stderr and exit 2', async () => {
    const { db } = freshDb();
    expectRefused(await spawnTessera(['client', 'show', 'nope', ...db]), "tessera: no client 'nope'");
    expectRefused(await spawnTessera(['frobnicate']), /unknown command/);
  });

  it('a stdout closed early (`| true`) is not an error: exit 0, nothing on stderr', async () => {
    const { db } = freshDb();
    // bash reports the exit code of the first command of the pipe; `true` never reads.
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn(
        'bash',
        [
          '-c',
          '"$0" "$1" client add --name App --redirect-uri https://app.example/cb "$2" "$3" | true; exit "${PIPESTATUS[0]}"',
          process.execPath,
          CLI,
          ...db,
        ],
        { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout: '', stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
