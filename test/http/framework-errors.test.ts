/**
 * The framework's own answers, on a real port: a URL that cannot be decoded, and requests
 * Node's HTTP parser refuses (control bytes, a bad Content-Length, headers over 16 KiB).
 * Each is plain JSON invalid_request with the security headers and `no-store`, like every
 * other answer; the parser cases are written as raw bytes on a socket.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient, testApp, type TestApp } from '../helpers/harness.js';

let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await testApp();
  await addClient(t.store, { id: 'conf', redirectUris: ['https://app.example/cb'] });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await t.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as bytes on a new connection and reads the answer until the server closes it. */
function rawRequest(request: Buffer | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: text.slice(split + 4) });
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

/** A request over HTTP/1.1 that asks the server to close afterwards. */
async function fetchRaw(path: string, init: RequestInit = {}): Promise<RawResponse> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

function expectJsonError(res: RawResponse, status: number, description?: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  const body = JSON.parse(res.body) as { error: string; error_description: string };
  expect(body.error).toBe('invalid_request');
  expect(body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/);
  if (description) expect(body.error_description).toBe(description);
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
}

describe("the framework's answers", () => {
  it.each(['/%zz', '/apiAuthorize.action/%E0%A4%A', '/apiToken.action%zz'])(
    'a path that cannot be percent-decoded (%s): 400 invalid_request',
    async (path) => {
      expectJsonError(await fetchRaw(path), 400, 'The request could not be read');
    },
  );

  it.each([
    ['a control byte in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-Test: a\x01b\r\n\r\n'],
    ['a control byte in the request line', 'GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a NUL byte in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nCookie: a\x00b\r\n\r\n'],
    [
      'a Content-Length that is not a number',
      'POST /apiToken.action HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST /apiToken.action HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    ],
    ['not HTTP at all', 'HELLO\r\n\r\n'],
  ])('%s: 400 invalid_request, and the connection is closed', async (_name, request) => {
    const res = await rawRequest(Buffer.from(request, 'latin1'));
    expectJsonError(res, 400, 'The request could not be read');
    expect(res.headers.connection).toBe('close');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it('headers over 16 KiB: 431 invalid_request', async () => {
    const res = await rawRequest(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    expectJsonError(res, 431, 'The request headers are too large');
    expect(res.headers.connection).toBe('close');
  });

  it('a body over 64 KiB at the token endpoint: 413 invalid_request with the token headers', async () => {
    const res = await fetchRaw('/apiToken.action', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&pad=${'p'.repeat(70 * 1024)}`,
    });
    expectJsonError(res, 413, 'The request could not be read');
    expect(res.headers.pragma).toBe('no-cache');
  });

  it('a body over 64 KiB at the authorization endpoint: a 413 page with the page headers', async () => {
    const res = await fetchRaw('/apiAuthorize.action', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=conf&pad=${'p'.repeat(70 * 1024)}`,
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.body).toContain('<code>invalid_request</code>');
  });

  it('a body over 64 KiB at the resource: 413 invalid_request with a Bearer challenge', async () => {
    const raw = await rawRequest(
      `POST /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${70 * 1024}\r\n\r\n${'p'.repeat(70 * 1024)}`,
    );
    expectJsonError(raw, 413, 'The request could not be read');
    expect(raw.headers['www-authenticate']).toBe(
      'Bearer realm="tessera", error="invalid_request", error_description="The request could not be read"',
    );
  });

  it.each([
    ['a 2xx', '/healthz', 200],
    ['a 404', '/nowhere', 404],
    ['a 405', '/apiToken.action', 405],
  ])('%s carries the security headers too', async (_name, path, status) => {
    const res = await fetchRaw(path);
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('while the server is shutting down', () => {
  it('a request that arrives on an open connection: 503 temporarily_unavailable with our headers', async () => {
    const closing = await testApp();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = () => {};
    const arrived = new Promise<void>((resolve) => {
      started = resolve;
    });
    // A request of the test's own that is still running when closing begins.
    closing.app.get('/test/slow', async () => {
      started();
      await held;
      return { done: true };
    });
    await closing.app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((closing.app.server.address() as AddressInfo).port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // The first request holds the connection open (not idle) while closing begins; the
    // second arrives on it after that.
    socket.write('GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await arrived;
    const closed = closing.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await ended;
    await closed;
    const text = Buffer.concat(chunks).toString('utf8');
    const second = text.slice(text.indexOf('HTTP/1.1', 1));
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(second.startsWith('HTTP/1.1 503')).toBe(true);
    const head = second.slice(0, second.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toContain('content-type: application/json;charset=utf-8');
    expect(head).toContain('cache-control: no-store');
    expect(head).toContain('x-content-type-options: nosniff');
    expect(head).toContain('retry-after: 5');
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'The server is shutting down; please try again shortly',
    });
  });
});
