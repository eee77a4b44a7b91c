/**
 * `tessera scope add|list|show|remove` and `client add --scope` with API scopes, run in
 * process (runCli, the function main.ts runs) against a fresh SQLite file: what an
 * operator sees — stdout, stderr, exit code. A refusal is one `tessera: …` line on
 * stderr, nothing on stdout, exit 2, never a stack trace, and changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { CliResult } from '../helpers/server-process.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { migratedDb } from '../helpers/migrated-db.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh, migrated, empty database (commands other than migrate refuse one that is not there). */
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-scope-cli-'));
  dirs.push(dir);
  return migratedDb(join(dir, 'tessera.db'));
}

/** The environment without any TESSERA_* variable, so that only `--db` counts. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).map(([k, v]) => [k, k.startsWith('TESSERA_') ? undefined : v]),
);

const tessera = (db: string, ...args: string[]): Promise<CliResult> => runCliInProcess(args, { db, env });

/** A run without `--db` (a command group takes no options of its own). */
async function bare(...args: string[]): Promise<CliResult> {
  const r = await runCli(args, { stdin: '', env });
  return { stdout: r.stdout, stderr: r.stderr, status: r.code };
}

async function json<T = Record<string, unknown>>(db: string, ...args: string[]): Promise<T> {
  const r = await tessera(db, ...args, '--json');
  expect(r.stderr, `stderr of tessera ${args.join(' ')}`).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout.endsWith('\n')).toBe(true);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as T;
}

