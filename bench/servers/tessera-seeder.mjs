// Issues Tessera's one-time credentials for the bench, through Tessera's own code over
// its real Store (the built dist/): never by writing rows by hand.
//
// - the client: `registerClient` (confidential, client_secret_basic, PATIENT; opaque access
//   tokens, or RFC 9068 JWTs with BENCH_ACCESS_TOKEN_FORMAT=jwt);
// - the people: `addPerson` (real scrypt password hashes, for the full flow);
// - codes: `allowAuthorization`, the function the consent page calls, with PKCE S256;
// - refresh and access tokens (for the bearer and introspection flows): such codes
//   redeemed through `handleTokenRequest`, the token endpoint's own core;
// - "live" tokens for the data-size table: `store.createGrantWithAccessToken`, one
//   grant and one access token per call, like an implicit-grant authorization.
//
// It runs as its own process beside the server (started by bench/run.mjs, talking over
// IPC like the peer servers: see servers/common.mjs), opening the same database. It
// issues 64 credentials at a time: on SQLite they then share commits and syncs (the
// store's group commit), one at a time each would wait for its own. Pre-issued codes get
// a 600 s lifetime (the server's own codes keep 60 s) so that they outlive the run they
// were issued for; the code path is the same.
import { writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { benchConfig, env, mapLimit, pkcePair } from './common.mjs';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const [
  { openStore },
  { registerClient },
  { addPerson },
  { allowAuthorization },
  tokens,
  endpoint,
  { defaultProvider },
  params,
  { keyStore },
  { keySealer },
] = await Promise.all([
  load('store/open.js'),
  load('services/clients.js'),
  load('services/people.js'),
  load('oauth/complete-authorization.js'),
  load('oauth/tokens.js'),
  load('oauth/token-endpoint.js'),
  load('oauth/provider.js'),
  load('oauth/params.js'),
  load('oauth/signing-keys.js'),
  load('oauth/key-seal.js'),
]);
const { DEFAULT_LIFETIMES, hashSecret, newId, newSecret } = tokens;

const config = { ...benchConfig(), clientSecret: undefined };
const dbUrl = env('BENCH_DB');
const isSqlite = dbUrl.startsWith('sqlite:');
const store = await openStore(dbUrl, { poolSize: 16 });

const now = Date.now();
const { client, secret } = await registerClient(
  store,
  {
    id: config.clientId,
    name: 'Bench client',
    redirectUris: [config.redirectUri],
    scopes: ['PATIENT'],
    accessTokenFormat: process.env.BENCH_ACCESS_TOKEN_FORMAT ?? 'opaque',
  },
  now,
);
const people = [];
for (const username of config.users) {
  people.push(await addPerson(store, { username, password: config.password, roles: ['PATIENT'] }, now));
}
const person = people[0];
// The server's keys (the first one made here when none exists, unsealed as the bench sets
// no TESSERA_SECRET): pre-issued JWT access tokens are signed as the server signs them.
const keys = keyStore(store, { sealer: keySealer(undefined), tokenLifetime: DEFAULT_LIFETIMES.accessToken });
const provider = defaultProvider(DEFAULT_LIFETIMES, { keys });
const basic = `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const codeLifetimes = { ...DEFAULT_LIFETIMES, code: 600 };

async function issueCode() {
  const { verifier, challenge } = pkcePair();
  const request = {
    responseType: 'code',
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    redirectUriSent: true,
    role: 'PATIENT',
    state: 'pre-issued',
    codeChallenge: challenge,
  };
  // As if the person had just signed in (no browser session: the bench has none).
  const at = Date.now();
  const who = { person, session: { hash: null, createdAt: at } };
  const { location } = await allowAuthorization(request, who, 'PATIENT', client, {
    store,
    tokens: provider.tokens,
    responseTypes: provider.responseTypes,
    issuer: 'http://127.0.0.1',
    lifetimes: codeLifetimes,
    now: Date.now(),
  });
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return { code, verifier };
}

async function redeem({ code, verifier }) {
  return endpoint.handleTokenRequest(
    {
      params: params.paramsFrom({
        grant_type: 'authorization_code',
        code,
        redirect_uri: config.redirectUri,
        code_verifier: verifier,
      }),
      authorization: basic,
    },
    provider.grants,
    { store, tokens: provider.tokens, issuer: 'http://127.0.0.1', now: Date.now() },
  );
}

async function liveToken() {
  const at = Date.now();
  const grant = {
    id: newId(),
    personId: person.id,
    clientId: config.clientId,
    scope: 'PATIENT',
    authTime: at,
    sessionId: null,
    createdAt: at,
    expiresAt: at + DEFAULT_LIFETIMES.grant * 1000,
    revokedAt: null,
  };
  // Live for a day: the data-size runs must not outlast them.
  await store.createGrantWithAccessToken(grant, {
    hash: hashSecret(newSecret()),
    grantId: grant.id,
    scope: 'PATIENT',
    format: 'opaque',
    jti: null,
    createdAt: at,
    expiresAt: at + 86_400_000,
  });
}

async function settle() {
  // Straight to the connection (as migrations run), not as a write inside a commit group.
  if (isSqlite) await store.migrations(() => sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db));
  else await sql`analyze`.execute(store.db);
}

/** Credentials issued at a time: a commit group's size on SQLite, the pool's on PostgreSQL. */
const width = isSqlite ? 64 : 16;

process.on('message', async (message) => {
  if (!message || message.type !== 'issue') return;
  const { id, flow, n, file } = message;
  try {
    let lines = [];
    if (flow === 'live') {
      await mapLimit(n, width, liveToken);
    } else {
      lines = await mapLimit(n, width, async () => {
        const code = await issueCode();
        if (flow === 'code') return `${code.code} ${code.verifier}`;
        const { response } = await redeem(code);
        // bearer and introspect: access tokens.
        return flow === 'refresh' ? response.refresh_token : response.access_token;
      });
    }
    await settle();
    writeFileSync(file, lines.join('\n') + '\n');
    process.send({ type: 'issued', id, n: lines.length });
  } catch (err) {
    process.send({ type: 'failed', id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => {
  store.close().finally(() => process.exit(0));
});
process.send({ type: 'ready', clientSecret: secret });
