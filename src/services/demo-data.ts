/**
 * The demo's data kept apart from real data. `serve --demo` seeds clients and people
 * marked `demo` (src/demo/seed.ts); everyone knows their password and the demo apps
 * accept any loopback port. A server started without `--demo` must never accept them,
 * so it sees its store through `withoutDemoData`: the demo's clients and people do not
 * exist for it, at every door at once — sign-in (an unknown username, answered like a
 * wrong password), a browser session, the authorization endpoint (unknown client), client
 * authentication at the token, introspection and revocation endpoints (invalid_client),
 * bearer tokens and introspection of their tokens (not found). It rides on the rows each
 * door reads anyway: no query is added.
 *
 * `tessera demo remove` deletes them (`removeDemoData`); a server without `--demo` that
 * finds some says so at start (`demoDataNote`).
 */
import type { DemoDataRemoval, Store } from '../store/store.js';

/** `store`, with the demo's clients and people (and access tokens of theirs) hidden. */
export function withoutDemoData<S extends Store>(store: S): S {
  const real = <T extends { demo?: boolean }>(record: T | undefined): T | undefined =>
    record?.demo ? undefined : record;
  return {
    ...store,
    getClient: async (id) => real(await store.getClient(id)),
    listClients: async () => (await store.listClients()).filter((c) => !c.demo),
    getPerson: async (id) => real(await store.getPerson(id)),
    getPersonByUsername: async (username) => real(await store.getPersonByUsername(username)),
    listPeople: async () => (await store.listPeople()).filter((p) => !p.demo),
    findAccessToken: async (hash) => {
      const found = await store.findAccessToken(hash);
      return found?.client.demo || found?.person?.demo ? undefined : found;
    },
  };
}

/** The one line a server without `--demo` prints at start when the database holds demo data; undefined when it holds none. */
export async function demoDataNote(
  store: Pick<Store, 'countDemoData'>,
  removeCommand: string,
): Promise<string | undefined> {
  const { clients, people } = await store.countDemoData();
  if (clients === 0 && people === 0) return undefined;
  const what = [plural(clients, 'demo client'), plural(people, 'demo person', 'demo people')]
    .filter((s) => !s.startsWith('0 '))
    .join(' and ');
  return `note: this database holds ${what} (seeded by 'serve --demo'); without --demo they are refused. Remove them with: ${removeCommand}`;
}

/** Removes the demo's clients and people and everything issued to them, in one transaction. */
export function removeDemoData(store: Pick<Store, 'removeDemoData'>): Promise<DemoDataRemoval> {
  return store.removeDemoData();
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
