/**
 * GET /demo … — the built-in demo client (only with --demo). It behaves as a separate
 * client application that happens to live on the same server: it uses only Tessera's
 * public OAuth surface, and its token requests and API calls are real HTTP requests
 * through the app (`inject`) so that the exact request and response can be shown.
 *
 *   GET  /demo           what will happen, who can sign in, choose a scope
 *   GET  /demo/start     step 1: state + PKCE, the authorization URL explained
 *   GET  /demo/callback  step 2: the redirect back, state (and iss) checked
 *   POST /demo/exchange  step 3: authorization_code grant at /apiToken.action
 *   POST /demo/call      step 4: GET /api/v1/me with the bearer token
 *   POST /demo/refresh   step 5: refresh_token grant, tokens rotated
 *   POST /demo/introspect beside step 4: the demo's API asks Tessera about the token
 *                        (RFC 7662), as an API that receives an opaque token does
 *   POST /demo/userinfo  "Sign in with Tessera": the UserInfo endpoint with the token
 *   GET  /demo/signed-out where Tessera's logout sends the browser back (state checked)
 *
 * "Sign in with Tessera" (OpenID Connect) is the same walk with `openid profile email`
 * added to the scope and a nonce: the token response then carries an ID token, whose
 * header and claims are shown, and a "Sign out" link goes through Tessera's logout
 * (RP-Initiated Logout 1.0) with the ID token as `id_token_hint` and back to the demo.
 *
 * The person picks the access-token format: the demo app `tessera-demo` gets opaque
 * tokens, its twin `tessera-demo-jwt` RFC 9068 JWTs, whose header and claims are shown.
 * The demo's own state (state, code_verifier, tokens, a CSRF value) lives in a signed,
 * HttpOnly, SameSite=Lax cookie on /demo — the client's "session", nothing on the server.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { firstRepeated } from '../oauth/params.js';
import { parseRole, ROLE_LABELS, ROLES, rolesIn, type Role } from '../oauth/role-scope.js';
import type { ClientRecord, PersonRecord } from '../store/store.js';
import {
  DEMO_API_CLIENT_ID,
  DEMO_CLIENT_ID,
  DEMO_JWT_CLIENT_ID,
  DEMO_OPENID_SCOPES,
  DEMO_PASSWORD,
  DEMO_PEOPLE,
  demoApiSecret,
  demoRedirectUris,
} from './fixtures.js';
import type { RouteContext } from '../http/context.js';
import { issuerFor } from '../http/issuer.js';
import { sendPage, sendPageFailure } from '../http/replies.js';
import { formParams, queryParams } from '../http/request-params.js';
import {
  demoCallbackPage,
  demoCallPage,
  demoExchangePage,
  demoIntroPage,
  demoIntrospectPage,
  demoRefreshPage,
  demoSignedOutPage,
  demoStartOverPage,
  demoStartPage,
  demoUnavailablePage,
  demoUserInfoPage,
  type DemoCallbackView,
  type DecodedJwt,
  type ParamRow,
  type ShownRequest,
  type ShownResponse,
} from './views.js';

/** A value the demo app (a client, not Tessera) makes for its state, PKCE verifier and form token. */
function clientRandom(): string {
  return randomBytes(32).toString('base64url');
}

export const DEMO_COOKIE = 'tessera_demo';
const DEMO_COOKIE_PATH = '/demo';
/** The demo's session lasts an hour; then the person starts over. */
const DEMO_COOKIE_MAX_AGE = 3600;
const TOKEN_PATH = '/apiToken.action';
const AUTHORIZE_PATH = '/apiAuthorize.action';
const RESOURCE_PATH = '/api/v1/me';
const INTROSPECTION_PATH = '/oauth2/introspect';
const USERINFO_PATH = '/oauth2/userinfo';
const LOGOUT_PATH = '/oauth2/logout';
/** Opaque tokens are 43 characters and JWTs well under 2 KiB; anything longer is not kept. */
const MAX_TOKEN_LENGTH = 2048;

