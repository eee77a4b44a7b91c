/**
 * Helpers for the browser-session tests: an authorization request sent from a browser
 * that may already be signed in, the consent page answered, and `id_token_hint` values —
 * signed with the server's own key (as its ID tokens are) or with a foreign one.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { generateKeyPair, SignJWT } from 'jose';
import { keySealer } from '../../src/oauth/key-seal.js';
import { keyStore } from '../../src/oauth/signing-keys.js';
import type { Store } from '../../src/store/store.js';
import {
  authorizeThroughPages,
  CookieJar,
  form,
  getPage,
  hiddenValue,
  postPage,
  type PageFlowOptions,
} from './harness.js';

/** Sends an authorization request from the browser `jar`; the response is where the server sends it. */
export async function authorizeIn(
  app: FastifyInstance,
  query: Record<string, string | undefined>,
  jar: CookieJar,
): Promise<LightMyRequestResponse> {
  return getPage(app, `/apiAuthorize.action?${form(query)}`, jar);
}

/** A browser that has signed in once (a whole flow through the pages, allowed); throws if it did not end at the client. */
export async function signedInBrowser(
  app: FastifyInstance,
  options: Omit<PageFlowOptions, 'jar'>,
): Promise<{ jar: CookieJar; location: string }> {
  const jar = new CookieJar();
  const flow = await authorizeThroughPages(app, { ...options, jar });
  if (flow.status !== 303 || !flow.location.startsWith('https://')) {
    throw new Error(`the first flow did not reach the client: ${flow.status} ${flow.location}`);
  }
  return { jar, location: flow.location };
}

/** Opens the consent page at `location` and presses a button on it; returns the answer (303 to the client). */
export async function answerConsent(
  app: FastifyInstance,
  location: string,
  jar: CookieJar,
  decision: 'allow' | 'deny' = 'allow',
  scope?: string,
): Promise<LightMyRequestResponse> {
  const page = await getPage(app, location, jar);
  if (page.statusCode !== 200) throw new Error(`no consent page at ${location}: ${page.statusCode}`);
  return postPage(
    app,
    '/consent',
    { request: hiddenValue(page.body, 'request'), csrf: hiddenValue(page.body, 'csrf'), decision, scope },
    jar,
  );
}

/**
 * An ID token as this server signs them (its active key, from the same store the app
 * reads), to pass back as `id_token_hint`.
 */
export async function serverSignedIdToken(
  store: Store,
  claims: { iss: string; sub: string; aud: string },
): Promise<string> {
  const keys = keyStore(store, { sealer: keySealer(undefined), tokenLifetime: 600 });
  const key = await keys.signingKey();
  return new SignJWT({ sid: 'x' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.iss)
    .setSubject(claims.sub)
    .setAudience(claims.aud)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.key);
}

/** The same claims signed by a key this server never published: a forgery. */
export async function foreignSignedIdToken(claims: { iss: string; sub: string; aud: string }): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'foreign', typ: 'JWT' })
    .setIssuer(claims.iss)
    .setSubject(claims.sub)
    .setAudience(claims.aud)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}
