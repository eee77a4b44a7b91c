// A small API protected by Tessera's access tokens, the way a resource server checks them:
//
//   - a JWT access token (RFC 9068) is verified locally against Tessera's published keys
//     (its JWKS, RFC 7517): signature, `typ: at+jwt`, issuer, audience, expiry;
//   - any other token is asked about at Tessera's introspection endpoint (RFC 7662), with
//     the API's own client credentials (a client registered with --resource-server).
//
// Both endpoints are found in Tessera's metadata (RFC 8414). Errors follow RFC 6750 §3.
//
//   TESSERA_ISSUER=http://localhost:9000 API_CLIENT_ID=… API_CLIENT_SECRET=… \
//     node examples/resource-server/server.mjs
//
// Environment: TESSERA_ISSUER (required), API_CLIENT_ID and API_CLIENT_SECRET (required for
// opaque tokens), TESSERA_AUDIENCE (default: the issuer), API_SCOPE (the scope GET /records
// needs; default records.read), PORT (default 9100; 0 picks a free one), HOST (127.0.0.1).
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** A JWS in compact form has three base64url parts; Tessera's opaque tokens have one. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

class Refusal extends Error {
  constructor(status, error, description) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

/** The authorization server's metadata (RFC 8414 §3), fetched once. */
async function discover(issuer) {
  const response = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
  if (!response.ok) throw new Error(`no metadata at ${issuer}: ${response.status}`);
  const metadata = await response.json();
  if (metadata.issuer !== issuer) throw new Error(`the metadata names another issuer: ${metadata.issuer}`);
  return metadata;
}

/**
 * Checks a bearer token and returns what the API needs to know: who (`sub`), for which
 * client, with which scopes — or throws a Refusal.
 */
export function tokenChecker({ issuer, audience = issuer, clientId, clientSecret }) {
  let metadata;
  let jwks;
  const ready = async () => {
    metadata ??= await discover(issuer);
    jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri));
    return metadata;
  };

  async function verifyJwt(token) {
    await ready();
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt' });
      return { sub: payload.sub, client_id: payload.client_id, scope: payload.scope ?? '', checked_by: 'jwt' };
    } catch {
      throw new Refusal(401, 'invalid_token', 'The access token is not valid');
    }
  }

  async function introspect(token) {
    const { introspection_endpoint: endpoint } = await ready();
    const basic = Buffer.from(
      `${encodeURIComponent(clientId).replace(/%20/g, '+')}:${encodeURIComponent(clientSecret).replace(/%20/g, '+')}`,
    ).toString('base64');
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    if (!response.ok) throw new Error(`introspection answered ${response.status}: check API_CLIENT_ID/SECRET`);
    const answer = await response.json();
    // Only access tokens are credentials at an API, never a refresh token.
    if (answer.active !== true || answer.token_type !== 'Bearer') {
      throw new Refusal(401, 'invalid_token', 'The access token is not valid');
    }
    return { sub: answer.sub, client_id: answer.client_id, scope: answer.scope ?? '', checked_by: 'introspection' };
  }

  return (token) => (JWT_SHAPE.test(token) ? verifyJwt(token) : introspect(token));
}

/** The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), or a Refusal. */
function bearerToken(header) {
  const match = /^bearer +([\w\-.~+/]+=*) *$/i.exec(header ?? '');
  if (!match) throw new Refusal(401, undefined, 'An access token is required');
  return match[1];
}

function challenge(refusal, scope) {
  const parts = ['Bearer realm="api"'];
  if (refusal.error) parts.push(`error="${refusal.error}"`, `error_description="${refusal.message}"`);
  if (refusal.error === 'insufficient_scope') parts.push(`scope="${scope}"`);
  return parts.join(', ');
}

/** The API: GET /records needs `scope`; anything else is 404. */
export function createResourceServer(options) {
  const check = tokenChecker(options);
  const scope = options.scope ?? 'records.read';
  return createServer(async (request, response) => {
    const send = (status, body, headers = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET' || request.url !== '/records') {
      return send(404, { error: 'not_found' });
    }
    try {
      const who = await check(bearerToken(request.headers.authorization));
      if (!who.scope.split(' ').includes(scope)) {
        throw new Refusal(403, 'insufficient_scope', `This call needs the ${scope} scope`);
      }
      return send(200, {
        records: [],
        for: who.sub,
        client_id: who.client_id,
        scope: who.scope,
        checked_by: who.checked_by,
      });
    } catch (err) {
      if (!(err instanceof Refusal)) {
        console.error(err instanceof Error ? err.message : err);
        return send(503, { error: 'temporarily_unavailable' });
      }
      const body = err.error ? { error: err.error, error_description: err.message } : { error: 'invalid_token' };
      return send(err.status, body, { 'www-authenticate': challenge(err, scope) });
    }
  });
}

// Run directly: node examples/resource-server/server.mjs
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const issuer = process.env.TESSERA_ISSUER;
  if (!issuer) {
    console.error('set TESSERA_ISSUER (e.g. http://localhost:9000), API_CLIENT_ID and API_CLIENT_SECRET');
    process.exit(2);
  }
  const server = createResourceServer({
    issuer: issuer.replace(/\/+$/, ''),
    audience: process.env.TESSERA_AUDIENCE,
    clientId: process.env.API_CLIENT_ID ?? '',
    clientSecret: process.env.API_CLIENT_SECRET ?? '',
    scope: process.env.API_SCOPE,
  });
  const port = Number(process.env.PORT ?? 9100);
  server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
    const address = server.address();
    console.log(`listening on http://${address.address}:${address.port}`);
  });
}
