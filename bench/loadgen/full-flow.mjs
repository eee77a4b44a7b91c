// The complete browserless flow as load: every autocannon connection is one browser
// (its own cookie jar) that goes authorize → sign-in page → sign-in POST → consent
// page → consent POST → redirect with the code → token exchange, again and again, a
// fresh browser each time. Each step's answer is checked (status, where it redirects,
// the hidden form fields, the state, the token, Cache-Control: no-store on the token);
// a step that fails counts an error and starts a new flow.
//
//   node full-flow.mjs --url http://127.0.0.1:PORT --target tessera|oidc-provider|oauth2-server|ceiling
//                      --duration SECONDS --settle SECONDS --connections 32
//
// Flows finishing in the first --settle seconds are not counted (every browser starts at
// once, so the first seconds are not steady state). Prints one line "BENCH_JSON {...}".
// Client and user settings come from the same BENCH_* environment as the servers.
import { createHash, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const target = args.target;
const duration = Number(args.duration ?? 10);
const settle = Number(args.settle ?? 0);
const connections = Number(args.connections ?? 32);
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const clientId = env('BENCH_CLIENT_ID');
const clientSecret = env('BENCH_CLIENT_SECRET');
const redirectUri = env('BENCH_REDIRECT_URI');
const users = env('BENCH_USERS').split(',');
const password = env('BENCH_PASSWORD');
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

// ---------------------------------------------------------------------------------
// A browser's bits: cookies, redirects, hidden fields
// ---------------------------------------------------------------------------------
function header(headers, name) {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

function keepCookies(ctx, headers) {
  const set = header(headers, 'set-cookie');
  for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
    const [pair, ...attrs] = String(line).split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const gone = value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
    if (gone) delete ctx.jar[name];
    else ctx.jar[name] = value;
  }
}

const cookieHeader = (ctx) =>
  Object.entries(ctx.jar)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** A redirect's target as a path on this server (some servers send absolute URLs). */
function locationPath(headers) {
  const loc = header(headers, 'location');
  if (!loc) return undefined;
  const url = new URL(loc, 'http://server.invalid');
  return { path: url.pathname + url.search, url: loc };
}

function hidden(body, name) {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(body)?.[1];
}

function decodeHtml(s) {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

const form = (values) => new URLSearchParams(values).toString();

// ---------------------------------------------------------------------------------
// The steps of each server's flow. A step builds its request from the browser's context
// and checks the answer: it returns an error string, or nothing when all is well.
// ---------------------------------------------------------------------------------
let nextUser = 0;

function startFlow(ctx) {
  ctx.jar = {};
  ctx.t0 = performance.now();
  ctx.state = randomBytes(12).toString('base64url');
  ctx.verifier = randomBytes(32).toString('base64url');
  ctx.challenge = createHash('sha256').update(ctx.verifier).digest('base64url');
  // Each browser signs in as its own one of the people, round robin: the sign-in throttle
  // (per username and address, counted before the password is checked) would slow one
  // person signing in from many browsers of one address at once, as it should.
  ctx.user ??= users[nextUser++ % users.length];
}

const isRedirect = (s) => s === 302 || s === 303;

function authorizeStep(path, extra = {}) {
  return {
    name: 'authorize',
    build: (ctx) => {
      startFlow(ctx);
      const query = form({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        state: ctx.state,
        code_challenge: ctx.challenge,
        code_challenge_method: 'S256',
        ...extra,
      });
      return { method: 'GET', path: `${path}?${query}` };
    },
    check: (status, headers, _body, ctx) => {
      const loc = locationPath(headers);
      if (!isRedirect(status) || !loc) return `authorize: ${status}`;
      ctx.next = loc.path;
    },
  };
}

/** GET the page the last redirect named; keep its hidden fields. */
function pageStep(name, fields = ['request', 'csrf']) {
  return {
    name,
    build: (ctx) => ({ method: 'GET', path: ctx.next }),
    check: (status, _headers, body, ctx) => {
      if (status !== 200) return `${name}: ${status}`;
      for (const f of fields) {
        const v = hidden(body, f);
        if (v === undefined) return `${name}: no hidden ${f}`;
        ctx[f] = decodeHtml(v);
      }
      ctx.action = decodeHtml(/<form[^>]* action="([^"]*)"/.exec(body)?.[1] ?? '');
    },
  };
}

/** POST a form to the page's action (or `path`); expect a redirect whose path starts with `expect`. */
function postStep(name, values, expect, path) {
  return {
    name,
    build: (ctx) => ({
      method: 'POST',
      path: path ?? ctx.action,
      headers: { 'content-type': FORM },
      body: form(values(ctx)),
    }),
    check: (status, headers, _body, ctx) => {
      const loc = locationPath(headers);
      if (!isRedirect(status) || !loc) return `${name}: ${status}`;
      if (expect && !loc.url.startsWith(expect) && !loc.path.startsWith(expect))
        return `${name}: went to ${loc.url.slice(0, 80)}`;
      ctx.next = loc.path;
      ctx.location = loc.url;
    },
  };
}

/** GET a redirect target on the server (oidc-provider's resume steps). */
function followStep(name, expect) {
  return {
    name,
    build: (ctx) => ({ method: 'GET', path: ctx.next }),
    check: (status, headers, _body, ctx) => {
      const loc = locationPath(headers);
      if (!isRedirect(status) || !loc) return `${name}: ${status}`;
      if (expect && !loc.url.startsWith(expect) && !loc.path.startsWith(expect))
        return `${name}: went to ${loc.url.slice(0, 80)}`;
      ctx.next = loc.path;
      ctx.location = loc.url;
    },
  };
}

/** The redirect back to the client must carry a code and our state. */
function codeFrom(ctx) {
  if (!ctx.location?.startsWith(`${redirectUri}?`)) return 'no redirect to the client';
  const params = new URL(ctx.location).searchParams;
  if (params.get('state') !== ctx.state) return 'state not echoed';
  ctx.code = params.get('code');
  if (!ctx.code) return 'no code';
}

function tokenStep(path) {
  return {
    name: 'token',
    build: (ctx) => ({
      method: 'POST',
      path,
      headers: { 'content-type': FORM, authorization: basic },
      body: form({
        grant_type: 'authorization_code',
        code: ctx.code,
        redirect_uri: redirectUri,
        code_verifier: ctx.verifier,
      }),
    }),
    check: (status, headers, body) => {
      if (status !== 200) return `token: ${status} ${String(body).slice(0, 120)}`;
      if (!/"access_token":"[^"]+"/.test(body)) return 'token: no access_token';
      if (!/no-store/.test(String(header(headers, 'cache-control')))) return 'token: no Cache-Control: no-store';
      return undefined;
    },
    final: true,
  };
}

function withCode(step) {
  return { ...step, check: (...a) => step.check(...a) ?? codeFrom(a[3]) };
}

/** Tessera, oauth2-server's pages and the ceiling share one shape; only paths differ. */
function sixSteps(paths) {
  return [
    authorizeStep(paths.authorize),
    pageStep('sign-in page'),
    postStep('sign-in', (ctx) => ({ request: ctx.request, csrf: ctx.csrf, username: ctx.user, password }), '/consent'),
    pageStep('consent page'),
    withCode(postStep('consent', (ctx) => ({ request: ctx.request, csrf: ctx.csrf, decision: 'allow' }), redirectUri)),
    tokenStep(paths.token),
  ];
}

const flows = {
  tessera: () => sixSteps({ authorize: '/apiAuthorize.action', token: '/apiToken.action' }),
  'oauth2-server': () => sixSteps({ authorize: '/authorize', token: '/token' }),
  ceiling: () => sixSteps({ authorize: '/authorize', token: '/token' }),
  'oidc-provider': () => [
    authorizeStep('/auth', { scope: 'api' }),
    pageStep('sign-in page', []),
    postStep('sign-in', (ctx) => ({ username: ctx.user, password }), undefined),
    followStep('resume after sign-in', undefined),
    pageStep('consent page', []),
    postStep('consent', () => ({}), undefined),
    withCode(followStep('resume after consent', redirectUri)),
    tokenStep('/token'),
  ],
};

// ---------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------
const steps = flows[target]?.();
if (!steps) throw new Error(`unknown --target ${target}`);

const stats = { flows: 0, errors: 0, byStep: {}, sample: '' };
const latencies = [];
const started = performance.now();

const requests = steps.map((step, index) => ({
  setupRequest: (req, ctx) => {
    if (index > 0 && ctx.failed) return undefined; // autocannon then starts the sequence again
    if (index === 0) ctx.failed = false;
    const built = step.build(ctx);
    const headers = { ...(built.headers ?? {}) };
    const cookies = cookieHeader(ctx);
    if (cookies) headers.cookie = cookies;
    return { ...req, method: built.method, path: built.path, headers, body: built.body };
  },
  onResponse: (status, body, ctx, headers) => {
    if (ctx.failed) return;
    keepCookies(ctx, headers);
    const error = step.check(status, headers, body ?? '', ctx);
    if (error) {
      ctx.failed = true;
      stats.errors += 1;
      stats.byStep[step.name] = (stats.byStep[step.name] ?? 0) + 1;
      if (!stats.sample) stats.sample = error;
      return;
    }
    if (step.final && (performance.now() - started) / 1000 >= settle) {
      stats.flows += 1;
      latencies.push(performance.now() - ctx.t0);
    }
  },
}));

const result = await autocannon({
  url: args.url,
  connections,
  duration: settle + duration,
  timeout: 30,
  requests,
});

latencies.sort((a, b) => a - b);
const pct = (p) =>
  latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0;
const measured = Math.max(0.001, (performance.now() - started) / 1000 - settle);
process.stdout.write(
  `BENCH_JSON ${JSON.stringify({
    flows: stats.flows,
    seconds: measured,
    flows_per_s: stats.flows / measured,
    p50_ms: pct(50),
    p99_ms: pct(99),
    errors: stats.errors,
    errors_by_step: stats.byStep,
    sample: stats.sample,
    http_requests: result.requests.total,
    timeouts: result.timeouts,
    socket_errors: result.errors,
  })}\n`,
);
