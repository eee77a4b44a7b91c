/** The browser's way through sign-in and consent: pending authorizations, sign-in sessions, the throttle's counts. */
import { changes, first } from '../executor.js';
import { prepare, statement } from '../prepared.js';
import type { PendingAuthorizationRecord, SignInSessionRecord, Store } from '../store.js';
import { time, toPending, type StoreContext } from './rows.js';

export type Interactions = Pick<
  Store,
  | 'createPendingAuthorization'
  | 'getPendingAuthorization'
  | 'setPendingAuthorizationPerson'
  | 'takePendingAuthorization'
  | 'createSignInSession'
  | 'getSignInSession'
  | 'touchSignInSession'
  | 'deleteSignInSession'
  | 'recordSignInAttempt'
  | 'countSignInFailures'
  | 'clearSignInFailures'
>;

export function interactions({ db, exec }: StoreContext): Interactions {
  const pendingById = (id: string, now: number) =>
    first(
      statement(db.selectFrom('pending_authorizations').selectAll().where('id', '=', id).where('expires_at', '>', now)),
    );

  /**
   * One upsert that counts the attempt and returns the count, this one included: a window
   * that has passed starts over at 1. Of attempts racing, each gets its own count.
   */
  const recordAttempt = prepare<{ key: string; now: number; since: number }>()((p) =>
    db
      .insertInto('sign_in_failures')
      .values({ key: p.key, window_started_at: p.now, failures: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => {
          const live = eb('sign_in_failures.window_started_at', '>', p.since);
          return {
            failures: eb
              .case()
              .when(live)
              .then(eb('sign_in_failures.failures', '+', 1))
              .else(1)
              .end(),
            window_started_at: eb
              .case()
              .when(live)
              .then(eb.ref('sign_in_failures.window_started_at'))
              .else(p.now)
              .end(),
          };
        }),
      )
      .returning('failures'),
  );

  return {
    async createPendingAuthorization(p: PendingAuthorizationRecord) {
      await exec.write(() =>
        changes(
          statement(
            db.insertInto('pending_authorizations').values({
              id: p.id,
              client_id: p.clientId,
              request: p.request,
              browser_hash: p.browserHash,
              person_id: p.personId,
              created_at: p.createdAt,
              expires_at: p.expiresAt,
            }),
          ),
        ),
      );
    },

    async getPendingAuthorization(id, now) {
      const row = await exec.read(() => pendingById(id, now));
      return row && toPending(row);
    },

    async setPendingAuthorizationPerson(id, personId) {
      const n = await exec.write(() =>
        changes(statement(db.updateTable('pending_authorizations').set({ person_id: personId }).where('id', '=', id))),
      );
      return n > 0;
    },

    takePendingAuthorization(id, now) {
      return exec.transaction(function* () {
        const row = yield* pendingById(id, now);
        if (!row) return undefined;
        // The delete is the claim: of two racing submissions only one deletes the row.
        const n = yield* changes(statement(db.deleteFrom('pending_authorizations').where('id', '=', id)));
        return n === 1 ? toPending(row) : undefined;
      });
    },

    async createSignInSession(s: SignInSessionRecord) {
      await exec.write(() =>
        changes(
          statement(
            db.insertInto('sign_in_sessions').values({
              hash: s.hash,
              person_id: s.personId,
              created_at: s.createdAt,
              expires_at: s.expiresAt,
              max_expires_at: s.maxExpiresAt,
            }),
          ),
        ),
      );
    },

    async getSignInSession(hash, now) {
      const row = await exec.read(() =>
        first(
          statement(
            db.selectFrom('sign_in_sessions').selectAll().where('hash', '=', hash).where('expires_at', '>', now),
          ),
        ),
      );
      return (
        row && {
          hash: row.hash,
          personId: row.person_id,
          createdAt: time(row.created_at),
          expiresAt: time(row.expires_at),
          maxExpiresAt: time(row.max_expires_at),
        }
      );
    },

    async touchSignInSession(hash, now, idleUntil) {
      const n = await exec.write(() =>
        changes(
          statement(
            db
              .updateTable('sign_in_sessions')
              .set((eb) => ({
                expires_at: eb
                  .case()
                  .when('max_expires_at', '<', idleUntil)
                  .then(eb.ref('max_expires_at'))
                  .else(idleUntil)
                  .end(),
              }))
              .where('hash', '=', hash)
              .where('expires_at', '>', now),
          ),
        ),
      );
      return n > 0;
    },

    async deleteSignInSession(hash) {
      await exec.write(() => changes(statement(db.deleteFrom('sign_in_sessions').where('hash', '=', hash))));
    },

    async recordSignInAttempt(key, now, windowMs) {
      const row = await exec.write(() => first(recordAttempt.bind({ key, now, since: now - windowMs })));
      return Number(row?.failures ?? 1);
    },

    async countSignInFailures(key, now, windowMs) {
      const row = await exec.read(() =>
        first(
          statement(
            db
              .selectFrom('sign_in_failures')
              .select('failures')
              .where('key', '=', key)
              .where('window_started_at', '>', now - windowMs),
          ),
        ),
      );
      return row ? Number(row.failures) : 0;
    },

    async clearSignInFailures(key) {
      await exec.write(() => changes(statement(db.deleteFrom('sign_in_failures').where('key', '=', key))));
    },
  };
}
