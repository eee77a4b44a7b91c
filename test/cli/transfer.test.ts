/**
 * `tessera export` and `tessera import`, black-box: the REAL built command on real
 * databases. The source is a SQLite file filled through the real pages and token
 * endpoint; it is exported, imported into another SQLite file and — when
 * TESSERA_TEST_POSTGRES_URL is set — into a fresh PostgreSQL database, the migration
 * path from a SQLite deployment to PostgreSQL. A real `tessera serve` on the copy then
 * honours the tokens issued before the move. Refusals are one line and exit code 2.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { DEFAULT_LIFETIMES } from '../../src/oauth/tokens.js';
import { openStore } from '../../src/store/open.js';
import { addClient, addTestUser, basic, codeThroughPages, ISSUER, postToken } from '../helpers/harness.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { startServer, tempDb, type CliResult } from '../helpers/server-process.js';

const PG_BASE = process.env.TESSERA_TEST_POSTGRES_URL;
const SCRIPT = fileURLToPath(new URL('../../scripts/test-database.mjs', import.meta.url));
const SLOW = { timeout: 120_000 };

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

function newDb(): { db: string; dir: string } {
  const temp = tempDb();
  cleanups.push(temp.cleanup);
  return temp;
}

/** The refusal shape: exit 2, nothing on stdout, one `tessera: …` line on stderr, no stack. */
function expectRefusal(result: CliResult, message: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^tessera: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** An export's text without its `exported_at` line, for comparing two exports. */
function withoutTime(text: string): string {
  return text.replace(/^ {2}"exported_at": .*$/m, '');
}

interface Issued {
  clientId: string;
  secret: string;
  /** Access and refresh token of the live family. */
  access: string;
  refresh: string;
  /** The refresh token retired by a rotation before the export. */
  retired: string;
}

/** Fills `db` through the real pages and token endpoint (in-process), as a running deployment would. */
async function populate(db: string): Promise<Issued> {
  const store = await openStore(db);
  const app = await buildApp(
    { issuer: ISSUER, demo: false, lifetimes: DEFAULT_LIFETIMES, secret: randomBytes(32).toString('base64url') },
    store,
  );
  try {
    const { client, secret } = await addClient(store, { name: 'Records', redirectUris: ['https://app.example/cb'] });
    await addTestUser(store, 'alice', ['PATIENT'], 'Alice Patel');
    await addTestUser(store, 'bob', ['CLINICIAN', 'TEAMCOORD'], 'Bob Jones');
    await store.putSettingIfAbsent('cookie_secret', randomBytes(32).toString('base64url'));
    const auth = { authorization: basic(client.id, secret as string) };
    const code = await codeThroughPages(app, { query: { response_type: 'code', client_id: client.id } });
    const first = (await postToken(app, { grant_type: 'authorization_code', code }, auth)).json() as Record<
      string,
      string
    >;
    const second = (
      await postToken(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token as string }, auth)
    ).json() as Record<string, string>;
    if (!second.access_token) throw new Error('the refresh grant failed while populating');
    return {
      clientId: client.id,
      secret: secret as string,
      access: second.access_token,
      refresh: second.refresh_token as string,
      retired: first.refresh_token as string,
    };
  } finally {
    await app.close();
    await store.close();
  }
}

/**
 * A real `tessera serve` on `db`: the token issued before the move works at /api/v1/me,
 * the live refresh token rotates, and the one retired before the move is still caught as
 * reuse (the family is revoked).
 */
async function expectServerHonours(db: string, issued: Issued): Promise<void> {
  const server = await startServer({ db });
  try {
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    const me = await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${issued.access}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      username: 'alice',
      name: 'Alice Patel',
      scope: 'PATIENT',
      client_id: issued.clientId,
    });

    const token = (refreshToken: string) =>
      fetch(`${server.baseUrl}/apiToken.action`, {
        method: 'POST',
        headers: {
          authorization: basic(issued.clientId, issued.secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
      });
    const rotated = await token(issued.refresh);
    expect(rotated.status).toBe(200);
    const fresh = (await rotated.json()) as { access_token: string };
    const reuse = await token(issued.retired);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const revoked = await fetch(`${server.baseUrl}/api/v1/me`, {
      headers: { authorization: `Bearer ${fresh.access_token}` },
    });
    expect(revoked.status).toBe(401);
  } finally {
    await server.stop();
  }
}

