// @node-oauth/oauth2-server (v5) with an in-memory model, on plain node:http or, with
// `--express`, on Express 5 — the way its README wires it.
//
// Token endpoint: `oauth.token()` (authorization_code with PKCE S256, refresh_token
// with rotation: `alwaysIssueNewRefreshToken` is on by default), the client
// authenticated with client_secret_basic (the model keeps the secret's SHA-256 and
// compares in constant time, as Tessera does). Protected resource: `oauth.authenticate()`
// at GET /api/me. The library has no sign-in or consent pages, so the full flow's pages
// (authorize → sign-in → consent) are a minimal equivalent of Tessera's written here:
// pending requests, sessions and CSRF in memory, the same scrypt password check, and
// `oauth.authorize()` issuing the code once the person allows it.
//
// Pre-issued credentials come from the library's own code path: codes from
// `oauth.authorize()`, refresh and access tokens from `oauth.token()` on such codes.
import http from 'node:http';
import OAuth2Server from '@node-oauth/oauth2-server';
import {
  announce,
  basicHeader,
  benchConfig,
  csrfFor,
  csrfMatches,
  exitOnSignals,
  formPage,
  makePeople,
  mapLimit,
  newSecret,
  PAGE_HEADERS,
  parseCookies,
  parseForm,
  pkcePair,
  readBody,
  secretMatches,
  serveIssueOrders,
  sha256hex,
  verifyPassword,
} from './common.mjs';

const { Request, Response } = OAuth2Server;
const useExpress = process.argv.includes('--express');
const config = benchConfig();
const people = await makePeople(config.users, config.password);
const pageSecret = newSecret();

// ---------------------------------------------------------------------------------
// The in-memory model
// ---------------------------------------------------------------------------------
const client = {
  id: config.clientId,
  secretHash: sha256hex(config.clientSecret),
  redirectUris: [config.redirectUri],
  grants: ['authorization_code', 'refresh_token'],
  accessTokenLifetime: 600,
  refreshTokenLifetime: 30 * 24 * 3600,
};
const codes = new Map();
const accessTokens = new Map();
const refreshTokens = new Map();

const model = {
  async getClient(clientId, clientSecret) {
    if (clientId !== client.id) return null;
    if (clientSecret != null && !secretMatches(clientSecret, client.secretHash)) return null;
    return client;
  },
  async saveAuthorizationCode(code, c, user) {
    const saved = { ...code, client: c, user };
    codes.set(code.authorizationCode, saved);
    return saved;
  },
  async getAuthorizationCode(authorizationCode) {
    return codes.get(authorizationCode) ?? null;
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode);
  },
  async saveToken(token, c, user) {
    const saved = { ...token, client: c, user };
    accessTokens.set(token.accessToken, saved);
    if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return accessTokens.get(accessToken) ?? null;
  },
  async getRefreshToken(refreshToken) {
    return refreshTokens.get(refreshToken) ?? null;
  },
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken);
  },
  async validateScope(_user, _client, scope) {
    return scope && scope.length > 0 ? scope : ['PATIENT'];
  },
  async verifyScope() {
    return true;
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: 600,
  refreshTokenLifetime: 30 * 24 * 3600,
  // Pre-issued codes must outlive the runs they are issued for (Tessera's get the same).
  authorizationCodeLifetime: 600,
});

// ---------------------------------------------------------------------------------
// Endpoints, framework-free: (method, path, query, headers, form) → { status, headers, body }
// ---------------------------------------------------------------------------------
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function oauthReply(response) {
  return {
    status: response.status,
    headers: { ...JSON_HEADERS, ...response.headers },
    body: JSON.stringify(response.body),
  };
}

async function token(headers, form) {
  const request = new Request({ method: 'POST', headers, query: {}, body: form });
  const response = new Response();
  try {
    await oauth.token(request, response);
  } catch {
    // the response carries the OAuth error
  }
  return oauthReply(response);
}

async function me(headers) {
  const request = new Request({ method: 'GET', headers, query: {} });
  const response = new Response();
  try {
    const t = await oauth.authenticate(request, response);
    return {
      status: 200,
      headers: { ...JSON_HEADERS, 'cache-control': 'no-store', ...response.headers },
      body: JSON.stringify({
        sub: t.user.id,
        username: t.user.username,
        name: t.user.name,
        scope: t.scope.join(' '),
        client_id: t.client.id,
      }),
    };
  } catch {
    return { ...oauthReply(response), headers: { ...JSON_HEADERS, 'cache-control': 'no-store', ...response.headers } };
  }
}

// The pages (what the library leaves to the application).
const pending = new Map(); // request id → { query, browser, user }
const sessions = new Map(); // session cookie → user

function page(title, action, hidden, fields) {
  return { status: 200, headers: PAGE_HEADERS, body: formPage(title, action, hidden, fields) };
}
const redirect = (status, location, cookie) => ({
  status,
  headers: cookie ? { location, 'set-cookie': cookie } : { location },
  body: '',
});
const problem = (status, text) => ({ status, headers: PAGE_HEADERS, body: `<!doctype html><p>${text}</p>` });

function loadPending(id, cookies) {
  const p = id && pending.get(id);
  return p && p.browser === cookies.b ? p : undefined;
}

