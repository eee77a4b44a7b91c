/**
 * OpenID Connect additions to the harness: a client enabled for `openid`, `profile` and
 * `email`, a person with an e-mail address, and the code flow through the pages with
 * `scope=openid …`, PKCE and a nonce, ending at the token endpoint.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { NewClient } from '../../src/services/clients.js';
import { addPerson } from '../../src/services/people.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import type { ClientRecord, PersonRecord } from '../../src/store/store.js';
import { PASSWORD, addClient, basic, codeThroughPages, pkcePair, postToken, type PageFlowOptions } from './harness.js';

export const CB = 'https://app.example/cb';

/** A confidential client enabled for the PATIENT role and the OpenID scopes. */
export async function addOpenIdClient(
  store: KyselyStore,
  input: Partial<NewClient> = {},
): Promise<{ client: ClientRecord; secret: string }> {
  const { client, secret } = await addClient(store, {
    redirectUris: [CB],
    scopes: ['PATIENT', 'openid', 'profile', 'email'],
    ...input,
  });
  return { client, secret: secret ?? '' };
}

/** A PATIENT with a display name and, unless `email` is null, an address. */
export async function addOpenIdPerson(
  store: KyselyStore,
  username = 'alice',
  email: string | null = `${username}@example.org`,
): Promise<PersonRecord> {
  return addPerson(
    store,
    { username, password: PASSWORD, roles: ['PATIENT'], name: `${username} Example`, ...(email && { email }) },
    Date.now(),
  );
}

export interface OpenIdFlow {
  code: string;
  verifier: string;
}

/** Runs the pages for `client` with `scope` (default `openid profile email`) and PKCE; returns the code. */
export async function openIdCode(
  app: FastifyInstance,
  client: ClientRecord,
  query: Record<string, string | undefined> = {},
  options: Omit<PageFlowOptions, 'query'> = {},
): Promise<OpenIdFlow> {
  const { verifier, challenge } = pkcePair();
  const code = await codeThroughPages(app, {
    ...options,
    query: {
      response_type: 'code',
      client_id: client.id,
      scope: 'openid profile email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...query,
    },
  });
  return { code, verifier };
}

/** Redeems a code as the confidential `client` (Basic). */
export function redeem(
  app: FastifyInstance,
  client: { client: ClientRecord; secret: string },
  flow: OpenIdFlow,
): Promise<LightMyRequestResponse> {
  return postToken(
    app,
    { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier },
    { authorization: basic(client.client.id, client.secret) },
  );
}

/** Refreshes as the confidential `client` (Basic). */
export function refresh(
  app: FastifyInstance,
  client: { client: ClientRecord; secret: string },
  refreshToken: string,
  scope?: string,
): Promise<LightMyRequestResponse> {
  return postToken(
    app,
    { grant_type: 'refresh_token', refresh_token: refreshToken, scope },
    { authorization: basic(client.client.id, client.secret) },
  );
}

export interface OpenIdTokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
  id_token?: string;
}

/** The whole flow: pages, then the token endpoint; throws unless the answer is 200. */
export async function openIdTokens(
  app: FastifyInstance,
  client: { client: ClientRecord; secret: string },
  query: Record<string, string | undefined> = {},
  options: Omit<PageFlowOptions, 'query'> = {},
): Promise<OpenIdTokens> {
  const res = await redeem(app, client, await openIdCode(app, client.client, query, options));
  if (res.statusCode !== 200) throw new Error(`token request failed: ${res.statusCode} ${res.body}`);
  return res.json() as OpenIdTokens;
}
