/**
 * `tessera serve` as an operator runs it: the one stdout line, configuration errors as
 * one line with exit 2, the demo seeding, and graceful shutdown on SIGTERM/SIGINT.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveServerConfig } from '../../src/config.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { CLI_PATH, runCli, startServer, tempDb, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const c of cleanups.splice(0)) c();
});

function temp() {
  const t = tempDb();
  cleanups.push(t.cleanup);
  return t;
}

/** Runs serve until it prints its line (or exits), then SIGTERMs it; returns all it printed. */
function serveOnce(args: string[], env: NodeJS.ProcessEnv = {}, signal: NodeJS.Signals = 'SIGTERM') {
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, 'serve', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) setTimeout(() => child.kill(signal), 200);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ stdout, stderr, code }));
    setTimeout(() => child.kill('SIGKILL'), 15_000);
  });
}

describe('tessera serve', () => {
  it('prints exactly one line on stdout with the real port, and exits 0 on SIGTERM', async () => {
    const { db } = temp();
    const run = await serveOnce(['--port', '0', '--db', db]);
    expect(run.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(run.stdout).not.toContain(':0\n');
    expect(run.code).toBe(0);
  });

  it('exits 0 on SIGINT too', async () => {
    const { db } = temp();
    const run = await serveOnce(['--port', '0', '--db', db], {}, 'SIGINT');
    expect(run.code).toBe(0);
  });

  it('takes its settings from the environment', async () => {
    const { db } = temp();
    const run = await serveOnce([], { TESSERA_PORT: '0', TESSERA_HOST: '127.0.0.1', TESSERA_DB: db });
    expect(run.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it.each([
    [['--port', 'abc'], /port/],
    [['--port', '70000'], /port/],
    [['--issuer', 'ftp://x'], /issuer/],
    [['--issuer', 'https://x.example/?q=1'], /issuer/],
    [['--log-level', 'loud'], /log-level|loud/],
    [['--session-lifetime', '5'], /session lifetime/],
    [['--refresh-lifetime', '5'], /refresh lifetime must be a duration from 1m to 3650d/],
    [['--refresh-lifetime', '1h', '--session-lifetime', '2h'], /--refresh-lifetime or --session-lifetime/],
    [['--access-token-lifetime', '30s'], /access token lifetime must be a duration from 1m to 1d/],
    [['--access-token-lifetime', '2d'], /access token lifetime/],
    [['--code-lifetime', '11m'], /code lifetime must be a duration from 10s to 10m/],
    [['--code-lifetime', '-1'], /code lifetime/],
    [['--login-lifetime', 'soon'], /login lifetime/],
    [['--db', 'mysql://x'], /database URL/],
    [['--db', 'sqlite:/proc/nope/tessera.db'], /cannot open/],
    [['--db', 'sqlite:/proc/nope/tessera.db', '--db-wait', '60'], /cannot open/],
    [['--db-pool-size', '0'], /pool size/],
    [['--db-pool-size', '1001'], /pool size/],
    [['--db-pool-size', 'many'], /pool size/],
    [['--db-wait', '-1'], /db wait/],
    [['--db-wait', 'soon'], /db wait/],
    [['--bogus'], /unknown option/],
    // Anywhere but loopback, http://HOST:PORT is not how people and apps reach the server.
    [['--host', '0.0.0.0'], /^tessera: --host 0\.0\.0\.0 is reachable from other machines: pass --issuer/],
    [['--host', '::'], /^tessera: --host :: .*pass --issuer/],
    [['--host', '192.168.1.10'], /^tessera: --host 192\.168\.1\.10 .*pass --issuer/],
    [['--host', 'auth.example.org'], /^tessera: --host auth\.example\.org .*pass --issuer/],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    const { db } = temp();
    // Settings are refused before serve makes its logger: those run in process. A database
    // is refused after, so by a real process, whose stderr would show any log line too.
    const command = ['serve', '--port', '0', ...args];
    const options = { db: args.includes('--db') ? (args[args.indexOf('--db') + 1] as string) : db };
    const result = args.includes('--db') ? runCli(command, options) : await runCliInProcess(command, options);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tessera: /);
    expect(lines[0]).toMatch(message);
  });

  it('keeps the default issuer on loopback hosts, and needs --issuer (or TESSERA_ISSUER) on any other', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', 'LOCALHOST', '::1', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(resolveServerConfig({ host, port: 9000 }).issuer).toMatch(
        /^http:\/\/(127\.0\.0\.[12]|localhost|LOCALHOST|\[::1\]):9000$/,
      );
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '::2', 'localhost.example', 'example.org']) {
      expect(isLoopbackHost(host), host).toBe(false);
      expect(() => resolveServerConfig({ host })).toThrow(/pass --issuer/);
      expect(resolveServerConfig({ host, issuer: 'https://auth.example.org' }).issuer).toBe('https://auth.example.org');
    }
    const { db } = temp();
    const run = await serveOnce(['--port', '0', '--host', '0.0.0.0', '--db', db], {
      TESSERA_ISSUER: 'https://auth.example.org',
    });
    expect(run.stdout).toMatch(/^listening on http:\/\/0\.0\.0\.0:\d+\n$/);
    expect(run.code).toBe(0);
  });

  it('takes --db-pool-size and --db-wait from the environment, and refuses bad values there too', async () => {
    const { db } = temp();
    const run = await serveOnce(['--port', '0', '--db', db], { TESSERA_DB_POOL_SIZE: '25', TESSERA_DB_WAIT: '0' });
    expect(run.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(run.code).toBe(0);
    for (const env of [{ TESSERA_DB_POOL_SIZE: '0' }, { TESSERA_DB_WAIT: 'forever' }]) {
      const result = await runCliInProcess(['serve', '--port', '0'], { db, env });
      expect(result.status).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^tessera: db (pool size|wait) must be a whole number/);
    }
  });

  it('refuses a port that is in use with one line and exit code 2', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = runCli(['serve', '--port', String(port)], { db: temp().db });
      expect(result.status).toBe(2);
      expect(result.stderr.trim()).toMatch(/^tessera: cannot listen on 127\.0\.0\.1:\d+: the port is in use$/);
    } finally {
      blocker.close();
    }
  });

  it('seeds the demo on first start and serves /demo, metadata and health', async () => {
    server = await startServer({ args: ['--demo'] });
    const metadata = await (await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({
      issuer: server.baseUrl,
      authorization_endpoint: `${server.baseUrl}/apiAuthorize.action`,
      token_endpoint: `${server.baseUrl}/apiToken.action`,
    });
    const demo = await fetch(`${server.baseUrl}/demo`);
    expect(demo.status).toBe(200);
    expect(await demo.text()).toContain('alice');
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    const users = await runCliInProcess(['user', 'list', '--json'], { db: server.db });
    expect((JSON.parse(users.stdout) as Array<{ username: string }>).map((u) => u.username).sort()).toEqual([
      'alice',
      'bob',
      'carol',
      'dana',
    ]);
    expect(server.stderr()).not.toMatch(/"level":50/);
  });

  it('has no /demo without --demo', async () => {
    server = await startServer();
    expect((await fetch(`${server.baseUrl}/demo`)).status).toBe(404);
  });

  it('finishes a request in flight before exiting on SIGTERM', async () => {
    server = await startServer();
    const { baseUrl } = server;
    // A token request that authenticates with a password-strength hash would be too quick
    // to catch in flight; a slow upload is not: send the body in two parts around SIGTERM.
    const url = new URL(`${baseUrl}/apiToken.action`);
    const answer = new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '19' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write('grant_type=pass');
        setTimeout(() => {
          void server!.stop();
          setTimeout(() => req.end('word'), 300);
        }, 100);
      }, reject);
    });
    // Answered in full (grant_type=password is unsupported_grant_type, checked before the client).
    expect(await answer).toBe(400);
    const exit = await server.stop();
    expect(exit.code).toBe(0);
  });
});
