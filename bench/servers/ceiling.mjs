// The ceiling: a bare node:http token endpoint that parses the form, checks Basic
// auth, returns 32 random bytes as a token and stores nothing. What a Node token
// endpoint on this machine can do at most. It answers the bench's other calls in the
// same spirit: /api/me checks that a Bearer token is there (and nothing else), and the
// full flow's pages run the same scrypt password check as every other server but keep
// no state, so its full-flow number is the bound that password hashing sets.
import http from 'node:http';
import {
  announce,
  benchConfig,
  csrfFor,
  exitOnSignals,
  formPage,
  makePeople,
  newSecret,
  PAGE_HEADERS,
  parseBasic,
  parseForm,
  readBody,
  secretMatches,
  serveIssueOrders,
  sha256hex,
  verifyPassword,
} from './common.mjs';

const config = benchConfig();
const secretHash = sha256hex(config.clientSecret);
const people = await makePeople(config.users, config.password);
const pageSecret = newSecret();

const TOKEN_HEADERS = {
  'content-type': 'application/json;charset=UTF-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

function json(res, status, body, headers = TOKEN_HEADERS) {
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

async function token(req, res) {
  const form = parseForm(await readBody(req));
  const basic = parseBasic(req.headers.authorization);
  if (!basic || basic.id !== config.clientId || !secretMatches(basic.secret, secretHash)) {
    return json(
      res,
      401,
      { error: 'invalid_client' },
      { ...TOKEN_HEADERS, 'www-authenticate': 'Basic realm="ceiling"' },
    );
  }
  if (form.grant_type !== 'authorization_code' && form.grant_type !== 'refresh_token') {
    return json(res, 400, { error: 'unsupported_grant_type' });
  }
  if (!(form.code || form.refresh_token)) return json(res, 400, { error: 'invalid_request' });
  return json(res, 200, {
    access_token: newSecret(),
    token_type: 'Bearer',
    expires_in: 600,
    refresh_token: newSecret(),
    scope: 'PATIENT',
  });
}

function me(req, res) {
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(req.headers.authorization ?? '');
  if (!match) return json(res, 401, { error: 'invalid_token' }, { ...TOKEN_HEADERS, 'www-authenticate': 'Bearer' });
  return json(res, 200, {
    sub: 'ceiling',
    username: 'ceiling',
    name: 'Ceiling',
    scope: 'PATIENT',
    client_id: config.clientId,
  });
}

// The full flow without state: every step answers as if all were well, except the
// password, which is really checked.
async function fullFlow(req, res, url) {
  if (req.method === 'GET' && url.pathname === '/authorize') {
    // No state is kept: the client's state rides along in the request id (the bench's
    // states are base64url, so they need no escaping).
    const request = `${newSecret()}.${url.searchParams.get('state') ?? ''}`;
    res.writeHead(302, { location: `/login?request=${request}`, 'set-cookie': `b=${newSecret()}; Path=/; HttpOnly` });
    return res.end();
  }
  if (req.method === 'GET' && (url.pathname === '/login' || url.pathname === '/consent')) {
    const request = url.searchParams.get('request') ?? '';
    const isLogin = url.pathname === '/login';
    res.writeHead(200, PAGE_HEADERS);
    return res.end(
      formPage(
        isLogin ? 'Sign in' : 'Allow',
        url.pathname,
        { request, csrf: csrfFor(pageSecret, request, 'b') },
        isLogin ? '<input name="username"><input name="password" type="password">' : '',
      ),
    );
  }
  if (req.method === 'POST' && url.pathname === '/login') {
    const form = parseForm(await readBody(req));
    const person = people.get(form.username ?? '');
    if (!person || !(await verifyPassword(form.password ?? '', person.hash))) {
      res.writeHead(303, { location: `/login?request=${form.request}&error=credentials` });
      return res.end();
    }
    res.writeHead(303, {
      location: `/consent?request=${form.request}`,
      'set-cookie': `s=${newSecret()}; Path=/; HttpOnly`,
    });
    return res.end();
  }
  if (req.method === 'POST' && url.pathname === '/consent') {
    const form = parseForm(await readBody(req));
    const state = String(form.request ?? '').split('.')[1] ?? '';
    res.writeHead(303, { location: `${config.redirectUri}?code=${newSecret()}&state=${state}` });
    return res.end();
  }
  return json(res, 404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const done = (err) => {
    if (!res.headersSent) json(res, err.status ?? 500, { error: 'server_error' });
  };
  if (req.method === 'POST' && url.pathname === '/token') return token(req, res).catch(done);
  if (req.method === 'GET' && url.pathname === '/api/me') return me(req, res);
  return fullFlow(req, res, url).catch(done);
});

// The ceiling keeps nothing, so any value will do as a "code" or "refresh token".
serveIssueOrders(async (flow, n) => {
  const lines = new Array(n);
  for (let i = 0; i < n; i++) lines[i] = flow === 'code' ? `${newSecret()} ${newSecret()}` : newSecret();
  return lines;
});

server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce(server));
exitOnSignals(server);
