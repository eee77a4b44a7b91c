// node-oidc-provider (v9) with its in-memory adapter (uncapped, see below), configured for the same
// OAuth 2.0 flows as Tessera: one confidential client (client_secret_basic), the
// authorization code grant with PKCE S256, refresh tokens issued to the client and
// rotated on every use (`rotateRefreshToken: true`), opaque access tokens.
//
// The code and refresh flows ask for the resource-server scope `api` (resource
// indicator urn:bench:api, opaque tokens) and not `openid`, so no ID token is signed:
// Tessera issues none either. The bearer flow calls the provider's own protected
// resource, userinfo (GET /me), with access tokens that carry `openid`; the introspection
// flow has the client ask about those tokens (RFC 7662, its own tokens, client_secret_basic).
//
// Sign-in and consent are the provider's interactions, answered by a minimal login and
// consent page here (as its documentation's examples do) with the same scrypt password
// check as Tessera. Pre-issued credentials are made with the provider's own models
// (Grant, AuthorizationCode, RefreshToken, AccessToken), the classes its endpoints use.
import http from 'node:http';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import {
  announce,
  benchConfig,
  escapeHtml,
  exitOnSignals,
  formPage,
  makePeople,
  mapLimit,
  newSecret,
  PAGE_HEADERS,
  parseForm,
  pkcePair,
  readBody,
  serveIssueOrders,
  verifyPassword,
} from './common.mjs';

const RESOURCE = 'urn:bench:api';
const config = benchConfig();
const people = await makePeople(config.users, config.password);
const accounts = new Map([...people.values()].map((p) => [p.id, p]));

/**
 * The provider's own MemoryAdapter over an unbounded store: its default store is an LRU
 * capped at 1 000 entries (a quick-start toy), which would evict pre-issued codes and
 * live tokens under load. Same adapter code, same expiry rules, no cap.
 */
class UnboundedStore {
  #map = new Map();
  get(key) {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key, value, options) {
    this.#map.set(key, { value, expiry: options?.maxAge !== undefined ? Date.now() + options.maxAge : undefined });
  }
  delete(key) {
    return this.#map.delete(key);
  }
}
const store = new UnboundedStore();

const provider = new Provider('http://127.0.0.1', {
  adapter: class extends MemoryAdapter {
    constructor(model) {
      super(model, store);
    }
  },
  clients: [
    {
      client_id: config.clientId,
      client_secret: config.clientSecret,
      redirect_uris: [config.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  async findAccount(_ctx, id) {
    const person = accounts.get(id);
    return person && { accountId: id, claims: async () => ({ sub: id, name: person.name }) };
  },
  cookies: { keys: [newSecret()] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({ scope: 'api', accessTokenFormat: 'opaque', accessTokenTTL: 600 }),
    },
  },
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 600,
    // Pre-issued codes must outlive the runs they are issued for (Tessera's get the same).
    AuthorizationCode: 600,
    Grant: 30 * 24 * 3600,
    RefreshToken: 30 * 24 * 3600,
    Interaction: 900,
    Session: 8 * 3600,
    IdToken: 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err?.stack ?? err}\n`));

// ---------------------------------------------------------------------------------
// Sign-in and consent interactions
// ---------------------------------------------------------------------------------
async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw Object.assign(new Error('interaction mismatch'), { status: 400 });
  const prompt = details.prompt.name;

  if (req.method === 'GET' && action === undefined) {
    res.writeHead(200, PAGE_HEADERS);
    res.end(
      prompt === 'login'
        ? formPage(
            'Sign in',
            `/interaction/${escapeHtml(uid)}/login`,
            {},
            '<input name="username"><input name="password" type="password">',
          )
        : formPage('Allow', `/interaction/${escapeHtml(uid)}/confirm`, {}),
    );
    return;
  }
  if (req.method === 'POST' && action === 'login' && prompt === 'login') {
    const form = parseForm(await readBody(req));
    const person = people.get(form.username ?? '');
    if (!person || !(await verifyPassword(form.password ?? '', person.hash))) {
      res.writeHead(303, { location: `/interaction/${uid}?error=credentials` });
      res.end();
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: person.id } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (req.method === 'POST' && action === 'confirm' && prompt === 'consent') {
    await readBody(req);
    const {
      prompt: { details: missing },
      params,
      session,
    } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: details.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
    return;
  }
  throw Object.assign(new Error(`unexpected ${req.method} ${url.pathname} in prompt ${prompt}`), { status: 400 });
}

// ---------------------------------------------------------------------------------
// Pre-issuing with the provider's own models
// ---------------------------------------------------------------------------------
const client = await provider.Client.find(config.clientId);
const accountId = people.values().next().value.id;

async function newGrant(openid) {
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  if (openid) grant.addOIDCScope('openid');
  else grant.addResourceScope(RESOURCE, 'api');
  return grant.save();
}

const authTime = () => Math.floor(Date.now() / 1000);

async function issue(flow) {
  if (flow === 'code') {
    const { verifier, challenge } = pkcePair();
    const code = new provider.AuthorizationCode({
      accountId,
      client,
      grantId: await newGrant(false),
      scope: 'api',
      resource: RESOURCE,
      redirectUri: config.redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      authTime: authTime(),
    });
    return `${await code.save()} ${verifier}`;
  }
  if (flow === 'refresh') {
    const token = new provider.RefreshToken({
      accountId,
      client,
      grantId: await newGrant(false),
      gty: 'authorization_code',
      scope: 'api',
      resource: RESOURCE,
      rotations: 0,
      authTime: authTime(),
    });
    return token.save();
  }
  // bearer and introspect: an access token for userinfo.
  const token = new provider.AccessToken({
    accountId,
    client,
    grantId: await newGrant(true),
    gty: 'authorization_code',
    scope: 'openid',
  });
  return token.save();
}

serveIssueOrders((flow, n) => mapLimit(n, 16, () => issue(flow)));

// ---------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------
const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res, new URL(req.url, 'http://127.0.0.1')).catch((err) => {
      if (!res.headersSent) {
        res.writeHead(err.status ?? 500, PAGE_HEADERS);
        res.end(`<!doctype html><p>${escapeHtml(err.message)}</p>`);
      }
    });
    return;
  }
  callback(req, res);
});

server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announce(server));
exitOnSignals(server);
