/**
 * `tessera serve` against slow clients, as an operator runs it (the built CLI, a real
 * port): 50 sockets trickling their headers are answered 408 and closed at the header
 * timeout, a body trickled slower than the request timeout is cut there, a request sent
 * in time is answered; the limit settings come from flags or the environment, and a bad
 * value is one line and exit code 2.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli-in-process.js';
import { startServer, tempDb, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess | undefined;
const sockets: Socket[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.stop();
  server = undefined;
  for (const c of cleanups.splice(0)) c();
});

interface Trickle {
  /** Milliseconds from the start until the server closed the connection; undefined while open. */
  closedAfter: () => number | undefined;
  received: () => string;
  closed: Promise<void>;
}

/** Opens a connection that sends `head` at once, then one byte of `drip` every `everyMs`. */
function trickle(url: string, head: string, drip: string, everyMs: number, started: number): Trickle {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  sockets.push(socket);
  let received = '';
  let closedAt: number | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write(head));
  let i = 0;
  const timer = setInterval(() => {
    if (socket.writable) socket.write(drip[i++ % drip.length] as string);
  }, everyMs);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedAt = Date.now() - started;
      clearInterval(timer);
      resolve();
    }),
  );
  return { closedAfter: () => closedAt, received: () => received, closed };
}

/** Resolves after `ms`, or with the trickles all closed, whichever is first. */
async function within(trickles: Trickle[], ms: number): Promise<void> {
  await Promise.race([Promise.all(trickles.map((t) => t.closed)), new Promise((r) => setTimeout(r, ms))]);
}

describe('tessera serve: slow clients', () => {
  it('closes 50 sockets trickling their headers at the header timeout, with a 408', async () => {
    server = await startServer({ args: ['--header-timeout', '2', '--request-timeout', '4'] });
    const started = Date.now();
    const slow = Array.from({ length: 50 }, () =>
      trickle(server!.baseUrl, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 200, started),
    );
    // One that sends nothing at all is cut off alike.
    const silent = trickle(server.baseUrl, '', '', 60_000, started);
    await within([...slow, silent], 6000);
    for (const t of [...slow, silent]) {
      const after = t.closedAfter();
      expect(after, 'closed').toBeDefined();
      // Not before the header timeout; within it plus the server's 0.5 s check interval and slack.
      expect(after).toBeGreaterThanOrEqual(1900);
      expect(after).toBeLessThan(4000);
      expect(t.received()).toMatch(/^HTTP\/1\.1 408 /);
    }
    // The server still answers everyone else.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });

  it('cuts a body trickled past the request timeout, and answers one that arrives in time', async () => {
    server = await startServer({
      args: [],
      env: { TESSERA_HEADER_TIMEOUT: '1', TESSERA_REQUEST_TIMEOUT: '3' },
    });
    const started = Date.now();
    const head = (length: number) =>
      `POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`;
    // 1,000 bytes at one per 100 ms would take 100 s.
    const slowBody = trickle(server.baseUrl, head(1000), 'a', 100, started);
    // 10 bytes at one per 200 ms: past the header timeout, within the request timeout.
    const body = 'grant_type';
    const inTime = trickle(server.baseUrl, head(body.length), body, 200, started);
    await within([slowBody], 6000);
    expect(slowBody.closedAfter()).toBeGreaterThanOrEqual(2900);
    expect(slowBody.closedAfter()).toBeLessThan(4500);
    expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408 /);
    // The token endpoint's own answer to a body that arrived: not a timeout.
    expect(inTime.received()).toMatch(/^HTTP\/1\.1 400 /);
    expect(inTime.received()).toContain('"error":"invalid_request"');
  });

  it.each([
    [
      ['--header-timeout', '0'],
      /^tessera: header timeout must be a duration from 1s to 1h \(seconds, or a number with s, m, h or d: 30s, 15m, 24h, 7d\), not '0'$/,
    ],
    [['--header-timeout', 'soon'], /header timeout/],
    [['--request-timeout', '1.5'], /request timeout/],
    [['--request-timeout', '99999'], /request timeout/],
    [
      ['--header-timeout', '20', '--request-timeout', '10'],
      /header timeout \(20 seconds\) must not be longer than request timeout \(10 seconds\)/,
    ],
    [['--max-connections-per-address', '-1'], /max connections per address/],
    [['--max-connections-per-address', 'lots'], /max connections per address/],
    [['--max-connections', '2000000'], /max connections must/],
    [
      ['--rate-limit', '10/min'],
      /^tessera: rate limit must be a whole number from 0 to 1000000 \(requests a minute; 0: no limit\), not '10\/min'$/,
    ],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    const { db, cleanup } = tempDb();
    cleanups.push(cleanup);
    const result = await runCliInProcess(['serve', '--port', '0', ...args], { db });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('refuses a bad value from the environment too', async () => {
    const { db, cleanup } = tempDb();
    cleanups.push(cleanup);
    for (const env of [
      { TESSERA_RATE_LIMIT: 'many' },
      { TESSERA_MAX_CONNECTIONS: '-5' },
      { TESSERA_REQUEST_TIMEOUT: '' },
    ]) {
      const result = await runCliInProcess(['serve', '--port', '0'], { db, env });
      expect(result.status, JSON.stringify(env)).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^tessera: (rate limit|max connections) must be a whole number|^tessera: request timeout must be a duration/,
      );
    }
  });

  it('takes 0 as "off" for the caps and the rate limit', async () => {
    server = await startServer({
      args: ['--max-connections-per-address', '0', '--max-connections', '0', '--rate-limit', '0'],
    });
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});
