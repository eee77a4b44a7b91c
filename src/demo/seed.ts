/**
 * The demo's client and people, created on the first `serve --demo`. The demo
 * client is public and uses PKCE, as a browser or mobile app should; its redirect URI
 * follows the issuer, so it is re-registered when the issuer changes.
 */
import { findClient, registerClient, removeClient } from '../services/clients.js';
import { addPerson, findPerson } from '../services/people.js';
import type { Store } from '../store/store.js';
import { DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_PEOPLE, demoRedirectUris } from './fixtures.js';

export { DEMO_CLIENT_ID, DEMO_PASSWORD, DEMO_PEOPLE };

export async function seedDemo(store: Store, issuer: string, now: number): Promise<void> {
  const redirectUris = demoRedirectUris(issuer);
  const existing = await findClient(store, DEMO_CLIENT_ID);
  const current = existing !== undefined && redirectUris.every((uri) => existing.redirectUris.includes(uri));
  if (!current) {
    // The issuer changed (another port, say): the demo client follows it.
    if (existing) await removeClient(store, DEMO_CLIENT_ID);
    await registerClient(store, { id: DEMO_CLIENT_ID, name: 'Tessera Demo App', redirectUris, public: true }, now);
  }
  for (const person of DEMO_PEOPLE) {
    if (await findPerson(store, person.username)) continue;
    await addPerson(
      store,
      { username: person.username, password: DEMO_PASSWORD, roles: [...person.roles], name: person.name },
      now,
    );
  }
}

export function demoBanner(issuer: string): string[] {
  return [
    '',
    `Tessera demo: open ${issuer}/demo`,
    '',
    `Demo people (password for each: ${DEMO_PASSWORD}):`,
    ...DEMO_PEOPLE.map((p) => `  ${p.username.padEnd(6)} ${p.name.padEnd(14)} ${p.roles.join(' + ')}`),
    '',
  ];
}