function expectRefused(r: CliResult, message: RegExp): void {
  expect(r.status, `stderr: ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines, `stderr: ${JSON.stringify(r.stderr)}`).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^tessera: \S/);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
  expect(lines[0]).toMatch(message);
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.concurrent('tessera scope', () => {
  it('adds, lists, shows and removes API scopes, in text and in JSON', async () => {
    const db = freshDb();
    expect((await tessera(db, 'scope', 'list')).stdout).toBe('no API scopes\n');
    expect(await json(db, 'scope', 'list')).toEqual([]);

    const added = await json(db, 'scope', 'add', 'records.read', '--description', '  Read your health records ');
    expect(added).toEqual({
      name: 'records.read',
      description: 'Read your health records',
      created_at: expect.any(String),
    });
    expect(added.created_at).toMatch(ISO);
    expect(Object.keys(added)).toEqual(['name', 'description', 'created_at']);

    const text = await tessera(db, 'scope', 'add', 'read:records', '--description', 'Read records (colon style)');
    expect(text.status).toBe(0);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^registered scope 'read:records'\n/);
    expect(text.stdout).toMatch(/description: +Read records \(colon style\)\n/);

    const list = await json<Array<Record<string, unknown>>>(db, 'scope', 'list');
    expect(list.map((s) => s.name)).toEqual(['read:records', 'records.read']);
    expect(list[1]).toEqual(added);
    const table = await tessera(db, 'scope', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +DESCRIPTION$/);
    expect(table.stdout).toMatch(/\nrecords\.read +Read your health records\n/);

    expect(await json(db, 'scope', 'show', 'records.read')).toEqual(added);
    const shown = await tessera(db, 'scope', 'show', 'records.read');
    expect(shown.stdout).toMatch(/^name: +records\.read\ndescription: +Read your health records\ncreated: +\S+\n$/);

    expect(await json(db, 'scope', 'remove', 'records.read')).toEqual({ name: 'records.read', removed: true });
    const removed = await tessera(db, 'scope', 'remove', 'read:records');
    expect(removed.status).toBe(0);
    expect(removed.stdout).toBe("removed scope 'read:records'\n");
    expect(await json(db, 'scope', 'list')).toEqual([]);
  });

  it('takes every scope-token character and exactly 64 of them', async () => {
    const db = freshDb();
    const odd = "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~Z";
    expect((await json(db, 'scope', 'add', odd, '--description', 'Odd')).name).toBe(odd);
    const longest = 'x'.repeat(64);
    expect((await json(db, 'scope', 'add', longest, '--description', 'Long')).name).toBe(longest);
    expect((await json(db, 'scope', 'add', 'Patients', '--description', 'Not a role')).name).toBe('Patients');
    expect((await json(db, 'scope', 'add', 'OpenID', '--description', 'Case-sensitive')).name).toBe('OpenID');
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['a space in the name', ['add', 'records read', '--description', 'd'], /not a scope token/],
    ['a double quote', ['add', 'records"read', '--description', 'd'], /not a scope token/],
    ['a backslash', ['add', 'records\\read', '--description', 'd'], /not a scope token/],
    ['a non-ASCII letter', ['add', 'dossiers.médicaux', '--description', 'd'], /not a scope token/],
    ['a control character', ['add', 'records\tread', '--description', 'd'], /not a scope token/],
    ['an empty name', ['add', '', '--description', 'd'], /not a scope token/],
    ['65 characters', ['add', 'x'.repeat(65), '--description', 'd'], /at most 64 characters/],
    ['a role', ['add', 'PATIENT', '--description', 'd'], /is the role PATIENT/],
    ['a role in lower case', ['add', 'clinician', '--description', 'd'], /is the role CLINICIAN/],
    ['a role in mixed case', ['add', 'TeamCoord', '--description', 'd'], /is the role TEAMCOORD/],
    ['openid', ['add', 'openid', '--description', 'd'], /reserved for OpenID Connect/],
    ['profile', ['add', 'profile', '--description', 'd'], /reserved for OpenID Connect/],
    ['email', ['add', 'email', '--description', 'd'], /reserved for OpenID Connect/],
    ['offline_access', ['add', 'offline_access', '--description', 'd'], /reserved for OpenID Connect/],
    ['no description', ['add', 'records.read'], /--description is required/],
    ['a blank description', ['add', 'records.read', '--description', '   '], /--description is required/],
    ['a description with a newline', ['add', 'records.read', '--description', 'a\nb'], /control characters/],
    ['a description of 201 characters', ['add', 'records.read', '--description', 'd'.repeat(201)], /at most 200/],
    ['no name', ['add', '--description', 'd'], /missing required argument 'name'/],
    ['show of an unknown name', ['show', 'records.read'], /no scope 'records\.read'/],
    ['remove of an unknown name', ['remove', 'records.read'], /no scope 'records\.read'/],
    ['remove of a reserved name', ['remove', 'openid'], /no scope 'openid'/],
  ];

  it.each(refusals)('refuses %s with one line and exit 2, changing nothing', async (_, args, message) => {
    const db = freshDb();
    expectRefused(await tessera(db, 'scope', ...args), message);
    expect(await json(db, 'scope', 'list')).toEqual([]);
  });

  it('refuses a name that exists, keeping the first description', async () => {
    const db = freshDb();
    await json(db, 'scope', 'add', 'records.read', '--description', 'First');
    expectRefused(
      await tessera(db, 'scope', 'add', 'records.read', '--description', 'Second'),
      /^tessera: scope 'records\.read' already exists$/,
    );
    expect((await json(db, 'scope', 'show', 'records.read')).description).toBe('First');
  });

  it('refuses to remove a scope still enabled for clients, naming them, until they are gone', async () => {
    const db = freshDb();
    await json(db, 'scope', 'add', 'records.read', '--description', 'Read your health records');
    await json(db, 'scope', 'add', 'records.write', '--description', 'Write');
    const add = (name: string, ...scopes: string[]) =>
      json(
        db,
        'client',
        'add',
        '--name',
        name,
        '--redirect-uri',
        'https://app.example/cb',
        ...scopes.flatMap((s) => ['--scope', s]),
      );
    const diary = await add('Health Diary', 'PATIENT', 'records.read');
    const portal = await add('Portal', 'records.write', 'records.read');
    expect(diary.scope).toBe('PATIENT records.read');
    expect(portal.scope).toBe('records.write records.read');

    const refused = await tessera(db, 'scope', 'remove', 'records.read');
    expectRefused(refused, /scope 'records\.read' is still enabled for clients .*: remove those clients first/);
    expect(refused.stderr).toContain(`${String(diary.client_id)} (Health Diary)`);
    expect(refused.stderr).toContain(`${String(portal.client_id)} (Portal)`);

    await json(db, 'client', 'remove', String(diary.client_id));
    const one = await tessera(db, 'scope', 'remove', 'records.read');
    expectRefused(one, /still enabled for client \S+ \(Portal\): remove that client first$/);
    expect(one.stderr).not.toContain('Health Diary');

    await json(db, 'client', 'remove', String(portal.client_id));
    expect(await json(db, 'scope', 'remove', 'records.read')).toEqual({ name: 'records.read', removed: true });
    expect((await json<Array<{ name: string }>>(db, 'scope', 'list')).map((s) => s.name)).toEqual(['records.write']);
  });

  it('client add --scope takes a registered API scope (case-sensitive) and refuses an unknown one', async () => {
    const db = freshDb();
    await json(db, 'scope', 'add', 'records.read', '--description', 'Read');
    const client = await json(
      db,
      'client',
      'add',
      '--name',
      'App',
      '--redirect-uri',
      'https://app.example/cb',
      '--scope',
      'records.read patient',
      '--scope',
      'openid',
    );
    expect(client.scope).toBe('PATIENT records.read openid');
    for (const unknown of ['records.write', 'Records.read']) {
      expectRefused(
        await tessera(db, 'client', 'add', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--scope', unknown),
        new RegExp(`unknown scope '${unknown.replace('.', '\\.')}'.*tessera scope list`),
      );
    }
    expect(await json<unknown[]>(db, 'client', 'list')).toHaveLength(1);
  });

  it('has --help on every command, documenting --json and --db', async () => {
    const db = freshDb();
    for (const command of [['scope'], ['scope', 'add'], ['scope', 'list'], ['scope', 'show'], ['scope', 'remove']]) {
      const r = await tessera(db, ...command, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: tessera ${command.join(' ')}`);
      if (command.length === 2) {
        expect(r.stdout).toContain('--json');
        expect(r.stdout).toContain('--db <url>');
      }
    }
    expect((await tessera(db, 'scope', 'add', '--help')).stdout).toContain('--description <text>');
    expectRefused(await bare('scope'), /'tessera scope' needs a command: add, list, show, remove/);
    expectRefused(await bare('scope', 'rename'), /unknown command 'tessera scope rename'/);
  });
});
