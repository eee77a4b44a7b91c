/**
 * The demo kept apart, as an operator sees it: `serve --demo` makes its own database,
 * `serve` without --demo on a database the demo seeded refuses the demo's people and
 * clients over real HTTP and says so on stderr, `tessera demo remove` removes them; and
 * management commands refuse a database that does not exist instead of making one.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../src/demo/fixtures.js';
import { seedDemo } from '../../src/demo/seed.js';
import { openStore } from '../../src/store/open.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { tempPostgresUrl } from '../helpers/harness.js';
import { migratedDb } from '../helpers/migrated-db.js';
import { CLI_PATH, startServer, type CliResult, type ServerProcess } from '../helpers/server-process.js';

const SLOW = { timeout: 120_000 };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** The environment without any TESSERA_* variable, so that only what a test passes counts. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).map(([k, v]) => [k, k.startsWith('TESSERA_') ? undefined : v]),
);

const tessera = (db: string, ...args: string[]): Promise<CliResult> => runCliInProcess(args, { db, env });

/** Exit 2, nothing on stdout, one `tessera: …` line on stderr. */
function expectRefused(r: CliResult, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^tessera: /);
  expect(r.stderr).toMatch(message);
}

/** `tessera serve ARGS` in `cwd` until it prints its line; returns its URL and a stop. */
function serveIn(
  cwd: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ url: string; stderr: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0', '--log-level', 'warn', ...args], {
    cwd,
    env: { ...env, ...extraEnv },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no 'listening on' line: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^listening on (\S+)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1] as string,
        stderr: () => stderr,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
  });
}

/** A browser without JavaScript over real HTTP: keeps cookies, follows nothing by itself. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async request(path: string, body?: Record<string, string>): Promise<Response> {
    const res = await fetch(`${this.base}${path}`, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(body && { body: new URLSearchParams(body).toString() }),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }
}

/** Signs in on the real server's pages for `clientId`; returns where the sign-in form sent the browser. */
async function signIn(base: string, clientId: string, username: string, password: string): Promise<string> {
  const b = new Browser(base);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: 'https://app.example/cb',
    scope: 'PATIENT',
  });
  const start = await b.request(`/apiAuthorize.action?${query}`);
  expect(start.status).toBe(302);
  const login = await b.request(start.headers.get('location') as string);
  const page = await login.text();
  const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] as string;
  const request = hidden('request');
  const answer = await b.request('/login', { request, csrf: hidden('csrf'), username, password });
  expect(answer.status).toBe(303);
  return (answer.headers.get('location') as string).replace(request, 'ID');
}

describe('serve --demo and serve without it', () => {
  it(
    'npm start seeds the default database; a server without --demo on it refuses the demo people and clients and says how to remove them',
    SLOW,
    async () => {
      const cwd = tempDir();
      const demo = await serveIn(cwd, ['--demo']);
      await demo.stop();
      expect(demo.stderr()).toContain('Tessera demo: open');
      expect(readdirSync(join(cwd, '.tessera')).filter((f) => f.endsWith('.db'))).toEqual(['tessera.db']);
      const db = `sqlite:${join(cwd, '.tessera', 'tessera.db')}`;

      // A real app and person in the same database, then the server without --demo.
      const app = JSON.parse(
        (await tessera(db, 'client', 'add', '--name', 'Real App', '--redirect-uri', 'https://app.example/cb', '--json'))
          .stdout,
      ) as { client_id: string; client_secret: string };
      expect(
        (await tessera(db, 'user', 'add', '--username', 'eve', '--password', 'eve password', '--role', 'PATIENT'))
          .status,
      ).toBe(0);
      server = await startServer({ db, env });
      expect(server.stderr()).toContain(
        `note: this database holds 3 demo clients and 4 demo people (seeded by 'serve --demo'); without --demo they are refused. Remove them with: tessera demo remove --db ${db}\n`,
      );

      // Sign-in: the demo person with the published password is answered as a wrong password.
      const wrong = await signIn(server.baseUrl, app.client_id, 'eve', 'not her password');
      expect(wrong).toMatch(/^\/login\?request=ID&error=/);
      expect(await signIn(server.baseUrl, app.client_id, 'alice', DEMO_PASSWORD)).toBe(wrong);
      expect(await signIn(server.baseUrl, app.client_id, 'eve', 'eve password')).toMatch(/^\/consent\?/);

      // The demo app at the token and authorization endpoints: unknown.
      const token = await fetch(`${server.baseUrl}/apiToken.action`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F127.0.0.1%2Fdemo%2Fcallback&client_id=tessera-demo',
      });
      expect(token.status).toBe(401);
      expect(await token.json()).toMatchObject({ error: 'invalid_client' });
      const page = await fetch(`${server.baseUrl}/apiAuthorize.action?response_type=code&client_id=tessera-demo`, {
        redirect: 'manual',
      });
      expect(page.status).toBe(400);
      expect(await page.text()).toContain('The client_id is not known to this server');
      await server.stop();
      server = undefined;

      // tessera demo remove: says what it removed, leaves real data; then there is nothing.
      const removed = await tessera(db, 'demo', 'remove');
      expect(removed.status, removed.stderr).toBe(0);
      expect(removed.stderr).toBe('');
      expect(removed.stdout).toBe(
        'removed 3 demo clients (tessera-demo, tessera-demo-api, tessera-demo-jwt), 4 demo people (alice, bob, carol, dana) and 0 grants with their codes and tokens\n',
      );
      expect(JSON.parse((await tessera(db, 'user', 'list', '--json')).stdout)).toMatchObject([{ username: 'eve' }]);
      expect((await tessera(db, 'demo', 'remove')).stdout).toBe('no demo data in this database: nothing removed\n');
      expect(JSON.parse((await tessera(db, 'demo', 'remove', '--json')).stdout)).toEqual({
        clients: [],
        people: [],
        grants: 0,
      });
      server = await startServer({ db, env });
      expect(server.stderr()).not.toContain('demo');
    },
  );

  it(
    'serve --demo with TESSERA_DB uses that database (the operator chose), and marks what it seeds',
    SLOW,
    async () => {
      const cwd = tempDir();
      const db = `sqlite:${join(cwd, 'chosen.db')}`;
      const demo = await serveIn(cwd, ['--demo'], { TESSERA_DB: db });
      await demo.stop();
      expect(existsSync(join(cwd, '.tessera'))).toBe(false);
      const removed = JSON.parse((await tessera(db, 'demo', 'remove', '--json')).stdout) as { people: string[] };
      expect(removed.people).toEqual(['alice', 'bob', 'carol', 'dana']);
    },
  );
});

