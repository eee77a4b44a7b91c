/**
 * The built-in sweep: runs Store.purgeExpired now and then, so that expired codes,
 * tokens, grants and sessions go away without an operator — and, when given a
 * retention, removes signing keys retired long enough ago that nothing they signed
 * can still be alive. Every instance
 * runs one; each waits a jittered interval (so instances started together do not sweep
 * at the same instant), a sweep never overlaps the previous one, and a failing sweep is
 * reported and tried again next time — it never takes the process down.
 */
import type { PurgeCounts, Store } from './store.js';

export interface SweeperOptions {
  /** The mean time between the end of one sweep and the start of the next. */
  intervalMs: number;
  /** Rows per delete statement. */
  batchSize: number;
  /** The sign-in throttle's window, passed on to purgeExpired. */
  signInFailureWindowMs: number;
  /**
   * How long a retired signing key may still have signed a live token (ms): keys retired
   * before now minus this are removed. Default: keys are left alone.
   */
  signingKeyRetentionMs?: number;
  /** The clock (default Date.now). */
  now?: () => number;
  /** A number in [0, 1) (default Math.random): where in the jitter range the next wait falls. */
  random?: () => number;
  /** Each wait is intervalMs × (1 ± jitter) (default 0.25). */
  jitter?: number;
  /** Called with the counts (and how long it took, ms) after every completed sweep. */
  onResult?: (counts: PurgeCounts, ms: number) => void;
  /** Called when a sweep fails; the next sweep runs as planned. */
  onError?: (err: unknown) => void;
}

export interface Sweeper {
  /** Stops sweeping: no further sweep starts; resolves once a running sweep has ended. */
  stop(): Promise<void>;
}

export function startSweeper(
  store: Pick<Store, 'purgeExpired'> & Partial<Pick<Store, 'removeRetiredSigningKeys'>>,
  options: SweeperOptions,
): Sweeper {
  const { intervalMs, batchSize, signInFailureWindowMs } = options;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, not ${intervalMs}`);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const jitter = Math.min(Math.max(options.jitter ?? 0.25, 0), 1);
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  /** Runs a callback of the caller's; whatever it throws stays here. */
  const report = <T, U>(fn: ((value: T, more: U) => void) | undefined, value: T, more: U) => {
    try {
      fn?.(value, more);
    } catch {
      // A failing logger must not stop the sweep, let alone the process.
    }
  };

  const schedule = () => {
    if (stopped) return;
    const delay = intervalMs * (1 - jitter + 2 * jitter * random());
    timer = setTimeout(sweep, Math.max(0, Math.round(delay)));
    // The sweep alone never keeps the process alive.
    timer.unref();
  };

  function sweep(): void {
    timer = undefined;
    running = (async () => {
      const started = performance.now();
      try {
        const counts = await store.purgeExpired(now(), { batchSize, signInFailureWindowMs, signal: abort.signal });
        if (options.signingKeyRetentionMs !== undefined && !abort.signal.aborted) {
          await store.removeRetiredSigningKeys?.(now() - options.signingKeyRetentionMs);
        }
        report(options.onResult, counts, Math.round(performance.now() - started));
      } catch (err) {
        report(options.onError, err, undefined);
      }
    })().finally(() => {
      running = undefined;
      schedule();
    });
  }

  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      abort.abort();
      await running;
    },
  };
}
