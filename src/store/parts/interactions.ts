/** The browser's way through sign-in and consent: pending authorizations, sign-in sessions, the throttle's counts. */
import { changes, first, rows } from '../executor.js';
import { prepare, statement } from '../prepared.js';
import type { PendingAuthorizationRecord, SignInCount, SignInSessionRecord, Store } from '../store.js';
import { time, toPending, type StoreContext, type Time } from './rows.js';

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
  | 'updateSignInCounts'
  | 'countSignInFailures'
  | 'clearSignInFailures'
  | 'listSignInCounts'
  | 'clearSignInCounts'
>;

const FRESH: SignInCount = { failures: 0, waitUntil: 0 };

export function interactions({ db, exec }: StoreContext): Interactions {
  const pendingById = (id: string, now: number) =>
    first(
      statement(db.selectFrom('pending_authorizations').selectAll().where('id', '=', id).where('expires_at', '>', now)),
    );

  /**
   * Reads a count, creating it (fresh) if there is none, in a statement that takes the
   * row's lock on PostgreSQL (an upsert's update locks the row it conflicts with, and
   * returns its latest committed version) until the transaction ends. SQLite runs the
   * whole transaction as one item of its commit group, so nothing comes in between.
   */
  const holdCount = prepare<{ key: string; userKey: string; now: number }>()((p) =>
    db
      .insertInto('sign_in_failures')
      .values({ key: p.key, user_key: p.userKey, window_started_at: p.now, failures: 0, wait_until: 0 })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ failures: eb.ref('sign_in_failures.failures') })))
      .returning(['failures', 'wait_until', 'window_started_at']),
  );
  const writeCount = prepare<{ key: string; failures: number; waitUntil: number; now: number }>()((p) =>
    db
      .updateTable('sign_in_failures')
      .set({ failures: p.failures, wait_until: p.waitUntil, window_started_at: p.now })
      .where('key', '=', p.key),
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

    updateSignInCounts(keys, now, windowMs, decide) {
      return exec.transaction(function* () {
        const since = now - windowMs;
        const live = (row: { failures: number; wait_until: Time; window_started_at: Time } | undefined) =>
          row && time(row.window_started_at) > since
            ? { failures: Number(row.failures), waitUntil: time(row.wait_until) }
            : FRESH;
        // The address's count before the username's, always: with every sign-in taking the
        // two locks in this order, and every other statement holding rows of one kind only
        // (maintenance.ts, clearSignInCounts), no two of them can wait for each other.
        const address = live(yield* first(holdCount.bind({ key: keys.address, userKey: keys.username, now })));
        const username = live(yield* first(holdCount.bind({ key: keys.username, userKey: keys.username, now })));
        const { write, result } = decide({ address, username });
        if (write) {
          yield* changes(writeCount.bind({ key: keys.address, ...write.address, now }));
          yield* changes(writeCount.bind({ key: keys.username, ...write.username, now }));
        }
        return result;
      });
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

    async clearSignInFailures(key, username) {
      // The address's count before the username's, as everywhere (updateSignInCounts); one
      // transaction, so that an attempt counted meanwhile is not taken back instead.
      await exec.transaction(function* () {
        yield* changes(statement(db.deleteFrom('sign_in_failures').where('key', '=', key)));
        if (username === undefined) return;
        // The attempt that succeeded was counted before its check: take it back, and let a
        // count with no failure left go.
        yield* changes(
          statement(db.deleteFrom('sign_in_failures').where('key', '=', username).where('failures', '<=', 1)),
        );
        yield* changes(
          statement(
            db
              .updateTable('sign_in_failures')
              .set((eb) => ({ failures: eb('failures', '-', 1) }))
              .where('key', '=', username),
          ),
        );
      });
    },

    async listSignInCounts(username, now, windowMs) {
      const found = await exec.read(() =>
        rows(
          statement(
            db
              .selectFrom('sign_in_failures')
              .select(['key', 'user_key', 'failures', 'wait_until', 'window_started_at'])
              .where('user_key', '=', username)
              .where('window_started_at', '>', now - windowMs)
              .orderBy('window_started_at'),
          ),
        ),
      );
      return found.map((row) => ({
        address: row.key !== row.user_key,
        failures: Number(row.failures),
        waitUntil: time(row.wait_until),
        lastAttemptAt: time(row.window_started_at),
      }));
    },

    async clearSignInCounts(username) {
      // The addresses' counts first, then the username's, each statement rows of one kind:
      // see updateSignInCounts for why.
      return exec.write(function* () {
        const addresses = yield* changes(
          statement(db.deleteFrom('sign_in_failures').where('user_key', '=', username).where('key', '<>', username)),
        );
        const own = yield* changes(statement(db.deleteFrom('sign_in_failures').where('key', '=', username)));
        return addresses + own;
      });
    },
  };
}