describe('a database that does not exist', () => {
  const commands: string[][] = [
    ['client', 'list'],
    ['client', 'add', '--name', 'App', '--redirect-uri', 'https://app.example/cb'],
    ['user', 'add', '--username', 'alice', '--password', 'long enough', '--role', 'PATIENT'],
    ['user', 'list'],
    ['scope', 'list'],
    ['grant', 'list'],
    ['keys', 'list'],
    ['keys', 'rotate'],
    ['purge'],
    ['export'],
    ['demo', 'remove'],
  ];

  /** Runs `tessera ARGS` in `cwd` as a process of its own (a relative --db resolves there). */
  async function tesseraIn(cwd: string, args: string[]): Promise<CliResult> {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end();
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { status: status ?? -1, stdout, stderr };
  }

  /** What the refusal says for `file`. */
  const noDatabase = (file: string) =>
    `tessera: there is no database at ${file}: check --db (or TESSERA_DB), or create it first with 'tessera migrate' or 'tessera serve'\n`;

  it.each(commands.map((args) => [args.slice(0, 2).join(' '), args]))(
    '%s at a relative path: one line naming the resolved path, exit 2, nothing created',
    SLOW,
    async (_name, args) => {
      const cwd = tempDir();
      const r = await tesseraIn(cwd, [...(args as string[]), '--db', 'sqlite:sub/tessera.db']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(noDatabase(join(cwd, 'sub', 'tessera.db')));
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it(
    'names the resolved path of the relative default when run from another folder, and makes no folder',
    SLOW,
    async () => {
      const cwd = tempDir();
      const r = await tesseraIn(cwd, ['client', 'list']);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(noDatabase(join(cwd, '.tessera', 'tessera.db')));
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it('an absolute path or a PostgreSQL URL names one place: created and migrated as serve would; export refuses a missing file', async () => {
    const dir = tempDir();
    const file = join(dir, 'new', 'tessera.db');
    const added = await tessera(
      `sqlite:${file}`,
      'client',
      'add',
      '--name',
      'App',
      '--redirect-uri',
      'https://app.example/cb',
    );
    expect(added.status, added.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const other = join(dir, 'other.db');
    expectRefused(await tessera(`sqlite:${other}`, 'export'), /^tessera: there is no database at /);
    expect(existsSync(other)).toBe(false);
  });

  it(
    'refuses a file at a relative path without Tessera tables, leaving it as it was; migrate and import may make one',
    SLOW,
    async () => {
      const cwd = tempDir();
      const empty = join(cwd, 'empty.db');
      writeFileSync(empty, '');
      const refused = await tesseraIn(cwd, ['client', 'list', '--db', 'sqlite:empty.db']);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/^tessera: the database .*empty\.db has no Tessera tables: check --db/);
      expect(statSync(empty).size).toBe(0);
      expect((await tesseraIn(cwd, ['migrate', '--db', 'sqlite:empty.db'])).status).toBe(0);
      expect((await tesseraIn(cwd, ['client', 'list', '--db', 'sqlite:empty.db'])).stdout).toBe('no clients\n');

      // A restore into a new file is what import is for.
      const source = migratedDb(join(cwd, 'source.db'));
      const exported = await tessera(source, 'export');
      expect(exported.status).toBe(0);
      const target = `sqlite:${join(cwd, 'new', 'restored.db')}`;
      const imported = await runCliInProcess(['import'], { db: target, env, input: exported.stdout });
      expect(imported.status, imported.stderr).toBe(0);
      expect((await tessera(target, 'client', 'list')).status).toBe(0);
    },
  );

  it.runIf(process.env.TESSERA_TEST_POSTGRES_URL)(
    'PostgreSQL: a database without Tessera tables is migrated by the command, as serve would; demo remove then finds the demo',
    async () => {
      const pg = await tempPostgresUrl();
      try {
        const listed = await tessera(pg.url, 'client', 'list');
        expect(listed.status, listed.stderr).toBe(0);
        expect(listed.stdout).toBe('no clients\n');
        const store = await openStore(pg.url, { migrate: false });
        try {
          const tables = await store.migrations((m) => m.getMigrations());
          expect(tables.every((m) => m.executedAt)).toBe(true);
        } finally {
          await store.close();
        }
        const seeded = await openStore(pg.url);
        try {
          await seedDemo(seeded, 'http://localhost:9000', 'secret', Date.now());
        } finally {
          await seeded.close();
        }
        const removed = await tessera(pg.url, 'demo', 'remove', '--json');
        expect(removed.status, removed.stderr).toBe(0);
        expect(JSON.parse(removed.stdout)).toEqual({
          clients: ['tessera-demo', 'tessera-demo-api', 'tessera-demo-jwt'],
          people: ['alice', 'bob', 'carol', 'dana'],
          grants: 0,
        });
      } finally {
        await pg.drop();
      }
    },
  );
});