/** What the demo app remembers between steps, in its signed cookie. */
interface DemoSession {
  /** Random; every demo form carries it and it is compared in constant time. */
  csrf: string;
  state: string;
  verifier: string;
  scope?: Role;
  /** The app with JWT access tokens (`tessera-demo-jwt`) rather than opaque ones. */
  jwt?: true;
  accessToken?: string;
  refreshToken?: string;
  /** "Sign in with Tessera": the nonce sent, which the ID token must carry back. */
  nonce?: string;
  /** The last ID token, sent back to Tessera as `id_token_hint` on sign-out. */
  idToken?: string;
}

const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;

function isShortString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_TOKEN_LENGTH;
}

function encodeSession(s: DemoSession): string {
  return Buffer.from(JSON.stringify(s), 'utf8').toString('base64url');
}

function decodeSession(value: string): DemoSession | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const o = parsed as Record<string, unknown>;
  if (typeof o.csrf !== 'string' || !BASE64URL_43.test(o.csrf)) return undefined;
  if (typeof o.state !== 'string' || !BASE64URL_43.test(o.state)) return undefined;
  if (typeof o.verifier !== 'string' || !BASE64URL_43.test(o.verifier)) return undefined;
  const session: DemoSession = { csrf: o.csrf, state: o.state, verifier: o.verifier };
  if (o.scope !== undefined) {
    const role = typeof o.scope === 'string' ? parseRole(o.scope) : undefined;
    if (!role) return undefined;
    session.scope = role;
  }
  if (o.jwt !== undefined) {
    if (o.jwt !== true) return undefined;
    session.jwt = true;
  }
  if (o.accessToken !== undefined) {
    if (!isShortString(o.accessToken)) return undefined;
    session.accessToken = o.accessToken;
  }
  if (o.refreshToken !== undefined) {
    if (!isShortString(o.refreshToken)) return undefined;
    session.refreshToken = o.refreshToken;
  }
  if (o.nonce !== undefined) {
    if (typeof o.nonce !== 'string' || !BASE64URL_43.test(o.nonce)) return undefined;
    session.nonce = o.nonce;
  }
  if (o.idToken !== undefined) {
    if (!isShortString(o.idToken)) return undefined;
    session.idToken = o.idToken;
  }
  return session;
}

/** The demo cookie's session, or undefined when it is missing, unsigned, tampered or malformed. */
function readSession(request: FastifyRequest): DemoSession | undefined {
  const raw = request.cookies[DEMO_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid) return undefined;
  return decodeSession(unsigned.value);
}

function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function pkceChallenge(verifier: string): string {
  return hash('sha256', verifier, 'base64url');
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function headerPairs(headers: Record<string, string | string[] | number | undefined>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, String(one)]);
  }
  return pairs;
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** A JWT's header and claims, pretty-printed, or undefined for an opaque token (jose decodes; nothing is verified here). */
function decodedJwt(token: string): DecodedJwt | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    return {
      header: JSON.stringify(decodeProtectedHeader(token), null, 2),
      claims: JSON.stringify(decodeJwt(token), null, 2),
    };
  } catch {
    return undefined;
  }
}

/** The ID token's header and claims, and whether it carries back the nonce this session sent. */
function decodedIdToken(
  token: unknown,
  nonce: string | undefined,
): (DecodedJwt & { nonceMatches: boolean }) | undefined {
  const decoded = isShortString(token) ? decodedJwt(token) : undefined;
  if (!decoded) return undefined;
  const claims = decodeJwt(token as string);
  return { ...decoded, nonceMatches: nonce !== undefined && sameSecret(String(claims.nonce ?? ''), nonce) };
}

/** Which demo app a session uses. */
function clientIdOf(session: Pick<DemoSession, 'jwt'>): string {
  return session.jwt ? DEMO_JWT_CLIENT_ID : DEMO_CLIENT_ID;
}

interface Call {
  request: ShownRequest;
  response: ShownResponse;
  json: Record<string, unknown> | undefined;
}

