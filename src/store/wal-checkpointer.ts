/**
 * WAL checkpoints off the event loop. A checkpoint copies the pages the WAL has collected
 * back into the database file and syncs it twice; SQLite's automatic one runs inside the
 * COMMIT that crosses its threshold, so one request in a few hundred waited for two
 * fsyncs and a burst of writes. Here a worker thread with its own connection runs them
 * (PASSIVE: it never waits for or blocks readers and writers) while commit groups go on;
 * now and then a group waits for one, so that the next writer finds the WAL fully copied
 * and starts it over from the beginning (sqlite-connection.ts, checkpointIfDue).
 *
 * The worker is a dozen lines of CommonJS evaluated as a string: a separate file would
 * need a build step of its own to run from both `dist/` and the TypeScript sources.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
parentPort.on('message', () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, busy: result.busy === 1, frames: result.log, copied: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
});
`;

export interface CheckpointAnswer {
  ok: boolean;
  busy?: boolean;
  /** Frames in the WAL when the checkpoint ran, and how many of them are now in the database. */
  frames?: number;
  copied?: number;
  message?: string;
}

export class WalCheckpointer {
  private worker: Worker | undefined;
  private waiting: ((answer: CheckpointAnswer) => void) | undefined;
  private inFlight: Promise<CheckpointAnswer> | undefined;
  private failed = false;

  constructor(private readonly databasePath: string) {}

  /** Whether a checkpoint is running now. */
  get running(): boolean {
    return this.inFlight !== undefined;
  }

  /** Whether checkpoints still run here (false after the worker failed: SQLite's own take over). */
  get working(): boolean {
    return !this.failed;
  }

  /**
   * Runs one PASSIVE checkpoint in the worker; resolves when it is done (never rejects).
   * A call while one runs shares it.
   */
  checkpoint(): Promise<CheckpointAnswer> {
    if (this.failed) return Promise.resolve({ ok: false, message: 'checkpointer stopped' });
    if (this.inFlight) return this.inFlight;
    const worker = (this.worker ??= this.start());
    const running = new Promise<CheckpointAnswer>((resolve) => {
      this.waiting = resolve;
      worker.postMessage('checkpoint');
    });
    this.inFlight = running;
    void running.then(() => {
      if (this.inFlight === running) this.inFlight = undefined;
    });
    return running;
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: this.databasePath } });
    worker.unref();
    worker.on('message', (answer: CheckpointAnswer) => this.answer(answer));
    const fail = (message: string) => {
      this.failed = true;
      this.answer({ ok: false, message });
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', () => fail('checkpointer exited'));
    return worker;
  }

  private answer(answer: CheckpointAnswer): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(answer);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failed = true;
    this.answer({ ok: false, message: 'checkpointer closed' });
    if (worker) await worker.terminate();
  }
}
