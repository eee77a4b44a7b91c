/** purgeAll: passes until one finds nothing, and the counts of every pass added up. */
import { describe, expect, it } from 'vitest';
import { purgeAll, purgedTotal, SIGN_IN_FAILURE_WINDOW_MS } from '../../src/services/purge.js';
import { PURGE_KINDS, type PurgeCounts } from '../../src/store/store.js';

const counts = (n: number): PurgeCounts =>
  Object.fromEntries(PURGE_KINDS.map((kind) => [kind, n])) as unknown as PurgeCounts;

describe('purgeAll', () => {
  it('purges until a pass deletes nothing, with the sign-in throttle window', async () => {
    const passes = [counts(2), counts(1), counts(0)];
    const seen: Array<{ now: number; batchSize: number; window: number }> = [];
    const store = {
      purgeExpired: async (now: number, options: { batchSize: number; signInFailureWindowMs: number }) => {
        seen.push({ now, batchSize: options.batchSize, window: options.signInFailureWindowMs });
        return passes.shift() as PurgeCounts;
      },
    };
    const result = await purgeAll(store, 7, () => 42);
    expect(result).toEqual(counts(3));
    expect(purgedTotal(result)).toBe(3 * PURGE_KINDS.length);
    expect(seen).toEqual(Array(3).fill({ now: 42, batchSize: 7, window: SIGN_IN_FAILURE_WINDOW_MS }));
  });
});
