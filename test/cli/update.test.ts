/**
 * The new client and user commands as a script sees them: `--json` output and errors,
 * `client show` with a client's own lifetimes and a previous secret in its grace, and
 * refusals before anything is written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli-in-process.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-update-'));
  dirs.push(dir);
  return `sqlite:${join(dir, 'tessera.db')}`;
}

describe('client update, disable, enable, rotate-secret --grace and user update', () => {
  it('client add takes the lifetimes too, with the same bounds and one line for a bad value', async () => {
    const db = freshDb();
    const cli = (...args: string[]) => runCliInProcess(args, { db });
    const added = await cli(
      'client',
      'add',
      '--name',
      'App',
      '--redirect-uri',
      'https://app.example/cb',
      '--access-token-lifetime',
      '5m',
      '--code-lifetime',
      '30',
      '--json',
    );
    expect(added.status).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      access_token_lifetime: 300,
      code_lifetime: 30,
      refresh_lifetime: null,
    });
    const refused = await cli(
      'client',
      'add',
      '--name',
      'Other',
      '--redirect-uri',
      'https://app.example/cb',
      '--code-lifetime',
      '11m',
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^tessera: --code-lifetime must be/);
    const list = JSON.parse((await cli('client', 'list', '--json')).stdout) as unknown[];
    expect(list).toHaveLength(1);
  });

  it('show the lifetimes and the grace; --json errors are JSON; a refusal changes nothing', async () => {
    const db = freshDb();
    const cli = (...args: string[]) => runCliInProcess(args, { db });
    const added = JSON.parse(
      (await cli('client', 'add', '--name', 'App', '--redirect-uri', 'https://app.example/cb', '--json')).stdout,
    ) as { client_id: string };
    const id = added.client_id;

    const shown = await cli('client', 'show', id);
    expect(shown.stdout).toMatch(/^access token lifetime: +the server's \(default\)$/m);

    const updated = await cli('client', 'update', id, '--code-lifetime', '30s', '--refresh-lifetime', '7d');
    expect(updated.status).toBe(0);
    expect(updated.stdout).toMatch(/^code lifetime: +30s$/m);
    expect(updated.stdout).toMatch(/^refresh lifetime: +7d$/m);
    expect(updated.stdout).toContain('new lifetimes apply to what is issued from now on');

    const unchanged = await cli('client', 'update', id, '--code-lifetime', '30');
    expect(unchanged.stdout).toMatch(/^client '\S+' is unchanged/);

    const refused = await cli('client', 'update', id, '--scope', 'nope', '--name', 'Other', '--json');
    expect(refused).toMatchObject({ status: 2, stdout: '' });
    expect(JSON.parse(refused.stderr)).toEqual({ error: expect.stringMatching(/^unknown scope 'nope'/) as string });
    expect(JSON.parse((await cli('client', 'show', id, '--json')).stdout)).toMatchObject({
      client_name: 'App',
      code_lifetime: 30,
      refresh_lifetime: 7 * 24 * 3600,
      access_token_lifetime: null,
    });

    const rotated = await cli('client', 'rotate-secret', id, '--grace', '1h');
    expect(rotated.stdout).toMatch(/The old secret keeps working until \S+ \(1h\), then never again\./);
    expect((await cli('client', 'show', id)).stdout).toMatch(/^previous secret: +still accepted until /m);

    const disabled = JSON.parse((await cli('client', 'disable', id, '--json')).stdout) as { disabled: boolean };
    expect(disabled.disabled).toBe(true);
    expect((await cli('client', 'show', id)).stdout).toMatch(/^status: +disabled since /m);

    await cli('user', 'add', '--username', 'eve', '--password', 'correct horse', '--role', 'PATIENT');
    const user = await cli('user', 'update', 'eve', '--add-role', 'clinician', '--json');
    expect(JSON.parse(user.stdout)).toMatchObject({ roles: ['PATIENT', 'CLINICIAN'], changed: ['roles'] });
  });

  it('--help names every option of client update', async () => {
    const help = await runCliInProcess(['client', 'update', '--help'], { db: freshDb() });
    expect(help.status).toBe(0);
    for (const option of [
      '--add-redirect-uri',
      '--remove-redirect-uri',
      '--add-scope',
      '--remove-scope',
      '--no-skip-consent',
      '--access-token-lifetime',
      '--refresh-lifetime',
      '--code-lifetime',
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
