/**
 * The operator's audit trail: with TESSERA_AUDIT_LOG set, every command that changes
 * something appends one JSON line to that file (event, fields, who, which machine) and
 * nothing to stdout or stderr beyond what the command prints anyway; without it, nothing
 * is written anywhere. A file that cannot be written refuses the command before anything
 * changes. No secret (client secret, password) ever reaches the file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { openStore } from '../../src/store/open.js';

const PASSWORD = 'correct horse battery staple';

interface AuditLine {
  level: number;
  time: number;
  event: string;
  by: string;
  host: string;
  msg: string;
  [key: string]: unknown;
}

let dir: string;
let db: string;
let auditFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
  db = `sqlite:${join(dir, 'tessera.db')}`;
  auditFile = join(dir, 'audit.log');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The environment without any TESSERA_ setting of the machine running the tests. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TESSERA_') && key !== 'SUDO_USER') clean[key] = value;
  }
  return { ...clean, ...extra };
}

async function tessera(args: string[], options: { input?: string; extraEnv?: Record<string, string> } = {}) {
  return runCli([...args, '--db', db], {
    stdin: options.input ?? '',
    env: env({ TESSERA_AUDIT_LOG: auditFile, ...options.extraEnv }),
  });
}

function auditLines(): AuditLine[] {
  if (!existsSync(auditFile)) return [];
  return readFileSync(auditFile, 'utf8')
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

/** A live grant of `clientId` in the database (as a sign-in would leave one). */
async function storeGrant(clientId: string): Promise<string> {
  const store = await openStore(db);
  try {
    const now = Date.now();
    await store.createGrantWithAccessToken(
      {
        id: 'grant-1',
        personId: null,
        clientId,
        scope: '',
        authTime: null,
        sessionId: null,
        createdAt: now,
        expiresAt: now + 3_600_000,
        revokedAt: null,
        nonce: null,
      },
      {
        hash: 'hash-1',
        grantId: 'grant-1',
        scope: '',
        format: 'opaque',
        jti: null,
        createdAt: now,
        expiresAt: now + 600_000,
      },
    );
    return 'grant-1';
  } finally {
    await store.close();
  }
}