describe('tessera export and tessera import', () => {
  let source: string;
  let issued: Issued;
  let exportFile: string;
  let exportText: string;

  beforeAll(async () => {
    source = newDb().db;
    issued = await populate(source);
    const dir = mkdtempSync(join(tmpdir(), 'tessera-export-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    exportFile = join(dir, 'tessera.json');
  }, 60_000);

  it('export --output writes the whole database to a new file of mode 0600', SLOW, async () => {
    // A file already there, readable by all, is replaced by one readable only by its owner.
    writeFileSync(exportFile, 'old content', { mode: 0o644 });
    chmodSync(exportFile, 0o644);
    const result = await runCliInProcess(['export', '--output', exportFile], { db: source });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^exported \d+ rows \(clients 1, people 2, grants 1, .*\) at migration \d{4}_\w+ to .*tessera\.json\n/,
    );
    expect(result.stdout).toMatch(/password hashes/);
    expect(statSync(exportFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(exportFile, '..'))).toEqual(['tessera.json']); // no temporary file left

    exportText = readFileSync(exportFile, 'utf8');
    const doc = JSON.parse(exportText) as {
      format: string;
      version: number;
      migration: string;
      exported_at: string;
      tables: Record<string, Array<Record<string, unknown>>>;
    };
    expect(doc).toMatchObject({ format: 'tessera-export', version: 1 });
    expect(Number.isNaN(Date.parse(doc.exported_at))).toBe(false);
    expect(Object.keys(doc.tables)).toEqual([
      'clients',
      'people',
      'grants',
      'authorization_codes',
      'access_tokens',
      'refresh_tokens',
      'pending_authorizations',
      'sign_in_sessions',
      'sign_in_failures',
      'settings',
      'api_scopes',
      'signing_keys',
    ]);
    expect(doc.tables.people?.map((p) => p.username)).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(typeof doc.tables.access_tokens?.[0]?.expires_at).toBe('number');
    // Hashes, never the tokens or the client secret themselves.
    for (const plain of [issued.access, issued.refresh, issued.retired, issued.secret])
      expect(exportText).not.toContain(plain);

    // Without --output the same document goes to stdout.
    const stdout = await runCliInProcess(['export'], { db: source });
    expect(stdout.status).toBe(0);
    expect(withoutTime(stdout.stdout)).toBe(withoutTime(exportText));
  });

  it(
    'SQLite to SQLite: the copy exports the same rows, and a real server on it honours the old tokens',
    SLOW,
    async () => {
      const target = newDb().db;
      const result = await runCliInProcess(['import', '--input', exportFile], { db: target });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^imported \d+ rows \(export of .*, migration \d{4}_\w+\)\n/);
      expect(result.stdout).toMatch(/^clients +1$/m);
      expect(result.stdout).toMatch(/^people +2$/m);

      const again = await runCliInProcess(['export'], { db: target });
      expect(again.status).toBe(0);
      expect(withoutTime(again.stdout)).toBe(withoutTime(exportText));
      await expectServerHonours(target, issued);
    },
  );

  it.skipIf(!PG_BASE)('SQLite to a fresh PostgreSQL database: the migration path', SLOW, async () => {
    const url = new URL(PG_BASE as string);
    url.pathname = `/tessera_transfer_${randomBytes(6).toString('hex')}`;
    const pg = url.toString();
    const database = (action: 'create' | 'drop') => {
      const r = spawnSync(process.execPath, [SCRIPT, action, pg], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(`test-database.mjs ${action} failed: ${r.stderr}`);
    };
    database('create');
    cleanups.push(() => database('drop'));

    const result = await runCliInProcess(['import', '--input', exportFile, '--json'], { db: pg });
    expect(result.status, result.stderr).toBe(0);
    const counts = JSON.parse(result.stdout) as {
      rows: number;
      tables: Record<string, number>;
      migration: string;
      applied: string[];
    };
    expect(counts.tables).toMatchObject({
      clients: 1,
      people: 2,
      grants: 1,
      access_tokens: 2,
      refresh_tokens: 2,
      settings: 1,
    });
    expect(counts.applied).toEqual([]);

    // The same document back from PostgreSQL: same rows, same order, same types (times as numbers).
    const again = await runCliInProcess(['export'], { db: pg });
    expect(again.status, again.stderr).toBe(0);
    expect(withoutTime(again.stdout)).toBe(withoutTime(exportText));

    // A second import into it is refused: it is not empty any more.
    expectRefusal(await runCliInProcess(['import', '--input', exportFile], { db: pg }), /not empty/);

    await expectServerHonours(pg, issued);
  });

  it('import reads the export from stdin and prints counts as JSON with --json', SLOW, async () => {
    const target = newDb().db;
    const result = await runCliInProcess(['import', '--json'], { db: target, input: exportText });
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ tables: { clients: 1, people: 2 }, applied: [] });
    expect(typeof summary.rows).toBe('number');
    expect(summary.migration).toMatch(/^\d{4}_\w+$/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const users = await runCliInProcess(['user', 'list', '--json'], { db: target });
    expect(users.stdout).toContain('alice');
  });

  it('refuses with one line and exit code 2, and leaves the target as it was', SLOW, async () => {
    // A target that is not empty.
    const used = newDb().db;
    expect((await runCliInProcess(['migrate'], { db: used })).status).toBe(0);
    expect(
      (
        await runCliInProcess(['client', 'add', '--name', 'Existing', '--redirect-uri', 'https://x.example/cb'], {
          db: used,
        })
      ).status,
    ).toBe(0);
    expectRefusal(
      await runCliInProcess(['import', '--input', exportFile], { db: used }),
      /the target database is not empty \(it holds clients\)/,
    );
    expect((await runCliInProcess(['client', 'list', '--json'], { db: used })).stdout).not.toContain('Records');

    // Input that is not an export: the target is not even created.
    const { db: fresh, dir } = newDb();
    expectRefusal(await runCliInProcess(['import'], { db: fresh, input: 'garbage' }), /the input is not JSON/);
    expectRefusal(await runCliInProcess(['import'], { db: fresh, input: '' }), /the input is empty/);
    expectRefusal(
      await runCliInProcess(['import'], { db: fresh, input: '{"hello": "world"}' }),
      /not a Tessera export/,
    );
    const doc = JSON.parse(exportText) as Record<string, unknown>;
    expectRefusal(
      await runCliInProcess(['import'], { db: fresh, input: JSON.stringify({ ...doc, version: 2 }) }),
      /format version 2/,
    );
    expectRefusal(
      await runCliInProcess(['import'], { db: fresh, input: JSON.stringify({ ...doc, migration: '9999_later' }) }),
      /migration '9999_later', which this build of Tessera does not know/,
    );
    expectRefusal(
      await runCliInProcess(['import', '--input', join(dir, 'missing.json')], { db: fresh }),
      /cannot read .*missing\.json.*no such file/,
    );
    expect(existsSync(join(dir, 'tessera.db'))).toBe(false);

    // Exporting a SQLite file that is not there (a wrong path) does not create an empty one.
    expectRefusal(await runCliInProcess(['export'], { db: fresh }), /there is no database at/);
    expect(existsSync(join(dir, 'tessera.db'))).toBe(false);
    // An --output that cannot be written.
    expectRefusal(
      await runCliInProcess(['export', '--output', join(dir, 'no', 'such', 'dir.json')], { db: source }),
      /cannot write .*no such file/,
    );
  });
});
