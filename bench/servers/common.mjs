// Shared pieces of the peer servers and the ceiling server (bench/servers/*.mjs).
//
// Every server here is started by bench/run.mjs as its own process (pinned with
// `taskset -c 0`), listens on 127.0.0.1 with port 0, prints exactly one line
// `listening on http://127.0.0.1:PORT` on stdout, and takes orders over Node's IPC
// channel: `{ type: 'issue', id, flow, n, file }` asks it to issue `n` one-time
// credentials for `flow` through its own code path and write them, one per line, to
// `file`; it answers `{ type: 'issued', id, n }` (or `{ type: 'failed', id, error }`).
//
// Everything the servers need to agree on with the orchestrator comes in environment
// variables: BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_REDIRECT_URI, BENCH_USERS
// (comma-separated usernames) and BENCH_PASSWORD.
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

export function benchConfig() {
  return {
    clientId: env('BENCH_CLIENT_ID'),
    clientSecret: env('BENCH_CLIENT_SECRET'),
    redirectUri: env('BENCH_REDIRECT_URI'),
    users: env('BENCH_USERS').split(','),
    password: env('BENCH_PASSWORD'),
  };
}

/** The request body as text, refused past 64 KiB like Tessera's. */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** application/x-www-form-urlencoded text as a plain object (last value wins). */
export function parseForm(text) {
  return Object.fromEntries(new URLSearchParams(text));
}

/** RFC 6749 §2.3.1 Basic credentials (form-urlencoded inside the base64), or undefined. */
export function parseBasic(header) {
  if (typeof header !== 'string') return undefined;
  const match = /^basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: dec(decoded.slice(0, colon)), secret: dec(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export function basicHeader(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export function sha256hex(value) {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored SHA-256 hex hash. */
export function secretMatches(secret, hashHex) {
  const a = Buffer.from(sha256hex(secret), 'hex');
  const b = Buffer.from(hashHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newSecret() {
  return randomBytes(32).toString('base64url');
}

export function pkcePair() {
  const verifier = newSecret();
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

// Passwords: the same scrypt parameters as Tessera's src/oauth/passwords.ts (N = 2^15,
// r = 8, p = 1, 32-byte key), so a sign-in costs every server the same.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 256 * 2 ** 15 * 8 + 1024 * 1024 };

function derive(password, salt) {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password) {
  const salt = randomBytes(16);
  return { salt, key: await derive(password, salt) };
}

export async function verifyPassword(password, stored) {
  const key = await derive(password, stored.salt);
  return timingSafeEqual(key, stored.key);
}

/** People for the full flow: username → { id, name, password hash }. Hashing takes ~0.1 s each. */
export async function makePeople(users, password) {
  const people = new Map();
  for (const username of users) {
    people.set(username, {
      id: `id-${username}`,
      username,
      name: `Bench ${username}`,
      hash: await hashPassword(password),
    });
  }
  return people;
}

/** CSRF token for a page form: HMAC of the pending request id and the browser cookie. */
export function csrfFor(secret, requestId, browser) {
  return createHmac('sha256', secret).update(`${requestId}\0${browser}`).digest('base64url');
}

export function csrfMatches(secret, requestId, browser, given) {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(csrfFor(secret, requestId, browser));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function parseCookies(header) {
  const cookies = {};
  if (typeof header !== 'string') return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}

const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => escapes[c]);

/** A minimal HTML form page with hidden inputs (what a browser without JavaScript gets). */
export function formPage(title, action, hidden, fields = '') {
  const inputs = Object.entries(hidden)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>
<h1>${escapeHtml(title)}</h1>
<form method="post" action="${escapeHtml(action)}">
${inputs}
${fields}
<button type="submit">${escapeHtml(title)}</button>
</form></body></html>`;
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Answers the orchestrator's `issue` orders with `issuer(flow, n)`, which returns an
 * array of lines (one credential each). Orders are handled one at a time.
 */
export function serveIssueOrders(issuer) {
  let queue = Promise.resolve();
  process.on('message', (message) => {
    if (!message || message.type !== 'issue') return;
    queue = queue.then(async () => {
      try {
        const lines = await issuer(message.flow, message.n);
        writeFileSync(message.file, lines.join('\n') + '\n');
        process.send({ type: 'issued', id: message.id, n: lines.length });
      } catch (err) {
        process.send({ type: 'failed', id: message.id, error: String(err?.stack ?? err) });
      }
    });
  });
  // The orchestrator going away (IPC closed) ends the server too.
  process.on('disconnect', () => process.exit(0));
}

/** Runs `fn` for i in [0, n) with at most `width` in flight; returns the results in order. */
export async function mapLimit(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

export function announce(server) {
  const { port } = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
}

export function exitOnSignals(server) {
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
