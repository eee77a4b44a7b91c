/**
 * `tessera callback`, the loopback redirect listener, as the README's reader runs it: a
 * real process on a real port that a real HTTP request reaches. The code alone on stdout,
 * one line and exit 2 for every answer that is not a code for this request.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { freePort } from '../helpers/free-port.js';
import { CLI_PATH } from '../helpers/server-process.js';

interface Listening {
  uri: string;
  result: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill: () => void;
}

const children: Array<() => void> = [];
afterEach(() => {
  for (const kill of children.splice(0)) kill();
});

/** Starts `tessera callback URI ARGS` and resolves once it says it listens. */
async function listen(args: string[] = [], path = '/callback'): Promise<Listening> {
  const uri = `http://127.0.0.1:${await freePort()}${path}`;
  const child = spawn(process.execPath, [CLI_PATH, 'callback', uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  children.push(kill);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'listening on' line: ${stderr}`)), 15_000);
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void result.then(() => reject(new Error(`exited before listening: ${stderr}`)));
  });
  return { uri, result, kill };
}

describe('tessera callback', () => {
  it('prints the code alone on stdout, shows a page without it, and exits 0', async () => {
    const listener = await listen(['--state', 'st-1']);
    const res = await fetch(
      `${listener.uri}?code=the-code&state=st-1&iss=${encodeURIComponent('http://127.0.0.1:9000')}`,
    );
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('You can close this window');
    expect(page).not.toContain('the-code');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const run = await listener.result;
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('the-code\n');
    expect(run.stderr).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\/callback: .*\nreceived a code: .*\n$/);
  });

  it('with --json prints the code, state and iss as one JSON object', async () => {
    const listener = await listen(['--json']);
    await fetch(`${listener.uri}?code=c&state=${encodeURIComponent('a b&c')}&iss=https%3A%2F%2Fauth.example`);
    const run = await listener.result;
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ code: 'c', state: 'a b&c', iss: 'https://auth.example' });
  });

  it('answers other paths and methods and keeps waiting for the response', async () => {
    const listener = await listen([], '/cb');
    const favicon = await fetch(new URL('/favicon.ico', listener.uri));
    expect(favicon.status).toBe(404);
    await favicon.text();
    const post = await fetch(listener.uri, { method: 'POST', body: 'code=x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    await post.text();
    await (await fetch(`${listener.uri}?code=later`)).text();
    const run = await listener.result;
    expect(run).toMatchObject({ code: 0, stdout: 'later\n' });
  });

  it.each([
    [
      'an error response',
      '?error=access_denied&error_description=The+person+denied&state=s',
      ['--state', 's'],
      /^tessera: the authorization server answered access_denied: The person denied\n$/,
    ],
    [
      'another state',
      '?code=c&state=evil',
      ['--state', 's'],
      /^tessera: the state in the response is not the one given with --state/,
    ],
    [
      'no state when one was given',
      '?code=c',
      ['--state', 's'],
      /^tessera: the response has no state, but --state was given/,
    ],
    ['neither code nor error', '?state=s', [], /^tessera: the response has neither a code nor an error\n$/],
    ['a repeated code', '?code=a&code=b', [], /^tessera: the response repeats the parameter code\n$/],
    [
      'a description on several lines',
      '?error=x&error_description=a%0Ab%0D%0Ac',
      [],
      /^tessera: the authorization server answered x: a b c\n$/,
    ],
  ])('refuses %s: one line, exit 2, nothing on stdout, a page saying so', async (_what, query, args, line) => {
    const listener = await listen(args);
    const page = await (await fetch(`${listener.uri}${query}`)).text();
    expect(page).toContain('Sign-in not completed');
    const run = await listener.result;
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n').slice(1).join('\n')).toMatch(line);
  });

  it.each([
    ['https://127.0.0.1:8765/cb', /must use http: on a loopback address/],
    ['http://example.com:8765/cb', /must be on 127\.0\.0\.1 or \[::1\]/],
    ['http://localhost:8765/cb', /use 127\.0\.0\.1 rather than localhost/],
    ['http://127.0.0.1/cb', /must name a port other than 80/],
    ['http://127.0.0.1:80/cb', /must name a port other than 80/],
    ['http://127.0.0.1:8765/cb#x', /neither user information nor a fragment/],
    ['http://user@127.0.0.1:8765/cb', /neither user information nor a fragment/],
    ['not a url', /must be an absolute URL/],
  ])('refuses the redirect URI %s with one line and exit 2', async (uri, message) => {
    const run = await runCli(['callback', uri]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says so when the port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = await runCli(['callback', `http://127.0.0.1:${port}/cb`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`tessera: cannot listen on http://127.0.0.1:${port}/cb: the port is in use\n`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
