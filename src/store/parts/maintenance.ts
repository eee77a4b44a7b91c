/** Maintenance: the purge of what has expired, and the health check. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { changes, first } from '../executor.js';
import { statement } from '../prepared.js';
import type { PurgeOptions, Store } from '../store.js';
import { emptyPurgeCounts, PURGE_KINDS, TOKEN_KINDS, type PurgeCounts, type TokenKind } from '../token-kinds.js';
import type { StoreContext } from './rows.js';

export type Maintenance = Pick<Store, 'purgeExpired' | 'ping'>;

/** Any table by name, for the statements written once for every kind. */
type AnyDatabase = Record<string, Record<string, string | number | null>>;

/**
 * Runs one purge batch, twice more after a short random pause if it fails: two
 * instances' batches can deadlock on rows both are deleting, and the database then
 * aborts one of them. Deleting is idempotent, so trying again is always safe.
 */
async function retried<T>(batch: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await batch();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
    }
  }
}

export function maintenance({ db, exec }: StoreContext): Maintenance {
  const any = db as unknown as Kysely<AnyDatabase>;

  /**
   * The batches of one kind, each `delete … where key in (select key … limit N)`: one
   * statement that commits on its own (foreign keys cascade inside it). Oldest first, so
   * racing instances pick the same rows and one of them simply finds them gone.
   */
  function steps(kind: TokenKind, now: number, options: PurgeOptions) {
    const size = options.batchSize;
    const { key, expiry, cutoff } = TOKEN_KINDS[kind];
    const before = cutoff === 'window' ? now - options.signInFailureWindowMs : now;
    const expired = () =>
      any
        .deleteFrom(kind)
        .where(key, 'in', (eb) =>
          eb.selectFrom(kind).select(key).where(expiry, '<=', before).orderBy(expiry).limit(size),
        );
    switch (kind) {
      case 'refresh_tokens':
        return [
          // Expired ones; a retired one is what detects reuse (and revokes the family), so
          // it stays while its grant lives.
          () =>
            db.deleteFrom('refresh_tokens').where('hash', 'in', (eb) =>
              eb
                .selectFrom('refresh_tokens as rt')
                .innerJoin('grants as g', 'g.id', 'rt.grant_id')
                .select('rt.hash')
                .where('rt.expires_at', '<=', now)
                .where((w) => w.or([w('rt.retired_at', 'is', null), w('g.expires_at', '<=', now)]))
                .orderBy('rt.expires_at')
                .limit(size),
            ),
          // Those of a revoked grant: none of them can be used any more.
          () =>
            db
              .deleteFrom('refresh_tokens')
              .where('hash', 'in', (eb) =>
                eb
                  .selectFrom('refresh_tokens as rt')
                  .innerJoin('grants as g', 'g.id', 'rt.grant_id')
                  .select('rt.hash')
                  .where('g.revoked_at', 'is not', null)
                  .orderBy('rt.hash')
                  .limit(size),
              ),
        ];
      case 'grants':
        return [
          expired,
          // Revoked grants once no code or access token of theirs is unexpired.
          () =>
            db.deleteFrom('grants').where('id', 'in', (eb) =>
              eb
                .selectFrom('grants as g')
                .select('g.id')
                .where('g.revoked_at', 'is not', null)
                .where((w) =>
                  w.not(
                    w.exists(
                      w
                        .selectFrom('authorization_codes as c')
                        .select('c.hash')
                        .whereRef('c.grant_id', '=', 'g.id')
                        .where('c.expires_at', '>', now),
                    ),
                  ),
                )
                .where((w) =>
                  w.not(
                    w.exists(
                      w
                        .selectFrom('access_tokens as a')
                        .select('a.hash')
                        .whereRef('a.grant_id', '=', 'g.id')
                        .where('a.expires_at', '>', now),
                    ),
                  ),
                )
                .orderBy('g.revoked_at')
                .limit(size),
            ),
        ];
      case 'sign_in_failures': {
        // The addresses' counts, then the usernames', never one statement over both: a
        // sign-in holds its address's count while it waits for its username's
        // (interactions.ts), so a delete holding a username's count while it waited for an
        // address's could deadlock with it.
        const lapsed = (own: boolean) => () =>
          db.deleteFrom('sign_in_failures').where('key', 'in', (eb) =>
            eb
              .selectFrom('sign_in_failures as f')
              .select('f.key')
              .where((w) => (own ? w('f.key', '=', w.ref('f.user_key')) : w('f.key', '<>', w.ref('f.user_key'))))
              .where('f.window_started_at', '<=', before)
              .orderBy('f.window_started_at')
              .limit(size),
          );
        return [lapsed(false), lapsed(true)];
      }
      default:
        // A consumed code's row is what detects a replay, but only until the code
        // expires: after that a replay fails as an unknown code anyway.
        return [expired];
    }
  }

  return {
    async purgeExpired(now, options) {
      const size = options.batchSize;
      if (!Number.isInteger(size) || size < 1)
        throw new RangeError(`batchSize must be a positive integer, not ${size}`);
      const maxBatches = options.maxBatches ?? Infinity;
      const counts: PurgeCounts = emptyPurgeCounts();
      // Children before grants (TOKEN_KINDS' order), so that what a grant takes with it
      // has been counted (by this call; when instances race, one's grants may take
      // another's children along).
      for (const kind of PURGE_KINDS) {
        let batches = 0;
        for (const step of steps(kind, now, options)) {
          // Only a batch that deleted nothing ends the step (not one that deleted fewer
          // than asked, which may mean another instance took some of the same rows), so
          // of instances racing, the last to find rows drains them all.
          while (batches < maxBatches) {
            if (options.signal?.aborted) return counts;
            const deleted = await retried(() => exec.write(() => changes(statement(step()))));
            // A batch that found nothing ends its step without using up the allowance, so
            // a kind purged in two steps is not cut short by an empty first one.
            if (deleted > 0) batches += 1;
            counts[kind] += deleted;
            // Let requests in between batches: better-sqlite3 is synchronous.
            await nextTurn();
            if (deleted === 0) break;
          }
        }
      }
      return counts;
    },

    async ping() {
      await exec.read(() => first(statement(db.selectFrom('settings').select('key').limit(1))));
    },
  };
}