async function pages(method, path, query, headers, form) {
  const cookies = parseCookies(headers.cookie);
  if (method === 'GET' && path === '/authorize') {
    if (query.client_id !== client.id || query.redirect_uri !== config.redirectUri)
      return problem(400, 'unknown client');
    const browser = cookies.b ?? newSecret();
    const id = newSecret();
    pending.set(id, { query, browser, user: undefined, expires: Date.now() + 15 * 60_000 });
    return redirect(
      302,
      `/login?request=${id}`,
      cookies.b ? undefined : `b=${browser}; Path=/; HttpOnly; SameSite=Lax`,
    );
  }
  if (method === 'GET' && path === '/login') {
    const p = loadPending(query.request, cookies);
    if (!p) return problem(400, 'expired');
    return page(
      'Sign in',
      '/login',
      { request: query.request, csrf: csrfFor(pageSecret, query.request, p.browser) },
      '<input name="username"><input name="password" type="password">',
    );
  }
  if (method === 'POST' && path === '/login') {
    const p = loadPending(form.request, cookies);
    if (!p || !csrfMatches(pageSecret, form.request, p.browser, form.csrf)) return problem(403, 'expired');
    const person = people.get(form.username ?? '');
    if (!person || !(await verifyPassword(form.password ?? '', person.hash))) {
      return redirect(303, `/login?request=${form.request}&error=credentials`);
    }
    const session = newSecret();
    sessions.set(session, person);
    p.user = person;
    return redirect(303, `/consent?request=${form.request}`, `s=${session}; Path=/; HttpOnly; SameSite=Lax`);
  }
  if (method === 'GET' && path === '/consent') {
    const p = loadPending(query.request, cookies);
    if (!p || !p.user || sessions.get(cookies.s) !== p.user) return problem(400, 'sign in first');
    return page('Allow', '/consent', { request: query.request, csrf: csrfFor(pageSecret, query.request, p.browser) });
  }
  if (method === 'POST' && path === '/consent') {
    const p = loadPending(form.request, cookies);
    if (!p || !csrfMatches(pageSecret, form.request, p.browser, form.csrf)) return problem(403, 'expired');
    const user = sessions.get(cookies.s);
    if (!user || user !== p.user) return problem(400, 'sign in first');
    pending.delete(form.request);
    const response = new Response();
    await oauth.authorize(new Request({ method: 'GET', headers, query: p.query }), response, {
      authenticateHandler: { handle: () => user },
    });
    return redirect(303, response.headers.location);
  }
  return { status: 404, headers: JSON_HEADERS, body: '{"error":"not_found"}' };
}

// ---------------------------------------------------------------------------------
// Pre-issuing through the library's own authorize() and token()
// ---------------------------------------------------------------------------------
const anyPerson = people.values().next().value;

async function issueCode() {
  const { verifier, challenge } = pkcePair();
  const response = new Response();
  await oauth.authorize(
    new Request({
      method: 'GET',
      headers: {},
      query: {
        response_type: 'code',
        client_id: client.id,
        redirect_uri: config.redirectUri,
        state: 'pre-issued',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    }),
    response,
    { authenticateHandler: { handle: () => anyPerson } },
  );
  const code = new URL(response.headers.location).searchParams.get('code');
  return { code, verifier };
}

async function exchange({ code, verifier }) {
  const body = `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(config.redirectUri)}&code_verifier=${verifier}`;
  const request = new Request({
    method: 'POST',
    headers: {
      authorization: basicHeader(client.id, config.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(body.length),
    },
    query: {},
    body: parseForm(body),
  });
  const response = new Response();
  await oauth.token(request, response);
  return response.body;
}

serveIssueOrders(async (flow, n) =>
  mapLimit(n, 16, async () => {
    const code = await issueCode();
    if (flow === 'code') return `${code.code} ${code.verifier}`;
    const tokens = await exchange(code);
    return flow === 'refresh' ? tokens.refresh_token : tokens.access_token;
  }),
);

// ---------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------
async function handle(method, path, query, headers, form) {
  if (method === 'POST' && path === '/token') return token(headers, form);
  if (method === 'GET' && path === '/api/me') return me(headers);
  return pages(method, path, query, headers, form);
}

let server;
if (useExpress) {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const urlencoded = express.urlencoded({ extended: false, limit: '64kb' });
  const send = (res, r) => res.status(r.status).set(r.headers).send(r.body);
  const route = (req, res, next) =>
    handle(req.method, req.path, req.query, req.headers, req.body ?? {}).then((r) => send(res, r), next);
  app.post('/token', urlencoded, route);
  app.get('/api/me', route);
  app.get(['/authorize', '/login', '/consent'], route);
  app.post(['/login', '/consent'], urlencoded, route);
  server = http.createServer(app);
} else {
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const body = req.method === 'POST' ? readBody(req) : Promise.resolve('');
    body
      .then((text) => handle(req.method, url.pathname, query, req.headers, parseForm(text)))
      .then(
        (r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        },
        (err) => {
          res.writeHead(err.status ?? 500, JSON_HEADERS);
          res.end('{"error":"server_error"}');
        },
      );
  });
}

server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce(server));
exitOnSignals(server);
