/**
 * The demo's client and people: seeded by `serve --demo` (src/demo/seed.ts) and shown
 * by the demo page. Only these people are ever listed there, never real accounts.
 */
import { createHmac } from 'node:crypto';

/** The demo app, with opaque access tokens, and the same app with JWT access tokens (RFC 9068). */
export const DEMO_CLIENT_ID = 'tessera-demo';
export const DEMO_JWT_CLIENT_ID = 'tessera-demo-jwt';
/** The demo's API: a resource server that asks Tessera about tokens (RFC 7662 introspection). */
export const DEMO_API_CLIENT_ID = 'tessera-demo-api';
export const DEMO_PASSWORD = 'tessera-demo';

/**
 * Where `serve --demo` keeps its data unless told otherwise (--db, TESSERA_DB): a file of
 * its own, so that the demo's people, whose password is published here, never land in
 * the database a real server uses.
 */
export const DEMO_DB_URL = 'sqlite:./.tessera/demo.db';

export const DEMO_PEOPLE = [
  { username: 'alice', name: 'Alice Patel', roles: ['PATIENT'], email: 'alice@example.org' },
  { username: 'bob', name: 'Dr Bob Chen', roles: ['CLINICIAN'], email: 'bob@example.org' },
  { username: 'carol', name: 'Carol Diaz', roles: ['TEAMCOORD'], email: 'carol@example.org' },
  { username: 'dana', name: 'Dr Dana Reyes', roles: ['CLINICIAN', 'PATIENT'], email: 'dana@example.org' },
] as const;

/** "Sign in with Tessera": the OpenID scopes the demo apps are enabled for and ask for. */
export const DEMO_OPENID_SCOPES = ['openid', 'profile', 'email'] as const;

/**
 * Where the demo may be opened: the issuer, and for a loopback issuer the same address
 * under the other loopback name, so that the demo works whether the person opens
 * http://localhost:9000 or http://127.0.0.1:9000 (its cookies belong to one host name).
 */
function demoOrigins(issuer: string): string[] {
  const url = new URL(issuer);
  const alias = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname === '127.0.0.1' ? 'localhost' : undefined;
  const origins = [issuer];
  if (alias && url.protocol === 'http:')
    origins.push(`http://${alias}${url.port ? `:${url.port}` : ''}${url.pathname.replace(/\/$/, '')}`);
  return origins;
}

/** The demo's redirect URIs, one per address it may be opened at. */
export function demoRedirectUris(issuer: string): string[] {
  return demoOrigins(issuer).map((origin) => `${origin}/demo/callback`);
}

/** Where Tessera's logout may send the browser back to (RP-Initiated Logout 1.0 §3.1). */
export function demoPostLogoutUris(issuer: string): string[] {
  return demoOrigins(issuer).map((origin) => `${origin}/demo/signed-out`);
}

/**
 * The demo API's client secret, derived from the server's secret (TESSERA_SECRET or the
 * one kept in the database): the demo can use it at every start and on every instance,
 * and the database keeps only its hash, like every client secret.
 */
export function demoApiSecret(serverSecret: string): string {
  return createHmac('sha256', serverSecret).update(DEMO_API_CLIENT_ID).digest('base64url');
}