describe('TESSERA_AUDIT_LOG', () => {
  it('records every change the CLI makes, one JSON line each, with who and where, and no secret', async () => {
    const added = await tessera([
      'client',
      'add',
      '--name',
      'Diary',
      '--redirect-uri',
      'https://app.example/cb',
      '--json',
    ]);
    expect(added.code).toBe(0);
    expect(added.stderr).toBe('');
    const client = JSON.parse(added.stdout) as { client_id: string; client_secret: string };
    const rotated = JSON.parse((await tessera(['client', 'rotate-secret', client.client_id, '--json'])).stdout) as {
      client_secret: string;
    };
    const user = await tessera(['user', 'add', '--username', 'alice', '--role', 'PATIENT', '--password-stdin'], {
      input: `${PASSWORD}\n`,
    });
    expect(user.code).toBe(0);
    expect(user.stderr).toBe('');
    await tessera(['user', 'set-password', 'alice', '--password-stdin', '--revoke-grants'], {
      input: 'another long password\n',
      extraEnv: { SUDO_USER: 'carol' },
    });
    await tessera(['user', 'disable', 'alice']);
    await tessera(['user', 'disable', 'alice']); // already disabled: nothing changed, nothing recorded
    await tessera(['user', 'enable', 'alice']);
    await tessera(['scope', 'add', 'records.read', '--description', 'Read your records']);
    await tessera(['scope', 'remove', 'records.read']);
    const keys = JSON.parse((await tessera(['keys', 'rotate', '--alg', 'ES256', '--json'])).stdout) as { kid: string };
    const grant = await storeGrant(client.client_id);
    await tessera(['grant', 'revoke', grant]);
    // Read-only commands record nothing.
    await tessera(['client', 'list']);
    await tessera(['user', 'show', 'alice']);
    await tessera(['user', 'remove', 'alice']);
    await tessera(['client', 'remove', client.client_id]);

    const lines = auditLines();
    expect(lines.map((l) => l.event)).toEqual([
      'client_created',
      'client_secret_rotated',
      'user_created',
      'user_password_set',
      'user_disabled',
      'user_enabled',
      'scope_created',
      'scope_removed',
      'signing_key_rotated',
      'grant_revoked',
      'user_removed',
      'client_removed',
    ]);
    const person = lines[2]?.person;
    expect(lines[0]).toMatchObject({
      level: 30,
      client: client.client_id,
      name: 'Diary',
      grant_types: ['authorization_code', 'refresh_token'],
      msg: 'client registered',
    });
    expect(lines[2]).toMatchObject({ username: 'alice', roles: ['PATIENT'] });
    expect(person).toMatch(/\S/);
    expect(lines[3]).toMatchObject({ username: 'alice', person, grants_revoked: true, sudo_user: 'carol' });
    expect(lines[4]).toMatchObject({ username: 'alice', person });
    expect(lines[8]).toMatchObject({ kid: keys.kid, alg: 'ES256' });
    expect(lines[9]).toMatchObject({ grant, reason: 'operator' });
    for (const line of lines) {
      expect(line.by).toMatch(/\S/);
      expect(line.host).toBe(hostname());
      expect(Math.abs(line.time - Date.now())).toBeLessThan(60_000);
      if (line.event !== 'user_password_set') expect(line).not.toHaveProperty('sudo_user');
    }
    const text = readFileSync(auditFile, 'utf8');
    for (const secret of [client.client_secret, rotated.client_secret, PASSWORD, 'another long password']) {
      expect(text).not.toContain(secret);
    }
    // Readable by its owner only: it names people and who changed what.
    expect(statSync(auditFile).mode & 0o777).toBe(0o600);
  });

  it('records the updates: client update, disable and enable, user update and unlock; an update that changes nothing is not recorded', async () => {
    const added = await tessera([
      'client',
      'add',
      '--name',
      'Diary',
      '--redirect-uri',
      'https://app.example/cb',
      '--json',
    ]);
    const { client_id: id } = JSON.parse(added.stdout) as { client_id: string };
    await tessera(['user', 'add', '--username', 'alice', '--role', 'PATIENT', '--password-stdin'], {
      input: `${PASSWORD}\n`,
    });
    expect((await tessera(['client', 'update', id, '--name', 'Diary 2'])).code).toBe(0);
    expect((await tessera(['client', 'update', id, '--name', 'Diary 2'])).code).toBe(0); // unchanged
    await tessera(['client', 'disable', id]);
    await tessera(['client', 'disable', id]); // already disabled
    await tessera(['client', 'enable', id]);
    expect((await tessera(['user', 'update', 'alice', '--add-role', 'CLINICIAN'])).code).toBe(0);
    expect((await tessera(['user', 'unlock', 'alice'])).code).toBe(0);
    const lines = auditLines().slice(2);
    expect(lines.map((l) => l.event)).toEqual([
      'client_updated',
      'client_disabled',
      'client_enabled',
      'user_updated',
      'user_unlocked',
    ]);
    expect(lines[0]).toMatchObject({ client: id, changes: ['client_name'] });
    expect(lines[1]).toMatchObject({ client: id });
    expect(lines[3]).toMatchObject({ username: 'alice', changes: ['roles'] });
    expect(lines[4]).toMatchObject({ username: 'alice' });
  });

  it('records nothing, anywhere, when it is not set', async () => {
    const r = await runCli(
      ['client', 'add', '--name', 'Diary', '--redirect-uri', 'https://app.example/cb', '--db', db],
      {
        env: env(),
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('"event"');
    expect(existsSync(auditFile)).toBe(false);
  });

  it('appends to a file that exists, and records no change that failed', async () => {
    writeFileSync(auditFile, '{"earlier":true}\n', { mode: 0o600 });
    const failed = await tessera(['client', 'remove', 'no-such-client']);
    expect(failed.code).toBe(2);
    await tessera(['scope', 'add', 'records.read', '--description', 'Read your records']);
    const text = readFileSync(auditFile, 'utf8').trimEnd().split('\n');
    expect(text[0]).toBe('{"earlier":true}');
    expect(text.slice(1).map((l) => (JSON.parse(l) as AuditLine).event)).toEqual(['scope_created']);
  });

  it.each([
    ['a folder that does not exist', () => join(dir, 'missing', 'audit.log'), 'its folder does not exist'],
    [
      'a folder',
      () => {
        mkdirSync(join(dir, 'folder'));
        return join(dir, 'folder');
      },
      'it is a folder',
    ],
  ])('refuses the command before changing anything when it names %s', async (_what, path, reason) => {
    auditFile = path();
    const r = await tessera(['client', 'add', '--name', 'Diary', '--redirect-uri', 'https://app.example/cb']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`tessera: TESSERA_AUDIT_LOG: cannot write the audit log '${auditFile}': ${reason}\n`);
    // Nothing was registered.
    const list = await runCli(['client', 'list', '--db', db], { env: env() });
    expect(list.stdout).toBe('no clients\n');
  });
});
