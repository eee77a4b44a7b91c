/**
 * The demo's clients and people, created on the first `serve --demo`. The demo apps are
 * public and use PKCE, as a browser or mobile app should — one with opaque access tokens,
 * one with JWT access tokens — and may "Sign in with Tessera" (OpenID Connect), with a
 * post-logout URI back to the demo; their redirect URIs follow the issuer, so they are
 * re-registered when the issuer changes. The demo API is a resource server whose secret
 * follows the server's secret.
 *
 * Every row seeded is marked `demo` (services/demo-data.ts): a server started without
 * --demo refuses them, and `tessera demo remove` removes them. A person who is not the
 * demo's but has a demo username is left alone, and not offered on the demo page.
 */
import { findClient, registerClient, removeClient, type NewClient } from '../services/clients.js';
import { addPerson, findPerson } from '../services/people.js';
import { ROLES } from '../oauth/role-scope.js';
import { hashSecret } from '../oauth/tokens.js';
import type { ClientRecord, Store } from '../store/store.js';
import {
  DEMO_API_CLIENT_ID,
  DEMO_CLIENT_ID,
  DEMO_JWT_CLIENT_ID,
  DEMO_OPENID_SCOPES,
  DEMO_PASSWORD,
  DEMO_PEOPLE,
  demoApiSecret,
  demoPostLogoutUris,
  demoRedirectUris,
} from './fixtures.js';

export { DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_PEOPLE };

/** Registers the client anew (marked demo) unless the one registered is the demo's and `current`. */
async function ensureClient(
  store: Store,
  input: NewClient & { id: string },
  current: (client: ClientRecord) => boolean,
  now: number,
): Promise<void> {
  const existing = await findClient(store, input.id);
  if (existing?.demo && current(existing)) return;
  if (existing) await removeClient(store, input.id);
  await registerClient(store, { ...input, demo: true }, now);
}

/**
 * Seeds what is missing; returns the demo usernames taken by people who are not the
 * demo's (they are not touched).
 */
export async function seedDemo(
  store: Store,
  issuer: string,
  serverSecret: string,
  now: number,
): Promise<{ taken: string[] }> {
  const redirectUris = demoRedirectUris(issuer);
  const postLogoutRedirectUris = demoPostLogoutUris(issuer);
  const scopes = [...ROLES, ...DEMO_OPENID_SCOPES];
  // Registered anew when the issuer changed, or when it predates "Sign in with Tessera".
  const follows = (client: ClientRecord) =>
    redirectUris.every((uri) => client.redirectUris.includes(uri)) &&
    postLogoutRedirectUris.every((uri) => client.postLogoutRedirectUris.includes(uri)) &&
    scopes.every((scope) => client.scopes.includes(scope));
  const app = { redirectUris, postLogoutRedirectUris, scopes, public: true };
  await ensureClient(store, { ...app, id: DEMO_CLIENT_ID, name: 'Tessera Demo App' }, follows, now);
  await ensureClient(
    store,
    { ...app, id: DEMO_JWT_CLIENT_ID, name: 'Tessera Demo App (JWT)', accessTokenFormat: 'jwt' },
    follows,
    now,
  );
  const secret = demoApiSecret(serverSecret);
  await ensureClient(
    store,
    { id: DEMO_API_CLIENT_ID, name: 'Tessera Demo API', redirectUris: [], resourceServer: true, secret },
    (client) => client.secretHash === hashSecret(secret),
    now,
  );
  const taken: string[] = [];
  for (const person of DEMO_PEOPLE) {
    const existing = await findPerson(store, person.username);
    if (existing) {
      if (!existing.demo) taken.push(person.username);
      continue;
    }
    await addPerson(
      store,
      {
        username: person.username,
        password: DEMO_PASSWORD,
        roles: [...person.roles],
        name: person.name,
        email: person.email,
        demo: true,
      },
      now,
    );
  }
  return { taken };
}

export function demoBanner(issuer: string, taken: readonly string[] = []): string[] {
  return [
    '',
    `Tessera demo: open ${issuer}/demo`,
    '',
    `Demo people (password for each: ${DEMO_PASSWORD}):`,
    ...DEMO_PEOPLE.filter((p) => !taken.includes(p.username)).map(
      (p) => `  ${p.username.padEnd(6)} ${p.name.padEnd(14)} ${p.roles.join(' + ')}`,
    ),
    ...(taken.length > 0 ? [`  (not seeded: ${taken.join(', ')} — this database has a real person of that name)`] : []),
    '',
  ];
}
