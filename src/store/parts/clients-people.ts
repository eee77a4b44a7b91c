/** Clients and people: who may ask, and who may sign in. */
import { ClientCache } from '../client-cache.js';
import { changes, first, rows, type Operation } from '../executor.js';
import { prepare, statement } from '../prepared.js';
import type { ClientRecord, ClientUpdateEffects, ClientUpdateResult, PersonRecord, Store } from '../store.js';
import { usernameKey } from '../username-key.js';
import {
  clientColumns,
  clientLifetimeColumns,
  frozenClient,
  personColumns,
  toClient,
  toPerson,
  type StoreContext,
} from './rows.js';

export type ClientsAndPeople = Pick<
  Store,
  | 'createClient'
  | 'getClient'
  | 'listClients'
  | 'removeClient'
  | 'setClientSecret'
  | 'setClientDisabled'
  | 'updateClient'
  | 'updatePerson'
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

/**
 * `clientCache` (client-cache.ts) serves `getClient`. Every write here that may change or
 * delete a client drops the client's record from every cache of this process once it has
 * run, whatever the outcome; other processes learn of it from the database (PostgreSQL's
 * notice, SQLite's data_version).
 */
export function clientsAndPeople({ db, exec }: StoreContext, clientCache: ClientCache<ClientRecord>): ClientsAndPeople {
  // Read on every token request and API call: compiled once.
  const clientById = prepare<{ id: string }>()((p) =>
    db.selectFrom('clients').select(clientColumns).where('id', '=', p.id),
  );
  const readClient = (id: string) => exec.read(() => first(clientById.bind({ id })));
  /** For `.finally` after a write that may change client `id`. */
  const dropClient = (id: string) => () => ClientCache.evictInProcess(id);
  const personById = prepare<{ id: string }>()((p) =>
    db.selectFrom('people').select(personColumns).where('id', '=', p.id),
  );

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
              ...clientLifetimeColumns(c.lifetimes),
              previous_secret_hash: c.previousSecret?.hash ?? null,
              previous_secret_expires_at: c.previousSecret?.expiresAt ?? null,
              demo: c.demo ? 1 : 0,
            }),
          ),
        );
      });
    },

    async getClient(id) {
      return clientCache.get(id, async () => {
        const row = await readClient(id);
        return row && frozenClient(toClient(row));
      });
    },

    async listClients() {
      const list = await exec.read(() =>
        rows(statement(db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id'))),
      );
      return list.map(toClient);
    },

    async removeClient(id) {
      // Foreign keys cascade: grants, their codes and tokens, pending authorizations.
      const n = await exec
        .write(() => changes(statement(db.deleteFrom('clients').where('id', '=', id))))
        .finally(dropClient(id));
      return n > 0;
    },

    async setClientSecret(id, secretHash, previousUntil = null) {
      // SET reads the row as it was (both engines): the previous secret is the one replaced
      // here, even when two rotations race.
      const n = await exec
        .write(() =>
          changes(
            statement(
              db
                .updateTable('clients')
                .set((eb) =>
                  previousUntil === null
                    ? { secret_hash: secretHash, previous_secret_hash: null, previous_secret_expires_at: null }
                    : {
                        secret_hash: secretHash,
                        previous_secret_hash: eb.ref('secret_hash'),
                        previous_secret_expires_at: previousUntil,
                      },
                )
                .where('id', '=', id),
            ),
          ),
        )
        .finally(dropClient(id));
      return n > 0;
    },

    async setClientDisabled(id, disabledAt) {
      const n = await exec
        .write(() =>
          changes(statement(db.updateTable('clients').set({ disabled_at: disabledAt }).where('id', '=', id))),
        )
        .finally(dropClient(id));
      return n > 0;
    },

    updateClient(before, after, effects, now) {
      // Dropped also when the update finds the client `changed`: the caller then reads it
      // again, and must get the row as it is now.
      return exec
        .transaction(function* () {
          const was = settingsColumns(before);
          let update = db.updateTable('clients').set(settingsColumns(after)).where('id', '=', before.id);
          // Only if nobody changed it since it was read: a lost update would undo theirs.
          for (const column of Object.keys(was) as Array<keyof typeof was>) {
            const value = was[column];
            update = value === null ? update.where(column, 'is', null) : update.where(column, '=', value);
          }
          if ((yield* changes(statement(update))) !== 1) {
            const found = yield* first(statement(db.selectFrom('clients').select('id').where('id', '=', before.id)));
            return found ? 'changed' : 'missing';
          }
          return yield* endForClient(before.id, effects, now);
        })
        .finally(dropClient(before.id));
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
    updatePerson(before, after, revokeRoles, now) {
      return exec.transaction(function* () {
        let update = db
          .updateTable('people')
          .set({ display_name: after.displayName, roles: JSON.stringify(after.roles), email: after.email })
          .where('id', '=', before.id)
          .where('display_name', '=', before.displayName)
          .where('roles', '=', JSON.stringify(before.roles));
        update = before.email === null ? update.where('email', 'is', null) : update.where('email', '=', before.email);
        if ((yield* changes(statement(update))) !== 1) {
          const found = yield* first(statement(db.selectFrom('people').select('id').where('id', '=', before.id)));
          return found ? 'changed' : 'missing';
        }
        if (revokeRoles.length === 0) return 0;
        const live = yield* rows(
          statement(
            db
              .selectFrom('grants')
              .select(['id', 'scope'])
              .where('person_id', '=', before.id)
              .where('revoked_at', 'is', null),
          ),
        );
        return yield* revokeGrants(
          live.filter((g) => holdsAny(g.scope, revokeRoles)).map((g) => g.id),
          now,
        );
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
      return exec
        .transaction(function* () {
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
          // Which clients went is known only once it ran: every record goes.
        })
        .finally(() => {
          ClientCache.clearInProcess();
        });
    },
  };

  /** Revokes the grants (not revoked yet) with these ids, in statements of at most ID_BATCH ids; how many. */
  function* revokeGrants(ids: readonly string[], now: number): Operation<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      n += yield* changes(
        statement(
          db
            .updateTable('grants')
            .set({ revoked_at: now })
            .where('id', 'in', ids.slice(i, i + ID_BATCH))
            .where('revoked_at', 'is', null),
        ),
      );
    }
    return n;
  }

  /** What a client's change takes away (ClientUpdateEffects), within its transaction. */
  function* endForClient(clientId: string, effects: ClientUpdateEffects, now: number): Operation<ClientUpdateResult> {
    const result: ClientUpdateResult = { grantsRevoked: 0, codesEnded: 0, pendingEnded: 0, refreshTokensDeleted: 0 };
    if (effects.revokeScopes.length > 0 || effects.revokeClientGrants) {
      // Past their absolute end too: an access token keeps its own lifetime after it.
      const live = yield* rows(
        statement(
          db
            .selectFrom('grants')
            .select(['id', 'scope', 'person_id'])
            .where('client_id', '=', clientId)
            .where('revoked_at', 'is', null),
        ),
      );
      const ids = live
        .filter((g) => (effects.revokeClientGrants && g.person_id === null) || holdsAny(g.scope, effects.revokeScopes))
        .map((g) => g.id);
      result.grantsRevoked = yield* revokeGrants(ids, now);
    }
    const { endsCode, endsPending } = effects;
    if (endsCode) {
      const codes = yield* rows(
        statement(
          db
            .selectFrom('authorization_codes')
            .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
            .select(['authorization_codes.grant_id', 'authorization_codes.redirect_uri'])
            .where('grants.client_id', '=', clientId)
            .where('grants.revoked_at', 'is', null)
            .where('authorization_codes.consumed_at', 'is', null)
            .where('authorization_codes.expires_at', '>', now),
        ),
      );
      const ids = [...new Set(codes.filter((c) => endsCode(c.redirect_uri)).map((c) => c.grant_id))];
      result.codesEnded = yield* revokeGrants(ids, now);
    }
    if (endsPending) {
      const pending = yield* rows(
        statement(
          db
            .selectFrom('pending_authorizations')
            .select(['id', 'request'])
            .where('client_id', '=', clientId)
            .where('expires_at', '>', now),
        ),
      );
      const ids = pending.filter((p) => endsPending(p.request)).map((p) => p.id);
      for (let i = 0; i < ids.length; i += ID_BATCH) {
        result.pendingEnded += yield* changes(
          statement(db.deleteFrom('pending_authorizations').where('id', 'in', ids.slice(i, i + ID_BATCH))),
        );
      }
    }
    if (effects.deleteRefreshTokens) {
      const ofClient = db.selectFrom('grants').select('id').where('client_id', '=', clientId);
      // The usable ones first, to say how many; then the retired ones, kept until now only
      // to catch a replay, which can no longer lead anywhere.
      result.refreshTokensDeleted = yield* changes(
        statement(
          db
            .deleteFrom('refresh_tokens')
            .where('grant_id', 'in', ofClient)
            .where('retired_at', 'is', null)
            .where('expires_at', '>', now),
        ),
      );
      yield* changes(statement(db.deleteFrom('refresh_tokens').where('grant_id', 'in', ofClient)));
    }
    return result;
  }
}

/** Ids per `in (…)` list: well under either engine's limit on bind parameters. */
const ID_BATCH = 500;

/** Whether a space-delimited scope (RFC 6749 §3.3) holds any of `values` (exact, case-sensitive). */
function holdsAny(scope: string, values: readonly string[]): boolean {
  return scope.split(' ').some((v) => values.includes(v));
}

/** A client's settings as columns: what `updateClient` writes and compares. */
function settingsColumns(c: ClientRecord) {
  return {
    name: c.name,
    redirect_uris: JSON.stringify(c.redirectUris),
    scopes: JSON.stringify(c.scopes),
    grant_types: JSON.stringify(c.grantTypes),
    pkce_required: c.pkceRequired ? 1 : 0,
    access_token_format: c.accessTokenFormat,
    id_token_alg: c.idTokenAlg,
    skip_consent: c.skipConsent ? 1 : 0,
    post_logout_redirect_uris: JSON.stringify(c.postLogoutRedirectUris),
    ...clientLifetimeColumns(c.lifetimes),
  };
}
