/** Deleting expired data now: what `tessera purge` does, until nothing expired is left. */
import { DEFAULT_THROTTLE } from '../oauth/sign-in-throttle.js';
import { PURGE_KINDS, type PurgeCounts, type Store } from '../store/store.js';
import { emptyPurgeCounts } from '../store/token-kinds.js';

/** What the purge passes to the store: the sign-in throttle's window, from the protocol layer. */
export const SIGN_IN_FAILURE_WINDOW_MS = DEFAULT_THROTTLE.windowSeconds * 1000;

/** How many rows a purge deleted in all. */
export const purgedTotal = (counts: PurgeCounts) => PURGE_KINDS.reduce((sum, kind) => sum + counts[kind], 0);

/** Purges until a whole pass finds nothing; returns what it deleted in all. */
export async function purgeAll(
  store: Pick<Store, 'purgeExpired'>,
  batchSize: number,
  now: () => number = Date.now,
): Promise<PurgeCounts> {
  const counts = emptyPurgeCounts();
  for (;;) {
    const pass = await store.purgeExpired(now(), { batchSize, signInFailureWindowMs: SIGN_IN_FAILURE_WINDOW_MS });
    for (const kind of PURGE_KINDS) counts[kind] += pass[kind];
    if (purgedTotal(pass) === 0) return counts;
  }
}
