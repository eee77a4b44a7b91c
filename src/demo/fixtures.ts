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

export const DEMO_PEOPLE = [
  { username: 'alice', name: 'Alice Patel', roles: ['PATIENT'] },
  { username: 'bob', name: 'Dr Bob Chen', roles: ['CLINICIAN'] },
  { username: 'carol', name: 'Carol Diaz', roles: ['TEAMCOORD'] },
  { username: 'dana', name: 'Dr Dana Reyes', roles: ['CLINICIAN', 'PATIENT'] },
] as const;

/**
 * The demo's redirect URIs: the issuer's, and for a loopback issuer the same address
 * under the other loopback name, so that the demo works whether the person opens
 * http://localhost:9000 or http://127.0.0.1:9000 (its cookies belong to one host name).
 */
export function demoRedirectUris(issuer: string): string[] {
  const url = new URL(issuer);
  const alias = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname === '127.0.0.1' ? 'localhost' : undefined;
  const origins = [issuer];
  if (alias && url.protocol === 'http:')
    origins.push(`http://${alias}${url.port ? `:${url.port}` : ''}${url.pathname.replace(/\/$/, '')}`);
  return origins.map((origin) => `${origin}/demo/callback`);
}

/**
 * The demo API's client secret, derived from the server's secret (TESSERA_SECRET or the
 * one kept in the database): the demo can use it at every start and on every instance,
 * and the database keeps only its hash, like every client secret.
 */
export function demoApiSecret(serverSecret: string): string {
  return createHmac('sha256', serverSecret).update(DEMO_API_CLIENT_ID).digest('base64url');
}