export const demoRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const { config, store } = ctx;
  // A failure no step answered (the database unreachable) is a page, never JSON.
  app.setErrorHandler(sendPageFailure);
  // Read on each use: with `serve --port 0` the issuer is completed after registration.
  /**
   * Where the person opened the demo: its own address when that is one the demo client is
   * registered for (localhost or 127.0.0.1), else the issuer. The whole walk stays on
   * that address, so the demo's cookie is always sent back.
   */
  const origin = (request: FastifyRequest) => {
    const own = `${request.protocol}://${request.host}`;
    return demoRedirectUris(config.issuer).includes(`${own}/demo/callback`) ? own : config.issuer;
  };
  const redirectUri = (request: FastifyRequest) => `${origin(request)}/demo/callback`;
  const cookieOptions = {
    path: DEMO_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: ctx.cookies.secure,
    signed: true,
    maxAge: DEMO_COOKIE_MAX_AGE,
  };

  function saveSession(reply: FastifyReply, session: DemoSession): void {
    reply.setCookie(DEMO_COOKIE, encodeSession(session), cookieOptions);
  }

  /** A demo app, when it is registered, enabled and registered for this issuer. */
  async function demoClient(
    request: FastifyRequest,
    reply: FastifyReply,
    id = DEMO_CLIENT_ID,
  ): Promise<ClientRecord | undefined> {
    const client = await store.getClient(id);
    if (client && client.disabledAt === null && client.redirectUris.includes(redirectUri(request))) return client;
    sendPage(
      reply,
      503,
      demoUnavailablePage({
        title: 'The demo app is not set up',
        message: client
          ? `The demo app ${id} is disabled or not registered for ${redirectUri(request)}.`
          : `There is no demo app (${id}) in this server's database.`,
      }),
    );
    return undefined;
  }

  function startOver(reply: FastifyReply, title: string, message: string): FastifyReply {
    return sendPage(reply, 400, demoStartOverPage({ title, message, demoUrl: '/demo' }));
  }

  /**
   * The session of a demo form post, after the CSRF check; undefined (after answering with
   * a friendly 400 page) when the cookie is missing or invalid or the token does not match.
   */
  function postedSession(request: FastifyRequest, reply: FastifyReply): DemoSession | undefined {
    const session = readSession(request);
    if (!session) {
      startOver(
        reply,
        'Please start over',
        'The demo could not find where you were in the flow: its cookie is missing, has expired, or was changed.',
      );
      return undefined;
    }
    const form = formParams(request);
    const given = form?.get('csrf');
    if (!given || given.length !== 1 || !sameSecret(given[0], session.csrf)) {
      startOver(
        reply,
        'This form was refused',
        'This form did not come from the demo page you were on (its CSRF token is missing or wrong), so the demo did nothing. That protects you from other sites posting forms in your name.',
      );
      return undefined;
    }
    return session;
  }

  /** postedSession, when it holds an access token; otherwise the person is asked to exchange a code first. */
  function sessionWithToken(
    request: FastifyRequest,
    reply: FastifyReply,
    before: string,
  ): (DemoSession & { accessToken: string }) | undefined {
    const session = postedSession(request, reply);
    if (!session) return undefined;
    if (session.accessToken === undefined) {
      startOver(reply, 'There is no access token yet', `Exchange a code for tokens (step 3) before ${before}.`);
      return undefined;
    }
    return session as DemoSession & { accessToken: string };
  }

  /** A real HTTP request through the app, as a separate client would make it. */
  async function send(
    request: FastifyRequest,
    method: 'GET' | 'POST',
    path: string,
    extraHeaders: [string, string][],
    body?: string,
    /** Headers sent as given but shown masked (the demo API's own credentials). */
    masked: [string, string][] = [],
  ): Promise<Call> {
    const headers: [string, string][] = [
      ['Host', new URL(origin(request)).host],
      ['User-Agent', 'tessera-demo'],
      ['Accept', 'application/json'],
      ...extraHeaders,
    ];
    if (body !== undefined) {
      headers.push(
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', String(Buffer.byteLength(body))],
      );
    }
    const res = await request.server.inject({
      method,
      url: path,
      headers: Object.fromEntries([...headers, ...masked].map(([k, v]) => [k.toLowerCase(), v])),
      ...(body !== undefined && { payload: body }),
    });
    const shown: [string, string][] = [
      ...headers,
      ...masked.map(([k, v]): [string, string] => [k, `${v.split(' ')[0]} ••••••••`]),
    ];
    return {
      request: { method, path, headers: shown, ...(body !== undefined && { body }) },
      response: {
        status: res.statusCode,
        statusText: res.statusMessage || STATUS_CODES[res.statusCode] || '',
        headers: headerPairs(res.headers),
        body: prettyBody(res.body),
      },
      json: parseJson(res.body),
    };
  }

  /**
   * Tessera's logout (RP-Initiated Logout 1.0 §2) for this session: the ID token as
   * `id_token_hint` when there is one (else `client_id`), and the demo's registered
   * post-logout URI with the session's state.
   */
  function signOutUrl(request: FastifyRequest, session: DemoSession, idToken: unknown): string {
    const query = new URLSearchParams({
      ...(isShortString(idToken) ? { id_token_hint: idToken } : { client_id: clientIdOf(session) }),
      // Registered for every address origin() answers (fixtures.ts: demoPostLogoutUris).
      post_logout_redirect_uri: `${origin(request)}/demo/signed-out`,
      state: session.state,
    });
    return `${origin(request)}${LOGOUT_PATH}?${query.toString()}`;
  }

  function errorOf(json: Record<string, unknown> | undefined): { error?: string; errorDescription?: string } {
    return {
      ...(typeof json?.error === 'string' && { error: json.error }),
      ...(typeof json?.error_description === 'string' && { errorDescription: json.error_description }),
    };
  }

  // ------------------------------------------------------------ the introduction

  app.get('/demo', async (request, reply) => {
    const client = await demoClient(request, reply);
    if (!client) return reply;
    // Only the seeded demo people: a server with real accounts must not list them.
    const people = (await Promise.all(DEMO_PEOPLE.map((d) => store.getPersonByUsername(d.username)))).filter(
      (p): p is PersonRecord => p !== undefined && p.demo === true && p.disabledAt === null,
    );
    return sendPage(
      reply,
      200,
      demoIntroPage({
        clientId: client.id,
        clientName: client.name,
        redirectUri: redirectUri(request),
        people: people.map((p) => ({
          username: p.username,
          name: p.displayName,
          roles: rolesIn(p.roles).map((r) => ROLE_LABELS[r]),
        })),
        password: DEMO_PASSWORD,
        scopes: [
          { value: '', label: 'No scope: pick the role on the consent page' },
          ...rolesIn(client.scopes).map((r) => ({ value: r, label: `${r} (${ROLE_LABELS[r]})` })),
        ],
        codeLifetime: config.lifetimes.code,
        accessTokenLifetime: config.lifetimes.accessToken,
        jwtClientId: DEMO_JWT_CLIENT_ID,
      }),
    );
  });

  // ------------------------------------------------------------ step 1

  app.get('/demo/start', async (request, reply) => {
    const query = queryParams(request);
    const formats = query.get('format') ?? [];
    if (formats.length > 1 || !['', 'opaque', 'jwt'].includes(formats[0] ?? '')) {
      return startOver(reply, 'Choose one token format', 'The access token format must be opaque or jwt.');
    }
    const jwt = formats[0] === 'jwt';
    const client = await demoClient(request, reply, jwt ? DEMO_JWT_CLIENT_ID : DEMO_CLIENT_ID);
    if (!client) return reply;
    const scopes = query.get('scope') ?? [];
    if (scopes.length > 1)
      return startOver(reply, 'Choose one scope', 'Choose one of the scopes offered on the demo page.');
    const wanted = scopes[0] ?? '';
    const scope = wanted === '' ? undefined : parseRole(wanted);
    if (wanted !== '' && !scope) {
      return startOver(reply, 'Choose one scope', `The scope must be one of ${ROLES.join(', ')}, or none.`);
    }

    const oidcValues = query.get('oidc') ?? [];
    if (oidcValues.length > 1 || !['', 'on'].includes(oidcValues[0] ?? '')) {
      return startOver(reply, 'Sign in with Tessera', 'Tick the box to sign in with Tessera, or leave it empty.');
    }
    const oidc = oidcValues[0] === 'on';

    const session: DemoSession = {
      csrf: clientRandom(),
      state: clientRandom(),
      verifier: clientRandom(),
      ...(scope && { scope }),
      ...(jwt && { jwt }),
      ...(oidc && { nonce: clientRandom() }),
    };
    const scopeValue = [...(scope ? [scope] : []), ...(oidc ? DEMO_OPENID_SCOPES : [])].join(' ');
    saveSession(reply, session);

    const challenge = pkceChallenge(session.verifier);
    const params: [string, string][] = [
      ['response_type', 'code'],
      ['client_id', client.id],
      ['redirect_uri', redirectUri(request)],
      ...(scopeValue ? [['scope', scopeValue] as [string, string]] : []),
      ['state', session.state],
      ...(session.nonce ? [['nonce', session.nonce] as [string, string]] : []),
      ['code_challenge', challenge],
      ['code_challenge_method', 'S256'],
    ];
    const meanings: Record<string, string> = {
      response_type:
        'The app wants an authorization code (the authorization code grant), not a token in the address bar.',
      client_id: `Which app is asking: ${client.name}. It is a public client, so it has no secret to prove who it is.`,
      redirect_uri:
        'Where Tessera sends the browser back. It must be exactly one of the addresses registered for the app.',
      scope: oidc
        ? `${scope ? `The role the app asks for (${ROLE_LABELS[scope]}), and ` : ''}openid: "Sign in with Tessera" (OpenID Connect) — the app wants to know who you are, as an ID token; profile and email: your name and e-mail address.`
        : `The role the app asks for (${scope ? ROLE_LABELS[scope] : ''}). Only someone holding it can say yes, and the token will carry it.`,
      nonce:
        'A random value the app keeps. Tessera puts it in the ID token, so the app can tell the ID token was made for this very sign-in, not replayed from another.',
      state:
        'A random value the app keeps. Tessera sends it back unchanged; if it does not match, the answer was not for this browser (CSRF protection).',
      code_challenge:
        'PKCE: the SHA-256 of a random secret, the code_verifier, which the app keeps to itself until step 3. A stolen code is useless without it.',
      code_challenge_method:
        'How the challenge was made from the verifier: S256 (SHA-256). Tessera accepts no weaker method.',
    };
    const authorizationUrl = `${origin(request)}${AUTHORIZE_PATH}?${new URLSearchParams(params).toString()}`;
    return sendPage(
      reply,
      200,
      demoStartPage({
        authorizationUrl,
        params: params.map(([name, value]) => ({ name, value, meaning: meanings[name] ?? '' })),
        hasScope: scope !== undefined,
      }),
    );
  });

  // ------------------------------------------------------------ step 2

  app.get('/demo/callback', async (request, reply) => {
    const session = readSession(request);
    if (!session) {
      return startOver(
        reply,
        'Please start over',
        'Tessera sent you back to the demo, but the demo cannot tell which request this answers: its cookie is missing, has expired, or was changed.',
      );
    }
    const query = queryParams(request);
    const value = (name: string) => query.get(name)?.[0];
    const meanings: Record<string, string> = {
      code: 'The authorization code: single-use, short-lived, bound to this app, its redirect URI and the PKCE challenge.',
      state: 'Must be exactly the state the app sent in step 1.',
      iss: 'Which authorization server answered (RFC 9207); the app checks it is the one it sent you to.',
      error: 'Why there is no code.',
      error_description: 'A human-readable explanation from Tessera.',
      error_uri: 'A page about the error.',
    };
    const params: ParamRow[] = [...query].map(([name, values]) => ({
      name,
      value: values.join(', '),
      meaning: meanings[name] ?? 'Not a parameter the app expects; it is ignored.',
    }));
    const view = (outcome: DemoCallbackView['outcome']): DemoCallbackView => ({
      receivedUrl: `${origin(request)}${request.url}`,
      params,
      outcome,
    });

    const repeated = firstRepeated(query);
    if (repeated) {
      return sendPage(
        reply,
        400,
        demoCallbackPage(view({ kind: 'malformed', reason: `The ${repeated} parameter came more than once.` })),
      );
    }
    if (!sameSecret(value('state'), session.state)) {
      return sendPage(reply, 400, demoCallbackPage(view({ kind: 'state-mismatch' })));
    }
    const iss = value('iss');
    if (iss !== undefined && iss !== issuerFor(ctx, request)) {
      return sendPage(
        reply,
        400,
        demoCallbackPage(view({ kind: 'issuer-mismatch', expected: issuerFor(ctx, request) })),
      );
    }
    const error = value('error');
    if (error !== undefined) {
      const description = value('error_description');
      return sendPage(
        reply,
        200,
        demoCallbackPage(view({ kind: 'error', error, ...(description !== undefined && { description }) })),
      );
    }
    const code = value('code');
    if (!code) {
      return sendPage(
        reply,
        400,
        demoCallbackPage(view({ kind: 'malformed', reason: 'It has neither a code nor an error.' })),
      );
    }
    return sendPage(
      reply,
      200,
      demoCallbackPage(view({ kind: 'code', code, csrf: session.csrf, codeLifetime: config.lifetimes.code })),
    );
  });

  // ------------------------------------------------------------ step 3

  app.post('/demo/exchange', async (request, reply) => {
    const session = postedSession(request, reply);
    if (!session) return reply;
    const code = formParams(request)?.get('code');
    if (!code || code.length !== 1 || !code[0]) {
      return startOver(
        reply,
        'There is no code to exchange',
        'Go through steps 1 and 2 first: the exchange needs the code Tessera sent back.',
      );
    }
    const form = {
      grant_type: 'authorization_code',
      code: code[0],
      redirect_uri: redirectUri(request),
      client_id: clientIdOf(session),
      code_verifier: session.verifier,
    };
    const call = await send(request, 'POST', TOKEN_PATH, [], new URLSearchParams(form).toString());
    const json = call.json;
    const ok = call.response.status === 200 && isShortString(json?.access_token);
    const idToken = ok ? decodedIdToken(json?.id_token, session.nonce) : undefined;
    if (ok) {
      const { accessToken: _a, refreshToken: _r, idToken: _i, ...rest } = session;
      saveSession(reply, {
        ...rest,
        accessToken: json?.access_token as string,
        ...(isShortString(json?.refresh_token) && { refreshToken: json.refresh_token }),
        ...(idToken && { idToken: json?.id_token as string }),
      });
    }
    return sendPage(
      reply,
      200,
      demoExchangePage({
        request: call.request,
        response: call.response,
        params: [
          { name: 'grant_type', value: form.grant_type, meaning: 'Swap an authorization code for tokens.' },
          { name: 'code', value: form.code, meaning: 'The code from step 2. It works once.', secret: true },
          {
            name: 'redirect_uri',
            value: form.redirect_uri,
            meaning: 'Must be the same as in step 1: the code is bound to it.',
          },
          {
            name: 'client_id',
            value: form.client_id,
            meaning: 'A public client names itself; it has no secret to send.',
          },
          {
            name: 'code_verifier',
            value: form.code_verifier,
            meaning: 'The PKCE secret from step 1, revealed only now. Its SHA-256 must equal the code_challenge.',
            secret: true,
          },
        ],
        ok,
        ...errorOf(json),
        ...(ok && { csrf: session.csrf }),
        accessTokenLifetime: config.lifetimes.accessToken,
        ...(ok && { jwt: decodedJwt(json?.access_token as string) }),
        ...(idToken && { idToken }),
        ...(ok && session.nonce !== undefined && { signOutUrl: signOutUrl(request, session, json?.id_token) }),
      }),
    );
  });

  // ------------------------------------------------------------ step 4

  app.post('/demo/call', async (request, reply) => {
    const session = sessionWithToken(request, reply, 'calling the API');
    if (!session) return reply;
    const call = await send(request, 'GET', RESOURCE_PATH, [['Authorization', `Bearer ${session.accessToken}`]]);
    const ok = call.response.status === 200 && typeof call.json?.username === 'string';
    return sendPage(
      reply,
      200,
      demoCallPage({
        request: call.request,
        response: call.response,
        params: [],
        ok,
        ...errorOf(call.json),
        ...(session.refreshToken !== undefined && { csrf: session.csrf }),
      }),
    );
  });

  // ------------------------------------------------------------ step 5

  app.post('/demo/refresh', async (request, reply) => {
    const session = postedSession(request, reply);
    if (!session) return reply;
    if (!session.refreshToken) {
      return startOver(
        reply,
        'There is no refresh token yet',
        'Exchange a code for tokens (step 3) before refreshing.',
      );
    }
    const form = { grant_type: 'refresh_token', refresh_token: session.refreshToken, client_id: clientIdOf(session) };
    const call = await send(request, 'POST', TOKEN_PATH, [], new URLSearchParams(form).toString());
    const json = call.json;
    const ok = call.response.status === 200 && isShortString(json?.access_token);
    const newRefreshToken = ok && isShortString(json?.refresh_token) ? json.refresh_token : undefined;
    if (ok) {
      const { accessToken: _a, refreshToken: _r, ...rest } = session;
      saveSession(reply, {
        ...rest,
        accessToken: json?.access_token as string,
        ...(newRefreshToken !== undefined && { refreshToken: newRefreshToken }),
      });
    }
    return sendPage(
      reply,
      200,
      demoRefreshPage({
        request: call.request,
        response: call.response,
        params: [
          { name: 'grant_type', value: form.grant_type, meaning: 'Swap a refresh token for new tokens.' },
          {
            name: 'refresh_token',
            value: form.refresh_token,
            meaning: 'The refresh token from the last exchange. It works once.',
            secret: true,
          },
          { name: 'client_id', value: form.client_id, meaning: 'The same public client the tokens were issued to.' },
        ],
        ok,
        ...errorOf(json),
        ...(ok && newRefreshToken !== undefined && { csrf: session.csrf }),
        oldRefreshToken: session.refreshToken,
        ...(newRefreshToken !== undefined && { newRefreshToken }),
        ...(ok && { jwt: decodedJwt(json?.access_token as string) }),
      }),
    );
  });

  // ------------------------------------------------------------ beside step 4: introspection

  app.post('/demo/introspect', async (request, reply) => {
    const session = sessionWithToken(request, reply, 'asking Tessera about the token');
    if (!session) return reply;
    const api = await store.getClient(DEMO_API_CLIENT_ID);
    if (!api || api.disabledAt !== null) {
      return sendPage(
        reply,
        503,
        demoUnavailablePage({
          title: 'The demo API is not set up',
          message: `There is no enabled demo API (${DEMO_API_CLIENT_ID}) in this server's database.`,
        }),
      );
    }
    const credentials = Buffer.from(`${DEMO_API_CLIENT_ID}:${demoApiSecret(config.secret)}`).toString('base64');
    const form = { token: session.accessToken, token_type_hint: 'access_token' };
    const call = await send(request, 'POST', INTROSPECTION_PATH, [], new URLSearchParams(form).toString(), [
      ['Authorization', `Basic ${credentials}`],
    ]);
    const ok = call.response.status === 200 && typeof call.json?.active === 'boolean';
    return sendPage(
      reply,
      200,
      demoIntrospectPage({
        request: call.request,
        response: call.response,
        params: [
          { name: 'token', value: form.token, meaning: 'The access token the API received.', secret: true },
          {
            name: 'token_type_hint',
            value: form.token_type_hint,
            meaning: 'What kind of token it is; Tessera looks for access tokens first.',
          },
        ],
        ok,
        active: call.json?.active === true,
        ...errorOf(call.json),
        csrf: session.csrf,
        apiClientId: DEMO_API_CLIENT_ID,
        hasRefreshToken: session.refreshToken !== undefined,
      }),
    );
  });

  // ------------------------------------------------------------ Sign in with Tessera

  app.post('/demo/userinfo', async (request, reply) => {
    const session = sessionWithToken(request, reply, 'asking for UserInfo');
    if (!session) return reply;
    const call = await send(request, 'GET', USERINFO_PATH, [['Authorization', `Bearer ${session.accessToken}`]]);
    const ok = call.response.status === 200 && typeof call.json?.sub === 'string';
    return sendPage(
      reply,
      200,
      demoUserInfoPage({
        request: call.request,
        response: call.response,
        params: [],
        ok,
        ...errorOf(call.json),
        csrf: session.csrf,
        hasRefreshToken: session.refreshToken !== undefined,
        ...(session.nonce !== undefined && { signOutUrl: signOutUrl(request, session, session.idToken) }),
      }),
    );
  });

  app.get('/demo/signed-out', async (request, reply) => {
    const session = readSession(request);
    const query = queryParams(request);
    const state = query.get('state') ?? [];
    const stateMatches = session !== undefined && state.length === 1 && sameSecret(state[0], session.state);
    // The demo app forgets its tokens too: signing out of Tessera does not revoke them.
    if (stateMatches) reply.clearCookie(DEMO_COOKIE, { path: DEMO_COOKIE_PATH });
    return sendPage(reply, stateMatches ? 200 : 400, demoSignedOutPage({ stateMatches }));
  });
};
