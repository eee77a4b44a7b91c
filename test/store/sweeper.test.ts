/**
 * The built-in sweep (src/store/sweeper.ts): jittered intervals, never two sweeps at
 * once, failures reported and survived, stop() waits for a running sweep. The last case
 * runs it on a real database.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keySealer } from '../../src/oauth/key-seal.js';
import { newSigningKey } from '../../src/oauth/signing-keys.js';
import { hashSecret, newId, newSecret } from '../../src/oauth/tokens.js';
import { startSweeper } from '../../src/store/sweeper.js';
import type { PurgeCounts, PurgeOptions, Store } from '../../src/store/store.js';
import { addClient, tempStore } from '../helpers/harness.js';

const counts = (n = 0): PurgeCounts => ({
  pending_authorizations: n,
  sign_in_sessions: 0,
  sign_in_failures: 0,
  authorization_codes: 0,
  access_tokens: 0,
  refresh_tokens: 0,
  grants: 0,
});

/** A store whose purge is recorded and takes `durationMs` (of fake time). */
function fakeStore(durationMs = 0, fail?: (call: number) => boolean) {
  const calls: Array<{ now: number; options: PurgeOptions; startedAt: number }> = [];
  let running = 0;
  let maxRunning = 0;
  const store: Pick<Store, 'purgeExpired'> = {
    async purgeExpired(now, options) {
      calls.push({ now, options, startedAt: Date.now() });
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (durationMs > 0) await new Promise((resolve) => setTimeout(resolve, durationMs));
        if (fail?.(calls.length)) throw new Error(`sweep ${calls.length} failed`);
        return counts(calls.length);
      } finally {
        running -= 1;
      }
    },
  };
  return { store, calls, maxRunning: () => maxRunning };
}

describe('the sweeper', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps every interval, jittered within ±25%, with the given batch size, window and clock', async () => {
    vi.useFakeTimers({ now: 0 });
    const { store, calls } = fakeStore();
    const randoms = [0, 0.998, 0.5];
    const results: PurgeCounts[] = [];
    const sweeper = startSweeper(store, {
      intervalMs: 1000,
      batchSize: 7,
      signInFailureWindowMs: 900_000,
      now: () => 42,
      random: () => randoms.shift() ?? 0.5,
      onResult: (c) => results.push(c),
    });
    await vi.advanceTimersByTimeAsync(749);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1); // 750: 1000 × (1 − 0.25)
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1248);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // + 1249: 1000 × (0.75 + 0.5 × 0.998)
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ now: 42, options: { batchSize: 7, signInFailureWindowMs: 900_000 } });
    expect(results.map((r) => r.pending_authorizations)).toEqual([1, 2, 3]);
    await sweeper.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(3);
  });

  it('never runs two sweeps at once: the next wait starts when a sweep ends', async () => {
    vi.useFakeTimers({ now: 0 });
    const { store, calls, maxRunning } = fakeStore(5000);
    const sweeper = startSweeper(store, { intervalMs: 100, jitter: 0, batchSize: 1, signInFailureWindowMs: 1 });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(maxRunning()).toBe(1);
    expect(calls.map((c) => c.startedAt)).toEqual([100, 5200, 10_300, 15_400]);
    // The fourth sweep runs until 20 400: stop() waits for it.
    const stopping = sweeper.stop();
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    expect(calls).toHaveLength(4);
  });

  it('reports a failing sweep and keeps sweeping; a throwing callback changes nothing', async () => {
    vi.useFakeTimers({ now: 0 });
    const { store, calls } = fakeStore(0, (call) => call <= 2);
    const errors: string[] = [];
    const results: PurgeCounts[] = [];
    const sweeper = startSweeper(store, {
      intervalMs: 100,
      jitter: 0,
      batchSize: 1,
      signInFailureWindowMs: 1,
      onError: (err) => {
        errors.push((err as Error).message);
        throw new Error('the logger broke too');
      },
      onResult: (c) => {
        results.push(c);
        throw new Error('and so did this');
      },
    });
    await vi.advanceTimersByTimeAsync(450);
    expect(errors).toEqual(['sweep 1 failed', 'sweep 2 failed']);
    expect(results).toHaveLength(2);
    expect(calls).toHaveLength(4);
    await sweeper.stop();
  });

  it('stop() aborts between batches and waits for the running sweep to end', async () => {
    let release: () => void = () => undefined;
    let signal: AbortSignal | undefined;
    let ended = false;
    const store: Pick<Store, 'purgeExpired'> = {
      async purgeExpired(_now, options) {
        signal = options.signal;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        ended = true;
        return counts();
      },
    };
    const sweeper = startSweeper(store, { intervalMs: 10, jitter: 0, batchSize: 1, signInFailureWindowMs: 1 });
    await vi.waitFor(() => expect(signal).toBeDefined());
    let stopped = false;
    const stopping = sweeper.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(signal?.aborted).toBe(true);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(ended).toBe(true);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => startSweeper(fakeStore().store, { intervalMs: 0, batchSize: 1, signInFailureWindowMs: 1 })).toThrow(
      RangeError,
    );
  });

  it('deletes expired rows from a real database by itself', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const { client } = await addClient(store);
      const pending = (expiresAt: number) => ({
        id: newId(),
        clientId: client.id,
        request: '{}',
        browserHash: hashSecret(newSecret()),
        personId: null,
        createdAt: 0,
        expiresAt,
      });
      const live = pending(Date.now() + 3_600_000);
      await store.createPendingAuthorization(live);
      for (let i = 0; i < 5; i++) await store.createPendingAuthorization(pending(Date.now() - 1000 - i));
      const results: PurgeCounts[] = [];
      const sweeper = startSweeper(store, {
        intervalMs: 20,
        batchSize: 2,
        signInFailureWindowMs: 900_000,
        onResult: (c) => results.push(c),
      });
      await vi.waitFor(() => expect(results.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
      await sweeper.stop();
      expect(results[0]?.pending_authorizations).toBe(5);
      expect(results[1]?.pending_authorizations).toBe(0);
      const left = await store.db.selectFrom('pending_authorizations').select('id').execute();
      expect(left.map((r) => r.id)).toEqual([live.id]);
    } finally {
      await cleanup();
    }
  });

  it('removes signing keys retired longer ago than the retention, and no other key', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const sealer = keySealer(undefined);
      const now = Date.now();
      const retentionMs = 630_000;
      // Each key is retired by the next rotation: the first at now - retention - 1 (past it),
      // the second at now - retention + 1000, the third now; the fourth is the active key.
      await store.rotateSigningKey(await newSigningKey('ES256', sealer, now - 2 * retentionMs));
      await store.rotateSigningKey(await newSigningKey('ES256', sealer, now - retentionMs - 1));
      await store.rotateSigningKey(await newSigningKey('ES256', sealer, now - retentionMs + 1000));
      const active = await newSigningKey('ES256', sealer, now);
      await store.rotateSigningKey(active);
      const [, third, second, first] = (await store.listSigningKeys()).map((k) => k.kid);
      const results: PurgeCounts[] = [];
      const sweeper = startSweeper(store, {
        intervalMs: 20,
        batchSize: 10,
        signInFailureWindowMs: 900_000,
        signingKeyRetentionMs: retentionMs,
        onResult: (c) => results.push(c),
      });
      await vi.waitFor(() => expect(results.length).toBeGreaterThanOrEqual(1), { timeout: 5000 });
      await sweeper.stop();
      const left = (await store.listSigningKeys()).map((k) => k.kid);
      expect(left).toEqual([active.kid, third, second]);
      expect(left).not.toContain(first);
    } finally {
      await cleanup();
    }
  });
});
