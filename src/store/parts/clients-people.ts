/** Clients and people: who may ask, and who may sign in. */
import { changes, first, rows } from '../executor.js';
import { prepare, statement } from '../prepared.js';
import type { ClientRecord, PersonRecord, Store } from '../store.js';
import { usernameKey } from '../username-key.js';
import { toClient, toPerson, type StoreContext } from './rows.js';

export type ClientsAndPeople = Pick<
  Store,
  | 'createClient'
  | 'getClient'
  | 'listClients'
  | 'removeClient'
  | 'setClientSecret'
  | 'createPerson'
  | 'getPerson'
  | 'getPersonByUsername'
  | 'listPeople'
  | 'removePerson'
  | 'setPassword'
  | 'setPersonDisabled'
  | 'countDemoData'
  | 'removeDemoData'
>;

export function clientsAndPeople({ db, exec }: StoreContext): ClientsAndPeople {
  // Read on every token request and API call: compiled once.
  const clientById = prepare<{ id: string }>()((p) => db.selectFrom('clients').selectAll().where('id', '=', p.id));
  const personById = prepare<{ id: string }>()((p) => db.selectFrom('people').selectAll().where('id', '=', p.id));

  const demoCount = (table: 'clients' | 'people') =>
    first(
      statement(
        db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where('demo', '=', 1),
      ),
    );

  /** The person's id, for the writes that change what belongs to them. */
  const personId = (username: string) =>
    first(statement(db.selectFrom('people').select('id').where('username_key', '=', usernameKey(username))));

  return {
    async createClient(c: ClientRecord) {
      await exec.write(function* () {
        yield* changes(
          statement(
            db.insertInto('clients').values({
              id: c.id,
              name: c.name,
              secret_hash: c.secretHash,
              redirect_uris: JSON.stringify(c.redirectUris),
              scopes: JSON.stringify(c.scopes),
              grant_types: JSON.stringify(c.grantTypes),
              pkce_required: c.pkceRequired ? 1 : 0,
              created_at: c.createdAt,
              disabled_at: c.disabledAt,
              access_token_format: c.accessTokenFormat,
              resource_server: c.resourceServer ? 1 : 0,
              id_token_alg: c.idTokenAlg,
              skip_consent: c.skipConsent ? 1 : 0,
              post_logout_redirect_uris: JSON.stringify(c.postLogoutRedirectUris),
              demo: c.demo ? 1 : 0,
            }),
          ),
        );
      });
    },

    async getClient(id) {
      const row = await exec.read(() => first(clientById.bind({ id })));
      return row && toClient(row);
    },

    async listClients() {
      const list = await exec.read(() =>
        rows(statement(db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id'))),
      );
      return list.map(toClient);
    },

    async removeClient(id) {
      // Foreign keys cascade: grants, their codes and tokens, pending authorizations.
      const n = await exec.write(() => changes(statement(db.deleteFrom('clients').where('id', '=', id))));
      return n > 0;
    },

    async setClientSecret(id, secretHash) {
      const n = await exec.write(() =>
        changes(statement(db.updateTable('clients').set({ secret_hash: secretHash }).where('id', '=', id))),
      );
      return n > 0;
    },

    createPerson(p: PersonRecord) {
      return exec.write(function* () {
        try {
          yield* changes(
            statement(
              db.insertInto('people').values({
                id: p.id,
                username: p.username,
                display_name: p.displayName,
                password_hash: p.passwordHash,
                roles: JSON.stringify(p.roles),
                created_at: p.createdAt,
                disabled_at: p.disabledAt,
                email: p.email,
                // Unique: a twin of a registered username (`Eve` beside `eve`) is refused.
                username_key: usernameKey(p.username),
                demo: p.demo ? 1 : 0,
              }),
            ),
          );
          return true;
        } catch (err) {
          if (exec.isUniqueViolation(err)) return false;
          throw err;
        }
      });
    },

    async getPerson(id) {
      const row = await exec.read(() => first(personById.bind({ id })));
      return row && toPerson(row);
    },

    async getPersonByUsername(username) {
      const row = await exec.read(() =>
        first(statement(db.selectFrom('people').selectAll().where('username_key', '=', usernameKey(username)))),
      );
      return row && toPerson(row);
    },

    async listPeople() {
      const list = await exec.read(() => rows(statement(db.selectFrom('people').selectAll().orderBy('username'))));
      return list.map(toPerson);
    },

    async removePerson(username) {
      const n = await exec.write(() =>
        changes(statement(db.deleteFrom('people').where('username_key', '=', usernameKey(username)))),
      );
      return n > 0;
    },

    setPassword(username, passwordHash, revokeGrantsAt = null) {
      return exec.transaction(function* () {
        const person = yield* personId(username);
        if (!person) return false;
        yield* changes(
          statement(db.updateTable('people').set({ password_hash: passwordHash }).where('id', '=', person.id)),
        );
        yield* changes(statement(db.deleteFrom('sign_in_sessions').where('person_id', '=', person.id)));
        // Together with the password: no moment where the new password is set but an app
        // holding tokens got with the stolen one still works.
        if (revokeGrantsAt !== null) {
          yield* changes(
            statement(
              db
                .updateTable('grants')
                .set({ revoked_at: revokeGrantsAt })
                .where('person_id', '=', person.id)
                .where('revoked_at', 'is', null),
            ),
          );
        }
        return true;
      });
    },

    setPersonDisabled(username, disabledAt) {
      return exec.transaction(function* () {
        const person = yield* personId(username);
        if (!person) return false;
        yield* changes(
          statement(db.updateTable('people').set({ disabled_at: disabledAt }).where('id', '=', person.id)),
        );
        if (disabledAt !== null) {
          yield* changes(statement(db.deleteFrom('sign_in_sessions').where('person_id', '=', person.id)));
          yield* changes(statement(db.deleteFrom('pending_authorizations').where('person_id', '=', person.id)));
          yield* changes(
            statement(
              db
                .updateTable('grants')
                .set({ revoked_at: disabledAt })
                .where('person_id', '=', person.id)
                .where('revoked_at', 'is', null),
            ),
          );
        }
        return true;
      });
    },

    countDemoData() {
      return exec.read(function* () {
        const clients = yield* demoCount('clients');
        const people = yield* demoCount('people');
        return { clients: Number(clients?.n ?? 0), people: Number(people?.n ?? 0) };
      });
    },

    removeDemoData() {
      return exec.transaction(function* () {
        const clients = yield* rows(
          statement(db.selectFrom('clients').select('id').where('demo', '=', 1).orderBy('id')),
        );
        const people = yield* rows(
          statement(db.selectFrom('people').select('username').where('demo', '=', 1).orderBy('username')),
        );
        const grants = yield* first(
          statement(
            db
              .selectFrom('grants')
              .select((eb) => eb.fn.countAll().as('n'))
              .where((eb) =>
                eb.or([
                  eb('client_id', 'in', eb.selectFrom('clients').select('id').where('demo', '=', 1)),
                  eb('person_id', 'in', eb.selectFrom('people').select('id').where('demo', '=', 1)),
                ]),
              ),
          ),
        );
        // Foreign keys cascade: grants with their codes and tokens, pending authorizations,
        // sign-in sessions.
        yield* changes(statement(db.deleteFrom('clients').where('demo', '=', 1)));
        yield* changes(statement(db.deleteFrom('people').where('demo', '=', 1)));
        return {
          clients: clients.map((c) => c.id),
          people: people.map((p) => p.username),
          grants: Number(grants?.n ?? 0),
        };
      });
    },
  };
}
